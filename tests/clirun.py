"""Run the dasp-blind command in a subprocess, as a user does, and check its one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, cwd: Path, extra_path: Sequence[Path] = ()) -> subprocess.CompletedProcess:
    """``python -m dasp_blind.cli ARGS`` in ``cwd``; ``extra_path`` folders come right after the
    checkout on PYTHONPATH (to shadow an installed package with one that fails to import)."""
    env = dict(os.environ)
    paths = [str(ROOT), *(str(p) for p in extra_path)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return subprocess.run([sys.executable, "-m", "dasp_blind.cli", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd, env=env)


def assert_one_line_error(result: subprocess.CompletedProcess, option: str | None) -> str:
    """Exit status 2 and exactly one line on stderr, ``dasp-blind: error: OPTION: ...``."""
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    prefix = "dasp-blind: error: " + (f"{option}: " if option else "")
    assert lines[0].startswith(prefix), lines[0]
    return lines[0]


def unimportable(folder: Path, module: str) -> Path:
    """A folder holding a package ``module`` whose import raises ImportError, as when the
    package is not installed; put it on the path with ``run_cli(extra_path=...)``."""
    package = folder / module
    package.mkdir(parents=True)
    message = f"No module named {module!r} (a test's stand-in)"
    (package / "__init__.py").write_text(f"raise ImportError({message!r})\n")
    return folder
