"""`dasp-blind tour` (the effects tour) run as a subprocess, and the README's Python example."""

import os
import re

import pytest
import soundfile as sf
import torch
from _tolerances import assert_within_rounding
from clirun import assert_one_line_error, run_cli, unimportable

from dasp_blind.tour import skipped_effects, tour_items


def test_tour_writes_every_effect_figure_and_table(tmp_path, run_cli):
    out = tmp_path / "tour"
    result = run_cli("tour", "--out", str(out), "--seconds", "1.5", "--seed", "3")
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


def test_tour_is_deterministic_per_seed(tmp_path, run_cli):
    for name in ("a", "b"):
        assert run_cli("tour", "--out", str(tmp_path / name), "--seconds", "0.5",
                       "--no-figure").returncode == 0
    first, _ = sf.read(tmp_path / "a" / "sox_overdrive.wav")
    second, _ = sf.read(tmp_path / "b" / "sox_overdrive.wav")
    assert (first == second).all()
    assert not (tmp_path / "a" / "effects_tour.png").exists()


def test_cli_rejects_bad_arguments(tmp_path, run_cli):
    result = run_cli("tour", "--out", str(tmp_path), "--seconds", "-1")
    assert result.returncode == 2 and "--seconds" in result.stderr
    result = run_cli("frobnicate")
    assert result.returncode == 2 and "invalid choice" in result.stderr


# --- one-line errors, and no file written --------------------------------------------------

@pytest.mark.parametrize("args,option", [
    (["--seconds", "nan"], "--seconds"),
    (["--seconds", "inf"], "--seconds"),
    (["--seconds", "1e-6"], "--seconds"),
    (["--seconds", "0"], "--seconds"),
    (["--seconds", "-1"], "--seconds"),
    (["--seconds", "abc"], "--seconds"),     # argparse's type error, made one line too
    (["--sample-rate", "0"], "--sample-rate"),
    (["--sample-rate", "-5"], "--sample-rate"),
    (["--seed", "-1"], "--seed"),
    (["--colour", "red"], "--colour"),     # an option the tour does not have
])
def test_tour_bad_option_is_one_line_naming_it(tmp_path, args, option):
    result = cli_in(tmp_path, "tour", "--out", "out", *args)
    assert_one_line_error(result, option)
    assert os.listdir(tmp_path) == []


def cli_in(folder, *args, **kwargs):
    """``python -m dasp_blind.cli`` run inside ``folder``."""
    return run_cli(*args, cwd=folder, **kwargs)


def test_tour_writes_to_runs_tour_by_default(tmp_path):
    result = cli_in(tmp_path, "tour", "--seconds", "0.2", "--no-figure")
    assert result.returncode == 0, result.stderr[-2000:]
    assert os.listdir(tmp_path) == ["runs"] and os.listdir(tmp_path / "runs") == ["tour"]
    assert "dry.wav" in os.listdir(tmp_path / "runs" / "tour")


def test_tour_out_on_a_file_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    for out in ("notes.txt", "notes.txt/tour"):
        line = assert_one_line_error(cli_in(tmp_path, "tour", "--out", out), "--out")
        assert "notes.txt" in line and "not a folder" in line
    assert os.listdir(tmp_path) == ["notes.txt"]
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_tour_out_in_a_read_only_folder_is_refused(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        line = assert_one_line_error(cli_in(tmp_path, "tour", "--out", "ro/tour"), "--out")
    finally:
        folder.chmod(0o755)
    assert "not writable" in line and os.listdir(folder) == []


def test_tour_never_replaces_a_users_file_without_overwrite(tmp_path):
    out = tmp_path / "music"
    out.mkdir()
    (out / "dry.wav").write_bytes(b"the user's own recording")
    line = assert_one_line_error(cli_in(tmp_path, "tour", "--out", "music", "--seconds", "0.2"),
                                 "--out")
    assert "dry.wav" in line and "--overwrite" in line
    assert (out / "dry.wav").read_bytes() == b"the user's own recording"
    assert os.listdir(out) == ["dry.wav"]


def test_tour_refuses_a_folder_holding_other_files_then_overwrite_writes(tmp_path):
    out = tmp_path / "music"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    line = assert_one_line_error(cli_in(tmp_path, "tour", "--out", "music", "--seconds", "0.2",
                                        "--no-figure"), "--out")
    assert "not empty" in line and "music" in line and "--overwrite" in line
    assert os.listdir(out) == ["notes.txt"]
    result = cli_in(tmp_path, "tour", "--out", "music", "--seconds", "0.2", "--no-figure",
                    "--overwrite")
    assert result.returncode == 0, result.stderr
    assert (out / "notes.txt").read_text() == "mine"
    assert sf.info(str(out / "dry.wav")).frames == int(0.2 * 44100)


# --- short clips, low sample rates, no matplotlib -----------------------------------------------

@pytest.mark.parametrize("rate,figure", [(8000, True), (22050, False)])
def test_tour_runs_at_low_sample_rates_with_short_clips(tmp_path, rate, figure):
    args = ["tour", "--out", "out", "--seconds", "0.3", "--sample-rate", str(rate)]
    result = cli_in(tmp_path, *args, *([] if figure else ["--no-figure"]))
    assert result.returncode == 0, result.stderr[-2000:]
    skipped = skipped_effects(rate)
    assert "graphic_eq" in skipped and ("parametric_eq" in skipped) == (rate == 8000)
    for name in skipped:
        assert f"skipped {name}: " in result.stdout
    names = ["dry", *(item.name for item in tour_items(rate))]
    expected = {f"{n}.wav" for n in names} | ({"effects_tour.png"} if figure else set())
    assert set(os.listdir(tmp_path / "out")) == expected
    for name in names:
        info = sf.info(str(tmp_path / "out" / f"{name}.wav"))
        assert info.samplerate == rate and info.frames == int(0.3 * rate)


def test_tour_without_matplotlib_writes_the_wavs_and_says_so(tmp_path):
    fake = unimportable(tmp_path / "fake", "matplotlib")
    result = cli_in(tmp_path, "tour", "--out", "out", "--seconds", "0.2", extra_path=[fake])
    assert result.returncode == 0, result.stderr[-2000:]
    skipped_lines = [ln for ln in result.stdout.splitlines() if "figure skipped" in ln]
    assert len(skipped_lines) == 1 and "matplotlib" in skipped_lines[0]
    files = os.listdir(tmp_path / "out")
    assert "effects_tour.png" not in files
    assert {f"{item.name}.wav" for item in tour_items()} | {"dry.wav"} == set(files)


def test_readme_python_example_runs(repo_root):
    readme = (repo_root / "README.md").read_text()
    code = re.search(r"## Five lines of Python\n\n```python\n(.*?)```", readme, re.S).group(1)
    assert len(code.strip().splitlines()) == 5
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    x, y = namespace["x"], namespace["y"]
    assert isinstance(y, torch.Tensor) and y.shape == x.shape and torch.isfinite(y).all()
