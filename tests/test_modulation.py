"""Tremolo, chorus and fractional delay: gradients, numpy references, edges, validation."""

import math
from functools import partial

import numpy as np
import pytest
import torch
from _signals import randn_audio
from _tolerances import rounding_tol

from dasp_blind.effects.modulation import Chorus, Gain, Tremolo
from dasp_blind.functional.modulation import (
    SQUARE_SHARPNESS,
    chorus,
    fractional_delay,
    tremolo,
)

SR = 8000.0
F64 = torch.float64


audio = partial(randn_audio, samples=200, dtype=F64)


def leaf(*values):
    return torch.tensor(values, dtype=F64, requires_grad=True)


# --- gradcheck ---------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", ["sine", "triangle", "square"])
def test_tremolo_gradcheck(shape):
    x = audio(channels=1, samples=128).requires_grad_()
    rate, depth, phase = leaf(3.1, 7.3), leaf(0.3, 0.8), leaf(0.1, 1.3)
    assert torch.autograd.gradcheck(
        lambda x, r, d, p: tremolo(x, SR, r, d, shape=shape, phase=p), (x, rate, depth, phase))


def test_chorus_gradcheck_audio_and_parameters():
    x = audio(channels=1, samples=160).requires_grad_()
    # Delays of 6.1 .. 11.9 and 8.9 .. 21.3 samples: the interpolation is smooth almost everywhere.
    rate, depth, delay, mix = leaf(13.1, 27.3), leaf(0.37, 0.61), leaf(1.13, 2.07), leaf(0.3, 0.7)
    assert torch.autograd.gradcheck(lambda *a: chorus(*a[:1], SR, *a[1:]),
                                    (x, rate, depth, delay, mix))


@pytest.mark.parametrize("name", ["rate_hz", "depth_ms", "delay_ms", "mix"])
def test_chorus_gradient_reaches_each_parameter(name):
    x = audio()
    params = {"rate_hz": leaf(13.1, 27.3), "depth_ms": leaf(0.37, 0.61),
              "delay_ms": leaf(1.13, 2.07), "mix": leaf(0.3, 0.7)}
    chorus(x, SR, **params).square().sum().backward()
    grad = params[name].grad
    assert grad is not None and torch.isfinite(grad).all() and (grad.abs() > 1e-6).all()


def test_fractional_delay_gradcheck_constant_and_varying():
    x = audio(channels=1, samples=100).requires_grad_()
    d = leaf(3.3, 7.6)
    assert torch.autograd.gradcheck(fractional_delay, (x, d))
    n = torch.arange(100, dtype=F64)
    dv = (torch.stack([4.2 + 2 * torch.sin(n / 17), 9.7 + 3 * torch.cos(n / 23)])
          .detach().requires_grad_())
    assert torch.autograd.gradcheck(fractional_delay, (x, dv))


# --- references --------------------------------------------------------------------------------

def numpy_lfo(shape, rate, phase, num_samples, sr):
    theta = 2 * np.pi * rate * np.arange(num_samples) / sr + phase
    if shape == "sine":
        return np.sin(theta)
    if shape == "triangle":
        return 2 / np.pi * np.arcsin(np.sin(theta))
    return np.tanh(SQUARE_SHARPNESS * np.sin(theta)) / np.tanh(SQUARE_SHARPNESS)


@pytest.mark.parametrize("shape", ["sine", "triangle", "square"])
def test_tremolo_matches_numpy_formula(shape):
    x = audio(samples=4000)
    rates, depths, phases = [5.0, 11.0], [0.5, 1.0], [0.0, 0.7]
    y = tremolo(x, SR, torch.tensor(rates, dtype=F64), torch.tensor(depths, dtype=F64),
                shape=shape, phase=torch.tensor(phases, dtype=F64))
    for b in range(2):
        osc = numpy_lfo(shape, rates[b], phases[b], 4000, SR)
        expected = x[b].numpy() * (1 - depths[b] * (1 - osc) / 2)
        np.testing.assert_allclose(y[b].numpy(), expected, atol=1e-9)


def test_tremolo_square_is_nearly_square_and_full_depth_reaches_zero():
    x = torch.ones(1, 1, 8000, dtype=F64)
    y = tremolo(x, SR, 2.0, 1.0, shape="square")[0, 0].numpy()
    # Gain is 1 in the first half period and 0 in the second, away from the transitions.
    assert np.all(y[200:1800] > 0.99) and np.all(y[2200:3800] < 0.01)
    assert y.min() >= -1e-12 and y.max() <= 1 + 1e-12


