"""The ``dasp-blind`` command.

* ``dasp-blind demo`` renders the effects tour (see :mod:`dasp_blind.tour`).
* ``dasp-blind fit|validate|test --config CONFIG.yaml`` runs a LightningCLI on any
  LightningModule / LightningDataModule named in the config (e.g. ``configs/proxy/``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _demo(args: argparse.Namespace) -> int:
    from .tour import format_table, run_tour

    rows = run_tour(args.out, seconds=args.seconds, seed=args.seed, sample_rate=args.sample_rate,
                    figure=not args.no_figure)
    print(format_table(rows))
    print(f"\nwrote {len(rows)} wav files" + ("" if args.no_figure else " and effects_tour.png")
          + f" to {args.out}")
    return 0


def _pretrained(args: argparse.Namespace) -> int:
    """Print each shipped weight file's name, class, rate and metrics, one line each."""
    from . import pretrained

    for name in pretrained.names():
        meta = pretrained.info(name)
        metrics = meta["metrics"]
        numbers = ", ".join(f"{key} {value:g}" for key, value in metrics.items()
                            if isinstance(value, int | float) and not isinstance(value, bool))
        measured = f" (on {metrics['measured_on']})" if "measured_on" in metrics else ""
        print(f"{name}: {meta['class_path'].rsplit('.', 1)[-1]} at {meta['sample_rate']:g} Hz; "
              f"{numbers or 'no metrics'}{measured}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Argument parser of the ``dasp-blind`` command."""
    parser = argparse.ArgumentParser(prog="dasp-blind", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in LIGHTNING_COMMANDS:
        sub.add_parser(name, help=f"LightningCLI {name} (see dasp-blind {name} --help)")
    demo = sub.add_parser("demo", help="render a synthetic clip through every effect")
    demo.add_argument("--out", default="runs/demo", help="output folder (default: runs/demo)")
    demo.add_argument("--seconds", type=float, default=4.0, help="clip length in seconds")
    demo.add_argument("--seed", type=int, default=0, help="seed of the synthetic music")
    demo.add_argument("--sample-rate", type=int, default=44100, help="sample rate in Hz")
    demo.add_argument("--no-figure", action="store_true", help="skip the PNG figure")
    demo.set_defaults(func=_demo)
    sub.add_parser("pretrained", help="list the shipped weights").set_defaults(func=_pretrained)
    return parser


LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")


def _lightning(argv: list[str]) -> int:
    """Hand the arguments to a LightningCLI whose model and data come from the config."""
    import pytorch_lightning as pl
    from pytorch_lightning.cli import LightningCLI

    LightningCLI(pl.LightningModule, pl.LightningDataModule, subclass_mode_model=True,
                 subclass_mode_data=True, args=argv, save_config_kwargs={"overwrite": True})
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dasp-blind`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in LIGHTNING_COMMANDS:
        return _lightning(argv)
    args = build_parser().parse_args(argv)
    if getattr(args, "seconds", 1.0) <= 0:
        print("dasp-blind: error: --seconds must be positive", file=sys.stderr)
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
