"""``dasp-blind demo``: blind estimation on the built-in music (what ``make demo`` runs).

Wet clips made from the built-in music with known random controls are estimated by a shipped
(or exported) estimator; the command prints true against estimated parameters, the mel loss
against both baselines of the paper and a refinement with the dry signal known, and writes a
report with figures and audio into a new folder (:mod:`dasp_blind.demo` does the work).
"""

from __future__ import annotations

import argparse
import shlex
import time

from .cli_common import CLIError, checked, load_estimator, os_message, progress
from .cli_estimate import DEFAULT_MODEL

DEFAULT_CLIPS = 8
DEFAULT_SECONDS = 6.0
DEFAULT_REFINE_STEPS = 40


def add_demo(sub: argparse._SubParsersAction) -> None:
    """``dasp-blind demo``."""
    from . import demo

    p = sub.add_parser(
        "demo", help="blind estimation of effect parameters on the built-in music, with a report",
        description="Blind estimation, end to end: wet clips are made from the built-in music "
                    "with known random parameters, an estimator reads them alone and estimates "
                    "the parameters; prints true against estimated values in physical units, "
                    "the mel loss against both baselines (random parameters, and the dry clip "
                    "itself) and a refinement of one clip with its dry signal known, and writes "
                    "report.md, results.json, scatter.png, spectrograms.png (need matplotlib) "
                    "and the audio of every clip into a new folder.")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"a shipped estimator (dasp-blind pretrained) or the path of an "
                        f"exported estimator.pt (default: {DEFAULT_MODEL})")
    p.add_argument("--clips", type=int, default=DEFAULT_CLIPS,
                   help=f"number of clips, 1 to {demo.MAX_CLIPS} (default: {DEFAULT_CLIPS})")
    p.add_argument("--seconds", type=float, default=DEFAULT_SECONDS,
                   help=f"clip length in seconds, {demo.MIN_SECONDS:g} to {demo.MAX_SECONDS:g} "
                        f"(default: {DEFAULT_SECONDS:g})")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the music and of the true parameters, an integer >= 0 "
                        "(default: 0)")
    p.add_argument("--refine-steps", type=int, default=DEFAULT_REFINE_STEPS,
                   help=f"gradient steps refining the worst clip's estimate with its dry signal "
                        f"known, >= 0 (default: {DEFAULT_REFINE_STEPS})")
    p.add_argument("--out", default=None,
                   help=f"a new or empty output folder (default: a new folder "
                        f"{demo.RUNS_ROOT}/YYYYmmdd-HHMMSS, so earlier runs are never touched)")
    p.add_argument("--overwrite", action="store_true",
                   help="write into an --out folder that holds files, replacing the demo's "
                        "files there")
    p.add_argument("--no-figure", action="store_true",
                   help="skip scatter.png and spectrograms.png")
    p.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    """Check the options and the output folder, load the model, run, print, write."""
    from . import demo, pretrained
    from ._checks import check_in_interval, check_int, check_seed
    from ._outputs import check_out_dir, matplotlib_available, new_run_dir

    start = time.perf_counter()
    clips = checked("--clips", lambda v: check_int(v, "clips", 1, demo.MAX_CLIPS), args.clips)
    seconds = checked("--seconds", lambda v: check_in_interval(
        v, "seconds", demo.MIN_SECONDS, demo.MAX_SECONDS, "s"), args.seconds)
    seed = checked("--seed", check_seed, args.seed)
    steps = checked("--refine-steps", lambda v: check_int(v, "refine_steps", 0),
                    args.refine_steps)
    figure = not args.no_figure
    try:  # before any work: an --out that would replace files, or a folder that cannot be made
        if args.out is None:
            check_out_dir(demo.RUNS_ROOT, [], overwrite=True)
        else:
            check_out_dir(args.out, demo.demo_files(clips, None, figure), args.overwrite,
                          what="the demo's files")
    except OSError as err:
        raise CLIError("--out", os_message(err)) from None
    estimator = load_estimator(args.model, "--model")
    try:
        result = demo.run_demo(estimator, clips=clips, seconds=seconds, seed=seed,
                               refine_steps=steps, model=args.model,
                               info=pretrained.info(args.model), log=progress)
    except ValueError as err:  # an estimator the demo cannot run (e.g. its sample rate)
        raise CLIError("--model", str(err)) from None
    command = " ".join(["dasp-blind demo", *(shlex.quote(a) for a in (
        "--model", args.model, "--clips", str(clips), "--seconds", f"{seconds:g}",
        "--seed", str(seed), "--refine-steps", str(steps)))])
    try:
        out = new_run_dir(demo.RUNS_ROOT) if args.out is None else args.out
        paths = demo.write_demo(result, out, figure=figure, overwrite=args.overwrite,
                                command=command)
    except OSError as err:
        raise CLIError("--out", os_message(err)) from None
    print(demo.format_text(result))
    if figure and not matplotlib_available():
        print("figures skipped: matplotlib is not installed (pip install matplotlib)")
    print(f"\nwrote {len(paths)} files to {out} (the report: {out}/{demo.REPORT_NAME}) in "
          f"{time.perf_counter() - start:.1f} s")
    return 0


__all__ = ["DEFAULT_CLIPS", "DEFAULT_REFINE_STEPS", "DEFAULT_SECONDS", "add_demo", "run_demo"]
