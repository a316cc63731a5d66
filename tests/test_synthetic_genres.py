"""The rich synthetic-music generator: ``synthetic_music(style=...)`` (genres), its instruments
and its mixing tools (the basic style is tested in test_synthetic.py)."""

import numpy as np
import pytest
import scipy.ndimage
import torch
from _tolerances import rounding_tol

from dasp_blind.data import SyntheticClips, build_clips, mixing, synthetic_music
from dasp_blind.data import genres as gen
from dasp_blind.data import instruments as ins
from dasp_blind.data.mixing import PEAK_DB_RANGE
from dasp_blind.data.synthetic import STYLES

SR = 16000


def centroid_hz(y, sr):
    """Power-weighted spectral centroid of a 1-D signal."""
    power = np.abs(np.fft.rfft(y)) ** 2
    return float((power * np.fft.rfftfreq(y.size, 1 / sr)).sum() / power.sum())


def crest_db(y):
    return float(20 * np.log10(np.abs(y).max() / np.sqrt(np.mean(y**2))))


def high_band_db(y, sr, above_hz=2000.0):
    """Share of the power above ``above_hz``, in dB."""
    power = np.abs(np.fft.rfft(y)) ** 2
    return float(10 * np.log10(power[np.fft.rfftfreq(y.size, 1 / sr) > above_hz].sum()
                               / power.sum()))


# ------------------------------------------------------------------------------ determinism


@pytest.mark.parametrize("style", ["random", "jazz", "electronic"])
def test_same_seed_and_style_is_bit_identical(style):
    for channels, dynamics in ((1, False), (2, True)):
        a = synthetic_music(1.0, SR, seed=5, style=style, channels=channels, dynamics=dynamics)
        b = synthetic_music(1.0, SR, seed=5, style=style, channels=channels, dynamics=dynamics)
        assert torch.equal(a, b)
        c = synthetic_music(1.0, SR, seed=6, style=style, channels=channels, dynamics=dynamics)
        assert (a - c).abs().mean() > 0.01


def test_random_style_renders_the_genre_drawn_from_the_seed():
    for seed in range(6):
        genre = gen.random_genre(seed)
        assert genre in gen.GENRES
        assert torch.equal(synthetic_music(0.5, SR, seed=seed, style="random"),
                           synthetic_music(0.5, SR, seed=seed, style=genre))


def test_seeds_draw_every_genre_about_equally_often():
    counts = {g: 0 for g in gen.GENRES}
    for seed in range(800):
        counts[gen.random_genre(seed)] += 1
    # 800 draws of 8 genres: 100 expected each, binomial standard deviation 9.4
    assert all(55 <= c <= 145 for c in counts.values()), counts
    # consecutive seeds give different genres most of the time (7/8 expected)
    changes = sum(gen.random_genre(s) != gen.random_genre(s + 1) for s in range(200))
    assert changes > 150


def test_the_basic_style_stays_the_default():
    assert STYLES[0] == "basic"
    assert torch.equal(synthetic_music(1.0, SR, seed=3), synthetic_music(1.0, SR, seed=3,
                                                                         style="basic"))
    assert not torch.equal(synthetic_music(1.0, SR, seed=3),
                           synthetic_music(1.0, SR, seed=3, style="pop"))


# ------------------------------------------------------------------------ every genre renders


@pytest.mark.parametrize("genre", gen.GENRES)
@pytest.mark.parametrize("sr,seconds,channels", [(8000, 0.1, 1), (22050, 1.5, 2),
                                                 (48000, 10.0, 1)])
def test_every_genre_renders_finite_non_silent_audio(genre, sr, seconds, channels):
    y = synthetic_music(seconds, sr, seed=7, style=genre, channels=channels)
    assert y.shape == (channels, round(seconds * sr)) and y.dtype == torch.float32
    assert torch.isfinite(y).all()
    assert abs(y.abs().max().item() - 0.9) <= rounding_tol(0.9)  # peak set in float64
    # non-silent: an RMS within 30 dB of the peak (the sparsest clips sit near 18 dB)
    assert y.pow(2).mean().sqrt().item() > 0.9 * 10 ** (-30 / 20)


