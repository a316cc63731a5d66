"""Biquad design and the two cascade filters, checked against scipy.signal."""

import math

import numpy as np
import pytest
import scipy.signal
import torch
from _signals import impulse, randn
from _tolerances import assert_items_match_single_calls, assert_within_rounding

from dasp_blind.functional import (
    biquad,
    biquads_to_sos,
    decay_length,
    fft_sosfilt,
    sos_frequency_response,
    sosfilt,
)
from dasp_blind.functional.filters import fft_size

FS = 44100.0


def cookbook_np(kind, f0, gain_db, q, fs):
    """Plain transcription of the RBJ Audio-EQ-Cookbook (alpha = sin(w0)/(2Q) for shelves)."""
    amp = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * f0 / fs
    cw, alpha = np.cos(w0), np.sin(w0) / (2 * q)
    if kind == "peak":
        b = [1 + alpha * amp, -2 * cw, 1 - alpha * amp]
        a = [1 + alpha / amp, -2 * cw, 1 - alpha / amp]
    elif kind == "low_shelf":
        s = 2 * np.sqrt(amp) * alpha
        b = [amp * ((amp + 1) - (amp - 1) * cw + s), 2 * amp * ((amp - 1) - (amp + 1) * cw),
             amp * ((amp + 1) - (amp - 1) * cw - s)]
        a = [(amp + 1) + (amp - 1) * cw + s, -2 * ((amp - 1) + (amp + 1) * cw),
             (amp + 1) + (amp - 1) * cw - s]
    elif kind == "high_shelf":
        s = 2 * np.sqrt(amp) * alpha
        b = [amp * ((amp + 1) + (amp - 1) * cw + s), -2 * amp * ((amp - 1) + (amp + 1) * cw),
             amp * ((amp + 1) + (amp - 1) * cw - s)]
        a = [(amp + 1) - (amp - 1) * cw + s, 2 * ((amp - 1) - (amp + 1) * cw),
             (amp + 1) - (amp - 1) * cw - s]
    elif kind == "lowpass":
        b = [(1 - cw) / 2, 1 - cw, (1 - cw) / 2]
        a = [1 + alpha, -2 * cw, 1 - alpha]
    else:
        b = [(1 + cw) / 2, -(1 + cw), (1 + cw) / 2]
        a = [1 + alpha, -2 * cw, 1 - alpha]
    b, a = np.array(b), np.array(a)
    return np.concatenate([b / a[0], a / a[0]])


BANDS = [("low_shelf", 30.0, 15.0, 0.1), ("peak", 100.0, -15.0, 2.0), ("peak", 3000.0, 9.0, 0.5),
         ("peak", 16000.0, -6.0, 0.1), ("high_shelf", 20000.0, 15.0, 2.0),
         ("lowpass", 8000.0, 0.0, 0.707), ("highpass", 40.0, 0.0, 1.5)]


def torch_sos(dtype=torch.float64):
    return biquads_to_sos([biquad(k, torch.tensor([f], dtype=dtype), g, q, FS)
                           for k, f, g, q in BANDS])


def test_biquad_coefficients_match_cookbook():
    sos = torch_sos()[0].numpy()
    for row, (kind, f, g, q) in zip(sos, BANDS, strict=True):
        np.testing.assert_allclose(row, cookbook_np(kind, f, g, q, FS), rtol=1e-12, atol=1e-14)


def test_cascade_response_matches_freqz_within_0_01_db():
    ref_sos = np.stack([cookbook_np(k, f, g, q, FS) for k, f, g, q in BANDS])
    freqs = np.geomspace(20.0, 20000.0, 2000)
    _, h_ref = scipy.signal.sosfreqz(ref_sos, worN=freqs, fs=FS)
    h = sos_frequency_response(torch_sos(), torch.tensor(freqs), FS)[0].numpy()
    err_db = np.abs(20 * np.log10(np.abs(h)) - 20 * np.log10(np.abs(h_ref)))
    assert err_db.max() < 0.01


