"""Hyper-parameter search of effect models with Optuna (the ``tune`` extra).

The seed's recipe ("20x Bayesian HP tuning done with median pruning"): a seeded TPE sampler
proposes the hyper-parameters of :class:`~dasp_blind.modelling.module.ModellingModule`, each
trial trains a fresh model with a real Lightning ``Trainer`` and reports its validation metric
(``val_esr``, the pre-emphasised ESR) after every validation; Optuna's ``MedianPruner`` stops a
trial whose value at a validation is worse than the median of the earlier trials at the same
validation. ``dasp-blind tune`` runs :func:`search` from a ``fit`` config.

A search space maps a name to a spec:

* ``("log", low, high)``: a float drawn log-uniformly from ``[low, high]`` (``low > 0``);
* ``("float", low, high)``: a float drawn uniformly from ``[low, high]``;
* ``("int", low, high)``: an integer from ``low`` to ``high`` inclusive;
* ``("choice", [values])``: one of the values (numbers, strings, booleans).

Names of :data:`MODULE_ARGS` are arguments of ``ModellingModule`` (``lr``, ``weight_decay``,
``update_samples``, ...); every other name is an entry of its ``model_args`` (``hidden_size``,
``num_layers``, ``cell``, ...).
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from .._checks import check_int, check_seed
from .module import ModellingModule

TUNE_EXTRA = 'pip install "dasp_blind[tune]"'
#: The seed's search space: learning rate, hidden size, truncated-BPTT length ("seq_len") and
#: weight decay.
DEFAULT_SPACE: dict[str, tuple] = {
    "lr": ("log", 1e-4, 2e-2),
    "hidden_size": ("choice", (16, 32, 48, 64)),
    "update_samples": ("choice", (256, 512, 1000, 2048)),
    "weight_decay": ("log", 1e-7, 1e-3),
}
#: Searchable arguments of ``ModellingModule``; any other name goes into its ``model_args``.
MODULE_ARGS = ("lr", "weight_decay", "patience", "warmup_samples", "update_samples",
               "grad_clip")
#: ``ModellingModule`` arguments that cannot be searched.
_NOT_SEARCHABLE = ("model", "model_args", "sample_rate", "loss_terms")
#: Spec kinds and what each takes.
SPEC_KINDS = {"log": "(low, high) with 0 < low < high", "float": "(low, high) with low < high",
              "int": "integers (low, high) with low < high",
              "choice": "a non-empty list of distinct values"}
#: Trainer arguments that :func:`search` sets itself.
_OWN_TRAINER_ARGS = ("logger", "callbacks", "max_epochs", "max_time", "default_root_dir")


def import_optuna() -> Any:
    """The ``optuna`` module; an ImportError saying how to install it when it is missing."""
    try:
        import optuna
    except ImportError:
        raise ImportError(f"hyper-parameter search needs Optuna: {TUNE_EXTRA}") from None
    return optuna


def check_space(space: Mapping[str, Any]) -> dict[str, tuple]:
    """The search space ``space`` checked and normalised (``choice`` values as a tuple).

    Raises:
        ValueError: naming the entry, for an empty space, a name that is not searchable or a
            spec that is not one of the forms of the module docstring.
    """
    if not isinstance(space, Mapping) or not space:
        raise ValueError(f"space must be a non-empty dict of name -> spec, got {space!r}")
    return {name: _check_spec(name, spec) for name, spec in space.items()}


def _check_spec(name: object, spec: object) -> tuple:
    if not isinstance(name, str) or not name:
        raise ValueError(f"space: names must be non-empty strings, got {name!r}")
    if name in _NOT_SEARCHABLE:
        raise ValueError(f"space[{name!r}]: {name} cannot be searched (searchable: "
                         f"{', '.join(MODULE_ARGS)} and entries of model_args)")
    where = f"space[{name!r}]"
    if not isinstance(spec, tuple | list) or not spec or spec[0] not in SPEC_KINDS:
        raise ValueError(f"{where} must be (kind, ...) with kind one of {tuple(SPEC_KINDS)}, "
                         f"got {spec!r}")
    kind = spec[0]
    if kind == "choice":
        values = spec[1] if len(spec) == 2 else None
        if (not isinstance(values, tuple | list) or not values
                or not all(v is None or isinstance(v, bool | str | numbers.Real) for v in values)
                or len(set(values)) != len(values)):
            raise ValueError(f"{where}: 'choice' takes {SPEC_KINDS[kind]} (numbers, strings, "
                             f"booleans), got {spec!r}")
        return ("choice", tuple(values))
    if len(spec) != 3:
        raise ValueError(f"{where}: {kind!r} takes {SPEC_KINDS[kind]}, got {spec!r}")
    low, high = spec[1], spec[2]
    numeric = all(isinstance(v, numbers.Real) and not isinstance(v, bool)
                  and math.isfinite(v) for v in (low, high))
    integral = numeric and all(float(v).is_integer() for v in (low, high))
    if (not numeric or not low < high or (kind == "log" and low <= 0)
            or (kind == "int" and not integral)):
        raise ValueError(f"{where}: {kind!r} takes {SPEC_KINDS[kind]}, got {spec!r}")
    if kind == "int":
        return ("int", int(low), int(high))
    return (kind, float(low), float(high))


def parse_space_option(text: str) -> tuple[str, tuple]:
    """``NAME=KIND:LOW:HIGH`` or ``NAME=choice:V1,V2,...`` (the CLI's ``--space``) as
    ``(name, spec)``, checked by :func:`check_space`. Choice values are read as integers,
    floats, ``true`` / ``false``, else kept as strings: ``cell=choice:gru,lstm``."""
    name, sep, rest = text.partition("=")
    name = name.strip()
    kind, _, args = rest.partition(":")
    kind = kind.strip()
    if not sep or not name or kind not in SPEC_KINDS:
        raise ValueError(f"expected NAME=KIND:LOW:HIGH or NAME=choice:V1,V2,... with KIND one "
                         f"of {', '.join(SPEC_KINDS)}, got {text!r}")
    if kind == "choice":
        spec: tuple = ("choice", [_choice_value(v) for v in args.split(",")])
    else:
        parts = args.split(":")
        if len(parts) != 2:
            raise ValueError(f"{name}: {kind} takes LOW:HIGH, got {text!r}")
        try:
            low, high = (int(p) if kind == "int" else float(p) for p in parts)
        except ValueError:
            raise ValueError(f"{name}: LOW and HIGH of {kind} must be "
                             f"{'integers' if kind == 'int' else 'numbers'}, got {text!r}"
                             ) from None
        spec = (kind, low, high)
    return name, _check_spec(name, spec)


def _choice_value(text: str) -> int | float | bool | str:
    text = text.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def suggest(trial: Any, space: Mapping[str, tuple]) -> dict[str, Any]:
    """The values of a checked ``space`` proposed by the Optuna ``trial``."""
    values = {}
    for name, spec in space.items():
        if spec[0] == "choice":
            values[name] = trial.suggest_categorical(name, list(spec[1]))
        elif spec[0] == "int":
            values[name] = trial.suggest_int(name, spec[1], spec[2])
        else:
            values[name] = trial.suggest_float(name, spec[1], spec[2], log=spec[0] == "log")
    return values


def module_args(base: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """``ModellingModule`` arguments: ``base`` with the searched ``params`` in place (names of
    :data:`MODULE_ARGS` as arguments, the others as entries of ``model_args``)."""
    args = dict(base)
    model_args = dict(args.get("model_args") or {})
    for name, value in params.items():
        if name in MODULE_ARGS:
            args[name] = value
        else:
            model_args[name] = value
    args["model_args"] = model_args
    return args


def check_module_args(base: object) -> dict[str, Any]:
    """``base`` as a dict of ``ModellingModule`` arguments; a ValueError naming an unknown one."""
    if not isinstance(base, Mapping):
        raise ValueError(f"base_module_args must be a dict of ModellingModule arguments, got "
                         f"{base!r}")
    known = _module_defaults()
    unknown = [name for name in base if name not in known]
    if unknown:
        raise ValueError(f"base_module_args: unknown ModellingModule argument(s) "
                         f"{', '.join(map(repr, unknown))} (known: {', '.join(known)})")
    return dict(base)


def _module_defaults() -> dict[str, Any]:
    parameters = inspect.signature(ModellingModule.__init__).parameters
    return {name: p.default for name, p in parameters.items() if name != "self"}


def check_first_trial(base: Mapping[str, Any], space: Mapping[str, tuple]) -> None:
    """Build ``ModellingModule`` from ``base`` with the lowest (first) value of every entry of
    the checked ``space``, so that a bad argument or entry fails before any training (the
    caller's torch generator is left as it was).

    Raises:
        ValueError: what the module or its model says of the arguments.
    """
    first = {name: spec[1][0] if spec[0] == "choice" else spec[1] for name, spec in space.items()}
    try:
        with torch.random.fork_rng():
            ModellingModule(**module_args(base, first))
    except (TypeError, ValueError) as err:
        raise ValueError(f"base_module_args with the space's first values {first}: {err}"
                         ) from None


def fixed_settings(base: Mapping[str, Any], space: Mapping[str, Any]) -> dict[str, Any]:
    """Every ``ModellingModule`` argument that ``space`` does not search, defaults filled in."""
    fixed = {**_module_defaults(), **base}
    fixed["model_args"] = {k: v for k, v in dict(fixed.get("model_args") or {}).items()
                           if k not in space}
    return {k: v for k, v in fixed.items() if k not in space}


class TrialDiverged(RuntimeError):
    """The monitored metric is not finite (NaN or infinite): the trial has diverged."""


class OptunaPruning(pl.Callback):
    """Reports ``monitor`` to an Optuna trial after every validation and prunes the trial.

    After each validation run (the sanity check is skipped) the logged value of ``monitor`` is
    reported as ``trial.report(value, step)``, where ``step`` counts the validations from 0 (the
    epoch index with one validation per epoch, so that trials with different truncated-BPTT
    lengths compare at the same step); then ``optuna.TrialPruned`` is raised, ending the fit,
    when ``trial.should_prune()`` says so.

    Args:
        trial: an ``optuna.Trial``.
        monitor: a metric the module logs at validation, lower is better (``val_esr``).

    Raises:
        TrialDiverged: when the value is NaN or infinite (not reported).
        ValueError: when ``monitor`` is not logged.
    """

    def __init__(self, trial: Any, monitor: str = "val_esr"):
        super().__init__()
        self.trial = trial
        self.monitor = monitor
        self.step = 0
        self.last: float | None = None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        optuna = import_optuna()
        logged = trainer.callback_metrics
        if self.monitor not in logged:
            raise ValueError(f"monitor {self.monitor!r} is not logged at validation (logged: "
                             f"{', '.join(sorted(logged)) or 'nothing'})")
        value = float(logged[self.monitor])
        if not math.isfinite(value):
            raise TrialDiverged(f"{self.monitor} is {value} at validation {self.step}")
        self.trial.report(value, self.step)
        self.last = value
        self.step += 1
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"{self.monitor} {value:.6g} at validation "
                                     f"{self.step - 1}")


DataSource = pl.LightningDataModule | Callable[[], pl.LightningDataModule]


def search(base_module_args: Mapping[str, Any], data: DataSource, trials: int = 20,
           max_epochs: int = 20, max_time: timedelta | float | None = None,
           space: Mapping[str, Any] | None = None, seed: int = 0, monitor: str = "val_esr",
           root_dir: str | Path = "runs/tune", storage: str | None = None,
           study_name: str = "dasp_blind_tune", startup_trials: int = 5,
           warmup_validations: int = 2, trainer_args: Mapping[str, Any] | None = None
           ) -> dict[str, Any]:
    """Search the hyper-parameters of a ``ModellingModule`` with Optuna (TPE + median pruning).

    Trial ``n`` builds ``ModellingModule(**module_args(base_module_args, params))`` with the
    proposed ``params`` (its weights drawn under the torch seed ``seed + n``, the caller's
    global generator left as it was), trains it for at most ``max_epochs`` epochs (and
    ``max_time``) with a Lightning ``Trainer`` that logs with a ``CSVLogger`` to
    ``root_dir/trial_<n>/version_<k>`` (no checkpoints; the module exports its weights there at
    the end of a completed fit), and scores it with the value of ``monitor`` at its last
    validation. The ``MedianPruner`` prunes nothing until ``startup_trials`` trials have
    completed, and within a trial not before validation ``warmup_validations`` (counted from
    0). A trial whose ``monitor`` turns NaN or infinite, or whose parameters the module refuses,
    counts as failed and the search goes on, and so does one whose weights turn NaN or
    infinite (the losses refuse the estimate such a model makes: a ValueError).

    Args:
        base_module_args: ``ModellingModule`` arguments that stay fixed (a ``fit`` config's
            ``model.init_args``); searched names replace theirs.
        data: a data module, reused by every trial (the same items in the same order), or a
            function without arguments that returns one, called once per trial.
        trials: number of trials (an integer >= 1).
        max_epochs: epochs per trial (an integer >= 1).
        max_time: wall-clock limit per trial (a ``timedelta`` or seconds), ``None`` for none.
        space: name -> spec (see the module docstring); ``None`` for :data:`DEFAULT_SPACE`.
        seed: seed of the TPE sampler and, plus the trial number, of each model's weights.
        monitor: the validation metric to minimise.
        root_dir: folder of the trials' logs.
        storage: an Optuna storage URL (``sqlite:///tune.db``) to keep the study in, resumed
            when it exists (its sampler then seeded with ``seed`` plus the number of trials it
            holds); ``None`` keeps it in memory.
        study_name: the study's name in ``storage``.
        startup_trials: completed trials before the pruner prunes (``n_startup_trials``).
        warmup_validations: validations of a trial before it may be pruned
            (``n_warmup_steps``).
        trainer_args: further ``Trainer`` arguments (default ``accelerator="auto"``,
            ``devices=1``, no progress bar, no model summary, no sanity check); not
            ``logger``, ``callbacks``, ``max_epochs``, ``max_time`` or ``default_root_dir``.

    Returns:
        The seed's layout: ``{"params": best params, "search_esr": its value, "n_trials",
        "pruned", "failed", "monitor", "seed", "fixed": the settings not searched (module
        arguments, ``data``: the data module's hyper-parameters, ``max_epochs``,
        ``max_time_s``), "trials": [{"number", "params", "value", "state", "log_dir"}]}``.
        The value's key is ``search_<monitor without "val_">`` (``search_esr`` for
        ``val_esr``); with no completed trial, ``params`` and the value are ``None``. With a
        resumed ``storage`` the counts and ``trials`` cover the whole study.

    Raises:
        ImportError: when Optuna is not installed.
        ValueError: for a bad argument, space or ``base_module_args`` (naming it).
    """
    optuna = import_optuna()
    base = check_module_args(base_module_args)
    space = check_space(DEFAULT_SPACE if space is None else space)
    check_int(trials, "trials", low=1)
    check_int(max_epochs, "max_epochs", low=1)
    check_seed(seed)
    check_int(startup_trials, "startup_trials", low=0)
    check_int(warmup_validations, "warmup_validations", low=0)
    limit = _check_max_time(max_time)
    extra = _check_trainer_args(trainer_args)
    if not isinstance(monitor, str) or not monitor:
        raise ValueError(f"monitor must be a metric name, got {monitor!r}")
    check_first_trial(base, space)
    data_of = _data_source(data)
    root = Path(root_dir)

    def objective(trial: Any) -> float:
        params = suggest(trial, space)
        with torch.random.fork_rng():
            torch.manual_seed(seed + trial.number)
            try:
                module = ModellingModule(**module_args(base, params))
            except (TypeError, ValueError) as err:  # e.g. a float update_samples
                return _failed(trial, f"ModellingModule refuses {params}: {err}")
            try:
                return _fit(trial, module, data_of(), root, max_epochs, limit, monitor, extra)
            except TrialDiverged as err:
                return _failed(trial, str(err))
            except ValueError as err:  # the checks of the loss refuse a NaN estimate
                if all(p.isfinite().all() for p in module.parameters()):
                    raise
                return _failed(trial, f"the weights turned NaN or infinite ({err})")

    study = optuna.create_study(
        storage=storage, study_name=study_name if storage else None,
        load_if_exists=storage is not None, direction="minimize",
        pruner=optuna.pruners.MedianPruner(n_startup_trials=startup_trials,
                                           n_warmup_steps=warmup_validations))
    # seed + the trials a resumed study holds: its new trials do not repeat its first proposals
    study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials))
    study.optimize(objective, n_trials=trials)
    return _summary(study, base, space, data_of, monitor, seed, max_epochs, limit)


def _check_max_time(max_time: object) -> timedelta | None:
    if max_time is None:
        return None
    seconds = max_time.total_seconds() if isinstance(max_time, timedelta) else max_time
    if (isinstance(seconds, bool) or not isinstance(seconds, numbers.Real)
            or not math.isfinite(seconds) or seconds <= 0):
        raise ValueError(f"max_time must be a positive timedelta or number of seconds, or None, "
                         f"got {max_time!r}")
    return timedelta(seconds=float(seconds))


def _check_trainer_args(trainer_args: Mapping[str, Any] | None) -> dict[str, Any]:
    extra = dict(trainer_args or {})
    own = [k for k in extra if k in _OWN_TRAINER_ARGS]
    if own:
        raise ValueError(f"trainer_args: {', '.join(own)} are set by search itself")
    return {"accelerator": "auto", "devices": 1, "enable_progress_bar": False,
            "enable_model_summary": False, "num_sanity_val_steps": 0,
            "enable_checkpointing": False, **extra}


def _data_source(data: object) -> Callable[[], pl.LightningDataModule]:
    if isinstance(data, pl.LightningDataModule):
        return lambda: data
    if callable(data):
        return data
    raise ValueError(f"data must be a LightningDataModule or a function that returns one, "
                     f"got {data!r}")


def _failed(trial: Any, reason: str) -> float:
    """Record why ``trial`` failed; NaN, which Optuna counts as a failed trial."""
    trial.set_user_attr("failure", reason)
    return math.nan


def _fit(trial: Any, module: ModellingModule, data: pl.LightningDataModule, root: Path,
         max_epochs: int, max_time: timedelta | None, monitor: str,
         trainer_args: dict[str, Any]) -> float:
    """Train ``module`` for one trial; the value of ``monitor`` at the last validation."""
    pruning = OptunaPruning(trial, monitor)
    logger = pl.loggers.CSVLogger(root, name=f"trial_{trial.number}")
    trial.set_user_attr("log_dir", str(logger.log_dir))
    trainer = pl.Trainer(max_epochs=max_epochs, max_time=max_time, logger=logger,
                         callbacks=[pruning], default_root_dir=root, **trainer_args)
    trainer.fit(module, data)
    if pruning.last is None:
        raise TrialDiverged(f"no validation ran (max_time {max_time} too short?)")
    return pruning.last


def _summary(study: Any, base: dict[str, Any], space: dict[str, tuple],
             data_of: Callable[[], pl.LightningDataModule], monitor: str, seed: int,
             max_epochs: int, max_time: timedelta | None) -> dict[str, Any]:
    optuna = import_optuna()
    states = optuna.trial.TrialState
    records = [{"number": t.number, "params": dict(t.params),
                "value": t.value if t.value is not None and math.isfinite(t.value) else None,
                "state": t.state.name, "log_dir": t.user_attrs.get("log_dir"),
                **({"failure": t.user_attrs["failure"]} if "failure" in t.user_attrs else {})}
               for t in study.trials]
    complete = [t for t in study.trials if t.state == states.COMPLETE]
    best = min(complete, key=lambda t: t.value) if complete else None
    fixed = fixed_settings(base, space)
    fixed["data"] = _plain(dict(getattr(data_of(), "hparams", {})))
    fixed["max_epochs"] = max_epochs
    fixed["max_time_s"] = None if max_time is None else max_time.total_seconds()
    return {"params": None if best is None else dict(best.params),
            f"search_{monitor.removeprefix('val_')}": None if best is None else best.value,
            "n_trials": len(study.trials),
            "pruned": sum(t.state == states.PRUNED for t in study.trials),
            "failed": sum(t.state == states.FAIL for t in study.trials),
            "monitor": monitor, "seed": seed, "fixed": _plain(fixed), "trials": records}


def _plain(value: Any) -> Any:
    """``value`` with mappings as dicts and sequences as lists (JSON-ready)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


__all__ = ["DEFAULT_SPACE", "MODULE_ARGS", "SPEC_KINDS", "TUNE_EXTRA", "OptunaPruning",
           "TrialDiverged", "check_first_trial", "check_module_args", "check_space",
           "fixed_settings", "import_optuna", "module_args", "parse_space_option", "search",
           "suggest"]
