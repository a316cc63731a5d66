"""Functional nonlinearities: gradients, edge cases, and parity with independent references
(numpy re-implementations, numpy.polynomial, and the ``sox`` program)."""

import shutil
import subprocess
from functools import partial

import _signals
import numpy as np
import numpy.polynomial.chebyshev as npcheb
import numpy.polynomial.polynomial as nppoly
import pytest
import soundfile as sf
import torch
from _tolerances import SOX_OVERDRIVE_OPS, assert_within_rounding, rounding_tol
from torch.autograd import gradcheck

from dasp_blind.functional.nonlinear import (
    chebyshev,
    clip_threshold_for_sdr,
    clip_to_sdr,
    hard_clip,
    parametric_clipper,
    soft_clip,
    sox_overdrive,
    taylor,
)

FS = 44100
F64 = torch.float64
randn = partial(_signals.randn, dtype=F64)  # float64 unless a test says otherwise


def push_away(u, level, margin):
    """Move every entry of ``u`` with ``||u| − level| < margin`` to ``|u| = level ± margin``
    (whichever side it was on), so that finite differences do not straddle a kink."""
    mag = u.abs()
    near = (mag - level).abs() < margin
    target = torch.where(mag >= level, level + margin, level - margin)
    return torch.where(near, torch.sign(u) * target, u)


def sdr_db_np(x, y):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return 20 * np.log10(np.linalg.norm(x) / np.linalg.norm(x - y))


def grads_finite(fn, x, params):
    """Run ``fn(x, *params)`` and backward; return (output finite, all gradients finite)."""
    x = x.clone().requires_grad_(True)
    params = [p.clone().requires_grad_(True) for p in params]
    y = fn(x, *params)
    (y * torch.linspace(-1, 1, y.shape[-1], dtype=y.dtype)).sum().backward()
    grads = [x.grad] + [p.grad for p in params]
    return bool(torch.isfinite(y).all()), all(g is not None and bool(torch.isfinite(g).all())
                                              for g in grads)


# --- hard / soft clip ------------------------------------------------------------------------

def test_hard_clip_values():
    x = torch.tensor([[[-0.5, -0.05, 0.0, 0.02, 0.3]]], dtype=F64)
    y = hard_clip(x, 20.0, threshold=0.5)
    assert torch.allclose(y, torch.tensor([[[-0.5, -0.5, 0.0, 0.2, 0.5]]], dtype=F64))


def test_hard_clip_per_item_threshold():
    x = randn(2, 2, 500)
    y = hard_clip(x, 6.0, threshold=torch.tensor([0.3, 0.7], dtype=F64))
    assert y[0].abs().max().item() == pytest.approx(0.3)
    assert y[1].abs().max().item() == pytest.approx(0.7)
    g = 10 ** (6 / 20)
    unclipped = (g * x[1]).abs() < 0.7
    assert torch.allclose(y[1][unclipped], g * x[1][unclipped])


def test_gradcheck_hard_clip():
    gain = torch.tensor([6.0, -3.0], dtype=F64, requires_grad=True)
    theta = torch.tensor([0.8, 0.4], dtype=F64, requires_grad=True)
    g = (10 ** (gain.detach() / 20)).reshape(-1, 1, 1)
    u = push_away(randn(2, 1, 256, scale=0.6) * g, theta.detach().reshape(-1, 1, 1), 2e-3)
    x = (u / g).requires_grad_(True)
    assert ((g * x.detach()).abs() - theta.detach().reshape(-1, 1, 1)).abs().min() > 1e-3
    assert gradcheck(hard_clip, (x, gain, theta))


def test_soft_clip_bounded_and_small_signal_gain():
    x = randn(1, 1, 2000)
    y = soft_clip(x, 30.0, threshold=0.5)
    assert y.abs().max() <= 0.5 and (y.abs() > 0.499).float().mean() > 0.5
    tiny = torch.full((1, 1, 4), 1e-6, dtype=F64)
    assert torch.allclose(soft_clip(tiny, 12.0), tiny * 10 ** (12 / 20), rtol=1e-9)


def test_gradcheck_soft_clip():
    x = randn(2, 1, 256, scale=0.5).requires_grad_(True)
    gain = torch.tensor([3.0, 15.0], dtype=F64, requires_grad=True)
    theta = torch.tensor([1.0, 0.3], dtype=F64, requires_grad=True)
    assert gradcheck(soft_clip, (x, gain, theta))