@pytest.mark.parametrize("audio_dtype", [torch.float64, torch.float32])
def test_fft_cascade_impulse_response_matches_freqz(audio_dtype):
    """The one-FFT-pair filter's effective response (DFT of its impulse response) vs freqz,
    with float64 coefficients and float32 or float64 audio. Float32 rounding uses about 1/30 of
    the 0.01 dB; sample by sample, the float32 impulse response is the float64 one up to the
    rounding of the FFTs and of the coefficients (cast to the audio's dtype)."""
    sos = torch_sos()[:, :5]  # the five EQ bands, at the edges of their ranges
    n = 1 << 16
    response = fft_sosfilt(impulse(n, audio_dtype), sos)
    h = np.fft.rfft(response[0, 0].double().numpy())
    freqs = np.fft.rfftfreq(n, 1 / FS)
    band = (freqs >= 20) & (freqs <= 20000)
    _, h_ref = scipy.signal.sosfreqz(sos[0].numpy(), worN=freqs[band], fs=FS)
    err_db = np.abs(20 * np.log10(np.abs(h[band])) - 20 * np.log10(np.abs(h_ref)))
    assert err_db.max() < 0.01
    if audio_dtype == torch.float32:
        assert_within_rounding(response, fft_sosfilt(impulse(n, torch.float64), sos), fft_size=n)


@pytest.mark.parametrize("channels", [1, 2])
def test_sosfilt_matches_scipy(channels):
    x = randn(3, channels, 20000, seed=0)
    sos = torch_sos(torch.float32).expand(3, -1, -1).clone()
    sos[1, :, :3] *= 0.5  # different coefficients per item
    y = sosfilt(x, sos)
    assert y.dtype == torch.float32
    for i in range(3):
        ref = scipy.signal.sosfilt(sos[i].double().numpy(), x[i].double().numpy(), axis=-1)
        assert_within_rounding(y[i], ref)  # the cascade runs in float64: one final rounding


def test_fft_sosfilt_matches_scipy_on_music_like_signal():
    x = randn(2, 1, 44100, seed=1, dtype=torch.float64, scale=0.3)
    sos = torch_sos()[:, :5].expand(2, -1, -1)
    y = fft_sosfilt(x, sos)
    ref = scipy.signal.sosfilt(sos[0].numpy(), x[0, 0].numpy())
    # Only the tail beyond the zero padding wraps around: error stays tiny.
    assert np.abs(y[0, 0].numpy() - ref).max() < 1e-3 * np.abs(ref).max()


@pytest.mark.parametrize("fn", [sosfilt, lambda x, s: fft_sosfilt(x, s, tail=2048)])
def test_gradcheck_wrt_audio_and_coefficients(fn):
    x = randn(2, 2, 64, seed=2, dtype=torch.float64).requires_grad_(True)
    # moderate sections: a 30 Hz shelf at Q=0.1 is too ill-conditioned for finite differences
    sos = torch_sos()[:, [1, 2, 5]].expand(2, -1, -1).clone().requires_grad_(True)
    assert torch.autograd.gradcheck(fn, (x, sos))


def test_gradcheck_wrt_physical_parameters():
    x = randn(2, 1, 48, seed=3, dtype=torch.float64)
    freq = torch.tensor([200.0, 5000.0], dtype=torch.float64, requires_grad=True)
    gain = torch.tensor([6.0, -3.0], dtype=torch.float64, requires_grad=True)
    q = torch.tensor([0.7, 1.5], dtype=torch.float64, requires_grad=True)

    def run(f, g, qq):
        sos = biquads_to_sos([biquad("peak", f, g, qq, FS), biquad("low_shelf", f, g, qq, FS)])
        return fft_sosfilt(x, sos, tail=8192)

    assert torch.autograd.gradcheck(run, (freq, gain, q))


@pytest.mark.parametrize("fn", [sosfilt, fft_sosfilt])
def test_silence_gives_zero_output_and_finite_grads(fn):
    x = torch.zeros(2, 1, 512, requires_grad=True)
    sos = torch_sos(torch.float32)[:, :5].expand(2, -1, -1).clone().requires_grad_(True)
    y = fn(x, sos)
    assert torch.all(y == 0)
    y.pow(2).sum().add(y.sum()).backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(sos.grad).all()


