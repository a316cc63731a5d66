"""What a training run records next to the weights it exports: its recipe and its metrics."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Any


def data_recipe(datamodule: Any) -> dict[str, Any] | None:
    """The data module's class and its plain hyperparameters (``None`` without one)."""
    if datamodule is None:
        return None
    plain = {k: v for k, v in dict(datamodule.hparams).items()
             if v is None or isinstance(v, str | int | float | bool)}
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


__all__ = ["data_recipe", "logged_metrics", "run_recipe"]
