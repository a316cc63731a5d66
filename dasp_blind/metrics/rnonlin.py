"""R-nonlin: an approximate re-implementation of Tan, Moore, Zacharov & Mattila (2004).

Tan et al., "Predicting the perceived quality of nonlinearly distorted music and speech signals"
(J. Audio Eng. Soc. 52(7/8), 2004) predict the quality of a nonlinearly distorted signal from
how well each auditory band of the distorted signal still correlates with that of the
reference. No reference implementation is public; this one follows the published summary
(40 gammatone bands, 30 ms frames, maximum normalised cross-correlation over lags of ±10 ms,
level-weighted sum over bands, mean over frames) and fills the unpublished details with the
choices below. Values are therefore comparable between runs of this function, not with the
numbers of the paper.

1. **Outer and middle ear** (approximation): not a filter but a gain per band, the outer/middle
   ear weighting of Terhardt (1979) used by PEAQ (ITU-R BS.1387) at the band's centre frequency
   ``f`` (kHz): ``A(f) = −2.184·f^−0.8 + 6.5·exp(−0.6·(f − 3.3)²) − 0.001·f^3.6`` dB. The
   correlations are invariant to a band's gain, so the weighting only moves the band levels
   (and hence the band weights); a filter of the same shape would also tilt each band slightly.
2. **Gammatone filterbank**: 40 fourth-order gammatone filters (Patterson; bandwidth
   ``1.019·ERB(f)``, ``ERB(f) = 24.7·(4.37·f/1000 + 1)`` Hz, Glasberg & Moore 1990), centre
   frequencies equally spaced on the ERB-number scale ``21.4·log10(4.37·f/1000 + 1)`` from
   50 Hz to ``min(0.45·sample_rate, 16000)`` Hz. Each is an FIR filter, the sampled impulse
   response ``t³·exp(−2π·1.019·ERB·t)·cos(2π·f·t)`` truncated where its envelope is 98 dB below
   its peak and scaled to unit gain at its centre frequency (:func:`gammatone_fir`).
3. **Frames**: consecutive 30 ms frames of the reference (a partial last frame is dropped).
4. **Correlation**: per band and frame, the maximum over lags ``τ`` of ±10 ms of
   ``Σ r[n]·d[n + τ] / sqrt(Σ r[n]² · Σ d[n + τ]²)`` (sums over the frame's samples ``n``; the
   distorted band signal is zero outside the clip), clamped to ``[0, 1]``.
5. **Band weights** (approximation: the paper's constants are unpublished): the band levels
   ``L_k`` of the reference in the frame (ear-weighted, dB); bands more than
   :data:`BAND_RANGE_DB` (40 dB) below the loudest are ignored, the others weigh
   ``L_k − (L_max − 40 dB)``, normalised to sum to 1 (a band at the floor weighs 0, and the
   weights do not depend on the overall gain).
6. **Frames that count**: those whose reference energy (over all bands) is within
   :data:`SILENT_FRAME_DB` (60 dB) of the loudest frame and above :data:`SILENCE_RMS`; the
   result is the mean over them of the weighted band sums.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import scipy.fft
import torch
from torch import Tensor

from .._checks import check_audio_pair, check_bool, check_int, check_sample_rate
from ..functional.units import db_to_gain

#: Number of gammatone bands.
NUM_BANDS = 40
#: Centre frequency of the lowest band (Hz).
LOWEST_CENTRE_HZ = 50.0
#: Centre frequency of the highest band (Hz): ``min(HIGHEST_CENTRE_HZ, HIGHEST_CENTRE_NYQUIST ·
#: sample_rate / 2)``.
HIGHEST_CENTRE_HZ = 16000.0
#: See :data:`HIGHEST_CENTRE_HZ`.
HIGHEST_CENTRE_NYQUIST = 0.9
#: Frame length and largest lag searched (seconds).
FRAME_S = 0.030
MAX_LAG_S = 0.010
#: Bands more than this far below the frame's loudest band are ignored (dB).
BAND_RANGE_DB = 40.0
#: Frames more than this far below the loudest frame of the reference are skipped (dB).
SILENT_FRAME_DB = 60.0
#: Frames whose reference RMS (summed over the bands) is below this are silent (−160 dBFS).
SILENCE_RMS = 1e-8
#: Lowest sample rate accepted (Hz): a 30 ms frame of at least 30 samples and room for 40 bands
#: above 50 Hz.
MIN_SAMPLE_RATE = 1000.0
#: Gammatone bandwidth factor (Patterson et al.): bandwidth ``1.019·ERB``.
BANDWIDTH_FACTOR = 1.019
#: FIR length of the gammatone filters: the envelope ``t³·exp(−αt)`` is cut at ``αt = 20``,
#: where it is 98 dB below its peak (at ``αt = 3``).
ENVELOPE_CUT = 20.0
#: Largest number of (band, frame, sample) values the correlation step holds at once.
_CHUNK_VALUES = 1 << 22


def erb_hz(freq_hz: np.ndarray | float) -> np.ndarray:
    """Equivalent rectangular bandwidth ``24.7·(4.37·f/1000 + 1)`` Hz (Glasberg & Moore)."""
    return 24.7 * (4.37e-3 * np.asarray(freq_hz, dtype=np.float64) + 1.0)


def erb_number(freq_hz: np.ndarray | float) -> np.ndarray:
    """ERB-number (Cam) of a frequency: ``21.4·log10(4.37·f/1000 + 1)``."""
    return 21.4 * np.log10(4.37e-3 * np.asarray(freq_hz, dtype=np.float64) + 1.0)


def centre_frequencies(sample_rate: float) -> np.ndarray:
    """The :data:`NUM_BANDS` centre frequencies (Hz), equally spaced in ERB number from
    :data:`LOWEST_CENTRE_HZ` to ``min(0.45·sample_rate, 16000)``; ``(NUM_BANDS,)`` float64."""
    sample_rate = _check_rate(sample_rate)
    top = min(HIGHEST_CENTRE_NYQUIST * sample_rate / 2, HIGHEST_CENTRE_HZ)
    cams = np.linspace(erb_number(LOWEST_CENTRE_HZ), erb_number(top), NUM_BANDS)
    return (np.power(10.0, cams / 21.4) - 1.0) / 4.37e-3  # the inverse of erb_number


def ear_weighting_db(freq_hz: np.ndarray | float) -> np.ndarray:
    """Outer/middle-ear weighting in dB (Terhardt 1979, as in PEAQ, ITU-R BS.1387):
    ``−2.184·f^−0.8 + 6.5·exp(−0.6·(f − 3.3)²) − 0.001·f^3.6`` with ``f`` in kHz."""
    khz = np.asarray(freq_hz, dtype=np.float64) / 1000.0
    return -2.184 * khz ** -0.8 + 6.5 * np.exp(-0.6 * (khz - 3.3) ** 2) - 1e-3 * khz ** 3.6


def gammatone_fir(centre_hz: float, sample_rate: float, num_taps: int | None = None) -> np.ndarray:
    """FIR 4th-order gammatone filter with unit gain at its centre frequency.

    ``h[n] ∝ t³·exp(−2π·1.019·ERB(f)·t)·cos(2π·f·t)`` at ``t = n / sample_rate``, the shape of
    ``scipy.signal.gammatone(f, "fir", ...)``, scaled so that ``|H(f)| = 1`` exactly (scipy's
    scale is the continuous-time approximation, off by up to about 1 % for low bands).

    Args:
        centre_hz: centre frequency ``f`` in Hz, in ``(0, sample_rate / 2)``.
        sample_rate: sample rate in Hz.
        num_taps: length; default: up to where the envelope is 98 dB below its peak.

    Returns:
        ``(num_taps,)`` float64 taps.
    """
    sample_rate = check_sample_rate(sample_rate)
    if not 0 < centre_hz < sample_rate / 2:
        raise ValueError(f"centre_hz must lie in (0, {sample_rate / 2:g}) Hz, got {centre_hz!r}")
    decay = 2 * math.pi * BANDWIDTH_FACTOR * float(erb_hz(centre_hz))
    num_taps = (math.ceil(ENVELOPE_CUT / decay * sample_rate) + 1 if num_taps is None
                else check_int(num_taps, "num_taps", low=1))
    t = np.arange(num_taps) / sample_rate
    taps = t ** 3 * np.exp(-decay * t) * np.cos(2 * math.pi * centre_hz * t)
    gain = abs(np.sum(taps * np.exp(-2j * math.pi * centre_hz * t)))
    return taps / gain


def _check_rate(sample_rate: object) -> float:
    rate = check_sample_rate(sample_rate)
    if rate < MIN_SAMPLE_RATE:
        raise ValueError(f"sample_rate must be at least {MIN_SAMPLE_RATE:g} Hz, got "
                         f"{sample_rate!r}")
    return rate


@lru_cache(maxsize=8)
def _filterbank(sample_rate: float, ear_weighting: bool) -> tuple[Tensor, Tensor]:
    """Gammatone FIRs ``(NUM_BANDS, taps)`` (zero-padded to the longest, the lowest band's) and
    the band gains ``(NUM_BANDS,)`` of the ear weighting (ones without it), float64."""
    centres = centre_frequencies(sample_rate)
    firs = [gammatone_fir(f, sample_rate) for f in centres]
    bank = np.zeros((len(firs), max(len(h) for h in firs)))
    for k, h in enumerate(firs):
        bank[k, :len(h)] = h
    gains = (db_to_gain(torch.from_numpy(ear_weighting_db(centres))) if ear_weighting
             else torch.ones(len(centres), dtype=torch.float64))
    return torch.from_numpy(bank), gains


def _band_signals(x: Tensor, bank_spectrum: Tensor, size: int) -> Tensor:
    """``x`` ``(signals, samples)`` through every filter of a bank (causal, truncated to the
    input's length) by FFTs of ``size`` samples: ``(signals, bands, samples)``.

    ``bank_spectrum``: ``rfft(bank, n=size)`` of the taps ``(bands, taps)``, with ``size >=
    samples + taps − 1``."""
    spectrum = torch.fft.rfft(x, n=size)[:, None] * bank_spectrum
    return torch.fft.irfft(spectrum, n=size)[..., :x.shape[-1]]


def _max_correlations(ref: Tensor, dist: Tensor, frame: int, lag: int) -> Tensor:
    """Maximum normalised cross-correlation over lags ``−lag…lag`` of each reference frame of
    ``frame`` samples with the distorted band signal, ``(bands, frames)`` in ``[0, 1]``.

    ``ref``, ``dist``: band signals ``(bands, samples)``, ``samples >= frame``."""
    bands, samples = ref.shape
    frames = samples // frame
    span = frame + 2 * lag  # the distorted samples that frame f meets over all lags
    ref_frames = ref[:, :frames * frame].reshape(bands, frames, frame)
    padded = torch.nn.functional.pad(dist, (lag, lag))  # zero outside the clip
    dist_frames = padded[:, :frames * frame + 2 * lag].unfold(-1, span, frame)
    out = []
    step = max(1, _CHUNK_VALUES // (frames * span))
    for start in range(0, bands, step):
        r, d = ref_frames[start:start + step], dist_frames[start:start + step]
        # product[k] = Σ_n r[n]·d[n + k], k = τ + lag: a circular correlation of length span
        # that never wraps for k <= 2·lag
        product = torch.fft.irfft(torch.fft.rfft(r, n=span).conj() * torch.fft.rfft(d, n=span),
                                  n=span)[..., :2 * lag + 1]
        energy = torch.nn.functional.pad(d.square().cumsum(-1), (1, 0))
        shifted = energy[..., frame:frame + 2 * lag + 1] - energy[..., :2 * lag + 1]
        norm = (r.square().sum(-1, keepdim=True) * shifted.clamp_min(0)).sqrt()
        rho = torch.where(norm > 0, product / norm.clamp_min(torch.finfo(norm.dtype).tiny), 0.0)
        out.append(rho.amax(-1).clamp(0.0, 1.0))
    return torch.cat(out)


def _r_nonlin_signal(ref: Tensor, dist: Tensor, frame: int, lag: int, gains: Tensor) -> float:
    """R-nonlin of one signal from its band signals ``(bands, samples)``."""
    frames = ref.shape[-1] // frame
    energy = ref[:, :frames * frame].reshape(ref.shape[0], frames, frame).square().sum(-1)
    energy = energy * gains[:, None].square()  # (bands, frames), ear-weighted
    frame_energy = energy.sum(0)
    loudest = float(frame_energy.max())
    if loudest <= SILENCE_RMS ** 2 * frame:
        return 1.0 if float(dist.square().sum()) == 0.0 else 0.0
    counted = (frame_energy > loudest * db_to_gain(-SILENT_FRAME_DB) ** 2) & (
        frame_energy > SILENCE_RMS ** 2 * frame)
    level = 10 * torch.log10(energy[:, counted].clamp_min(torch.finfo(energy.dtype).tiny))
    weight = (level - level.amax(0) + BAND_RANGE_DB).clamp_min(0.0)
    weight = weight / weight.sum(0)
    rho = _max_correlations(ref, dist, frame, lag)[:, counted]
    return float((weight * rho).sum(0).mean())


def r_nonlin(estimate: Tensor, target: Tensor, sample_rate: float, *,
             ear_weighting: bool = True) -> Tensor:
    """R-nonlin of each item: 1 for no distortion, lower for more (approximate re-implementation
    of Tan et al. 2004; see the module docstring for the algorithm and what is approximate).

    Invariant to the estimate's gain and, except near the clip's ends, to delays of up to
    10 ms. Computed on the CPU in float64 (not differentiable); a 10 s clip at 16 kHz takes
    about 0.4 s of one core.

    Args:
        estimate: the distorted (or restored) audio ``(batch, channels, samples)``.
        target: the clean reference, the same shape, at least 30 ms long.
        sample_rate: sample rate in Hz, at least 1000.
        ear_weighting: weight the band levels by the outer/middle-ear curve.

    Returns:
        ``(batch,)`` in ``[0, 1]``: the mean over the item's channels, in the dtype and on the
        device of ``target``. A channel whose reference is silent (every frame below
        :data:`SILENCE_RMS`) gives 1 when the estimate is all zeros too, else 0.
    """
    check_audio_pair(estimate, target)
    rate = _check_rate(sample_rate)
    ear_weighting = check_bool(ear_weighting, "ear_weighting")
    frame, lag = round(FRAME_S * rate), round(MAX_LAG_S * rate)
    if target.shape[-1] < frame:
        raise ValueError(f"target must hold at least one 30 ms frame ({frame} samples at "
                         f"{rate:g} Hz), got {target.shape[-1]} samples")
    bank, gains = _filterbank(rate, ear_weighting)
    batch, channels, samples = target.shape
    ref = target.detach().to("cpu", torch.float64).reshape(-1, samples)
    dist = estimate.detach().to("cpu", torch.float64).reshape(-1, samples)
    size = scipy.fft.next_fast_len(samples + bank.shape[-1] - 1, real=True)
    bank_spectrum = torch.fft.rfft(bank, n=size)
    values = []
    for i in range(ref.shape[0]):
        bands = _band_signals(torch.stack([ref[i], dist[i]]), bank_spectrum, size)
        values.append(_r_nonlin_signal(bands[0], bands[1], frame, lag, gains))
    result = torch.tensor(values, dtype=torch.float64).reshape(batch, channels).mean(1)
    return result.to(device=target.device, dtype=target.dtype)


__all__ = ["BAND_RANGE_DB", "FRAME_S", "MAX_LAG_S", "NUM_BANDS", "SILENCE_RMS",
           "SILENT_FRAME_DB", "centre_frequencies", "ear_weighting_db", "erb_hz", "erb_number",
           "gammatone_fir", "r_nonlin"]
