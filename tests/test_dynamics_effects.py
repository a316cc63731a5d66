"""Compressor and SimplifiedCompressor effects, and the simplified compressor's smoothing."""

import numpy as np
import pytest
import scipy.signal
import torch
from _signals import randn, seeded
from _tolerances import COMPRESSOR_GAIN_OPS, assert_within_rounding

from dasp_blind import effects as fx
from dasp_blind.effects import Compressor, SimplifiedCompressor
from dasp_blind.functional import compressor, simple_compressor, static_gain_reduction_db

FS = 44100.0


def test_compressor_space_follows_reference():
    space = Compressor(FS).param_space
    assert space.names == ["threshold_db", "attack_ms", "release_ms", "ratio", "knee_db",
                           "makeup_db"]
    assert [space[n].scale for n in space.names] == ["lin", "log", "log", "log", "lin", "lin"]
    assert (space["release_ms"].min, space["release_ms"].max) == (10.0, 500.0)


def test_compressor_effect_equals_functional():
    effect = Compressor(FS)
    gen = seeded(0)
    x = 0.5 * torch.randn(3, 2, 3000, generator=gen)
    q = effect.param_space.sample(3, generator=gen)
    p = effect.param_space.denormalize(q)
    expected = compressor(x, FS, p["threshold_db"], p["ratio"], p["attack_ms"], p["release_ms"],
                          p["knee_db"], p["makeup_db"])
    assert_within_rounding(effect(x, q), expected, ops=2 * COMPRESSOR_GAIN_OPS)  # both rounded


def test_simplified_time_constant_comes_from_its_own_control():
    """The reference reads the threshold column for the time constant; here it is its own."""
    effect = SimplifiedCompressor(FS)
    x = randn(1, 1, 8000, seed=1, scale=0.5)
    base = {"threshold_db": -20.0, "ratio": 4.0, "knee_db": 0.0, "makeup_db": 0.0}
    fast = effect.process(x, {**base, "time_constant_ms": 1.0})
    slow = effect.process(x, {**base, "time_constant_ms": 300.0})
    assert (fast - slow).abs().max() > 0.05
    other_threshold = effect.process(x, {**base, "threshold_db": -10.0, "time_constant_ms": 1.0})
    assert not torch.allclose(other_threshold, fast)
    assert effect.param_space["ratio"].scale == "lin"


def test_simplified_smoothing_is_a_one_pole_lowpass():
    x = randn(1, 1, 6000, seed=2, dtype=torch.float64, scale=0.5)
    tau_ms = 10.0
    y = simple_compressor(x, FS, -20.0, 4.0, tau_ms, 6.0, 2.0)
    level = 20 * torch.log10(x.abs()[:, 0] + 1e-6)
    one = torch.ones(1, dtype=torch.float64)
    reduction = static_gain_reduction_db(level, -20 * one, 4 * one, 6 * one)[0].numpy()
    alpha = np.exp(-1 / (tau_ms * 1e-3 * FS))
    smoothed = scipy.signal.lfilter([1 - alpha], [1, -alpha], reduction)
    expected = x[0, 0].numpy() * 10 ** ((2.0 - smoothed) / 20)
    assert np.abs(y[0, 0].numpy() - expected).max() < 1e-6


def test_static_curve_zero_knee_has_finite_gradients():
    level = torch.tensor([[-30.0, -20.0, -10.0]], dtype=torch.float64, requires_grad=True)
    thr = torch.tensor([-20.0], dtype=torch.float64, requires_grad=True)
    ratio = torch.tensor([4.0], dtype=torch.float64, requires_grad=True)
    knee = torch.tensor([0.0], dtype=torch.float64, requires_grad=True)
    out = static_gain_reduction_db(level, thr, ratio, knee)
    assert torch.allclose(out, torch.tensor([[0.0, 0.0, 7.5]], dtype=torch.float64))
    out.sum().backward()
    for t in (level, thr, ratio, knee):
        assert torch.isfinite(t.grad).all()


