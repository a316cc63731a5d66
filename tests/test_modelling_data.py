"""Dry / wet pair datasets for effect modelling: recorded pairs in a folder, the
IDMT-SMT-Audio-Effects layout, and synthetic pairs through the library's effects.

References: the files read back with ``soundfile`` directly and sliced with numpy, ``soxr`` on
those arrays, segment counts from the framing formula, pairings written out by hand, and the
effects (or their functional forms with hand-denormalised parameters) applied to the dry clip.
"""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr
import torch
from _tolerances import assert_within_rounding
from torch.utils.data import DataLoader

from dasp_blind.data.clips import SyntheticClips
from dasp_blind.data.guitar import SyntheticGuitarClips
from dasp_blind.effects import Chorus, Compressor, HardClip, SoxOverdrive, Tremolo
from dasp_blind.functional.modulation import tremolo
from dasp_blind.functional.nonlinear import sox_overdrive
from dasp_blind.modelling.data import (
    SYNTHETIC_EFFECTS,
    IDMTPairs,
    PairFiles,
    PairFolder,
    SyntheticPairs,
    estimate_lag,
    find_pairs,
)

SR = 8000


def noise(frames: int, channels: int = 1, seed: int = 0, scale: float = 0.3) -> np.ndarray:
    """Seeded Gaussian noise ``(frames, channels)`` float32 (soundfile's layout)."""
    rng = np.random.default_rng(seed)
    return (scale * rng.standard_normal((frames, channels))).astype(np.float32)


def write(path: Path, data: np.ndarray, rate: int = SR) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data, rate, subtype="FLOAT")
    return path


def write_pair(folder: Path, name: str, frames: int, channels: int = 1, seed: int = 0,
               rate: int = SR) -> tuple[Path, Path]:
    x = noise(frames, channels, seed)
    return (write(folder / f"{name}-input.wav", x, rate),
            write(folder / f"{name}-target.wav", np.tanh(3 * x), rate))


def read(path: Path) -> np.ndarray:
    """The file as ``(channels, frames)`` float32, read with soundfile."""
    data, _ = sf.read(str(path), dtype="float32", always_2d=True)
    return data.T


# ------------------------------------------------------------------------------ recorded pairs

@pytest.mark.parametrize("hop_s", [None, 0.1])
def test_segments_are_slices_of_one_long_stereo_pair(tmp_path, hop_s):
    n, length = 10400, 2000  # 1.3 s, segments of 0.25 s
    inp, tgt = write_pair(tmp_path, "di", n, channels=2)
    data = PairFolder(tmp_path, 0.25, hop_s=hop_s)
    hop = length if hop_s is None else 800
    assert len(data) == (n - length) // hop + 1 == (5 if hop_s is None else 11)
    assert data.sample_rate == SR and data.num_channels == 2 and data.num_controls == 0
    x, y = read(inp), read(tgt)
    for i in range(len(data)):
        item = data[i]
        assert set(item) == {"input", "target"}
        assert item["input"].dtype == torch.float32 and item["input"].shape == (2, length)
        np.testing.assert_array_equal(item["input"].numpy(), x[:, i * hop:i * hop + length])
        np.testing.assert_array_equal(item["target"].numpy(), y[:, i * hop:i * hop + length])


def test_last_partial_segment_is_dropped_or_zero_padded(tmp_path):
    inp, _ = write_pair(tmp_path, "a", 10400)
    x = read(inp)
    assert len(PairFolder(tmp_path, 0.25)) == 5  # the last 400 samples are dropped
    padded = PairFolder(tmp_path, 0.25, pad_last=True)
    assert len(padded) == 6
    tail = np.zeros((1, 2000), np.float32)
    tail[:, :400] = x[:, 10000:]
    np.testing.assert_array_equal(padded[5]["input"].numpy(), tail)
    np.testing.assert_array_equal(padded[-1]["input"].numpy(), tail)
    # a file shorter than one segment: one padded segment, or none (an error)
    short = tmp_path / "short"
    s_in, _ = write_pair(short, "s", 300)
    one = PairFolder(short, 0.25, pad_last=True)
    assert len(one) == 1
    np.testing.assert_array_equal(one[0]["input"].numpy()[:, :300], read(s_in))
    assert not one[0]["input"][:, 300:].any()
    with pytest.raises(ValueError, match="no segment.*s-input.wav"):
        PairFolder(short, 0.25)


