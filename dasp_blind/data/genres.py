"""The rich synthetic-music generator: arrangements in several genres, mixed and mastered.

:func:`render_genre` writes a piece in one of :data:`GENRES` from a seeded generator:

* **Song**: a tempo from the genre's range (60–180 BPM over all genres), a key and mode, a
  four-chord progression typical of the genre (diatonic pop and rock progressions, minor loops,
  ii–V–I with seventh chords for jazz, slow two-bar chords for ambient music), straight or
  swung eighths or sixteenths, and human timing jitter except in electronic music. The clip
  starts at a random point of its first bar (up to 2 s in), as a window cut from a song does.
* **Parts**: the genre's pool of parts (drums, bass, a harmony bed, melody, arpeggios,
  strumming, comping, pads); the density, 2 to 7 parts, is drawn, the bed always plays and the
  others are drawn by weight. Instruments come from :mod:`.instruments` (plucked strings,
  piano and electric piano, organ, pads, synth leads, sung vowels, distorted power chords,
  808 and other basses, four drum kits), their timbres drawn per part.
* **Mix**: each part at a drawn level relative to the others (by RMS), muted for a bar or two
  now and then (breaks), pumped by the kick in electronic music (sidechain), with the level
  variation of ``dynamics=True`` when asked; panned within a drawn stereo width, double-tracked
  parts delayed on one side, and sent to a decaying-noise reverb whose size and level suit
  the genre.
* **Master**: a random tilt EQ (highs up to 6 dB above or below the lows), a look-ahead peak
  limiter (3 times in 5, 1–10 dB of reduction) and a gentle ``tanh`` soft clip (3 times in
  10).

Everything is vectorised numpy; Python loops run over notes, parts and drum voices only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..functional.units import db_to_gain
from . import instruments as ins
from .mixing import (
    convolve,
    delayed,
    limit,
    pan_gains,
    place,
    reverb_ir,
    soft_clip,
    tilt,
    vary_dynamics,
)

#: The genres :func:`render_genre` writes.
GENRES = ("rock", "pop", "electronic", "jazz", "hiphop", "ambient", "folk", "piano")
#: Tempo range of each genre (BPM).
TEMPI = {"rock": (100, 160), "pop": (85, 130), "electronic": (118, 135), "jazz": (90, 180),
         "hiphop": (65, 100), "ambient": (60, 90), "folk": (75, 130), "piano": (60, 110)}
#: Reverb of each genre: RT60 range (s) and return level range (dB against the send).
REVERBS = {"rock": (0.6, 1.6, -16, -8), "pop": (0.8, 2.0, -14, -6),
           "electronic": (1.0, 3.0, -14, -6), "jazz": (0.5, 1.4, -18, -10),
           "hiphop": (0.4, 1.2, -20, -10), "ambient": (2.5, 6.0, -6, 0),
           "folk": (0.6, 1.8, -16, -8), "piano": (1.0, 2.5, -12, -4)}
#: Range of the number of parts.
DENSITY = (2, 7)

_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)
_DORIAN = (0, 2, 3, 5, 7, 9, 10)
# four-chord progressions as scale degrees (0 = tonic)
_PROGRESSIONS = {
    "major": ((0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 4, 3), (5, 3, 0, 4), (0, 3, 0, 4)),
    "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (0, 5, 3, 4), (0, 0, 5, 5)),
    "jazz": ((1, 4, 0, 0), (1, 4, 0, 5), (0, 5, 1, 4), (2, 5, 1, 4)),
}


@dataclass
class Song:
    """The plan every part follows.

    Attributes:
        sr: sample rate (Hz).
        n: samples to render (the clip and its pre-roll).
        step: samples per sixteenth note.
        bars: number of 4/4 bars (16 steps each) covering ``n``.
        key: MIDI note of the tonic (45..56).
        scale: the mode's semitones above the tonic.
        chords: per bar, the chord's notes (MIDI, voiced within a fifth of middle C).
        roots: per bar, the chord's root in the bass octave (MIDI 36..47).
        intervals: per bar, the chord's notes in semitones above its root, stacked in thirds
            (0, third, fifth[, seventh]).
        swing: where the off-beat of each pair of ``swing_steps`` falls (0.5: straight).
        swing_steps: 2 for swung eighths, 1 for swung sixteenths.
        jitter: standard deviation of the timing jitter (samples).
        rng: the generator of every further choice.
    """

    sr: int
    n: int
    step: float
    bars: int
    key: int
    scale: tuple[int, ...]
    chords: list[list[int]]
    roots: list[int]
    intervals: list[list[int]]
    swing: float
    swing_steps: int
    jitter: float
    rng: np.random.Generator

    def at(self, steps: np.ndarray | list[float]) -> np.ndarray:
        """Sample positions of grid positions ``steps`` (sixteenths from the start, fractions
        allowed), with swing and jitter."""
        s = np.asarray(steps, dtype=np.float64)
        if self.swing != 0.5:
            pair = 2 * self.swing_steps
            start = np.floor(s / pair) * pair
            u = s - start
            u = np.where(u < self.swing_steps, u * 2 * self.swing,
                         pair * self.swing + (u - self.swing_steps) * 2 * (1 - self.swing))
            s = start + u
        t = s * self.step
        if self.jitter > 0:
            t = t + self.rng.normal(0.0, self.jitter, t.shape)
        return np.maximum(np.round(t), 0).astype(np.int64)

    def scale_notes(self, low: int, high: int, penta: bool = False) -> list[int]:
        """The notes of the key in ``[low, high]`` (its pentatonic subset with ``penta``)."""
        degrees = [d for i, d in enumerate(self.scale) if not penta or i not in (3, 6)]
        return [m for m in range(low, high + 1) if (m - self.key) % 12 in degrees]


#: A note: (start in sixteenths, length in sixteenths, MIDI note, velocity).
Event = tuple[float, float, float, float]


@dataclass
class Part:
    """One rendered part of the mix.

    Attributes:
        audio: the part ``(n,)``.
        level_db: its level against the other parts (by RMS).
        pan: its position in ``[-1, 1]`` before the stereo width scales it.
        send: its reverb send in ``[0, 1]``.
        wide: double-tracked: the right channel hears it 8–20 ms late.
        ducked: pumped by the kick (sidechain).
        bed: the harmony that plays throughout (never muted).
        kicks: the kick drum's steps (a drum part's), which pump the ducked parts.
    """

    audio: np.ndarray
    level_db: float
    pan: float = 0.0
    send: float = 0.2
    wide: bool = False
    ducked: bool = False
    bed: bool = False
    kicks: list[float] | None = None


# ---------------------------------------------------------------------------------- harmony


def _chord(key: int, scale: tuple[int, ...], degree: int, size: int) -> list[int]:
    """Chord of ``size`` notes stacked in thirds of the scale from ``degree``."""
    return [key + scale[(degree + 2 * j) % 7] + 12 * ((degree + 2 * j) // 7)
            for j in range(size)]


def _near(notes: list[int], center: int) -> list[int]:
    """``notes`` moved by octaves into ``[center - 6, center + 6)``, sorted."""
    return sorted(center - 6 + (m - center + 6) % 12 for m in notes)


def plan_song(genre: str, rng: np.random.Generator, num_samples: int, sr: int,
              tempo_bpm: float | None) -> Song:
    """Draw tempo, key, mode, progression, swing and the pre-roll of a piece in ``genre``."""
    tempo = float(tempo_bpm) if tempo_bpm is not None else float(rng.uniform(*TEMPI[genre]))
    step = 60.0 / tempo / 4 * sr
    bar = 16 * step
    preroll = int(rng.uniform(0.0, min(bar, 2.0 * sr)))
    n = num_samples + preroll
    bars = int(math.ceil(n / bar))
    key = 45 + int(rng.integers(0, 12))
    if genre == "jazz":
        scale, table, size = _MAJOR, "jazz", 4
    else:
        minor = rng.random() < {"electronic": 0.7, "hiphop": 0.8, "ambient": 0.5}.get(genre, 0.4)
        scale = (_DORIAN if rng.random() < 0.3 else _MINOR) if minor else _MAJOR
        table = "minor" if minor else "major"
        size = 4 if rng.random() < {"hiphop": 0.6, "ambient": 0.5}.get(genre, 0.2) else 3
    progression = _PROGRESSIONS[table][int(rng.integers(len(_PROGRESSIONS[table])))]
    per_chord = 2 if genre == "ambient" else 1  # bars per chord
    degrees = [progression[(b // per_chord) % 4] for b in range(bars)]
    stacked = [_chord(key, scale, d, size) for d in degrees]
    chords = [_near(notes, 60) for notes in stacked]
    intervals = [[m - notes[0] for m in notes] for notes in stacked]
    roots = [36 + (key + scale[d] - 36) % 12 for d in degrees]
    swing, swing_steps = 0.5, 2
    if genre == "jazz" or (genre in ("folk", "pop") and rng.random() < 0.2):
        swing = float(rng.uniform(0.6, 0.68))
    elif genre == "hiphop":
        swing, swing_steps = float(rng.uniform(0.5, 0.62)), 1
    jitter = 0.0 if genre == "electronic" else float(rng.uniform(0.002, 0.008)) * sr
    return Song(sr, n, step, bars, key, scale, chords, roots, intervals, swing, swing_steps,
                jitter, rng)


# -------------------------------------------------------------------------------- rendering


def render_notes(song: Song, instrument: ins.Instrument, events: list[Event]) -> np.ndarray:
    """The events played by ``instrument`` ``(song.n,)``: each distinct (note, length) is
    rendered once and added at every onset."""
    out = np.zeros(song.n)
    if not events:
        return out
    onsets = song.at([e[0] for e in events])
    cache: dict[tuple[float, int], np.ndarray] = {}
    for (_, length, midi, velocity), onset in zip(events, onsets.tolist(), strict=True):
        if onset >= song.n:
            continue
        gate = max(1, int(round(length * song.step)))
        if (midi, gate) not in cache:
            cache[midi, gate] = instrument(midi, gate)
        template = cache[midi, gate]
        stop = min(song.n, onset + template.size)
        out[onset:stop] += velocity * template[: stop - onset]
    return out


def render_hits(song: Song, template: np.ndarray, hits: list[tuple[float, float]]) -> np.ndarray:
    """One drum voice ``(song.n,)`` from its ``(step, velocity)`` hits."""
    if not hits:
        return np.zeros(song.n)
    steps, gains = np.array(hits).T
    onsets = song.at(steps)
    order = np.argsort(onsets, kind="stable")
    return place(template, onsets[order], gains[order], song.n)


# ------------------------------------------------------------------------------------ drums

# One-bar patterns: voice -> velocity per sixteenth step.
_BACKBEAT = np.zeros(16)
_BACKBEAT[[4, 12]] = 1.0
_EIGHTHS = np.tile([0.8, 0.0, 0.55, 0.0], 4)
_SIXTEENTHS = np.tile([0.8, 0.35, 0.55, 0.35], 4)


def _pattern(genre: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A one-bar drum pattern for ``genre``."""
    def hits(steps: list[int], velocity: float = 1.0) -> np.ndarray:
        v = np.zeros(16)
        v[steps] = velocity
        return v

    def extra(choices: list[int], most: int, velocity: float) -> np.ndarray:
        v = np.zeros(16)
        v[rng.choice(choices, size=int(rng.integers(0, most + 1)), replace=False)] = velocity
        return v

    hats = _SIXTEENTHS if rng.random() < 0.4 else _EIGHTHS
    if genre in ("rock", "pop"):
        kick = hits([0, 8]) + extra([3, 6, 10, 11, 14], 2, 0.75)
        pattern = {"kick": kick, "snare": _BACKBEAT.copy(),
                   "ride" if rng.random() < 0.25 else "hat": hats}
        if genre == "pop" and rng.random() < 0.5:
            pattern["clap"] = 0.7 * _BACKBEAT
        if genre == "pop" and rng.random() < 0.4:
            pattern["shaker"] = 0.4 * _SIXTEENTHS
        return pattern
    if genre == "electronic":
        pattern = {"kick": hits([0, 4, 8, 12]), "clap": _BACKBEAT.copy(),
                   "open_hat": hits([2, 6, 10, 14], 0.6)}
        if rng.random() < 0.6:
            pattern["hat"] = 0.5 * _SIXTEENTHS
        return pattern
    if genre == "jazz":
        ride = hits([0, 4, 8, 12], 1.0) + hits([6, 14], 0.6)
        return {"ride": ride, "hat": hits([4, 12], 0.5), "kick": hits([0, 4, 8, 12], 0.25),
                "snare": extra([2, 3, 6, 7, 10, 11, 14, 15], 3, 0.35)}
    if genre == "hiphop":
        kick = hits([0, 10]) + extra([3, 7, 8, 11, 14], 2, 0.8)
        pattern = {"kick": kick, "snare": _BACKBEAT.copy(), "hat": hats}
        if rng.random() < 0.3:
            pattern["rim"] = extra([3, 7, 11, 15], 2, 0.5)
        return pattern
    if genre == "folk":
        pattern = {"shaker": 0.6 * (hats > 0), "rim": 0.8 * _BACKBEAT}
        if rng.random() < 0.6:
            pattern["kick"] = hits([0, 8], 0.7)
        return pattern
    # ambient: a soft pulse
    return {"kick": hits([0], 0.6), "shaker": 0.3 * _EIGHTHS}