# --- clip to SDR ----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_clip_to_sdr_reaches_targets(dtype):
    targets = [1.0, 3.0, 5.0, 10.0, 20.0]
    x = randn(5, 2, 8000, seed=3, dtype=dtype, scale=0.3)
    y = clip_to_sdr(x, torch.tensor(targets, dtype=dtype))
    assert y.dtype == dtype and y.shape == x.shape
    theta = clip_threshold_for_sdr(x, torch.tensor(targets))
    for i, target in enumerate(targets):
        assert abs(sdr_db_np(x[i], y[i]) - target) < 0.01
        assert abs(y[i].abs().max().item() - theta[i].item()) <= rounding_tol(
            theta[i], dtype=dtype)
        assert 0 < theta[i].item() < x[i].abs().max().item()


def test_clip_to_sdr_float_target_and_silent_item():
    x = randn(3, 1, 4000, seed=4, scale=0.5)
    x[1] = 0.0
    y = clip_to_sdr(x, 7.0)
    assert torch.equal(y[1], x[1])
    assert clip_threshold_for_sdr(x, 7.0)[1].item() == 0.0
    assert abs(sdr_db_np(x[0], y[0]) - 7.0) < 0.01
    assert abs(sdr_db_np(x[2], y[2]) - 7.0) < 0.01


def test_clip_to_sdr_silence_finite_gradients():
    finite_out, finite_grad = grads_finite(clip_to_sdr, torch.zeros(2, 1, 64, dtype=F64),
                                           [torch.tensor([3.0, 30.0], dtype=F64)])
    assert finite_out and finite_grad


@pytest.mark.parametrize("sdr", [0.01, 1.0, 60.0])
def test_clip_to_sdr_extreme_targets_finite_gradients(sdr):
    x = randn(2, 1, 256, seed=5)
    assert grads_finite(clip_to_sdr, x, [torch.tensor([sdr, sdr], dtype=F64)]) == (True, True)


def test_gradcheck_clip_to_sdr():
    x = randn(2, 1, 128, seed=10, scale=0.5)
    sdr = torch.tensor([3.0, 12.0], dtype=F64, requires_grad=True)
    theta = clip_threshold_for_sdr(x, sdr.detach()).reshape(-1, 1, 1)
    assert ((x.abs() - theta).abs().min()) > 1e-3  # no sample sits on the kink
    x.requires_grad_(True)
    assert gradcheck(clip_to_sdr, (x, sdr))
    assert gradcheck(clip_threshold_for_sdr, (x, sdr))


def test_clip_threshold_gradient_direction():
    x = randn(1, 1, 1000, seed=7)
    sdr = torch.tensor([10.0], dtype=F64, requires_grad=True)
    clip_threshold_for_sdr(x, sdr).sum().backward()
    assert sdr.grad.item() > 0  # a higher SDR needs a higher threshold


# --- parametric clipper ---------------------------------------------------------------------

def parametric_clipper_np(x, drive_db, offset, hardness):
    """Independent numpy transcription of the BE-AFX formulas (reference §1.8)."""
    g = 10.0 ** (drive_db / 20.0)

    def cubic(u):
        out = np.sign(u)
        small = np.abs(u) < 1.5
        out[small] = u[small] - (4.0 / 27.0) * u[small] ** 3
        return out

    def hard(u):
        return (np.abs(u + 1) - np.abs(u - 1)) / 2

    def compensated(f):
        return (f(g * x + offset) - f(np.array([offset], dtype=np.float64))) / g

    t, c, h = compensated(np.tanh), compensated(cubic), compensated(hard)
    if hardness < 1:
        return (1 - hardness) * t + hardness * c
    return (2 - hardness) * c + (hardness - 1) * h


@pytest.mark.parametrize("drive_db,offset,hardness", [
    (0.0, 0.0, 0.0), (6.0, 0.3, 0.4), (20.0, 1.0, 1.0), (-10.0, 0.5, 1.7), (12.0, 0.0, 2.0)])
def test_parametric_clipper_matches_numpy(drive_db, offset, hardness):
    x = randn(1, 2, 3000, seed=8)
    y = parametric_clipper(x, drive_db, offset, hardness)
    ref = parametric_clipper_np(x.numpy(), drive_db, offset, hardness)
    assert np.abs(y.numpy() - ref).max() < 1e-12


def test_parametric_clipper_hardness_two_is_scaled_hard_clip():
    x = randn(2, 1, 1000, seed=9)
    drive = torch.tensor([6.0, 15.0], dtype=F64)
    g = (10 ** (drive / 20)).reshape(-1, 1, 1)
    y = parametric_clipper(x, drive, 0.0, 2.0)
    assert torch.allclose(y, hard_clip(x, drive) / g, atol=1e-12)
    y0 = parametric_clipper(x, drive, 0.0, 0.0)
    assert torch.allclose(y0, torch.tanh(g * x) / g, atol=1e-12)


