"""Blind estimation of effect parameters from wet audio (Peladeau & Peeters, ICASSP 2024).

* :class:`Estimator` — encoder + MLP head + analysis effect; inference on audio of any length.
* :class:`~dasp_blind.estimation.module.BlindEstimator` — the LightningModule that trains it
  (imported lazily: it needs the ``train`` extra).
* :func:`evaluate` — held-out evaluation against the paper's two baselines.
* :func:`refine` — gradient refinement of an estimate when the dry signal is known.
* :func:`mel_loss` and the other losses and metrics (:mod:`dasp_blind.estimation.losses`).
"""

from __future__ import annotations

from typing import Any

from .estimator import Estimator
from .evaluate import Evaluation, evaluate
from .losses import mel_loss, mrstft_loss, mse_q, mse_y, normalize_rms
from .refine import refine


def __getattr__(name: str) -> Any:
    if name == "BlindEstimator":  # needs pytorch_lightning, which `import dasp_blind` does not
        from .module import BlindEstimator

        return BlindEstimator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["BlindEstimator", "Estimator", "Evaluation", "evaluate", "mel_loss", "mrstft_loss",
           "mse_q", "mse_y", "normalize_rms", "refine"]
