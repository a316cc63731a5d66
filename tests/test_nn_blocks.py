"""Shared network blocks: SAAF against a plain loop over its piecewise formula (values,
derivatives, continuity at the breakpoints, gradients), squeeze-excitation and the GLU
convolution against numpy, the BLSTM against a numpy LSTM, and the state-dict keys Demucs
checkpoints rely on."""

import numpy as np
import pytest
import torch
from _signals import seeded

from dasp_blind.nn.glu import GLUConv1d
from dasp_blind.nn.recurrent import BLSTM
from dasp_blind.nn.saaf import SAAF
from dasp_blind.nn.squeeze_excitation import SqueezeExcitation
from dasp_blind.removal.demucs import Demucs
from tests._tolerances import assert_within_rounding


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def draw_parameters(module, seed, scale=0.5):
    """Every parameter of ``module`` from N(0, scale²) with its own seeded generator."""
    gen = seeded(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return module


# --------------------------------------------------------------------------------------- SAAF

def saaf_segments(breakpoints=25, low=-0.2, high=0.2):
    """Consecutive pairs of numpy.linspace breakpoints, the last one unused when odd."""
    points = np.linspace(low, high, breakpoints)
    return [(points[2 * k], points[2 * k + 1]) for k in range(breakpoints // 2)]


def basis_loop(v, start, end, magnitude):
    """The order-2 basis of Hou et al., one value at a time."""
    if v < start:
        return 0.0
    if v < end:
        return magnitude * 0.5 * (v - start) ** 2
    return magnitude * ((end - start) * (v - end) + 0.5 * (end - start) ** 2)


def basis_slope_loop(v, start, end, magnitude):
    """Its derivative, one value at a time."""
    if v < start:
        return 0.0
    if v < end:
        return magnitude * (v - start)
    return magnitude * (end - start)


def saaf_loop(x, linear, weight, segments, magnitude, basis=basis_loop):
    """``linear_c·x + Σ_k weight_ck·B_k(x)`` with a loop over every element and segment;
    ``x``: ``(batch, channels, time)``."""
    out = np.zeros_like(x)
    for b, c, t in np.ndindex(*x.shape):
        v = x[b, c, t]
        total = linear[c] * v if basis is basis_loop else linear[c]
        for k, (start, end) in enumerate(segments):
            total += weight[c, k] * basis(v, start, end, magnitude)
        out[b, c, t] = total
    return out


def saaf_input(seed):
    """Values over and beyond the breakpoint range, every breakpoint exactly included:
    ``(2, 3, 150)`` float64."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.3, 0.3, size=(2, 3, 150))
    x[0, :, :25] = np.linspace(-0.2, 0.2, 25)
    x[1, 0, :4] = [-5.0, 5.0, 0.0, 0.21]
    return x


def test_saaf_matches_a_loop_over_the_piecewise_formula():
    saaf = SAAF(3).double()
    saaf.reset_parameters(seeded(0))
    x = saaf_input(1)
    linear, weight = saaf.linear.detach().numpy(), saaf.weight.detach().numpy()
    expected = saaf_loop(x, linear, weight, saaf_segments(), 100.0)
    with torch.no_grad():
        y = saaf(torch.from_numpy(x))
    # 12 segments of terms up to 100·|w|·0.4·|x|: a few roundings each
    assert_within_rounding(y, expected, dtype=torch.float64, ops=12 * 4)
    with torch.no_grad():
        y32 = saaf.float()(torch.from_numpy(x).float())
    assert_within_rounding(y32, expected, dtype=torch.float32, ops=12 * 4)


def test_saaf_each_basis_function_alone():
    """One-hot weights pick out one basis function: checks each segment's start and end."""
    segments = saaf_segments(9, -1.0, 2.0)  # 4 segments, the 9th breakpoint unused
    saaf = SAAF(4, breakpoints=9, low=-1.0, high=2.0, magnitude=3.0).double()
    with torch.no_grad():
        saaf.linear.zero_()
        saaf.weight.copy_(torch.eye(4, dtype=torch.float64))  # channel k <- segment k
    x = np.tile(np.linspace(-1.5, 2.5, 161), (1, 4, 1))
    with torch.no_grad():
        y = saaf(torch.from_numpy(x)).numpy()
    for k, (start, end) in enumerate(segments):
        expected = [basis_loop(v, start, end, 3.0) for v in x[0, k]]
        np.testing.assert_allclose(y[0, k], expected, rtol=1e-12, atol=1e-12)


def test_saaf_derivative_matches_the_formula_and_is_continuous_at_breakpoints():
    saaf = SAAF(3).double()
    saaf.reset_parameters(seeded(2))
    linear, weight = saaf.linear.detach().numpy(), saaf.weight.detach().numpy()
    segments = saaf_segments()
    x = torch.from_numpy(saaf_input(3)).requires_grad_()
    (grad,) = torch.autograd.grad(saaf(x).sum(), x)
    expected = saaf_loop(x.detach().numpy(), linear, weight, segments, 100.0,
                         basis=basis_slope_loop)
    np.testing.assert_allclose(grad.numpy(), expected, rtol=1e-10, atol=1e-10)

    # value and slope on both sides of every breakpoint: the gap shrinks with delta (C¹); the
    # slope's jump would stay at |w|·100·(e − s) for an only-continuous function
    points = torch.linspace(-0.2, 0.2, 25, dtype=torch.float64)
    curvature = 100.0 * np.abs(weight).sum(axis=1).max()  # bound on |f''|
    slope_bound = np.abs(expected).max() + curvature
    for delta in (1e-4, 1e-7):
        left = (points - delta).expand(1, 3, 25).clone().requires_grad_()
        right = (points + delta).expand(1, 3, 25).clone().requires_grad_()
        f_left, f_right = saaf(left), saaf(right)
        (g_left,) = torch.autograd.grad(f_left.sum(), left)
        (g_right,) = torch.autograd.grad(f_right.sum(), right)
        assert (f_right - f_left).abs().max() <= 2 * delta * slope_bound
        assert (g_right - g_left).abs().max() <= 2 * delta * curvature * (1 + 1e-6) + 1e-12


def test_saaf_gradients_are_finite_and_pass_gradcheck():
    saaf = SAAF(2, breakpoints=7).double()
    saaf.reset_parameters(seeded(4))
    gen = seeded(5)
    x = (0.3 * torch.randn(2, 2, 9, generator=gen, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(saaf, (x,))
    edges = torch.tensor([[[-1e3, -0.2, 0.0, 0.2, 1e3]]], dtype=torch.float64)
    edges = edges.expand(1, 2, 5).clone().requires_grad_()
    saaf(edges).sum().backward()
    assert torch.isfinite(edges.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in saaf.parameters())


def test_saaf_channel_axis_and_ranks():
    """Channel axis 1 for (batch, channels), (batch, channels, time) and deeper inputs."""
    saaf = SAAF(3).double()
    saaf.reset_parameters(seeded(6))
    gen = seeded(7)
    x = 0.2 * torch.randn(2, 3, 4, 5, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        deep = saaf(x)
        flat = saaf(x.reshape(2, 3, 20)).reshape(x.shape)
        per_item = torch.stack([saaf(x[..., i, j]) for i in range(4) for j in range(5)], -1)
    torch.testing.assert_close(deep, flat, rtol=0, atol=0)
    torch.testing.assert_close(deep, per_item.reshape(x.shape), rtol=0, atol=0)


def test_saaf_parameters_and_init():
    saaf = SAAF(32)
    assert sum(p.numel() for p in saaf.parameters()) == 32 * 13
    a, b = SAAF(64), SAAF(64)
    a.reset_parameters(seeded(8))
    b.reset_parameters(seeded(8))
    assert torch.equal(a.weight, b.weight) and torch.equal(a.linear, b.linear)
    weight = a.weight.detach()
    assert 0.045 < float(weight.std()) < 0.055 and abs(float(weight.mean())) < 0.01


@pytest.mark.parametrize("kwargs,name", [
    (dict(channels=0), "channels"), (dict(breakpoints=1), "breakpoints"),
    (dict(low=0.2, high=0.2), "high"), (dict(magnitude=0.0), "magnitude"),
    (dict(low=float("nan")), "low")])
def test_saaf_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SAAF(**{"channels": 2, **kwargs})
    with pytest.raises(ValueError, match="x"):
        SAAF(2)(torch.zeros(1, 3, 4))


# ----------------------------------------------------------------------- squeeze-excitation

def test_squeeze_excitation_matches_numpy():
    se = draw_parameters(SqueezeExcitation(3, 5).double(), 10, scale=1.0)  # biases too
    x = torch.randn(2, 3, 40, generator=seeded(9), dtype=torch.float64)
    with torch.no_grad():
        y = se(x).numpy()
    w1, b1 = se.squeeze.weight.detach().numpy(), se.squeeze.bias.detach().numpy()
    w2, b2 = se.excite.weight.detach().numpy(), se.excite.bias.detach().numpy()
    xn = x.numpy()
    for b in range(2):
        pooled = np.abs(xn[b]).mean(axis=1)  # (3,)
        gate = sigmoid(w2 @ np.maximum(w1 @ pooled + b1, 0.0) + b2)
        np.testing.assert_allclose(y[b], xn[b] * gate[:, None], rtol=1e-12, atol=1e-14)


def test_squeeze_excitation_init_and_parameters():
    se = SqueezeExcitation(32, 512)
    assert sum(p.numel() for p in se.parameters()) == 2 * 32 * 512 + 512 + 32
    se.reset_parameters(seeded(11))
    bound = np.sqrt(6 / (32 + 512))
    assert se.squeeze.weight.abs().max() <= bound and se.squeeze.weight.std() > 0.5 * bound
    assert not se.squeeze.bias.any() and not se.excite.bias.any()
    other = SqueezeExcitation(32, 512)
    other.reset_parameters(seeded(11))
    assert torch.equal(se.excite.weight, other.excite.weight)


def test_squeeze_excitation_silence_and_bad_input():
    se = SqueezeExcitation(2, 4)
    se.reset_parameters(seeded(16))
    x = torch.zeros(1, 2, 10, requires_grad=True)
    se(x).sum().backward()
    assert torch.isfinite(x.grad).all()
    with pytest.raises(ValueError, match="x"):
        se(torch.zeros(1, 3, 10))
    with pytest.raises(ValueError, match="hidden"):
        SqueezeExcitation(2, 0)


# ------------------------------------------------------------------------------------- GLU

def test_glu_conv_matches_numpy():
    glu = draw_parameters(GLUConv1d(2, 3, 4).double(), 12)
    x = torch.randn(2, 2, 11, generator=seeded(14), dtype=torch.float64)
    with torch.no_grad():
        y = glu(x).numpy()
    w, bias = glu.conv.weight.detach().numpy(), glu.conv.bias.detach().numpy()
    xn = x.numpy()
    assert y.shape == (2, 3, 8)
    expected = np.zeros((2, 3, 8))
    for b, c, t in np.ndindex(2, 3, 8):
        value = bias[c] + sum(w[c, i, k] * xn[b, i, t + k] for i in range(2) for k in range(4))
        gate = bias[c + 3] + sum(w[c + 3, i, k] * xn[b, i, t + k]
                                 for i in range(2) for k in range(4))
        expected[b, c, t] = value * sigmoid(gate)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-14)
    assert sum(p.numel() for p in glu.parameters()) == 2 * 3 * (2 * 4 + 1)


@pytest.mark.parametrize("name", ["in_channels", "out_channels", "kernel_size"])
def test_glu_conv_bad_arguments(name):
    with pytest.raises(ValueError, match=name):
        GLUConv1d(**{"in_channels": 1, "out_channels": 1, "kernel_size": 1, name: 0})


# ------------------------------------------------------------------------------------ BLSTM

def lstm_direction(x, w_ih, w_hh, b_ih, b_hh, reverse):
    """One LSTM direction over ``x`` ``(frames, inputs)`` (gates i, f, g, o), in numpy."""
    hidden = w_hh.shape[1]
    h, c = np.zeros(hidden), np.zeros(hidden)
    out = np.zeros((x.shape[0], hidden))
    steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
    for t in steps:
        z = w_ih @ x[t] + b_ih + w_hh @ h + b_hh
        i, f, g, o = np.split(z, 4)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        out[t] = h
    return out


def test_blstm_matches_a_numpy_lstm():
    model = draw_parameters(BLSTM(3, layers=2, hidden=4).double(), 13)
    x = torch.randn(2, 3, 6, generator=seeded(15), dtype=torch.float64)
    with torch.no_grad():
        y = model(x).numpy()
    params = {name: p.detach().numpy() for name, p in model.named_parameters()}
    for b in range(2):
        seq = x[b].numpy().T  # (frames, dim)
        for layer in range(2):
            directions = []
            for suffix, reverse in (("", False), ("_reverse", True)):
                names = [f"lstm.{kind}_l{layer}{suffix}"
                         for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
                directions.append(lstm_direction(seq, *(params[n] for n in names), reverse))
            seq = np.concatenate(directions, axis=1)  # (frames, 2·hidden)
        expected = seq @ params["linear.weight"].T + params["linear.bias"]
        np.testing.assert_allclose(y[b], expected.T, rtol=1e-12, atol=1e-13)


def test_blstm_state_dict_keys_and_default_hidden():
    model = BLSTM(5, layers=2)
    keys = {f"lstm.{kind}_l{layer}{suffix}" for kind in ("weight_ih", "weight_hh", "bias_ih",
                                                          "bias_hh")
            for layer in range(2) for suffix in ("", "_reverse")}
    assert set(model.state_dict()) == keys | {"linear.weight", "linear.bias"}
    assert model.lstm.hidden_size == 5 and model.linear.weight.shape == (5, 10)
    assert BLSTM(5, 1, hidden=7).linear.weight.shape == (5, 14)


def test_demucs_checkpoint_keys_are_unchanged():
    """The keys (and shapes) of the Demucs bottleneck that the private ``_BLSTM`` gave."""
    state = Demucs().state_dict()
    bottleneck = {k: tuple(v.shape) for k, v in state.items() if k.startswith("lstm.")}
    expected = {"lstm.linear.weight": (128, 256), "lstm.linear.bias": (128,)}
    for layer in range(2):
        for suffix in ("", "_reverse"):
            inputs = 128 if layer == 0 else 256
            expected[f"lstm.lstm.weight_ih_l{layer}{suffix}"] = (512, inputs)
            expected[f"lstm.lstm.weight_hh_l{layer}{suffix}"] = (512, 128)
            expected[f"lstm.lstm.bias_ih_l{layer}{suffix}"] = (512,)
            expected[f"lstm.lstm.bias_hh_l{layer}{suffix}"] = (512,)
    assert bottleneck == expected
    assert isinstance(Demucs().lstm, BLSTM)


@pytest.mark.parametrize("kwargs,name", [(dict(dim=0), "dim"), (dict(layers=0), "layers"),
                                         (dict(hidden=0), "hidden"), (dict(dim=2.5), "dim")])
def test_blstm_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        BLSTM(**{"dim": 2, "layers": 1, **kwargs})