def test_dynamics_draw_the_peak_and_keep_the_notes():
    peaks = []
    for seed in range(6):
        plain = synthetic_music(2.0, SR, seed=seed, style="random").numpy()[0]
        varied = synthetic_music(2.0, SR, seed=seed, style="random", dynamics=True).numpy()[0]
        peaks.append(20 * np.log10(np.abs(varied).max()))
        assert np.corrcoef(plain, varied)[0, 1] > 0.5  # the same notes at other levels
    assert min(peaks) >= PEAK_DB_RANGE[0] - 1e-4 and max(peaks) <= PEAK_DB_RANGE[1] + 1e-4
    assert max(peaks) - min(peaks) > 3


# --------------------------------------------------------------------------------- variety


def test_rich_styles_vary_spectrum_and_crest_factor_far_more_than_basic():
    sr, seeds = 22050, range(32)
    stats = {}
    for style in ("basic", "random"):
        clips = [synthetic_music(2.0, sr, seed=s, style=style).numpy()[0] for s in seeds]
        centroids = np.array([centroid_hz(y, sr) for y in clips])
        stats[style] = (np.percentile(centroids, 90) / np.percentile(centroids, 10),
                        np.std([high_band_db(y, sr) for y in clips]),
                        np.std([crest_db(y) for y in clips]))
    # measured: centroid p90/p10 ratio 1.73 (basic) and 2.68 (random); std of the share of
    # power above 2 kHz 1.9 dB and 4.4 dB; std of the crest factor 0.7 dB and 3.9 dB
    ratio, high_std, crest_std = stats["random"]
    assert ratio > 2.2 and ratio > 1.3 * stats["basic"][0]
    assert high_std > 3.0 and high_std > 1.5 * stats["basic"][1]
    assert crest_std > 2.5 and crest_std > 3 * stats["basic"][2]


@pytest.mark.parametrize("genre", gen.GENRES)
def test_stereo_is_two_related_but_different_channels(genre):
    stereo = synthetic_music(2.0, SR, seed=1, style=genre, channels=2).numpy()
    mono = synthetic_music(2.0, SR, seed=1, style=genre).numpy()[0]
    left, right = stereo
    assert stereo.shape == (2, 2 * SR)
    assert not np.allclose(left, right, atol=1e-3)
    # the same music in both channels (0.4 .. 0.99 measured), panned and double-tracked
    assert 0.2 < np.corrcoef(left, right)[0, 1] < 0.999
    # the mono render holds the same parts (0.73 .. 1.0 measured against left + right)
    assert np.corrcoef(mono, left + right)[0, 1] > 0.6


def test_tempi_keys_and_densities_follow_the_genres():
    for genre in gen.GENRES:
        low, high = gen.TEMPI[genre]
        for seed in range(10):
            song = gen.plan_song(genre, np.random.default_rng(seed), SR, SR, None)
            tempo = 60.0 * SR / (4 * song.step)
            assert low <= tempo <= high and 60 <= tempo <= 180
            assert 45 <= song.key <= 56 and len(song.chords) == song.bars
            assert song.n - SR < min(16 * song.step, 2 * SR)  # the pre-roll
        song = gen.plan_song(genre, np.random.default_rng(0), SR, SR, 97.0)
        assert song.step == pytest.approx(60.0 / 97.0 / 4 * SR)
    counts = [len(gen.choose_parts("rock", np.random.default_rng(s))) for s in range(60)]
    assert set(counts) == set(range(2, 8))
    assert {len(gen.choose_parts("piano", np.random.default_rng(s))) for s in range(20)} \
        == {2, 3}


