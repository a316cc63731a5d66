"""Clip sources (synthetic, folder, MUSDB through the real ``musdb`` package) and effect pairs."""

import hashlib
import shutil
import warnings
from pathlib import Path

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
    SyntheticGuitarClips,
    build_clips,
    synthetic_music,
)
from dasp_blind.data.clips import MAX_TRIES, InterleavedClips, UnreadableFileError, split_files
from dasp_blind.data.pairs import EpochSampler
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


def test_mixed_clips_deal_guitar_and_music_in_turn_every_epoch():
    mixed = build_clips("mixed", 5, 0.25, SR, seed=7, style="rock", dynamics=True)
    guitar = SyntheticGuitarClips(3, 0.25, SR, seed=7)
    music = SyntheticClips(2, 0.25, SR, seed=7, style="rock", dynamics=True)
    assert isinstance(mixed, InterleavedClips) and len(mixed) == 5
    expected = [guitar[0], music[0], guitar[1], music[1], guitar[2]]
    for i, clip in enumerate(expected):
        assert torch.equal(mixed[i], clip)
        assert torch.equal(mixed[(0, i)], clip)
    assert torch.equal(mixed[(3, 3)], music[(3, 1)])
    assert torch.equal(mixed[(3, 4)], guitar[(3, 2)])
    assert not torch.equal(mixed[(3, 4)], mixed[4])
    assert torch.equal(mixed[-1], guitar[2])


def test_interleaved_clips_errors_name_the_argument():
    guitar = SyntheticGuitarClips(2, 0.25, SR)
    with pytest.raises(ValueError, match="num_items >= 2"):
        build_clips("mixed", 1, 0.25, SR)
    with pytest.raises(ValueError, match="two or more"):
        InterleavedClips([guitar])
    with pytest.raises(ValueError, match="round-robin"):
        InterleavedClips([SyntheticGuitarClips(1, 0.25, SR), SyntheticClips(3, 0.25, SR)])
    with pytest.raises(ValueError, match="sample_rate and num_samples"):
        InterleavedClips([guitar, SyntheticClips(2, 0.5, SR)])
    with pytest.raises(IndexError):
        InterleavedClips([guitar, SyntheticClips(2, 0.25, SR)])[4]


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


# ------------------------------------------------------------------------------- folder splits


def reference_split(relative: str) -> str:
    """The split a path falls in by the documented rule: the first 8 bytes of its SHA-256 as a
    big-endian fraction of 2**64; train below 0.8, valid below 0.9, test above."""
    u = int.from_bytes(hashlib.sha256(relative.encode()).digest()[:8], "big") / 2**64
    return "train" if u < 0.8 else "valid" if u < 0.9 else "test"


def fake_paths(root, count, prefix="song"):
    return [Path(root) / f"{prefix}{k:03d}.wav" for k in range(count)]


def test_split_files_follows_the_hash_rule_and_shares():
    root = Path("/music")
    paths = fake_paths(root, 300) + [root / "album" / "deep" / "track.flac"]
    splits = split_files(paths, root)
    for name, members in splits.items():
        assert members == sorted(members)
        for p in members:
            assert reference_split(p.relative_to(root).as_posix()) == name
    assert sorted(sum(splits.values(), [])) == sorted(paths)
    # 301 files: 80 / 10 / 10 % expected; binomial standard deviations are 7, 5.2 and 5.2
    counts = {name: len(members) for name, members in splits.items()}
    assert abs(counts["train"] - 0.8 * 301) < 4 * 7
    assert abs(counts["valid"] - 0.1 * 301) < 4 * 5.2
    assert abs(counts["test"] - 0.1 * 301) < 4 * 5.2


def test_split_files_is_stable_when_files_come_and_go_or_root_moves():
    before = split_files(fake_paths("/a", 100), "/a")
    after = split_files(fake_paths("/a", 100) + fake_paths("/a", 40, "new"), "/a")
    for name in before:
        assert set(before[name]) <= set(after[name])
    moved = split_files(fake_paths("/elsewhere/b", 100), "/elsewhere/b")
    for name in before:
        assert [p.name for p in moved[name]] == [p.name for p in before[name]]