def test_split_folders_and_several_pairs(tmp_path):
    lengths = {"b": 4100, "a": 6500}
    for seed, (name, n) in enumerate(lengths.items()):
        write_pair(tmp_path / "train", name, n, seed=seed)
    write_pair(tmp_path / "val", "v", 2000, seed=5)
    train = PairFolder(tmp_path, 0.125, split="train")  # 1000 samples
    assert [p[0].name for p in train.pairs] == ["a-input.wav", "b-input.wav"]
    assert len(train) == 6 + 4
    assert train.segments == [(0, s) for s in range(0, 6000, 1000)] + \
        [(1, s) for s in range(0, 4000, 1000)]
    np.testing.assert_array_equal(train[7]["target"].numpy(),
                                  read(tmp_path / "train" / "b-target.wav")[:, 1000:2000])
    assert len(PairFolder(tmp_path, 0.125, split="val")) == 2
    with pytest.raises(ValueError, match="pass split="):
        PairFolder(tmp_path, 0.125)
    with pytest.raises(ValueError, match="split"):
        PairFolder(tmp_path, 0.125, split="valid")
    with pytest.raises(ValueError, match="no sub-folder 'test'"):
        PairFolder(tmp_path, 0.125, split="test")


def test_resampling_treats_both_files_alike(tmp_path):
    x = noise(22050, 2, seed=3)
    write(tmp_path / "r-input.wav", x, 22050)
    write(tmp_path / "r-target.wav", 0.5 * x, 22050)  # exactly half (a power of two)
    data = PairFolder(tmp_path, 0.2, sample_rate=16000)
    reference = soxr.resample(read(tmp_path / "r-input.wav").T, 22050, 16000, quality="HQ").T
    assert data.sample_rate == 16000
    assert len(data) == reference.shape[1] // 3200 == 5
    for i in range(len(data)):
        item = data[i]
        segment = reference[:, i * 3200:(i + 1) * 3200]
        assert_within_rounding(item["input"], segment, ops=2)
        assert_within_rounding(item["target"], 0.5 * item["input"], ops=2)


def test_explicit_pair_of_files_with_any_names(tmp_path):
    di = write(tmp_path / "di.wav", noise(4000, seed=1))
    amp = write(tmp_path / "amp out.wav", noise(4000, seed=1) * 0.5)
    data = PairFiles([(di, amp)], 0.1)
    assert len(data) == 5
    np.testing.assert_array_equal(data[2]["input"].numpy(), read(di)[:, 1600:2400])
    np.testing.assert_array_equal(data[2]["target"].numpy(), read(amp)[:, 1600:2400])


@pytest.mark.parametrize("case", ["length", "rate", "channels"])
def test_mismatched_pair_names_both_files(tmp_path, case):
    x = noise(3000, 2 if case == "channels" else 1)
    write(tmp_path / "m-input.wav", x)
    target = {"length": x[:2999], "rate": x, "channels": x[:, :1]}[case]
    write(tmp_path / "m-target.wav", target, 16000 if case == "rate" else SR)
    with pytest.raises(ValueError, match=case.replace("rate", "sample rate")) as err:
        PairFolder(tmp_path, 0.1)
    assert "m-input.wav" in str(err.value) and "m-target.wav" in str(err.value)


def test_missing_or_doubled_partner_names_the_file(tmp_path):
    write(tmp_path / "lonely-input.wav", noise(1000))
    with pytest.raises(ValueError, match="lonely-input.wav.*lonely-target.wav"):
        find_pairs(tmp_path)
    (tmp_path / "lonely-input.wav").unlink()
    write(tmp_path / "orphan-target.wav", noise(1000))
    with pytest.raises(ValueError, match="orphan-target.wav"):
        PairFolder(tmp_path, 0.01)
    write(tmp_path / "orphan-input.wav", noise(1000))
    sf.write(str(tmp_path / "orphan-input.flac"), noise(1000), SR)
    with pytest.raises(ValueError, match="orphan-input.flac.*orphan-input.wav"):
        PairFolder(tmp_path, 0.01)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no NAME-input"):
        PairFolder(empty, 0.01)


