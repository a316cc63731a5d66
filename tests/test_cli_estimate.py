"""``dasp-blind estimate``: JSON estimate, rendering and refinement, run as a subprocess."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import soxr
import torch
from _estimators import export_tiny_estimator
from clirun import assert_one_line_error, run_cli

MODEL_SR = 16000
FILE_SR = 22050  # the files are resampled to the model's rate


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """An exported (untrained, seeded) estimator and a stereo dry / wet pair at 22.05 kHz."""
    folder = tmp_path_factory.mktemp("estimate")
    model = export_tiny_estimator(folder / "est.pt", MODEL_SR)
    gen = torch.Generator().manual_seed(5)
    t = torch.arange(int(1.5 * FILE_SR)) / FILE_SR
    dry = torch.stack([torch.sin(2 * torch.pi * 110 * t), torch.sin(2 * torch.pi * 165 * t)])
    dry = 0.6 * dry + 0.05 * torch.randn(dry.shape, generator=gen)
    wet = torch.tanh(4 * dry)
    sf.write(folder / "dry.wav", dry.T.numpy(), FILE_SR, subtype="FLOAT")
    sf.write(folder / "wet.wav", wet.T.numpy(), FILE_SR, subtype="FLOAT")
    return folder, model


def at_model_rate(path) -> torch.Tensor:
    """``(1, C, T)`` float32 read with soundfile and resampled with soxr (no dasp_blind code)."""
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    data = soxr.resample(data, rate, MODEL_SR, quality="HQ").astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(data.T))[None]


def test_prints_the_estimate_in_physical_units(files):
    folder, model = files
    result = run_cli("estimate", "wet.wav", "--model", "est.pt", cwd=folder)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["sample_rate"] == MODEL_SR and report["refine_steps"] == 0
    expected = model.estimate(at_model_rate(folder / "wet.wav"))
    assert [p["name"] for p in report["parameters"]] == list(expected)
    units = {p["name"]: p["unit"] for p in report["parameters"]}
    assert units["drive_db"] == "dB"
    for p in report["parameters"]:
        span = {s.name: s.max - s.min for s in model.analysis.param_space}[p["name"]]
        assert abs(p["value"] - float(expected[p["name"]][0])) <= 1e-4 * span


def test_renders_the_dry_file_through_the_estimate(files):
    folder, model = files
    result = run_cli("estimate", "wet.wav", "--model", "est.pt", "--dry", "dry.wav", "--out",
                     "rendered.wav", cwd=folder)
    assert result.returncode == 0, result.stderr[-2000:]
    values = {p["name"]: p["value"] for p in json.loads(result.stdout)["parameters"]}
    data, rate = sf.read(str(folder / "rendered.wav"), dtype="float32", always_2d=True)
    assert rate == MODEL_SR and data.shape[1] == 2
    with torch.no_grad():
        expected = model.analysis.process(at_model_rate(folder / "dry.wav"), values)[0]
    err = float((torch.from_numpy(data.T.copy()) - expected).abs().max())
    assert err <= 1e-3 * float(expected.abs().max())  # the JSON holds rounded-free floats


def test_refine_runs_and_reports_its_steps(files):
    folder, _ = files
    result = run_cli("estimate", "wet.wav", "--model", "est.pt", "--dry", "dry.wav",
                     "--refine", "3", cwd=folder)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["refine_steps"] == 3
    assert "refine: step" in result.stderr


def test_never_replaces_an_input_and_refuses_existing_outputs(files):
    folder, _ = files
    before = (folder / "wet.wav").read_bytes()
    result = run_cli("estimate", "wet.wav", "--model", "est.pt", "--dry", "dry.wav", "--out",
                     "wet.wav", "--overwrite", cwd=folder)
    assert "is an input file" in assert_one_line_error(result, "--out")
    assert (folder / "wet.wav").read_bytes() == before
    (folder / "taken.wav").write_bytes(b"keep")
    result = run_cli("estimate", "wet.wav", "--model", "est.pt", "--dry", "dry.wav", "--out",
                     "taken.wav", cwd=folder)
    assert_one_line_error(result, "output")
    assert (folder / "taken.wav").read_bytes() == b"keep"


@pytest.mark.parametrize(("args", "option"), [
    (["--out", "x.wav"], "--dry"),
    (["--refine", "2"], "--dry"),
    (["--refine", "-1", "--dry", "dry.wav"], "--refine"),
    (["--model", "no_such_model"], "--model"),
    (["--model", "est.pt", "--dry", "missing.wav"], "--dry"),
])
def test_bad_arguments_give_one_line_errors(files, args, option):
    folder, _ = files
    result = run_cli("estimate", "wet.wav", *(["--model", "est.pt"] if "--model" not in args
                                              else []), *args, cwd=folder)
    assert_one_line_error(result, option)
