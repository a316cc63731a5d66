"""Degradations for distortion removal against numpy formulas, the differentiable SoX overdrive
(and the ``sox`` program when it is installed), and the seeded sampler."""

from __future__ import annotations

import pickle
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf
import torch
from _signals import seeded
from _tolerances import SOX_OVERDRIVE_OPS, assert_within_rounding, rounding_tol

from dasp_blind.data.guitar import synthetic_guitar
from dasp_blind.functional import sox_overdrive
from dasp_blind.removal.degradations import (
    EVAL_SDR_DB,
    KINDS,
    PAPER_GAIN_LEVELS_DB,
    Degradation,
    clip_to_sdr,
    hard_clip,
    mix,
    overdrive,
    tanh_clip,
)

SR = 16000


def _guitar_batch(batch: int, channels: int = 1, seconds: float = 0.5) -> torch.Tensor:
    """Clean guitar at DI levels ``(batch, channels, samples)``, float32."""
    return torch.stack([synthetic_guitar(seconds, SR, seed=10 + i, channels=channels)
                        for i in range(batch)])


def _gain_tol(amplified: np.ndarray, soft: bool = False) -> float:
    """float64 rounding of ``10^(g/20)·x``: the library forms the gain as ``exp(ln10/20·g)``,
    whose relative error grows with the exponent (up to about 6 at 50 dB), on top of the
    product's; relative to the amplified signal's peak. ``soft``: ``soft_clip`` also divides
    the argument of ``tanh`` by ``θ + 1e-12`` (its epsilon), a relative change of 1e-12."""
    return rounding_tol(amplified, dtype=torch.float64, ops=8) + (
        1e-12 * np.abs(amplified).max() if soft else 0.0)


def _sdr_db(clean: np.ndarray, degraded: np.ndarray) -> np.ndarray:
    """``20·log10(‖x‖/‖x − y‖)`` per item over channels and samples."""
    x = clean.reshape(clean.shape[0], -1)
    e = x - degraded.reshape(degraded.shape[0], -1)
    return 20 * np.log10(np.linalg.norm(x, axis=1) / np.linalg.norm(e, axis=1))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_clip_to_sdr_reaches_the_grid_targets(dtype):
    x = _guitar_batch(len(EVAL_SDR_DB), channels=2).to(dtype)
    target = torch.tensor(EVAL_SDR_DB)
    y, threshold = clip_to_sdr(x, target)
    assert y.shape == x.shape and y.dtype == dtype and threshold.shape == (len(EVAL_SDR_DB),)
    xn, yn = x.double().numpy(), y.double().numpy()
    np.testing.assert_allclose(_sdr_db(xn, yn), EVAL_SDR_DB, atol=0.01)
    theta = threshold.double().numpy()[:, None, None]
    np.testing.assert_array_equal(yn, np.clip(xn, -theta, theta))
    assert (threshold < x.abs().amax(dim=(1, 2))).all()
    # an item's threshold depends on that item only
    alone, theta3 = clip_to_sdr(x[3:4], EVAL_SDR_DB[3])
    assert torch.equal(theta3, threshold[3:4]) and torch.equal(alone, y[3:4])


def test_clip_to_sdr_one_target_for_the_batch_and_silent_items():
    x = _guitar_batch(3)
    x[1] = 0.0
    y, threshold = clip_to_sdr(x, 5.0)
    assert torch.equal(y[1], x[1]) and threshold[1] == 0.0
    assert torch.isfinite(y).all() and torch.isfinite(threshold).all()
    keep = [0, 2]
    np.testing.assert_allclose(_sdr_db(x[keep].double().numpy(), y[keep].double().numpy()),
                               [5.0, 5.0], atol=0.01)


def test_hard_and_tanh_clip_follow_the_paper_formulas():
    x = _guitar_batch(3).double()
    gain = torch.tensor([20.0, 35.0, 50.0], dtype=torch.float64)
    amplified = x.numpy() * (10 ** (gain.numpy() / 20))[:, None, None]
    np.testing.assert_allclose(hard_clip(x, gain).numpy(), np.clip(amplified, -1.0, 1.0),
                               rtol=0, atol=_gain_tol(amplified))
    np.testing.assert_allclose(tanh_clip(x, gain).numpy(), np.tanh(amplified), rtol=0,
                               atol=_gain_tol(amplified, soft=True))
    y32 = hard_clip(x.float(), 27.5)
    assert y32.dtype == torch.float32
    assert_within_rounding(y32, np.clip(x.numpy() * 10 ** (27.5 / 20), -1, 1), ops=2)


