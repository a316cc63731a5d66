"""Distortion effects: parameter spaces, defaults, agreement with the functional layer, errors."""

from functools import partial

import pytest
import torch
from _signals import randn_audio, seeded
from _tolerances import (
    SOX_OVERDRIVE_OPS,
    assert_items_match_single_calls,
    assert_within_rounding,
    rounding_tol,
)
from torch.autograd import gradcheck

from dasp_blind.effects.chain import Chain
from dasp_blind.effects.nonlinear import (
    ChebyshevClipper,
    HardClip,
    ParametricClipper,
    SoftClip,
    SoxOverdrive,
    TaylorClipper,
)
from dasp_blind.functional.nonlinear import (
    chebyshev,
    hard_clip,
    parametric_clipper,
    soft_clip,
    sox_overdrive,
    taylor,
)

FS = 44100.0
F64 = torch.float64
EFFECTS = [ParametricClipper, TaylorClipper, ChebyshevClipper, HardClip, SoftClip, SoxOverdrive]
#: Roundings per output sample of each effect, relative to the output's peak: the clipper blends
#: tanh and a cubic and divides by the drive; the polynomials remove the mean, then evaluate 24
#: degrees (a product and a sum each).
GROWTH = {
    ParametricClipper: dict(ops=8),
    TaylorClipper: dict(ops=48, sum_size=1024),
    ChebyshevClipper: dict(ops=48, sum_size=1024),
    HardClip: dict(ops=2),
    SoftClip: dict(ops=4),
    SoxOverdrive: dict(ops=SOX_OVERDRIVE_OPS),
}
#: The defaults' round trip through q moves a parameter by about eps of its range; the most
#: sensitive, a drive in dB (range at most 60 dB), moves the gain by ln10/20 · 60 ≈ 7 eps.
ROUND_TRIP_OPS = 8

audio = partial(randn_audio, scale=0.5)


def test_parameter_spaces_follow_reference():
    clip = ParametricClipper(FS)
    assert clip.param_space.names == ["drive_db", "offset", "hardness"]
    ranges = [(s.min, s.max, s.scale) for s in clip.param_space]
    assert ranges == [(-10.0, 20.0, "lin"), (0.0, 1.0, "lin"), (0.0, 2.0, "lin")]
    taylor_fx, cheb_fx = TaylorClipper(FS), ChebyshevClipper(FS)
    assert taylor_fx.param_space.names == [f"c{k}" for k in range(1, 25)]
    assert cheb_fx.param_space.names == [f"c{k}" for k in range(24)]
    for fx in (taylor_fx, cheb_fx):
        assert all((s.min, s.max, s.scale) == (-1.0, 1.0, "lin") for s in fx.param_space)
        assert [s.default_value for s in fx.param_space].count(1.0) == 1
        assert fx.param_space["c1"].default_value == 1.0
    assert (HardClip().param_space["gain_db"].min, HardClip().param_space["gain_db"].max) == (0, 50)
    assert HardClip().param_space["gain_db"].default_value == 20.0
    assert SoftClip().param_space["gain_db"].max == 40.0
    assert SoftClip().param_space["gain_db"].default_value == 12.0
    sox = SoxOverdrive()
    assert sox.param_space.names == ["gain_db", "colour"]
    assert [(s.min, s.max, s.default_value) for s in sox.param_space] == [(0, 60, 20), (0, 100, 20)]
    assert [fx().num_params for fx in EFFECTS] == [3, 24, 24, 1, 1, 2]


@pytest.mark.parametrize("effect_cls", EFFECTS)
def test_forward_with_default_q_equals_process_defaults(effect_cls):
    fx = effect_cls(FS)
    x = audio()
    y_forward, y_process = fx(x, fx.param_space.default(2)), fx.process(x, {})
    assert y_forward.shape == x.shape and y_forward.dtype == x.dtype
    assert not torch.equal(y_process, torch.zeros_like(x))
    x64 = x.double()  # the values in float64, where only the round trip's rounding is left
    assert_within_rounding(fx(x64, fx.param_space.default(2, dtype=F64)), fx.process(x64, {}),
                           dtype=F64, ops=ROUND_TRIP_OPS)


@pytest.mark.parametrize("effect_cls", [TaylorClipper, ChebyshevClipper])
def test_polynomial_defaults_are_identity_on_zero_mean_input(effect_cls):
    x = audio(dtype=F64)
    x = x - x.mean(dim=-1, keepdim=True)
    x = x / x.abs().amax()  # inside the shapers' domain [-1, 1]
    assert torch.allclose(effect_cls(FS).process(x, {}), x, atol=1e-12)


