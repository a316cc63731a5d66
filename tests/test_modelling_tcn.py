"""TCN: output against an independent numpy float64 re-implementation (``np.convolve`` per
channel pair on the input left-padded with ``receptive_field − 1`` zeros, per-sample FiLM from a
numpy MLP with batch norm in eval mode), parameter count and receptive field against micro-TCN's
formulas, causality and the receptive field from gradients and from the impulse response,
block streaming equal to one pass, the rest state, FiLM conditioning, argument and input
checks, silence, seeded initialisation and a TorchScript round trip."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from _models import count
from _signals import knob_values, mono_noise, seeded
from _tolerances import assert_within_rounding

from dasp_blind.modelling.tcn import TCN

#: A small configuration for the numpy comparisons: receptive field 1 + 2·(1 + 3 + 9) = 27.
SMALL = dict(kernel_size=3, num_blocks=3, dilation_growth=3, channels=4, cond_hidden=(5, 6))


def expected_parameters(num_controls=0, kernel_size=13, num_blocks=4, channels=32,
                        cond_hidden=(16, 32, 32)):
    """Count by layer: conv ``in·C·k`` (no bias), FiLM ``Linear(E, 2C)``, PReLU ``C`` slopes,
    residual ``C`` scales; the 1×1 mix ``C + 1``; the MLP's Linear, BatchNorm (2 per unit) and
    one PReLU slope per layer. ``E`` is the MLP's last width, or 1 without controls."""
    c, k = channels, kernel_size
    embed = cond_hidden[-1] if num_controls else 1
    blocks = sum(inputs * c * k + (embed * 2 * c + 2 * c) + c + c
                 for inputs in [1] + [c] * (num_blocks - 1))
    mlp, width = 0, num_controls
    for out in (cond_hidden if num_controls else ()):
        mlp += width * out + out + 2 * out + 1
        width = out
    return blocks + c + 1 + mlp


def microtcn_receptive_field(kernel_size, num_blocks, growth):
    """Steinmetz and Reiss: ``k + Σ_{n=1}^{N−1} (k − 1)·growth^n``."""
    return kernel_size + sum((kernel_size - 1) * growth**n for n in range(1, num_blocks))


def model_of(seed: int = 0, **kwargs) -> TCN:
    """A seeded model whose batch norms and PReLU slopes are not at their defaults (so that a
    mix-up between channels or a skipped normalisation would show), in eval mode."""
    model = TCN(**kwargs).reset_parameters(seeded(seed)).eval()
    gen = seeded(seed + 1000)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-0.5, 0.5, generator=gen)
                module.running_var.uniform_(0.5, 2.0, generator=gen)
                module.weight.uniform_(0.5, 1.5, generator=gen)
                module.bias.uniform_(-0.2, 0.2, generator=gen)
            elif isinstance(module, torch.nn.PReLU):
                module.weight.uniform_(0.05, 0.45, generator=gen)
    return model


def prelu(v: np.ndarray, slope: np.ndarray) -> np.ndarray:
    return np.where(v >= 0, v, slope * v)