def test_chorus_static_integer_delay_is_shifted_copy():
    x = audio(samples=300)
    mix = 0.4
    y = chorus(x, SR, rate_hz=3.0, depth_ms=0.0, delay_ms=2.5, mix=mix)  # 2.5 ms = 20 samples
    xn = x.numpy()
    shifted = np.zeros_like(xn)
    shifted[..., 20:] = xn[..., :-20]
    np.testing.assert_allclose(y.numpy(), (1 - mix) * xn + mix * shifted, atol=1e-12)


def test_chorus_modulated_delay_matches_numpy_interp():
    x = audio(batch=1, channels=1, samples=400)
    rate, depth, delay, mix = 9.0, 0.8, 1.7, 0.6
    y = chorus(x, SR, rate, depth, delay, mix)[0, 0].numpy()
    n = np.arange(400)
    d = (delay + depth * np.sin(2 * np.pi * rate * n / SR)) * SR / 1000
    wet = np.interp(n - d, n, x[0, 0].numpy(), left=0.0)
    # np.interp holds x[0] for positions in (-1, 0); the library ramps from zero there.
    start = int(np.ceil(d.max())) + 1
    np.testing.assert_allclose(y[start:], (1 - mix) * x[0, 0].numpy()[start:]
                               + mix * wet[start:], atol=1e-12)


def test_fractional_delay_of_sine_matches_analytic_delay():
    f, d = 100.0, 5.37
    n = torch.arange(2000, dtype=F64)
    x = torch.sin(2 * math.pi * f * n / SR).reshape(1, 1, -1)
    y = fractional_delay(x, torch.tensor([d], dtype=F64))[0, 0]
    expected = torch.sin(2 * math.pi * f * (n - d) / SR)
    # Linear interpolation error of a sine is at most (ω²/8) with ω = 2πf/SR ≈ 0.079.
    assert (y[10:] - expected[10:]).abs().max() < 1e-3
    assert (y[:5] == 0).all()  # zero before the signal starts


def test_fractional_delay_integer_is_exact_shift_and_zero_delay_is_identity():
    x = audio()
    y = fractional_delay(x, 7.0)
    assert torch.equal(y[..., 7:], x[..., :-7]) and torch.equal(y[..., :7], torch.zeros_like(
        y[..., :7]))
    assert torch.equal(fractional_delay(x, 0.0), x)


def test_fractional_delay_time_varying_matches_numpy_interp():
    x = audio(batch=1, channels=1, samples=300)
    n = np.arange(300)
    d = 6.0 + 4.5 * np.sin(n / 13.0)
    y = fractional_delay(x, torch.tensor(d[None, :]))[0, 0].numpy()
    wet = np.interp(n - d, n, x[0, 0].numpy(), left=0.0)
    np.testing.assert_allclose(y[12:], wet[12:], atol=1e-12)


# --- edges and silence -------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [0.0, 1.0])
@pytest.mark.parametrize("shape", ["sine", "triangle", "square"])
def test_tremolo_silence_and_depth_edges_have_finite_grads(depth, shape):
    for x in (torch.zeros(2, 1, 256, dtype=F64), audio(samples=256)):
        x = x.clone().requires_grad_()
        rate, d = leaf(4.0, 6.0), leaf(depth, depth)
        y = tremolo(x, SR, rate, d, shape=shape)
        (y.square().sum() + y.sum()).backward()
        for t in (y, x.grad, rate.grad, d.grad):
            assert torch.isfinite(t).all()
    if depth == 0.0:
        x = audio()
        assert torch.equal(tremolo(x, SR, 5.0, 0.0, shape=shape), x)


@pytest.mark.parametrize("mix,depth_ms,delay_ms", [(0.0, 1.0, 2.0), (1.0, 1.0, 2.0),
                                                   (0.5, 0.0, 2.0), (0.5, 1.5, 1.5),
                                                   (0.5, 0.0, 0.0)])
def test_chorus_silence_and_range_edges_have_finite_grads(mix, depth_ms, delay_ms):
    for x in (torch.zeros(2, 1, 256, dtype=F64), audio(samples=256)):
        x = x.clone().requires_grad_()
        params = [leaf(2.0, 3.0), leaf(depth_ms, depth_ms), leaf(delay_ms, delay_ms),
                  leaf(mix, mix)]
        y = chorus(x, SR, *params)
        (y.square().sum() + y.sum()).backward()
        assert torch.isfinite(y).all() and torch.isfinite(x.grad).all()
        assert all(torch.isfinite(p.grad).all() for p in params)


def test_chorus_mix_edges():
    x = audio()
    assert torch.equal(chorus(x, SR, mix=0.0, delay_ms=2.0), x)
    wet = chorus(x, SR, depth_ms=0.0, delay_ms=1.0, mix=1.0)  # 8 samples
    assert torch.allclose(wet[..., 8:], x[..., :-8], atol=1e-12)


