"""What a training run records next to the weights it exports (its recipe and its metrics), and
the weights a run starts from (:func:`initial_state`); used by the LightningModules of
estimation, removal and modelling; needs no Lightning."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from torch import Tensor, nn

_NOT_PLAIN = object()


def _plain(value: Any) -> Any:
    """``value`` if it is ``None``, a string, a number or a boolean, a list of such values for a
    list or tuple of them, else :data:`_NOT_PLAIN`."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        items = [_plain(v) for v in value]
        return _NOT_PLAIN if any(v is _NOT_PLAIN for v in items) else items
    return _NOT_PLAIN


def data_recipe(datamodule: Any) -> dict[str, Any] | None:
    """The data module's class and its plain hyperparameters (``None`` without one): numbers,
    strings, booleans, ``None`` and lists of them; private (``_``) keys are left out."""
    if datamodule is None:
        return None
    plain = {k: _plain(v) for k, v in dict(datamodule.hparams).items()
             if not k.startswith("_") and _plain(v) is not _NOT_PLAIN}
    effect = getattr(datamodule, "effect", None)
    if effect is not None:
        plain["effect"] = type(effect).__name__
    return {"class": f"{type(datamodule).__module__}.{type(datamodule).__qualname__}", **plain}


def run_recipe(trainer: Any, **extra: Any) -> dict[str, Any]:
    """What a finished run knows of how its weights were made: the command line, the data,
    the number of optimiser steps, the global seed (``seed_everything``) and ``extra``."""
    seed = os.environ.get("PL_GLOBAL_SEED")
    return {"command": shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "data": data_recipe(getattr(trainer, "datamodule", None)),
            "steps": int(trainer.global_step),
            "seed": None if seed is None else int(seed), **extra}


def logged_metrics(trainer: Any, prefix: str, measured_on: str) -> dict[str, Any]:
    """The trainer's last metrics whose names start with ``prefix``, with where they were
    measured; ``{}`` if none was logged."""
    values = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith(prefix)}
    return {**values, "measured_on": measured_on} if values else {}


def initial_state(init_weights: str | os.PathLike, init_args: Mapping[str, Any], *,
                  model_class: type[nn.Module] | None = None,
                  ignore: Collection[str] = ()) -> dict[str, Tensor]:
    """The state dict of exported or shipped weights to start a training from, checked to
    fit the module being built.

    Args:
        init_weights: a :mod:`dasp_blind.pretrained` name or the path of an exported ``.pt``.
        init_args: the architecture the module builds, compared with the sidecar's.
        model_class: also require the sidecar's ``class_path`` to name this class.
        ignore: ``init_args`` keys left out of the comparison (settings that are not weights).

    Raises:
        ValueError: naming ``init_weights`` if the class or the architecture differ.
    """
    from . import info, load  # the package imports this module

    sidecar = info(init_weights)
    recorded = {k: v for k, v in dict(sidecar["init_args"]).items() if k not in ignore}
    wanted = {k: v for k, v in dict(init_args).items() if k not in ignore}
    built = (sidecar["class_path"] if model_class is None
             else f"{model_class.__module__}.{model_class.__qualname__}")
    if sidecar["class_path"] != built or recorded != wanted:
        raise ValueError(f"init_weights {str(init_weights)!r} hold a {sidecar['class_path']} "
                         f"with init_args {recorded}, but this module builds {built} with "
                         f"{wanted}")
    return load(init_weights).state_dict()


__all__ = ["data_recipe", "initial_state", "logged_metrics", "run_recipe"]
