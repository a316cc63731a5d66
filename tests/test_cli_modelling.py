"""``dasp-blind export`` and ``dasp-blind process`` on small seeded models saved with
``dasp_blind.pretrained.save``: every exported file is read back on its own (onnxruntime,
``torch.jit.load``, the plugin JSONs through the numpy recurrences of
``test_modelling_plugin``) and run against the model; ``process`` is checked against the
pipeline rebuilt here (soxr to the model's rate, the model over the whole signal, soxr back).

One run of each command goes through a subprocess, as a user runs it; the other cases call
``dasp_blind.cli.main`` in this process (the same parsing, errors and exit status, without the
start-up of a new interpreter)."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import soundfile as sf
import soxr
import torch
from _signals import seeded
from clirun import assert_one_line_error, run_cli
from test_modelling_plugin import run_guitarml_file, run_rtneural_file

from dasp_blind import pretrained
from dasp_blind.cli import main
from dasp_blind.modelling.rnn import RNNModel
from dasp_blind.modelling.tcn import TCN
from dasp_blind.removal.crafx import CRAFx

ort = pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.filterwarnings(r"ignore:`torch\.jit\.\w+` is deprecated")

MODEL_SR = 16000
FILE_SR = 22050
#: Exported float32 model against the model, and a processed file against the pipeline rebuilt
#: here (the issue's bound; the largest difference measured is 1.2e-7, and 0 for the files).
TOL = 1e-5
TINY = {
    "rnn": (RNNModel, {"hidden_size": 8, "num_controls": 2}),
    "tcn": (TCN, {"channels": 4, "num_blocks": 2, "kernel_size": 3}),
    "crafx": (CRAFx, {"frame_length": 256, "hop_length": 128, "filters": 4, "kernel_size": 8,
                      "pool_size": 16, "context": 1}),
}
#: The recipe of a model trained on synthetic overdrive pairs with random knobs: its controls
#: are the overdrive's parameters, gain_db and colour.
OVERDRIVE_DATA = {"class": "dasp_blind.modelling.datamodule.ModellingDataModule",
                  "source": "synthetic", "effect": "overdrive", "controls": "random"}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The tiny models as ``<name>.pt`` + sidecar at 16 kHz, and a stereo file at 22.05 kHz."""
    folder = tmp_path_factory.mktemp("modelling_cli")
    for seed, (name, (cls, args)) in enumerate(TINY.items()):
        model = cls(**args).reset_parameters(seeded(seed))
        data = OVERDRIVE_DATA if name == "rnn" else None
        pretrained.save(model, folder / f"{name}.pt", init_args=args, sample_rate=MODEL_SR,
                        recipe={"command": None, "data": data, "steps": 0, "seed": None},
                        metrics={})
    noise = np.random.default_rng(7).normal(0.0, 0.2, (int(0.3 * FILE_SR), 2))
    sf.write(folder / "dry.wav", noise * [1.0, 0.5], FILE_SR, subtype="FLOAT")
    return folder


def run_main(capsys, *args: str) -> subprocess.CompletedProcess:
    """``dasp-blind ARGS`` through :func:`dasp_blind.cli.main` in this process."""
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out.out, out.err)


def knobs(batch: int = 1) -> torch.Tensor:
    return torch.tensor([[0.3, 0.8]]).expand(batch, -1)


def seeded_input(samples: int = 1500, seed: int = 1) -> torch.Tensor:
    return 0.5 * torch.randn(1, 1, samples, generator=seeded(seed))


