"""Streamer: blocks of random sizes (0 and 1 sample included) give the offline output of the
whole signal for GRU, LSTM and TCN models with and without knobs; knobs that change between
blocks give the offline output with the matching per-sample controls; reset, warm-up (the
recurrent rest state and its start-up transient, the TCN's rest state), mono blocks, a
TorchScript model, no-grad / eval mode and the argument checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _signals import mono_noise, seeded

from dasp_blind.modelling.rnn import RNNModel
from dasp_blind.modelling.streaming import Streamer
from dasp_blind.modelling.tcn import TCN

#: Receptive field 1 + 2·(1 + 3 + 9) = 27 samples.
SMALL_TCN = dict(kernel_size=3, num_blocks=3, dilation_growth=3, channels=4, cond_hidden=(5, 6))

MODELS = {
    "gru": lambda: RNNModel(hidden_size=16),
    "lstm_knobs": lambda: RNNModel(cell="lstm", hidden_size=12, num_controls=2),
    "tcn": lambda: TCN(**SMALL_TCN),
    "tcn_knobs": lambda: TCN(num_controls=2, **SMALL_TCN),
}


def model_of(name: str, seed: int = 0) -> torch.nn.Module:
    return MODELS[name]().reset_parameters(seeded(seed)).eval()


def block_sizes(seed: int, count: int = 12) -> list[int]:
    """Random block sizes from 0 to 300 samples, with a 0 and a 1 among them."""
    sizes = [int(s) for s in np.random.default_rng(seed).integers(0, 300, count)]
    return [0, 1, *sizes[:count // 2], 1, 0, *sizes[count // 2:]]


def stream(streamer: Streamer, x: torch.Tensor, sizes: list[int],
           controls: list[torch.Tensor | None] | None = None) -> torch.Tensor:
    """Feed ``x`` to ``streamer`` in blocks of ``sizes`` (with ``controls[i]`` for block i);
    the output blocks, concatenated."""
    out, start = [], 0
    for i, size in enumerate(sizes):
        y = streamer.process(x[..., start:start + size], None if controls is None else controls[i])
        assert y.shape == x[..., start:start + size].shape
        out.append(y)
        start += size
    return torch.cat(out, dim=-1)


@pytest.mark.parametrize("name", list(MODELS))
def test_random_block_sizes_give_the_offline_output(name):
    model = model_of(name, 1)
    sizes = block_sizes(2)
    x = mono_noise(sum(sizes), 3, batch=2)
    knobs = torch.rand(2, 2, generator=seeded(4)) if model.num_controls else None
    with torch.no_grad():
        offline = model(x, knobs)
    streamed = stream(Streamer(model, batch=2), x, sizes, [knobs] * len(sizes))
    torch.testing.assert_close(streamed, offline, rtol=0, atol=1e-5)
    assert float(offline.std()) > 1e-3  # not a trivially constant output


@pytest.mark.parametrize("name", ["lstm_knobs", "tcn_knobs"])
def test_knobs_changing_between_blocks_equal_per_sample_controls(name):
    """For both model families a block's knobs act on that block's samples only: the stream
    equals the offline output with the knobs as a per-sample step function (for the TCN, FiLM
    at every layer and every sample uses the knobs of that sample)."""
    model = model_of(name, 5)
    sizes = block_sizes(6)
    x = mono_noise(sum(sizes), 7, batch=2)
    gen = seeded(8)
    per_block = [torch.rand(2, 2, generator=gen) for _ in sizes]
    per_sample = torch.cat([c.unsqueeze(-1).expand(-1, -1, n) for c, n in zip(per_block, sizes,
                                                                              strict=True)], -1)
    with torch.no_grad():
        offline = model(x, per_sample)
        constant = model(x, per_block[2])
    streamed = stream(Streamer(model, batch=2), x, sizes, per_block)
    torch.testing.assert_close(streamed, offline, rtol=0, atol=1e-5)
    assert float((offline - constant).abs().max()) > 1e-3  # the knob changes mattered


def test_automation_within_a_block_is_passed_through():
    model = model_of("tcn_knobs", 9)
    x = mono_noise(400, 10)
    ramp = torch.linspace(0, 1, 400).expand(1, 2, 400)
    with torch.no_grad():
        offline = model(x, ramp)
    streamer = Streamer(model)
    streamed = torch.cat([streamer(x[..., :150], ramp[..., :150]),
                          streamer(x[..., 150:], ramp[..., 150:])], dim=-1)
    torch.testing.assert_close(streamed, offline, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", ["gru", "tcn_knobs"])
def test_reset_restores_the_initial_behaviour(name):
    model = model_of(name, 11)
    sizes = [64, 1, 200]
    x = mono_noise(sum(sizes), 12)
    knobs = [torch.rand(1, 2, generator=seeded(13 + i)) if model.num_controls else None
             for i in range(3)]
    streamer = Streamer(model)
    first = stream(streamer, x, sizes, knobs)
    assert streamer.state is not None
    streamer.reset()
    assert streamer.state is None
    torch.testing.assert_close(stream(streamer, x, sizes, knobs), first, rtol=0, atol=0)


def test_recurrent_zero_state_is_not_the_rest_state_and_warm_up_settles_it():
    model = model_of("gru", 14)
    with torch.no_grad():
        cold = model(torch.zeros(1, 1, 2048))[0, 0]
    # silence from the zero state: the output drifts (the pop after a reset) ...
    assert float(cold.max() - cold.min()) > 1e-3
    # ... and settles: the last samples are the rest output
    assert float(cold[-64:].max() - cold[-64:].min()) < 1e-6
    streamer = Streamer(model)
    streamer.warm_up(2048 + 1000)  # chunks of WARM_UP_CHUNK samples
    warm = streamer.process(torch.zeros(1, 1, 256))[0, 0]
    torch.testing.assert_close(warm, cold[-1].expand(256), rtol=0, atol=1e-6)
    # warming up is a prefix of silence: equal to the offline output of [silence, x]
    x = mono_noise(300, 15)
    with torch.no_grad():
        offline = model(torch.cat([torch.zeros(1, 1, 3048 + 256), x], dim=-1))[..., -300:]
    torch.testing.assert_close(streamer.process(x), offline, rtol=0, atol=1e-5)


def test_tcn_starts_at_rest_and_warm_up_changes_nothing():
    model = model_of("tcn_knobs", 16)
    knobs = torch.rand(1, 2, generator=seeded(17))
    x = mono_noise(300, 18)
    cold = Streamer(model)
    silence = cold.process(torch.zeros(1, 1, 100), knobs)[0, 0]
    torch.testing.assert_close(silence, silence[:1].expand(100), rtol=0, atol=1e-6)  # no pop
    cold.reset()
    warm = Streamer(model)
    warm.warm_up(500, knobs)
    torch.testing.assert_close(warm.process(x, knobs), cold.process(x, knobs), rtol=0, atol=1e-6)


def test_mono_blocks():
    model = model_of("lstm_knobs", 19)
    x = mono_noise(500, 20)
    knobs = torch.rand(2, generator=seeded(21))
    batched = stream(Streamer(model), x, [100, 400], [knobs.unsqueeze(0)] * 2)
    mono = Streamer(model)
    y = torch.cat([mono.process(x[0, 0, :100], knobs), mono(x[0, 0, 100:], knobs)])
    assert y.shape == (500,)
    torch.testing.assert_close(y, batched[0, 0], rtol=0, atol=0)


# torch 2.13 marks torch.jit.script deprecated; it still works and is tested
@pytest.mark.filterwarnings("ignore:`torch.jit.* is deprecated:DeprecationWarning")
@pytest.mark.parametrize("name", ["gru", "tcn_knobs"])
def test_a_torchscript_model_streams_like_the_eager_one(name):
    model = model_of(name, 22)
    sizes = block_sizes(23, count=6)
    x = mono_noise(sum(sizes), 24)
    knobs = [torch.rand(1, 2, generator=seeded(25)) if model.num_controls else None] * len(sizes)
    eager = stream(Streamer(model), x, sizes, knobs)
    scripted = stream(Streamer(torch.jit.script(model)), x, sizes, knobs)
    torch.testing.assert_close(scripted, eager, rtol=0, atol=1e-5)


def test_eval_mode_and_no_gradients():
    model = model_of("tcn_knobs", 26).train()
    streamer = Streamer(model)
    assert not model.training  # batch norm uses its running statistics
    x = mono_noise(50, 27).requires_grad_()
    y = streamer.process(x, torch.rand(1, 2, generator=seeded(28)))
    assert not y.requires_grad and not streamer.state.requires_grad


def test_bad_arguments_name_themselves():
    for bad in (torch.nn.Linear(1, 1), torch.nn.Conv1d(1, 1, 3), "gru", None):
        with pytest.raises(ValueError, match="model"):
            Streamer(bad)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="batch"):
            Streamer(model_of("gru"), batch=bad)
    streamer = Streamer(model_of("gru"), batch=2)
    x = mono_noise(32, 29, batch=2)
    for bad in (x[0], x[:1], torch.cat([x, x], dim=1), x.double(), x[0, 0],
                x.clone().fill_(float("nan")), x.numpy()):
        with pytest.raises(ValueError, match="block"):
            streamer.process(bad)
    with pytest.raises(ValueError, match="samples"):
        streamer.warm_up(-1)
    knob = Streamer(model_of("tcn_knobs"))
    for bad in (None, torch.rand(1, 3, generator=seeded(30)), torch.full((1, 2), 2.0)):
        with pytest.raises(ValueError, match="controls"):
            knob.process(mono_noise(32, 31), bad)
    with pytest.raises(ValueError, match="controls"):
        knob.process(mono_noise(32, 32)[0, 0], [0.5, 0.5])  # mono block, knobs not a tensor
    assert knob.state is None  # a refused block leaves the stream where it was
