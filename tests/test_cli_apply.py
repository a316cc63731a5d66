"""``dasp-blind apply``: the file it writes equals the effect's ``process``; refusals and errors."""

import os

import numpy as np
import pytest
import soundfile as sf
import torch
from clirun import assert_one_line_error, run_cli

from dasp_blind.effects import Chain, Compressor, HardClip, ParametricEQ

SR = 22050  # not the effects' default rate: the effects must be built at the file's rate


@pytest.fixture
def song(tmp_path):
    """A seeded stereo float32 WAV at 22.05 kHz in ``tmp_path``; returns (path, audio (C, T))."""
    g = torch.Generator().manual_seed(7)
    x = (torch.rand(2, 11025, generator=g) - 0.5) * 0.8
    sf.write(tmp_path / "in.wav", x.T.numpy(), SR, subtype="FLOAT")
    return tmp_path / "in.wav", x


def read(path):
    """Audio ``(channels, samples)`` float32 as soundfile reads it (independent of the library)."""
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return torch.from_numpy(data.T.copy()), rate


def assert_close_float32(actual, expected):
    eps = torch.finfo(torch.float32).eps
    tol = 16 * eps * float(expected.abs().max())  # a few roundings of the largest sample
    assert actual.shape == expected.shape
    assert float((actual - expected).abs().max()) <= tol


def test_eq_equals_process_and_keeps_rate_and_channels(tmp_path, song):
    path, x = song
    result = run_cli("apply", "in.wav", "out.wav", "--effect", "eq", "--param",
                     "peak1.gain_db=6", "--param", "peak1.freq_hz=1000", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    y, rate = read(tmp_path / "out.wav")
    info = sf.info(str(tmp_path / "out.wav"))
    assert rate == SR and info.channels == 2 and info.subtype == "FLOAT"
    expected = ParametricEQ(SR).process(x.unsqueeze(0), {"peak1.gain_db": 6.0,
                                                          "peak1.freq_hz": 1000.0})[0]
    assert_close_float32(y, expected)
    assert not torch.allclose(y, x, atol=1e-3)  # the EQ did something


def test_chain_names_parameters_by_effect_and_reports_each(tmp_path, song):
    path, x = song
    result = run_cli("apply", "in.wav", "out.flac", "--effect", "eq,compressor,hard_clip",
                     "--param", "eq.peak1.gain_db=3", "--param", "compressor.ratio=6",
                     "--param", "compressor.threshold_db=-30", "--param", "hard_clip.gain_db=6",
                     "--subtype", "PCM_24", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for i, name in enumerate(("eq", "compressor", "hard_clip"), start=1):
        assert f"[{i}/3] {name}" in result.stderr
    y, rate = read(tmp_path / "out.flac")
    assert rate == SR and sf.info(str(tmp_path / "out.flac")).subtype == "PCM_24"
    chain = Chain({"eq": ParametricEQ(SR), "compressor": Compressor(SR),
                   "hard_clip": HardClip(SR)})
    expected = chain.process(x.unsqueeze(0), {"eq.peak1.gain_db": 3.0, "compressor.ratio": 6.0,
                                              "compressor.threshold_db": -30.0,
                                              "hard_clip.gain_db": 6.0})[0]
    # 24-bit file: half a quantisation step, plus float32 rounding
    np.testing.assert_allclose(y.numpy(), expected.numpy(), rtol=0, atol=2.0 ** -23)


def test_refuses_to_replace_the_output_or_the_input(tmp_path, song):
    path, _ = song
    (tmp_path / "out.wav").write_bytes(b"someone's file")
    before = path.read_bytes()
    line = assert_one_line_error(run_cli("apply", "in.wav", "out.wav", "--effect", "gain",
                                         cwd=tmp_path), "output")
    assert "exists" in line and "--overwrite" in line
    assert (tmp_path / "out.wav").read_bytes() == b"someone's file"
    line = assert_one_line_error(run_cli("apply", "in.wav", "in.wav", "--effect", "gain",
                                         cwd=tmp_path), "output")
    assert "is the input file" in line
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["in.wav", "out.wav"]


def test_overwrite_replaces_even_the_input(tmp_path, song):
    path, x = song
    result = run_cli("apply", "in.wav", "in.wav", "--effect", "gain", "--param", "gain_db=-6",
                     "--overwrite", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    y, _ = read(path)
    assert_close_float32(y, x * 10 ** (-6 / 20))
    assert os.listdir(tmp_path) == ["in.wav"]  # no temporary file left


@pytest.mark.parametrize("args,option,words", [
    (["--effect", "reverb"], "--effect", "unknown effect 'reverb'"),
    (["--effect", "eq,eq"], "--effect", "repeated: eq"),
    (["--effect", "proxy_compressor"], "--effect", "44100"),   # the proxy runs at 44.1 kHz only
    (["--effect", "eq", "--param", "peak1.gain_db=20"], "--param", "[-15, 15] dB, got 20"),
    (["--effect", "eq", "--param", "peak9.gain_db=1"], "--param", "unknown parameter"),
    (["--effect", "eq", "--param", "peak1.gain_db"], "--param", "NAME=VALUE"),
    (["--effect", "eq", "--param", "peak1.gain_db=loud"], "--param", "must be a number"),
    (["--effect", "eq", "--param", "peak1.gain_db=inf"], "--param", "finite"),
    (["--effect", "eq,compressor", "--param", "ratio=4"], "--param", "prefix"),
    (["--effect", "gain", "--subtype", "PCM_99"], "--subtype", "not available for WAV"),
])
def test_bad_effect_or_parameter_is_one_line_and_writes_nothing(tmp_path, song, args, option,
                                                                words):
    line = assert_one_line_error(run_cli("apply", "in.wav", "out.wav", *args, cwd=tmp_path),
                                 option)
    assert words in line
    assert os.listdir(tmp_path) == ["in.wav"]


def test_missing_input_and_unknown_output_format(tmp_path):
    line = assert_one_line_error(run_cli("apply", "none.wav", "out.wav", "--effect", "gain",
                                         cwd=tmp_path), "input")
    assert "none.wav" in line
    line = assert_one_line_error(run_cli("apply", "none.wav", "out.xyz", "--effect", "gain",
                                         cwd=tmp_path), "output")
    assert "out.xyz" in line
    assert os.listdir(tmp_path) == []
