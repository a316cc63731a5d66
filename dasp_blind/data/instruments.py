"""Instruments of the rich synthetic-music generator (:mod:`.genres`), as numpy templates.

A pitched instrument is a function ``play(midi, gate) -> (samples,)`` made by a factory that
draws the instrument's timbre once from a generator; the template holds one note held for
``gate`` samples plus its release, and the arrangement renders each distinct (pitch, length)
once and adds it at every onset. A drum kit renders each of its voices once.

Pitched notes come from :func:`harmonic_note`, a band-limited harmonic oscillator with its own
decay rate per harmonic: one period of the waveform is written in the frequency domain (the
amplitude and phase of each harmonic below Nyquist), every later period is the same spectrum
decayed by ``exp(-r_k·t)``, all periods come out of one batched inverse FFT, and the waveform is
read at the exact pitch by linear interpolation (the read rate carries vibrato and glides). With
decay rates that rise with frequency this is the modal form of a Karplus–Strong plucked string
(the loop filter of the string damps each harmonic at its own rate); with no decay it is a
band-limited wavetable (saw, square, organ); with formant-shaped amplitudes, a sung vowel.
Rendering cost is a few passes over the note's samples, independent of the number of harmonics.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import scipy.fft

from .mixing import butter

#: ``play(midi, gate_samples) -> template (samples,)``
Instrument = Callable[[float, int], np.ndarray]
#: ``(harmonic numbers (K,), their frequencies in Hz (K,)) -> (K,)``
Spectrum = Callable[[np.ndarray, np.ndarray], np.ndarray]

#: Samples of a stored period per output sample in :func:`harmonic_note`.
OVERSAMPLE = 4
#: First three formant frequencies (Hz) of five vowels (adult voice).
VOWELS = {"a": (730.0, 1090.0, 2440.0), "e": (530.0, 1840.0, 2480.0),
          "i": (390.0, 1990.0, 2550.0), "o": (570.0, 840.0, 2410.0),
          "u": (440.0, 1020.0, 2240.0)}


def midi_to_hz(note: np.ndarray | float) -> np.ndarray:
    """Frequency in Hz of a MIDI note number (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((np.asarray(note, dtype=np.float64) - 69.0) / 12.0)


def rolloff(freq_hz: np.ndarray, cutoff_hz: float, order: float = 2.0) -> np.ndarray:
    """Magnitude ``1 / (1 + (f/cutoff)^order)`` of a gentle low-pass."""
    return 1.0 / (1.0 + (freq_hz / cutoff_hz) ** order)


def adsr(gate: int, sr: int, attack_s: float, decay_s: float, sustain: float,
         release_s: float) -> np.ndarray:
    """Envelope ``(gate + release samples,)``: a linear attack to 1, an exponential decay (time
    constant ``decay_s``) towards ``sustain`` while the note is held (``gate`` samples), then an
    exponential release from the level reached, 60 dB down after ``release_s``."""
    attack = max(attack_s, 1.0 / sr)
    t = np.arange(gate) / sr
    held = np.minimum(t / attack, 1.0)
    if sustain != 1.0:
        held *= sustain + (1.0 - sustain) * np.exp(-np.maximum(t - attack, 0.0)
                                                   / max(decay_s, 1e-4))
    tail = np.arange(max(1, int(release_s * sr))) / sr
    after = held[-1] * np.exp(-6.91 * tail / max(release_s, 1.0 / sr))
    return np.concatenate([held, after])


def harmonic_note(freq_hz: float, num_samples: int, sr: int, amplitude: Spectrum,
                  decay_per_s: Spectrum | None = None, rng: np.random.Generator | None = None,
                  cents: float | np.ndarray = 0.0) -> np.ndarray:
    """A harmonic tone ``(num_samples,)`` (see the module's docstring for the method).

    Args:
        freq_hz: fundamental in Hz (> 0).
        num_samples: length in samples.
        sr: sample rate in Hz.
        amplitude: amplitude of each harmonic; harmonics whose frequency (at the highest pitch
            ``cents`` reaches) is at or above ``0.45·sr`` are left out.
        decay_per_s: decay rate (1/s) of each harmonic's amplitude, ``None`` for a steady tone.
        rng: draws a random phase per harmonic (a noisier, less peaky waveform, as a plucked or
            bowed string has); ``None``: all harmonics start in sine phase (a saw-like peak).
        cents: pitch offset in cents, a number or a per-sample track ``(num_samples,)`` (vibrato,
            glides).
    """
    true_period = sr / freq_hz
    # the stored period holds OVERSAMPLE samples per output sample, so that linear
    # interpolation keeps the highs (-0.5 dB at most at 0.45·sr, against -6 dB without)
    period = scipy.fft.next_fast_len(max(4, int(math.ceil(OVERSAMPLE * true_period))), True)
    highest = freq_hz * 2.0 ** (float(np.max(cents)) / 1200.0)
    k = np.arange(1, max(1, int(0.45 * sr / highest)) + 1, dtype=np.float64)
    f_k = k * freq_hz
    amp = amplitude(k, f_k) * (k * highest < 0.45 * sr)
    phase = rng.uniform(0.0, 2 * np.pi, k.size) if rng is not None else np.zeros(k.size)
    # the harmonics' rfft bins; irfft pads the bins above them with zeros
    coeffs = np.zeros(k.size + 1, dtype=np.complex128)
    coeffs[1:] = amp * (period / 2) * np.exp(1j * (phase - np.pi / 2))  # amp·sin(kθ + phase)
    rate = (period / true_period) * 2.0 ** (np.asarray(cents, dtype=np.float64) / 1200.0)
    if rate.ndim == 0:
        position = np.arange(num_samples) * float(rate)
    else:
        position = np.concatenate([[0.0], np.cumsum(rate[:-1])])
    periods = int(position[-1] // period) + 2
    if decay_per_s is None:
        wave = np.tile(scipy.fft.irfft(coeffs, period), periods)
    else:
        rates = np.concatenate([[0.0], decay_per_s(k, f_k)])
        start_s = np.arange(periods) * (true_period / sr)
        wave = scipy.fft.irfft(coeffs * np.exp(-np.outer(start_s, rates)), period,
                               axis=1).ravel()
    index = position.astype(np.int64)
    frac = position - index
    return wave[index] * (1.0 - frac) + wave[index + 1] * frac


class _Rung:
    """Notes rendered once per pitch at the longest length asked so far: a struck or plucked
    note rings the same whatever its length, only its envelope differs."""

    def __init__(self, render: Callable[[float, int], np.ndarray]):
        self.render = render
        self.notes: dict[float, np.ndarray] = {}

    def __call__(self, midi: float, num_samples: int) -> np.ndarray:
        note = self.notes.get(midi)
        if note is None or note.size < num_samples:
            note = self.notes[midi] = self.render(midi, num_samples)
        return note[:num_samples]


def _vibrato(num_samples: int, sr: int, depth_cents: float, rate_hz: float, delay_s: float,
             scoop_cents: float = 0.0) -> np.ndarray:
    """Pitch track in cents: a sine vibrato that fades in after ``delay_s`` plus a scoop that
    starts ``scoop_cents`` off and glides to the note in about 60 ms."""
    t = np.arange(num_samples) / sr
    fade = np.clip((t - delay_s) / 0.2, 0.0, 1.0)
    return depth_cents * fade * np.sin(2 * np.pi * rate_hz * t) + scoop_cents * np.exp(-t / 0.02)


def pluck(rng: np.random.Generator, sr: int, bright_hz: tuple[float, float] = (1200.0, 5000.0),
          t60_s: tuple[float, float] = (0.6, 2.5), release_s: float = 0.06) -> Instrument:
    """Plucked string (guitar, harp, plucked bass): harmonics shaped by the pluck position and
    a brightness low-pass, each dying at a rate that grows with its frequency (Karplus–Strong);
    lower notes ring longer."""
    bright = rng.uniform(*bright_hz)
    t60 = rng.uniform(*t60_s)
    where = rng.uniform(0.08, 0.3)

    def ring(midi: float, num_samples: int) -> np.ndarray:
        f = float(midi_to_hz(midi))
        t60_f = float(np.clip(t60 * (220.0 / f) ** 0.5, 0.15, 8.0))
        return harmonic_note(
            f, num_samples, sr,
            lambda k, fk: (np.abs(np.sin(np.pi * k * where)) + 0.05) / k * rolloff(fk, bright),
            lambda k, fk: 6.91 / t60_f * (1.0 + (fk / bright) ** 2), rng)

    rung = _Rung(ring)

    def play(midi: float, gate: int) -> np.ndarray:
        envelope = adsr(gate, sr, 0.001, 1.0, 1.0, release_s)
        return rung(midi, envelope.size) * envelope

    return play


def piano(rng: np.random.Generator, sr: int, electric: bool = False) -> Instrument:
    """Piano-like struck tone: bright hammered harmonics whose highs fade first and whose ring
    shortens up the keyboard, a damper at the key release and a soft hammer thump; or, with
    ``electric``, a mellow tine piano (few harmonics and a fast-fading bell partial)."""
    hammer = rng.uniform(1500.0, 4500.0)
    t60 = rng.uniform(2.0, 5.0) if not electric else rng.uniform(1.2, 3.0)
    slope = rng.uniform(0.6, 1.2)

    def spectrum(k: np.ndarray, fk: np.ndarray) -> np.ndarray:
        if electric:
            return np.exp(-(k - 1) * slope) + 0.15 * (np.abs(k - 7) < 1.5)
        return (np.abs(np.sin(np.pi * k / 7.3)) + 0.1) / k * rolloff(fk, hammer)

    def ring(midi: float, num_samples: int) -> np.ndarray:
        f = float(midi_to_hz(midi))
        t60_f = float(np.clip(t60 * (261.6 / f) ** 0.7, 0.3, 12.0))

        def decay(k: np.ndarray, fk: np.ndarray) -> np.ndarray:
            if electric:
                return 6.91 / t60_f * (1.0 + 0.3 * (k - 1)) + 25.0 * (np.abs(k - 7) < 1.5)
            return 6.91 / t60_f * (1.0 + (fk / 2000.0) ** 1.5)

        x = harmonic_note(f, num_samples, sr, spectrum, decay, rng)
        thump = min(num_samples, int(0.01 * sr))
        x[:thump] += 0.05 * rng.standard_normal(thump) * np.exp(-np.arange(thump) / (0.002 * sr))
        return x

    rung = _Rung(ring)

    def play(midi: float, gate: int) -> np.ndarray:
        envelope = adsr(gate, sr, 0.002, 1.0, 1.0, 0.15)
        return rung(midi, envelope.size) * envelope

    return play


def organ(rng: np.random.Generator, sr: int) -> Instrument:
    """Drawbar organ: steady harmonics 1, 2, 3, 4, 6 and 8 at random drawbar levels, a slow
    vibrato (a rotating speaker's pitch wobble) and a key click."""
    drawbars = rng.uniform(0.0, 1.0, 6)
    drawbars[0] = max(drawbars[0], 0.5)
    levels = np.zeros(9)
    levels[[1, 2, 3, 4, 6, 8]] = drawbars
    wobble = rng.uniform(5.0, 7.0)

    def play(midi: float, gate: int) -> np.ndarray:
        n = gate + int(0.04 * sr)
        cents = _vibrato(n, sr, 6.0, wobble, 0.0)
        x = harmonic_note(float(midi_to_hz(midi)), n, sr,
                          lambda k, fk: levels[np.minimum(k, 8).astype(int)] * (k <= 8), None,
                          None, cents)
        return x * adsr(gate, sr, 0.004, 1.0, 1.0, 0.04)

    return play


def pad(rng: np.random.Generator, sr: int,
        attack_s: tuple[float, float] = (0.1, 1.0)) -> Instrument:
    """Synth or string pad: two saws (or, one time in three, squares) detuned against each
    other, a low-pass, a slow attack and a long release."""
    cutoff = rng.uniform(700.0, 4000.0)
    detune = rng.uniform(4.0, 14.0)
    odd = rng.random() < 1 / 3
    attack = rng.uniform(*attack_s)
    release = rng.uniform(0.3, 1.2)

    def spectrum(k: np.ndarray, fk: np.ndarray) -> np.ndarray:
        return (k % 2 == 1 if odd else 1.0) / k * rolloff(fk, cutoff)

    def play(midi: float, gate: int) -> np.ndarray:
        f = float(midi_to_hz(midi))
        n = gate + int(release * sr)
        x = (harmonic_note(f, n, sr, spectrum, None, rng, detune)
             + harmonic_note(f, n, sr, spectrum, None, rng, -detune))
        return 0.5 * x * adsr(gate, sr, attack, 0.5, 0.8, release)

    return play


def lead(rng: np.random.Generator, sr: int) -> Instrument:
    """Monophonic synth lead: a saw or square with a low-pass and a delayed vibrato."""
    cutoff = rng.uniform(1500.0, 6000.0)
    odd = rng.random() < 0.4
    depth, speed = rng.uniform(10.0, 40.0), rng.uniform(4.5, 6.5)
    attack, release = rng.uniform(0.003, 0.03), rng.uniform(0.05, 0.15)

    def play(midi: float, gate: int) -> np.ndarray:
        n = gate + int(release * sr)
        x = harmonic_note(float(midi_to_hz(midi)), n, sr,
                          lambda k, fk: (k % 2 == 1 if odd else 1.0) / k * rolloff(fk, cutoff),
                          None, None, _vibrato(n, sr, depth, speed, 0.2))
        return x * adsr(gate, sr, attack, 0.3, 0.7, release)

    return play


def voice(rng: np.random.Generator, sr: int, breathy: bool = False) -> Instrument:
    """Sung vowels: a glottal source (harmonics falling about 12 dB per octave) shaped by the
    three formants of a vowel drawn per note, a scoop into each note, a delayed vibrato, breath
    noise and, on a third of the notes, a sibilant consonant (a burst of high-passed noise)
    at the onset; ``breathy`` gives a darker, noisier, saxophone-like voice."""
    scale = rng.uniform(0.95, 1.25)  # formant scale: lower and higher voices
    tilt = rng.uniform(1.3, 1.7) if breathy else rng.uniform(0.9, 1.3)
    depth, speed = rng.uniform(20.0, 60.0), rng.uniform(4.5, 6.5)
    breath = rng.uniform(0.08, 0.2) if breathy else rng.uniform(0.01, 0.05)
    widths = np.array([90.0, 110.0, 170.0]) * rng.uniform(1.0, 1.6)
    gains = np.array([1.0, 0.6, 0.3])

    def play(midi: float, gate: int) -> np.ndarray:
        formants = np.array(VOWELS[str(rng.choice(list(VOWELS)))]) * scale

        def spectrum(k: np.ndarray, fk: np.ndarray) -> np.ndarray:
            shape = (gains / (1.0 + ((fk[:, None] - formants) / (widths / 2)) ** 2)).sum(axis=1)
            return k**-tilt * (0.03 + shape)

        n = gate + int(0.1 * sr)
        cents = _vibrato(n, sr, depth, speed, 0.25, -rng.uniform(20.0, 80.0))
        x = harmonic_note(float(midi_to_hz(midi)), n, sr, spectrum, None, None, cents)
        x = x / (np.abs(x).max() + 1e-12)
        x += breath * butter(rng.standard_normal(n), "bandpass",
                             (formants[1], 2.5 * formants[2]), sr)
        x *= adsr(gate, sr, 0.04, 0.3, 0.85, 0.1)
        if not breathy and rng.random() < 1 / 3:
            m = min(n, int(rng.uniform(0.03, 0.09) * sr))
            hiss = butter(rng.standard_normal(m), "highpass", 4500.0, sr, 4)
            x[:m] += rng.uniform(0.1, 0.3) * hiss * np.linspace(1.0, 0.0, m)
        return x

    return play


def power_chord(rng: np.random.Generator, sr: int) -> Instrument:
    """Distorted electric guitar playing power chords (root, fifth, octave): three saw-like
    strings through a ``tanh`` overdrive and a guitar-cabinet band-pass. Notes shorter than a
    quarter of a second are palm-muted (a fast decay)."""
    drive = rng.uniform(4.0, 20.0)
    cabinet = rng.uniform(2500.0, 5000.0)
    detune = rng.uniform(2.0, 8.0, 3)

    def play(midi: float, gate: int) -> np.ndarray:
        n = gate + int(0.03 * sr)
        x = sum(harmonic_note(float(midi_to_hz(midi + step)), n, sr,
                              lambda k, fk: 1.0 / k * rolloff(fk, 6000.0), None, rng, cents)
                for step, cents in zip((0, 7, 12), detune, strict=True))
        muted = gate < 0.25 * sr
        x = x * adsr(gate, sr, 0.002, 0.06 if muted else 1.5, 0.15 if muted else 0.7, 0.03)
        x = np.tanh(drive * x / (np.abs(x).max() + 1e-12))
        return butter(butter(x, "lowpass", cabinet, sr, 4), "highpass", 90.0, sr)

    return play


def bass(rng: np.random.Generator, sr: int, kind: str) -> Instrument:
    """Bass: ``"finger"`` (plucked electric), ``"upright"`` (darker, shorter), ``"synth"``
    (a low-passed saw with a decaying envelope), ``"808"`` (a sine that drops into its pitch,
    saturated, with a long decay) or ``"sub"`` (a steady sine with a little second harmonic)."""
    if kind == "finger":
        return pluck(rng, sr, (500.0, 1500.0), (1.5, 3.0), 0.04)
    if kind == "upright":
        return pluck(rng, sr, (300.0, 800.0), (0.5, 1.2), 0.08)
    if kind == "synth":
        cutoff, decay = rng.uniform(300.0, 1200.0), rng.uniform(0.1, 0.4)

        def synth(midi: float, gate: int) -> np.ndarray:
            x = harmonic_note(float(midi_to_hz(midi)), gate + int(0.03 * sr), sr,
                              lambda k, fk: 1.0 / k * rolloff(fk, cutoff, 3.0))
            return x * adsr(gate, sr, 0.003, decay, 0.5, 0.03)

        return synth
    if kind == "808":
        drop, ring, drive = rng.uniform(0.3, 1.0), rng.uniform(0.4, 1.5), rng.uniform(1.0, 4.0)

        def eight_oh_eight(midi: float, gate: int) -> np.ndarray:
            n = gate + int(0.05 * sr)
            glide = 1200.0 * drop * np.exp(-np.arange(n) / (0.03 * sr))
            x = harmonic_note(float(midi_to_hz(midi)), n, sr, lambda k, fk: 1.0 * (k == 1),
                              None, None, glide)
            return np.tanh(drive * x * adsr(gate, sr, 0.001, ring, 0.0, 0.05)) / math.tanh(drive)

        return eight_oh_eight
    if kind == "sub":
        def sub(midi: float, gate: int) -> np.ndarray:
            x = harmonic_note(float(midi_to_hz(midi)), gate + int(0.05 * sr), sr,
                              lambda k, fk: (k == 1) + 0.2 * (k == 2))
            return x * adsr(gate, sr, 0.01, 1.0, 1.0, 0.05)

        return sub
    raise ValueError(f"kind must be 'finger', 'upright', 'synth', '808' or 'sub', got {kind!r}")


# ------------------------------------------------------------------------------------- drums

#: Voices of a drum kit.
DRUM_VOICES = ("kick", "snare", "clap", "hat", "open_hat", "ride", "crash", "shaker", "rim")
#: Kinds of drum kit.
DRUM_KITS = ("acoustic", "electronic", "jazz", "hiphop")
# Frequencies (Hz) of the six square waves of a metallic cymbal (a classic drum machine's).
_METAL_HZ = np.array([205.3, 304.4, 369.6, 522.7, 540.0, 800.0])


def _decay(n: int, sr: int, tau_s: float) -> np.ndarray:
    return np.exp(-np.arange(n) / (tau_s * sr))


def _kick(rng: np.random.Generator, sr: int, start_hz: float, end_hz: float, sweep_s: float,
          decay_s: float, click: float) -> np.ndarray:
    """A sine whose pitch falls from ``start_hz`` to ``end_hz`` and a noise click."""
    n = int(min(1.0, 5 * decay_s) * sr)
    t = np.arange(n) / sr
    f = end_hz + (start_hz - end_hz) * np.exp(-t / sweep_s)
    x = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t / decay_s)
    x += click * rng.standard_normal(n) * _decay(n, sr, 0.002)
    return x * np.minimum(1.0, t / 0.001)


def _snare(rng: np.random.Generator, sr: int, tone_hz: float, decay_s: float,
           snap: float) -> np.ndarray:
    """A short drum-head tone and band-passed snare-wire noise."""
    n = int(min(0.6, 5 * decay_s) * sr)
    t = np.arange(n) / sr
    wires = butter(rng.standard_normal(n), "bandpass", (1000.0, 9000.0), sr)
    wires /= np.abs(wires).max() + 1e-12
    head = np.sin(2 * np.pi * tone_hz * t) * np.exp(-t / 0.04)
    return 0.6 * head + snap * wires * np.exp(-t / decay_s)


def _clap(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Three quick noise bursts and a short tail, band-passed around 1.5 kHz."""
    n = int(0.3 * sr)
    t = np.arange(n) / sr
    env = sum(np.where(t >= d, np.exp(-(t - d) / 0.005), 0.0) for d in (0.0, 0.011, 0.023))
    env += 0.5 * np.where(t >= 0.023, np.exp(-(t - 0.023) / 0.07), 0.0)
    return butter(rng.standard_normal(n) * env, "bandpass", (900.0, 3000.0), sr)


def _metal(rng: np.random.Generator, sr: int, decay_s: float, highpass_hz: float,
           tune: float, noise: float) -> np.ndarray:
    """Cymbal or hi-hat: six detuned square waves and noise, high-passed, decaying."""
    n = int(min(3.0, 4 * decay_s) * sr)
    t = np.arange(n) / sr
    squares = np.sign(np.sin(2 * np.pi * np.outer(_METAL_HZ * tune, t)
                             + rng.uniform(0, 2 * np.pi, (6, 1)))).sum(axis=0) / 6
    x = butter(squares + noise * rng.standard_normal(n), "highpass", highpass_hz, sr, 4)
    return x * np.exp(-t / decay_s) * np.minimum(1.0, t / 0.0005)


def _shaker(rng: np.random.Generator, sr: int) -> np.ndarray:
    n = int(0.15 * sr)
    t = np.arange(n) / sr
    env = np.minimum(1.0, t / 0.01) * np.exp(-t / 0.04)
    return butter(rng.standard_normal(n), "bandpass", (3000.0, 9000.0), sr) * env


def _rim(rng: np.random.Generator, sr: int) -> np.ndarray:
    n = int(0.08 * sr)
    t = np.arange(n) / sr
    x = np.sin(2 * np.pi * 480 * t) + 0.5 * np.sin(2 * np.pi * 1660 * t)
    return (x + 0.3 * rng.standard_normal(n) * _decay(n, sr, 0.002)) * np.exp(-t / 0.012)


class DrumKit:
    """A drum kit of one ``kind`` (:data:`DRUM_KITS`) whose sizes and tunings are drawn from
    ``rng``; ``kit[voice]`` renders a voice (:data:`DRUM_VOICES`) on first use, from its own
    generator (so the sound does not depend on which voices a pattern uses first), at peak 1."""

    def __init__(self, rng: np.random.Generator, sr: int, kind: str):
        if kind not in DRUM_KITS:
            raise ValueError(f"kind must be one of {DRUM_KITS}, got {kind!r}")
        self.sr = sr
        self.kind = kind
        self.seed = int(rng.integers(0, 2**32))
        u = rng.uniform
        kick = {"acoustic": (u(110, 170), u(50, 65), u(0.02, 0.04), u(0.15, 0.3), u(0.1, 0.3)),
                "electronic": (u(150, 250), u(45, 55), u(0.03, 0.06), u(0.25, 0.5), u(0.05, 0.2)),
                "jazz": (u(90, 120), u(50, 60), u(0.02, 0.04), u(0.15, 0.25), u(0.0, 0.1)),
                "hiphop": (u(120, 200), u(40, 55), u(0.03, 0.06), u(0.3, 0.6), u(0.05, 0.3))}
        self.kick = kick[kind]
        # snare: head tone (Hz), wire decay (s), wire level; jazz brushes are long and soft
        self.snare = (u(160, 250), u(0.2, 0.35) if kind == "jazz" else u(0.08, 0.2),
                      u(0.3, 0.5) if kind == "jazz" else u(0.6, 1.0))
        self.hat = (u(0.02, 0.06), u(0.15, 0.4))  # closed and open decays (s)
        self.ride = (u(0.6, 1.5), u(0.9, 1.1))  # decay (s), tuning
        self.crash = u(1.2, 2.2)
        self._cache: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._cache:
            rng = np.random.default_rng([self.seed, DRUM_VOICES.index(name)])
            hit = _VOICE_RENDERERS[name](self, rng)
            self._cache[name] = hit / (np.abs(hit).max() + 1e-12)
        return self._cache[name]


_VOICE_RENDERERS: dict[str, Callable[[DrumKit, np.random.Generator], np.ndarray]] = {
    "kick": lambda kit, rng: _kick(rng, kit.sr, *kit.kick),
    "snare": lambda kit, rng: _snare(rng, kit.sr, *kit.snare),
    "clap": lambda kit, rng: _clap(rng, kit.sr),
    "hat": lambda kit, rng: _metal(rng, kit.sr, kit.hat[0], 7000.0, 1.0, 0.5),
    "open_hat": lambda kit, rng: _metal(rng, kit.sr, kit.hat[1], 6000.0, 1.0, 0.5),
    "ride": lambda kit, rng: _metal(rng, kit.sr, kit.ride[0], 3000.0, 2.1 * kit.ride[1], 0.15),
    "crash": lambda kit, rng: _metal(rng, kit.sr, kit.crash, 2500.0, 1.3, 1.5),
    "shaker": lambda kit, rng: _shaker(rng, kit.sr),
    "rim": lambda kit, rng: _rim(rng, kit.sr),
}


__all__ = ["DRUM_KITS", "DRUM_VOICES", "DrumKit", "Instrument", "VOWELS", "adsr", "bass",
           "harmonic_note", "lead", "midi_to_hz", "organ", "pad", "piano", "pluck",
           "power_chord", "rolloff", "voice"]
