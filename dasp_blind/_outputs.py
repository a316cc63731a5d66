"""Output folders and figures of the commands that write a run (the tour, the demo).

Nothing here replaces a user's file unless asked (``overwrite``); figures are written to a
temporary name and renamed, like audio files (:func:`dasp_blind.data.save_audio`).
"""

from __future__ import annotations

import importlib
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

#: ``time.strftime`` format of the folders :func:`new_run_dir` makes.
RUN_STAMP = "%Y%m%d-%H%M%S"


def check_out_dir(out_dir: str | Path, files: list[str], overwrite: bool = False,
                  what: str = "the tour's files") -> Path:
    """Check that ``files`` can be written into ``out_dir`` without replacing a user's file.

    ``out_dir`` must be a new or an empty folder; with ``overwrite`` an existing folder is used
    and files of the same names are replaced (other files are left alone).

    Args:
        out_dir: the folder.
        files: names (relative to ``out_dir``) of the files that will be written.
        overwrite: allow an existing folder that holds files.
        what: what the files are, for the messages (``"the demo's files"``).

    Raises:
        NotADirectoryError: if ``out_dir`` (or a parent) is a file.
        FileExistsError: naming the first of ``files`` that exists (or the folder, when it holds
            other files) unless ``overwrite``.
        PermissionError: if the folder (or the nearest existing parent) is not writable.
    """
    out = Path(out_dir)
    existing = next((p for p in (out, *out.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise NotADirectoryError(f"{str(existing)!r} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(f"folder {str(existing)!r} is not writable")
    if existing == out and not overwrite:
        taken = next((out / f for f in files if (out / f).exists()), None)
        if taken is not None:
            raise FileExistsError(f"{str(taken)!r} exists; choose a new or empty folder, or "
                                  f"pass overwrite to replace {what}")
        if any(out.iterdir()):
            raise FileExistsError(f"folder {str(out)!r} is not empty; choose a new or empty "
                                  f"folder, or pass overwrite to write {what} into it")
    return out


def new_run_dir(root: str | Path, stamp: str | None = None) -> Path:
    """Create and return a new folder ``root/<stamp>`` for a run; never an existing one.

    ``stamp`` defaults to the local time as ``YYYYmmdd-HHMMSS``. When ``root/<stamp>`` exists
    (two runs in the same second), ``root/<stamp>-2``, ``-3``, ... is taken instead. The folder
    is claimed with an exclusive ``mkdir``, so two processes never get the same one.

    Raises:
        NotADirectoryError, PermissionError: if ``root`` cannot hold a new folder.
    """
    root = Path(root)
    stamp = time.strftime(RUN_STAMP) if stamp is None else stamp
    root.mkdir(parents=True, exist_ok=True)
    for count in range(1, 10_000):
        folder = root / (stamp if count == 1 else f"{stamp}-{count}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise FileExistsError(f"{str(root)!r} holds 9999 runs named {stamp!r}; choose another "
                          f"folder")


def write_text(path: str | Path, text: str, overwrite: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file renamed onto it.

    Raises:
        FileExistsError: if ``path`` exists and ``overwrite`` is false.
    """
    return _write_atomic(path, overwrite, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_bytes(path: str | Path, data: bytes, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` through a temporary file renamed into place; an existing file
    raises ``FileExistsError`` unless ``overwrite``."""
    return _write_atomic(path, overwrite, lambda tmp: tmp.write_bytes(data))


def matplotlib_available() -> bool:
    """Whether matplotlib imports (the figures need it; the audio files do not)."""
    try:
        importlib.import_module("matplotlib")
    except ImportError:
        return False
    return True


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend (files only, no window)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | Path, overwrite: bool = False, dpi: int = 110) -> Path:
    """Write ``fig`` as PNG through a temporary file renamed onto ``path``.

    Raises:
        FileExistsError: if ``path`` exists and ``overwrite`` is false.
    """
    return _write_atomic(path, overwrite, lambda tmp: fig.savefig(tmp, dpi=dpi, format="png"))


def _write_atomic(path: str | Path, overwrite: bool, write: Callable[[Path], object]) -> Path:
    """``write(tmp)`` to a hidden temporary file beside ``path``, then rename it onto ``path``;
    the temporary file is removed if anything fails."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{str(path)!r} exists; pass overwrite to replace it")
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


__all__ = ["RUN_STAMP", "check_out_dir", "matplotlib_available", "new_run_dir", "pyplot",
           "save_figure", "write_text"]
