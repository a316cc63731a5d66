"""The ``dasp-blind`` command.

* ``dasp-blind demo`` blind estimation on the built-in music with a shipped (or exported)
  estimator, with a report, figures and audio (:mod:`dasp_blind.cli_demo`, :mod:`dasp_blind.demo`).
* ``dasp-blind tour`` renders the effects tour (see :mod:`dasp_blind.tour`).
* ``dasp-blind effects [NAME]`` lists the effects with their parameters, ranges and defaults.
* ``dasp-blind apply IN OUT --effect NAME[,NAME...] --param NAME=VALUE ...`` runs effects on an
  audio file.
* ``dasp-blind estimate WET [--model NAME] [--dry DRY --out OUT] [--refine N]`` estimates an
  effect's parameters from a processed file (:mod:`dasp_blind.cli_estimate`).
* ``dasp-blind declip IN OUT`` declips a file with A-SPADE; ``dasp-blind remove IN OUT [--model
  NAME | --checkpoint CKPT]`` restores a distorted file with a trained network
  (:mod:`dasp_blind.cli_removal`).
* ``dasp-blind export (--model NAME | --checkpoint CKPT) --format FORMAT OUT`` writes an effect
  model as TorchScript, streaming ONNX or a plugin JSON; ``dasp-blind process (--model NAME |
  --checkpoint CKPT) IN OUT [--knob VALUE ...]`` runs it on a file
  (:mod:`dasp_blind.cli_modelling`).
* ``dasp-blind tune --config CONFIG --out OUT.json``: Optuna search (:mod:`dasp_blind.cli_tune`).
* ``dasp-blind fit|validate|test --config CONFIG`` runs a LightningCLI on the LightningModule and
  LightningDataModule named in the config: a config shipped in the package by name (e.g.
  ``proxy/compressor``) or a YAML file. Needs the ``train`` extra.

Every error is one line ``dasp-blind: error: <option>: <what is wrong>`` on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import math
import re
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from .cli_common import PROG, CLIError, check_output, checked, os_message, progress

TRAIN_EXTRA = 'pip install "dasp_blind[train]"'
LIGHTNING_COMMANDS = ("fit", "validate", "test")
CONFIG_DIR = Path(__file__).resolve().parent / "configs"
# Files longer than this get a notice that each effect runs over the whole file in one pass.
LONG_FILE_S = 60.0


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``argument --x: msg`` becomes ``--x: msg``)."""

    def error(self, message: str) -> NoReturn:
        match = re.match(r"argument ([^:]+): (.*)", message, re.S)
        if match:
            raise CLIError(match.group(1).split("/")[-1], match.group(2))
        unknown = re.match(r"unrecognized arguments: (\S+)", message)
        if unknown:
            raise CLIError(unknown.group(1), f"unknown option (see {self.prog} --help)")
        raise CLIError(None, message)


# --- tour -------------------------------------------------------------------------------------

def add_tour(sub: argparse._SubParsersAction) -> None:
    """``dasp-blind tour``."""
    from . import tour

    p = sub.add_parser("tour", help="render a synthetic clip through every effect",
                       description="The effects tour: render a synthetic music clip through "
                                   "every effect into a new or empty folder: one wav per "
                                   "effect, effects_tour.png (needs matplotlib) and a table of "
                                   "output levels.")
    p.add_argument("--out", default="runs/tour",
                   help="a new or empty output folder (default: runs/tour)")
    p.add_argument("--seconds", type=float, default=4.0,
                   help=f"clip length in seconds, {tour.MIN_SECONDS:g} to {tour.MAX_SECONDS:g} "
                        f"(default: 4)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the synthetic music, an integer >= 0 (default: 0)")
    p.add_argument("--sample-rate", type=int, default=44100,
                   help=f"sample rate in Hz, {tour.MIN_SAMPLE_RATE} to {tour.MAX_SAMPLE_RATE}; "
                        f"effects that cannot run at it are skipped (default: 44100)")
    p.add_argument("--no-figure", action="store_true", help="skip the PNG figure")
    p.add_argument("--overwrite", action="store_true",
                   help="write into a folder that holds files, replacing the tour's files there")
    p.set_defaults(func=run_tour)


