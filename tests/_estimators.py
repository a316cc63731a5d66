"""A tiny seeded estimator exported to a file, for tests that load one by path."""

from __future__ import annotations

from pathlib import Path

import torch

from dasp_blind import pretrained
from dasp_blind.estimation import Estimator

#: What the tests' estimator is built from: the parametric clipper through TE, a one-layer head.
TINY_ESTIMATOR = {"analysis": "parametric_clipper", "encoder": "te", "hidden": [8],
                  "window_s": 1.0}


def export_tiny_estimator(path: Path, sample_rate: int) -> Estimator:
    """Build an untrained estimator seeded with generators 0 (encoder) and 1 (head), export it
    to ``path`` (``.pt`` + ``.json``) with :func:`dasp_blind.pretrained.save` and return it in
    eval mode."""
    init_args = {**TINY_ESTIMATOR, "sample_rate": sample_rate}
    model = Estimator(**init_args).eval()
    model.encoder.reset_parameters(torch.Generator().manual_seed(0))
    model.head.reset_parameters(torch.Generator().manual_seed(1))
    recipe = {"command": "test fixture", "data": None, "steps": 0, "seed": 0}
    pretrained.save(model, path, init_args=init_args, sample_rate=sample_rate, recipe=recipe,
                    metrics={})
    return model