_KITS = {"rock": "acoustic", "pop": "acoustic", "folk": "acoustic", "electronic": "electronic",
         "jazz": "jazz", "hiphop": "hiphop", "ambient": "electronic"}


def drums(song: Song, genre: str) -> tuple[np.ndarray, list[float]]:
    """The genre's drum part ``(song.n,)`` and its kick steps: the bar pattern with varied
    velocities, a snare fill at the end of every fourth bar (rock, pop), crashes on some
    downbeats (rock, pop), 32nd-note hat rolls (hip-hop)."""
    rng = song.rng
    kit = ins.DrumKit(rng, song.sr, _KITS[genre])
    pattern = _pattern(genre, rng)
    fills = genre in ("rock", "pop") and rng.random() < 0.6
    hits: dict[str, list[tuple[float, float]]] = {voice: [] for voice in pattern}
    hits.setdefault("snare", [])
    hits["crash"] = []
    for b in range(song.bars):
        fill = fills and b % 4 == 3
        for voice, velocities in pattern.items():
            for s in np.flatnonzero(velocities):
                if fill and s >= 12 and voice != "kick":
                    continue
                hits[voice].append((16 * b + s, velocities[s] * rng.uniform(0.8, 1.0)))
        if fill:
            hits["snare"] += [(16 * b + s, 0.5 + 0.1 * (s - 12)) for s in range(12, 16)]
        if genre in ("rock", "pop") and b % 4 == 0 and rng.random() < 0.4:
            hits["crash"].append((16 * b, 0.7))
        if genre == "hiphop" and "hat" in hits and rng.random() < 0.3:
            hits["hat"] += [(16 * b + 14 + 0.5 * k, 0.4) for k in range(4)]
    levels = {"kick": 1.0, "snare": 0.8, "clap": 0.6, "hat": 0.35, "open_hat": 0.3, "ride": 0.2,
              "crash": 0.35, "shaker": 0.3, "rim": 0.5}
    out = np.zeros(song.n)
    for voice, voice_hits in hits.items():
        if voice_hits:
            out += levels[voice] * render_hits(song, kit[voice], voice_hits)
    return out, [s for s, _ in hits.get("kick", [])]