def run_tour(args: argparse.Namespace) -> int:
    """Render the tour into ``args.out``; print the level table and what was skipped."""
    from . import tour
    from ._outputs import matplotlib_available

    seconds = checked("--seconds", tour.check_seconds, args.seconds)
    seed = checked("--seed", tour.check_seed, args.seed)
    rate = checked("--sample-rate", tour.check_tour_sample_rate, args.sample_rate)
    figure = not args.no_figure and matplotlib_available()
    try:
        tour.check_out_dir(args.out, tour.tour_files(rate, figure), args.overwrite)
        rows = tour.run_tour(args.out, seconds=seconds, seed=seed, sample_rate=rate,
                             figure=figure, overwrite=args.overwrite)
    except OSError as err:
        raise CLIError("--out", os_message(err)) from None
    print(tour.format_table(rows))
    for name, reason in tour.skipped_effects(rate).items():
        print(f"skipped {name}: {reason}")
    if not args.no_figure and not figure:
        print(f"figure skipped: matplotlib is not installed (pip install matplotlib, or "
              f'{TRAIN_EXTRA}")')
    print(f"\nwrote {len(rows)} wav files" + (f" and {tour.FIGURE_NAME}" if figure else "")
          + f" to {args.out}")
    return 0


def add_pretrained(sub: argparse._SubParsersAction) -> None:
    """``dasp-blind pretrained``."""
    sub.add_parser("pretrained", help="list the shipped weights with their metrics",
                   description="Every shipped weight file: its class, sample rate and the "
                               "metrics measured on held-out data.").set_defaults(
        func=run_pretrained)


def run_pretrained(args: argparse.Namespace) -> int:
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


# --- effects ----------------------------------------------------------------------------------

def add_effects(sub: argparse._SubParsersAction) -> None:
    """``dasp-blind effects``."""
    p = sub.add_parser("effects", help="list the effects with their parameters",
                       description="Every effect (or one) with its parameters: range, scale, "
                                   "unit and default, read from its ParamSpace.")
    p.add_argument("name", nargs="?", help="one effect, by catalog name (e.g. compressor)")
    p.add_argument("--sample-rate", type=int, default=44100,
                   help="sample rate in Hz the effects are built at; the parametric EQ caps its "
                        "frequency ranges at 0.45 x the rate (default: 44100)")
    p.set_defaults(func=run_effects)


def run_effects(args: argparse.Namespace) -> int:
    """Print the parameter table of one effect or of all of them."""
    from ._checks import check_integer_rate
    from .effects import catalog

    rate = checked("--sample-rate", check_integer_rate, args.sample_rate)
    if args.name is not None:
        name = checked("name", catalog.resolve, args.name)
        print(checked("--sample-rate", lambda r: catalog.describe(name, r), rate))
        return 0
    blocks = []
    for name, cls in catalog.names().items():
        try:
            blocks.append(catalog.describe(name, rate))
        except ValueError as err:
            blocks.append(f"{name} ({cls.__name__}): cannot run at {rate} Hz: {err}")
    print("\n\n".join(blocks))
    return 0


# --- apply ------------------------------------------------------------------------------------

def add_apply(sub: argparse._SubParsersAction) -> None:
    """``dasp-blind apply``."""
    p = sub.add_parser(
        "apply", help="run an effect or a chain of effects on an audio file",
        description="Run an effect, or a chain of effects in series, on an audio file. The "
                    "effects are built at the file's sample rate and process all its channels; "
                    "parameters are physical values (see dasp-blind effects NAME); missing ones "
                    "take their defaults. The output is written atomically, as 32-bit float "
                    "for WAV/AIFF and 24-bit for FLAC unless --subtype says otherwise.")
    p.add_argument("input", help="audio file to read")
    p.add_argument("output", help="audio file to write (its extension picks the format)")
    p.add_argument("--effect", required=True,
                   help="catalog name (dasp-blind effects), or names separated by commas for a "
                        "chain: eq,compressor,hard_clip")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a parameter in physical units, repeatable: peak1.gain_db=6; in a chain "
                        "prefixed with the effect's name as given: compressor.ratio=4")
    p.add_argument("--subtype", default=None,
                   help="libsndfile subtype of the output (FLOAT, PCM_16, PCM_24, ...)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing output file (even the input file)")
    p.set_defaults(func=run_apply)


