"""Clip sources (synthetic, folder, MUSDB through the real ``musdb`` package) and effect pairs."""

import shutil

import numpy as np
import pytest
import scipy.signal
import soundfile as sf
import torch
from _signals import tone
from _tolerances import assert_within_rounding, rounding_tol

from dasp_blind.data import (
    EffectPairDataset,
    FolderClips,
    MusdbClips,
    SyntheticClips,
    build_clips,
    synthetic_music,
)
from dasp_blind.data.clips import MAX_TRIES
from dasp_blind.effects import Compressor

SR = 16000


def dominant_hz(clip, sr):
    """Frequency of the largest bin of the Hann-windowed spectrum of a (1, T) clip."""
    y = clip.reshape(-1).double().numpy()
    spec = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    return float(np.fft.rfftfreq(y.size, 1 / sr)[np.argmax(spec)])


def find_window(clip, source):
    """Start of the window of ``source`` (1-D) that ``clip`` (1-D, peak-normalised, maybe
    flipped) was cut from, by normalised cross-correlation; returns (start, sign)."""
    n = clip.size
    corr = scipy.signal.correlate(source, clip, mode="valid", method="fft")
    csum = np.concatenate([[0.0], np.cumsum(source**2)])
    energy = np.sqrt(np.maximum(csum[n:] - csum[:-n], 0.0)) + 1e-12
    score = corr / energy
    start = int(np.argmax(np.abs(score)))
    return start, float(np.sign(score[start]))


def check_clip(x, num_samples):
    assert isinstance(x, torch.Tensor)
    assert x.shape == (1, num_samples)
    assert x.dtype == torch.float32
    assert x.abs().max().item() == 1.0
    assert torch.isfinite(x).all()


# ----------------------------------------------------------------------------------- synthetic


def test_synthetic_clips_shape_peak_and_reproducibility():
    clips = SyntheticClips(5, duration_s=0.5, sample_rate=SR, seed=3)
    assert len(clips) == 5
    items = [clips[i] for i in range(5)]
    for x in items:
        check_clip(x, 8000)
    again = SyntheticClips(5, duration_s=0.5, sample_rate=SR, seed=3)
    assert all(torch.equal(a, again[i]) for i, a in enumerate(items))
    assert torch.equal(clips[-1], items[4])
    for i in range(5):
        for j in range(i + 1, 5):
            assert (items[i].abs() - items[j].abs()).abs().mean() > 0.01
    other_seed = SyntheticClips(5, duration_s=0.5, sample_rate=SR, seed=4)
    assert not torch.equal(other_seed[0], items[0])
    with pytest.raises(IndexError):
        clips[5]


def test_synthetic_clips_flip_polarity_of_some_items():
    clips = SyntheticClips(16, duration_s=0.25, sample_rate=SR, seed=0)
    # the clip is a rendered piece normalised to peak 1 times +-1: find the sign by comparing
    # with the unflipped rendering's shape through the sign of the largest sample
    signs = set()
    for i in range(16):
        rng = clips.rng(i)
        render = synthetic_music(0.25, SR, seed=int(rng.integers(0, 2**63 - 1))).double()
        expected = render / render.abs().max()
        x = clips[i].double()
        tol = rounding_tol(expected)  # normalised in float64, then cast to float32
        if (x - expected).abs().max() <= tol:
            signs.add(1)
        elif (x + expected).abs().max() <= tol:
            signs.add(-1)
        else:
            pytest.fail(f"item {i} is not +-the normalised rendering")
    assert signs == {1, -1}


def test_synthetic_clips_with_dynamics_are_the_normalised_dynamic_renders():
    clips = SyntheticClips(4, duration_s=0.5, sample_rate=SR, seed=5, dynamics=True)
    plain = SyntheticClips(4, duration_s=0.5, sample_rate=SR, seed=5)
    for i in range(4):
        check_clip(clips[i], 8000)
        render = synthetic_music(0.5, SR, seed=int(clips.rng(i).integers(0, 2**63 - 1)),
                                 dynamics=True).double()
        expected = render / render.abs().max()
        x = clips[i].double()
        assert (torch.allclose(x, expected, atol=1e-6)
                or torch.allclose(x, -expected, atol=1e-6)), f"item {i}"
        assert not torch.equal(clips[i], plain[i])
    assert torch.equal(build_clips("synthetic", 4, 0.5, SR, seed=5, dynamics=True)[3], clips[3])
    with pytest.raises(ValueError, match="dynamics"):
        SyntheticClips(2, dynamics="loud")