def test_pairs_of_different_rates_or_channels_and_unreadable_files(tmp_path):
    write_pair(tmp_path / "rates", "a", 2000)
    write_pair(tmp_path / "rates", "b", 2000, rate=16000)
    with pytest.raises(ValueError, match="b-input.wav.*16000 Hz.*sample_rate"):
        PairFolder(tmp_path / "rates", 0.1)
    assert PairFolder(tmp_path / "rates", 0.1, sample_rate=SR).sample_rate == SR
    write_pair(tmp_path / "channels", "a", 2000)
    write_pair(tmp_path / "channels", "b", 2000, channels=2)
    with pytest.raises(ValueError, match="b-input.wav.*2 channels"):
        PairFolder(tmp_path / "channels", 0.1)
    bad = tmp_path / "bad"
    write(bad / "x-input.wav", noise(1000))
    (bad / "x-target.wav").write_bytes(b"not audio at all")
    with pytest.raises(ValueError, match="x-target.wav"):
        PairFolder(bad, 0.01)


def test_alignment_check_finds_a_delayed_target(tmp_path):
    x = noise(6000, seed=4)
    delayed = np.concatenate([np.zeros((7, 1), np.float32), x[:-7]])
    write(tmp_path / "d-input.wav", x)
    write(tmp_path / "d-target.wav", -np.tanh(2 * delayed))  # polarity flipped, 7 late
    assert estimate_lag(x.T, delayed.T, 50) == 7
    assert estimate_lag(delayed.T, x.T, 50) == -7
    assert estimate_lag(np.zeros(100), x[:100, 0], 10) == 0
    with pytest.raises(ValueError, match="d-target.wav.*by 7 samples"):
        PairFolder(tmp_path, 0.1, alignment_tolerance=0)
    assert len(PairFolder(tmp_path, 0.1, alignment_tolerance=7)) == 7


@pytest.mark.parametrize("kwargs, name", [
    ({"segment_s": 0.0}, "segment_s"), ({"segment_s": 0.1, "hop_s": -1.0}, "hop_s"),
    ({"segment_s": 0.1, "sample_rate": 8000.5}, "sample_rate"),
    ({"segment_s": 0.1, "pad_last": 1}, "pad_last"),
    ({"segment_s": 0.1, "alignment_tolerance": -1}, "alignment_tolerance"),
    ({"segment_s": 1e-6}, "segment_s")])
def test_bad_arguments_name_themselves(tmp_path, kwargs, name):
    write_pair(tmp_path, "a", 1000)
    with pytest.raises(ValueError, match=name):
        PairFolder(tmp_path, **kwargs)


# ------------------------------------------------------------------------ IDMT-SMT-Audio-Effects

#: wet file -> its dry original, written out by hand from the ReadMe's scheme
#: (same ABC-DDEFF, GHHI = 1111, any running id).
IDMT_TREE = {
    "Gitarre monophon/Samples/Distortion/G61-40100-4411-30001.wav":
        "Gitarre monophon/Samples/NoFX/G61-40100-1111-20593.wav",
    "Gitarre monophon/Samples/Distortion/G61-41101-4413-30002.wav":
        "Gitarre monophon/Samples/NoFX/G61-41101-1111-20594.wav",
    "Gitarre monophon2/Samples/Tremolo/G61-40100-3342-33944.wav":
        "Gitarre monophon/Samples/NoFX/G61-40100-1111-20593.wav",
    "Bass monophon/Samples/Chorus/B11-28100-3311-00625.wav":
        "Bass monophon/Samples/NoFX/B11-28100-1111-00001.wav",
    "Gitarre polyphon/Samples/Overdrive/P64-43110-4422-46225.wav":
        "Gitarre polyphon/Samples/NoFX/P64-43110-1111-41185.wav",
}


def make_idmt(root: Path, frames: int = 1600) -> None:
    files = sorted(set(IDMT_TREE) | set(IDMT_TREE.values()))
    for seed, name in enumerate(files):
        write(root / name, noise(frames, seed=seed), 44100)
    write(root / "Gitarre monophon/ReadMe.wav", noise(100, seed=99), 44100)  # not a note


def test_idmt_pairs_each_wet_note_with_its_original(tmp_path):
    make_idmt(tmp_path)
    data = IDMTPairs(tmp_path)
    assert len(data) == len(IDMT_TREE) and data.num_controls == 1
    found = {p.wet.relative_to(tmp_path).as_posix(): p.dry.relative_to(tmp_path).as_posix()
             for p in data.pairs}
    assert found == IDMT_TREE
    effects = {p.wet.name: (p.effect, p.setting) for p in data.pairs}
    assert effects == {"G61-40100-4411-30001.wav": ("distortion", 1),
                       "G61-41101-4413-30002.wav": ("distortion", 3),
                       "G61-40100-3342-33944.wav": ("tremolo", 2),
                       "B11-28100-3311-00625.wav": ("chorus", 1),
                       "P64-43110-4422-46225.wav": ("overdrive", 2)}
    for i, pair in enumerate(data.pairs):
        item = data[i]
        np.testing.assert_array_equal(item["input"].numpy(), read(pair.dry))
        np.testing.assert_array_equal(item["target"].numpy(), read(pair.wet))
        assert item["controls"].tolist() == [(pair.setting - 1) / 2]
        removal = IDMTPairs(tmp_path, direction="removal")[i]
        assert torch.equal(removal["input"], item["target"])
        assert torch.equal(removal["target"], item["input"])