def test_export_onnx_runs_in_onnxruntime_as_the_model(files, tmp_path):
    out = tmp_path / "rnn.onnx"
    result = run_cli("export", "--model", str(files / "rnn.pt"), "--format", "onnx", str(out),
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "wrote" in result.stdout
    model = pretrained.load(files / "rnn.pt")
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert session.get_modelmeta().custom_metadata_map["sample_rate"] == str(MODEL_SR)
    x = seeded_input()
    y, _ = session.run(None, {"x": x.numpy(), "controls": knobs().numpy(),
                              "state_in": model.initial_state(1).numpy()})
    with torch.no_grad():
        expected = model(x, knobs()).numpy()
    np.testing.assert_allclose(y, expected, rtol=0, atol=TOL)


@pytest.mark.parametrize("fmt", ["torchscript", "json", "aidax"])
def test_export_torchscript_and_plugin_files_read_back(fmt, files, tmp_path, capsys):
    out = tmp_path / f"rnn.{fmt}"
    result = run_main(capsys, "export", "--model", files / "rnn.pt", "--format", fmt, out)
    assert result.returncode == 0, result.stderr
    model = pretrained.load(files / "rnn.pt")
    x = seeded_input()
    with torch.no_grad():
        expected = model(x, knobs())[0, 0].double().numpy()
    if fmt == "torchscript":
        with torch.no_grad():
            got = torch.jit.load(str(out))(x, knobs())[0, 0].double().numpy()
    else:
        data = json.loads(out.read_text())
        rate = data["model_data"]["sample_rate"] if fmt == "json" else data["metadata"][
            "samplerate"]
        assert int(rate) == MODEL_SR
        run = run_guitarml_file if fmt == "json" else run_rtneural_file
        controls = knobs()[0, :, None].double().numpy().repeat(x.shape[-1], axis=1)
        got = run(data, x[0, 0].double().numpy(), controls)
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)


def test_export_errors_name_the_option(files, tmp_path, capsys):
    line = assert_one_line_error(run_main(capsys, "export", "--model", files / "tcn.pt",
                                          "--format", "json", tmp_path / "t.json"), "--format")
    assert "is a TCN, which exports to torchscript, onnx" in line
    assert "invalid choice" in assert_one_line_error(
        run_main(capsys, "export", "--model", files / "rnn.pt", "--format", "keras",
                 tmp_path / "r.json"), "--format")
    assert "not an effect model" in assert_one_line_error(
        run_main(capsys, "export", "--model", "compressor_proxy", "--format", "onnx",
                 tmp_path / "p.onnx"), "--model")
    assert_one_line_error(run_main(capsys, "export", "--model", tmp_path / "none.pt",
                                   "--format", "onnx", tmp_path / "n.onnx"), "--model")
    existing = tmp_path / "exists.onnx"
    existing.write_bytes(b"keep me")
    args = ("export", "--model", files / "rnn.pt", "--format", "onnx", existing)
    assert "--overwrite" in assert_one_line_error(run_main(capsys, *args), "output")
    assert existing.read_bytes() == b"keep me"
    assert run_main(capsys, *args, "--overwrite").returncode == 0
    assert existing.read_bytes().startswith(b"\x08")  # an ONNX protobuf now
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists.onnx"]


def reference_process(path, model, controls: torch.Tensor | None) -> np.ndarray:
    """Each channel resampled to the model's rate with soxr, the model over the whole signal,
    resampled back and cut to the file's length: ``(frames, channels)``."""
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    low = soxr.resample(data.astype(np.float64), rate, MODEL_SR, quality="HQ")
    x = torch.from_numpy(np.ascontiguousarray(low.T)).float()[:, None]  # (channels, 1, T)
    with torch.no_grad():
        y = model(x) if controls is None else model(x, controls.expand(x.shape[0], -1))
    back = soxr.resample(y[:, 0].double().numpy().T, MODEL_SR, rate, quality="HQ")
    return back[:data.shape[0]]


def assert_matches(path, expected: np.ndarray) -> None:
    got, rate = sf.read(path, always_2d=True)
    assert rate == FILE_SR and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL * max(1.0, np.abs(expected).max()))


