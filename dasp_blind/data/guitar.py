"""A seeded synthetic electric / acoustic guitar, recorded "DI": :func:`synthetic_guitar`.

Training data for distortion removal (Imort et al., ISMIR 2022, train on clean electric guitar)
when no recordings are at hand. Three layers, each usable on its own:

1. **Score** (:func:`guitar_score`): a tempo (70–160 BPM) and a key (any root, major or minor)
   from the seed, then phrases of half a bar or a bar, each one texture — a single-note line
   (scale runs with bends and the odd palm-muted note), strummed chords (down strokes on the
   beat, up strokes between, strings staggered by a few ms), an arpeggio left to ring,
   palm-muted power-chord chugs, or a rest — at a dynamic level of its own (loud phrases in
   ``[-10, 0]`` dB, quiet passages in ``[-30, -16]`` dB), on a six-string guitar in standard
   tuning (chord voicings and fingerings are searched on the fretboard).
2. **Strings** (:func:`plucked_string`): each note is a digital waveguide (Karplus–Strong)
   loop — an integer delay, a first-order allpass tuned so that the loop delay at the
   fundamental is exactly one period, and a symmetric three-tap loss filter whose gain sets the
   fundamental's T60 and whose shape makes the highs die first — driven by a pick excitation: a
   one-period noise burst low-passed by the velocity (soft notes are darker), a short pick
   click and a pluck-position comb. The loop is solved in the frequency domain: its transfer
   function is evaluated on a circle of radius ``r > 1`` (the exponentially weighted DFT), so
   one FFT pair per note gives the exact recursion without time aliasing (the weight
   ``r^-M = 1e-9`` buries the wrapped tail) and without a per-sample loop. Bends and releases
   are a time warp of the rendered note (4-point cubic interpolation) and an exponential
   damping at the note's end (the next note on the string, or a mute).
3. **Pickup and body** (:data:`TONES`): per string, the pickup-position comb (its delay is the
   same for every fret, since the pickup sits at a fixed distance from the bridge), then on the
   sum a resonant pickup low-pass (electric) or two to three body resonances and a gentle
   low-pass (``"acoustic"``), a mild body peak, and a 30 Hz high-pass (no DC).

The level is a DI level: the clip's peak is drawn uniformly in ``[-18, -1]`` dBFS
(:data:`PEAK_DB_RANGE`), so it never clips, and quiet passages sit well below it. Every draw
comes from ``numpy.random.default_rng(seed)``: a seed always gives the same samples.
:class:`SyntheticGuitarClips` is the seeded dataset of such clips.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.signal
import torch
from torch import Tensor

from .._checks import (
    check_bool,
    check_choice,
    check_in_interval,
    check_int,
    check_number,
    check_positive,
    check_seed,
)
from ..functional.filters import biquad
from ..functional.units import db_to_gain
from .clips import ClipSource, epoch_and_item
from .instruments import midi_to_hz

#: MIDI pitches of the open strings, low E (string 0) to high E (string 5).
STANDARD_TUNING = (40, 45, 50, 55, 59, 64)
#: Highest fret the score uses.
MAX_FRET = 17
#: Pickup and body colours: magnetic pickups at the neck, middle or bridge, or an acoustic body.
TONES = ("neck", "middle", "bridge", "acoustic")
#: Range of the clip's peak level in dBFS (a DI recording: headroom, never clipping).
PEAK_DB_RANGE = (-18.0, -1.0)
#: Phrase levels in dB: loud phrases and quiet passages (drawn with probability 0.3).
LOUD_DB = (-10.0, 0.0)
QUIET_DB = (-30.0, -16.0)
#: Gap between the strings of a strum in ms: down strokes, up strokes.
DOWN_STAGGER_MS = (3.0, 10.0)
UP_STAGGER_MS = (2.0, 6.0)
#: T60 (s) of the fundamental of an open note at 110 Hz (it scales with ``(110/f)^0.5``), and of
#: a palm-muted note.
OPEN_T60_S = (2.0, 5.0)
MUTED_T60_S = (0.15, 0.4)
#: Loss-filter shape ``β`` (0: every harmonic decays like the fundamental; 0.5: silent Nyquist)
#: of open and palm-muted notes.
OPEN_DAMPING = (0.05, 0.3)
MUTED_DAMPING = (0.35, 0.5)
#: Time constant (s) of the damping at a note's end (fretting hand released, string muted).
RELEASE_TAU_S = 0.01
#: Pickup position as a fraction of the open string's length, from the bridge.
PICKUP_POSITION = {"neck": (0.22, 0.28), "middle": (0.14, 0.18), "bridge": (0.06, 0.11),
                   "acoustic": (0.02, 0.04)}
#: Resonance (Hz) of the electric pickups' low-pass (inductance against cable capacitance).
PICKUP_RESONANCE_HZ = {"neck": (2000.0, 3500.0), "middle": (3000.0, 5000.0),
                       "bridge": (3500.0, 6000.0)}

_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)
_MAJOR_PENTA = (0, 2, 4, 7, 9)
_MINOR_PENTA = (0, 3, 5, 7, 10)
_TEXTURES = ("line", "strum", "arpeggio", "chug", "rest")
_TEXTURE_P = (0.3, 0.3, 0.15, 0.15, 0.1)
# r^-M of the exponentially weighted DFT: the level of the wrapped-around tail.
_ALIAS = 1e-9
_MIN_SAMPLE_RATE = 8000


@dataclass(frozen=True)
class GuitarNote:
    """One plucked note of a score.

    Attributes:
        onset_s: start time in seconds.
        duration_s: time it rings before it is damped (by the next note on its string, a chord
            change or a mute), in seconds.
        string: 0 (low E) to 5 (high E).
        midi: MIDI pitch (the open string's pitch plus the fret).
        velocity_db: level in dB (0: the loudest pluck); also sets the pluck's brightness.
        palm_mute: damped by the picking hand: a T60 of 0.15–0.4 s and a darker decay.
        bend_cents: pitch bend reached at the end of the glide (0: none).
        bend_start_s: start of the bend after the onset, in seconds.
        bend_time_s: length of the glide, in seconds.
        strum: index of the strum the note belongs to, ``-1`` for a picked note.
        direction: ``+1`` for a down stroke (low to high strings), ``-1`` up, 0 picked.
    """

    onset_s: float
    duration_s: float
    string: int
    midi: float
    velocity_db: float
    palm_mute: bool = False
    bend_cents: float = 0.0
    bend_start_s: float = 0.0
    bend_time_s: float = 0.1
    strum: int = -1
    direction: int = 0


@dataclass(frozen=True)
class GuitarScore:
    """The performance :func:`guitar_score` draws: tempo, key, mode and notes (by onset)."""

    tempo_bpm: float
    key: int
    minor: bool
    notes: tuple[GuitarNote, ...]


# ----------------------------------------------------------------------------------- score

def _chord_pitch_classes(root_pc: int, scale: tuple[int, ...], degree: int) -> tuple[int, set]:
    """Root and pitch classes of the diatonic triad on ``degree``."""
    pcs = {(root_pc + scale[(degree + 2 * k) % 7]) % 12 for k in range(3)}
    return (root_pc + scale[degree]) % 12, pcs


def _voicing(rng: np.random.Generator, chord_root: int, pcs: set) -> list[tuple[int, int]]:
    """``(string, midi)`` of a chord shape: within a four-fret window (open strings allowed in
    the first positions), the bass on the lowest string that can play the root, strings below
    it and strings without a chord tone muted; at least three strings."""
    start = int(rng.integers(0, 8))
    for offset in range(12):
        pos = (start + offset) % 10
        shape: list[tuple[int, int]] = []
        for s, open_pitch in enumerate(STANDARD_TUNING):
            frets = [f for f in range(pos, pos + 4) if (open_pitch + f) % 12 in pcs]
            if pos <= 2 and open_pitch % 12 in pcs:
                frets = [0, *frets]
            if not shape:
                frets = [f for f in frets if (open_pitch + f) % 12 == chord_root]
            if frets:
                shape.append((s, open_pitch + frets[0]))
        if len(shape) >= 3:
            return shape
    raise AssertionError("every chord has a shape within 12 positions")  # pragma: no cover


def _power_chord(rng: np.random.Generator, chord_root: int) -> list[tuple[int, int]]:
    """Root, fifth and (sometimes) octave on the low strings."""
    s = int(rng.integers(0, 2))
    fret = (chord_root - STANDARD_TUNING[s]) % 12
    root = STANDARD_TUNING[s] + fret
    shape = [(s, root), (s + 1, root + 7)]
    if rng.random() < 0.6:
        shape.append((s + 2, root + 12))
    return shape


def _velocity(rng: np.random.Generator, level_db: float, spread_db: float = 1.5) -> float:
    return float(np.clip(level_db + rng.normal(0.0, spread_db), -40.0, 0.0))


def _strum(rng: np.random.Generator, shape: list[tuple[int, int]], onset: float, direction: int,
           level_db: float, duration: float, palm_mute: bool, strum: int) -> list[GuitarNote]:
    """One stroke across ``shape``: down strokes hit every string low to high, up strokes the top
    three or four strings high to low; consecutive strings ``DOWN/UP_STAGGER_MS`` apart."""
    if direction < 0:
        shape = shape[-int(rng.integers(3, 5)):][::-1]
    gap = rng.uniform(*(DOWN_STAGGER_MS if direction > 0 else UP_STAGGER_MS)) / 1000.0
    return [GuitarNote(onset + k * gap, duration, s, float(m), _velocity(rng, level_db, 1.0),
                       palm_mute, strum=strum, direction=direction)
            for k, (s, m) in enumerate(shape)]


def _fingering(pos: int, allowed: set) -> list[tuple[int, int]]:
    """``(string, midi)`` of every note of ``allowed`` pitch classes within frets
    ``[pos, pos + 4]``, by pitch."""
    cells = [(s, open_pitch + f) for s, open_pitch in enumerate(STANDARD_TUNING)
             for f in range(pos, pos + 5) if (open_pitch + f) % 12 in allowed]
    return sorted(cells, key=lambda cell: (cell[1], cell[0]))


def _line(rng, t0, steps, step, level_db, root_pc, minor) -> list[GuitarNote]:
    """A single-note line: a random walk over a (pentatonic or diatonic) scale in one position,
    one note at a time, with rests, bends and short palm-muted notes."""
    if rng.random() < 0.6:
        scale = _MINOR_PENTA if minor else _MAJOR_PENTA
    else:
        scale = _MINOR if minor else _MAJOR
    cells = _fingering(int(rng.integers(0, MAX_FRET - 4)), {(root_pc + i) % 12 for i in scale})
    index = int(rng.integers(0, len(cells)))
    notes, k = [], 0
    while k < steps:
        length = int(rng.choice([1, 1, 2, 2, 2, 3, 4]))
        if rng.random() < 0.15:  # rest
            k += length
            continue
        index = int(np.clip(index + rng.choice([-2, -1, -1, 1, 1, 2]), 0, len(cells) - 1))
        s, m = cells[index]
        muted = length == 1 and rng.random() < 0.3
        bend = (not muted and length >= 2 and s >= 2 and rng.random() < 0.25)
        duration = length * step
        notes.append(GuitarNote(
            t0 + k * step, duration, s, float(m),
            _velocity(rng, level_db + (2.0 if k % 4 == 0 else 0.0)), muted,
            bend_cents=float(rng.choice([50.0, 100.0, 200.0, 200.0])) if bend else 0.0,
            bend_start_s=float(rng.uniform(0.0, 0.4) * duration),
            bend_time_s=float(rng.uniform(0.05, 0.15))))
        k += length
    return notes


def _phrase(rng, texture, t0, steps, step, level_db, root_pc, minor, chord, strum_id):
    """The notes of one phrase and the next free strum index."""
    end = t0 + steps * step
    if texture == "line":
        return _line(rng, t0, steps, step, level_db, root_pc, minor), strum_id
    if texture == "arpeggio":
        shape = _voicing(rng, *chord)
        order = shape + shape[-2:0:-1]
        every = int(rng.choice([1, 2]))
        notes = [GuitarNote(t0 + k * step, end - (t0 + k * step), *order[(k // every)
                                                                      % len(order)],
                            velocity_db=_velocity(rng, level_db))
                 for k in range(0, steps, every)]
        return notes, strum_id
    notes: list[GuitarNote] = []
    if texture == "chug":
        shape = _power_chord(rng, chord[0])
        every = int(rng.choice([1, 2]))
        for k in range(0, steps, every):
            accent = k % 8 == 0 and rng.random() < 0.4
            duration = (2 if accent else 1) * every * step
            notes += _strum(rng, shape, t0 + k * step, 1, level_db + (2.0 if accent else 0.0),
                            duration, not accent, strum_id)
            strum_id += 1
        return notes, strum_id
    # strum: down strokes on the beats, up strokes on the off-beat eighths
    shape = _voicing(rng, *chord)
    muted = rng.random() < 0.2
    for k in range(0, steps, 2):
        if k > 0 and rng.random() < 0.3:
            continue
        direction = 1 if k % 4 == 0 else -1
        choke = muted or rng.random() < 0.1
        duration = 2 * step if choke else end - (t0 + k * step)
        accent = 2.0 if k % 16 == 0 else 0.0
        notes += _strum(rng, shape, t0 + k * step, direction,
                        level_db + accent - (3.0 if direction < 0 else 0.0), duration, muted,
                        strum_id)
        strum_id += 1
    return notes, strum_id


def _damp(notes: list[GuitarNote], mutes: list[float]) -> list[GuitarNote]:
    """Each note ends at the next onset on its string or the next mute, if that comes first."""
    by_string: dict[int, list[GuitarNote]] = {}
    for note in sorted(notes, key=lambda n: (n.onset_s, n.string)):
        by_string.setdefault(note.string, []).append(note)
    out = []
    for string_notes in by_string.values():
        for i, note in enumerate(string_notes):
            end = note.onset_s + note.duration_s
            if i + 1 < len(string_notes):
                end = min(end, string_notes[i + 1].onset_s)
            end = min([end] + [m for m in mutes if m > note.onset_s])
            out.append(dataclasses.replace(note, duration_s=end - note.onset_s))
    return sorted(out, key=lambda n: (n.onset_s, n.string))


def _score(rng: np.random.Generator, duration_s: float) -> GuitarScore:
    tempo = float(rng.uniform(70.0, 160.0))
    step = 60.0 / tempo / 4  # a sixteenth note
    root_pc = int(rng.integers(0, 12))
    minor = bool(rng.random() < 0.5)
    scale = _MINOR if minor else _MAJOR
    progression = [0] + [int(d) for d in rng.choice([1, 2, 3, 4, 5], size=3)]
    notes: list[GuitarNote] = []
    mutes: list[float] = []
    t, phrase, strum_id = 0.0, 0, 0
    while t < duration_s:
        steps = 16 if rng.random() < 0.6 else 8
        texture = str(rng.choice(_TEXTURES, p=_TEXTURE_P)) if phrase else str(
            rng.choice(_TEXTURES[:4], p=np.array(_TEXTURE_P[:4]) / sum(_TEXTURE_P[:4])))
        level = float(rng.uniform(*(QUIET_DB if rng.random() < 0.3 else LOUD_DB)))
        chord = _chord_pitch_classes(root_pc, scale, progression[phrase % 4])
        if phrase and rng.random() < 0.8:  # the fretting hand mutes what rang before
            mutes.append(t)
        new, strum_id = _phrase(rng, texture, t, steps, step, level, root_pc, minor, chord,
                                strum_id)
        notes += new
        t += steps * step
        phrase += 1
    notes = [n for n in _damp(notes, mutes) if n.onset_s < duration_s]
    return GuitarScore(tempo, root_pc, minor, tuple(notes))


def guitar_score(duration_s: float = 4.0, seed: int = 0) -> GuitarScore:
    """The score :func:`synthetic_guitar` plays for ``seed`` (its first draws).

    Args:
        duration_s: length in seconds (> 0); notes start before it.
        seed: integer seed ``>= 0``.

    Returns:
        A :class:`GuitarScore`: tempo in BPM, key (pitch class 0–11, 0 = C), mode and the notes
        sorted by onset, each already shortened to end where the next note on its string or a
        mute damps it.
    """
    duration = check_positive(duration_s, "duration_s")
    return _score(np.random.default_rng(check_seed(seed)), duration)


# --------------------------------------------------------------------------------- strings

def _loop_response(omega: np.ndarray, log_r: float, period: float, loop_gain: float,
                   damping: float) -> np.ndarray:
    """``1 / (1 − L(z))`` of the waveguide loop at the points ``z = exp(log_r + jω)``.

    ``L(z) = (b1 + b0·z^-1 + b1·z^-2) · (η + z^-1)/(1 + η·z^-1) · z^-D`` with the loss filter
    ``b0 = g·(1−β)``, ``b1 = g·β/2`` (linear phase, delay 1, magnitude ``g·(1−β+β·cos ω)``), an
    integer delay ``D = floor(period − 1.1)`` and the allpass delay ``Δ = period − 1 − D`` in
    ``[0.1, 1.1)``, tuned exactly at the fundamental ``ω0 = 2π/period`` by
    ``η = sin(ω0(1−Δ)/2) / sin(ω0(1+Δ)/2)``.
    """
    delay = int(math.floor(period - 1.1))
    frac = period - 1.0 - delay
    w0 = 2 * math.pi / period
    eta = math.sin(w0 * (1 - frac) / 2) / math.sin(w0 * (1 + frac) / 2)
    b0, b1 = loop_gain * (1 - damping), loop_gain * damping / 2
    zinv = np.exp(-log_r - 1j * omega)
    loop = ((b1 + zinv * (b0 + b1 * zinv)) * (eta + zinv) / (1 + eta * zinv)
            * np.exp(-delay * (log_r + 1j * omega)))
    return 1.0 / (1.0 - loop)


def _string(excitation: np.ndarray, freq_hz: float, t60_s: float, damping: float,
            num_samples: int, sr: int) -> np.ndarray:
    """The waveguide string at ``freq_hz`` driven by ``excitation``, ``(num_samples,)``.

    Solved with one exponentially weighted FFT pair of size ``M >= num_samples``: on the circle
    ``|z| = r = 1e9^(1/M)`` the spectrum of ``y[n]·r^-n`` is ``E(z)/(1 − L(z))``, and the tail
    that wraps around after ``M`` samples is weighted by ``r^-M = 1e-9``.
    """
    period = sr / freq_hz
    w0 = 2 * math.pi / period
    # loop gain per period at the fundamental: 60 dB down after t60_s
    per_period = db_to_gain(-60.0 / (freq_hz * t60_s))
    loop_gain = min(per_period / (1 - damping + damping * math.cos(w0)), 0.99999)
    m = scipy.fft.next_fast_len(max(num_samples, excitation.size), real=True)
    log_r = -math.log(_ALIAS) / m
    omega = 2 * math.pi * np.arange(m // 2 + 1) / m
    weighted = excitation * np.exp(-log_r * np.arange(excitation.size))
    spectrum = scipy.fft.rfft(weighted, m) * _loop_response(omega, log_r, period, loop_gain,
                                                            damping)
    return scipy.fft.irfft(spectrum, m)[:num_samples] * np.exp(log_r * np.arange(num_samples))


def _excitation(rng: np.random.Generator, freq_hz: float, velocity_db: float, palm_mute: bool,
                pluck_position: float, sr: int) -> np.ndarray:
    """Pick excitation: a one-period noise burst and a 1 ms pick click through a one-pole
    low-pass whose cutoff rises with the velocity (300 Hz at -30 dB to 2.4 kHz at 0 dB, an
    octave per 10 dB; halved for a palm mute), then the pluck-position comb
    ``x[n] − x[n − pluck_position·period]``."""
    period = sr / freq_hz
    n = max(2, int(round(period)))
    burst = rng.uniform(-1.0, 1.0, n)
    click_n = max(2, int(0.001 * sr))
    click = np.zeros(max(n, click_n))
    click[:click_n] = 0.3 * rng.standard_normal(click_n) * np.hanning(click_n)
    click[:n] += burst
    cutoff = 300.0 * 2.0 ** ((velocity_db + 30.0) / 10.0) * (0.5 if palm_mute else 1.0)
    alpha = 1.0 - math.exp(-2 * math.pi * min(cutoff, 0.45 * sr) / sr)
    shaped = scipy.signal.lfilter([alpha], [1.0, alpha - 1.0], click)
    lag = max(1, int(round(pluck_position * period)))
    combed = np.concatenate([shaped, np.zeros(lag)])
    combed[lag:] -= shaped
    return combed


def _warp(x: np.ndarray, cents: np.ndarray) -> np.ndarray:
    """``x`` read at the rate ``2^(cents/1200)`` (a pitch track, one value per output sample) by
    4-point cubic (Catmull–Rom) interpolation; ``x`` must hold ``sum(rate) + 3`` samples."""
    rate = 2.0 ** (cents / 1200.0)
    position = 1.0 + np.concatenate([[0.0], np.cumsum(rate[:-1])])
    i = position.astype(np.int64)
    f = position - i
    xm, x0, x1, x2 = x[i - 1], x[i], x[i + 1], x[i + 2]
    return x0 + 0.5 * f * (x1 - xm + f * (2 * xm - 5 * x0 + 4 * x1 - x2
                                          + f * (3 * (x0 - x1) + x2 - xm)))


def _bend_track(note: GuitarNote, num_samples: int, sr: int) -> np.ndarray:
    t = np.arange(num_samples) / sr
    glide = np.clip((t - note.bend_start_s) / max(note.bend_time_s, 1.0 / sr), 0.0, 1.0)
    return note.bend_cents * (0.5 - 0.5 * np.cos(np.pi * glide))


def _render_note(rng: np.random.Generator, note: GuitarNote, num_samples: int, sr: int,
                 t60_open: float, damping_open: float, pluck_position: float) -> np.ndarray:
    """One note ``(num_samples,)``: string, bend, velocity and the damping at its end."""
    freq = float(midi_to_hz(note.midi))
    if note.palm_mute:
        t60, damping = rng.uniform(*MUTED_T60_S), rng.uniform(*MUTED_DAMPING)
    else:
        t60 = float(np.clip(t60_open * math.sqrt(110.0 / freq), 0.3, 10.0))
        damping = damping_open
    excitation = _excitation(rng, freq, note.velocity_db, note.palm_mute, pluck_position, sr)
    if note.bend_cents:
        cents = _bend_track(note, num_samples, sr)
        source = int(math.ceil(np.sum(2.0 ** (cents / 1200.0)))) + 4
        y = _string(excitation, freq, t60, damping, source, sr)
        y = _warp(np.concatenate([[0.0], y]), cents)
    else:
        y = _string(excitation, freq, t60, damping, num_samples, sr)
    held = int(round(note.duration_s * sr))
    if held < num_samples:
        y[held:] *= np.exp(-np.arange(num_samples - held) / (RELEASE_TAU_S * sr))
    return y * (db_to_gain(note.velocity_db) / (np.abs(y).max() + 1e-12))


def plucked_string(freq_hz: float, duration_s: float = 1.0, sample_rate: int = 44100,
                   seed: int = 0, t60_s: float | None = None, palm_mute: bool = False,
                   velocity_db: float = 0.0, pluck_position: float = 0.15) -> Tensor:
    """One plucked, undamped string note, before pickup and body: the synthesis of
    :func:`synthetic_guitar` for a single note.

    Args:
        freq_hz: fundamental in Hz, in ``[20, sample_rate/8]`` (the loop needs 8 samples).
        duration_s: length in seconds (> 0).
        sample_rate: sample rate in Hz (integer >= 8000).
        seed: integer seed ``>= 0`` of the pick noise.
        t60_s: time for the fundamental to decay by 60 dB, in seconds (> 0); ``None``: 3 s for
            an open note, 0.25 s palm-muted.
        palm_mute: a palm-muted note: a darker excitation and loss filter
            (``β = 0.45`` instead of 0.15).
        velocity_db: pluck strength in ``[-40, 0]`` dB: the peak level and the brightness.
        pluck_position: where the string is plucked, as a fraction of its length from the
            bridge, in ``(0, 0.5]``.

    Returns:
        float32 tensor ``(1, samples)``, ``samples = round(duration_s·sample_rate)``, with peak
        ``10^(velocity_db/20)``.

    Raises:
        ValueError: on an argument outside its range.
    """
    sr = _check_rate(sample_rate)
    n = _num_samples(duration_s, sr)
    freq = check_in_interval(freq_hz, "freq_hz", 20.0, sr / 8, "Hz")
    velocity = check_in_interval(velocity_db, "velocity_db", -40.0, 0.0, "dB")
    where = check_in_interval(pluck_position, "pluck_position", 0.0, 0.5)
    if where == 0.0:
        raise ValueError("pluck_position must lie in (0, 0.5], got 0.0")
    muted = check_bool(palm_mute, "palm_mute")
    t60 = (0.25 if muted else 3.0) if t60_s is None else check_positive(t60_s, "t60_s")
    rng = np.random.default_rng(check_seed(seed))
    excitation = _excitation(rng, freq, velocity, muted, where, sr)
    y = _string(excitation, freq, t60, 0.45 if muted else 0.15, n, sr)
    y *= db_to_gain(velocity) / (np.abs(y).max() + 1e-12)
    return torch.from_numpy(y.astype(np.float32))[None, :]


# ----------------------------------------------------------------------------- pickup, body

def _sos(kind: str, freq_hz: float, gain_db: float, q: float, sr: int) -> np.ndarray:
    b, a = biquad(kind, min(freq_hz, 0.45 * sr), gain_db, q, sr)
    return np.concatenate([b.numpy(), a.numpy()], axis=1)


def _tone_filter(rng: np.random.Generator, tone: str, sr: int) -> np.ndarray:
    """Second-order sections of a tone: the pickup's resonant low-pass and a mild body peak
    (electric), or two to three body resonances and a gentle low-pass (acoustic); then a 30 Hz
    high-pass."""
    if tone == "acoustic":
        sections = [_sos("peak", rng.uniform(90.0, 120.0), rng.uniform(5.0, 9.0),
                         rng.uniform(1.5, 3.0), sr),
                    _sos("peak", rng.uniform(180.0, 250.0), rng.uniform(3.0, 6.0),
                         rng.uniform(2.0, 4.0), sr),
                    _sos("lowpass", rng.uniform(7000.0, 10000.0), 0.0, 0.707, sr)]
        if rng.random() < 0.5:
            sections.append(_sos("peak", rng.uniform(350.0, 500.0), rng.uniform(2.0, 4.0),
                                 rng.uniform(2.0, 4.0), sr))
    else:
        sections = [_sos("lowpass", rng.uniform(*PICKUP_RESONANCE_HZ[tone]), 0.0,
                         rng.uniform(1.0, 3.0), sr),
                    _sos("peak", rng.uniform(100.0, 250.0), rng.uniform(1.0, 3.0),
                         rng.uniform(1.0, 2.0), sr)]
    sections.append(_sos("highpass", 30.0, 0.0, 0.707, sr))
    return np.concatenate(sections, axis=0)


def _pickup_comb(track: np.ndarray, lag: float) -> np.ndarray:
    """``x[n] − x[n − lag]`` with a fractional ``lag`` (linear interpolation)."""
    whole = int(lag)
    frac = lag - whole
    delayed = np.zeros_like(track)
    delayed[whole:] += (1 - frac) * track[: track.size - whole]
    delayed[whole + 1:] += frac * track[: track.size - whole - 1]
    return track - delayed


def _render(rng: np.random.Generator, notes: tuple[GuitarNote, ...], n: int, sr: int,
            tones: tuple[str, ...]) -> np.ndarray:
    """The DI signal ``(len(tones), n)``: one channel per pickup / body tone."""
    t60_open = rng.uniform(*OPEN_T60_S)
    damping_open = rng.uniform(*OPEN_DAMPING)
    tracks = np.zeros((len(STANDARD_TUNING), n))
    tail = int(7 * RELEASE_TAU_S * sr)
    for note in notes:
        start = int(round(note.onset_s * sr))
        if start >= n:
            continue
        length = min(n - start, int(round(note.duration_s * sr)) + tail)
        tracks[note.string, start:start + length] += _render_note(
            rng, note, length, sr, t60_open, damping_open, rng.uniform(0.08, 0.3))
    out = np.zeros((len(tones), n))
    for c, tone in enumerate(tones):
        position = rng.uniform(*PICKUP_POSITION[tone])
        for s, open_pitch in enumerate(STANDARD_TUNING):
            out[c] += _pickup_comb(tracks[s], position * sr / float(midi_to_hz(open_pitch)))
        out[c] = scipy.signal.sosfilt(_tone_filter(rng, tone, sr), out[c])
    return out


def _check_rate(sample_rate: object) -> int:
    value = check_number(sample_rate, "sample_rate")
    if not value.is_integer() or value < _MIN_SAMPLE_RATE:
        raise ValueError(f"sample_rate must be an integer >= {_MIN_SAMPLE_RATE} Hz, "
                         f"got {sample_rate!r}")
    return int(value)


def _num_samples(duration_s: object, sr: int) -> int:
    n = int(round(check_positive(duration_s, "duration_s") * sr))
    if n < 1:
        raise ValueError(f"duration_s={duration_s!r} at sample_rate={sr} gives no samples")
    return n


def _check_notes(notes: object, sr: int) -> tuple[GuitarNote, ...]:
    if not isinstance(notes, (list, tuple)):
        raise ValueError(f"notes must be a list or tuple of GuitarNote, got "
                         f"{type(notes).__name__}")
    for i, note in enumerate(notes):
        name = f"notes[{i}]"
        if not isinstance(note, GuitarNote):
            raise ValueError(f"{name} must be a GuitarNote, got {type(note).__name__}")
        check_int(note.string, f"{name}.string", 0, len(STANDARD_TUNING) - 1)
        check_in_interval(note.onset_s, f"{name}.onset_s", 0.0, math.inf, "s")
        check_in_interval(note.duration_s, f"{name}.duration_s", 0.0, math.inf, "s")
        check_in_interval(note.velocity_db, f"{name}.velocity_db", -40.0, 0.0, "dB")
        check_number(note.bend_cents, f"{name}.bend_cents")
        check_in_interval(note.bend_start_s, f"{name}.bend_start_s", 0.0, math.inf, "s")
        check_in_interval(note.bend_time_s, f"{name}.bend_time_s", 0.0, math.inf, "s")
        check_bool(note.palm_mute, f"{name}.palm_mute")
        check_in_interval(float(midi_to_hz(check_number(note.midi, f"{name}.midi"))),
                          f"{name}.midi's frequency", 20.0, sr / 8, "Hz")
    return tuple(notes)


def render_guitar(notes: list[GuitarNote] | tuple[GuitarNote, ...], duration_s: float = 4.0,
                  sample_rate: int = 44100, tone: str = "neck", seed: int = 0) -> Tensor:
    """Play a list of notes (a :class:`GuitarScore`'s or your own) through the strings, the
    pickup and the body of ``tone``.

    Args:
        notes: the notes; each rings for its ``duration_s`` and is then damped (notes on the same
            string are not shortened here: :func:`guitar_score` already did).
        duration_s: length of the output in seconds (> 0); notes are cut at its end.
        sample_rate: sample rate in Hz (integer >= 8000); every note's frequency (before its
            bend) must lie in ``[20, sample_rate/8]`` Hz.
        tone: ``"neck"``, ``"middle"``, ``"bridge"`` or ``"acoustic"`` (:data:`TONES`).
        seed: integer seed ``>= 0`` of the guitar's decay times, pluck positions, pick noise
            and tone filter.

    Returns:
        float32 tensor ``(1, samples)``, not normalised: each note's string output peaks at
        ``10^(velocity_db/20)`` before the pickup comb and the tone filter, which change the
        level. Silent before the first onset (every filter is causal).

    Raises:
        ValueError: on an argument outside its range or a malformed note.
    """
    sr = _check_rate(sample_rate)
    n = _num_samples(duration_s, sr)
    checked = _check_notes(notes, sr)
    check_choice(tone, "tone", TONES)
    audio = _render(np.random.default_rng(check_seed(seed)), checked, n, sr, (tone,))
    return torch.from_numpy(audio.astype(np.float32))


def synthetic_guitar(duration_s: float = 4.0, sample_rate: int = 44100, seed: int = 0,
                     channels: int = 1, tone: str | None = None) -> Tensor:
    """Render a seeded clip of clean guitar at a DI level.

    The score is :func:`guitar_score` ``(duration_s, seed)``: single-note lines with bends,
    strummed chords, arpeggios, palm-muted chugs and rests, with loud phrases and quiet
    passages (see the module's docstring); each note a waveguide string
    (:func:`plucked_string`) with its own pick noise, pluck position and velocity, through the
    pickup comb and tone filter of ``tone``.

    Args:
        duration_s: length in seconds (> 0).
        sample_rate: sample rate in Hz (integer >= 8000).
        seed: integer seed ``>= 0``; equal seeds give bit-identical audio, different seeds
            different audio.
        channels: 1, or 2: the same performance heard through two different tones (channel 0
            through ``tone``, channel 1 through another one drawn from the seed), as a
            two-pickup split; channel 0 is then the mono clip of the same seed, at another
            level.
        tone: ``"neck"``, ``"middle"``, ``"bridge"`` or ``"acoustic"`` (:data:`TONES`);
            ``None``: drawn from the seed.

    Returns:
        float32 tensor ``(channels, samples)``, ``samples = round(duration_s·sample_rate)``,
        with its peak (over both channels) drawn uniformly in ``[-18, -1]`` dBFS
        (:data:`PEAK_DB_RANGE`) and no DC (30 Hz high-pass).

    Raises:
        ValueError: on an argument outside its range.
    """
    sr = _check_rate(sample_rate)
    n = _num_samples(duration_s, sr)
    seed = check_seed(seed)
    channels = check_int(channels, "channels", 1, 2)
    if tone is not None:
        check_choice(tone, "tone", TONES)
    rng = np.random.default_rng(seed)
    score = _score(rng, n / sr)
    first = tone if tone is not None else str(rng.choice(TONES))
    tones = (first, str(rng.choice([t for t in TONES if t != first])))[:channels]
    peak_db = rng.uniform(*PEAK_DB_RANGE)
    audio = _render(rng, score.notes, n, sr, tones)
    audio *= db_to_gain(float(peak_db)) / (np.abs(audio).max() + 1e-12)
    return torch.from_numpy(audio.astype(np.float32))


# ---------------------------------------------------------------------------------- dataset

class SyntheticGuitarClips(ClipSource):
    """The seeded dataset of synthetic guitar: clips of :func:`synthetic_guitar`.

    Item ``i`` renders ``synthetic_guitar(duration_s, sample_rate, seed=s)`` (mono, the tone
    drawn per clip) with a seed ``s`` drawn from ``(seed, i)`` and flips its polarity at
    random. Unlike the other clip sources it keeps the DI level by default
    (``normalize=False``: peaks in ``[-18, -1]`` dBFS): in distortion removal the level going
    into the clipper or the overdrive decides how hard it distorts, so the spread of input
    levels is part of the training data. ``normalize=True`` peak-normalises each clip to 1 as
    :class:`~dasp_blind.data.clips.ClipSource` does.

    Args:
        num_items: number of clips, >= 1.
        duration_s: length of each clip in seconds.
        sample_rate: sample rate in Hz (integer >= 8000).
        seed: integer seed of the dataset.
        normalize: peak-normalise every clip to 1 instead of keeping its DI level.
    """

    def __init__(self, num_items: int, duration_s: float = 1.0, sample_rate: int = 44100,
                 seed: int = 0, normalize: bool = False):
        super().__init__(num_items, duration_s, sample_rate, seed)
        _check_rate(self.sample_rate)
        self.normalize = check_bool(normalize, "normalize")

    def _draw(self, rng: np.random.Generator, index: int) -> np.ndarray:
        render_seed = int(rng.integers(0, 2**63 - 1))
        return synthetic_guitar(self.duration_s, self.sample_rate, seed=render_seed).numpy()

    def __getitem__(self, index: int | tuple[int, int]) -> Tensor:
        if self.normalize:
            return super().__getitem__(index)
        epoch, i = epoch_and_item(index, self.num_items)
        rng = self.rng(i, epoch)
        clip = self._draw(rng, i)
        if rng.random() < 0.5:
            clip = -clip
        return torch.from_numpy(np.ascontiguousarray(clip, dtype=np.float32))


__all__ = ["DOWN_STAGGER_MS", "GuitarNote", "GuitarScore", "LOUD_DB", "MUTED_T60_S",
           "OPEN_T60_S", "PEAK_DB_RANGE", "QUIET_DB", "STANDARD_TUNING", "SyntheticGuitarClips",
           "TONES", "UP_STAGGER_MS", "guitar_score", "plucked_string", "render_guitar",
           "synthetic_guitar"]