def test_parametric_clipper_small_signals_pass_and_blend_continuous():
    tiny = randn(1, 1, 100, seed=10, scale=1e-7)
    for h in (0.0, 0.5, 1.0, 1.5, 2.0):
        assert torch.allclose(parametric_clipper(tiny, 10.0, 0.0, h), tiny, rtol=1e-6, atol=0)
    x = randn(1, 1, 500, seed=11)
    below = parametric_clipper(x, 10.0, 0.2, 1.0 - 1e-9)
    at = parametric_clipper(x, 10.0, 0.2, 1.0)
    assert (below - at).abs().max() < 1e-7
    assert torch.equal(parametric_clipper(torch.zeros(1, 1, 8, dtype=F64), 10.0, 0.7, 1.3),
                       torch.zeros(1, 1, 8, dtype=F64))


def test_gradcheck_parametric_clipper():
    drive = torch.tensor([6.0, 3.0], dtype=F64, requires_grad=True)
    offset = torch.tensor([0.2, 0.4], dtype=F64, requires_grad=True)
    hardness = torch.tensor([0.5, 1.5], dtype=F64, requires_grad=True)
    g = (10 ** (drive.detach() / 20)).reshape(-1, 1, 1)
    o = offset.detach().reshape(-1, 1, 1)
    u = randn(2, 1, 256, seed=12, scale=1.2) + o
    u = push_away(push_away(u, 1.0, 3e-3), 1.5, 3e-3)  # hard-clip kink and cubic joint
    x = ((u - o) / g).requires_grad_(True)
    assert gradcheck(parametric_clipper, (x, drive, offset, hardness))


@pytest.mark.parametrize("hardness", [0.0, 1.0, 2.0])
@pytest.mark.parametrize("offset", [0.0, 1.0])
@pytest.mark.parametrize("drive_db", [-10.0, 20.0])
def test_parametric_clipper_edges_finite(drive_db, offset, hardness):
    params = [torch.tensor([drive_db] * 2, dtype=F64), torch.tensor([offset] * 2, dtype=F64),
              torch.tensor([hardness] * 2, dtype=F64)]
    for x in (torch.zeros(2, 1, 64, dtype=F64), randn(2, 1, 64, seed=13)):
        assert grads_finite(parametric_clipper, x, params) == (True, True)


# --- polynomial waveshapers -----------------------------------------------------------------

def test_taylor_matches_polyval():
    x = randn(3, 2, 1000, seed=14).clamp(-1, 1)
    coeffs = randn(3, 24, seed=15, scale=0.5).clamp(-1, 1)
    y = taylor(x, coeffs)
    for i in range(3):
        ref = nppoly.polyval(x[i].numpy(), np.concatenate([[0.0], coeffs[i].numpy()]))
        assert np.abs(y[i].numpy() - ref).max() < 1e-12


def test_chebyshev_matches_chebval():
    x = randn(3, 2, 1000, seed=16).clamp(-1, 1)
    coeffs = randn(3, 24, seed=17, scale=0.5).clamp(-1, 1)
    y = chebyshev(x, coeffs)
    for i in range(3):
        ref = npcheb.chebval(x[i].numpy(), coeffs[i].numpy())
        assert np.abs(y[i].numpy() - ref).max() < 1e-12


def test_chebyshev_harmonic_of_full_scale_cosine():
    phi = torch.linspace(0, 2 * torch.pi, 512, dtype=F64)
    coeffs = torch.zeros(1, 24, dtype=F64)
    coeffs[0, 5] = 1.0
    y = chebyshev(torch.cos(phi).reshape(1, 1, -1), coeffs)
    assert torch.allclose(y[0, 0], torch.cos(5 * phi), atol=1e-12)


def test_gradcheck_taylor_and_chebyshev():
    # Inside the domain [-1, 1] (the shapers clamp there, a kink gradcheck cannot straddle).
    x = (0.99 * randn(2, 1, 128, seed=18).clamp(-1, 1)).requires_grad_(True)
    coeffs = randn(2, 24, seed=19, scale=0.3).requires_grad_(True)
    assert gradcheck(taylor, (x, coeffs))
    assert gradcheck(chebyshev, (x, coeffs))


@pytest.mark.parametrize("fn", [taylor, chebyshev])
@pytest.mark.parametrize("value", [-1.0, 1.0])
def test_polynomials_edges_finite(fn, value):
    coeffs = torch.full((2, 24), value, dtype=F64)
    for x in (torch.zeros(2, 1, 64, dtype=F64), randn(2, 1, 64, seed=20).clamp(-1, 1)):
        assert grads_finite(fn, x, [coeffs]) == (True, True)