def test_parts_play_the_notes_of_the_chords():
    for genre in gen.GENRES:
        for seed in range(4):
            song = gen.plan_song(genre, np.random.default_rng(seed), 6 * SR, SR, None)
            harmony = []
            for b in range(song.bars):
                classes = {m % 12 for m in song.chords[b]}
                assert classes == {(song.roots[b] + i) % 12 for i in song.intervals[b]}
                assert song.intervals[b][1] in (3, 4) and song.intervals[b][2] in (6, 7, 8)
                harmony.append(classes)
            walking = [e for e in gen.bass_events(song, "walking") if e[0] % 16 < 12]
            for events in (gen.strum_events(song), gen.left_hand_events(song), walking,
                           gen.chord_events(song, "sustain"), gen.arpeggio_events(song, 2, 60)):
                for start, _, midi, _ in events:
                    assert midi % 12 in harmony[int(start // 16)], (genre, seed, start, midi)


def test_swing_moves_the_off_beats():
    song = gen.plan_song("jazz", np.random.default_rng(0), SR, SR, 120.0)
    song.jitter = 0.0
    step = song.step
    positions = song.at([0, 2, 4, 6])  # eighths: on-beat, off-beat, on-beat, off-beat
    assert positions[0] == 0 and positions[2] == round(4 * step)
    assert positions[1] == round(4 * song.swing * step) and 0.6 <= song.swing <= 0.68
    assert positions[3] - positions[2] == positions[1]


def test_bad_styles_raise_naming_style():
    with pytest.raises(ValueError, match="style"):
        synthetic_music(1.0, SR, style="metal")
    with pytest.raises(ValueError, match="style"):
        SyntheticClips(2, style="Rock")


def test_synthetic_clips_render_the_style():
    clips = build_clips("synthetic", 3, 0.5, SR, seed=2, style="random", dynamics=True)
    assert isinstance(clips, SyntheticClips) and clips.style == "random"
    for i in range(3):
        render = synthetic_music(0.5, SR, seed=int(clips.rng(i).integers(0, 2**63 - 1)),
                                 style="random", dynamics=True).double()
        expected = render / render.abs().max()
        x = clips[i].double()
        tol = rounding_tol(expected)
        assert (x - expected).abs().max() <= tol or (x + expected).abs().max() <= tol


def test_the_data_module_passes_the_style_on():
    from dasp_blind.data.modules import EffectDataModule
    from dasp_blind.effects import Gain

    dm = EffectDataModule(Gain(SR), duration_s=0.25, sample_rate=SR, train_items=2,
                          style="ambient")
    dm.setup("fit")
    assert dm.train_set.clips.style == "ambient" and dm.val_set.clips.style == "ambient"
    with pytest.raises(ValueError, match="style"):
        EffectDataModule(Gain(SR), style="noise")


# ------------------------------------------------------------------------------ instruments


@pytest.mark.parametrize("freq", [55.0, 440.0, 2345.6])
def test_harmonic_note_is_the_sum_of_its_harmonics(freq):
    sr, n = 44100, 4410
    x = ins.harmonic_note(freq, n, sr, lambda k, fk: 1.0 / k)
    t = np.arange(n) / sr
    k = np.arange(1, int(0.45 * sr / freq) + 1)
    k = k[k * freq < 0.45 * sr]
    reference = (np.sin(2 * np.pi * np.outer(t, k) * freq) / k).sum(axis=1)
    # linear interpolation of a sine of amplitude a at w radians per stored sample errs by at
    # most a·w²/8; the stored period holds >= OVERSAMPLE samples per output sample
    w = 2 * np.pi * k * freq / (ins.OVERSAMPLE * sr)
    bound = float(np.sum(w**2 / 8 / k))
    assert np.abs(x - reference).max() <= bound + 1e-9
    assert np.abs(x - reference).max() < 0.05 * np.abs(reference).max()


def test_harmonic_note_pitch_offset_and_decay():
    sr, n = 16000, 16000
    up = ins.harmonic_note(400.0, n, sr, lambda k, fk: 1.0 * (k == 1), cents=1200.0)
    spectrum = np.abs(np.fft.rfft(up * np.hanning(n)))
    assert abs(np.argmax(spectrum) * sr / n - 800.0) <= 1.0
    rate = 3.0  # 1/s
    fading = ins.harmonic_note(200.0, n, sr, lambda k, fk: 1.0 * (k == 1),
                               lambda k, fk: np.full(k.shape, rate))
    first, later = fading[:1600], fading[8000:9600]  # 8 whole periods each, 0.5 s apart
    ratio = np.sqrt(np.mean(later**2) / np.mean(first**2))
    assert ratio == pytest.approx(np.exp(-rate * 0.5), rel=0.02)


@pytest.mark.parametrize("make", [
    lambda rng: ins.pluck(rng, SR), lambda rng: ins.piano(rng, SR),
    lambda rng: ins.piano(rng, SR, electric=True), lambda rng: ins.organ(rng, SR),
    lambda rng: ins.pad(rng, SR), lambda rng: ins.lead(rng, SR),
    lambda rng: ins.voice(rng, SR), lambda rng: ins.voice(rng, SR, breathy=True),
    lambda rng: ins.power_chord(rng, SR),
    *[lambda rng, kind=kind: ins.bass(rng, SR, kind)
      for kind in ("finger", "upright", "synth", "808", "sub")],
])
def test_instruments_play_finite_notes_at_their_pitch(make):
    gate = SR // 2
    note = make(np.random.default_rng(0))(57.0, gate)  # A3, 220 Hz
    assert note.ndim == 1 and note.size > gate and np.isfinite(note).all()
    assert np.abs(note).max() > 0.05
    # the strongest harmonic of the held part is a multiple of 220 Hz (within a bin and the
    # vibrato; the bass parts sound an octave or two lower, still multiples of 55 Hz)
    held = note[:gate]
    f = np.argmax(np.abs(np.fft.rfft(held * np.hanning(gate)))) * SR / gate
    assert abs(f / 55.0 - round(f / 55.0)) * 55.0 <= 6.0, f


def test_drum_kits_are_seeded_and_independent_of_the_order_of_use():
    for kind in ins.DRUM_KITS:
        a = ins.DrumKit(np.random.default_rng(4), SR, kind)
        b = ins.DrumKit(np.random.default_rng(4), SR, kind)
        hat_first = [a["hat"], a["kick"]]
        kick_first = [b["kick"], b["hat"]][::-1]
        for x, y in zip(hat_first, kick_first, strict=True):
            assert np.array_equal(x, y)
        for voice in ins.DRUM_VOICES:
            hit = a[voice]
            assert np.isfinite(hit).all() and np.abs(hit).max() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="kind"):
        ins.DrumKit(np.random.default_rng(0), SR, "orchestral")


# ----------------------------------------------------------------------------------- mixing


def test_limiter_keeps_every_sample_under_its_threshold():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 8000)) * np.linspace(0.05, 1.0, 8000)
    width = 41  # samples of the 5 ms window at 8 kHz
    for reduction_db in (1.0, 6.0, 12.0):
        y = mixing.limit(x, 8000, reduction_db, 0.005)
        threshold = np.abs(x).max() * 10 ** (-reduction_db / 20)
        assert np.abs(y).max() <= threshold * (1 + 1e-12)
        # samples with nothing above the threshold within two windows are left alone
        loudest_near = scipy.ndimage.maximum_filter1d(np.abs(x).max(axis=0), 2 * width + 1)
        untouched = loudest_near < threshold
        assert untouched.sum() > 100
        np.testing.assert_allclose(y[:, untouched], x[:, untouched], rtol=1e-12)


