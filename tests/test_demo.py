"""``dasp_blind.demo`` in-process: its argument checks and the folders of new runs (the
command's output is tested through a subprocess in ``test_cli_demo.py``)."""

from __future__ import annotations

import math

import pytest
import torch

from dasp_blind import demo
from dasp_blind._outputs import check_out_dir, new_run_dir
from dasp_blind.estimation import Estimator


@pytest.fixture(scope="module")
def estimator():
    model = Estimator("parametric_clipper", encoder="te", sample_rate=16000, hidden=[8],
                      window_s=1.0)
    model.encoder.reset_parameters(torch.Generator().manual_seed(0))
    model.head.reset_parameters(torch.Generator().manual_seed(1))
    return model.eval()


@pytest.mark.parametrize("kwargs,match", [
    ({"clips": 0}, r"clips must be an integer in \[1, 100\], got 0"),
    ({"clips": demo.MAX_CLIPS + 1}, r"clips must be an integer in \[1, 100\], got 101"),
    ({"clips": 2.5}, r"clips must be an integer, got 2.5"),
    ({"seconds": 0.5}, r"seconds must lie in \[1, 60\] s, got 0.5"),
    ({"seconds": math.nan}, r"seconds must be a number in \[1, 60\] s, got nan"),
    ({"seconds": True}, r"seconds must be a number in \[1, 60\] s, got True"),
    ({"seed": -1}, r"seed must be an integer >= 0, got -1"),
    ({"refine_steps": -1}, r"refine_steps must be an integer >= 0, got -1"),
])
def test_run_demo_names_a_bad_argument_before_any_work(estimator, kwargs, match):
    calls = []
    with pytest.raises(ValueError, match=match):
        demo.run_demo(estimator, **kwargs, log=calls.append)
    assert calls == []  # nothing was rendered


def test_music_seeds_of_different_demo_seeds_never_overlap():
    assert demo.music_seeds(0, 3) == [0, 1, 2]
    assert demo.music_seeds(2, 3) == [200, 201, 202]
    assert set(demo.music_seeds(0, demo.MAX_CLIPS)).isdisjoint(demo.music_seeds(1, 1))


def test_new_run_dir_never_returns_an_existing_folder(tmp_path):
    stamp = "20240102-030405"
    first = new_run_dir(tmp_path / "runs", stamp)
    (first / "report.md").write_text("first run")
    second = new_run_dir(tmp_path / "runs", stamp)
    third = new_run_dir(tmp_path / "runs", stamp)
    assert [p.name for p in (first, second, third)] == [stamp, f"{stamp}-2", f"{stamp}-3"]
    assert (first / "report.md").read_text() == "first run"
    assert list(second.iterdir()) == [] and list(third.iterdir()) == []


def test_new_run_dir_under_a_file_raises(tmp_path):
    (tmp_path / "runs").write_text("a file")
    with pytest.raises(OSError):
        new_run_dir(tmp_path / "runs", "20240102-030405")


def test_demo_files_are_checked_by_name_in_an_existing_folder(tmp_path):
    names = demo.demo_files(2)
    assert "audio/clip02_refined.wav" in names and "scatter.png" in names
    assert "scatter.png" not in demo.demo_files(2, refined_clip=0, figure=False)
    (tmp_path / "report.md").write_text("mine")
    with pytest.raises(FileExistsError, match=r"report.md' exists.*replace the demo's files"):
        check_out_dir(tmp_path, names, what="the demo's files")
    assert check_out_dir(tmp_path, names, overwrite=True) == tmp_path
    assert (tmp_path / "report.md").read_text() == "mine"