def reference_tcn(model: TCN, x: np.ndarray, controls: np.ndarray | None = None) -> np.ndarray:
    """The TCN in float64 numpy for one item: ``x`` ``(samples,)``; ``controls``
    ``(num_controls,)`` or ``(num_controls, samples)``.

    The input is left-padded with ``receptive_field − 1`` zeros and every block is a valid
    dilated cross-correlation, ``Σ_c np.convolve(h_c, reversed dilated kernel, "valid")``;
    the controls of the first sample are held over the padding."""
    p = {k: v.detach().double().numpy() for k, v in model.state_dict().items()}
    k, c = model.kernel_size, model.channels
    pad = model.receptive_field - 1
    total = pad + x.shape[0]
    if controls is None:
        embed = np.ones((total, 1))
    else:
        q = controls if controls.ndim == 2 else np.repeat(controls[:, None], x.shape[0], axis=1)
        q = np.concatenate([np.repeat(q[:, :1], pad, axis=1), q], axis=1).T  # (total, C)
        for j in range(len(model.cond_hidden)):
            lin, bn, act = 3 * j, 3 * j + 1, 3 * j + 2
            v = q @ p[f"cond.{lin}.weight"].T + p[f"cond.{lin}.bias"]
            v = ((v - p[f"cond.{bn}.running_mean"])
                 / np.sqrt(p[f"cond.{bn}.running_var"] + 1e-5) * p[f"cond.{bn}.weight"]
                 + p[f"cond.{bn}.bias"])
            q = prelu(v, p[f"cond.{act}.weight"])
        embed = q
    h = np.concatenate([np.zeros(pad), x])[None]  # (channels in, time)
    start = 0  # time index of h[:, 0] on the padded axis
    for i in range(model.num_blocks):
        d = model.dilation_growth**i
        crop = (k - 1) * d
        w = p[f"blocks.{i}.conv.weight"]
        conv = np.zeros((c, h.shape[1] - crop))
        for o in range(c):
            for ch in range(h.shape[0]):
                kernel = np.zeros(crop + 1)
                kernel[::d] = w[o, ch, ::-1]
                conv[o] += np.convolve(h[ch], kernel, mode="valid")
        start += crop
        film = embed[start:] @ p[f"blocks.{i}.film.adaptor.weight"].T
        film = (film + p[f"blocks.{i}.film.adaptor.bias"]).T  # (2C, time)
        act = prelu(film[:c] * conv + film[c:], p[f"blocks.{i}.act.weight"][:, None])
        h = act + p[f"blocks.{i}.residual.weight"].reshape(c, 1) * h[:, crop:]
    y = (p["head.weight"].reshape(1, c) @ h + p["head.bias"])[0]
    return np.tanh(y) if model.output == "tanh" else y


def test_parameter_count_and_receptive_field_formulas():
    default = TCN()
    assert count(default) == expected_parameters() == 41153
    assert count(TCN(num_controls=2)) == expected_parameters(num_controls=2) == 50900
    assert default.receptive_field == microtcn_receptive_field(13, 4, 10) == 13333  # uTCN-300
    for kwargs in (dict(num_controls=1, kernel_size=5, num_blocks=5, channels=16),
                   dict(num_controls=3, **SMALL), dict(kernel_size=1, num_blocks=2, channels=3),
                   dict(num_controls=2, cond_hidden=(7,), channels=8)):
        model = TCN(**kwargs)
        expected = {n: kwargs[n] for n in ("num_controls", "kernel_size", "num_blocks",
                                           "channels", "cond_hidden") if n in kwargs}
        assert count(model) == expected_parameters(**expected), kwargs
        assert model.receptive_field == microtcn_receptive_field(
            model.kernel_size, model.num_blocks, model.dilation_growth), kwargs


CASES = [
    dict(),  # no controls, tanh output
    dict(num_controls=2, output="linear"),
    dict(num_controls=1, per_sample=True),
]


@pytest.mark.parametrize("case", CASES)
def test_matches_a_numpy_reference(case):
    case = dict(case)
    per_sample = case.pop("per_sample", False)
    model = model_of(1, **SMALL, **case)
    samples = 150
    x = mono_noise(samples, 2, batch=2)
    c = None
    if model.num_controls:
        c = knob_values(2, model.num_controls, 3, samples if per_sample else None)
    with torch.no_grad():
        y32 = model(x, c)
        y64 = model.double()(x.double(), c)
    for b in range(2):
        ref = reference_tcn(model, x[b, 0].double().numpy(),
                            None if c is None else c[b].double().numpy())
        np.testing.assert_allclose(y64[b, 0].numpy(), ref, rtol=0, atol=1e-12)
        # float32: three blocks, each summing 4 channels × 3 taps, then FiLM, PReLU, residual
        assert_within_rounding(y32[b, 0], ref, ops=4 * model.num_blocks,
                               terms=model.channels * model.kernel_size)
    # the network does something: the output moves with the input
    assert float(y64.std()) > 1e-3


