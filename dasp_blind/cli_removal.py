"""``dasp-blind declip`` (A-SPADE, nothing to train) and ``dasp-blind remove`` (a trained
distortion-removal network) on audio files.

Both refuse to replace an existing output unless ``--overwrite``, never replace their input,
treat each channel on its own and write 32-bit float WAV / AIFF (24-bit FLAC) unless
``--subtype`` says otherwise: restored peaks may exceed full scale.
"""

from __future__ import annotations

import argparse
from typing import Any

from .cli_common import (
    CLIError,
    check_files,
    checked,
    load_checkpoint,
    progress,
    read_input,
    resample_audio,
    write_output,
)


def _add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="the distorted audio file")
    p.add_argument("output", help="the audio file to write (its extension picks the format)")
    p.add_argument("--subtype", default=None,
                   help="libsndfile subtype of the output (FLOAT, PCM_16, PCM_24, ...); integer "
                        "subtypes clip restored peaks above full scale")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")


def add_declip(sub: argparse._SubParsersAction) -> None:
    """``dasp-blind declip``."""
    p = sub.add_parser(
        "declip", help="declip an audio file with A-SPADE (no trained model needed)",
        description="Restore the clipped samples of a hard-clipped recording with A-SPADE "
                    "(Kitic et al., 2015; the declipping survey's settings), channel by channel "
                    "at the file's own rate. The clipping levels are detected from the signal "
                    "unless --threshold is given. Samples that are not clipped are kept as they "
                    "are. Slow: several times real time on a CPU (progress on stderr).")
    _add_output_options(p)
    p.add_argument("--threshold", type=float, default=None,
                   help="the clipping level (linear, > 0); default: detected per channel")
    p.set_defaults(func=run_declip)


#: The shipped restorer ``remove`` uses without ``--model`` or ``--checkpoint``.
DEFAULT_MODEL = "guitar_distortion_removal"


def add_remove(sub: argparse._SubParsersAction) -> None:
    """``dasp-blind remove``."""
    p = sub.add_parser(
        "remove", help="remove distortion (overdrive, clipping) with a trained network",
        description="Restore a distorted recording with a distortion-removal network: each "
                    "channel is resampled to the network's rate, restored in chunks with "
                    "cross-fades (progress on stderr for long files) and resampled back to the "
                    "file's rate.")
    _add_output_options(p)
    source = p.add_mutually_exclusive_group()
    source.add_argument("--model", default=None,
                        help=f"shipped weights (dasp-blind pretrained; default {DEFAULT_MODEL}) "
                             f"or the path of an exported removal_*.pt")
    source.add_argument("--checkpoint", default=None,
                        help="a Lightning checkpoint of RemovalModule (needs the train extra)")
    p.add_argument("--chunk-s", type=float, default=30.0,
                   help="chunk length in seconds (default: 30)")
    p.add_argument("--hard-clipped", action="store_true",
                   help="the input is hard-clipped: keep its unclipped samples and hold the "
                        "restored ones at or beyond the clipping level (the consistent "
                        "projection, at the file's rate)")
    p.add_argument("--threshold", type=float, default=None,
                   help="with --hard-clipped: the clipping level (default: each channel's "
                        "detected levels)")
    p.set_defaults(func=run_remove)


def run_declip(args: argparse.Namespace) -> int:
    """Read, declip every channel with A-SPADE, write."""
    from ._checks import check_positive
    from .removal import aspade

    check_files(args)
    threshold = None if args.threshold is None else checked(
        "--threshold", lambda t: check_positive(t, "--threshold"), args.threshold)
    audio, rate = read_input(args.input)
    restored = aspade(audio.double()[None], rate, threshold, progress=True)[0].float()
    write_output(args, restored, rate)
    return 0


def load_restorer(args: argparse.Namespace) -> tuple[Any, str]:
    """The :class:`~dasp_blind.removal.restorer.Restorer` named by ``--model`` /
    ``--checkpoint`` (eval mode) and how it was named."""
    from .removal.restorer import Restorer

    if args.checkpoint is not None:
        module = load_checkpoint(".removal.module", "RemovalModule", args.checkpoint)
        return module.restorer.eval(), args.checkpoint
    from . import pretrained

    name = args.model or DEFAULT_MODEL
    try:
        model = pretrained.load(name)
    except (OSError, ValueError) as err:
        raise CLIError("--model", str(err)) from None
    if not isinstance(model, Restorer):
        raise CLIError("--model", f"{name!r} is a {type(model).__name__}, not a "
                                  f"distortion-removal network")
    return model.eval(), name


def run_remove(args: argparse.Namespace) -> int:
    """Read, resample to the network's rate, restore each channel, resample back, write."""
    import torch

    from ._checks import check_positive

    check_files(args)
    chunk_s = checked("--chunk-s", lambda c: check_positive(c, "--chunk-s"), args.chunk_s)
    if args.threshold is not None:
        if not args.hard_clipped:
            raise CLIError("--threshold", "applies with --hard-clipped only")
        checked("--threshold", lambda t: check_positive(t, "--threshold"), args.threshold)
    restorer, name = load_restorer(args)
    audio, rate = read_input(args.input)
    model_rate = int(restorer.sample_rate)
    x = resample_audio(audio, rate, model_rate)
    progress(f"{name}: {x.shape[0]} channel(s), {x.shape[-1] / model_rate:.1f} s at "
             f"{model_rate} Hz")
    restored = restorer.restore(x[:, None], chunk_s=chunk_s, overlap_s=min(1.0, chunk_s / 2),
                                progress=x.shape[-1] > chunk_s * model_rate)[:, 0]
    out = resample_audio(restored, model_rate, rate)[..., :audio.shape[-1]]
    out = torch.nn.functional.pad(out, (0, audio.shape[-1] - out.shape[-1]))
    if args.hard_clipped:
        from .removal.declipping import project_consistent

        out = project_consistent(out[None].to(audio.dtype), audio[None], args.threshold)[0]
    write_output(args, out, rate)
    return 0


__all__ = ["add_declip", "add_remove", "load_restorer", "run_declip",
           "run_remove"]
