"""Input validation shared by every public function.

Each helper raises :class:`ValueError` naming the argument, what was given and what is
allowed, so that bad input never turns into a silent NaN further down the graph.
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import Tensor

ParamLike = Tensor | float | int


def check_audio(x: Tensor, name: str = "x") -> Tensor:
    """Check that ``x`` is a finite float tensor of shape ``(batch, channels, samples)``."""
    if not isinstance(x, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape (batch, channels, samples), "
                         f"got {type(x).__name__}")
    if x.dim() != 3:
        raise ValueError(f"{name} must have shape (batch, channels, samples), "
                         f"got a tensor of rank {x.dim()} with shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be float32 or float64, got {x.dtype}")
    if x.shape[-1] == 0:
        raise ValueError(f"{name} must hold at least one sample, got shape {tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or Inf values")
    return x


def check_positive(value: float, name: str) -> float:
    """Check that ``value`` is a finite number ``> 0`` and return it as ``float``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return number


def check_non_negative(value: object, name: str) -> float:
    """Check that ``value`` is a finite real number ``>= 0`` (not a bool, not a tensor) and
    return it as ``float``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return number


def check_integer_rate(sample_rate: object, name: str = "sample_rate") -> int:
    """A positive integer sample rate (``44100.0`` is accepted, ``44100.5`` is not)."""
    if isinstance(sample_rate, bool):
        raise ValueError(f"{name} must be a positive integer, got {sample_rate!r}")
    try:
        value = float(sample_rate)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive integer, got {sample_rate!r}") from None
    if not math.isfinite(value) or value <= 0 or not value.is_integer():
        raise ValueError(f"{name} must be a positive integer, got {sample_rate!r}")
    return int(value)


def check_sample_rate(sample_rate: float, name: str = "sample_rate") -> float:
    """Check that a sample rate is a finite positive number and return it as ``float``."""
    return check_positive(sample_rate, name)


def as_batched(value: ParamLike, batch: int, like: Tensor, name: str) -> Tensor:
    """Turn a float or a ``(batch,)`` / ``(1,)`` tensor into a ``(batch,)`` tensor on ``like``'s
    device and dtype.

    Raises:
        ValueError: if the value is not finite or its batch size differs from ``batch``.
    """
    if isinstance(value, Tensor):
        t = value.to(device=like.device, dtype=like.dtype)
        if t.dim() == 0:
            t = t.reshape(1)
        if t.dim() != 1:
            raise ValueError(f"{name} must be a float or a tensor of shape (batch,), "
                             f"got shape {tuple(value.shape)}")
        if t.shape[0] not in (1, batch):
            raise ValueError(f"{name} has batch size {t.shape[0]} but the audio has batch size "
                             f"{batch}")
        t = t.expand(batch)
    else:
        try:
            f = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a float or a tensor, got {value!r}") from None
        t = torch.full((batch,), f, device=like.device, dtype=like.dtype)
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or Inf values")
    return t


def check_range(value: Tensor, name: str, low: float | None = None, high: float | None = None,
                low_inclusive: bool = True, high_inclusive: bool = True) -> Tensor:
    """Check that every element of ``value`` lies in the interval ``[low, high]``.

    ``low_inclusive`` / ``high_inclusive`` turn the closed ends into open ones.
    """
    detached = value.detach()
    bad = torch.zeros_like(detached, dtype=torch.bool)
    if low is not None:
        bad |= (detached < low) if low_inclusive else (detached <= low)
    if high is not None:
        bad |= (detached > high) if high_inclusive else (detached >= high)
    if bool(bad.any()):
        first = detached[bad].flatten()[0].item()
        left = "[" if low_inclusive else "("
        right = "]" if high_inclusive else ")"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{name} must lie in {left}{lo}, {hi}{right}, got {first:g}")
    return value
