"""``dasp-blind estimate``: blind estimation of effect parameters from an audio file.

Prints the estimate as JSON; with ``--dry`` and ``--out`` renders the dry file through it, and
with ``--refine N`` refines it first by N gradient steps against the wet file.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from .cli_common import (
    CLIError,
    check_output,
    checked,
    load_checkpoint,
    load_estimator,
    os_message,
    progress,
)

#: Shipped estimator used when neither --model nor --checkpoint is given.
DEFAULT_MODEL = "parametric_clipper_estimator"


def add_estimate(sub: argparse._SubParsersAction) -> None:
    """``dasp-blind estimate``."""
    p = sub.add_parser(
        "estimate", help="estimate an effect's parameters from a processed (wet) audio file",
        description="Estimate the parameters of the effect a model was trained for from the wet "
                    "file alone, and print them in physical units as JSON. The file is "
                    "resampled to the model's rate; its channels are mixed by the encoder. "
                    "Files longer than the model's window are analysed in windows whose "
                    "estimates are averaged, weighted by their energy.")
    p.add_argument("wet", help="the processed audio file")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--model", default=None,
                        help=f"a shipped estimator (dasp-blind pretrained) or the path of an "
                             f"exported estimator.pt (default: {DEFAULT_MODEL})")
    source.add_argument("--checkpoint", default=None,
                        help="a Lightning checkpoint of BlindEstimator (needs the train extra)")
    p.add_argument("--dry", default=None, help="the unprocessed file, for --out and --refine")
    p.add_argument("--out", default=None,
                   help="write the dry file rendered through the estimate here (needs --dry)")
    p.add_argument("--refine", type=int, default=0, metavar="N",
                   help="refine the estimate by N gradient steps of the mel loss between the "
                        "rendered dry file and the wet file (needs --dry); on the loudest "
                        "window of the files")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.set_defaults(func=run_estimate)


def run_estimate(args: argparse.Namespace) -> int:
    """Load the model and the audio, estimate (and refine), print JSON, render."""
    import torch

    from ._checks import check_int
    from .estimation import refine

    steps = checked("--refine", lambda n: check_int(n, "--refine", 0), args.refine)
    if (args.out or steps) and args.dry is None:
        raise CLIError("--dry", "--out and --refine need the dry file (--dry)")
    if args.out is not None:
        for given in (args.wet, args.dry):
            if _same(given, args.out):
                raise CLIError("--out", f"{args.out!r} is an input file; estimate never "
                                        f"replaces its inputs")
        check_output(args.wet, args.out, args.overwrite)
    estimator, name = _load_estimator(args)
    rate = int(estimator.sample_rate)
    wet = _read("wet", args.wet, rate)
    dry = None if args.dry is None else _read("--dry", args.dry, rate)
    if dry is not None and dry.shape[-1] != wet.shape[-1]:
        raise CLIError("--dry", f"the dry file has {dry.shape[-1]} samples at {rate} Hz and the "
                                f"wet file {wet.shape[-1]}; they must be aligned and equally long")
    q = estimator.estimate_q(wet)
    if steps:
        start, length = _loudest_window(wet, round(estimator.window_s * rate))
        pair = [a[..., start:start + length] for a in (dry, wet)]
        if pair[0].shape[1] != pair[1].shape[1]:
            pair = [a.mean(dim=1, keepdim=True) for a in pair]
        q = refine(estimator.analysis, *pair, q, steps=steps, progress=True)
    params = estimator.analysis.param_space.denormalize(q)
    units = {spec.name: spec.unit for spec in estimator.analysis.param_space}
    print(json.dumps({"model": name, "sample_rate": rate, "refine_steps": steps,
                      "parameters": [{"name": k, "value": float(v[0]), "unit": units[k]}
                                     for k, v in params.items()]}, indent=2))
    if args.out is not None:
        from .data.audio import save_audio

        with torch.no_grad():
            rendered = estimator.analysis(dry, q)
        try:
            save_audio(args.out, rendered, rate, overwrite=args.overwrite)
        except OSError as err:
            raise CLIError("--out", os_message(err)) from None
        progress(f"wrote {args.out}")
    return 0


def _same(a: str, b: str) -> bool:
    """Whether two paths name the same existing file."""
    return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)


def _load_estimator(args: argparse.Namespace) -> tuple[Any, str]:
    """The estimator (eval mode) and how it was named."""
    if args.checkpoint is not None:
        module = load_checkpoint(".estimation.module", "BlindEstimator", args.checkpoint)
        return module.model.eval(), args.checkpoint
    name = args.model or DEFAULT_MODEL
    return load_estimator(name, "--model"), name


def _read(option: str, path: str, rate: int):
    """``(1, channels, samples)`` audio of ``path`` at ``rate``."""
    from .data.audio import load_audio

    try:
        audio, _ = load_audio(path, sample_rate=rate)
    except (OSError, ValueError) as err:
        raise CLIError(option, str(err)) from None
    if audio.shape[-1] == 0:
        raise CLIError(option, f"{path!r} holds no audio frames")
    return audio.unsqueeze(0)


def _loudest_window(audio, length: int) -> tuple[int, int]:
    """Start and length of the window (the estimator's windows) with the most energy."""
    from .estimation.estimator import window_starts

    total = audio.shape[-1]
    if total <= length:
        return 0, total
    starts = window_starts(total, length)
    energy = [float(audio[..., s:s + length].square().sum()) for s in starts]
    return starts[max(range(len(starts)), key=energy.__getitem__)], length


__all__ = ["DEFAULT_MODEL", "add_estimate", "run_estimate"]
