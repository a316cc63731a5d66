"""Mixing and mastering tools of the synthetic-music generators (numpy, vectorised).

Placement of one-shot templates, the level variation of ``dynamics=True`` (part levels, loud and
quiet sections, the peak level), constant-power panning, a decaying-noise reverb, a tilt EQ, a
look-ahead peak limiter and a soft clipper. Signals are float64 arrays ``(samples,)`` or
``(channels, samples)``; every random draw comes from the generator passed in.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.ndimage
import scipy.signal
import torch

from ..functional.units import db_to_gain, gain_to_db

PEAK = 0.9
# Level variation of ``dynamics=True``: the range of the peak level (dBFS), the largest change
# of a part's level (dB), the section lengths (beats), the level ranges of normal and quiet
# sections (dB) and the probability of a quiet section.
PEAK_DB_RANGE = (-24.0, gain_to_db(PEAK))
PART_LEVEL_DB = 6.0
SECTION_BEATS = (2, 4, 8)
SECTION_DB = (-12.0, 0.0)
QUIET_SECTION_DB = (-30.0, -15.0)
QUIET_SECTION_PROBABILITY = 0.25


def place(template: np.ndarray, onsets: np.ndarray, gains: np.ndarray, n: int) -> np.ndarray:
    """Sum of ``template`` started at every sample index of ``onsets`` (ascending), scaled by
    ``gains``, over ``n`` samples."""
    out = np.zeros(n)
    for onset, gain in zip(onsets.tolist(), gains.tolist(), strict=True):
        if onset >= n:
            break
        stop = min(n, onset + template.size)
        out[onset:stop] += gain * template[: stop - onset]
    return out


def section_gain(rng: np.random.Generator, n: int, sr: int, beat: int) -> np.ndarray:
    """Per-sample gain ``(n,)`` of loud and quiet sections: sections of 2, 4 or 8 beats (of
    ``beat`` samples), each a linear ramp in dB between two levels drawn from ``[-12, 0]`` dB,
    or from ``[-30, -15]`` dB for a quiet section (probability 1/4); the jumps between sections
    are smoothed over 5 ms."""
    gain_db = np.empty(n)
    start = 0
    while start < n:
        stop = min(n, start + int(rng.choice(SECTION_BEATS)) * beat)
        quiet = rng.random() < QUIET_SECTION_PROBABILITY
        first, last = rng.uniform(*(QUIET_SECTION_DB if quiet else SECTION_DB), 2)
        gain_db[start:stop] = np.linspace(first, last, stop - start)
        start = stop
    smooth = max(1, int(0.005 * sr))
    gain_db = np.convolve(np.pad(gain_db, (smooth - 1, 0), mode="edge"),
                          np.full(smooth, 1.0 / smooth), mode="valid")
    return db_to_gain(torch.from_numpy(gain_db)).numpy()


def vary_dynamics(rng: np.random.Generator, parts: list[np.ndarray], sr: int,
                  beat: int) -> tuple[list[np.ndarray], float]:
    """The parts ``(n,)`` each with a random level (±6 dB) and the section gain of
    :func:`section_gain`, and a random peak level in ``(0, 0.9]``, for ``dynamics=True``."""
    offsets_db = rng.uniform(-PART_LEVEL_DB, PART_LEVEL_DB, len(parts))
    gain = section_gain(rng, parts[0].size, sr, beat)
    parts = [p * (db_to_gain(float(g)) * gain) for p, g in zip(parts, offsets_db, strict=True)]
    peak = db_to_gain(float(rng.uniform(*PEAK_DB_RANGE)))
    return parts, peak


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power (left, right) gains of a pan position in ``[-1, 1]``, both 1 at the
    centre."""
    angle = (pan + 1.0) * math.pi / 4
    return math.cos(angle) * math.sqrt(2.0), math.sin(angle) * math.sqrt(2.0)


def delayed(x: np.ndarray, samples: int) -> np.ndarray:
    """``x`` ``(n,)`` delayed by ``samples >= 0`` (zeros shifted in, the end dropped)."""
    if samples <= 0:
        return x
    out = np.zeros_like(x)
    out[samples:] = x[: x.size - samples]
    return out


def one_pole_lowpass(x: np.ndarray, cutoff_hz: float, sr: int) -> np.ndarray:
    """First-order low-pass of the last axis of ``x`` (cutoff below 0.45·sr)."""
    alpha = 1.0 - math.exp(-2 * math.pi * min(cutoff_hz, 0.45 * sr) / sr)
    return scipy.signal.lfilter([alpha], [1.0, alpha - 1.0], x, axis=-1)