def run_apply(args: argparse.Namespace) -> int:
    """Read, run the effects one after the other, write; progress on stderr."""
    import torch

    from .data.audio import audio_format, load_audio, save_audio

    check_output(args.input, args.output, args.overwrite)
    checked("output", audio_format, args.output)
    checked("--subtype", lambda s: audio_format(args.output, s), args.subtype)
    names = _effect_names(args.effect)
    try:
        audio, rate = load_audio(args.input)  # (channels, samples)
    except (OSError, ValueError) as err:
        raise CLIError("input", str(err)) from None
    if audio.shape[-1] == 0:
        raise CLIError("input", f"{args.input!r} holds no audio frames")
    effects = _build_effects(names, rate)
    params = _parse_params(args.param, effects)
    seconds = audio.shape[-1] / rate
    if seconds > LONG_FILE_S:
        progress(f"{seconds:.0f} s of audio: each effect runs over the whole file at once "
                  f"(effects such as the compressor carry state across it); this takes a while")
    x = audio.unsqueeze(0)  # (1, channels, samples)
    with torch.no_grad():
        for i, (name, effect) in enumerate(effects.items(), start=1):
            start = time.perf_counter()
            progress(f"[{i}/{len(effects)}] {name} ...", end="")
            x = effect.process(x, params[name])
            progress(f" {time.perf_counter() - start:.2f} s")
    try:
        save_audio(args.output, x, rate, overwrite=args.overwrite, subtype=args.subtype)
    except OSError as err:
        raise CLIError("output", os_message(err)) from None
    print(f"wrote {args.output}: {x.shape[1]} channel(s), {rate} Hz, {seconds:.3f} s, "
          f"{' -> '.join(effects)}")
    return 0


def _effect_names(spec: str) -> list[str]:
    """The names of ``--effect a,b,c``: catalog names or aliases, each at most once."""
    from .effects import catalog

    names = [n.strip() for n in spec.split(",")]
    for name in names:
        checked("--effect", catalog.resolve, name)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise CLIError("--effect", f"each effect may appear once in a chain, repeated: "
                                   f"{', '.join(repeated)}")
    return names


def _build_effects(names: list[str], sample_rate: int) -> dict[str, Any]:
    """Each named effect built at ``sample_rate``, by the name given."""
    from .effects import catalog

    effects = {}
    for name in names:
        try:
            effects[name] = catalog.build(name, sample_rate)
        except ValueError as err:
            raise CLIError("--effect", f"{name} cannot run on this file ({sample_rate} Hz): "
                                       f"{err}") from None
    return effects


def _parse_params(items: list[str], effects: dict[str, Any]) -> dict[str, dict[str, float]]:
    """``NAME=VALUE`` strings -> effect name -> {parameter: value}, checked against the ranges.

    With one effect, names are its own (``peak1.gain_db``); in a chain they are prefixed with
    the effect's name as given in ``--effect`` (``eq.peak1.gain_db``).
    """
    import torch

    params: dict[str, dict[str, float]] = {name: {} for name in effects}
    single = next(iter(effects)) if len(effects) == 1 else None
    for item in items:
        full, sep, text = item.partition("=")
        full = full.strip()
        if not sep or not full:
            raise CLIError("--param", f"expected NAME=VALUE, got {item!r}")
        try:
            value = float(text)
        except ValueError:
            raise CLIError("--param", f"value of {full!r} must be a number, got {text!r}") from None
        if not math.isfinite(value):
            raise CLIError("--param", f"value of {full!r} must be finite, got {text!r}")
        owner, name = (single, full) if single else full.partition(".")[::2]
        if owner not in effects:
            raise CLIError("--param", f"{full!r} names no effect of the chain; prefix each "
                                      f"parameter with one of {', '.join(effects)} "
                                      f"(e.g. {next(iter(effects))}.NAME=VALUE)")
        space = effects[owner].param_space
        if name not in space:
            raise CLIError("--param", f"unknown parameter {full!r} of {owner}; its parameters: "
                                      f"{', '.join(space.names)}")
        if name in params[owner]:
            raise CLIError("--param", f"{full!r} is given twice")
        try:
            space[name].check_physical(torch.tensor(value, dtype=torch.float64), full)
        except ValueError as err:
            raise CLIError("--param", str(err)) from None
        params[owner][name] = value
    return params


# --- Lightning --------------------------------------------------------------------------------

