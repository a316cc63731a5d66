"""The dasp-blind command run as a subprocess, and the README's Python example."""

import re
import subprocess
import sys
from pathlib import Path

import soundfile as sf
import torch

from dasp_blind.tour import tour_items

ROOT = Path(__file__).resolve().parents[1]


SCRIPT = Path(sys.executable).parent / "dasp-blind"  # the installed console script


def run_cli(*args: str) -> subprocess.CompletedProcess:
    assert SCRIPT.exists(), f"console script not installed at {SCRIPT}"
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=300,
                          cwd=ROOT)


def test_demo_writes_every_effect_figure_and_table(tmp_path):
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
    assert abs(gain - dry * 10 ** (-6 / 20)).max() < 1e-5


def test_demo_is_deterministic_per_seed(tmp_path):
    for name in ("a", "b"):
        assert run_cli("demo", "--out", str(tmp_path / name), "--seconds", "0.5",
                       "--no-figure").returncode == 0
    first, _ = sf.read(tmp_path / "a" / "sox_overdrive.wav")
    second, _ = sf.read(tmp_path / "b" / "sox_overdrive.wav")
    assert (first == second).all()
    assert not (tmp_path / "a" / "effects_tour.png").exists()


def test_cli_rejects_bad_arguments(tmp_path):
    result = run_cli("demo", "--out", str(tmp_path), "--seconds", "-1")
    assert result.returncode == 2 and "--seconds" in result.stderr
    result = run_cli("frobnicate")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_readme_python_example_runs():
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"## Five lines of Python\n\n```python\n(.*?)```", readme, re.S).group(1)
    assert len(code.strip().splitlines()) == 5
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    x, y = namespace["x"], namespace["y"]
    assert isinstance(y, torch.Tensor) and y.shape == x.shape and torch.isfinite(y).all()