def test_overdrive_is_the_sox_overdrive():
    x = _guitar_batch(3)
    gain = torch.tensor([20.0, 35.0, 50.0])
    assert torch.equal(overdrive(x, gain), sox_overdrive(x, gain, 20.0))
    assert torch.equal(overdrive(x, 42.5, 60.0), sox_overdrive(x, 42.5, 60.0))


@pytest.mark.skipif(shutil.which("sox") is None, reason="the sox program is not installed")
def test_overdrive_matches_the_sox_program(tmp_path):
    clean = synthetic_guitar(1.0, SR, seed=3)[0].numpy()
    src, dst = tmp_path / "clean.wav", tmp_path / "overdriven.wav"
    sf.write(src, clean, SR, subtype="FLOAT")
    done = subprocess.run([shutil.which("sox"), str(src), "-e", "floating-point", "-b", "32",
                           str(dst), "overdrive", "35", "20"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    reference, rate = sf.read(dst, dtype="float64")
    written, _ = sf.read(src, dtype="float32")
    assert rate == SR
    y = overdrive(torch.from_numpy(written).reshape(1, 1, -1), 35.0)
    assert_within_rounding(y[0, 0], reference, ops=SOX_OVERDRIVE_OPS)


def test_mix_is_equation_one():
    gen = seeded(0)
    clean = torch.randn(3, 2, 50, generator=gen, dtype=torch.float64)
    wet = torch.randn(3, 2, 50, generator=gen, dtype=torch.float64)
    alpha = torch.tensor([0.0, 0.3, 1.0], dtype=torch.float64)
    a = alpha.numpy()[:, None, None]
    np.testing.assert_allclose(mix(clean, wet, alpha).numpy(),
                               a * wet.numpy() + (1 - a) * clean.numpy(), rtol=0, atol=1e-15)
    assert torch.equal(mix(clean, wet, 1.0), wet) and torch.equal(mix(clean, wet, 0.0), clean)


def test_sampler_is_deterministic_for_a_generator_seed_and_pickles():
    x = _guitar_batch(4)
    for kind in KINDS:
        sampler = Degradation(kind, alpha=(0.5, 1.0))
        y, settings = sampler(x, seeded(3))
        y2, settings2 = sampler(x, seeded(3))
        assert torch.equal(y, y2) and settings.keys() == settings2.keys()
        assert all(torch.equal(settings[k], settings2[k]) for k in settings)
        y3, settings3 = sampler(x, seeded(4))
        assert not torch.equal(settings[sampler.parameter], settings3[sampler.parameter])
        copy = pickle.loads(pickle.dumps(sampler))
        assert torch.equal(copy(x, seeded(3))[0], y)


def test_sampler_output_is_the_function_with_the_drawn_settings():
    x = _guitar_batch(4).double()
    y, s = Degradation("hard_clip", gain_db=(20.0, 50.0), alpha=(0.2, 0.8))(x, seeded(5))
    gain = (10 ** (s["gain_db"].numpy() / 20))[:, None, None]
    a = s["alpha"].numpy()[:, None, None]
    xn = x.numpy()
    np.testing.assert_allclose(y.numpy(), a * np.clip(gain * xn, -1, 1) + (1 - a) * xn, rtol=0,
                               atol=_gain_tol(gain * xn))
    y, s = Degradation("clip_to_sdr", sdr_db=(1.0, 20.0))(x, seeded(6))
    np.testing.assert_allclose(_sdr_db(xn, y.numpy()), s["sdr_db"].numpy(), atol=0.01)
    theta = s["threshold"].numpy()[:, None, None]
    np.testing.assert_array_equal(y.numpy(), np.clip(xn, -theta, theta))
    y, s = Degradation("tanh")(x, seeded(7))
    gain = (10 ** (s["gain_db"].numpy() / 20))[:, None, None]
    np.testing.assert_allclose(y.numpy(), np.tanh(gain * xn), rtol=0,
                               atol=_gain_tol(gain * xn, soft=True))
    y, s = Degradation("overdrive", gain_db=(20.0, 50.0), colour=40.0)(x, seeded(8))
    assert torch.equal(y, sox_overdrive(x, s["gain_db"], 40.0))


def test_sampler_respects_ranges_and_levels():
    x = torch.zeros(2000, 1, 4)  # silence: every kind stays finite
    for kind, name, (lo, hi) in (("overdrive", "gain_db", (25.0, 40.0)),
                                 ("clip_to_sdr", "sdr_db", (3.0, 12.0))):
        y, s = Degradation(kind, gain_db=(25.0, 40.0), sdr_db=(3.0, 12.0),
                           alpha=(0.25, 0.75))(x, seeded(9))
        values = s[name].double()
        assert torch.isfinite(y).all()
        assert lo <= values.min() < lo + 0.05 * (hi - lo)
        assert hi - 0.05 * (hi - lo) < values.max() <= hi
        assert 0.25 <= s["alpha"].min() and s["alpha"].max() <= 0.75
    _, s = Degradation("hard_clip", levels=PAPER_GAIN_LEVELS_DB)(x, seeded(10))
    counts = {v: int((s["gain_db"] == v).sum()) for v in PAPER_GAIN_LEVELS_DB}
    assert sum(counts.values()) == 2000 and min(counts.values()) > 300  # about 400 each
    _, s = Degradation("clip_to_sdr", levels=EVAL_SDR_DB)(x, seeded(11))
    assert set(s["sdr_db"].tolist()) == set(EVAL_SDR_DB)
    assert (s["threshold"] == 0).all()  # silent items keep threshold 0
    assert PAPER_GAIN_LEVELS_DB == tuple(np.linspace(20.0, 50.0, 5))  # 5 uniform levels


@pytest.mark.parametrize("call,message", [
    (lambda: Degradation("clip"), "kind must be one of"),
    (lambda: Degradation("hard_clip", gain_db=(50.0, 20.0)), "gain_db must be a pair"),
    (lambda: Degradation("overdrive", gain_db=(20.0, 120.0)), "gain_db must be a pair"),
    (lambda: Degradation("clip_to_sdr", sdr_db=(0.0, 20.0)), "sdr_db must be a pair"),
    (lambda: Degradation("clip_to_sdr", sdr_db=(20.0, 1.0)), "sdr_db must be a pair"),
    (lambda: Degradation(alpha=(0.5, 1.5)), "alpha must be a pair"),
    (lambda: Degradation(gain_db=20.0), "gain_db must be a pair"),
    (lambda: Degradation(levels=()), "levels must be None or a non-empty"),
    (lambda: Degradation("clip_to_sdr", levels=(1.0, -3.0)), "levels"),
    (lambda: Degradation("overdrive", levels=(20.0, 200.0)), "levels"),
    (lambda: Degradation(colour=150.0), "colour"),
    (lambda: Degradation()(torch.zeros(1, 1, 8), 0), "generator must be a CPU"),
    (lambda: Degradation().sample(0, seeded(0)), "batch must be an integer >= 1"),
    (lambda: Degradation()(torch.zeros(1, 8), seeded(0)), "x must have shape"),
    (lambda: clip_to_sdr(torch.zeros(1, 1, 8), 0.0), "sdr_db must lie in"),
    (lambda: clip_to_sdr(torch.zeros(2, 1, 8), torch.ones(3)), "sdr_db has batch size 3"),
    (lambda: hard_clip(torch.zeros(1, 1, 8), float("nan")), "gain_db"),
    (lambda: overdrive(torch.zeros(1, 1, 8), 101.0), "gain_db must lie in"),
    (lambda: mix(torch.zeros(1, 1, 8), torch.zeros(1, 1, 8), 1.5), "alpha must lie in"),
    (lambda: mix(torch.zeros(1, 1, 8), torch.zeros(1, 1, 9), 0.5), "same shape"),
    (lambda: mix(torch.zeros(1, 1, 8), torch.zeros(1, 8), 0.5), "degraded must have shape"),
])
def test_bad_input_raises_naming_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_silence_gives_finite_output():
    silence = torch.zeros(2, 2, 64)
    for out in (overdrive(silence, 50.0), hard_clip(silence, 50.0), tanh_clip(silence, 50.0),
                clip_to_sdr(silence, 1.0)[0], mix(silence, silence, 0.5)):
        assert torch.isfinite(out).all() and out.shape == silence.shape
