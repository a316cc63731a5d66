"""load_audio / save_audio: exact round trips, resampling, safe (atomic, non-clobbering) writes."""

import os

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
    (torch.zeros(1, 2, 10), 44100, "a.wav", {}, r"shape \(channels, samples\)"),
    (torch.zeros(10), 44100, "a.wav", {}, r"shape \(channels, samples\)"),
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
