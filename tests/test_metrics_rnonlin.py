"""R-nonlin: the gammatone design against scipy.signal.gammatone and the gammatone's theory, the
whole measure against a plain numpy re-implementation of the documented algorithm (scipy's FIR
taps, scipy.signal.lfilter, a correlation per lag), and its behaviour on delays, clipping and
noise."""

import math

import numpy as np
import pytest
import scipy.signal
import torch
from numpy.lib.stride_tricks import sliding_window_view

from dasp_blind.metrics.rnonlin import centre_frequencies, erb_hz, gammatone_fir, r_nonlin


def harmonic_signal(seconds: float, sample_rate: int, seed: int) -> np.ndarray:
    """A seeded tone of 12 harmonics of 196 Hz (random amplitudes and phases) under a slow
    tremolo, peak 1, float64."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    x = sum(rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * 196 * k * t + rng.uniform(0, 2 * np.pi))
            for k in range(1, 13))
    x = x * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t))
    return x / np.abs(x).max()


def as_audio(*signals: np.ndarray) -> torch.Tensor:
    """Mono signals -> ``(len(signals), 1, samples)`` float64."""
    return torch.from_numpy(np.stack(signals))[:, None]


# --- the gammatone filters ---------------------------------------------------------------------

@pytest.mark.parametrize("sample_rate", [16000, 44100])
def test_gammatone_taps_are_scipys_scaled_to_unit_centre_gain(sample_rate):
    """scipy's FIR has the same shape; scaled by its own gain at ``f`` it must equal ours. The two
    differ only in the ERB constant (scipy's ``f / 9.26449`` against ``24.7 · 4.37e-3 · f``):
    a bandwidth change ``Δb`` moves ``exp(−2π·Δb·t)`` by at most ``2π·Δb·t_max`` relative."""
    for f in centre_frequencies(sample_rate):
        ours = gammatone_fir(f, sample_rate)
        theirs, _ = scipy.signal.gammatone(f, "fir", numtaps=len(ours), fs=sample_rate)
        _, gain = scipy.signal.freqz(theirs, worN=[f], fs=sample_rate)
        delta_b = 1.019 * abs(f / 9.26449 - 24.7 * 4.37e-3 * f)
        tol = 2 * (2 * math.pi * delta_b * len(ours) / sample_rate + 1e-12) * np.abs(ours).max()
        np.testing.assert_allclose(theirs / abs(gain[0]), ours, rtol=0, atol=tol)
        _, ours_gain = scipy.signal.freqz(ours, worN=[f], fs=sample_rate)
        assert abs(ours_gain[0]) == pytest.approx(1.0, abs=1e-12)


def test_gammatone_equivalent_bandwidth_is_the_erb():
    """The bandwidth ``1.019·ERB`` of a 4th-order gammatone makes its equivalent rectangular
    bandwidth ``1.019·π·6!/(2⁶·3!²)·ERB = 1.00040·ERB``. By Parseval, with unit centre gain,
    that is ``(fs / 2)·Σh²``. Bands away from 0 Hz and Nyquist (where the image lobe and
    aliasing add up to 0.3 % and 9 %) must agree to 1e-3."""
    sample_rate = 16000
    theory = 1.019 * math.pi * math.factorial(6) / (2 ** 6 * math.factorial(3) ** 2)
    for f in centre_frequencies(sample_rate):
        if 300 <= f <= 0.3 * sample_rate:
            equivalent = sample_rate / 2 * np.sum(gammatone_fir(f, sample_rate) ** 2)
            assert equivalent / erb_hz(f) == pytest.approx(theory, abs=1e-3)


def test_gammatone_magnitude_matches_scipys_iir_near_the_centre():
    """scipy's IIR gammatone (Slaney's 8th-order approximation) and our FIR agree within one ERB
    of the centre to 0.1 dB (measured: 0.03 dB) in the bands where Slaney's design is accurate
    (it loses precision at low normalised frequencies)."""
    sample_rate = 16000
    for f in centre_frequencies(sample_rate):
        if 200 <= f <= 4000:
            freqs = f + np.linspace(-1, 1, 21) * erb_hz(f)
            b, a = scipy.signal.gammatone(f, "iir", fs=sample_rate)
            _, iir = scipy.signal.freqz(b, a, worN=freqs, fs=sample_rate)
            _, fir = scipy.signal.freqz(gammatone_fir(f, sample_rate), worN=freqs, fs=sample_rate)
            assert np.abs(20 * np.log10(np.abs(fir) / np.abs(iir))).max() < 0.1


def test_centre_frequencies_span_and_erb_spacing():
    for sample_rate, top in ((16000, 7200.0), (48000, 16000.0)):
        centres = centre_frequencies(sample_rate)
        assert len(centres) == 40
        assert centres[0] == pytest.approx(50.0) and centres[-1] == pytest.approx(top)
        cams = 21.4 * np.log10(4.37e-3 * centres + 1)
        np.testing.assert_allclose(np.diff(cams), np.diff(cams)[0], rtol=1e-9)


# --- the measure against a plain re-implementation ---------------------------------------------

def reference_r_nonlin(estimate: np.ndarray, target: np.ndarray, sample_rate: int,
                       ear_weighting: bool = True) -> float:
    """The algorithm of the module docstring, written out plainly for one mono signal."""
    low, high = 21.4 * np.log10(4.37e-3 * np.array([50.0, min(0.45 * sample_rate, 16000)]) + 1)
    centres = (10 ** (np.linspace(low, high, 40) / 21.4) - 1) / 4.37e-3
    frame, lag = round(0.03 * sample_rate), round(0.01 * sample_rate)
    frames = len(target) // frame
    energy, rho = np.zeros((40, frames)), np.zeros((40, frames))
    for k, f in enumerate(centres):
        decay = 2 * np.pi * 1.019 * 24.7 * (4.37e-3 * f + 1)
        taps, _ = scipy.signal.gammatone(f, "fir", numtaps=math.ceil(20 / decay * sample_rate) + 1,
                                         fs=sample_rate)
        taps = taps / abs(scipy.signal.freqz(taps, worN=[f], fs=sample_rate)[1][0])
        ref = scipy.signal.lfilter(taps, [1.0], target)
        dist = np.concatenate([np.zeros(lag), scipy.signal.lfilter(taps, [1.0], estimate),
                               np.zeros(lag)])
        khz = f / 1000
        ear_db = -2.184 * khz ** -0.8 + 6.5 * np.exp(-0.6 * (khz - 3.3) ** 2) - 1e-3 * khz ** 3.6
        for i in range(frames):
            r = ref[i * frame:(i + 1) * frame]
            shifted = sliding_window_view(dist[i * frame:(i + 1) * frame + 2 * lag], frame)
            norms = np.sqrt((r @ r) * (shifted ** 2).sum(axis=1))
            corr = np.where(norms > 0, shifted @ r / np.where(norms > 0, norms, 1), 0)
            rho[k, i] = np.clip(corr.max(), 0, 1)
            energy[k, i] = (r @ r) * (10 ** (ear_db / 10) if ear_weighting else 1)
    per_frame = energy.sum(axis=0)
    counted = (per_frame > per_frame.max() * 1e-6) & (per_frame > 1e-16 * frame)
    level = 10 * np.log10(np.maximum(energy[:, counted], np.finfo(float).tiny))
    weight = np.maximum(level - level.max(axis=0) + 40, 0)
    weight = weight / weight.sum(axis=0)
    return float((weight * rho[:, counted]).sum(axis=0).mean())


@pytest.mark.parametrize("ear_weighting", [True, False])
def test_matches_a_plain_reimplementation(ear_weighting):
    sample_rate = 8000
    target = harmonic_signal(0.25, sample_rate, seed=3)
    target[:500] = 0.0  # two silent frames, skipped
    target[500:740] *= 1e-4  # a frame 80 dB down, skipped too
    noise = np.random.default_rng(4).standard_normal(len(target))
    distorted = np.clip(np.roll(target, 3), -0.3, 0.3) + 0.01 * noise
    second = np.tanh(4 * target)
    estimate = torch.from_numpy(np.stack([distorted, second]))[None]  # (1, 2, samples)
    values = r_nonlin(estimate, torch.from_numpy(np.stack([target, target]))[None],
                      sample_rate, ear_weighting=ear_weighting)
    expected = [(reference_r_nonlin(distorted, target, sample_rate, ear_weighting)
                 + reference_r_nonlin(second, target, sample_rate, ear_weighting)) / 2]
    # scipy's taps differ from ours by up to 3e-7 of their peak (its ERB constant, see the first
    # test): band signals, correlations and weights move by that order (measured: 2e-8)
    np.testing.assert_allclose(values.numpy(), expected, rtol=0, atol=1e-6)


# --- behaviour ---------------------------------------------------------------------------------

def test_identity_gain_and_delay():
    """A gain or a delay within the ±10 ms lag search leaves R-nonlin at 1; a delay beyond it
    decorrelates noise (a periodic signal would still match a whole number of periods away)."""
    sample_rate = 16000
    x = np.random.default_rng(0).standard_normal(sample_rate)
    within = np.concatenate([np.zeros(80), x[:-80]])  # 5 ms late
    beyond = np.concatenate([np.zeros(320), x[:-320]])  # 20 ms late
    values = r_nonlin(as_audio(x, 0.3 * x, within, beyond), as_audio(x, x, x, x), sample_rate)
    assert values[0].item() == pytest.approx(1.0, abs=1e-9)
    assert values[1].item() == pytest.approx(1.0, abs=1e-9)
    # 33 frames end 160 samples before the clip does: every frame finds its delayed partner
    assert values[2].item() == pytest.approx(1.0, abs=1e-9)
    assert values[3].item() < 0.7  # measured 0.48


def test_harder_clipping_lowers_r_nonlin_monotonically():
    sample_rate = 16000
    x = harmonic_signal(1.0, sample_rate, seed=1)
    thresholds = [1.0, 0.8, 0.6, 0.4, 0.25, 0.15, 0.1]
    clipped = as_audio(*[np.clip(x, -t, t) for t in thresholds])
    values = r_nonlin(clipped, as_audio(x).expand(len(thresholds), 1, -1), sample_rate)
    assert values[0].item() == pytest.approx(1.0, abs=1e-9)
    assert (values.diff() < 0).all(), values
    assert values[-1].item() < 0.97


def test_noise_against_independent_noise_is_low():
    """Independent noises correlate only by chance, but the maximum over ±10 ms of lags within
    narrow bands and 30 ms frames picks the chance peaks: about 0.5 (measured 0.49), against
    more than 0.99 for the same noise with noise 20 dB below added."""
    rng = np.random.default_rng(7)
    first, second = rng.standard_normal((2, 32000))
    values = r_nonlin(as_audio(second, first + 0.1 * second), as_audio(first, first), 16000)
    assert values[0].item() < 0.6
    assert values[1].item() > 0.99


def test_silent_target_and_types():
    silence = torch.zeros(2, 1, 1000)
    noise = torch.randn(2, 1, 1000, generator=torch.Generator().manual_seed(0))
    assert r_nonlin(silence, silence, 16000).tolist() == [1.0, 1.0]
    assert r_nonlin(noise, silence, 16000).tolist() == [0.0, 0.0]
    stereo = torch.cat([noise, silence], 1)  # channel means: (r(noise, noise) + 1) / 2 = 1
    values = r_nonlin(stereo, stereo, 16000)
    assert values.dtype == torch.float32 and torch.allclose(values, torch.ones(2))


def test_bad_input_names_the_argument():
    x = torch.zeros(1, 1, 1000)
    with pytest.raises(ValueError, match="same shape"):
        r_nonlin(x, torch.zeros(1, 1, 999), 16000)
    with pytest.raises(ValueError, match="estimate"):
        r_nonlin(torch.zeros(1000), x, 16000)
    with pytest.raises(ValueError, match="sample_rate must be at least 1000"):
        r_nonlin(x, x, 500)
    with pytest.raises(ValueError, match="sample_rate"):
        r_nonlin(x, x, True)
    with pytest.raises(ValueError, match="at least one 30 ms frame"):
        r_nonlin(x[..., :400], x[..., :400], 16000)
    with pytest.raises(ValueError, match="ear_weighting"):
        r_nonlin(x, x, 16000, ear_weighting=1)
    with pytest.raises(ValueError, match="centre_hz"):
        gammatone_fir(9000.0, 16000)
    with pytest.raises(ValueError, match="num_taps"):
        gammatone_fir(1000.0, 16000, num_taps=0)
