"""The ideal-ratio-mask oracle: the identity when the target is the input, the mask and the
estimate against scipy.signal.stft / istft and against a plain numpy overlap-add loop (float64),
shapes for any length, the bound, silence, and argument checks."""

import numpy as np
import pytest
import scipy.signal
import torch
from _signals import seeded

from dasp_blind.metrics.sdr import sdr
from dasp_blind.removal.oracle import (
    IdealRatioMask,
    ideal_ratio_mask,
    istft,
    oracle_estimate,
    stft,
)
from tests._tolerances import assert_within_rounding, rounding_tol


def pair(length, seed, dtype=torch.float64, batch=2, channels=1):
    """Clean noise of standard deviation 0.5 and its tanh-clipped (distorted) version."""
    clean = 0.5 * torch.randn(batch, channels, length, generator=seeded(seed), dtype=dtype)
    return torch.tanh(3 * clean) / 3, clean


def numpy_oracle(y, c, n_fft, hop, mask_max):
    """Plain-loop reference for one signal: frames centred on ``k·hop``,
    ``k = 0 … ceil(L / hop)``, of the signal padded with zeros (``n_fft // 2`` before, at least
    as many after), periodic Hann window, rfft; the mask ``|C| / max(|Y|, eps)`` (clipped);
    irfft, windowed overlap-add, divided by the summed squared windows, cut to ``L``. Returns
    ``(mask (bins, frames), estimate (L,))``."""
    length, half = len(y), n_fft // 2
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    frames = 1 + -(-length // hop)
    padded_length = (frames - 1) * hop + n_fft
    yp, cp = (np.concatenate([np.zeros(half), s, np.zeros(padded_length - half - length)])
              for s in (y, c))
    out, envelope = np.zeros(padded_length), np.zeros(padded_length)
    masks = []
    for k in range(frames):
        segment = slice(k * hop, k * hop + n_fft)
        Y = np.fft.rfft(window * yp[segment])
        C = np.fft.rfft(window * cp[segment])
        mask = np.abs(C) / np.maximum(np.abs(Y), np.finfo(np.float64).eps)
        if mask_max is not None:
            mask = np.minimum(mask, mask_max)
        masks.append(mask)
        out[segment] += window * np.fft.irfft(mask * Y, n_fft)
        envelope[segment] += window**2
    kept = slice(half, half + length)
    return np.stack(masks, axis=1), out[kept] / envelope[kept]


@pytest.mark.parametrize("length", [1, 37, 1000, 16000 + 7])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_clean_equal_to_degraded_gives_the_input(length, dtype):
    x = torch.randn(2, 1, length, generator=seeded(length), dtype=dtype)
    for mask_max in (None, 1.0):
        y = oracle_estimate(x, x.clone(), mask_max=mask_max)
        assert y.shape == x.shape
        # mask |Y|/|Y| = 1 within an ulp, STFT + inverse of 1024 points
        assert_within_rounding(y, x, dtype=dtype, ops=4, fft_size=1024)


@pytest.mark.parametrize("length", [300, 64 * 50, 3001])  # scipy needs >= n_fft
@pytest.mark.parametrize("mask_max", [None, 1.0, 2.5])
def test_against_scipy_stft_and_istft(length, mask_max):
    """scipy's zero-padded boundary and end padding to whole hops give the frames of the
    torch STFT. scipy scales its STFT by 1/Σw (the mask does not see it) and its inverse undoes
    that."""
    n_fft, hop = 256, 64
    degraded, clean = pair(length, seed=1)
    mask = ideal_ratio_mask(degraded, clean, n_fft, hop, mask_max=mask_max)
    estimate = oracle_estimate(degraded, clean, n_fft, hop, mask_max=mask_max)
    for i in range(2):
        y, c = degraded[i, 0].numpy(), clean[i, 0].numpy()
        kwargs = dict(window="hann", nperseg=n_fft, noverlap=n_fft - hop, boundary="zeros",
                      padded=True)
        _, _, Y = scipy.signal.stft(y, **kwargs)
        _, _, C = scipy.signal.stft(c, **kwargs)
        expected_mask = np.abs(C) / np.abs(Y)
        if mask_max is not None:
            expected_mask = np.minimum(expected_mask, mask_max)
        assert Y.shape == mask.shape[-2:]
        np.testing.assert_allclose(mask[i, 0].numpy(), expected_mask, rtol=1e-9)
        _, expected = scipy.signal.istft(expected_mask * Y, window="hann", nperseg=n_fft,
                                         noverlap=n_fft - hop, boundary=True)
        assert_within_rounding(estimate[i, 0], expected[:length], ops=8, fft_size=n_fft,
                               terms=n_fft // hop)


@pytest.mark.parametrize("length", [1, 37, 1001])
@pytest.mark.parametrize("mask_max", [None, 1.0])
def test_against_a_plain_numpy_loop(length, mask_max):
    n_fft, hop = 128, 32
    degraded, clean = pair(length, seed=2)
    mask = ideal_ratio_mask(degraded, clean, n_fft, hop, mask_max=mask_max)
    estimate = oracle_estimate(degraded, clean, n_fft, hop, mask_max=mask_max)
    for i in range(2):
        expected_mask, expected = numpy_oracle(degraded[i, 0].numpy(), clean[i, 0].numpy(),
                                               n_fft, hop, mask_max)
        np.testing.assert_allclose(mask[i, 0].numpy(), expected_mask, rtol=1e-9, atol=1e-12)
        assert_within_rounding(estimate[i, 0], expected, ops=8, fft_size=n_fft,
                               terms=n_fft // hop)


@pytest.mark.parametrize("length", [1, 1000, 16000 + 7])
def test_shapes_for_any_length(length):
    degraded, clean = pair(length, seed=3, dtype=torch.float32, batch=3, channels=2)
    mask = ideal_ratio_mask(degraded, clean)
    assert mask.shape == (3, 2, 513, 1 + -(-length // 256))
    assert mask.dtype == torch.float32 and bool((mask >= 0).all())
    module = IdealRatioMask()
    estimate = module(degraded, clean)
    assert estimate.shape == degraded.shape and estimate.dtype == torch.float32
    torch.testing.assert_close(estimate, oracle_estimate(degraded, clean), rtol=0, atol=0)
    assert not list(module.parameters())


def test_stft_round_trip_and_frame_count():
    x = torch.randn(2, 3, 999, generator=seeded(4), dtype=torch.float64)
    spectrum = stft(x, 64, 16)
    assert spectrum.shape == (2, 3, 33, 1 + 63) and spectrum.is_complex()  # ceil(999/16)
    assert_within_rounding(istft(spectrum, 64, 16, 999), x, dtype=torch.float64, ops=4,
                           fft_size=64)


def test_mask_bound_and_what_the_unbounded_oracle_recovers():
    """Hard clipping at 0.5 of a tone mixture: with ``mask_max=1`` no mask exceeds 1; the
    unbounded oracle restores magnitudes above the degraded ones, and both beat the degraded
    signal's SDR."""
    t = torch.arange(16000, dtype=torch.float64) / 16000
    clean = (0.6 * torch.sin(2 * torch.pi * 110 * t) + 0.3 * torch.sin(2 * torch.pi * 330 * t
                                                                       + 1.0)).view(1, 1, -1)
    degraded = clean.clamp(-0.5, 0.5)
    bounded = ideal_ratio_mask(degraded, clean, mask_max=1.0)
    unbounded = ideal_ratio_mask(degraded, clean)
    assert float(bounded.max()) <= 1.0 and float(unbounded.max()) > 1.0
    torch.testing.assert_close(bounded, unbounded.clamp_max(1.0), rtol=0, atol=0)
    baseline = float(sdr(degraded, clean))
    for mask_max in (None, 1.0):
        assert float(sdr(oracle_estimate(degraded, clean, mask_max=mask_max), clean)) > baseline


def test_silence_gives_finite_values_and_gradients():
    degraded = torch.zeros(1, 1, 600, requires_grad=True)
    clean = torch.randn(1, 1, 600, generator=seeded(5))
    estimate = oracle_estimate(degraded, clean)
    assert torch.equal(estimate, torch.zeros_like(estimate))  # |C|/eps times an exact 0
    estimate.square().sum().backward()
    assert torch.isfinite(degraded.grad).all()
    assert torch.isfinite(ideal_ratio_mask(degraded.detach(), torch.zeros_like(clean))).all()


def test_half_precision_runs_in_float32():
    degraded, clean = pair(500, seed=6, dtype=torch.float32)
    y = oracle_estimate(degraded.half(), clean.half())
    assert y.dtype == torch.float16 and y.shape == degraded.shape
    reference = oracle_estimate(degraded.half().float(), clean.half().float())
    torch.testing.assert_close(y, reference.half(), rtol=0,
                               atol=rounding_tol(reference, dtype=torch.float16))


@pytest.mark.parametrize("make,name", [
    (lambda d, c: (d, c[..., :-1]), "clean"),
    (lambda d, c: (d, c[:1]), "clean"),
    (lambda d, c: (d, c.float()), "clean"),
    (lambda d, c: (d, c.squeeze(1)), "clean"),
    (lambda d, c: (d[0], c), "degraded"),
    (lambda d, c: (d, torch.full_like(c, float("nan"))), "clean"),
    (lambda d, c: (d.numpy(), c), "degraded"),
])
def test_mismatched_or_bad_signals_name_the_argument(make, name):
    degraded, clean = make(*pair(100, seed=7))
    with pytest.raises(ValueError, match=name):
        oracle_estimate(degraded, clean)
    with pytest.raises(ValueError, match=name):
        ideal_ratio_mask(degraded, clean)


@pytest.mark.parametrize("kwargs,name", [
    (dict(n_fft=1), "n_fft"), (dict(n_fft=64.5), "n_fft"), (dict(hop=0), "hop"),
    (dict(n_fft=64, hop=33), "hop"), (dict(hop=True), "hop"), (dict(mask_max=0.0), "mask_max"),
    (dict(mask_max=-1.0), "mask_max"), (dict(mask_max=float("inf")), "mask_max"),
    (dict(mask_max=float("nan")), "mask_max")])
def test_bad_settings_name_the_argument(kwargs, name):
    degraded, clean = pair(100, seed=8)
    with pytest.raises(ValueError, match=name):
        oracle_estimate(degraded, clean, **kwargs)
    with pytest.raises(ValueError, match=name):
        IdealRatioMask(**kwargs)