def test_small_folders_get_one_file_in_every_split():
    root = Path("/r")
    # folders of 3 and 4 files where the hash rule alone leaves a split empty
    cases = 0
    for start in range(0, 60, 3):
        for size in (3, 4):
            paths = [root / f"f{start + k}.wav" for k in range(size)]
            rule = {reference_split(p.name) for p in paths}
            splits = split_files(paths, root)
            assert all(splits.values()), splits
            assert sorted(sum(splits.values(), [])) == sorted(paths)
            cases += len(rule) < 3
            # a file keeps its split unless its split must give one away
            for p in paths:
                home = reference_split(p.name)
                if p not in splits[home]:
                    assert len([q for q in paths if reference_split(q.name) == home]) >= 2
    assert cases > 10  # the fallback ran
    with pytest.raises(ValueError, match="at least 3"):
        split_files(fake_paths(root, 2), root)
    with pytest.raises(ValueError, match="not under root"):
        split_files(fake_paths("/other", 3), root)


def test_folder_clips_draw_only_from_their_split(tmp_path):
    freqs = {f"t{k}.wav": 300.0 + 150.0 * k for k in range(8)}
    for name, freq in freqs.items():
        sf.write(str(tmp_path / name), tone(freq, 1.0, SR), SR, subtype="FLOAT")
    splits = split_files(sorted(tmp_path.iterdir()), tmp_path)
    seen = {}
    for split in ("train", "valid", "test"):
        clips = FolderClips(tmp_path, 12, duration_s=0.25, sample_rate=SR, seed=0, split=split)
        assert clips.files == splits[split]
        allowed = {freqs[p.name] for p in splits[split]}
        seen[split] = {min(allowed, key=lambda f: abs(f - dominant_hz(clips[i], SR)))
                       for i in range(12)}
        for i in range(12):
            assert min(abs(dominant_hz(clips[i], SR) - f) for f in allowed) <= 4.0
    assert seen["train"] == {freqs[p.name] for p in splits["train"]}  # 12 draws over few files
    assert FolderClips(tmp_path, 2, split=None).files == sorted(tmp_path.iterdir())
    with pytest.raises(ValueError, match="split"):
        FolderClips(tmp_path, 2, split="validation")
    small = tmp_path / "small"
    small.mkdir()
    for k in range(2):
        sf.write(str(small / f"{k}.wav"), tone(440.0, 0.5, SR), SR)
    with pytest.raises(ValueError, match="at least 3 audio files"):
        FolderClips(small, 2, split="train")


# --------------------------------------------------------------------------- unreadable files