@pytest.mark.parametrize("num_controls", [0, 2])
def test_block_streaming_equals_one_pass(num_controls):
    sizes = [1, 30, 7, 200, 62]  # blocks shorter and longer than the receptive field (27)
    samples = sum(sizes)
    model = model_of(4, num_controls=num_controls, **SMALL)
    x = mono_noise(samples, 5, batch=2)
    c = knob_values(2, num_controls, 6, samples) if num_controls else None
    with torch.no_grad():
        whole, final = model.forward_with_state(x, c)
        torch.testing.assert_close(model(x, c), whole, rtol=0, atol=0)
        state, blocks, start = None, [], 0
        for size in sizes:
            part = None if c is None else c[..., start:start + size]
            y, state = model.forward_with_state(x[..., start:start + size], part, state)
            blocks.append(y)
            start += size
    torch.testing.assert_close(torch.cat(blocks, dim=-1), whole, rtol=0, atol=1e-5)
    torch.testing.assert_close(state, final, rtol=0, atol=1e-5)
    assert tuple(state.shape) == (2, model.channels, model.receptive_field - 1)


def test_causal_with_the_receptive_field_of_the_formula():
    model = model_of(7)  # the default uTCN-300: receptive field 13,333
    rf = model.receptive_field
    out = rf + 150
    x = mono_noise(out + 100, 8).requires_grad_()
    model(x)[0, 0, out].backward()
    support = torch.nonzero(x.grad[0, 0]).flatten()
    assert int(support.min()) == out - rf + 1  # the oldest sample within reach
    assert int(support.max()) == out  # the sample itself; nothing later


def test_receptive_field_from_the_impulse_response():
    model = model_of(9, kernel_size=4, num_blocks=3, dilation_growth=4, channels=6,
                     output="linear").double()
    rf = model.receptive_field
    assert rf == 1 + 3 * (1 + 4 + 16)
    start, samples = 40, 200
    x = torch.zeros(1, 1, samples, dtype=torch.float64)
    with torch.no_grad():
        rest = model(x)
        x[..., start] = 0.5
        response = (model(x) - rest)[0, 0]
    moved = torch.nonzero(response).flatten()
    assert int(moved.min()) == start and int(moved.max()) == start + rf - 1


def test_rest_state_is_the_state_after_a_long_silence():
    model = model_of(10, num_controls=2, **SMALL)
    c = knob_values(2, 2, 11)
    rf = model.receptive_field
    arbitrary = torch.randn(2, model.channels, rf - 1, generator=seeded(12))
    with torch.no_grad():
        rest = model.initial_state(2, controls=c)
        # receptive_field − 1 samples of silence flush every cache, whatever the start
        _, flushed = model.forward_with_state(torch.zeros(2, 1, rf - 1), c, arbitrary)
        # silence from the rest state stays at the rest output from its first sample: no pop
        y, after = model.forward_with_state(torch.zeros(2, 1, 100), c, rest)
    torch.testing.assert_close(flushed, rest, rtol=0, atol=1e-6)
    torch.testing.assert_close(after, rest, rtol=0, atol=1e-6)
    torch.testing.assert_close(y, y[..., :1].expand_as(y), rtol=0, atol=1e-6)
    assert not rest[:, 1:, :model.kernel_size - 1].any()  # block 0 keeps one channel
    assert model.initial_state(3, dtype=torch.float64, controls=knob_values(3, 2, 13)).shape == (
        3, 4, rf - 1)


def test_film_conditioning_changes_the_output():
    model = model_of(14, num_controls=2, **SMALL)
    x = mono_noise(300, 15, batch=3)
    c = knob_values(3, 2, 16)
    with torch.no_grad():
        y = model(x, c)
        other = model(x, 1.0 - c)
        per_sample = model(x, c.unsqueeze(-1).expand(-1, -1, 300).contiguous())
        for b in range(3):  # items are independent
            torch.testing.assert_close(y[b:b + 1], model(x[b:b + 1], c[b:b + 1]), rtol=0,
                                       atol=1e-6)
    assert float((y - other).abs().max()) > 1e-2
    torch.testing.assert_close(per_sample, y, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name,value", [
    ("num_controls", -1), ("kernel_size", 0), ("num_blocks", 0), ("dilation_growth", 0),
    ("channels", 0), ("channels", 2.5), ("cond_hidden", ()), ("cond_hidden", (4, 0)),
    ("cond_hidden", "16"), ("output", "sigmoid"),
])
def test_bad_constructor_arguments(name, value):
    with pytest.raises(ValueError, match=name):
        TCN(**{name: value})


