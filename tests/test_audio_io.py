"""load_audio / save_audio: exact round trips, resampling, safe (atomic, non-clobbering) writes."""

import os
import warnings

import numpy as np
import pytest
import soundfile as sf
import torch
from _signals import seeded
from _tolerances import assert_within_rounding

import dasp_blind.data.audio as audio_mod
from dasp_blind.data.audio import load_audio, save_audio


def noise(channels=2, samples=4410, seed=0):
    """Uniform noise in [−0.9, 0.9) ``(channels, samples)``, float32."""
    return torch.rand(channels, samples, generator=seeded(seed)) * 1.8 - 0.9


def test_float_wav_round_trip_is_exact(tmp_path):
    x = noise()
    path = tmp_path / "a.wav"
    assert save_audio(path, x, 44100) == path
    y, sr = load_audio(path)
    assert sr == 44100
    assert y.dtype == torch.float32 and y.shape == (2, 4410)
    assert torch.equal(y, x)
    assert sf.info(str(path)).subtype == "FLOAT"


def test_numpy_input_and_pcm_subtype(tmp_path):
    x = noise(channels=1).numpy().astype(np.float64)
    save_audio(tmp_path / "b.flac", x, 16000, subtype="PCM_24")
    y, sr = load_audio(tmp_path / "b.flac")
    assert sr == 16000 and y.shape == (1, 4410)
    np.testing.assert_allclose(y.numpy(), x, atol=2.0 ** -23)


def test_mono_averages_channels(tmp_path):
    x = noise()
    save_audio(tmp_path / "s.wav", x, 8000)
    y, _ = load_audio(tmp_path / "s.wav", mono=True)
    assert y.shape == (1, 4410)
    assert_within_rounding(y[0], x.double().mean(dim=0))  # averaged in float64, then cast


def test_resampling_halves_length_and_keeps_a_tone(tmp_path):
    t = np.arange(44100) / 44100
    x = np.sin(2 * np.pi * 1000 * t)[None, :].astype(np.float32)
    save_audio(tmp_path / "tone.wav", x, 44100)
    y, sr = load_audio(tmp_path / "tone.wav", sample_rate=22050)
    assert sr == 22050 and y.shape == (1, 22050) and y.dtype == torch.float32
    expected = np.sin(2 * np.pi * 1000 * np.arange(22050) / 22050)
    # Away from the edges the resampled tone is the same 1 kHz sine.
    np.testing.assert_allclose(y[0, 1000:-1000].numpy(), expected[1000:-1000], atol=1e-3)
    same, sr_same = load_audio(tmp_path / "tone.wav", sample_rate=44100)
    assert sr_same == 44100 and torch.equal(same, torch.from_numpy(x))


def test_refuses_to_overwrite_and_leaves_original_bytes(tmp_path):
    path = tmp_path / "keep.wav"
    save_audio(path, noise(seed=1), 44100)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_audio(path, noise(seed=2), 44100)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["keep.wav"]


def test_overwrite_true_replaces(tmp_path):
    path = tmp_path / "x.wav"
    save_audio(path, noise(seed=1), 44100)
    new = noise(channels=1, samples=100, seed=3)
    save_audio(path, new, 22050, overwrite=True)
    y, sr = load_audio(path)
    assert sr == 22050 and torch.equal(y, new)
    assert sorted(os.listdir(tmp_path)) == ["x.wav"]


def test_creates_parent_directories_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "deep" / "er" / "out.wav"
    save_audio(path, noise(), 44100)
    assert path.is_file()
    assert os.listdir(path.parent) == ["out.wav"]


