"""Unit conversions: decibels <-> linear gain, time constants <-> one-pole coefficients.

One place for the formulas the library writes everywhere: ``gain = 10^(dB/20)``,
``dB = 20·log10(gain)`` and ``α = exp(−1/(τ·fs))``. Each public converter takes a Python number
(and returns a ``float``) or a tensor (and returns a tensor of the same shape, dtype and device,
differentiable); bad values raise :class:`ValueError` naming the argument. The private cores
(:func:`_db_to_gain`, :func:`_gain_to_db`, :func:`_ms_to_alpha`) skip the checks and are what
the rest of the library calls on values it has already validated.
"""

from __future__ import annotations

import math
import sys

import torch
from torch import Tensor

from .._checks import (
    ParamLike,
    check_non_negative,
    check_number,
    check_sample_rate,
    check_tensor,
)

#: ``ln(10)/20``: ``gain = exp(LN10_OVER_20·dB)``.
LN10_OVER_20 = math.log(10.0) / 20.0
#: Range of the gains in dB that the clippers and the compressor makeup accept: ``10^(±120/20)``
#: = ``1e±6`` stays far from overflow in float32 whatever the audio.
GAIN_DB_RANGE = (-120.0, 120.0)
#: ``ln`` of the largest float64.
_LOG_FLOAT_MAX = math.log(sys.float_info.max)


def _db_to_gain(db: Tensor) -> Tensor:
    """``10^(db/20)``, unchecked."""
    return torch.exp(LN10_OVER_20 * db)


def _gain_to_db(gain: Tensor) -> Tensor:
    """``20·log10(gain)``, unchecked."""
    return 20.0 * torch.log10(gain)


def _ms_to_alpha(time_ms: Tensor, sample_rate: float) -> Tensor:
    """``exp(−1/(τ·fs))`` with ``τ`` in ms, unchecked."""
    return torch.exp(-1.0 / (time_ms * 1e-3 * sample_rate))


def _check_values(value: ParamLike, name: str) -> ParamLike:
    """A finite number, or a finite real floating-point tensor."""
    if isinstance(value, Tensor):
        return check_tensor(value, name, "(any shape)")
    return check_number(value, name)


def db_to_gain(db: ParamLike) -> ParamLike:
    """Linear amplitude gain of a level in dB: ``10^(db/20)``.

    Args:
        db: level in dB, a finite number or a floating-point tensor (any shape), small enough
            that the gain is finite in its dtype (below about 6165 dB in float64, 770 dB in
            float32).

    Returns:
        The gain, a ``float`` for a number, a tensor of the same shape, dtype and device for a
        tensor.
    """
    db = _check_values(db, "db")
    if isinstance(db, Tensor):
        gain = _db_to_gain(db)
        if not bool(torch.isfinite(gain).all()):
            raise ValueError(f"db={db.detach().max().item():g} overflows {db.dtype}")
        return gain
    if LN10_OVER_20 * db > _LOG_FLOAT_MAX:
        raise ValueError(f"db={db!r} overflows a float")
    return math.exp(LN10_OVER_20 * db)


def gain_to_db(gain: ParamLike, floor: float = 0.0) -> ParamLike:
    """Level in dB of a linear amplitude gain: ``20·log10(max(gain, floor))``.

    Args:
        gain: gain ``>= 0``, a finite number or a floating-point tensor (any shape). A gain of 0
            gives ``-inf`` unless ``floor > 0``.
        floor: smallest gain considered, ``>= 0`` (its gradient is 0 below the floor).

    Returns:
        The level in dB, a ``float`` for a number, a tensor of the same shape, dtype and device
        for a tensor.
    """
    gain = _check_values(gain, "gain")
    floor = check_non_negative(floor, "floor")
    if isinstance(gain, Tensor):
        if bool((gain.detach() < 0).any()):
            raise ValueError(f"gain must be >= 0, got {gain.detach().min().item():g}")
        return _gain_to_db(gain.clamp_min(floor) if floor > 0 else gain)
    if gain < 0:
        raise ValueError(f"gain must be >= 0, got {gain!r}")
    gain = max(gain, floor)
    return 20.0 * math.log10(gain) if gain > 0 else -math.inf


def time_constant_to_alpha(time_ms: ParamLike, sample_rate: float) -> ParamLike:
    """One-pole coefficient ``α = exp(−1/(τ·fs))`` of a time constant ``τ`` in milliseconds.

    The one-pole ``y[n] = α·y[n−1] + (1−α)·x[n]`` reaches ``1 − 1/e`` of a step after ``τ``.

    Args:
        time_ms: time constant in ms, ``> 0``; a number or a floating-point tensor (any shape).
        sample_rate: sample rate in Hz.

    Returns:
        ``α`` in ``(0, 1)``, a ``float`` for a number, a tensor like ``time_ms`` for a tensor.
    """
    sample_rate = check_sample_rate(sample_rate)
    time_ms = _check_values(time_ms, "time_ms")
    if isinstance(time_ms, Tensor):
        if bool((time_ms.detach() <= 0).any()):
            raise ValueError(f"time_ms must be > 0, got {time_ms.detach().min().item():g}")
        return _ms_to_alpha(time_ms, sample_rate)
    if time_ms <= 0:
        raise ValueError(f"time_ms must be > 0, got {time_ms!r}")
    return math.exp(-1.0 / (time_ms * 1e-3 * sample_rate))


#: Alias of :func:`time_constant_to_alpha` (the name of torchcomp's converter).
ms_to_alpha = time_constant_to_alpha

__all__ = ["GAIN_DB_RANGE", "LN10_OVER_20", "db_to_gain", "gain_to_db", "ms_to_alpha",
           "time_constant_to_alpha"]