def test_idmt_filters(tmp_path):
    make_idmt(tmp_path)
    names = lambda data: sorted(p.wet.name for p in data.pairs)  # noqa: E731
    assert names(IDMTPairs(tmp_path, effect="distortion")) == [
        "G61-40100-4411-30001.wav", "G61-41101-4413-30002.wav"]
    assert names(IDMTPairs(tmp_path, effect=["tremolo", "chorus"], setting=[1, 2])) == [
        "B11-28100-3311-00625.wav", "G61-40100-3342-33944.wav"]
    assert names(IDMTPairs(tmp_path, instrument="bass")) == ["B11-28100-3311-00625.wav"]
    assert names(IDMTPairs(tmp_path, setting=3)) == ["G61-41101-4413-30002.wav"]
    with pytest.raises(ValueError, match="effect.*'fuzz'"):
        IDMTPairs(tmp_path, effect="fuzz")
    with pytest.raises(ValueError, match="setting"):
        IDMTPairs(tmp_path, setting=4)
    with pytest.raises(ValueError, match="no IDMT-SMT-Audio-Effects processed file"):
        IDMTPairs(tmp_path, effect="reverb")


def test_idmt_unpaired_or_ambiguous_originals_are_named(tmp_path):
    make_idmt(tmp_path)
    lonely = write(tmp_path / "Gitarre monophon/Samples/Phaser/G62-50205-3331-30999.wav",
                   noise(1600), 44100)
    with pytest.raises(ValueError, match="G62-50205-3331-30999.wav.*G62-50205-1111"):
        IDMTPairs(tmp_path)
    with pytest.warns(UserWarning, match="G62-50205-3331-30999.wav"):
        assert len(IDMTPairs(tmp_path, skip_unpaired=True)) == len(IDMT_TREE)
    lonely.unlink()
    write(tmp_path / "Bass monophon2/Samples/NoFX/B11-28100-1111-00002.wav", noise(1600),
          44100)
    with pytest.raises(ValueError, match="B11-28100-1111-00001.wav.*B11-28100-1111-00002.wav"):
        IDMTPairs(tmp_path)


def test_idmt_length_rate_checks_and_fixed_duration(tmp_path):
    make_idmt(tmp_path)
    wet = tmp_path / "Bass monophon/Samples/Chorus/B11-28100-3311-00625.wav"
    dry = tmp_path / "Bass monophon/Samples/NoFX/B11-28100-1111-00001.wav"
    write(wet, noise(1700, seed=8), 44100)  # 100 samples longer than its original
    data = IDMTPairs(tmp_path, instrument="bass")
    with pytest.raises(ValueError, match="NoFX/B11-28100-1111-00001.wav.*B11-28100-3311"):
        data[0]
    fixed = IDMTPairs(tmp_path, instrument="bass", duration_s=0.04)  # 1764 samples
    item = fixed[0]
    assert item["input"].shape == item["target"].shape == (1, 1764)
    np.testing.assert_array_equal(item["input"].numpy()[:, :1600], read(dry))
    assert not item["input"][:, 1600:].any()
    np.testing.assert_array_equal(item["target"].numpy()[:, :1700], read(wet))
    resampled = IDMTPairs(tmp_path, instrument="bass", duration_s=0.04, sample_rate=16000)[0]
    reference = soxr.resample(read(dry).T, 44100, 16000, quality="HQ").T
    assert resampled["input"].shape == (1, 640)
    assert_within_rounding(resampled["input"][:, :reference.shape[1]], reference, ops=2)
    write(wet, noise(1600, seed=8), 48000)
    with pytest.raises(ValueError, match="sample rates.*44100 Hz and 48000 Hz"):
        fixed[0]


# ------------------------------------------------------------------------------ synthetic pairs