def test_synthetic_clips_collate_into_batches():
    clips = SyntheticClips(3, duration_s=0.25, sample_rate=SR, seed=1)
    batch = next(iter(torch.utils.data.DataLoader(clips, batch_size=3)))
    assert batch.shape == (3, 1, 4000) and batch.dtype == torch.float32
    assert all(torch.equal(batch[i], clips[i]) for i in range(3))


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="num_items"):
        SyntheticClips(0)
    with pytest.raises(ValueError, match="duration_s"):
        SyntheticClips(2, duration_s=-1.0)
    with pytest.raises(ValueError, match="sample_rate"):
        SyntheticClips(2, sample_rate=44100.5)
    with pytest.raises(ValueError, match="source"):
        build_clips("youtube", 2)
    with pytest.raises(ValueError, match="root"):
        build_clips("folder", 2, root=None)
    with pytest.raises(ValueError, match="root"):
        build_clips("musdb", 2, root=None)


def test_build_clips_synthetic_matches_class():
    a = build_clips("synthetic", 3, 0.25, SR, seed=7)
    b = SyntheticClips(3, 0.25, SR, seed=7)
    assert isinstance(a, SyntheticClips)
    assert torch.equal(a[2], b[2])


# -------------------------------------------------------------------------------------- folder

TONES = {"a.wav": (440.0, 44100, 3.0, 1), "b.wav": (1000.0, 22050, 3.0, 2),
         "sub/deeper/c.flac": (3300.0, 22050, 2.5, 1)}


@pytest.fixture(scope="module")
def tone_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("tones")
    for name, (freq, sr, seconds, channels) in TONES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), tone(freq, seconds, sr, channels), sr,
                 subtype="PCM_16" if name.endswith(".flac") else "FLOAT")
    (root / "notes.txt").write_text("not audio")
    return root


def test_folder_clips_come_from_the_files_at_the_right_rate(tone_folder):
    clips = FolderClips(tone_folder, 24, duration_s=1.0, sample_rate=SR, seed=0)
    assert len(clips) == 24
    assert [p.relative_to(tone_folder).as_posix() for p in clips.files] == sorted(TONES)
    seen = set()
    for i in range(len(clips)):
        x = clips[i]
        check_clip(x, SR)
        f = dominant_hz(x, SR)
        # a 22.05 kHz file read without resampling would put its tone at the wrong frequency
        match = [freq for freq, *_ in TONES.values() if abs(f - freq) <= 2.0]
        assert match, f"item {i}: dominant frequency {f} Hz is none of the files' tones"
        seen.add(match[0])
    assert seen == {freq for freq, *_ in TONES.values()}


def test_folder_clips_reproducible_and_distinct(tone_folder):
    a = FolderClips(tone_folder, 6, duration_s=0.5, sample_rate=SR, seed=1)
    b = FolderClips(tone_folder, 6, duration_s=0.5, sample_rate=SR, seed=1)
    items = [a[i] for i in range(6)]
    assert all(torch.equal(x, b[i]) for i, x in enumerate(items))
    for i in range(6):
        for j in range(i + 1, 6):
            assert not torch.equal(items[i], items[j])


def test_folder_clips_read_a_random_window_of_the_file(tmp_path):
    rng = np.random.default_rng(0)
    noise = rng.uniform(-0.8, 0.8, size=(3 * SR, 2)).astype(np.float32)
    sf.write(str(tmp_path / "noise.wav"), noise, SR, subtype="FLOAT")
    mono = noise.astype(np.float64).mean(axis=1)
    clips = FolderClips(tmp_path, 8, duration_s=0.25, sample_rate=SR, seed=5)
    n = SR // 4
    starts, signs = [], set()
    for i in range(len(clips)):
        x = clips[i][0].double().numpy()
        start, sign = find_window(x, mono)
        window = mono[start:start + n]
        expected = sign * window / np.abs(window).max()
        assert_within_rounding(x, expected)  # normalised in float64, then cast to float32
        starts.append(start)
        signs.add(sign)
    assert len(set(starts)) == len(starts)  # uniform random starts: all different
    assert max(starts) - min(starts) > SR  # spread over the 3 s file
    assert signs == {1.0, -1.0}