def butter(x: np.ndarray, kind: str, cutoff_hz: float | tuple[float, float], sr: int,
           order: int = 2) -> np.ndarray:
    """Butterworth ``kind`` filter (``"lowpass"``, ``"highpass"``, ``"bandpass"``) of the last
    axis of ``x``; cutoffs are kept inside ``[20 Hz, 0.45·sr]``, a band-pass at least 10 %
    wide."""
    top = 0.45 * sr
    if kind == "bandpass":
        low = min(max(cutoff_hz[0], 20.0), 0.8 * top)
        high = min(max(cutoff_hz[1], 1.1 * low), top)
        edges: float | tuple[float, float] = (low, high)
    else:
        edges = min(max(float(cutoff_hz), 20.0), top)
    sos = scipy.signal.butter(order, edges, kind, fs=sr, output="sos")
    return scipy.signal.sosfilt(sos, x, axis=-1)


def reverb_ir(rng: np.random.Generator, sr: int, rt60_s: float, damping_hz: float,
              predelay_s: float) -> np.ndarray:
    """Impulse response ``(samples,)`` of a simple room: white noise decaying by 60 dB in
    ``rt60_s`` whose highs (above ``damping_hz``) die out about four times faster, after
    ``predelay_s`` of silence; unit energy. Its length is ``predelay + min(rt60, 3 s)``; its
    last 20 % fades out linearly, so a tail cut at 3 s ends smoothly."""
    n = max(1, int(min(rt60_s, 3.0) * sr))
    t = np.arange(n) / sr
    noise = rng.standard_normal(n)
    dark = one_pole_lowpass(noise, damping_hz, sr)
    decay = np.exp(-6.91 * t / rt60_s)
    fade = np.minimum(1.0, 5.0 * (1.0 - np.arange(n) / n))
    ir = (dark + (noise - dark) * decay**3) * decay * fade
    ir = np.concatenate([np.zeros(int(predelay_s * sr)), ir])
    return ir / math.sqrt(float(np.sum(ir**2)) + 1e-12)


def convolve(x: np.ndarray, ir: np.ndarray) -> np.ndarray:
    """``x`` ``(n,)`` convolved with ``ir`` (FFT), cut to ``n`` samples."""
    return scipy.signal.fftconvolve(x, ir)[: x.size]


def tilt(x: np.ndarray, sr: int, tilt_db: float, pivot_hz: float) -> np.ndarray:
    """Tilt EQ: the band below ``pivot_hz`` (first-order split) by ``-tilt_db/2`` dB and the band
    above by ``+tilt_db/2`` dB (a positive tilt brightens)."""
    low = one_pole_lowpass(x, pivot_hz, sr)
    return low * db_to_gain(-tilt_db / 2) + (x - low) * db_to_gain(tilt_db / 2)


def limit(x: np.ndarray, sr: int, reduction_db: float, window_s: float) -> np.ndarray:
    """Look-ahead peak limiter: ``x`` ``(channels, n)`` times a smooth gain that keeps every
    sample within ``reduction_db`` dB below the input peak.

    The needed gain ``min(1, threshold/|x|)`` (loudest channel) goes through a moving minimum
    and a moving average over the same centred window of ``window_s``; the average of minima
    over windows that all contain a sample is never above that sample's needed gain, so the
    threshold holds (up to the edges)."""
    level = np.abs(x).max(axis=0)
    threshold = level.max() * db_to_gain(-reduction_db)
    need = np.minimum(1.0, threshold / np.maximum(level, 1e-12))
    width = 2 * max(1, int(window_s * sr / 2)) + 1
    gain = scipy.ndimage.minimum_filter1d(need, width, mode="nearest")
    gain = scipy.ndimage.uniform_filter1d(gain, width, mode="nearest")
    return x * gain


def soft_clip(x: np.ndarray, drive: float) -> np.ndarray:
    """``tanh(drive·x/peak)/tanh(drive)·peak``: rounds the loudest peaks, keeps the peak."""
    peak = float(np.abs(x).max()) + 1e-12
    return np.tanh(drive * x / peak) / math.tanh(drive) * peak


__all__ = ["PEAK", "PEAK_DB_RANGE", "butter", "convolve", "delayed", "limit",
           "one_pole_lowpass", "pan_gains", "place", "reverb_ir", "section_gain", "soft_clip",
           "tilt", "vary_dynamics"]
