"""Fixtures shared by the test files.

Plain helpers that tests call with arguments live beside this file, to be imported (pytest
advises against importing ``conftest``):

* ``_signals.py``: seeded test inputs (``seeded(k)``, ``randn(*shape, seed=k)``,
  ``randn_audio``, ``impulse``, ``tone``); no test may touch a global random generator
  (``test_suite_hygiene.py`` checks).
* ``_tolerances.py``: ``rounding_tol`` / ``assert_within_rounding``, the suite's one rule for
  how far a float32 (or float64) result may be from its reference, and
  ``assert_items_match_single_calls`` for batch-versus-single-item checks.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The checkout's root folder (README.md, configs/, docs/)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def run_cli() -> Callable[..., subprocess.CompletedProcess]:
    """Run the installed ``dasp-blind`` console script in a subprocess.

    ``run_cli(*args, cwd=None, timeout=300)`` returns the ``CompletedProcess`` with ``stdout``
    and ``stderr`` captured as text; it runs in the repository root unless ``cwd`` is given.
    """
    script = Path(sys.executable).parent / "dasp-blind"

    def run(*args: str, cwd: Path | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
        assert script.exists(), f"console script not installed at {script}"
        return subprocess.run([str(script), *args], capture_output=True, text=True,
                              timeout=timeout, cwd=cwd or REPO_ROOT)

    return run