def test_interrupted_write_leaves_no_file(tmp_path, monkeypatch):
    real_write = sf.write

    def write_then_die(file, data, *args, **kwargs):
        real_write(file, data[: len(data) // 2], *args, **kwargs)  # a half-written file
        raise KeyboardInterrupt

    monkeypatch.setattr(audio_mod.sf, "write", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        save_audio(tmp_path / "new.wav", noise(), 44100)
    assert os.listdir(tmp_path) == []
    # An interrupted overwrite keeps the original intact.
    monkeypatch.setattr(audio_mod.sf, "write", real_write)
    save_audio(tmp_path / "old.wav", noise(seed=5), 44100)
    before = (tmp_path / "old.wav").read_bytes()
    monkeypatch.setattr(audio_mod.sf, "write", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        save_audio(tmp_path / "old.wav", noise(seed=6), 44100, overwrite=True)
    assert (tmp_path / "old.wav").read_bytes() == before
    assert os.listdir(tmp_path) == ["old.wav"]


@pytest.mark.parametrize("audio,sr,name,kwargs,match", [
    (torch.zeros(2, 2, 10), 44100, "a.wav", {}, r"audio of shape \(batch, channels, samples\)"
     r" must hold one item"),
    (torch.zeros(1, 1, 2, 10), 44100, "a.wav", {}, r"audio must have shape \(samples,\)"),
    (torch.tensor(0.5), 44100, "a.wav", {}, "got a scalar"),
    (torch.zeros(44100, 2), 44100, "a.wav", {}, r"not\s+\(samples, channels\)"),
    (torch.full((1, 10), float("nan")), 44100, "a.wav", {}, "NaN or Inf"),
    (torch.zeros(1, 10, dtype=torch.int16), 44100, "a.wav", {}, "floating-point"),
    ([[0.0, 0.1]], 44100, "a.wav", {}, "torch.Tensor or numpy.ndarray"),
    (torch.zeros(1, 10), 0, "a.wav", {}, "sample_rate must be a positive integer"),
    (torch.zeros(1, 10), 44100.5, "a.wav", {}, "sample_rate must be a positive integer"),
    (torch.zeros(1, 10), 44100, "a.xyz", {}, "cannot tell the audio format"),
    (torch.zeros(1, 10), 44100, "a.flac", {"subtype": "FLOAT"}, "not available for FLAC"),
])
def test_save_rejects_bad_arguments(tmp_path, audio, sr, name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        save_audio(tmp_path / name, audio, sr, **kwargs)
    assert os.listdir(tmp_path) == []


def test_load_rejects_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_audio(tmp_path / "missing.wav")
    save_audio(tmp_path / "a.wav", noise(), 44100)
    with pytest.raises(ValueError, match="sample_rate must be a positive integer"):
        load_audio(tmp_path / "a.wav", sample_rate=-1)
    (tmp_path / "junk.wav").write_bytes(b"not audio at all")
    with pytest.raises(ValueError, match="cannot read audio file"):
        load_audio(tmp_path / "junk.wav")
    with pytest.raises(ValueError, match="directory"):
        load_audio(tmp_path)


@pytest.mark.parametrize("shape", [(3000,), (1, 3000), (1, 2, 3000)])
def test_save_accepts_mono_channels_first_and_one_batch_item(tmp_path, shape):
    g = torch.Generator().manual_seed(11)
    x = torch.rand(shape, generator=g) - 0.5
    save_audio(tmp_path / "a.wav", x, 8000)
    data, sr = sf.read(tmp_path / "a.wav", dtype="float32", always_2d=True)  # (frames, channels)
    assert sr == 8000
    np.testing.assert_array_equal(data.T, x.reshape(-1, 3000).numpy())


def test_flac_default_subtype_is_pcm24_and_round_trips(tmp_path):
    x = noise(channels=2, samples=3000, seed=4) * 0.5
    save_audio(tmp_path / "a.flac", x, 44100)
    assert sf.info(str(tmp_path / "a.flac")).subtype == "PCM_24"
    data, sr = sf.read(tmp_path / "a.flac", dtype="float64", always_2d=True)
    assert sr == 44100
    # 24-bit quantisation: at most half a step of 2**-23
    np.testing.assert_allclose(data.T, x.numpy(), rtol=0, atol=2.0 ** -24 * (1 + 1e-6))


def test_ogg_default_subtype_is_vorbis(tmp_path):
    save_audio(tmp_path / "a.ogg", noise(channels=1, seed=2), 44100)
    assert sf.info(str(tmp_path / "a.ogg")).subtype == "VORBIS"


def _deny_temporary_files(monkeypatch):
    """Make creating the hidden temporary file fail as a read-only folder makes it fail."""
    real_open = os.open

    def deny(path, flags, *args, **kwargs):
        if str(path).endswith(".tmp"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(audio_mod.os, "open", deny)


def test_unwritable_folder_raises_permission_error_naming_the_users_path(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() == 0:
        # root ignores folder permissions: exercise the same failure (creating the temporary
        # file raises PermissionError) by refusing it; the translation under test is the same
        _deny_temporary_files(monkeypatch)
    else:
        folder.chmod(0o555)
    try:
        with pytest.raises(PermissionError) as info:
            save_audio(folder / "out.wav", noise(), 44100)
    finally:
        folder.chmod(0o755)
    message = str(info.value)
    assert info.value.filename == str(folder / "out.wav")
    assert str(folder / "out.wav") in message and ".tmp" not in message
    assert os.listdir(folder) == []


def test_parent_that_is_a_file_is_named(tmp_path):
    (tmp_path / "file").write_bytes(b"user data")
    with pytest.raises(NotADirectoryError, match="a parent folder of the file is a file"):
        save_audio(tmp_path / "file" / "out.wav", noise(), 44100)
    assert (tmp_path / "file").read_bytes() == b"user data"


def _truncate(path, nbytes):
    data = path.read_bytes()
    path.write_bytes(data[:-nbytes])


@pytest.mark.parametrize("name,subtype,frame_bytes", [("a.wav", "FLOAT", 8),
                                                      ("a.wav", "PCM_16", 4),
                                                      ("a.aiff", "PCM_16", 4)])
def test_load_warns_on_a_truncated_file(tmp_path, name, subtype, frame_bytes):
    path = tmp_path / name
    x = noise(channels=2, samples=1000, seed=7)
    save_audio(path, x, 8000, subtype=subtype)
    _truncate(path, 250 * frame_bytes + 1)  # 250 frames and one byte less than written
    with pytest.warns(UserWarning, match=rf"{name}.*looks truncated") as record:
        y, sr = load_audio(path)
    assert len(record) == 1
    assert sr == 8000 and y.shape == (2, 749)
    expected, _ = sf.read(path, dtype="float32", always_2d=True)  # what libsndfile returns
    np.testing.assert_array_equal(y.numpy(), expected.T)


@pytest.mark.parametrize("name", ["a.wav", "a.aiff", "a.flac"])
def test_load_does_not_warn_on_an_intact_file(tmp_path, name):
    save_audio(tmp_path / name, noise(), 8000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y, _ = load_audio(tmp_path / name)
    assert y.shape == (2, 4410)
