"""``dasp-blind declip`` and ``dasp-blind remove`` run as subprocesses on files read back with
soundfile; the removal pipeline is rebuilt here with soxr and the restorer."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import soxr
import torch
from _signals import seeded
from clirun import assert_one_line_error, run_cli

from dasp_blind import pretrained
from dasp_blind.removal import aspade
from dasp_blind.removal.restorer import Restorer

FILE_SR = 22050
TINY_DEMUCS = {"channels": 2, "depth": 2, "lstm_layers": 1}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A stereo clean / clipped pair at 22.05 kHz and an exported (untrained, seeded) restorer."""
    folder = tmp_path_factory.mktemp("removal")
    t = np.arange(int(0.25 * FILE_SR)) / FILE_SR
    clean = np.stack([0.9 * np.sin(2 * np.pi * 196 * t) + 0.2 * np.sin(2 * np.pi * 587 * t),
                      0.7 * np.sin(2 * np.pi * 247 * t + 1.0)])
    clipped = np.stack([np.clip(clean[0], -0.5, 0.5), np.clip(clean[1], -0.4, 0.4)])
    sf.write(folder / "clean.wav", clean.T, FILE_SR, subtype="DOUBLE")
    sf.write(folder / "clipped.wav", clipped.T, FILE_SR, subtype="DOUBLE")
    restorer = Restorer("demucs", TINY_DEMUCS)
    restorer.network.reset_parameters(seeded(3))
    pretrained.save(restorer, folder / "tiny.pt", init_args={"network": "demucs",
                    "network_args": TINY_DEMUCS, "sample_rate": 16000, "normalize": True},
                    sample_rate=16000, recipe={"command": None, "data": None, "steps": 0,
                                               "seed": None}, metrics={})
    return folder


def test_declip_restores_the_clipped_samples_only(files, tmp_path):
    out = tmp_path / "declipped.wav"
    result = run_cli("declip", str(files / "clipped.wav"), str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    clipped, _ = sf.read(files / "clipped.wav", always_2d=True)
    declipped, rate = sf.read(out, always_2d=True)
    assert rate == FILE_SR and declipped.shape == clipped.shape
    for channel, level in enumerate((0.5, 0.4)):
        inside = np.abs(clipped[:, channel]) < level
        # float32 output of samples A-SPADE keeps bit for bit
        np.testing.assert_array_equal(declipped[inside, channel],
                                      clipped[inside, channel].astype(np.float32))
        top = clipped[:, channel] >= level
        assert np.all(declipped[top, channel] >= np.float32(level))
    # each channel on its own, at the file's rate, levels detected: what aspade does in-process
    expected = aspade(torch.from_numpy(clipped.T.astype(np.float32)).double()[:, None],
                      FILE_SR, progress=False)[:, 0].float().numpy().T
    np.testing.assert_array_equal(declipped, expected)


def test_declip_and_remove_refuse_to_overwrite(files, tmp_path):
    existing = tmp_path / "exists.wav"
    existing.write_bytes(b"keep me")
    for command, extra in (("declip", []), ("remove", ["--model", str(files / "tiny.pt")])):
        result = run_cli(command, str(files / "clipped.wav"), str(existing), *extra,
                         cwd=tmp_path)
        assert "--overwrite" in assert_one_line_error(result, "output")
        assert existing.read_bytes() == b"keep me"
        result = run_cli(command, str(files / "clipped.wav"), str(files / "clipped.wav"),
                         *extra, cwd=tmp_path)
        assert "input file" in assert_one_line_error(result, "output")
    result = run_cli("declip", str(files / "clipped.wav"), str(tmp_path / "o.wav"),
                     "--threshold", "-1", cwd=tmp_path)
    assert_one_line_error(result, "--threshold")
    result = run_cli("remove", str(files / "clipped.wav"), str(tmp_path / "o.wav"),
                     "--model", "compressor_proxy", cwd=tmp_path)
    assert "not a distortion-removal network" in assert_one_line_error(result, "--model")


def reference_removal(path, restorer: Restorer, chunk_s: float) -> np.ndarray:
    """Resample each channel to the restorer's rate with soxr, restore, resample back."""
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    low = soxr.resample(data.astype(np.float64), rate, 16000, quality="HQ")
    x = torch.from_numpy(np.ascontiguousarray(low.T)).float()[:, None]
    restored = restorer.eval().restore(x, chunk_s=chunk_s, overlap_s=min(1.0, chunk_s / 2))
    back = soxr.resample(restored[:, 0].double().numpy().T, 16000, rate, quality="HQ")
    return back[:data.shape[0]]


def test_remove_uses_the_shipped_restorer_by_default(files, tmp_path):
    out = tmp_path / "restored.wav"
    result = run_cli("remove", str(files / "clipped.wav"), str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "guitar_distortion_removal" in result.stderr
    restored, _ = sf.read(out, always_2d=True)
    expected = reference_removal(files / "clipped.wav",
                                 pretrained.load("guitar_distortion_removal"), 30.0)
    np.testing.assert_allclose(restored, expected, atol=1e-4 * np.abs(expected).max())


@pytest.mark.parametrize("chunk_s", [30.0, 0.1])
def test_remove_matches_the_pipeline_rebuilt_here(files, tmp_path, chunk_s):
    out = tmp_path / "restored.wav"
    result = run_cli("remove", str(files / "clipped.wav"), str(out), "--model",
                     str(files / "tiny.pt"), "--chunk-s", str(chunk_s), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    restored, rate = sf.read(out, always_2d=True)
    assert rate == FILE_SR
    expected = reference_removal(files / "clipped.wav", pretrained.load(files / "tiny.pt"),
                                 chunk_s)
    assert restored.shape == expected.shape
    scale = np.abs(expected).max()
    np.testing.assert_allclose(restored, expected, atol=1e-4 * scale)


def test_remove_hard_clipped_keeps_the_unclipped_samples(files, tmp_path):
    out = tmp_path / "consistent.wav"
    result = run_cli("remove", str(files / "clipped.wav"), str(out), "--hard-clipped",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    clipped, _ = sf.read(files / "clipped.wav", always_2d=True)
    restored, _ = sf.read(out, always_2d=True)
    network = reference_removal(files / "clipped.wav",
                                pretrained.load("guitar_distortion_removal"), 30.0)
    level = np.array([0.5, 0.4])
    inside = np.abs(clipped) < level
    np.testing.assert_array_equal(restored[inside], clipped[inside].astype(np.float32))
    top, bottom = clipped >= level, clipped <= -level
    # the clipped samples: the network's output scaled by its least-squares gain on the
    # unclipped samples of both channels, then held at or beyond the level
    gain = network[inside] @ clipped[inside] / (network[inside] @ network[inside])
    scaled = gain * network
    want = np.where(top, np.maximum(scaled, level), np.minimum(scaled, -level))
    clip = top | bottom
    assert np.mean(np.abs(scaled[clip]) > level[None].repeat(len(clipped), 0)[clip]) > 0.2
    np.testing.assert_allclose(restored[clip], want[clip], atol=1e-4 * np.abs(want).max())
    result = run_cli("remove", str(files / "clipped.wav"), str(tmp_path / "t.wav"),
                     "--threshold", "0.5", cwd=tmp_path)
    assert "--hard-clipped" in assert_one_line_error(result, "--threshold")