# --- batching, dtype, device -------------------------------------------------------------------

def test_batched_calls_equal_single_item_calls():
    x = audio(batch=3, samples=500)
    rate, depth, phase = torch.tensor([2.0, 5.0, 9.0]), torch.tensor([0.2, 0.5, 1.0]), \
        torch.tensor([0.0, 1.0, 2.0])
    yt = tremolo(x, SR, rate, depth, shape="triangle", phase=phase)
    c = dict(rate_hz=torch.tensor([0.5, 3.0, 7.0]), depth_ms=torch.tensor([0.0, 1.0, 2.0]),
             delay_ms=torch.tensor([1.0, 2.0, 3.0]), mix=torch.tensor([0.2, 0.5, 1.0]))
    yc = chorus(x, SR, **c)
    for b in range(3):
        single_t = tremolo(x[b:b + 1], SR, float(rate[b]), float(depth[b]), shape="triangle",
                           phase=float(phase[b]))
        single_c = chorus(x[b:b + 1], SR, **{k: float(v[b]) for k, v in c.items()})
        assert torch.allclose(yt[b:b + 1], single_t, atol=1e-12, rtol=0)
        assert torch.allclose(yc[b:b + 1], single_c, atol=1e-12, rtol=0)


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtype_and_device_preserved(device, dtype):
    x = audio(dtype=dtype).to(device)
    outs = [tremolo(x, SR, 5.0, 0.5), chorus(x, SR), fractional_delay(x, 2.5),
            Tremolo(SR)(x, torch.full((2, 2), 0.5, device=device)),
            Chorus(SR)(x, torch.full((2, 4), 0.5, device=device)),
            Gain(SR)(x, torch.full((2, 1), 0.5, device=device))]
    for y in outs:
        assert y.dtype == dtype and y.device.type == device and y.shape == x.shape


def test_float32_long_signal_matches_float64():
    """In float32 the LFO's phase ``rate·t`` (in cycles) is rounded by up to ``2·rate·T + 1``
    eps after ``T`` seconds. The chorus turns a phase error into a delay error ``2π·depth`` times
    as large (in samples), and that into an output error up to ``mix`` times the largest step
    between samples; the triangle tremolo's gain moves ``2·depth`` times the phase error."""
    sr, seconds = 44100.0, 4
    x = audio(batch=1, channels=1, samples=int(sr) * seconds, dtype=F64)
    largest_step = (x[..., 1:] - x[..., :-1]).abs().max()
    rate, depth_ms, mix = 1.3, 3.0, 0.5
    y64 = chorus(x, sr, rate, depth_ms, 12.0, mix)
    y32 = chorus(x.float(), sr, rate, depth_ms, 12.0, mix)
    delay_per_cycle = 2 * math.pi * depth_ms * 1e-3 * sr
    assert (y32.double() - y64).abs().max() <= rounding_tol(
        mix * largest_step * delay_per_cycle, ops=2 * rate * seconds + 1)
    rate, depth = 17.0, 0.9
    t64 = tremolo(x, sr, rate, depth, shape="triangle")
    t32 = tremolo(x.float(), sr, rate, depth, shape="triangle")
    assert (t32.double() - t64).abs().max() <= rounding_tol(
        2 * depth * x.abs().max(), ops=2 * rate * seconds + 1)


# --- validation --------------------------------------------------------------------------------

BAD_CALLS = [
    (lambda x: tremolo(x.clone().fill_(float("nan")), SR, 5.0, 0.5), "x contains NaN"),
    (lambda x: tremolo(x[0], SR, 5.0, 0.5), r"x must have shape \(batch, channels, samples\)"),
    (lambda x: tremolo(x, SR, 5.0, 1.5), r"depth must lie in \[0, 1\]"),
    (lambda x: tremolo(x, SR, 5.0, -0.1), r"depth must lie in \[0, 1\]"),
    (lambda x: tremolo(x, SR, SR / 2, 0.5), "rate_hz must lie in"),
    (lambda x: tremolo(x, SR, 0.0, 0.5), "rate_hz must lie in"),
    (lambda x: tremolo(x, 0.0, 5.0, 0.5), "sample_rate must be a positive number"),
    (lambda x: tremolo(x, SR, torch.ones(3), 0.5), "rate_hz has batch size 3"),
    (lambda x: tremolo(x, SR, 5.0, 0.5, shape="saw"), "shape must be one of"),
    (lambda x: chorus(x.clone().fill_(float("inf")), SR), "x contains NaN or Inf"),
    (lambda x: chorus(x[None], SR), r"x must have shape \(batch, channels, samples\)"),
    (lambda x: chorus(x, SR, depth_ms=3.0, delay_ms=2.0), "depth_ms must not exceed delay_ms"),
    (lambda x: chorus(x, SR, mix=1.2), r"mix must lie in \[0, 1\]"),
    (lambda x: chorus(x, SR, rate_hz=5000.0), "rate_hz must lie in"),
    (lambda x: chorus(x, -1.0), "sample_rate must be a positive number"),
    (lambda x: chorus(x, SR, mix=torch.ones(5) * 0.5), "mix has batch size 5"),
    (lambda x: chorus(x, SR, delay_ms=float("nan")), "delay_ms contains NaN"),
    (lambda x: fractional_delay(x, -1.0), "delay_samples must lie in"),
    (lambda x: fractional_delay(x, torch.ones(2, 7)), r"delay_samples must have shape"),
    (lambda x: fractional_delay(x, torch.ones(4)), "delay_samples has batch size 4"),
]


