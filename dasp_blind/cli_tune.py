"""``dasp-blind tune``: hyper-parameter search of an effect model (needs the ``tune`` extra).

It reads the config files of ``dasp-blind fit`` (a packaged name such as
``modelling/overdrive_gru`` or a YAML path) for a
:class:`~dasp_blind.modelling.module.ModellingModule` on a
:class:`~dasp_blind.modelling.datamodule.ModellingDataModule`: their ``init_args`` are the fixed
settings, ``trainer.accelerator`` / ``precision`` / ``log_every_n_steps`` are kept, and
``trainer.default_root_dir`` + ``/tune`` holds the trials' logs unless ``--root-dir`` says
otherwise. :func:`dasp_blind.modelling.search.search` then runs the trials and the result is
written as JSON to ``--out`` (checked before the search starts: an existing file is replaced
only with ``--overwrite``).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from .cli_common import CLIError, checked, os_message, progress

MODULE_CLASS = "dasp_blind.modelling.module.ModellingModule"
DATA_CLASS = "dasp_blind.modelling.datamodule.ModellingDataModule"
#: Trainer settings of the config that the trials keep.
TRAINER_KEYS = ("accelerator", "precision", "log_every_n_steps")
DEFAULT_TRIALS = 20
DEFAULT_EPOCHS = 20


def add_tune(sub: argparse._SubParsersAction) -> None:
    """``dasp-blind tune``."""
    p = sub.add_parser(
        "tune", help="search an effect model's hyper-parameters with Optuna (tune extra)",
        description="Hyper-parameter search of an effect model: a seeded TPE sampler proposes "
                    "the learning rate, hidden size, truncated-BPTT length and weight decay "
                    "(or the --space given), each trial trains the config's ModellingModule "
                    "on its ModellingDataModule, and a median pruner stops trials that fall "
                    "behind; the best parameters and every trial are written as JSON. Needs "
                    'the tune extra: pip install "dasp_blind[tune]".')
    p.add_argument("--config", required=True,
                   help="a fit config of ModellingModule: a packaged name (modelling/"
                        "overdrive_gru) or a YAML file")
    p.add_argument("--trials", type=int, default=DEFAULT_TRIALS,
                   help=f"number of trials (default: {DEFAULT_TRIALS})")
    p.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS,
                   help=f"epochs per trial at most (default: {DEFAULT_EPOCHS})")
    p.add_argument("--max-time", default=None, metavar="HH:MM:SS",
                   help="wall-clock limit per trial (default: none)")
    p.add_argument("--space", action="append", default=[], metavar="NAME=SPEC",
                   help="a searched setting, repeatable, replacing the default space: "
                        "lr=log:1e-4:2e-2, grad_clip=float:0.5:2, num_layers=int:1:2, "
                        "hidden_size=choice:16,32,48, cell=choice:gru,lstm")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the sampler and of the trials' weights (default: 0)")
    p.add_argument("--root-dir", default=None,
                   help="folder of the trials' logs (default: the config's "
                        "trainer.default_root_dir/tune, else runs/tune)")
    p.add_argument("--out", required=True, help="the JSON file to write")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.set_defaults(func=run_tune)


def run_tune(args: argparse.Namespace) -> int:
    """Check everything, run the search, write the JSON and print the best parameters."""
    from ._checks import check_int, check_seed

    _check_out(args.out, args.overwrite)
    search_module = _import_search()
    trials = checked("--trials", lambda v: check_int(v, "--trials", low=1), args.trials)
    epochs = checked("--epochs", lambda v: check_int(v, "--epochs", low=1), args.epochs)
    seed = checked("--seed", lambda v: check_seed(v, "--seed"), args.seed)
    max_time = None if args.max_time is None else checked("--max-time", parse_hms, args.max_time)
    space = _parse_space(args.space, search_module) if args.space else None
    config = read_config(args.config)
    model_args, data = _build(config, search_module)
    checked("--space" if space else "--config", lambda s: search_module.check_first_trial(
        model_args, search_module.check_space(s or search_module.DEFAULT_SPACE)), space)
    trainer = config.get("trainer") if isinstance(config.get("trainer"), dict) else {}
    root = args.root_dir or str(Path(trainer.get("default_root_dir") or "runs") / "tune")
    quiet = logging.getLogger("pytorch_lightning")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # Optuna's line per trial is the progress report
    try:
        result = search_module.search(
            model_args, data, trials=trials, max_epochs=epochs, max_time=max_time,
            space=space, seed=seed, root_dir=root,
            trainer_args={k: trainer[k] for k in TRAINER_KEYS if k in trainer})
    except ValueError as err:  # e.g. data whose controls the model does not take
        raise CLIError("--config", str(err)) from None
    finally:
        quiet.setLevel(level)
    _write(args.out, result, args.overwrite)
    return _report(result, args.out)


def parse_hms(text: str) -> timedelta:
    """``HH:MM:SS`` (hours may exceed 23) as a positive ``timedelta``."""
    match = re.fullmatch(r"\s*(\d+):([0-5]?\d):([0-5]?\d(?:\.\d*)?)\s*", text)
    if match is None:
        raise ValueError(f"expected HH:MM:SS (e.g. 00:30:00), got {text!r}")
    hours, minutes, seconds = match.groups()
    limit = timedelta(hours=int(hours), minutes=int(minutes), seconds=float(seconds))
    if limit.total_seconds() <= 0:
        raise ValueError(f"must be longer than 0 s, got {text!r}")
    return limit


def read_config(value: str) -> dict[str, Any]:
    """The YAML of a config path or packaged config name; a CLIError naming ``--config``."""
    import yaml

    from .cli import packaged_configs, resolve_config

    path = Path(resolve_config(value))
    if not path.is_file():
        raise CLIError("--config", f"{value!r} is neither a file nor a packaged config "
                                   f"(packaged: {', '.join(packaged_configs())})")
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise CLIError("--config", os_message(err)) from None
    except yaml.YAMLError as err:
        raise CLIError("--config", f"{str(path)!r} is not valid YAML: {err}") from None
    if not isinstance(config, dict):
        raise CLIError("--config", f"{str(path)!r} holds no mapping of settings")
    return config


def _import_search() -> Any:
    from .cli import TRAIN_EXTRA

    try:
        import pytorch_lightning  # noqa: F401
    except ImportError:
        raise CLIError(None, f"tune needs the training extra: {TRAIN_EXTRA}") from None
    from .modelling import search

    try:
        search.import_optuna()
    except ImportError as err:
        raise CLIError(None, str(err)) from None
    return search


def _check_out(out: str, overwrite: bool) -> None:
    path = Path(out)
    if path.is_dir():
        raise CLIError("--out", f"{out!r} is a folder; give a file name")
    if path.exists() and not overwrite:
        raise CLIError("--out", f"{out!r} exists; pass --overwrite to replace it")
    if not path.parent.is_dir():
        raise CLIError("--out", f"{str(path.parent)!r} is not an existing folder")


def _parse_space(items: list[str], search_module: Any) -> dict[str, tuple]:
    space: dict[str, tuple] = {}
    for item in items:
        name, spec = checked("--space", search_module.parse_space_option, item)
        if name in space:
            raise CLIError("--space", f"{name!r} is given twice")
        space[name] = spec
    return space


def _init_args(config: dict[str, Any], part: str, class_path: str) -> dict[str, Any]:
    section = config.get(part)
    if not isinstance(section, dict) or "class_path" not in section:
        raise CLIError("--config", f"the config has no {part}.class_path; tune takes a config "
                                   f"of {class_path.rsplit('.', 1)[-1]}")
    given = section["class_path"]
    if not isinstance(given, str) or given.rsplit(".", 1)[-1] != class_path.rsplit(".", 1)[-1]:
        raise CLIError("--config", f"{part}.class_path is {given!r}; tune searches {class_path} "
                                   f"configs only")
    init_args = section.get("init_args") or {}
    if not isinstance(init_args, dict):
        raise CLIError("--config", f"{part}.init_args must be a mapping, got {init_args!r}")
    return init_args


def _build(config: dict[str, Any], search_module: Any) -> tuple[dict[str, Any], Any]:
    """The checked module arguments and the data module of the config."""
    from .modelling.datamodule import ModellingDataModule
    from .modelling.module import ModellingModule

    model_args = _init_args(config, "model", MODULE_CLASS)
    data_args = _init_args(config, "data", DATA_CLASS)
    try:
        search_module.check_module_args(model_args)
        ModellingModule(**model_args)
    except (TypeError, ValueError) as err:
        raise CLIError("--config", f"model.init_args: {err}") from None
    try:
        data = ModellingDataModule(**data_args)
    except (TypeError, ValueError) as err:
        raise CLIError("--config", f"data.init_args: {err}") from None
    return model_args, data


def _write(out: str, result: dict[str, Any], overwrite: bool) -> None:
    from ._outputs import write_text

    try:
        write_text(out, json.dumps(result, indent=2) + "\n", overwrite=overwrite)
    except OSError as err:
        raise CLIError("--out", os_message(err)) from None


def _report(result: dict[str, Any], out: str) -> int:
    """Print the best parameters (exit status 0), or say that no trial completed (1)."""
    key = f"search_{result['monitor'].removeprefix('val_')}"
    counts = (f"{result['n_trials']} trials, {result['pruned']} pruned, {result['failed']} "
              f"failed")
    if result["params"] is None:
        progress(f"no trial completed ({counts}); wrote {out}")
        return 1
    print(f"best {result['monitor']} {result[key]:.6g} ({counts}):")
    for name, value in result["params"].items():
        print(f"  {name} = {value:.6g}" if isinstance(value, float) else f"  {name} = {value}")
    print(f"wrote {out}")
    return 0


__all__ = ["add_tune", "parse_hms", "read_config", "run_tune"]