def add_lightning(sub: argparse._SubParsersAction) -> None:
    """``dasp-blind fit|validate|test``: listed here, parsed by LightningCLI (see :func:`main`)."""
    for name in LIGHTNING_COMMANDS:
        sub.add_parser(name, help=f"LightningCLI {name} --config CONFIG (needs the train extra; "
                                  f"see dasp-blind {name} --help)")


def packaged_configs() -> list[str]:
    """Names of the configs shipped in the package (``proxy/compressor``, ...)."""
    return sorted(p.relative_to(CONFIG_DIR).with_suffix("").as_posix()
                  for p in CONFIG_DIR.rglob("*.yaml"))


def resolve_config(value: str) -> str:
    """A config argument as a path: an existing file as given, else the packaged config of that
    name (with or without ``.yaml``), else unchanged (LightningCLI then reports it)."""
    if Path(value).is_file():
        return value
    name = value.removesuffix(".yaml")
    if name in packaged_configs():
        return str(CONFIG_DIR / f"{name}.yaml")
    return value


def _resolve_config_args(argv: list[str]) -> list[str]:
    """``argv`` with the value of every ``-c`` / ``--config`` resolved by :func:`resolve_config`."""
    out = list(argv)
    for i, arg in enumerate(out):
        if arg in ("-c", "--config") and i + 1 < len(out):
            out[i + 1] = resolve_config(out[i + 1])
        elif arg.startswith("--config="):
            out[i] = "--config=" + resolve_config(arg.partition("=")[2])
    return out


def run_lightning(argv: list[str]) -> int:
    """Hand the arguments to a LightningCLI whose model and data come from the config."""
    try:
        jsonargparse = importlib.import_module("jsonargparse")
        importlib.import_module("pytorch_lightning")
    except ImportError:
        raise CLIError(None, f"{argv[0]} needs the training extra: {TRAIN_EXTRA}") from None
    cli_class = _lightning_cli_class()
    no_exit = {"exit_on_error": False}
    with warnings.catch_warnings():
        # main() passes argv on purpose; LightningCLI warns when sys.argv is also set
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
        try:
            cli_class(args=_resolve_config_args(argv),
                      parser_kwargs={**no_exit, "prog": PROG,
                                     **{c: dict(no_exit) for c in LIGHTNING_COMMANDS}})
        except jsonargparse.ArgumentError as err:
            raise CLIError(*_describe_argument_error(str(err), argv)) from None
    return 0


def _lightning_cli_class() -> type:
    """LightningCLI without ``predict`` (no shipped module predicts) and with one-line errors
    for classes that the config's values cannot build."""
    import pytorch_lightning as pl
    from pytorch_lightning.cli import LightningCLI
    from pytorch_lightning.utilities.exceptions import MisconfigurationException

    class DaspLightningCLI(LightningCLI):
        def __init__(self, **kwargs: Any):
            # "Seed set to 0" is logged before the classes are built; hold it back so that an
            # error building them stays the only line on stderr
            self._argv = list(kwargs.get("args") or [])
            self._seed_log = _HeldLog(SEED_LOGGER)
            with self._seed_log:
                super().__init__(pl.LightningModule, pl.LightningDataModule,
                                 subclass_mode_model=True, subclass_mode_data=True,
                                 save_config_kwargs={"overwrite": True}, **kwargs)

        def after_instantiate_classes(self) -> None:
            self._seed_log.release()

        @staticmethod
        def subcommands() -> dict[str, set[str]]:
            return {k: v for k, v in LightningCLI.subcommands().items()
                    if k in LIGHTNING_COMMANDS}

        def instantiate_classes(self) -> None:
            try:
                super().instantiate_classes()
            except (ValueError, TypeError) as err:
                key = _failed_class_key(str(err))
                raise CLIError(_typed_option(key, [], self._argv),
                               _condense(str(err).splitlines())) from None

        def instantiate_trainer(self, **kwargs: Any) -> pl.Trainer:
            try:
                return super().instantiate_trainer(**kwargs)
            except (ValueError, TypeError, MisconfigurationException) as err:
                raise CLIError("--trainer", str(err)) from None

    return DaspLightningCLI


SEED_LOGGER = "lightning_fabric.utilities.seed"


