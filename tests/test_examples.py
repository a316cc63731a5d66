"""The example notebooks in ``examples/``: committed clean, and run from top to bottom with
nbmake (in a subprocess, as ``pytest --nbmake examples/``).

``make test`` runs ``pytest`` over ``tests/`` only (pyproject's ``testpaths``); this file is how
the notebooks run in CI. They load the shipped ``parametric_clipper_estimator``: until it is
shipped, running them is skipped (the clean-and-valid checks still run).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dasp_blind import pretrained

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "examples").glob("*.ipynb"))
SHIPPED = "parametric_clipper_estimator"


def test_there_are_example_notebooks():
    assert [p.name for p in NOTEBOOKS] == ["blind_estimation.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs_and_its_code_parses(path):
    nbformat = pytest.importorskip("nbformat")  # ships with nbmake (the dev extra)
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:80]
        ast.parse(cell.source)
    assert json.loads(path.read_text())["metadata"]["kernelspec"]["name"] == "python3"


def test_blind_estimation_notebook_loads_the_shipped_estimator():
    """Not a temporary path: the notebook is the user's example of the shipped weights."""
    source = (ROOT / "examples" / "blind_estimation.ipynb").read_text()
    assert f'pretrained.load(\\"{SHIPPED}\\")' in source


@pytest.mark.slow
@pytest.mark.skipif(SHIPPED not in pretrained.names(),
                    reason=f"the notebooks load {SHIPPED}, which is not shipped yet")
def test_notebooks_run_with_nbmake():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbmake", "-q", "-p", "no:cacheprovider",
         *(str(p) for p in NOTEBOOKS)],
        capture_output=True, text=True, timeout=600, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert f"{len(NOTEBOOKS)} passed" in result.stdout
