"""The synthetic guitar: determinism, level, tuning and decay measured with numpy, strums and
bends measured in the rendered audio, the clip source and the data module."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from _tolerances import assert_within_rounding

from dasp_blind.data.clips import build_clips
from dasp_blind.data.guitar import (
    DOWN_STAGGER_MS,
    PEAK_DB_RANGE,
    TONES,
    UP_STAGGER_MS,
    GuitarNote,
    SyntheticGuitarClips,
    guitar_score,
    plucked_string,
    render_guitar,
    synthetic_guitar,
)

SR = 44100


def _peak_hz(y: np.ndarray, sr: int, guess_hz: float) -> float:
    """Frequency of the largest spectral peak within a semitone of ``guess_hz``: Hann window,
    zero-padded FFT (0.04 Hz bins at 44.1 kHz) and a parabola through the log magnitudes."""
    size = 1 << 20
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size), size))
    freqs = np.fft.rfftfreq(size, 1.0 / sr)
    band = np.flatnonzero((freqs > guess_hz * 2 ** (-1 / 12)) & (freqs < guess_hz * 2 ** (1 / 12)))
    k = band[np.argmax(spectrum[band])]
    a, b, c = np.log(spectrum[k - 1:k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * sr / size


def _cents(f: float, reference: float) -> float:
    return 1200.0 * np.log2(f / reference)


def test_deterministic_per_seed_and_different_across_seeds():
    a = synthetic_guitar(1.0, SR, seed=3)
    assert torch.equal(a, synthetic_guitar(1.0, SR, seed=3))
    assert not torch.equal(a, synthetic_guitar(1.0, SR, seed=4))
    assert guitar_score(2.0, seed=5) == guitar_score(2.0, seed=5)
    assert guitar_score(2.0, seed=5) != guitar_score(2.0, seed=6)


@pytest.mark.parametrize("channels", [1, 2])
def test_shape_dtype_finite_level_and_no_dc(channels):
    low, high = (10 ** (db / 20) for db in PEAK_DB_RANGE)
    peaks = []
    for seed in range(4):
        x = synthetic_guitar(1.5, 16000, seed=seed, channels=channels)
        assert x.shape == (channels, 24000) and x.dtype == torch.float32
        assert torch.isfinite(x).all()
        peak = float(x.abs().max())
        assert low * (1 - 1e-6) <= peak <= high * (1 + 1e-6)
        peaks.append(peak)
        rms = x.double().pow(2).mean(-1).sqrt()
        assert (x.double().mean(-1).abs() < 1e-3 * rms).all()  # DC: 60 dB below the RMS
        if channels == 2:
            assert not torch.allclose(x[0], x[1])  # two different tones
            mono = synthetic_guitar(1.5, 16000, seed=seed)[0].double()
            left = x[0].double() * (mono.abs().max() / x[0].abs().max())
            assert_within_rounding(left, mono, ops=4)
    assert len(set(peaks)) == 4


@pytest.mark.parametrize("freq,sr", [(82.41, SR), (196.0, SR), (659.26, SR), (1318.5, SR),
                                     (110.0, 16000)])
def test_plucked_string_is_in_tune(freq, sr):
    """Fundamental and second harmonic from the FFT peak, within 0.5 cent (measured: 0.001 and
    0.17, the allpass's dispersion)."""
    y = plucked_string(freq, 1.0, sr, seed=1, t60_s=3.0)[0].double().numpy()
    assert abs(_cents(_peak_hz(y, sr, freq), freq)) < 0.5
    assert abs(_cents(_peak_hz(y, sr, 2 * freq), 2 * freq)) < 0.5


def _level_db(y: np.ndarray, sr: int, freq: float, frame_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Level (dB) of the ``freq`` component in frames (complex demodulation and a frame mean),
    with the frame centres (s)."""
    frame = int(frame_s * sr)
    count = y.size // frame
    z = y[:count * frame] * np.exp(-2j * np.pi * freq * np.arange(count * frame) / sr)
    amplitude = np.abs(z.reshape(count, frame).mean(axis=1))
    return 20 * np.log10(amplitude + 1e-300), (np.arange(count) + 0.5) * frame / sr


@pytest.mark.parametrize("freq,t60", [(82.41, 3.0), (196.0, 1.0), (659.26, 1.5)])
def test_fundamental_decays_by_60_db_in_t60(freq, t60):
    y = plucked_string(freq, t60, SR, seed=2, t60_s=t60)[0].double().numpy()
    level, t = _level_db(y, SR, freq, 0.05)
    keep = t > 0.05
    slope = np.polyfit(t[keep], level[keep], 1)[0]
    assert -60.0 / slope == pytest.approx(t60, rel=0.05)


def _time_to_drop(y: np.ndarray, sr: int, drop_db: float) -> float:
    """Time from the loudest 5 ms frame until the frame energy is ``drop_db`` below it."""
    frame = int(0.005 * sr)
    count = y.size // frame
    energy = 10 * np.log10((y[:count * frame].reshape(count, frame) ** 2).mean(axis=1) + 1e-30)
    top = int(np.argmax(energy))
    return float(np.flatnonzero(energy[top:] < energy[top] - drop_db)[0] * frame / sr)


@pytest.mark.parametrize("freq", [82.41, 196.0, 440.0])
def test_palm_muted_notes_decay_faster_than_open_notes(freq):
    open_note = plucked_string(freq, 1.5, SR, seed=3)[0].double().numpy()
    muted = plucked_string(freq, 1.5, SR, seed=3, palm_mute=True)[0].double().numpy()
    assert _time_to_drop(muted, SR, 20.0) < 0.3 * _time_to_drop(open_note, SR, 20.0)
    # and darker: a lower spectral centroid 20-120 ms after the pluck
    def centroid(y):
        power = np.abs(np.fft.rfft(y[int(0.02 * SR):int(0.12 * SR)])) ** 2
        return (power * np.fft.rfftfreq(int(0.1 * SR), 1 / SR)).sum() / power.sum()

    assert centroid(muted) < 0.8 * centroid(open_note)


def _strums(seeds):
    strums: dict[tuple[int, int], list[GuitarNote]] = {}
    for seed in seeds:
        for note in guitar_score(4.0, seed).notes:
            if note.strum >= 0:
                strums.setdefault((seed, note.strum), []).append(note)
    return strums


def test_strums_stagger_their_strings_in_the_stroke_direction():
    strums = _strums(range(12))
    directions = {notes[0].direction for notes in strums.values()}
    assert directions == {1, -1}
    for notes in strums.values():
        notes = sorted(notes, key=lambda n: n.onset_s)
        strings = [n.string for n in notes]
        direction = notes[0].direction
        assert strings == sorted(strings, reverse=direction < 0)  # down: low to high strings
        gaps_ms = 1000 * np.diff([n.onset_s for n in notes])
        low, high = DOWN_STAGGER_MS if direction > 0 else UP_STAGGER_MS
        assert ((gaps_ms >= low - 1e-9) & (gaps_ms <= high + 1e-9)).all()


def test_strum_onsets_are_staggered_in_the_audio():
    """Each string of a down strum, rendered alone, starts at its own onset: the first non-zero
    sample falls a few ms after the previous string's."""
    strum = next(notes for notes in _strums(range(12)).values()
                 if notes[0].direction > 0 and len(notes) >= 4)
    first = strum[0].onset_s
    notes = [dataclasses.replace(n, onset_s=n.onset_s - first + 0.01) for n in strum]
    starts = []
    for note in notes:
        y = render_guitar([note], 0.2, SR, tone="bridge", seed=1)[0].numpy()
        starts.append(int(np.flatnonzero(y != 0)[0]))
        assert starts[-1] == round(note.onset_s * SR)
    gaps_ms = 1000 * np.diff(starts) / SR
    low, high = DOWN_STAGGER_MS
    assert ((gaps_ms >= low - 0.05) & (gaps_ms <= high + 0.05)).all()  # rounded to samples
    together = render_guitar(notes, 0.2, SR, tone="bridge", seed=1)[0].numpy()
    assert int(np.flatnonzero(together != 0)[0]) == starts[0]


def test_a_bend_glides_to_its_target_pitch():
    note = GuitarNote(0.0, 1.5, 3, 57.0, 0.0, bend_cents=200.0, bend_start_s=0.1,
                      bend_time_s=0.1)
    y = render_guitar([note], 1.5, SR, tone="neck", seed=2)[0].double().numpy()
    base = 440.0 * 2 ** ((57 - 69) / 12)
    before = y[: int(0.1 * SR)]
    after = y[int(0.3 * SR):]
    assert abs(_cents(_peak_hz(after, SR, base * 2 ** (2 / 12)), base * 2 ** (2 / 12))) < 2.0
    assert abs(_cents(_peak_hz(before, SR, base), base)) < 10.0  # 0.1 s: 10 Hz resolution


def test_score_covers_the_textures_tempo_key_and_dynamics():
    scores = [guitar_score(4.0, seed) for seed in range(12)]
    notes = [n for s in scores for n in s.notes]
    assert all(70 <= s.tempo_bpm <= 160 for s in scores)
    assert len({s.key for s in scores}) >= 6 and {s.minor for s in scores} == {True, False}
    assert any(n.palm_mute for n in notes) and any(n.bend_cents > 0 for n in notes)
    assert any(n.strum < 0 for n in notes)  # single notes and arpeggios
    assert all(-40.0 <= n.velocity_db <= 0.0 for n in notes)
    spans = [max(n.velocity_db for n in s.notes) - min(n.velocity_db for n in s.notes)
             for s in scores]
    assert sum(span >= 12.0 for span in spans) >= len(scores) // 2
    assert any(n.velocity_db < -16.0 for n in notes)  # quiet passages
    for s in scores:  # one note at a time per string
        by_string: dict[int, list[GuitarNote]] = {}
        for n in s.notes:
            by_string.setdefault(n.string, []).append(n)
        for group in by_string.values():
            for a, b in zip(group, group[1:], strict=False):
                assert a.onset_s + a.duration_s <= b.onset_s + 1e-12


def test_rests_leave_silent_stretches():
    """Some clips hold a rest: a 100 ms stretch over 50 dB below the clip's peak."""
    quiet = 0
    for seed in range(8):
        x = synthetic_guitar(4.0, 16000, seed=seed)[0].double().numpy()
        frame = 1600
        rms = np.sqrt((x[: x.size // frame * frame].reshape(-1, frame) ** 2).mean(axis=1))
        quiet += bool((rms < np.abs(x).max() * 10 ** (-50 / 20)).any())
    assert quiet >= 1


def test_tones_change_the_sound():
    a, b = (synthetic_guitar(1.0, 16000, seed=1, tone=t) for t in ("neck", "bridge"))
    assert a.shape == b.shape and not torch.allclose(a / a.abs().max(), b / b.abs().max())
    assert set(TONES) == {"neck", "middle", "bridge", "acoustic"}


def test_clips_keep_the_di_level_and_follow_their_seed():
    clips = SyntheticGuitarClips(3, duration_s=0.5, sample_rate=16000, seed=7)
    for i in range(3):
        rng = np.random.default_rng([7, i])
        expected = synthetic_guitar(0.5, 16000, seed=int(rng.integers(0, 2**63 - 1)))
        sign = -1.0 if rng.random() < 0.5 else 1.0
        assert torch.equal(clips[i], sign * expected)
    assert torch.equal(clips[1], SyntheticGuitarClips(3, 0.5, 16000, seed=7)[1])
    normalised = SyntheticGuitarClips(3, 0.5, 16000, seed=7, normalize=True)
    assert [float(normalised[i].abs().max()) for i in range(3)] == [1.0, 1.0, 1.0]
    built = build_clips("guitar", 3, 0.5, 16000, seed=7)
    assert isinstance(built, SyntheticGuitarClips) and torch.equal(built[2], clips[2])


def test_data_module_with_the_guitar_source():
    from dasp_blind.data.modules import EffectDataModule
    from dasp_blind.effects import Gain

    data = EffectDataModule(Gain(16000), source="guitar", duration_s=0.25, sample_rate=16000,
                            batch_size=2, train_items=2, val_items=2, test_items=2)
    batch = next(iter(data.train_dataloader()))
    assert batch["dry"].shape == (2, 1, 4000)
    assert (batch["dry"].abs().amax(dim=-1) <= 10 ** (PEAK_DB_RANGE[1] / 20) + 1e-6).all()


@pytest.mark.parametrize("call,message", [
    (lambda: synthetic_guitar(0.0), "duration_s"),
    (lambda: synthetic_guitar(1.0, 4000), "sample_rate must be an integer >= 8000"),
    (lambda: synthetic_guitar(1.0, 44100.5), "sample_rate"),
    (lambda: synthetic_guitar(1.0, SR, seed=-1), "seed"),
    (lambda: synthetic_guitar(1.0, SR, channels=3), "channels"),
    (lambda: synthetic_guitar(1.0, SR, tone="jazz"), "tone"),
    (lambda: guitar_score(-1.0), "duration_s"),
    (lambda: plucked_string(6000.0, 1.0, SR), "freq_hz"),
    (lambda: plucked_string(110.0, 1.0, SR, velocity_db=3.0), "velocity_db"),
    (lambda: plucked_string(110.0, 1.0, SR, pluck_position=0.0), "pluck_position"),
    (lambda: plucked_string(110.0, 1.0, SR, t60_s=0.0), "t60_s"),
    (lambda: render_guitar([GuitarNote(0.0, 1.0, 6, 60.0, 0.0)], 1.0), r"notes\[0\].string"),
    (lambda: render_guitar(["C4"], 1.0), r"notes\[0\] must be a GuitarNote"),
    (lambda: SyntheticGuitarClips(2, normalize="yes"), "normalize"),
    (lambda: SyntheticGuitarClips(2, sample_rate=4000), "sample_rate"),
])
def test_bad_arguments_raise_naming_them(call, message):
    with pytest.raises(ValueError, match=message):
        call()
