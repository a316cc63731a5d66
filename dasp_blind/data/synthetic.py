"""A seeded generator of synthetic music: :func:`synthetic_music`.

Used by the demo, the tests and as training data when no real recordings are at hand (the
seeded dataset of clips built on it is :class:`~dasp_blind.data.clips.SyntheticClips`).

The ``"basic"`` style (the default) is a small piece of drums, bass, chords and a melody: every
random choice (tempo, key, mode, chord progression, drum and bass patterns, melody, mixing
levels, noise) comes from one ``numpy.random.default_rng(seed)``, and the optional variation of
levels and dynamics from a second generator seeded with ``[seed, 1]``, so a seed always gives
the same bit-identical audio. Rendering is vectorised with numpy: the drums are impulse trains
convolved with one-hit templates, the pitched parts are phase accumulators over a per-sample
frequency track; the only Python loops run over notes.

The other styles are the genres of :mod:`.genres` (rock, pop, electronic, jazz, hip-hop,
ambient, folk, solo piano), mixed and mastered, or ``"random"``: a genre drawn from the seed.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.signal
import torch
from torch import Tensor

from .._checks import check_bool, check_choice, check_positive, check_seed
from .genres import GENRES, random_genre, render_genre
from .instruments import midi_to_hz
from .mixing import PEAK, place, vary_dynamics

#: Styles of :func:`synthetic_music`: the original ``"basic"`` piece, ``"random"`` (a genre
#: drawn from the seed) and each genre of :data:`~dasp_blind.data.genres.GENRES`.
STYLES = ("basic", "random", *GENRES)

_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)
_MAJOR_PENTA = (0, 2, 4, 7, 9)
_MINOR_PENTA = (0, 3, 5, 7, 10)


def _check_args(duration_s: float, sample_rate: int, channels: int, tempo_bpm: float | None,
                dynamics: bool, style: str) -> tuple[float, int, int]:
    duration = check_positive(duration_s, "duration_s")
    check_bool(dynamics, "dynamics")
    check_choice(style, "style", STYLES)
    if isinstance(sample_rate, bool) or not float(sample_rate).is_integer() or sample_rate < 4000:
        raise ValueError(f"sample_rate must be an integer >= 4000 Hz, got {sample_rate!r}")
    if channels not in (1, 2):
        raise ValueError(f"channels must be 1 or 2, got {channels!r}")
    if tempo_bpm is not None and not (math.isfinite(float(tempo_bpm))
                                      and 30.0 <= float(tempo_bpm) <= 300.0):
        raise ValueError(f"tempo_bpm must be None or lie in [30, 300], got {tempo_bpm!r}")
    num_samples = int(round(duration * int(sample_rate)))
    if num_samples < 1:
        raise ValueError(f"duration_s={duration_s!r} at sample_rate={sample_rate} gives no samples")
    return duration, int(sample_rate), num_samples


def _envelope(length: int, sr: int, attack_s: float, release_s: float) -> np.ndarray:
    """Linear attack, sustain at 1 and linear release over ``length`` samples."""
    t = np.arange(length)
    a = max(1, int(attack_s * sr))
    r = max(1, int(release_s * sr))
    return np.clip(np.minimum((t + 1) / a, (length - t) / r), 0.0, 1.0)


def _drums(rng: np.random.Generator, n: int, sr: int, step: int,
           steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kick, snare and closed hi-hat tracks on a 16-step 4/4 grid of ``step`` samples."""
    nyq = sr / 2
    # Kick: exponentially decaying sine whose pitch sweeps from about 150 Hz down to 50 Hz.
    t = np.arange(int(0.35 * sr)) / sr
    f = 50.0 + 100.0 * np.exp(-t / 0.03)
    kick = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t / 0.12)
    kick *= np.minimum(1.0, t / 0.002)  # 2 ms fade-in against a click
    # Snare: band-passed noise burst plus a short 190 Hz tone.
    t = np.arange(int(0.25 * sr)) / sr
    b, a = scipy.signal.butter(2, [min(1000.0, 0.4 * nyq), min(6000.0, 0.9 * nyq)], "bandpass",
                               fs=sr)
    noise = scipy.signal.lfilter(b, a, rng.standard_normal(t.size))
    snare = 0.8 * noise / (np.abs(noise).max() + 1e-12) * np.exp(-t / 0.06)
    snare += 0.5 * np.sin(2 * np.pi * 190.0 * t) * np.exp(-t / 0.03)
    # Closed hi-hat: short high-passed noise burst.
    t = np.arange(int(0.06 * sr)) / sr
    b, a = scipy.signal.butter(2, min(7000.0, 0.6 * nyq), "highpass", fs=sr)
    noise = scipy.signal.lfilter(b, a, rng.standard_normal(t.size))
    hat = noise / (np.abs(noise).max() + 1e-12) * np.exp(-t / 0.015)

    # One-bar patterns (16 sixteenth steps): kick on 1 and 3 plus random syncopations, snare on
    # 2 and 4 with a rare ghost note, hats on eighths or sixteenths with accents.
    kick_pat = np.zeros(16)
    kick_pat[[0, 8]] = 1.0
    extra = rng.choice([3, 6, 7, 10, 11, 14], size=rng.integers(0, 3), replace=False)
    kick_pat[extra] = 0.7
    snare_pat = np.zeros(16)
    snare_pat[[4, 12]] = 1.0
    if rng.random() < 0.5:
        snare_pat[rng.choice([7, 9, 15])] = 0.3
    hat_pat = np.zeros(16)
    hat_every = 1 if rng.random() < 0.5 else 2
    hat_pat[::hat_every] = 0.5
    hat_pat[::4] = 0.8

    grid = np.arange(steps)
    onsets = grid * step
    tracks = []
    for pattern, template in ((kick_pat, kick), (snare_pat, snare), (hat_pat, hat)):
        gains = pattern[grid % 16] * rng.uniform(0.85, 1.0, steps)
        hit = gains > 0
        tracks.append(place(template, onsets[hit], gains[hit], n))
    return tracks[0], tracks[1], tracks[2]


