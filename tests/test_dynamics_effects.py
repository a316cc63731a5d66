"""Compressor and SimplifiedCompressor effects, and the simplified compressor's smoothing."""

import numpy as np
import scipy.signal
import torch
from _signals import randn, seeded
from _tolerances import COMPRESSOR_GAIN_OPS, assert_within_rounding

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