def test_bad_input_names_the_argument():
    plain = model_of(**SMALL)
    knob = model_of(num_controls=2, **SMALL)
    x = mono_noise(40, 17, batch=2)
    c = knob_values(2, 2, 18)
    for bad in (x[0], torch.cat([x, x], dim=1), x.double(), x.clone().fill_(float("nan")),
                x[..., :0]):
        with pytest.raises(ValueError, match="x"):
            plain(bad)
    for bad in (None, c[:, :1], knob_values(2, 3, 19), c[:1], knob_values(2, 2, 20, 41),
                c.unsqueeze(0), c + 1.0, torch.full((2, 2), float("nan")),
                torch.ones(2, 2, dtype=torch.long)):
        with pytest.raises(ValueError, match="controls"):
            knob(x, bad)
    with pytest.raises(ValueError, match="controls"):
        plain(x, c)
    with pytest.raises(ValueError, match="controls"):
        knob.initial_state(2)  # the rest state depends on the knobs
    with pytest.raises(ValueError, match="controls"):
        knob.initial_state(2, controls=knob_values(2, 2, 21, 5))  # constant knobs only
    with pytest.raises(ValueError, match="controls"):
        knob.train()(x[:1], c[:1])  # batch norm in training mode needs two rows
    rf = plain.receptive_field
    for bad in (torch.zeros(2, 4, rf), torch.zeros(1, 4, rf - 1), torch.zeros(2, 1, rf - 1),
                torch.zeros(2, 4, rf - 1, dtype=torch.float64), [0.0]):
        with pytest.raises(ValueError, match="state"):
            plain.forward_with_state(x, None, bad)


def test_silence_gives_finite_output_and_gradients():
    model = model_of(22, num_controls=1, **SMALL).train()
    x = torch.zeros(2, 1, 100, requires_grad=True)
    c = torch.zeros(2, 1, requires_grad=True)
    y = model(x, c)
    y.square().sum().backward()
    assert torch.isfinite(y).all()
    assert torch.isfinite(x.grad).all() and torch.isfinite(c.grad).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_reset_parameters_is_seeded_with_pytorch_default_bounds():
    a, b, c = (TCN(num_controls=2, **SMALL).reset_parameters(seeded(s)) for s in (23, 23, 24))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a.blocks[1].conv.weight, c.blocks[1].conv.weight)
    for layer, fan_in in ((a.blocks[1].conv, 4 * 3), (a.blocks[0].residual, 1), (a.head, 4),
                          (a.cond[0], 2), (a.blocks[2].film.adaptor, 6)):
        values = torch.cat([p.detach().flatten() for p in layer.parameters()])
        assert float(values.abs().max()) <= 1 / math.sqrt(fan_in)
    slopes = [layer.weight.detach() for layer in a.modules() if isinstance(layer, torch.nn.PReLU)]
    assert len(slopes) == 3 + 2 and all(bool((s == 0.25).all()) for s in slopes)


# torch 2.13 marks torch.jit.script / save / load deprecated; they still work and are tested
@pytest.mark.filterwarnings("ignore:`torch.jit.* is deprecated:DeprecationWarning")
@pytest.mark.parametrize("num_controls", [0, 2])
def test_torchscript_round_trip(num_controls, tmp_path):
    model = model_of(25, num_controls=num_controls, **SMALL)
    path = tmp_path / "tcn.pt"
    torch.jit.save(torch.jit.script(model), str(path))
    loaded = torch.jit.load(str(path))
    x = mono_noise(300, 26, batch=2)
    c = knob_values(2, num_controls, 27, 300) if num_controls else None
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, c), model(x, c), rtol=0, atol=1e-5)
        first = None if c is None else c[..., 0]
        torch.testing.assert_close(loaded.initial_state(2, None, None, first),
                                   model.initial_state(2, controls=first), rtol=0, atol=1e-5)
        y_a, s_a = loaded.forward_with_state(x[..., :100], None if c is None else c[..., :100])
        y_b, s_b = model.forward_with_state(x[..., :100], None if c is None else c[..., :100])
    torch.testing.assert_close(y_a, y_b, rtol=0, atol=1e-5)
    torch.testing.assert_close(s_a, s_b, rtol=0, atol=1e-5)
