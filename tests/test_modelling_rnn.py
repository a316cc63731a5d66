"""RNNModel: parameter count against the per-layer formula, output against a plain numpy
per-sample loop of the GRU / LSTM equations (independent of ``nn.GRU`` / ``nn.LSTM``), block
streaming with the state carried equal to one pass, constant versus per-sample controls,
causality, argument and input checks, silence, seeded initialisation and a TorchScript round
trip."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from _models import count
from _signals import knob_values, mono_noise, seeded

from dasp_blind.modelling.rnn import RNNModel

#: Absolute tolerance of a float32 model against a float64 reference (the issue's bound). The
#: largest error measured here is 1.0e-7 (the 600-sample loops) and 1.5e-8 (block streaming).
FLOAT32_ATOL = 1e-5


def sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def gru_step(u, h, w_ih, w_hh, b_ih, b_hh):
    """PyTorch's GRU (rows of the weights: gates r, z, n):
    r = σ(W_ir u + b_ir + W_hr h + b_hr), z = σ(W_iz u + b_iz + W_hz h + b_hz),
    n = tanh(W_in u + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h."""
    size = h.shape[0]
    gi, gh = w_ih @ u + b_ih, w_hh @ h + b_hh
    r = sigmoid(gi[:size] + gh[:size])
    z = sigmoid(gi[size:2 * size] + gh[size:2 * size])
    n = np.tanh(gi[2 * size:] + r * gh[2 * size:])
    return (1.0 - z) * n + z * h


def lstm_step(u, h, c, w_ih, w_hh, b_ih, b_hh):
    """PyTorch's LSTM (rows: gates i, f, g, o): c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c')."""
    size = h.shape[0]
    g = w_ih @ u + b_ih + w_hh @ h + b_hh
    i, f = sigmoid(g[:size]), sigmoid(g[size:2 * size])
    cell, o = np.tanh(g[2 * size:3 * size]), sigmoid(g[3 * size:])
    c = f * c + i * cell
    return o * np.tanh(c), c


def reference_rnn(state_dict: dict, cell: str, num_layers: int, skip: bool, x: np.ndarray,
                  controls: np.ndarray | None = None, pre: int = 0) -> np.ndarray:
    """A plain float64 per-sample loop over one item: ``x`` ``(samples,)``, ``controls``
    ``(num_controls, samples)``; ``state_dict`` holds PyTorch-layout arrays (``rec.*_l{k}``,
    ``lin.*`` and, when ``pre``, ``pre.0.*`` / ``pre.2.*``)."""
    p = {k: np.asarray(v, dtype=np.float64) for k, v in state_dict.items()}
    size = p["rec.weight_hh_l0"].shape[1]
    hs = [np.zeros(size) for _ in range(num_layers)]
    cs = [np.zeros(size) for _ in range(num_layers)]
    y = np.empty_like(x, dtype=np.float64)
    for t in range(x.shape[0]):
        u = np.array([x[t]] if controls is None else [x[t], *controls[:, t]])
        if pre:
            u = np.tanh(p["pre.0.weight"] @ u + p["pre.0.bias"])
            u = np.tanh(p["pre.2.weight"] @ u + p["pre.2.bias"])
        for k in range(num_layers):
            w = [p[f"rec.{n}_l{k}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            if cell == "gru":
                hs[k] = gru_step(u, hs[k], *w)
            else:
                hs[k], cs[k] = lstm_step(u, hs[k], cs[k], *w)
            u = hs[k]
        y[t] = (p["lin.weight"] @ u + p["lin.bias"])[0] + (x[t] if skip else 0.0)
    return y


def expected_parameters(cell="gru", hidden_size=48, num_layers=1, num_controls=0, pre_hidden=0):
    """Σ_layers G·(h·(in + h) + 2h) + h + 1 (+ the pre-processing net); G = 3 (GRU) or 4."""
    gates = 3 if cell == "gru" else 4
    h = hidden_size
    first = pre_hidden if pre_hidden else 1 + num_controls
    rec = sum(gates * (h * (inputs + h) + 2 * h) for inputs in [first] + [h] * (num_layers - 1))
    pre = (1 + num_controls) * pre_hidden + pre_hidden + pre_hidden ** 2 + pre_hidden
    return rec + h + 1 + pre


def model_of(seed: int = 0, **kwargs) -> RNNModel:
    return RNNModel(**kwargs).reset_parameters(seeded(seed)).eval()


def test_parameter_count_default_and_formula():
    assert expected_parameters() == 3 * (48 * (1 + 48) + 2 * 48) + 48 + 1 == 7393
    assert count(RNNModel()) == 7393
    for kwargs in (dict(cell="lstm", hidden_size=16), dict(hidden_size=8, num_layers=3),
                   dict(cell="lstm", hidden_size=12, num_layers=2, num_controls=2),
                   dict(hidden_size=10, num_controls=1, pre_hidden=6)):
        assert count(RNNModel(**kwargs)) == expected_parameters(**kwargs), kwargs


CASES = [
    dict(cell="gru", hidden_size=16),
    dict(cell="lstm", hidden_size=16, skip=False),
    dict(cell="gru", hidden_size=8, num_layers=2, num_controls=2, skip=False),
    dict(cell="lstm", hidden_size=8, num_layers=2, num_controls=2),
    dict(cell="gru", hidden_size=8, num_controls=1, pre_hidden=5),
]


@pytest.mark.parametrize("kwargs", CASES)
def test_matches_a_numpy_per_sample_loop(kwargs):
    samples = 600
    model = model_of(1, **kwargs)
    x = mono_noise(samples, 2, batch=2)
    c = (knob_values(2, model.num_controls, 3, samples) if model.num_controls else None)
    with torch.no_grad():
        y32 = model(x, c)
        y64 = model.double()(x.double(), c)
    sd = {k: v.double().numpy() for k, v in model.state_dict().items()}
    for b in range(2):
        ref = reference_rnn(sd, model.cell, model.num_layers, model.skip,
                            x[b, 0].double().numpy(), None if c is None else c[b].double().numpy(),
                            pre=model.pre_hidden)
        np.testing.assert_allclose(y64[b, 0].numpy(), ref, rtol=0, atol=1e-12)
        np.testing.assert_allclose(y32[b, 0].double().numpy(), ref, rtol=0, atol=FLOAT32_ATOL)
    # the network does something: its output is not the input (nor zero)
    assert float((y64 - (x.double() if model.skip else 0.0)).abs().max()) > 1e-2


@pytest.mark.parametrize("kwargs", [dict(cell="gru"), dict(cell="lstm", num_layers=2,
                                                           num_controls=2)])
def test_block_streaming_equals_one_pass(kwargs):
    sizes = [1, 37, 512, 1450]  # 2000 samples, the last block the remainder
    samples = sum(sizes)
    model = model_of(4, hidden_size=24, **kwargs)
    x = mono_noise(samples, 5, batch=2)
    c = knob_values(2, model.num_controls, 6, samples) if model.num_controls else None
    with torch.no_grad():
        whole, final = model.forward_with_state(x, c)
        state, blocks, start = None, [], 0
        for size in sizes:
            part = None if c is None else c[..., start:start + size]
            y, state = model.forward_with_state(x[..., start:start + size], part, state)
            blocks.append(y)
            start += size
        # forward is forward_with_state from the zero state
        torch.testing.assert_close(model(x, c), whole, rtol=0, atol=0)
    torch.testing.assert_close(torch.cat(blocks, dim=-1), whole, rtol=0, atol=1e-5)
    torch.testing.assert_close(state, final, rtol=0, atol=1e-5)
    assert tuple(state.shape) == tuple(model.initial_state(2).shape)


def test_state_shapes_and_initial_state():
    gru, lstm = model_of(hidden_size=6, num_layers=3), model_of(cell="lstm", hidden_size=6)
    assert gru.initial_state(4).shape == (3, 4, 6)
    assert lstm.initial_state(4).shape == (2, 1, 4, 6)
    zero = lstm.initial_state(2, dtype=torch.float64)
    assert zero.dtype == torch.float64 and not zero.any()
    x = mono_noise(50, 7, batch=2)
    with torch.no_grad():
        _, state = lstm.forward_with_state(x)
        # the LSTM state is h over c: h = o ⊙ tanh(c) bounds |h| by tanh|c|
        assert (state[0].abs() <= torch.tanh(state[1].abs()) + 1e-6).all()
        torch.testing.assert_close(lstm.forward_with_state(x, None, lstm.initial_state(2))[0],
                                   lstm(x), rtol=0, atol=0)


def test_constant_controls_equal_per_sample_constant_controls_and_matter():
    model = model_of(8, hidden_size=12, num_controls=2)
    x = mono_noise(300, 9, batch=3)
    c = knob_values(3, 2, 10)
    with torch.no_grad():
        constant = model(x, c)
        per_sample = model(x, c.unsqueeze(-1).expand(-1, -1, 300).contiguous())
        other = model(x, 1.0 - c)
    torch.testing.assert_close(constant, per_sample, rtol=0, atol=0)
    assert float((constant - other).abs().max()) > 1e-3


def test_batch_items_are_independent():
    model = model_of(11, cell="lstm", hidden_size=12, num_controls=1)
    x, c = mono_noise(200, 12, batch=3), knob_values(3, 1, 13, 200)
    with torch.no_grad():
        batched = model(x, c)
        for b in range(3):
            torch.testing.assert_close(batched[b:b + 1], model(x[b:b + 1], c[b:b + 1]),
                                       rtol=0, atol=1e-6)


def test_receptive_field_is_infinite_and_the_model_causal():
    model = model_of(14, hidden_size=12)
    assert model.receptive_field == math.inf
    x = mono_noise(400, 15).requires_grad_()
    model(x)[0, 0, 199].backward()
    grad = x.grad[0, 0]
    assert not grad[200:].any()  # no future sample reaches output 199
    assert grad[0] != 0  # the first sample still does (no finite history)


@pytest.mark.parametrize("name,value", [
    ("cell", "rnn"), ("cell", "GRU"), ("hidden_size", 0), ("hidden_size", 2.5),
    ("num_layers", 0), ("num_controls", -1), ("pre_hidden", -1), ("skip", 1),
])
def test_bad_constructor_arguments(name, value):
    with pytest.raises(ValueError, match=name):
        RNNModel(**{name: value})


def test_bad_input_names_the_argument():
    plain = model_of(hidden_size=4)
    knob = model_of(hidden_size=4, num_controls=2)
    x = mono_noise(20, 16, batch=2)
    c = knob_values(2, 2, 17)
    for bad in (x[0], torch.cat([x, x], dim=1), x.double(), x.clone().fill_(float("nan"))):
        with pytest.raises(ValueError, match="x"):
            plain(bad)
    bad_controls = [
        None,  # missing
        c[:, :1],  # too few
        knob_values(2, 3, 18),  # too many
        c[:1],  # wrong batch
        knob_values(2, 2, 19, 21),  # wrong length
        c.unsqueeze(0),  # wrong rank
        c + 1.0,  # outside [0, 1]
        c - 1.0,
        torch.full((2, 2), float("nan")),
        torch.ones(2, 2, dtype=torch.long),
    ]
    for bad in bad_controls:
        with pytest.raises(ValueError, match="controls"):
            knob(x, bad)
    with pytest.raises(ValueError, match="controls"):
        plain(x, c)  # extra controls for a model without knobs
    for bad in (torch.zeros(1, 3, 4), torch.zeros(2, 1, 2, 4), torch.zeros(1, 2, 5)):
        with pytest.raises(ValueError, match="state"):
            plain.forward_with_state(x, None, bad)
    with pytest.raises(ValueError, match="state"):
        plain.forward_with_state(x, None, torch.zeros(1, 2, 4, dtype=torch.float64))


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_silence_gives_finite_output_and_gradients(cell):
    model = model_of(20, cell=cell, hidden_size=8, num_controls=1, pre_hidden=4)
    x = torch.zeros(2, 1, 100, requires_grad=True)
    c = torch.zeros(2, 1, requires_grad=True)
    y = model(x, c)
    y.square().sum().backward()
    assert torch.isfinite(y).all()
    assert torch.isfinite(x.grad).all() and torch.isfinite(c.grad).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_reset_parameters_is_seeded_with_pytorch_default_bounds():
    a, b, c = (RNNModel(hidden_size=16, pre_hidden=8).reset_parameters(seeded(s))
               for s in (21, 21, 22))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a.rec.weight_hh_l0, c.rec.weight_hh_l0)
    for module, fan_in in ((a.pre[0], 1), (a.pre[2], 8), (a.rec, 16), (a.lin, 16)):
        bound = 1 / math.sqrt(fan_in)
        values = torch.cat([p.detach().flatten() for p in module.parameters()])
        assert float(values.abs().max()) <= bound
        if values.numel() >= 64:  # uniform: standard deviation bound / sqrt(3)
            assert abs(float(values.std()) * math.sqrt(3) / bound - 1) < 0.2


# torch 2.13 marks torch.jit.script / save / load deprecated; they still work and are tested
@pytest.mark.filterwarnings("ignore:`torch.jit.* is deprecated:DeprecationWarning")
@pytest.mark.parametrize("kwargs", [dict(cell="gru"), dict(cell="lstm", num_layers=2,
                                                           num_controls=2, pre_hidden=6)])
def test_torchscript_round_trip(kwargs, tmp_path):
    model = model_of(23, hidden_size=16, **kwargs)
    path = tmp_path / "rnn.pt"
    torch.jit.save(torch.jit.script(model), str(path))
    loaded = torch.jit.load(str(path))
    x = mono_noise(700, 24, batch=2)
    c = knob_values(2, model.num_controls, 25, 700) if model.num_controls else None
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, c), model(x, c), rtol=0, atol=1e-6)
        state = loaded.initial_state(2)
        assert state.shape == model.initial_state(2).shape
        y_a, s_a = loaded.forward_with_state(x[..., :300], None if c is None else c[..., :300],
                                             state)
        y_b, s_b = model.forward_with_state(x[..., :300], None if c is None else c[..., :300])
    torch.testing.assert_close(y_a, y_b, rtol=0, atol=1e-6)
    torch.testing.assert_close(s_a, s_b, rtol=0, atol=1e-6)
