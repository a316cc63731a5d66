"""The dasp-blind command run as a subprocess, and the README's Python example."""

import re

import soundfile as sf
import torch
from _tolerances import assert_within_rounding

from dasp_blind.tour import tour_items


def test_demo_writes_every_effect_figure_and_table(tmp_path, run_cli):
    out = tmp_path / "demo"
    result = run_cli("demo", "--out", str(out), "--seconds", "1.5", "--seed", "3")
    assert result.returncode == 0, result.stderr
    names = [item.name for item in tour_items()]
    for name in ["dry", *names]:
        audio, sr = sf.read(out / f"{name}.wav")
        assert sr == 44100 and audio.shape[0] == int(1.5 * 44100)
        assert abs(audio).max() > 1e-3, name
    assert (out / "effects_tour.png").stat().st_size > 10_000
    table = result.stdout
    for name in names:
        row = re.search(rf"^{name}\s+(-?[\d.]+)\s+(-?[\d.]+)", table, re.MULTILINE)
        assert row is not None, name
        peak, rms = float(row.group(1)), float(row.group(2))
        assert rms < peak
    dry, _ = sf.read(out / "dry.wav")
    gain, _ = sf.read(out / "gain.wav")
    assert_within_rounding(gain, dry * 10 ** (-6 / 20), ops=2)  # float32 10^(g/20), product


def test_demo_is_deterministic_per_seed(tmp_path, run_cli):
    for name in ("a", "b"):
        assert run_cli("demo", "--out", str(tmp_path / name), "--seconds", "0.5",
                       "--no-figure").returncode == 0
    first, _ = sf.read(tmp_path / "a" / "sox_overdrive.wav")
    second, _ = sf.read(tmp_path / "b" / "sox_overdrive.wav")
    assert (first == second).all()
    assert not (tmp_path / "a" / "effects_tour.png").exists()


def test_cli_rejects_bad_arguments(tmp_path, run_cli):
    result = run_cli("demo", "--out", str(tmp_path), "--seconds", "-1")
    assert result.returncode == 2 and "--seconds" in result.stderr
    result = run_cli("frobnicate")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_readme_python_example_runs(repo_root):
    readme = (repo_root / "README.md").read_text()
    code = re.search(r"## Five lines of Python\n\n```python\n(.*?)```", readme, re.S).group(1)
    assert len(code.strip().splitlines()) == 5
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    x, y = namespace["x"], namespace["y"]
    assert isinstance(y, torch.Tensor) and y.shape == x.shape and torch.isfinite(y).all()