def test_coefficients_broadcast_from_batch_one():
    x = randn(3, 1, 100, seed=21).clamp(-1, 1)
    coeffs = randn(1, 5, seed=22)
    assert torch.allclose(taylor(x, coeffs), taylor(x, coeffs.expand(3, -1)))
    assert torch.allclose(chebyshev(x, coeffs), chebyshev(x, coeffs.expand(3, -1)))


# --- SoX overdrive --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sox_binary():
    path = shutil.which("sox")
    assert path is not None, "the sox program is required (apt-get install sox)"
    return path


def _test_audio(channels, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(FS) / FS
    out = []
    for c in range(channels):
        s = (0.5 * np.sin(2 * np.pi * (110 + 55 * c) * t) + 0.3 * np.sin(2 * np.pi * 1375 * t + c)
             + 0.1 * rng.standard_normal(FS))
        out.append(0.9 * s / np.abs(s).max())
    return np.stack(out, axis=1).astype(np.float32)  # (samples, channels)


def _run_sox(sox, tmp_path, audio, gain, colour):
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(src, audio, FS, subtype="FLOAT")
    result = subprocess.run([sox, str(src), "-e", "floating-point", "-b", "32", str(dst),
                             "overdrive", str(gain), str(colour)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    ref, rate = sf.read(dst, dtype="float64", always_2d=True)
    written, _ = sf.read(src, dtype="float32", always_2d=True)
    assert rate == FS and ref.shape == audio.shape
    return written, ref


@pytest.mark.parametrize("gain,colour", [(20, 20), (40, 0), (10, 100), (50, 50), (0, 20)])
def test_sox_overdrive_matches_sox(sox_binary, tmp_path, gain, colour):
    written, ref = _run_sox(sox_binary, tmp_path, _test_audio(1, seed=23), gain, colour)
    x = torch.from_numpy(written.T.copy()).unsqueeze(0)  # (1, 1, samples) float32
    y = sox_overdrive(x, float(gain), float(colour))
    assert y.dtype == torch.float32
    assert_within_rounding(y[0].T, ref, ops=SOX_OVERDRIVE_OPS)
    if gain == 0:
        assert torch.equal(y, x)


def test_sox_overdrive_stereo_matches_sox(sox_binary, tmp_path):
    written, ref = _run_sox(sox_binary, tmp_path, _test_audio(2, seed=24), 30, 40)
    x = torch.from_numpy(written.T.copy()).unsqueeze(0)  # (1, 2, samples)
    y = sox_overdrive(x, 30.0, 40.0)
    assert_within_rounding(y[0].T, ref, ops=SOX_OVERDRIVE_OPS)
    # per-channel state: each channel alone gives the same result (both rounded in float32)
    assert_within_rounding(sox_overdrive(x[:, 1:], 30.0, 40.0)[0, 0], y[0, 1],
                           ops=2 * SOX_OVERDRIVE_OPS)


def test_sox_overdrive_bypass_per_item():
    x = randn(3, 1, 500, seed=25, dtype=torch.float32, scale=0.3)
    y = sox_overdrive(x, torch.tensor([0.0, 20.0, 0.0]), 20.0)
    assert torch.equal(y[0], x[0]) and torch.equal(y[2], x[2])
    assert not torch.allclose(y[1], x[1], atol=1e-3)


def test_gradcheck_sox_overdrive():
    x = randn(2, 1, 256, seed=26, scale=0.25)
    gain = torch.tensor([6.0, 12.0], dtype=F64, requires_grad=True)
    colour = torch.tensor([20.0, 60.0], dtype=F64, requires_grad=True)
    assert sox_overdrive(x, gain.detach(), colour.detach()).abs().max() < 0.99  # no final clamp
    x.requires_grad_(True)
    assert gradcheck(sox_overdrive, (x, gain, colour))


@pytest.mark.parametrize("gain,colour", [(0.0, 0.0), (0.0, 100.0), (100.0, 0.0), (100.0, 100.0),
                                         (20.0, 20.0)])
def test_sox_overdrive_edges_finite(gain, colour):
    params = [torch.tensor([gain] * 2, dtype=F64), torch.tensor([colour] * 2, dtype=F64)]
    for x in (torch.zeros(2, 1, 64, dtype=F64), randn(2, 1, 64, seed=27, scale=0.5)):
        assert grads_finite(sox_overdrive, x, params) == (True, True)


# --- shared behaviour: silence, batching, dtypes, errors ------------------------------------

ALL_FUNCTIONS = {
    "hard_clip": lambda x, p: hard_clip(x, p * 20, threshold=0.5 + 0.2 * p),
    "soft_clip": lambda x, p: soft_clip(x, p * 20, threshold=0.5 + 0.2 * p),
    "clip_to_sdr": lambda x, p: clip_to_sdr(x, 1 + 10 * p),
    "parametric_clipper": lambda x, p: parametric_clipper(x, 20 * p - 5, p, 2 * p),
    "taylor": lambda x, p: taylor(x, torch.stack([p, -p, 0.5 * p], dim=1)),
    "chebyshev": lambda x, p: chebyshev(x, torch.stack([0.1 * p, p, -p], dim=1)),
    "sox_overdrive": lambda x, p: sox_overdrive(x, 40 * p, 100 * p),
}


@pytest.mark.parametrize("name", list(ALL_FUNCTIONS))
def test_batch_items_match_single_item_calls(name):
    fn = ALL_FUNCTIONS[name]
    x = randn(3, 2, 300, seed=28, scale=0.4)
    p = torch.tensor([0.2, 0.5, 0.9], dtype=F64)
    y = fn(x, p)
    for i in range(3):
        assert torch.allclose(y[i:i + 1], fn(x[i:i + 1], p[i:i + 1]), atol=1e-12)


@pytest.mark.parametrize("name", list(ALL_FUNCTIONS))
@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_dtype_device_shape_preserved_and_silence_finite(name, dtype):
    fn = ALL_FUNCTIONS[name]
    p = torch.tensor([0.3, 0.8], dtype=dtype)
    for x in (randn(2, 2, 200, seed=29, dtype=dtype, scale=0.4), torch.zeros(2, 2, 200,
                                                                             dtype=dtype)):
        y = fn(x, p)
        assert y.dtype == dtype and y.device == x.device and y.shape == x.shape
        assert bool(torch.isfinite(y).all())
    assert grads_finite(lambda a, q: fn(a, q), torch.zeros(2, 2, 200, dtype=dtype),
                        [p]) == (True, True)


@pytest.mark.parametrize("name", list(ALL_FUNCTIONS))
def test_bad_audio_raises(name):
    fn = ALL_FUNCTIONS[name]
    p = torch.tensor([0.5, 0.5], dtype=F64)
    bad = randn(2, 1, 50)
    bad[0, 0, 3] = float("nan")
    with pytest.raises(ValueError, match="x contains NaN or Inf"):
        fn(bad, p)
    bad[0, 0, 3] = float("inf")
    with pytest.raises(ValueError, match="x contains NaN or Inf"):
        fn(bad, p)
    with pytest.raises(ValueError, match=r"x must have shape \(batch, channels, samples\)"):
        fn(randn(2, 50), p)


@pytest.mark.parametrize("call,match", [
    (lambda x: hard_clip(x, torch.zeros(3, dtype=F64)), "gain_db has batch size 3"),
    (lambda x: hard_clip(x, 0.0, threshold=0.0), "threshold must lie in"),
    (lambda x: soft_clip(x, 0.0, threshold=-1.0), "threshold must lie in"),
    (lambda x: clip_to_sdr(x, 0.0), "sdr_db must lie in"),
    (lambda x: clip_to_sdr(x, torch.tensor([3.0, 4.0, 5.0])), "sdr_db has batch size 3"),
    (lambda x: clip_to_sdr(x, 3.0, max_iter=0), "max_iter"),
    (lambda x: parametric_clipper(x, 0.0, 0.0, 3.0), "hardness must lie in"),
    (lambda x: parametric_clipper(x, 0.0, -1.0, 1.0), "offset must lie in"),
    (lambda x: parametric_clipper(x, float("nan"), 0.0, 1.0), "drive_db contains NaN"),
    (lambda x: parametric_clipper(x, 200.0, 0.0, 1.0), "drive_db must lie in"),
    (lambda x: parametric_clipper(x, torch.zeros(4), 0.0, 1.0), "drive_db has batch size 4"),
    (lambda x: taylor(x, torch.zeros(3, 4)), "coeffs has batch size 3"),
    (lambda x: taylor(x, torch.zeros(4)), r"coeffs must be a tensor of shape \(batch, K\)"),
    (lambda x: chebyshev(x, torch.full((2, 3), float("inf"))), "coeffs must hold finite"),
    (lambda x: sox_overdrive(x, 101.0, 20.0), "gain_db must lie in"),
    (lambda x: sox_overdrive(x, 20.0, -1.0), "colour must lie in"),
    (lambda x: sox_overdrive(x, torch.zeros(5), 20.0), "gain_db has batch size 5"),
])
def test_bad_parameters_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call(randn(2, 1, 50))
