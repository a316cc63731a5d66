"""Effect-modelling metrics against hand computations and float64 numpy re-implementations:
the CRAFx energy-normalised MAE, crest factors of square waves, sines and impulses, RMS levels,
the spectral centroid of pure tones (and librosa's), log-power spectrograms framed by numpy."""

import math

import librosa
import numpy as np
import pytest
import scipy.signal
import torch
from _signals import randn_audio
from _tolerances import assert_within_rounding

from dasp_blind.metrics.effects import (
    MEAN_SQUARE_FLOOR,
    SPECTROGRAM_FLOOR,
    crest_factor_error,
    energy_normalised_mae,
    rms_energy_error,
    spectral_centroid_error,
    spectrogram_mse,
)

SR = 16000


def _sine(freq, samples, amp=1.0, sample_rate=SR, dtype=torch.float64):
    t = torch.arange(samples, dtype=torch.float64) / sample_rate
    return (amp * torch.sin(2 * math.pi * freq * t)).to(dtype).reshape(1, 1, -1)


def _frames(x, n_fft, hop):
    """numpy: centred frames (reflect padding) times a periodic Hann window, ``(..., frames,
    n_fft)``."""
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(n_fft // 2, n_fft // 2)], mode="reflect")
    count = 1 + (padded.shape[-1] - n_fft) // hop
    index = np.arange(n_fft)[None, :] + hop * np.arange(count)[:, None]
    return padded[..., index] * scipy.signal.get_window("hann", n_fft)


# ----------------------------------------------------------------- energy-normalised MAE

def test_enmae_hand_value_and_crafx_formula():
    # y = [1, -1, 1, -1] (mean|y| = 1), ŷ = [4, -4, 4, 0] (mean|ŷ| = 3): r = 1/3,
    # r·ŷ = [4/3, -4/3, 4/3, 0], errors 1/3, 1/3, 1/3, 1 -> 0.5
    y = torch.tensor([[[1.0, -1.0, 1.0, -1.0]]], dtype=torch.float64)
    y_hat = torch.tensor([[[4.0, -4.0, 4.0, 0.0]]], dtype=torch.float64)
    torch.testing.assert_close(energy_normalised_mae(y_hat, y), torch.tensor([0.5],
                               dtype=torch.float64), rtol=1e-14, atol=0)
    # getMAEnormalized of mchijmma/DL-AFx, in numpy, item by item over channels and samples
    target = randn_audio(3, 2, 800, seed=0, dtype=torch.float64)
    estimate = 0.3 * target + randn_audio(3, 2, 800, seed=1, dtype=torch.float64, scale=0.1)
    expected = []
    for y_i, y_hat_i in zip(target.numpy(), estimate.numpy(), strict=True):
        ratio = np.mean(np.abs(y_i)) / np.mean(np.abs(y_hat_i))
        expected.append(np.mean(np.abs(y_i - ratio * y_hat_i)))
    value = energy_normalised_mae(estimate, target)
    assert value.shape == (3,)
    np.testing.assert_allclose(value.numpy(), expected, rtol=1e-12)
    # the estimate's gain does not matter, the target's scale does
    np.testing.assert_allclose(energy_normalised_mae(7 * estimate, target).numpy(), expected,
                               rtol=1e-12)
    np.testing.assert_allclose(energy_normalised_mae(estimate, 2 * target).numpy(),
                               2 * np.asarray(expected), rtol=1e-12)
    single = energy_normalised_mae(estimate.float(), target.float())
    assert single.dtype == torch.float32
    assert_within_rounding(single, value, ops=4, sum_size=1600)


def test_enmae_silence_finite_with_finite_gradients():
    target = randn_audio(2, 1, 300, seed=2)
    silent = torch.zeros_like(target, requires_grad=True)
    value = energy_normalised_mae(silent, target)
    value.sum().backward()
    torch.testing.assert_close(value.detach(), target.abs().mean((1, 2)))
    assert torch.isfinite(silent.grad).all()
    both = torch.zeros(1, 2, 50, requires_grad=True)
    value = energy_normalised_mae(both, torch.zeros(1, 2, 50))
    value.sum().backward()
    assert value.item() == 0.0 and torch.isfinite(both.grad).all()


# ----------------------------------------------------------------- crest factor and RMS level

def test_crest_factor_of_square_sine_and_impulse():
    square = torch.sign(_sine(500, 1600) + 1e-9)  # ±1: crest factor 0 dB
    sine = _sine(1000, 1600)  # 16 samples per period, 100 periods: peak 1, mean square 1/2
    impulse = torch.zeros(1, 1, 1600, dtype=torch.float64)
    impulse[..., 37] = 0.25  # crest factor 10·log10(1600)
    assert torch.equal(square.abs(), torch.ones_like(square))
    torch.testing.assert_close(crest_factor_error(sine, square),
                               torch.tensor([10 * math.log10(2)], dtype=torch.float64),
                               rtol=1e-12, atol=0)  # 3.0103 dB
    torch.testing.assert_close(crest_factor_error(square, impulse),
                               torch.tensor([10 * math.log10(1600)], dtype=torch.float64),
                               rtol=1e-12, atol=0)
    # per channel, then averaged: |3.01 - 0| and |3.01 - 32.04|
    estimate = torch.cat([sine, sine], dim=1)
    target = torch.cat([square, impulse], dim=1)
    expected = (10 * math.log10(2) + abs(10 * math.log10(2) - 10 * math.log10(1600))) / 2
    torch.testing.assert_close(crest_factor_error(estimate, target),
                               torch.tensor([expected], dtype=torch.float64), rtol=1e-12, atol=0)
    # a gain changes nothing, but for the level floor: at a mean square of 0.5e-4 it moves
    # the crest factor by 10·log10(e)·1e-16 / 0.5e-4 ≈ 1e-11 dB
    torch.testing.assert_close(crest_factor_error(0.01 * sine, square),
                               crest_factor_error(sine, square), rtol=0, atol=2e-11)


def test_crest_factor_and_rms_match_numpy():
    target = randn_audio(3, 2, 1000, seed=3, dtype=torch.float64)
    estimate = torch.tanh(2 * target) * torch.tensor([0.5, 1.0, 2.0]).reshape(3, 1, 1)
    y, y_hat = target.numpy(), estimate.numpy()

    def crest(x):
        return 20 * np.log10(np.abs(x).max(-1) / np.sqrt((x ** 2).mean(-1)))

    def level(x):
        return 20 * np.log10(np.sqrt((x ** 2).mean(-1)))

    np.testing.assert_allclose(crest_factor_error(estimate, target).numpy(),
                               np.abs(crest(y_hat) - crest(y)).mean(-1), rtol=1e-10)
    np.testing.assert_allclose(rms_energy_error(estimate, target).numpy(),
                               np.abs(level(y_hat) - level(y)).mean(-1), rtol=1e-10)
    single = rms_energy_error(estimate.float(), target.float())
    assert single.dtype == torch.float32
    # each level, 10·log10 of a float32 mean square (about 1 dB here), rounds by ~10/ln 10
    # eps: two levels per difference
    assert_within_rounding(single, rms_energy_error(estimate, target), ops=10, sum_size=1000)


def test_rms_energy_error_hand_values():
    full = _sine(1000, 1600)
    half = _sine(1000, 1600, amp=0.5)
    torch.testing.assert_close(rms_energy_error(half, full),
                               torch.tensor([20 * math.log10(2)], dtype=torch.float64),
                               rtol=1e-12, atol=0)  # 6.0206 dB
    # silence sits at the floor: 10·log10(1e-16) = -160 dB against 10·log10(1/2) = -3.01 dB
    silent = torch.zeros_like(full)
    expected = 10 * math.log10(0.5 + MEAN_SQUARE_FLOOR) + 160
    torch.testing.assert_close(rms_energy_error(silent, full),
                               torch.tensor([expected], dtype=torch.float64), rtol=1e-12, atol=0)


@pytest.mark.parametrize("metric", [crest_factor_error, rms_energy_error])
def test_level_metrics_silence_finite_with_finite_gradients(metric):
    for target in (torch.zeros(2, 1, 200), randn_audio(2, 1, 200, seed=4)):
        silent = torch.zeros(2, 1, 200, requires_grad=True)
        value = metric(silent, target)
        value.sum().backward()
        assert torch.isfinite(value).all() and torch.isfinite(silent.grad).all()
    assert torch.equal(metric(torch.zeros(1, 1, 9), torch.zeros(1, 1, 9)), torch.zeros(1))


# ----------------------------------------------------------------- spectral centroid

def test_spectral_centroid_of_pure_tones():
    n_fft = 2048
    bin_hz = SR / n_fft  # 7.8125 Hz
    # a cosine of 1000 Hz (bin 128) over 8001 samples is even about its first and its last
    # sample (1000 Hz · 8000 / SR = 500 periods), so the reflect padding continues it exactly;
    # each periodic-Hann frame then holds bins 127, 128, 129 at 1/4, 1/2, 1/4: centroid 128
    t = torch.arange(8001, dtype=torch.float64) / SR
    cosine = torch.cos(2 * math.pi * 1000 * t).reshape(1, 1, -1)
    silent = torch.zeros_like(cosine)
    # a silent frame has centroid 0, so the error against silence is the tone's centroid
    torch.testing.assert_close(spectral_centroid_error(cosine, silent, SR),
                               torch.tensor([1000.0], dtype=torch.float64), rtol=1e-10, atol=0)
    # sines are odd about sample 0, so the reflect-padded edge frames spread over many bins;
    # over 4 s (126 frames) the mean centroid is still within a bin (1005.4 Hz, 3002.2 Hz)
    low = _sine(128 * bin_hz, 4 * SR)
    high = _sine(384 * bin_hz, 4 * SR)  # 3000 Hz
    assert abs(spectral_centroid_error(low, torch.zeros_like(low), SR).item() - 1000) < bin_hz
    assert abs(spectral_centroid_error(high, low, SR).item() - 2000) < bin_hz


def test_spectral_centroid_matches_numpy_and_librosa():
    target = randn_audio(2, 2, 6000, seed=5, dtype=torch.float64)
    estimate = torch.tanh(3 * target)
    n_fft, hop = 512, 128

    def centroid(x):
        magnitude = np.abs(np.fft.rfft(_frames(x, n_fft, hop), axis=-1))
        freqs = np.arange(n_fft // 2 + 1) * SR / n_fft
        return ((magnitude * freqs).sum(-1) / magnitude.sum(-1)).mean(-1)

    expected = np.abs(centroid(estimate.numpy()) - centroid(target.numpy())).mean(-1)
    value = spectral_centroid_error(estimate, target, SR, n_fft=n_fft, hop=hop)
    np.testing.assert_allclose(value.numpy(), expected, rtol=1e-10)
    # librosa's frame centroids (reflect-padded, Hann) for one channel
    reference = librosa.feature.spectral_centroid(
        y=target[0, 0].numpy(), sr=SR, n_fft=n_fft, hop_length=hop, center=True,
        pad_mode="reflect").mean()
    np.testing.assert_allclose(centroid(target[0, 0].numpy()), reference, rtol=1e-9)
    single = spectral_centroid_error(estimate.float(), target.float(), SR, n_fft, hop)
    # each centroid is a ratio of float32 sums over 257 bins, at the scale of SR/2
    assert_within_rounding(single, value.new_tensor(expected), ops=4, fft_size=n_fft,
                           sum_size=257 * 48)
    assert single.dtype == torch.float32


def test_spectral_centroid_gradients():
    silent = torch.zeros(1, 1, 600, requires_grad=True)
    value = spectral_centroid_error(silent, randn_audio(1, 1, 600, seed=6), SR, 128, 32)
    value.sum().backward()
    assert torch.isfinite(value).all() and torch.isfinite(silent.grad).all()
    estimate = randn_audio(1, 1, 40, seed=7, dtype=torch.float64).requires_grad_(True)
    target = randn_audio(1, 1, 40, seed=8, dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda e: spectral_centroid_error(e, target, SR, n_fft=16, hop=4), (estimate,))


# ----------------------------------------------------------------- spectrogram MSE

@pytest.mark.parametrize("n_fft, hop", [(254, 127), (64, 16)])
def test_spectrogram_mse_matches_numpy(n_fft, hop):
    target = randn_audio(3, 2, 2000, seed=9, dtype=torch.float64)
    estimate = torch.tanh(2 * target)
    estimate[2] = 0.0  # a silent estimate: every bin at the floor

    def log_power(x):
        return np.log(np.abs(np.fft.rfft(_frames(x, n_fft, hop), axis=-1)) ** 2
                      + SPECTROGRAM_FLOOR)

    expected = ((log_power(estimate.numpy()) - log_power(target.numpy())) ** 2).mean((1, 2, 3))
    value = spectrogram_mse(estimate, target, n_fft=n_fft, hop=hop)
    assert value.shape == (3,)
    np.testing.assert_allclose(value.numpy(), expected, rtol=1e-10)


def test_spectrogram_mse_hand_value_gain_and_defaults():
    target = randn_audio(2, 1, 4000, seed=10, dtype=torch.float64)
    # a gain of 2 raises every bin's power 4-fold: (ln 4)^2 wherever the power is far above
    # 1e-7 (white noise of variance 1: a bin is below 1e-5 with probability ~1e-7)
    torch.testing.assert_close(spectrogram_mse(2 * target, target),
                               torch.full((2,), math.log(4) ** 2, dtype=torch.float64),
                               rtol=1e-6, atol=0)
    assert torch.equal(spectrogram_mse(target, target), torch.zeros(2, dtype=torch.float64))
    exact = spectrogram_mse(torch.tanh(target), target)
    single = spectrogram_mse(torch.tanh(target).float(), target.float())
    assert single.dtype == torch.float32
    # log-powers, up to ~20 in size, round relative to their size through an FFT of 254
    assert_within_rounding(single, exact, ops=20, fft_size=254, sum_size=128 * 32)


def test_spectrogram_mse_silence_and_gradients():
    silent = torch.zeros(1, 2, 500, requires_grad=True)
    value = spectrogram_mse(silent, torch.zeros(1, 2, 500))
    value.sum().backward()
    assert value.item() == 0.0 and torch.isfinite(silent.grad).all()
    estimate = randn_audio(1, 1, 48, seed=11, dtype=torch.float64).requires_grad_(True)
    target = randn_audio(1, 1, 48, seed=12, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda e: spectrogram_mse(e, target, n_fft=16, hop=8),
                                    (estimate,))


# ----------------------------------------------------------------- shared behaviour

@pytest.mark.parametrize("metric", [energy_normalised_mae, crest_factor_error, rms_energy_error])
def test_time_domain_metrics_gradcheck(metric):
    estimate = randn_audio(2, 2, 30, seed=13, dtype=torch.float64).requires_grad_(True)
    target = randn_audio(2, 2, 30, seed=14, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda e: metric(e, target), (estimate,))


def test_half_precision_is_computed_in_float32():
    target = randn_audio(2, 1, 3000, seed=15)
    estimate = 0.5 * target
    for metric in (energy_normalised_mae, crest_factor_error, rms_energy_error,
                   spectrogram_mse, lambda e, t: spectral_centroid_error(e, t, SR)):
        value = metric(estimate.half(), target.half())
        assert value.dtype == torch.float16 and torch.isfinite(value).all()


@pytest.mark.parametrize("metric", [
    energy_normalised_mae, crest_factor_error, rms_energy_error, spectrogram_mse,
    lambda e, t: spectral_centroid_error(e, t, SR)])
def test_bad_audio_names_the_argument(metric):
    x = torch.zeros(1, 1, 3000)
    with pytest.raises(ValueError, match="same shape"):
        metric(x, torch.zeros(1, 1, 3001))
    with pytest.raises(ValueError, match="estimate"):
        metric(torch.zeros(1, 3000), x)
    with pytest.raises(ValueError, match="target"):
        metric(x, torch.full_like(x, float("nan")))


def test_bad_stft_arguments_name_the_argument():
    x = torch.zeros(1, 1, 3000)
    with pytest.raises(ValueError, match="sample_rate"):
        spectral_centroid_error(x, x, 0)
    with pytest.raises(ValueError, match="n_fft"):
        spectral_centroid_error(x, x, SR, n_fft=1)
    with pytest.raises(ValueError, match="hop"):
        spectrogram_mse(x, x, hop=0)
    with pytest.raises(ValueError, match="n_fft"):
        spectrogram_mse(x, x, n_fft=254.5)
    with pytest.raises(ValueError, match="target must hold more than 1024"):
        spectral_centroid_error(x[..., :1024], x[..., :1024], SR)
    with pytest.raises(ValueError, match="target must hold more than 127"):
        spectrogram_mse(x[..., :127], x[..., :127])