class _HeldLog(logging.Filter):
    """Inside ``with``, keeps the records of one logger back; :meth:`release` emits them."""

    def __init__(self, name: str):
        super().__init__()
        self.logger = logging.getLogger(name)
        self.records: list[logging.LogRecord] = []

    def filter(self, record: logging.LogRecord) -> bool:
        self.records.append(record)
        return False

    def __enter__(self) -> _HeldLog:
        self.logger.addFilter(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.logger.removeFilter(self)

    def release(self) -> None:
        """Stop holding records back and emit those held."""
        self.logger.removeFilter(self)
        for record in self.records:
            self.logger.handle(record)
        self.records.clear()


_KEY = re.compile(r'Parser key "([^"]+)":\s*(.*)')
_NESTED_KEY = re.compile(r"NestedArg\(key='([^']+)'")
_NOISE = re.compile(r"^(Does not validate against any of the Union subtypes|Subtypes:|Errors:|"
                    r"Given value type:|Given value: (Namespace|NestedArg)\(|"
                    r"Expected a <class 'NoneType'>|Problem with given class_path)")


def _condense(lines: list[str]) -> str:
    """The informative lines of a jsonargparse message, joined on one line."""
    kept = []
    for raw in lines:
        line = raw.strip().removeprefix("- ").strip()
        key = _KEY.match(line)
        if key:  # keep what follows 'Parser key "name":' on its line
            line = key.group(2)
        if not line or _NOISE.match(line):
            continue
        line = re.sub(r"Expected a <class '([\w.]+)'>", r"expected \1", line)
        kept.append(line.replace("Given value: ", "got "))
    return "; ".join(kept)


def _describe_argument_error(message: str, argv: list[str]) -> tuple[str | None, str]:
    """(option, one-line message) of a jsonargparse ArgumentError."""
    lines = message.strip().splitlines()
    first = _KEY.match(lines[0].strip())
    if first is None:
        return _describe_plain_error(message, argv)
    key = first.group(1)
    inner = [m.group(1) for line in lines[1:] for m in [_KEY.match(line.strip().lstrip("- "))]
             if m] + _NESTED_KEY.findall(message)
    option = _typed_option(key, inner, argv)
    text = _condense([first.group(2), *lines[1:]])
    if key == "config":
        text += f" (packaged configs: {', '.join(packaged_configs())})"
    return option, text


def _describe_plain_error(message: str, argv: list[str]) -> tuple[str | None, str]:
    text = " ".join(message.split())
    unknown = re.match(r"unrecognized arguments: (\S+)", text)
    if unknown:
        return unknown.group(1), f"unknown option (see {PROG} {argv[0]} --help)"
    if text.startswith("the following arguments are required"):
        return "--config", (f"{text.replace(argv[0] + '.', '')}: give a config, e.g. --config "
                            f"{packaged_configs()[0]}")
    return None, text


def _typed_option(key: str, inner: list[str], argv: list[str]) -> str:
    """The option the user typed for the parser ``key`` (and a nested key such as
    ``sample_rate`` under ``model``), else ``--key``."""
    typed = [a.split("=")[0] for a in argv if a.startswith(f"--{key}.") or a == f"--{key}"]
    for name in inner:
        match = [a for a in typed if a.endswith(f".{name}")]
        if match:
            return match[0]
    return typed[0] if len(typed) == 1 else f"--{key}"


def _failed_class_key(message: str) -> str:
    """``data`` or ``model`` for an error building the class of that part of the config."""
    if "LightningDataModule" in message:
        return "data"
    if "LightningModule" in message:
        return "model"
    return "config"


# --- entry point ------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    """Argument parser of the ``dasp-blind`` command (one line per subcommand)."""
    from .cli_demo import add_demo
    from .cli_estimate import add_estimate
    from .cli_modelling import add_export, add_process
    from .cli_removal import add_declip, add_remove
    from .cli_tune import add_tune

    parser = _Parser(prog=PROG, description="Differentiable audio effects: blind estimation of "
                     "effect parameters (a demo, estimate), distortion removal (declip, remove), "
                     "effect models (export, process), the effects tour, the effect catalog, "
                     "effects applied to audio files, and training (LightningCLI).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_lightning(sub)
    add_demo(sub)
    add_tour(sub)
    add_effects(sub)
    add_apply(sub)
    add_pretrained(sub)
    add_estimate(sub)
    add_declip(sub)
    add_remove(sub)
    add_export(sub)
    add_process(sub)
    add_tune(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dasp-blind`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in LIGHTNING_COMMANDS:
            return run_lightning(argv)
        args = build_parser().parse_args(argv)
        return args.func(args)
    except CLIError as err:
        print(err.line(), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