def test_synthetic_pairs_are_seeded_and_differ_per_item():
    a = SyntheticPairs("overdrive", num_items=3, duration_s=0.1, sample_rate=SR, seed=3)
    b = SyntheticPairs("overdrive", num_items=3, duration_s=0.1, sample_rate=SR, seed=3)
    assert a.num_controls == 2 and a.control_names == ["gain_db", "colour"]
    items = [a[i] for i in range(3)]
    for i, item in enumerate(items):
        assert set(item) == {"input", "target", "controls"}
        assert item["input"].shape == item["target"].shape == (1, 800)
        assert item["input"].dtype == item["target"].dtype == item["controls"].dtype \
            == torch.float32
        assert ((item["controls"] >= 0) & (item["controls"] <= 1)).all()
        for key in item:
            assert torch.equal(item[key], b[i][key])
            assert torch.equal(item[key], a[i][key])
    for key in ("input", "target", "controls"):
        assert not torch.equal(items[0][key], items[1][key])
    other = SyntheticPairs("overdrive", num_items=3, duration_s=0.1, sample_rate=SR, seed=4)
    assert not torch.equal(other[0]["controls"], items[0]["controls"])
    assert not torch.equal(a[(1, 0)]["input"], items[0]["input"])  # a new clip in epoch 1


@pytest.mark.parametrize("name, cls", [("overdrive", SoxOverdrive), ("distortion", HardClip),
                                       ("chorus", Chorus), ("tremolo", Tremolo),
                                       ("compressor", Compressor)])
def test_wet_item_is_the_effect_on_the_dry_clip(name, cls):
    assert SYNTHETIC_EFFECTS[name] is cls
    data = SyntheticPairs(name, num_items=2, duration_s=0.1, sample_rate=SR, seed=1)
    clips = SyntheticGuitarClips(2, 0.1, SR, seed=1)
    effect = cls(SR)
    for i in range(2):
        item = data[i]
        torch.testing.assert_close(item["input"], clips[i], rtol=0, atol=0)
        expected = effect(clips[i][None], item["controls"][None])[0]
        torch.testing.assert_close(item["target"], expected, rtol=0, atol=0)


def test_fixed_controls_match_hand_denormalised_parameters():
    data = SyntheticPairs("overdrive", source="music", num_items=2, duration_s=0.1,
                          sample_rate=SR, seed=2, controls={"gain_db": 0.5, "colour": 0.25})
    assert data.num_controls == 0
    clips = SyntheticClips(2, 0.1, SR, seed=2)
    for i in range(2):
        item = data[i]
        assert set(item) == {"input", "target"}
        torch.testing.assert_close(item["input"], clips[i], rtol=0, atol=0)
        # gain_db linear in [0, 60] -> 30 dB; colour linear in [0, 100] -> 25
        expected = sox_overdrive(clips[i][None].double(), 30.0, 25.0)[0]
        assert_within_rounding(item["target"], expected, ops=8)
    # a missing control takes its default: tremolo depth 0.5; rate_hz log in [0.5, 20]
    trem = SyntheticPairs("tremolo", num_items=1, duration_s=0.1, sample_rate=SR, seed=2,
                          controls={"rate_hz": 0.5})
    dry = trem[0]["input"]
    expected = tremolo(dry[None].double(), SR, np.sqrt(0.5 * 20.0), 0.5)[0]
    assert_within_rounding(trem[0]["target"], expected, ops=8)


def test_mixed_source_alternates_guitar_and_music_of_random_genres():
    data = SyntheticPairs("overdrive", source="mixed", num_items=4, duration_s=0.1,
                          sample_rate=SR, seed=3)
    guitar = SyntheticGuitarClips(2, 0.1, SR, seed=3)
    music = SyntheticClips(2, 0.1, SR, seed=3, style="random", dynamics=True)
    for i, clip in enumerate([guitar[0], music[0], guitar[1], music[1]]):
        torch.testing.assert_close(data[i]["input"], clip, rtol=0, atol=0)
    assert data[1]["input"].abs().max() == 1.0  # music is peak-normalised, guitar is not
    assert data[0]["input"].abs().max() < 0.9