def test_tilt_soft_clip_and_reverb():
    sr, n = 16000, 16000
    t = np.arange(n) / sr
    alpha = 1 - np.exp(-2 * np.pi * 800.0 / sr)
    gains_db = {}
    for freq in (20.0, 800.0, 7000.0):
        y = mixing.tilt(np.sin(2 * np.pi * freq * t), sr, 6.0, 800.0)
        level = 20 * np.log10(np.sqrt(np.mean(y[n // 2:] ** 2)) * np.sqrt(2))
        # the one-pole split's response: low band at -3 dB, the rest at +3 dB
        z = np.exp(-2j * np.pi * freq / sr)
        low = alpha / (1 - (1 - alpha) * z)
        expected = 20 * np.log10(abs(low * 10 ** (-3 / 20) + (1 - low) * 10 ** (3 / 20)))
        assert abs(level - expected) < 0.05, (freq, level, expected)
        gains_db[freq] = level
    assert gains_db[20.0] < -2.5 and gains_db[7000.0] > 2.0  # a positive tilt brightens
    x = np.sin(2 * np.pi * 3 * t) * 0.7
    assert np.abs(mixing.soft_clip(x, 3.0)).max() == pytest.approx(0.7)
    ir = mixing.reverb_ir(np.random.default_rng(0), sr, 1.0, 4000.0, 0.0)
    assert np.sum(ir**2) == pytest.approx(1.0)
    energy = [np.sum(ir[int(a * sr):int(b * sr)] ** 2) for a, b in ((0.1, 0.2), (0.5, 0.6))]
    # 60 dB per RT60: 24 dB between windows 0.4 s apart (the highs die faster: a bit more)
    assert 22.0 < 10 * np.log10(energy[0] / energy[1]) < 28.0