def test_folder_clips_zero_pad_short_files(tmp_path):
    sf.write(str(tmp_path / "short.wav"), tone(2500.0, 0.5, 22050), 22050, subtype="FLOAT")
    clips = FolderClips(tmp_path, 3, duration_s=1.0, sample_rate=SR, seed=0)
    for i in range(3):
        x = clips[i][0]
        check_clip(clips[i], SR)
        assert x[100: SR // 2 - 100].abs().max() > 0.9
        assert torch.count_nonzero(x[SR // 2 + 50:]) == 0
        assert abs(dominant_hz(clips[i][:, : SR // 2], SR) - 2500.0) <= 4.0


def test_folder_clips_redraw_silent_windows(tmp_path):
    sf.write(str(tmp_path / "a_silence.wav"), np.zeros((SR, 1)), SR)
    sf.write(str(tmp_path / "b_tone.wav"), tone(700.0, 1.0, SR), SR)
    clips = FolderClips(tmp_path, 10, duration_s=0.5, sample_rate=SR, seed=0)
    for i in range(10):
        check_clip(clips[i], SR // 2)
        assert abs(dominant_hz(clips[i], SR) - 700.0) <= 4.0


def test_folder_clips_all_silent_raises(tmp_path):
    sf.write(str(tmp_path / "silence.wav"), np.zeros((SR, 1)), SR)
    clips = FolderClips(tmp_path, 2, duration_s=0.5, sample_rate=SR)
    with pytest.raises(RuntimeError, match=f"all {MAX_TRIES} clips.*silent"):
        clips[0]


def test_folder_clips_errors_name_root(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no audio here")
    with pytest.raises(ValueError, match="empty"):
        FolderClips(empty, 4)
    with pytest.raises(ValueError, match="missing"):
        FolderClips(tmp_path / "missing", 4)
    with pytest.raises(ValueError, match="empty"):
        build_clips("folder", 4, root=empty)


# --------------------------------------------------------------------------------------- musdb

def require_ffmpeg() -> None:
    """musdb reads audio through ffmpeg / ffprobe; CI installs them, so their absence fails."""
    assert shutil.which("ffmpeg") and shutil.which("ffprobe"), "ffmpeg/ffprobe not on PATH"
MUSDB_SR = 44100
VALID_NAME = "Actions - One Minute Smile"  # a validation track in musdb's configs/mus.yaml
TEST_TONE = 1100.0
VALID_TONE = 700.0


@pytest.fixture(scope="module")
def musdb_root(tmp_path_factory):
    require_ffmpeg()
    import musdb
    import yaml

    with open(f"{musdb.__path__[0]}/configs/mus.yaml") as f:
        assert VALID_NAME in yaml.safe_load(f)["validation_tracks"]
    root = tmp_path_factory.mktemp("musdb18hq")
    rng = np.random.default_rng(1)
    mixtures = {
        ("train", "Generated Artist - Noise Song"): rng.uniform(-0.7, 0.7, (3 * MUSDB_SR, 2)),
        ("train", VALID_NAME): tone(VALID_TONE, 3.0, MUSDB_SR, channels=2),
        ("test", "Generated Artist - Test Song"): tone(TEST_TONE, 3.0, MUSDB_SR, channels=2),
    }
    for k, ((subset, name), mixture) in enumerate(mixtures.items()):
        folder = root / subset / name
        folder.mkdir(parents=True)
        sf.write(str(folder / "mixture.wav"), mixture, MUSDB_SR, subtype="PCM_16")
        for j, stem in enumerate(("drums", "bass", "other", "vocals")):
            music = synthetic_music(3.0, MUSDB_SR, seed=10 * k + j, channels=2).numpy().T
            sf.write(str(folder / f"{stem}.wav"), 0.25 * music, MUSDB_SR, subtype="PCM_16")
    return root, mixtures


def test_musdb_train_split_reads_random_windows_of_the_mixture(musdb_root):
    root, mixtures = musdb_root
    clips = MusdbClips(root, 6, subset="train", split="train", duration_s=0.5, seed=0,
                       is_wav=True)
    assert [t.name for t in clips.tracks] == ["Generated Artist - Noise Song"]
    assert len(clips) == 6
    # musdb reads 16-bit PCM through ffmpeg: what soundfile reads from the same file
    mono = sf.read(str(root / "train" / "Generated Artist - Noise Song" / "mixture.wav"),
                   dtype="float64")[0].mean(axis=1)
    n = MUSDB_SR // 2
    starts = []
    for i in range(len(clips)):
        check_clip(clips[i], n)
        x = clips[i][0].double().numpy()
        start, sign = find_window(x, mono)
        window = mono[start:start + n]
        expected = sign * window / np.abs(window).max()
        # both decode 16-bit PCM exactly; normalised in float64, then cast to float32
        assert_within_rounding(x[: n - 2], expected[: n - 2])
        starts.append(start)
    assert len(set(starts)) == len(starts)
    again = MusdbClips(root, 6, subset="train", split="train", duration_s=0.5, seed=0,
                       is_wav=True)
    assert torch.equal(again[3], clips[3])


def test_musdb_valid_split_and_test_subset(musdb_root):
    root, _ = musdb_root
    valid = MusdbClips(root, 3, subset="train", split="valid", duration_s=1.0, sample_rate=SR,
                       seed=0, is_wav=True)
    assert [t.name for t in valid.tracks] == [VALID_NAME]
    test = build_clips("musdb", 3, duration_s=1.0, sample_rate=SR, seed=0, root=root,
                       subset="test", is_wav=True)
    assert [t.name for t in test.tracks] == ["Generated Artist - Test Song"]
    both = MusdbClips(root, 2, subset="train", is_wav=True)
    assert len(both.tracks) == 2
    for clips, freq in ((valid, VALID_TONE), (test, TEST_TONE)):
        items = [clips[i] for i in range(3)]
        for x in items:
            check_clip(x, SR)  # resampled from 44.1 kHz to 16 kHz
            assert abs(dominant_hz(x, SR) - freq) <= 2.0
        assert not torch.equal(items[0], items[1])


def test_musdb_errors(musdb_root, tmp_path):
    root, _ = musdb_root
    (tmp_path / "train").mkdir()
    with pytest.raises(ValueError, match="no MUSDB track"):
        MusdbClips(tmp_path, 2, is_wav=True)
    with pytest.raises(ValueError, match="no MUSDB track"):
        MusdbClips(root, 2, is_wav=False)  # WAV layout, but stems expected
    with pytest.raises(ValueError, match="split"):
        MusdbClips(root, 2, subset="test", split="valid", is_wav=True)
    with pytest.raises(ValueError, match="root"):
        MusdbClips(tmp_path / "missing", 2, is_wav=True)


# ------------------------------------------------------------------------------- effect pairs


def test_effect_pair_dataset_wet_is_the_effect_of_dry():
    effect = Compressor(sample_rate=SR)
    clips = SyntheticClips(4, duration_s=0.5, sample_rate=SR, seed=0)
    pairs = EffectPairDataset(clips, effect, seed=3)
    assert len(pairs) == 4
    items = [pairs[i] for i in range(4)]
    for i, item in enumerate(items):
        assert set(item) == {"dry", "wet", "q"}
        assert item["dry"].shape == item["wet"].shape == (1, SR // 2)
        assert item["q"].shape == (effect.num_params,)
        assert item["q"].min() >= 0 and item["q"].max() <= 1
        assert torch.equal(item["dry"], clips[i])
        with torch.no_grad():
            expected = effect(item["dry"][None], item["q"][None])[0]
        torch.testing.assert_close(item["wet"], expected, rtol=0, atol=0)
        assert not item["wet"].requires_grad
        assert not torch.allclose(item["wet"], item["dry"], atol=1e-3)
    again = EffectPairDataset(clips, Compressor(sample_rate=SR), seed=3)
    assert torch.equal(again[2]["q"], items[2]["q"])
    assert torch.equal(again[2]["wet"], items[2]["wet"])
    assert not torch.equal(items[0]["q"], items[1]["q"])
    other = EffectPairDataset(clips, effect, seed=4)
    assert not torch.equal(other[0]["q"], items[0]["q"])


def test_effect_pair_dataset_q_follows_param_space_sample():
    effect = Compressor(sample_rate=SR)
    pairs = EffectPairDataset(SyntheticClips(3, 0.25, SR), effect, seed=0)
    qs = torch.stack([pairs.sample_q(i) for i in range(3)])
    assert qs.shape == (3, 6)
    assert torch.equal(qs[1], pairs[1]["q"])
    assert len({tuple(q.tolist()) for q in qs}) == 3
    with pytest.raises(ValueError, match="effect"):
        EffectPairDataset(SyntheticClips(3, 0.25, SR), torch.nn.Identity())