@pytest.fixture
def folder_with_bad_files(tmp_path):
    sf.write(str(tmp_path / "good.wav"), tone(600.0, 1.0, SR), SR, subtype="FLOAT")
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x01 this is not a wave file " * 20)
    nan = tone(300.0, 1.0, SR)
    nan[SR // 2:] = np.nan
    sf.write(str(tmp_path / "nan.wav"), nan, SR, subtype="FLOAT")
    return tmp_path


def test_unreadable_files_raise_an_error_naming_them(folder_with_bad_files):
    clips = FolderClips(folder_with_bad_files, 16, duration_s=0.5, sample_rate=SR, seed=0)
    named = set()
    for i in range(16):
        try:
            clips[i]
        except UnreadableFileError as err:
            assert isinstance(err, ValueError)
            assert str(err.path) in str(err)
            named.add(err.path.name)
    # item i draws its file from (seed, i): over 16 items both bad files come up
    assert named == {"corrupt.wav", "nan.wav"}


def test_skip_bad_files_warns_naming_them_and_draws_again(folder_with_bad_files):
    clips = build_clips("folder", 16, 0.5, SR, seed=0, root=folder_with_bad_files,
                        skip_bad_files=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        items = [clips[i] for i in range(16)]
    for x in items:
        check_clip(x, SR // 2)
        assert abs(dominant_hz(x, SR) - 600.0) <= 4.0  # only the good file is left
    messages = {str(w.message) for w in caught if issubclass(w.category, UserWarning)}
    assert any("corrupt.wav" in m for m in messages)
    assert any("nan.wav" in m and "NaN" in m for m in messages)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert all(torch.equal(x, clips[i]) for i, x in enumerate(items))  # reproducible
    with pytest.raises(ValueError, match="skip_bad_files"):
        FolderClips(folder_with_bad_files, 2, skip_bad_files="yes")


def test_a_folder_of_only_bad_files_raises_after_the_retries(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"junk" * 100)
    clips = FolderClips(tmp_path, 1, duration_s=0.5, sample_rate=SR, skip_bad_files=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match=f"{MAX_TRIES} unreadable"):
            clips[0]


# --------------------------------------------------------------------------- number of items


def test_num_items_none_gives_passes_clips_per_file(tone_folder):
    assert len(FolderClips(tone_folder, None, sample_rate=SR)) == 3  # passes=1, 3 files
    assert len(FolderClips(tone_folder, None, sample_rate=SR, passes=5)) == 15
    assert len(build_clips("folder", None, root=tone_folder, passes=4, split="test")) == 4
    assert len(FolderClips(tone_folder, 7, sample_rate=SR, passes=5)) == 7  # num_items wins
    with pytest.raises(ValueError, match="passes"):
        FolderClips(tone_folder, None, passes=0)
    with pytest.raises(ValueError, match="num_items"):
        SyntheticClips(None)


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


def test_musdb_passes_count_tracks(musdb_root):
    root, _ = musdb_root
    train = MusdbClips(root, None, subset="train", split="train", is_wav=True, passes=5)
    assert len(train.tracks) == 1 and len(train) == 5
    both = build_clips("musdb", None, root=root, subset="train", is_wav=True, passes=3)
    assert len(both) == 6  # 2 tracks of the train subset


def test_musdb_data_module_epoch_is_passes_over_the_tracks(musdb_root):
    from dasp_blind.data.modules import EffectDataModule

    root, _ = musdb_root
    dm = EffectDataModule(Compressor(SR), source="musdb", root=str(root), musdb_is_wav=True,
                          duration_s=0.25, sample_rate=SR, batch_size=2, train_items=None,
                          val_items=None, test_items=None)
    dm.setup()
    # one track in each of train / valid / test: the reference's 5, 5 and 10 passes
    assert [len(s) for s in (dm.train_set, dm.val_set, dm.test_set)] == [5, 5, 10]
    assert [t.name for t in dm.val_set.clips.tracks] == [VALID_NAME]
    custom = EffectDataModule(Compressor(SR), source="musdb", root=str(root), musdb_is_wav=True,
                              duration_s=0.25, sample_rate=SR, train_items=None,
                              train_passes=2, val_items=3)
    custom.setup("fit")
    assert len(custom.train_set) == 2 and len(custom.val_set) == 3
    batch = next(iter(custom.train_dataloader()))
    assert batch["dry"].shape == (2, 1, SR // 4)


def write_musdb_track(folder, seconds=1.0, seed=0):
    folder.mkdir(parents=True)
    noise = np.random.default_rng(seed).uniform(-0.5, 0.5, (int(seconds * MUSDB_SR), 2))
    sf.write(str(folder / "mixture.wav"), noise, MUSDB_SR, subtype="PCM_16")


def test_musdb_unreadable_mixture_is_named_or_skipped(tmp_path):
    require_ffmpeg()
    write_musdb_track(tmp_path / "train" / "Artist - Good")
    bad = tmp_path / "train" / "Artist - Broken" / "mixture.wav"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"RIFF this is not audio " * 50)
    with pytest.raises(ValueError, match="Artist - Broken/mixture.wav"):
        MusdbClips(tmp_path, 2, is_wav=True)
    with pytest.warns(UserWarning, match="Artist - Broken/mixture.wav"):
        clips = MusdbClips(tmp_path, None, is_wav=True, skip_bad_files=True, passes=2,
                           duration_s=0.25, sample_rate=SR)
    assert [t.name for t in clips.tracks] == ["Artist - Good"]
    assert len(clips) == 2
    check_clip(clips[0], SR // 4)


def test_musdb_mixture_that_fails_to_decode_later_is_named_or_skipped(tmp_path):
    require_ffmpeg()
    write_musdb_track(tmp_path / "train" / "Artist - Song")
    strict = MusdbClips(tmp_path, 2, is_wav=True, duration_s=0.25)
    lenient = MusdbClips(tmp_path, 2, is_wav=True, duration_s=0.25, skip_bad_files=True)
    mixture = tmp_path / "train" / "Artist - Song" / "mixture.wav"
    mixture.write_bytes(b"overwritten by a broken copy " * 100)  # after musdb read its header
    with pytest.raises(ValueError, match="Artist - Song/mixture.wav"):
        strict[0]
    with pytest.warns(UserWarning, match="Artist - Song/mixture.wav"):
        with pytest.raises(RuntimeError, match="unreadable"):
            lenient[0]


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


# ---------------------------------------------------------------------------- epochs (redraw)


def test_epoch_indices_draw_new_clips_and_epoch_zero_is_the_item(tone_folder):
    for clips in (SyntheticClips(4, 0.25, SR, seed=1),
                  FolderClips(tone_folder, 4, duration_s=0.25, sample_rate=SR, seed=1)):
        for i in range(4):
            assert torch.equal(clips[(0, i)], clips[i])
            assert not torch.equal(clips[(1, i)], clips[i])
            assert torch.equal(clips[(1, i)], clips[(1, i)])
            assert not torch.equal(clips[(2, i)], clips[(1, i)])
        assert torch.equal(clips[(3, -1)], clips[(3, 3)])
        for bad, error in (((0, 4), IndexError), ((-1, 0), IndexError), ((0.5, 1), TypeError),
                           ((1, 2, 3), TypeError), ("0", TypeError), (True, TypeError)):
            with pytest.raises(error):
                clips[bad]


def test_effect_pairs_draw_new_controls_per_epoch():
    effect = Compressor(sample_rate=SR)
    pairs = EffectPairDataset(SyntheticClips(3, 0.25, SR), effect, seed=2)
    for i in range(3):
        first, later = pairs[i], pairs[(1, i)]
        assert all(torch.equal(first[k], pairs[(0, i)][k]) for k in first)
        assert not torch.equal(first["q"], later["q"])
        assert not torch.equal(first["dry"], later["dry"])
        with torch.no_grad():
            expected = effect(later["dry"][None], later["q"][None])[0]
        assert torch.equal(later["wet"], expected)
        assert torch.equal(later["q"], pairs.sample_q(i, epoch=1))
    # a dataset that is not a clip source keeps its clips and changes the controls
    fixed = [torch.full((1, 100), 0.5)] * 3
    other = EffectPairDataset(fixed, effect, seed=2)
    assert torch.equal(other[(4, 1)]["dry"], fixed[1])
    assert not torch.equal(other[(4, 1)]["q"], other[1]["q"])


def test_epoch_sampler_orders():
    sampler = EpochSampler(10, shuffle=True, seed=3)
    first, second = list(sampler), list(sampler)  # each pass is the next epoch
    assert [e for e, _ in first] == [0] * 10 and [e for e, _ in second] == [1] * 10
    assert sorted(i for _, i in first) == list(range(10))
    assert [i for _, i in first] != [i for _, i in second]
    sampler.set_epoch(1)
    assert list(sampler) == second  # seeded by (seed, epoch) only
    assert [i for _, i in EpochSampler(10, seed=4)] != [i for _, i in first]
    plain = EpochSampler(4, shuffle=False)
    plain.set_epoch(5)
    assert list(plain) == [(5, 0), (5, 1), (5, 2), (5, 3)] and len(plain) == 4
    with pytest.raises(ValueError, match="epoch"):
        sampler.set_epoch(-1)
    with pytest.raises(ValueError, match="num_items"):
        EpochSampler(0)
