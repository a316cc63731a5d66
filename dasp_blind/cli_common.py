"""What the ``dasp-blind`` subcommands share: one-line errors, output checks, progress."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROG = "dasp-blind"


class CLIError(Exception):
    """A user error, printed as one line naming the option; the command exits with status 2."""

    def __init__(self, option: str | None, message: str):
        super().__init__(message)
        self.option = option
        self.message = " ".join(message.split())  # one line

    def line(self) -> str:
        """``dasp-blind: error: <option>: <message>``."""
        where = f"{self.option}: " if self.option else ""
        return f"{PROG}: error: {where}{self.message}"


def checked(option: str, check: Callable[[Any], Any], value: Any) -> Any:
    """``check(value)``, with its ValueError turned into a CLIError naming ``option``."""
    try:
        return check(value)
    except ValueError as err:
        raise CLIError(option, str(err)) from None


def os_message(err: OSError) -> str:
    """An OSError as the CLI says it: the path and the reason, ``--overwrite`` for the hint."""
    if err.filename is not None and err.strerror:
        text = f"{err.filename!r}: {err.strerror}"
    else:
        text = str(err)
    return text.replace("pass overwrite=True", "pass --overwrite").replace(
        "pass overwrite", "pass --overwrite")


def load_estimator(name_or_path: str, option: str = "--model") -> Any:
    """The :class:`~dasp_blind.estimation.Estimator` of a shipped name or an exported
    ``estimator.pt`` (eval mode); a CLIError naming ``option`` if it cannot be loaded or is
    another kind of network."""
    from . import pretrained
    from .estimation import Estimator

    try:
        model = pretrained.load(name_or_path)
    except (OSError, ValueError) as err:
        raise CLIError(option, str(err)) from None
    if not isinstance(model, Estimator):
        raise CLIError(option, f"{name_or_path!r} is a {type(model).__name__}, not an "
                               f"estimator")
    return model


def load_checkpoint(module_path: str, class_name: str, path: str) -> Any:
    """The LightningModule ``class_name`` of the package module ``module_path`` (e.g.
    ``".removal.module"``) loaded from the checkpoint ``path`` on the CPU; a CLIError naming
    ``--checkpoint`` without the train extra or when it cannot be loaded."""
    import importlib

    try:
        cls = getattr(importlib.import_module(module_path, __package__), class_name)
    except ImportError:
        raise CLIError("--checkpoint", 'reading a Lightning checkpoint needs the train extra: '
                                       'pip install "dasp_blind[train]"') from None
    try:
        return cls.load_from_checkpoint(path, map_location="cpu")
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        raise CLIError("--checkpoint", f"cannot load {path!r}: {err}") from None


def progress(text: str, end: str = "\n") -> None:
    print(text, end=end, file=sys.stderr, flush=True)


def check_output(input_path: str, output_path: str, overwrite: bool) -> None:
    """Refuse to replace a file (the input above all) unless ``overwrite``."""
    out = Path(output_path)
    if out.is_dir():
        raise CLIError("output", f"{output_path!r} is a folder; give a file name")
    if overwrite:
        return
    if out.exists() and Path(input_path).exists() and os.path.samefile(out, input_path):
        raise CLIError("output", f"{output_path!r} is the input file; pass --overwrite to "
                                 f"replace it")
    if out.exists():
        raise CLIError("output", f"{output_path!r} exists; pass --overwrite to replace it")


def read_input(path: str):
    """``(channels, samples)`` float32 audio of ``path`` and its rate."""
    from .data.audio import load_audio

    try:
        audio, rate = load_audio(path)
    except (OSError, ValueError) as err:
        raise CLIError("input", str(err)) from None
    if audio.shape[-1] == 0:
        raise CLIError("input", f"{path!r} holds no audio frames")
    return audio, rate

def write_output(args: argparse.Namespace, audio, rate: int) -> None:
    """Write ``audio`` ``(channels, samples)`` to ``args.output`` (``--subtype``,
    ``--overwrite``) and say so on stderr."""
    from .data.audio import save_audio

    try:
        save_audio(args.output, audio, rate, overwrite=args.overwrite, subtype=args.subtype)
    except OSError as err:
        raise CLIError("output", os_message(err)) from None
    peak = float(audio.abs().max())
    note = ""
    if peak > 1 and args.subtype not in (None, "FLOAT", "DOUBLE"):
        note = f" (peak {peak:.2f} clipped to 1 by the {args.subtype} subtype)"
    progress(f"wrote {args.output}{note}")

def check_files(args: argparse.Namespace) -> None:
    """Refuse to replace a file unless ``--overwrite``; check the output format and subtype."""
    from .data.audio import audio_format

    check_output(args.input, args.output, args.overwrite)
    checked("output", audio_format, args.output)
    checked("--subtype", lambda s: audio_format(args.output, s), args.subtype)

def resample_audio(audio, rate_in: int, rate_out: int):
    """``(channels, samples)`` float32 audio resampled with soxr (HQ)."""
    import numpy as np
    import soxr
    import torch

    if rate_in == rate_out:
        return audio
    data = soxr.resample(audio.numpy().T.astype(np.float64), rate_in, rate_out, quality="HQ")
    return torch.from_numpy(np.ascontiguousarray(data.T)).float()