def test_batch_items_equal_single_calls_and_dtype_device_preserved():
    """Batching in float64 (where a logic error cannot hide in rounding), then float32 audio
    against the float64 result, both with the float64 coefficients the docs ask for."""
    x = randn(3, 2, 4096, seed=4, dtype=torch.float64)
    freq = torch.tensor([100.0, 1000.0, 8000.0], dtype=torch.float64)
    sos = biquads_to_sos([biquad("peak", freq, 6.0, 1.0, FS)])
    n_fft = fft_size(x.shape[-1], decay_length(sos))
    # each item alone gets the same FFT size: the results may differ by rounding only
    assert all(fft_size(x.shape[-1], decay_length(sos[i:i + 1])) == n_fft for i in range(3))
    y64 = assert_items_match_single_calls(fft_sosfilt, x, sos, fft_size=n_fft)
    y = fft_sosfilt(x.float(), sos)
    assert y.dtype == torch.float32 and y.device == x.device and y.shape == x.shape
    assert_within_rounding(y, y64, fft_size=n_fft)


def test_decay_length_follows_slowest_pole():
    fast = biquads_to_sos([biquad("peak", 5000.0, 6.0, 0.7, FS)])
    slow = biquads_to_sos([biquad("low_shelf", 30.0, 6.0, 0.1, FS)])
    assert decay_length(slow) > 10 * decay_length(fast)
    # a one-pole at 0.995 decays by 1e-6 after log(1e-6)/log(0.995) samples
    one_pole = torch.tensor([[[1.0, 0.0, 0.0, 1.0, -0.995, 0.0]]], dtype=torch.float64)
    assert decay_length(one_pole) == math.ceil(math.log(1e-6) / math.log(0.995)) + 2


def test_bad_input_errors():
    sos = torch_sos(torch.float32)
    with pytest.raises(ValueError, match="kind"):
        biquad("notch", 100.0, 0.0, 1.0, FS)
    with pytest.raises(ValueError, match="freq_hz"):
        biquad("peak", 22050.0, 0.0, 1.0, FS)
    with pytest.raises(ValueError, match="freq_hz"):
        biquad("peak", torch.tensor([100.0, 30000.0]), 0.0, 1.0, FS)
    with pytest.raises(ValueError, match="sample_rate"):
        biquad("peak", 100.0, 0.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="q "):
        biquad("peak", 100.0, 0.0, 0.0, FS)
    with pytest.raises(ValueError, match="gain_db"):
        biquad("peak", 100.0, float("nan"), 1.0, FS)
    for fn in (sosfilt, fft_sosfilt):
        with pytest.raises(ValueError, match="NaN"):
            fn(torch.full((1, 1, 8), float("nan")), sos)
        with pytest.raises(ValueError, match="rank 2"):
            fn(torch.zeros(1, 8), sos)
        with pytest.raises(ValueError, match="batch size"):
            fn(torch.zeros(3, 1, 8), sos.expand(2, -1, -1))
        with pytest.raises(ValueError, match="sos"):
            fn(torch.zeros(1, 1, 8), sos[..., :5])


def test_cascade_response_and_gradient_kernels_against_autograd_in_float64():
    """The CPU kernels (:mod:`_cascade_kernels`) and the torch formulation of the CUDA path,
    both in float64, against autograd through the cascade's response: the response at every
    rfft bin, and the coefficients' gradient for sections with zeros on the unit circle
    (high-pass at DC, low-pass at Nyquist), where dividing by a section's numerator fails."""
    from dasp_blind.functional import filters

    n_fft = 1 << 12
    delta = filters.to_delta_form(torch_sos()).expand(3, -1, -1).clone()
    delta[1, :, :3] *= 0.7  # different coefficients per item
    leaf = delta.clone().requires_grad_(True)
    reference = filters._response_torch(leaf, n_fft)
    scale = reference.detach().abs().amax(dim=-1, keepdim=True)
    assert ((filters._response(delta, n_fft, torch.float64) - reference.detach()).abs()
            / scale).max() < 1e-12
    weights = torch.randn(reference.shape, generator=torch.Generator().manual_seed(5),
                          dtype=torch.complex128)
    (weights.conj() * reference).real.sum().backward()  # dL/dH = weights
    for grad in (filters._coefficient_gradient(delta, weights.conj(), n_fft),
                 filters._coefficient_gradient_torch(delta, weights.conj(), n_fft)):
        assert torch.isfinite(grad).all()
        assert (grad - leaf.grad).abs().max() <= 1e-10 * leaf.grad.abs().max()