@pytest.mark.parametrize("call,match", BAD_CALLS)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call(audio())


# --- effects -----------------------------------------------------------------------------------

def test_effect_param_spaces():
    t, c, g = Tremolo(), Chorus(), Gain()
    assert t.param_space.names == ["rate_hz", "depth"]
    assert c.param_space.names == ["rate_hz", "depth_ms", "delay_ms", "mix"]
    assert g.param_space.names == ["gain_db"]
    rows = {(e, s.name): (s.min, s.max, s.scale, s.default_value)
            for e, m in (("t", t), ("c", c), ("g", g)) for s in m.param_space}
    assert rows == {("t", "rate_hz"): (0.5, 20.0, "log", 5.0),
                    ("t", "depth"): (0.0, 1.0, "lin", 0.5),
                    ("c", "rate_hz"): (0.1, 5.0, "log", 1.0),
                    ("c", "depth_ms"): (0.0, 5.0, "lin", 2.0),
                    ("c", "delay_ms"): (5.0, 30.0, "lin", 10.0),
                    ("c", "mix"): (0.0, 1.0, "lin", 0.5),
                    ("g", "gain_db"): (-24.0, 24.0, "lin", 0.0)}
    assert t.sample_rate == 44100.0 and Chorus(sample_rate=16000).sample_rate == 16000.0


def test_effects_match_functional_calls():
    x = audio(samples=2000)
    t = Tremolo(SR, shape="triangle")
    assert torch.allclose(t.process(x), tremolo(x, SR, 5.0, 0.5, shape="triangle"), atol=1e-12)
    c = Chorus(SR)
    assert torch.allclose(c.process(x, {"mix": 1.0}), chorus(x, SR, 1.0, 2.0, 10.0, 1.0),
                          atol=1e-12)
    q = torch.tensor([[0.0, 1.0, 0.0, 0.25], [1.0, 0.0, 1.0, 1.0]], dtype=F64)
    expected = chorus(x, SR, leaf(0.1, 5.0), leaf(5.0, 0.0), leaf(5.0, 30.0), leaf(0.25, 1.0))
    assert torch.allclose(c(x, q), expected, atol=1e-12)


def test_gain_effect():
    x = audio()
    g = Gain(SR)
    assert torch.allclose(g.process(x, {"gain_db": 20 * math.log10(2)}), 2 * x, atol=1e-12)
    assert torch.equal(g.process(x), x)
    y = g(x, torch.tensor([[0.0], [1.0]], dtype=F64))  # -24 dB and +24 dB
    assert torch.allclose(y[0], x[0] * 10 ** (-24 / 20)) and torch.allclose(y[1],
                                                                             x[1] * 10 ** 1.2)


@pytest.mark.parametrize("effect", [Tremolo(SR, "square"), Chorus(SR), Gain(SR)])
def test_effect_gradient_wrt_normalised_controls_at_range_edges(effect):
    x = audio(samples=512)
    for value in (0.0, 1.0):
        q = torch.full((2, effect.num_params), value, dtype=F64, requires_grad=True)
        y = effect(x, q)
        y.square().sum().backward()
        assert torch.isfinite(y).all() and torch.isfinite(q.grad).all()


def test_effect_rejects_out_of_range_parameters():
    with pytest.raises(ValueError, match="depth"):
        Tremolo(SR).process(audio(), {"depth": 2.0})
    with pytest.raises(ValueError, match="delay_ms"):
        Chorus(SR).process(audio(), {"delay_ms": 40.0})
    with pytest.raises(ValueError, match="shape must be one of"):
        Tremolo(SR, shape="ramp")