def test_simplified_gradcheck():
    x = randn(2, 1, 128, seed=3, dtype=torch.float64, scale=0.5)
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True)
              for v in ([-20.0, -15.0], [4.0, 3.0], [5.0, 2.0], [6.0, 3.0], [2.0, 1.0])]

    def fn(xx, t, r, tau, w, m):
        return simple_compressor(xx, FS, t, r, tau, w, m)

    assert torch.autograd.gradcheck(fn, (x.requires_grad_(True), *params), atol=1e-5, rtol=1e-3)


# --- side inputs: sidechain and look-ahead -----------------------------------------------------

def sidechain_case(seed: int, dtype=torch.float64):
    """Audio, a louder 3-channel sidechain and controls with a low threshold."""
    gen = torch.Generator().manual_seed(seed)
    x = 0.3 * torch.randn(2, 2, 2000, generator=gen, dtype=dtype)
    sidechain = torch.randn(2, 3, 2000, generator=gen, dtype=dtype)
    params = {"threshold_db": torch.tensor([-30.0, -20.0], dtype=dtype), "attack_ms": 2.0,
              "release_ms": 50.0, "ratio": 6.0, "knee_db": 3.0, "makeup_db": 1.0}
    return x, sidechain, params


def functional_reference(x, params, **kwargs):
    return compressor(x, FS, params["threshold_db"], params["ratio"], params["attack_ms"],
                      params["release_ms"], params["knee_db"], params["makeup_db"], **kwargs)


def test_compressor_effect_passes_sidechain_and_lookahead_to_the_function():
    x, sidechain, params = sidechain_case(10)
    effect = Compressor(FS, lookahead_ms=2.5)
    expected = functional_reference(x, params, sidechain=sidechain, lookahead_ms=2.5)
    assert torch.equal(effect.process(x, params, sidechain=sidechain), expected)
    q = effect.param_space.normalize(params)
    full = effect.physical_params(params, x)
    assert torch.allclose(effect(x, q, sidechain=sidechain), expected, rtol=0, atol=1e-12)
    assert torch.equal(effect.process_validated(x, full, sidechain=sidechain), expected)
    # both settings change the result
    assert not torch.allclose(expected, functional_reference(x, params, lookahead_ms=2.5))
    assert not torch.allclose(expected, functional_reference(x, params, sidechain=sidechain))
    assert torch.equal(Compressor(FS).process(x, params), functional_reference(x, params))
    assert "lookahead_ms=2.5" in repr(effect)


def test_compressor_effect_gradients_reach_the_sidechain():
    x, sidechain, params = sidechain_case(11)
    weights = torch.randn(x.shape, generator=torch.Generator().manual_seed(12), dtype=x.dtype)
    grads = []
    for run in (lambda s: Compressor(FS, lookahead_ms=1.0).process(x, params, sidechain=s),
                lambda s: functional_reference(x, params, sidechain=s, lookahead_ms=1.0)):
        s = sidechain.clone().requires_grad_(True)
        (run(s) * weights).sum().backward()
        grads.append(s.grad)
    assert torch.isfinite(grads[0]).all() and grads[0].abs().sum() > 0
    assert torch.equal(grads[0], grads[1])


@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf"), True, "2", torch.tensor(1.0)])
def test_compressor_lookahead_is_checked(value):
    with pytest.raises(ValueError, match="lookahead_ms"):
        Compressor(FS, lookahead_ms=value)


@pytest.mark.parametrize("make", [
    lambda: SimplifiedCompressor(FS), lambda: fx.ParametricEQ(FS), lambda: fx.HybridCompressor(FS),
    lambda: fx.ProxyCompressor(FS),
])
def test_effects_without_side_inputs_refuse_a_sidechain(make):
    effect = make()
    x = 0.3 * torch.randn(1, 1, 512, generator=torch.Generator().manual_seed(13))
    q = effect.param_space.default(1)
    with pytest.raises(ValueError, match=r"sidechain: \w+ has no side input 'sidechain'"):
        effect(x, q, sidechain=x)
    with pytest.raises(ValueError, match="sidechain"):
        effect.process(x, {}, sidechain=x)
    assert torch.equal(effect(x, q, sidechain=None), effect(x, q))


def test_compressor_refuses_an_unknown_side_input():
    x = torch.zeros(1, 1, 64)
    with pytest.raises(ValueError, match=r"sidechian: Compressor has no side input .*sidechain"):
        Compressor(FS).process(x, {}, sidechian=x)