# ------------------------------------------------------------------------------ note writing


def bass_events(song: Song, style: str) -> list[Event]:
    """A bass line: ``"eighths"`` (driving roots), ``"pop"`` (a syncopated one-bar riff),
    ``"offbeat"`` (house), ``"walking"`` (jazz quarter notes through the chord to a chromatic
    approach), ``"long"`` (808 notes held to the next), ``"root_fifth"`` (folk) or ``"drone"``
    (whole bars)."""
    rng = song.rng
    events: list[Event] = []
    riff = sorted({0, *rng.choice([3, 6, 8, 10, 11, 14], size=3, replace=False).tolist()})
    for b in range(song.bars):
        root, start = song.roots[b], 16 * b
        nxt = song.roots[min(b + 1, song.bars - 1)]
        if style == "eighths":
            events += [(start + s, 1.8, root + (12 if s == 14 and rng.random() < 0.3 else 0),
                        0.9 if s % 4 == 0 else 0.7) for s in range(0, 16, 2)]
        elif style == "pop":
            events += [(start + s, 1.8 if s % 4 else 3.5, root + 12 * (rng.random() < 0.15), 0.85)
                       for s in riff]
        elif style == "offbeat":
            events += [(start + s, 1.5, root, 0.9) for s in (2, 6, 10, 14)]
        elif style == "walking":
            tones = [root + song.intervals[b][j] for j in range(3)]
            line = [root, int(rng.choice(tones)), int(rng.choice(tones)),
                    nxt + int(rng.choice([-1, 1]))]
            events += [(start + 4 * q, 3.6, m, 0.8 + 0.1 * (q == 0)) for q, m in enumerate(line)]
        elif style == "long":
            events += [(start, 10.0, root - 12 * (root > 40), 1.0),
                       (start + 10, 6.0, root - 12 * (root > 40), 0.8)]
        elif style == "root_fifth":
            events += [(start, 7.0, root, 0.9), (start + 8, 7.0, root + 7 - 12 * (root > 42), 0.8)]
        else:  # drone
            events.append((start, 16.0, root, 0.8))
    return events