def test_process_streams_a_causal_model_with_named_or_plain_knobs(files, tmp_path, capsys):
    named = tmp_path / "named.wav"
    result = run_cli("process", "--model", str(files / "rnn.pt"), str(files / "dry.wav"),
                     str(named), "--knob", "colour=0.8", "--knob", "gain_db=0.3",
                     "--block-size", "1000", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "streamed in blocks of 1000" in result.stderr
    model = pretrained.load(files / "rnn.pt")
    expected = reference_process(files / "dry.wav", model, knobs())
    assert_matches(named, expected)
    assert np.abs(expected - sf.read(files / "dry.wav", always_2d=True)[0]).max() > 0.01
    plain = tmp_path / "plain.wav"
    result = run_main(capsys, "process", "--model", files / "rnn.pt", files / "dry.wav", plain,
                      "--knob", "0.3", "--knob", "0.8")
    assert result.returncode == 0, result.stderr
    assert "in blocks of 4096" in result.stderr
    assert_matches(plain, expected)


def test_process_runs_an_offline_model_in_one_pass(files, tmp_path, capsys):
    out = tmp_path / "crafx.wav"
    result = run_main(capsys, "process", "--model", files / "crafx.pt", files / "dry.wav", out)
    assert result.returncode == 0, result.stderr
    assert "in one pass" in result.stderr
    assert_matches(out, reference_process(files / "dry.wav",
                                          pretrained.load(files / "crafx.pt"), None))


def test_process_errors_name_the_option(files, tmp_path, capsys):
    dry, out = files / "dry.wav", tmp_path / "out.wav"
    rnn = ("process", "--model", files / "rnn.pt", dry, out)
    line = assert_one_line_error(run_main(capsys, *rnn, "--knob", "0.5"), "--knob")
    assert "2 control(s) (gain_db, colour); got 1" in line
    assert_one_line_error(run_main(capsys, *rnn), "--knob")
    assert "[0, 1]" in assert_one_line_error(
        run_main(capsys, *rnn, "--knob", "0.5", "--knob", "1.5"), "--knob")
    assert "not both" in assert_one_line_error(
        run_main(capsys, *rnn, "--knob", "0.5", "--knob", "colour=0.5"), "--knob")
    assert "unknown control 'drive'" in assert_one_line_error(
        run_main(capsys, *rnn, "--knob", "drive=0.5", "--knob", "colour=0.5"), "--knob")
    assert "no controls" in assert_one_line_error(
        run_main(capsys, "process", "--model", files / "tcn.pt", dry, out, "--knob", "0.5"),
        "--knob")
    assert "offline model" in assert_one_line_error(
        run_main(capsys, "process", "--model", files / "crafx.pt", dry, out, "--block-size",
                 "512"), "--block-size")
    assert "input file" in assert_one_line_error(
        run_main(capsys, "process", "--model", files / "tcn.pt", dry, dry), "output")
    out.write_bytes(b"keep me")
    assert "--overwrite" in assert_one_line_error(
        run_main(capsys, "process", "--model", files / "tcn.pt", dry, out), "output")
    assert out.read_bytes() == b"keep me"


def test_process_and_export_read_a_lightning_checkpoint(files, tmp_path, capsys):
    pl = pytest.importorskip("pytorch_lightning")
    from dasp_blind.modelling.module import ModellingModule

    cls, args = TINY["rnn"]
    module = ModellingModule("rnn", args, sample_rate=MODEL_SR)
    module.model.load_state_dict(pretrained.load(files / "rnn.pt").state_dict())
    checkpoint = tmp_path / "last.ckpt"
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams),
                "pytorch-lightning_version": pl.__version__}, checkpoint)
    out = tmp_path / "out.wav"
    source = ("--checkpoint", checkpoint)
    result = run_main(capsys, "process", *source, files / "dry.wav", out, "--knob", "0.3",
                      "--knob", "0.8")
    assert result.returncode == 0, result.stderr
    assert_matches(out, reference_process(files / "dry.wav", module.model.eval(), knobs()))
    assert "no control names" in assert_one_line_error(
        run_main(capsys, "process", *source, files / "dry.wav", tmp_path / "named.wav",
                 "--knob", "gain_db=0.3", "--knob", "colour=0.8"), "--knob")
    result = run_main(capsys, "export", *source, "--format", "json", tmp_path / "rnn.json")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "rnn.json").read_text())["model_data"]["sample_rate"] == MODEL_SR