@pytest.mark.parametrize("effect_cls", [TaylorClipper, ChebyshevClipper])
def test_polynomial_effects_remove_dc_per_item_and_channel(effect_cls):
    fx = effect_cls(FS)
    x = audio(batch=3, dtype=F64, scale=0.3)
    offsets = torch.tensor([[0.2, -0.4], [0.0, 0.1], [0.5, 0.3]], dtype=F64).unsqueeze(-1)
    q = fx.param_space.sample(3, generator=seeded(1), dtype=F64)
    assert torch.allclose(fx(x + offsets, q), fx(x - x.mean(-1, keepdim=True), q), atol=1e-10)
    constant = torch.full((1, 1, 64), 0.7, dtype=F64)
    assert torch.allclose(TaylorClipper(FS).process(constant, {"c2": 0.5}),
                          torch.zeros_like(constant), atol=1e-12)


def test_effects_match_functional_calls():
    x = audio(dtype=F64)
    p = {"drive_db": torch.tensor([3.0, 15.0], dtype=F64), "offset": 0.4,
         "hardness": torch.tensor([0.3, 1.8], dtype=F64)}
    assert torch.equal(ParametricClipper(FS).process(x, p),
                       parametric_clipper(x, p["drive_db"], 0.4, p["hardness"]))
    assert torch.equal(HardClip(FS, threshold=0.3).process(x, {"gain_db": 10.0}),
                       hard_clip(x, 10.0, 0.3))
    assert torch.equal(SoftClip(FS, threshold=0.6).process(x, {"gain_db": 25.0}),
                       soft_clip(x, 25.0, 0.6))
    assert torch.equal(SoxOverdrive(FS).process(x, {"gain_db": 35.0, "colour": 70.0}),
                       sox_overdrive(x, 35.0, 70.0))
    centred = x - x.mean(-1, keepdim=True)
    coeffs = torch.linspace(-1, 1, 24, dtype=F64).reshape(1, 24).expand(2, 24)
    taylor_params = {f"c{k + 1}": coeffs[:, k] for k in range(24)}
    cheb_params = {f"c{k}": coeffs[:, k] for k in range(24)}
    assert torch.allclose(TaylorClipper(FS).process(x, taylor_params), taylor(centred, coeffs))
    assert torch.allclose(ChebyshevClipper(FS).process(x, cheb_params),
                          chebyshev(centred, coeffs))


def test_hard_clip_threshold_argument():
    x = audio(scale=1.0)
    y = HardClip(FS, threshold=0.25).process(x, {"gain_db": 30.0})
    assert abs(y.abs().max().item() - 0.25) <= rounding_tol(0.25)
    assert "threshold=0.25" in repr(HardClip(FS, threshold=0.25))
    for bad in (0.0, -1.0, float("nan"), "loud"):
        with pytest.raises(ValueError, match="threshold must be a positive number"):
            HardClip(FS, threshold=bad)
    with pytest.raises(ValueError, match="threshold must be a positive number"):
        SoftClip(FS, threshold=0.0)


def test_sox_overdrive_q_zero_is_bypass():
    fx = SoxOverdrive(FS)
    x = audio(scale=0.3)
    q = torch.tensor([[0.0, 0.5], [0.5, 0.5]])
    y = fx(x, q)
    assert torch.equal(y[0], x[0])
    assert (y[1] - x[1]).abs().max() > 0.05


@pytest.mark.parametrize("effect_cls", EFFECTS)
@pytest.mark.parametrize("q_value", [0.0, 1.0])
@pytest.mark.parametrize("silent", [False, True])
def test_range_edges_finite_outputs_and_gradients(effect_cls, q_value, silent):
    fx = effect_cls(FS)
    x = torch.zeros(2, 1, 256, dtype=F64) if silent else audio(channels=1, samples=256, dtype=F64)
    x.requires_grad_(True)
    q = torch.full((2, fx.num_params), q_value, dtype=F64, requires_grad=True)
    y = fx(x, q)
    y.square().sum().backward()
    assert bool(torch.isfinite(y).all())
    assert bool(torch.isfinite(x.grad).all()) and bool(torch.isfinite(q.grad).all())


@pytest.mark.parametrize("effect_cls", EFFECTS)
def test_batch_items_match_single_calls_and_dtypes(effect_cls):
    fx = effect_cls(FS)
    for dtype in (torch.float32, F64):
        x = audio(batch=3, dtype=dtype, scale=0.3)
        q = fx.param_space.sample(3, generator=seeded(2), dtype=dtype)
        y = assert_items_match_single_calls(fx, x, q, **GROWTH[effect_cls])
        assert y.dtype == dtype and y.device == x.device and y.shape == x.shape