def chord_events(song: Song, style: str) -> list[Event]:
    """Chords: ``"sustain"`` (held a bar), ``"stabs"`` (short hits on a syncopated rhythm),
    ``"comp"`` (jazz comping, each hit held to the next) or ``"power"`` (power-chord roots on
    eighths, palm-muted, or held)."""
    rng = song.rng
    events: list[Event] = []
    rhythm = sorted(rng.choice([0, 2, 3, 6, 8, 10, 11, 14], size=4, replace=False).tolist())
    held = rng.random() < 0.4
    for b in range(song.bars):
        chord, start = song.chords[b], 16 * b
        if style == "sustain":
            events += [(start, 16.0, m, 0.8) for m in chord]
        elif style == "stabs":
            events += [(start + s, 1.5, m, 0.8) for s in rhythm for m in chord]
        elif style == "comp":
            third, top = song.intervals[b][1], song.intervals[b][-1]  # seventh in jazz
            shell = _near([song.roots[b] + third, song.roots[b] + top, song.roots[b] + 14], 62)
            hits = sorted({0, *rng.choice(range(2, 16, 2), size=int(rng.integers(1, 4)),
                                          replace=False).tolist()})
            for s, nxt in zip(hits, [*hits[1:], 16], strict=True):
                events += [(start + s, nxt - s, m, rng.uniform(0.5, 0.9)) for m in shell]
        else:  # power
            root = 40 + (song.roots[b] - 40) % 12
            if held:
                events.append((start, 16.0, root, 0.9))
            else:
                events += [(start + s, 1.5, root, 0.9 if s % 4 == 0 else 0.75)
                           for s in range(0, 16, 2)]
    return events