def _voice(freq: np.ndarray, sr: int,
           partials: tuple[tuple[float, float, float], ...]) -> np.ndarray:
    """Additive voice over a per-sample frequency track: sum of ``amp·sin(k·phase·detune)``
    for ``(k, amp, detune_cents)`` in ``partials``."""
    phase = 2 * np.pi * np.cumsum(freq) / sr
    out = np.zeros_like(freq)
    for k, amp, cents in partials:
        out += amp * np.sin(k * 2.0 ** (cents / 1200.0) * phase)
    return out


def _bass(rng, n, sr, step, steps, roots, bar_steps) -> np.ndarray:
    """Saw bass on chord roots through a one-pole low-pass; notes on a random eighth pattern."""
    pattern = rng.random(8) < 0.6
    pattern[0] = True
    freq = np.zeros(n)
    env = np.zeros(n)
    note_len = 2 * step
    for s in range(0, steps, 2):
        if not pattern[(s % bar_steps) // 2]:
            continue
        start = s * step
        if start >= n:
            break
        stop = min(n, start + note_len)
        octave = 12 if rng.random() < 0.15 else 0
        freq[start:stop] = midi_to_hz(roots[s // bar_steps] + octave)
        env[start:stop] = _envelope(note_len, sr, 0.005, 0.03)[: stop - start]
    # Keep the last frequency through rests so the phase accumulator does not jump.
    held = np.maximum.accumulate(np.where(freq > 0, np.arange(n), 0))
    freq = freq[held]
    freq[freq == 0] = midi_to_hz(roots[0])
    cycles = np.cumsum(freq) / sr
    saw = 2.0 * (cycles - np.floor(cycles)) - 1.0
    cutoff = rng.uniform(300.0, 900.0)
    alpha = 1.0 - math.exp(-2 * math.pi * cutoff / sr)
    return scipy.signal.lfilter([alpha], [1.0, alpha - 1.0], saw * env)


def _chords(rng, n, sr, bar, chords_midi) -> np.ndarray:
    """Pads: each chord note is a voice of three detuned partials with soft attack/release."""
    num_bars = len(chords_midi)
    out = np.zeros(n)
    voices = max(len(c) for c in chords_midi)
    env = np.zeros(n)
    for i in range(num_bars):
        start, stop = i * bar, min(n, (i + 1) * bar)
        if start >= n:
            break
        env[start:stop] = _envelope(bar, sr, 0.08, 0.2)[: stop - start]
    detune = rng.uniform(3.0, 9.0)
    partials = ((1.0, 0.6, -detune), (1.0, 0.6, detune), (2.0, 0.25, 0.0), (3.0, 0.1, detune))
    for v in range(voices):
        freq = np.zeros(n)
        for i, chord in enumerate(chords_midi):
            start, stop = i * bar, min(n, (i + 1) * bar)
            if start >= n:
                break
            freq[start:stop] = midi_to_hz(chord[min(v, len(chord) - 1)])
        out += _voice(freq, sr, partials)
    return out * env / voices


def _melody(rng, n, sr, step, key_root, penta) -> np.ndarray:
    """Pentatonic melody: sine plus harmonics with delayed vibrato, eighth to half notes."""
    freq = np.zeros(n)
    env = np.zeros(n)
    vib_gate = np.zeros(n)
    pos = 0
    degree = int(rng.integers(0, len(penta)))
    base = key_root + 24  # two octaves above the chord root
    while pos < n:
        length = int(rng.choice([2, 2, 4, 4, 4, 8])) * step
        stop = min(n, pos + length)
        if rng.random() < 0.2:  # rest
            pos = stop
            continue
        degree = int(np.clip(degree + rng.integers(-2, 3), 0, 2 * len(penta) - 1))
        note = base + 12 * (degree // len(penta)) + penta[degree % len(penta)]
        freq[pos:stop] = midi_to_hz(note)
        env[pos:stop] = _envelope(length, sr, 0.01, 0.05)[: stop - pos]
        # Vibrato fades in over 150 ms after each onset.
        vib_gate[pos:stop] = np.minimum(1.0, np.arange(stop - pos) / (0.15 * sr))
        pos = stop
    held = np.maximum.accumulate(np.where(freq > 0, np.arange(n), 0))
    freq = freq[held]
    freq[freq == 0] = midi_to_hz(base)
    t = np.arange(n) / sr
    vib_rate = rng.uniform(4.5, 6.5)
    freq = freq * 2.0 ** (0.25 / 12.0 * vib_gate * np.sin(2 * np.pi * vib_rate * t))
    tone = _voice(freq, sr, ((1.0, 1.0, 0.0), (2.0, 0.3, 0.0), (3.0, 0.15, 0.0)))
    return tone * env


def _basic(rng: np.random.Generator, seed: int, n: int, sr: int, channels: int,
           tempo_bpm: float | None, dynamics: bool) -> tuple[np.ndarray, float]:
    """The ``"basic"`` piece ``(channels, n)`` (not normalised) and its peak level."""
    tempo = float(tempo_bpm) if tempo_bpm is not None else float(rng.uniform(90.0, 140.0))
    step = max(1, int(round(60.0 / tempo / 4 * sr)))  # one sixteenth note in samples
    bar_steps = 16
    bar = bar_steps * step
    num_bars = -(-n // bar)
    steps = num_bars * bar_steps

    key_root = 45 + int(rng.integers(0, 12))  # A2 .. G#3: root of the chords
    minor = bool(rng.random() < 0.5)
    scale = _MINOR if minor else _MAJOR
    penta = _MINOR_PENTA if minor else _MAJOR_PENTA
    # A four-bar diatonic progression starting on the tonic, looped.
    degrees = [0] + [int(d) for d in rng.choice([1, 2, 3, 4, 5], size=3)]
    progression = []
    for d in degrees:
        size = 4 if rng.random() < 0.4 else 3  # triad or seventh, stacked in scale thirds
        notes = [key_root + scale[(d + 2 * k) % 7] + 12 * ((d + 2 * k) // 7) for k in range(size)]
        progression.append(notes)
    chords_midi = [progression[i % 4] for i in range(num_bars)]
    roots = [c[0] - 12 for c in chords_midi]

    kick, snare, hat = _drums(rng, n, sr, step, steps)
    bass = _bass(rng, n, sr, step, steps, roots, bar_steps)
    pads = _chords(rng, n, sr, bar, chords_midi)
    melody = _melody(rng, n, sr, step, key_root, penta)

    parts = [kick, snare, hat, bass, pads, melody]
    levels = np.array([1.0, 0.6, 0.45, 0.7, 0.35, 0.4]) * rng.uniform(0.8, 1.2, len(parts))
    parts = [p / (np.abs(p).max() + 1e-12) * g for p, g in zip(parts, levels, strict=True)]
    peak = PEAK
    if dynamics:
        parts, peak = vary_dynamics(np.random.default_rng([seed, 1]), parts, sr, 4 * step)
    if channels == 1:
        return np.sum(parts, axis=0)[None, :], peak
    # Pan positions in [-1, 1] (kick, snare and bass near the centre), constant power.
    pans = np.array([0.0, rng.uniform(-0.2, 0.2), rng.uniform(0.3, 0.6), 0.0,
                     rng.uniform(-0.6, -0.3), rng.uniform(0.1, 0.4)])
    angle = (pans + 1.0) * np.pi / 4
    stacked = np.stack(parts)
    return np.stack([np.cos(angle) @ stacked, np.sin(angle) @ stacked]) * math.sqrt(2.0), peak


def synthetic_music(duration_s: float = 4.0, sample_rate: int = 44100, seed: int = 0,
                    channels: int = 1, tempo_bpm: float | None = None,
                    dynamics: bool = False, style: str = "basic") -> Tensor:
    """Render a seeded piece of synthetic music.

    ``style="basic"`` (the default): drums (a kick that sweeps from about 150 to 50 Hz, a
    noise-and-tone snare, high-passed closed hi-hats) on a 4/4 pattern, a low-passed saw bass on
    the chord roots, pads playing a random diatonic progression of triads and sevenths, and a
    pentatonic melody with vibrato. Tempo, key, mode, progression, patterns and levels all come
    from ``seed``.

    ``style="random"`` or a genre (``"rock"``, ``"pop"``, ``"electronic"``, ``"jazz"``,
    ``"hiphop"``, ``"ambient"``, ``"folk"``, ``"piano"``): a richer piece written in that genre
    (or in the genre :func:`~dasp_blind.data.genres.random_genre` draws from ``seed``): its own
    tempo range (60–180 BPM over all genres), progressions, rhythms, swing and instruments, 2
    to 7 parts, part levels, breaks, stereo width, reverb, a random tilt EQ, and sometimes a
    limiter and a soft clip (see :mod:`dasp_blind.data.genres`). ``style="random"`` gives the
    same audio as the drawn genre with the same seed.

    With ``dynamics=True`` the levels vary as in real recordings: each part's level moves by up
    to ±6 dB, the music falls into sections of 2, 4 or 8 beats, each a ramp (crescendo or
    decrescendo) between two levels in ``[-12, 0]`` dB or, one time in four, a quiet section in
    ``[-30, -15]`` dB, and the peak level is drawn from ``[-24, -0.92]`` dBFS instead of being
    0.9. These draws come from a second generator, so the notes, tempo and patterns are those of
    the same seed without dynamics.

    Args:
        duration_s: length in seconds (> 0).
        sample_rate: sample rate in Hz (integer >= 4000).
        seed: seed of ``numpy.random.default_rng``, an integer ``>= 0``; equal seeds give
            bit-identical audio.
        channels: 1 (mono) or 2 (stereo, parts panned to different positions).
        tempo_bpm: tempo in beats per minute in ``[30, 300]``; drawn when ``None`` (from
            ``[90, 140]`` for ``"basic"``, from the genre's range otherwise).
        dynamics: vary part levels, sections and the peak level (see above).
        style: ``"basic"``, ``"random"`` or a genre (:data:`STYLES`).

    Returns:
        float32 tensor ``(channels, samples)`` with ``samples = round(duration_s·sample_rate)``,
        peak-normalised to 0.9 (to the drawn peak level with ``dynamics=True``).

    Raises:
        ValueError: on an argument outside its range.
    """
    _, sr, n = _check_args(duration_s, sample_rate, channels, tempo_bpm, dynamics, style)
    seed = check_seed(seed)
    rng = np.random.default_rng(seed)
    if style == "basic":
        mix, peak = _basic(rng, seed, n, sr, channels, tempo_bpm, dynamics)
    else:
        genre = random_genre(seed) if style == "random" else style
        dynamics_rng = np.random.default_rng([seed, 1]) if dynamics else None
        mix, drawn_peak = render_genre(genre, rng, n, sr, channels, tempo_bpm, dynamics_rng)
        peak = PEAK if drawn_peak is None else drawn_peak
    mix = mix * (peak / (np.abs(mix).max() + 1e-12))
    return torch.from_numpy(mix.astype(np.float32))


__all__ = ["STYLES", "synthetic_music"]