def test_gradcheck_parametric_clipper_effect_wrt_q():
    fx = ParametricClipper(FS)
    x = audio(channels=1, samples=128, dtype=F64, scale=0.2).requires_grad_(True)
    # drive −1 / 5 dB, offset 0.2 / 0.1, hardness 0.5 / 1.5 (away from the blend's joint at 1)
    q = torch.tensor([[0.3, 0.2, 0.25], [0.5, 0.1, 0.75]], dtype=F64, requires_grad=True)
    u = (10 ** ((q[:, 0].detach() * 30 - 10) / 20)).reshape(-1, 1, 1) * x.detach() \
        + q[:, 1].detach().reshape(-1, 1, 1)
    assert ((u.abs() - 1).abs().min()) > 1e-3  # no sample at the hard clip's kink
    assert gradcheck(fx, (x, q))


def test_gradcheck_sox_overdrive_effect_wrt_q():
    fx = SoxOverdrive(FS)
    x = audio(channels=1, samples=128, dtype=F64, scale=0.2).requires_grad_(True)
    q = torch.tensor([[0.1, 0.2], [0.2, 0.7]], dtype=F64, requires_grad=True)
    assert fx(x, q).abs().max() < 0.99
    assert gradcheck(fx, (x, q))


def test_chain_with_clipper_peak_normalises_input():
    chain = Chain({"clip": ParametricClipper(FS)}, normalize="peak")
    assert chain.param_space.names == ["clip.drive_db", "clip.offset", "clip.hardness"]
    x = audio(dtype=F64) * 7.0 + 0.3
    y = chain.process(x, {"clip.drive_db": 0.0, "clip.offset": 0.0, "clip.hardness": 2.0})
    centred = x - x.mean(dim=(1, 2), keepdim=True)
    expected = centred / centred.abs().amax(dim=(1, 2), keepdim=True)
    assert torch.allclose(y, expected, atol=1e-6)  # hard clip of a peak-1 signal is a no-op


@pytest.mark.parametrize("params,match", [
    ({"hardness": 3.0}, "'hardness' must lie in"),
    ({"offset": -1.0}, "'offset' must lie in"),
    ({"drive_db": 25.0}, "'drive_db' must lie in"),
    ({"hardness": torch.tensor([1.0, 1.0, 1.0])}, "hardness has batch size 3"),
    ({"hardness": float("nan")}, "hardness contains NaN"),
    ({"gain": 3.0}, "unknown parameter name"),
])
def test_parametric_clipper_process_rejects_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        ParametricClipper(FS).process(audio(), params)


@pytest.mark.parametrize("effect_cls", EFFECTS)
def test_bad_audio_and_q_raise(effect_cls):
    fx = effect_cls(FS)
    x = audio()
    q = fx.param_space.default(2)
    with pytest.raises(ValueError, match=r"q must lie in \[0, 1\]"):
        fx(x, q + 1.5)
    with pytest.raises(ValueError, match=r"q must lie in \[0, 1\]"):
        fx(x, q - 1.5)
    with pytest.raises(ValueError, match=rf"q must have shape \(batch, {fx.num_params}\)"):
        fx(x, q[:, :-1] if fx.num_params > 1 else q.reshape(-1))
    with pytest.raises(ValueError, match="q has batch size 3 but x has batch size 2"):
        fx(x, fx.param_space.default(3))
    bad = x.clone()
    bad[1, 0, 5] = float("nan")
    with pytest.raises(ValueError, match="x contains NaN or Inf"):
        fx(bad, q)
    bad[1, 0, 5] = float("inf")
    with pytest.raises(ValueError, match="x contains NaN or Inf"):
        fx.process(bad, {})
    with pytest.raises(ValueError, match=r"x must have shape \(batch, channels, samples\)"):
        fx.process(x[0], {})
    with pytest.raises(ValueError, match="unknown parameter name"):
        fx.process(x, {"no_such_param": 0.0})


@pytest.mark.parametrize("effect_cls,name,value", [
    (TaylorClipper, "c3", 1.5), (ChebyshevClipper, "c0", -2.0), (HardClip, "gain_db", 51.0),
    (SoftClip, "gain_db", -1.0), (SoxOverdrive, "gain_db", 61.0), (SoxOverdrive, "colour", 101.0),
])
def test_process_rejects_out_of_range_values(effect_cls, name, value):
    with pytest.raises(ValueError, match=f"'{name}' must lie in"):
        effect_cls(FS).process(audio(), {name: value})


def test_process_accepts_range_edges_within_float32_slack():
    x = audio()
    y = ParametricClipper(FS).process(x, {"hardness": 2.0 + 1e-6, "offset": 1.0 + 1e-6})
    # clamped to the range: the very parameters, the very output
    assert torch.equal(y, ParametricClipper(FS).process(x, {"hardness": 2.0, "offset": 1.0}))
    y = SoxOverdrive(FS).process(x, {"colour": 100.0 + 1e-4})
    assert torch.equal(y, SoxOverdrive(FS).process(x, {"colour": 100.0}))