def strum_events(song: Song) -> list[Event]:
    """Strummed guitar: six strings of an open-position voicing struck 10–25 ms apart (down
    strokes low to high, up strokes high to low) on an eighth-note strumming pattern, each
    stroke ringing until the next."""
    rng = song.rng
    spread = rng.uniform(0.01, 0.025) * song.sr / song.step  # between strings, in steps
    pattern = [s for s in range(0, 16, 2) if s % 4 == 0 or rng.random() < 0.6]
    events: list[Event] = []
    for b in range(song.bars):
        root = 40 + (song.roots[b] - 40) % 12
        _, third, fifth = song.intervals[b][:3]
        strings = [root, root + fifth, root + 12, root + 12 + third, root + 12 + fifth,
                   root + 24]
        for s, nxt in zip(pattern, [*pattern[1:], 16], strict=True):
            order = strings if s % 4 == 0 else strings[::-1][:4]
            velocity = 0.9 if s % 4 == 0 else 0.6
            events += [(16 * b + s + j * spread, nxt - s, m, velocity)
                       for j, m in enumerate(order)]
    return events


def arpeggio_events(song: Song, rate: int, low: int) -> list[Event]:
    """The chord's notes over two octaves from ``low`` up, down or up and down, one every
    ``rate`` sixteenths."""
    rng = song.rng
    direction = str(rng.choice(["up", "down", "updown"]))
    events: list[Event] = []
    for b in range(song.bars):
        tones = sorted({low + (m - low) % 12 + 12 * o for m in song.chords[b] for o in (0, 1)})
        if direction == "down":
            tones = tones[::-1]
        elif direction == "updown":
            tones = tones + tones[-2:0:-1]
        events += [(16 * b + s, rate * 0.9, tones[(s // rate) % len(tones)],
                    0.85 if s % 4 == 0 else 0.65) for s in range(0, 16, rate)]
    return events


def left_hand_events(song: Song) -> list[Event]:
    """Piano left hand: a broken chord (root, fifth, octave, tenth) in eighths, or block
    chords on half notes, held by the sustain pedal to the end of each half bar."""
    rng = song.rng
    broken = rng.random() < 0.6
    events: list[Event] = []
    for b in range(song.bars):
        root = song.roots[b] + 12 * (song.roots[b] < 40)
        _, third, fifth = song.intervals[b][:3]
        shape = [root, root + fifth, root + 12, root + 12 + third]
        for half in (0, 8):
            start = 16 * b + half
            if broken:
                events += [(start + 2 * j, 8.0 - 2 * j, m, 0.7 - 0.05 * j)
                           for j, m in enumerate(shape)]
            else:
                events += [(start, 8.0, m, 0.7) for m in shape]
    return events


def melody_events(song: Song, low: int, rhythm: tuple[int, ...], rest: float,
                  penta: bool) -> list[Event]:
    """A melody over the notes of the key in ``[low, low + 19]``: a two-bar phrase of note
    lengths drawn from ``rhythm`` (sixteenths; a rest with probability ``rest``) walking by
    steps, repeated with a third of its notes changed, moved to a chord tone on beats 1 and
    3."""
    rng = song.rng
    notes = song.scale_notes(low, low + 19, penta)
    phrase: list[tuple[int, int, int]] = []
    pos, index = 0, int(rng.integers(len(notes) // 3, 2 * len(notes) // 3 + 1))
    while pos < 32:
        length = min(int(rng.choice(rhythm)), 32 - pos)
        if rng.random() >= rest:
            index = int(np.clip(index + rng.integers(-2, 3), 0, len(notes) - 1))
            phrase.append((pos, length, index))
        pos += length
    events: list[Event] = []
    for first in range(0, song.bars, 2):
        for pos, length, index in phrase:
            step = 16 * first + pos
            if step >= 16 * song.bars:
                break
            if rng.random() < 0.3:
                index = int(np.clip(index + rng.integers(-2, 3), 0, len(notes) - 1))
            midi = notes[index]
            if pos % 8 == 0:
                classes = {m % 12 for m in song.chords[step // 16]}
                midi = min((m for m in notes if m % 12 in classes), key=lambda m: abs(m - midi),
                           default=midi)
            events.append((step, 0.9 * length, midi, rng.uniform(0.7, 1.0)))
    return events


# ------------------------------------------------------------------------------ genre pools

#: A part the genre may use: (weight, maker); the first entry of a pool is the bed.
PoolEntry = tuple[float, Callable[[Song], Part]]


def _level(rng: np.random.Generator, base_db: float) -> float:
    return base_db + float(rng.uniform(-3.0, 3.0))


def _side(rng: np.random.Generator, low: float = 0.3, high: float = 1.0) -> float:
    return float(rng.choice([-1.0, 1.0]) * rng.uniform(low, high))


def _drum_part(genre: str) -> Callable[[Song], Part]:
    def make(song: Song) -> Part:
        audio, kicks = drums(song, genre)
        return Part(audio, _level(song.rng, 0.0), 0.0, 0.1, kicks=kicks)

    return make


def _notes_part(instrument: Callable[[np.random.Generator, int], ins.Instrument],
                write: Callable[[Song], list[Event]], level_db: float, pan: float | None = None,
                send: float = 0.25, **flags: bool) -> Callable[[Song], Part]:
    """A maker of a part: ``instrument(rng, sr)`` playing ``write(song)``; ``pan=None`` draws
    a side position."""
    def make(song: Song) -> Part:
        rng = song.rng
        audio = render_notes(song, instrument(rng, song.sr), write(song))
        position = _side(rng) if pan is None else pan
        return Part(audio, _level(rng, level_db), position, send, **flags)

    return make


def _two_hands(song: Song) -> Part:
    """Solo piano: both hands on one instrument."""
    rng = song.rng
    piano = ins.piano(rng, song.sr)
    audio = render_notes(song, piano, left_hand_events(song))
    audio += 1.2 * render_notes(song, piano, melody_events(song, 67, (2, 4, 4, 8), 0.15, False))
    return Part(audio, _level(rng, -3.0), 0.0, 0.5, bed=True)


def _pool(genre: str) -> list[PoolEntry]:
    """The parts a genre may use (the first is the bed)."""
    def bass(kind: str, style: str) -> Callable[[Song], Part]:
        return _notes_part(lambda rng, sr: ins.bass(rng, sr, kind),
                           lambda s: bass_events(s, style), -2.0, 0.0, 0.05)

    def melody(instrument: Callable, low: int, rhythm: tuple[int, ...], rest: float = 0.2,
               penta: bool = True, level_db: float = -2.0) -> Callable[[Song], Part]:
        return _notes_part(instrument, lambda s: melody_events(s, low, rhythm, rest, penta),
                           level_db, 0.0, 0.35)

    def chords(instrument: Callable, style: str, level_db: float = -4.0,
               **flags: bool) -> Callable[[Song], Part]:
        return _notes_part(instrument, lambda s: chord_events(s, style), level_db, **flags)

    def arpeggio(instrument: Callable, rate: int, low: int = 60) -> Callable[[Song], Part]:
        return _notes_part(instrument, lambda s: arpeggio_events(s, rate, low), -8.0, None, 0.4)

    def slow_pad(rng: np.random.Generator, sr: int) -> ins.Instrument:
        return ins.pad(rng, sr, (0.8, 2.0))

    def breathy(rng: np.random.Generator, sr: int) -> ins.Instrument:
        return ins.voice(rng, sr, breathy=True)

    def electric(rng: np.random.Generator, sr: int) -> ins.Instrument:
        return ins.piano(rng, sr, electric=True)

    strum = _notes_part(ins.pluck, strum_events, -4.0, None, 0.3, wide=True, bed=True)
    pools: dict[str, list[PoolEntry]] = {
        "rock": [(1.0, chords(ins.power_chord, "power", -3.0, wide=True, bed=True)),
                 (3.0, _drum_part("rock")), (2.0, bass("finger", "eighths")),
                 (1.5, melody(ins.voice, 57, (2, 2, 4, 4, 6, 8))),
                 (0.7, chords(ins.organ, "sustain", -9.0)),
                 (0.7, arpeggio(ins.pluck, 2)), (0.5, chords(ins.piano, "stabs", -9.0))],
        "pop": [(1.0, chords(ins.piano, "sustain", -4.0, bed=True)),
                (3.0, _drum_part("pop")), (2.0, bass("finger", "pop")),
                (1.5, melody(ins.voice, 60, (2, 2, 4, 4, 8))),
                (0.8, chords(ins.pad, "sustain", -9.0, wide=True)),
                (0.7, arpeggio(ins.pluck, 2, 64)), (0.7, strum)],
        "electronic": [(1.0, chords(ins.pad, "sustain", -5.0, ducked=True, wide=True, bed=True)),
                       (3.0, _drum_part("electronic")), (2.0, bass("synth", "offbeat")),
                       (1.0, arpeggio(ins.pluck, 1, 64)),
                       (1.0, melody(ins.lead, 64, (1, 2, 2, 3, 4), 0.3)),
                       (0.6, chords(ins.organ, "stabs", -8.0, ducked=True)),
                       (0.5, bass("sub", "drone"))],
        "jazz": [(1.0, chords(ins.piano, "comp", -4.0, bed=True)),
                 (3.0, _drum_part("jazz")), (2.5, bass("upright", "walking")),
                 (1.5, melody(breathy, 58, (2, 2, 2, 4, 6), 0.15, False)),
                 (0.7, chords(ins.pluck, "comp", -8.0)), (0.6, chords(ins.organ, "sustain", -9.0)),
                 (0.5, chords(electric, "comp", -7.0))],
        "hiphop": [(1.0, chords(electric, "sustain", -5.0, bed=True)),
                   (3.0, _drum_part("hiphop")), (2.0, bass("808", "long")),
                   (1.0, melody(ins.pluck, 72, (2, 4, 4, 8), 0.35)),
                   (0.8, melody(ins.voice, 57, (1, 2, 2, 3, 4), 0.25)),
                   (0.6, chords(ins.pad, "sustain", -9.0, wide=True)),
                   (0.4, chords(ins.organ, "stabs", -9.0))],
        "ambient": [(1.0, chords(slow_pad, "sustain", -3.0, wide=True, bed=True)),
                    (1.5, arpeggio(ins.pluck, 4, 67)), (1.2, chords(slow_pad, "sustain", -8.0)),
                    (1.0, melody(ins.piano, 67, (4, 8, 8, 16), 0.4, level_db=-6.0)),
                    (1.0, bass("sub", "drone")), (0.6, _drum_part("ambient"))],
        "folk": [(1.0, strum), (2.0, bass("upright", "root_fifth")),
                 (2.0, melody(ins.voice, 57, (2, 4, 4, 6, 8), 0.2)),
                 (1.2, _drum_part("folk")), (0.8, arpeggio(ins.pluck, 2, 60)),
                 (0.6, chords(ins.piano, "sustain", -9.0)),
                 (0.4, chords(ins.organ, "sustain", -11.0))],
        "piano": [(1.0, _two_hands), (0.6, chords(slow_pad, "sustain", -12.0, wide=True)),
                  (0.4, bass("upright", "drone"))],
    }
    return pools[genre]


def choose_parts(genre: str, rng: np.random.Generator) -> list[Callable[[Song], Part]]:
    """The bed and, by weight and without repeats, more parts up to a density drawn in
    :data:`DENSITY` (at most the pool's size)."""
    pool = _pool(genre)
    count = min(int(rng.integers(DENSITY[0], DENSITY[1] + 1)), len(pool))
    rest = pool[1:]
    weights = np.array([w for w, _ in rest])
    picked = rng.choice(len(rest), size=count - 1, replace=False, p=weights / weights.sum())
    return [pool[0][1]] + [rest[i][1] for i in sorted(picked.tolist())]


# ------------------------------------------------------------------------------------ mixing


def _breaks(song: Song, part: Part) -> None:
    """Mute a non-bed part for one or two bars, one time in four (with 10 ms ramps)."""
    rng = song.rng
    if part.bed or song.bars < 3 or rng.random() >= 0.25:
        return
    bar = 16 * song.step
    first = int(rng.integers(1, song.bars - 1))
    start, stop = int(first * bar), int(min(song.n, (first + rng.integers(1, 3)) * bar))
    ramp = np.linspace(1.0, 0.0, max(2, int(0.01 * song.sr)))
    gain = np.ones(song.n)
    gain[start:stop] = 0.0
    down = gain[start:start + ramp.size]
    down[:] = ramp[: down.size]
    up = gain[max(0, stop - ramp.size):stop]
    up[:] = ramp[::-1][ramp.size - up.size:]
    part.audio = part.audio * gain


def _pump(song: Song, kicks: list[float]) -> np.ndarray:
    """Sidechain gain ``(n,)``: a dip of 30–80 % at each kick recovering in 60–200 ms."""
    rng = song.rng
    depth, recover = rng.uniform(0.3, 0.8), rng.uniform(0.06, 0.2) * song.sr
    onsets = np.zeros(song.n, dtype=bool)
    where = song.at(kicks)
    onsets[where[where < song.n]] = True
    index = np.arange(song.n)
    last = np.maximum.accumulate(np.where(onsets, index, -(10**9)))
    return 1.0 - depth * np.exp(-(index - last) / recover)


def mix(song: Song, genre: str, parts: list[Part], channels: int,
        dynamics_rng: np.random.Generator | None) -> tuple[np.ndarray, float | None]:
    """Levels, breaks, sidechain, dynamics, panning and reverb: ``((channels, n), peak)``
    where ``peak`` is the peak level drawn by the dynamics (``None`` without them)."""
    rng = song.rng
    kicks = next((p.kicks for p in parts if p.kicks), [4.0 * q for q in range(4 * song.bars)])
    pump = _pump(song, kicks) if genre == "electronic" else None
    for part in parts:
        rms = math.sqrt(float(np.mean(part.audio**2))) + 1e-12
        part.audio = part.audio * (db_to_gain(part.level_db) / rms)
        _breaks(song, part)
        if part.ducked and pump is not None:
            part.audio = part.audio * pump
    peak = None
    if dynamics_rng is not None:
        audios, peak = vary_dynamics(dynamics_rng, [p.audio for p in parts], song.sr,
                                     int(round(4 * song.step)))
        for part, audio in zip(parts, audios, strict=True):
            part.audio = audio
    rt60_low, rt60_high, return_low, return_high = REVERBS[genre]
    rt60 = rng.uniform(rt60_low, rt60_high)
    wet_gain = db_to_gain(float(rng.uniform(return_low, return_high)))
    room = (rng.uniform(2000.0, 8000.0), rng.uniform(0.0, 0.03))
    # the rooms' noise from its own generator: mono and stereo renders share every other draw
    room_rng = np.random.default_rng(rng.integers(0, 2**63 - 1))
    width = rng.uniform(0.3, 1.0)
    lags = rng.uniform(0.008, 0.02, len(parts)) * width * song.sr
    dry = np.zeros((channels, song.n))
    send = np.zeros((channels, song.n))
    for part, lag in zip(parts, lags.tolist(), strict=True):
        if channels == 1:
            dry[0] += part.audio
            send[0] += part.send * part.audio
            continue
        left, right = pan_gains(part.pan * width)
        late = delayed(part.audio, int(lag)) if part.wide else part.audio
        dry += [left * part.audio, right * late]
        send += part.send * np.stack([part.audio, late])
    wet = np.stack([convolve(s, reverb_ir(room_rng, song.sr, rt60, *room)) for s in send])
    return dry + wet_gain * wet, peak


def master(x: np.ndarray, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Tilt EQ, sometimes a limiter and sometimes a soft clip, on ``(channels, n)``."""
    x = tilt(x, sr, rng.uniform(-6.0, 6.0), rng.uniform(500.0, 2000.0))
    if rng.random() < 0.6:
        x = limit(x, sr, rng.uniform(1.0, 10.0), rng.uniform(0.002, 0.02))
    if rng.random() < 0.3:
        x = soft_clip(x, rng.uniform(1.0, 3.0))
    return x


def render_genre(genre: str, rng: np.random.Generator, num_samples: int, sr: int,
                 channels: int, tempo_bpm: float | None = None,
                 dynamics_rng: np.random.Generator | None = None) -> tuple[np.ndarray,
                                                                            float | None]:
    """A piece in ``genre``: ``((channels, num_samples) float64, peak)``, not yet normalised;
    ``peak`` is the peak level drawn by the dynamics (from ``dynamics_rng``) or ``None``."""
    song = plan_song(genre, rng, num_samples, sr, tempo_bpm)
    parts = [make(song) for make in choose_parts(genre, rng)]
    x, peak = mix(song, genre, parts, channels, dynamics_rng)
    x = x[:, song.n - num_samples:]
    return master(x, rng, sr), peak


def random_genre(seed: int) -> str:
    """The genre ``style="random"`` renders for ``seed`` (uniform over :data:`GENRES`)."""
    return GENRES[int(np.random.default_rng([seed, 2]).integers(len(GENRES)))]


__all__ = ["DENSITY", "GENRES", "REVERBS", "TEMPI", "Part", "Song", "random_genre",
           "render_genre"]
