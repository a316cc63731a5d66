"""Helpers for the tests of the networks."""

from __future__ import annotations

import torch


def count(model: torch.nn.Module) -> int:
    """The number of parameters of ``model``."""
    return sum(p.numel() for p in model.parameters())