def test_peak_levels_are_drawn_per_item_and_the_effect_runs_on_the_scaled_clip():
    data = SyntheticPairs("overdrive", num_items=6, duration_s=0.1, sample_rate=SR, seed=7,
                          peak_db=(-30.0, 0.0))
    plain = SyntheticPairs("overdrive", num_items=6, duration_s=0.1, sample_rate=SR, seed=7)
    effect = SoxOverdrive(SR)
    peaks = []
    for i in range(6):
        item, clip = data[i], plain[i]
        level = data.level_of(i)
        peak_db = 20 * np.log10(float(item["input"].abs().max()))
        assert -30.0 <= level <= 0.0 and abs(peak_db - level) < 1e-4
        peaks.append(peak_db)
        # the same clip and controls as without peak_db, only scaled
        scale = float(item["input"].abs().max() / clip["input"].abs().max())
        torch.testing.assert_close(item["input"], clip["input"] * scale)
        assert torch.equal(item["controls"], clip["controls"])
        expected = effect(item["input"][None], item["controls"][None])[0]
        torch.testing.assert_close(item["target"], expected, rtol=0, atol=0)
        assert torch.equal(data[i]["input"], item["input"])  # seeded
    assert max(peaks) - min(peaks) > 5.0  # the levels differ between items
    assert data.level_of(0, epoch=1) != data.level_of(0)  # and between epochs
    assert plain.level_of(0) is None


def test_edge_probability_puts_controls_at_the_ends_of_their_ranges():
    kwargs = {"num_items": 400, "duration_s": 0.01, "sample_rate": SR, "seed": 9}
    plain = SyntheticPairs("overdrive", **kwargs)
    edged = SyntheticPairs("overdrive", edge_probability=0.3, **kwargs)
    q = torch.stack([edged.controls_of(i) for i in range(400)])
    uniform = torch.stack([plain.controls_of(i) for i in range(400)])
    at_zero, at_one = (q == 0).float().mean(), (q == 1).float().mean()
    # 800 draws at p = 0.15 each: 4 standard deviations is about 0.05
    assert abs(at_zero - 0.15) < 0.05 and abs(at_one - 0.15) < 0.05
    inside = (q > 0) & (q < 1)
    assert torch.equal(q[inside], uniform[inside])  # the others keep their uniform draw
    assert not ((uniform == 0) | (uniform == 1)).any()
    with pytest.raises(ValueError, match="edge_probability"):
        SyntheticPairs("overdrive", edge_probability=1.0, **kwargs)


@pytest.mark.parametrize("peak_db", [(0.0, -10.0), (-10.0, 30.0), (-10.0,), "loud",
                                     (float("nan"), 0.0)])
def test_bad_peak_range_is_refused(peak_db):
    with pytest.raises(ValueError, match="peak_db"):
        SyntheticPairs("overdrive", num_items=1, duration_s=0.1, sample_rate=SR,
                       peak_db=peak_db)


def test_removal_direction_swaps_input_and_target():
    kwargs = {"num_items": 2, "duration_s": 0.1, "sample_rate": SR, "seed": 5}
    emulation = SyntheticPairs("distortion", **kwargs)
    removal = SyntheticPairs("distortion", direction="removal", **kwargs)
    for i in range(2):
        assert torch.equal(removal[i]["input"], emulation[i]["target"])
        assert torch.equal(removal[i]["target"], emulation[i]["input"])
        assert torch.equal(removal[i]["controls"], emulation[i]["controls"])


def test_folder_source_and_dataloader_workers(tmp_path):
    for seed in range(3):
        write(tmp_path / f"song{seed}.wav", noise(4000, seed=seed))
    data = SyntheticPairs("tremolo", source="folder", root=tmp_path, num_items=4,
                          duration_s=0.1, sample_rate=SR, seed=0)
    batch = next(iter(DataLoader(data, batch_size=4, num_workers=2)))
    for key in ("input", "target", "controls"):
        torch.testing.assert_close(batch[key], torch.stack([data[i][key] for i in range(4)]),
                                   rtol=0, atol=0)
    assert batch["input"].shape == (4, 1, 800) and batch["controls"].shape == (4, 2)


@pytest.mark.parametrize("kwargs, name", [
    ({"effect": "reverb"}, "effect"), ({"effect": "tremolo", "source": "drums"}, "source"),
    ({"effect": "tremolo", "direction": "back"}, "direction"),
    ({"effect": "tremolo", "controls": "fixed"}, "controls"),
    ({"effect": "tremolo", "controls": {"speed": 0.1}}, "speed"),
    ({"effect": "tremolo", "controls": {"depth": 1.5}}, "depth"),
    ({"effect": "tremolo", "source": "folder"}, "root"),
    ({"effect": "tremolo", "root": "."}, "root"),
    ({"effect": "tremolo", "seed": -1}, "seed"),
    ({"effect": "tremolo", "num_items": 0}, "num_items")])
def test_synthetic_bad_arguments_name_themselves(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SyntheticPairs(duration_s=0.1, sample_rate=SR, **kwargs)
