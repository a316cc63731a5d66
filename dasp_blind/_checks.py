"""Input validation shared by every public function.

Each helper raises :class:`ValueError` naming the argument, what was given and what is
allowed, so that bad input never turns into a silent NaN further down the graph.

Input rules that hold for every functional op and every effect:

* audio is a finite float tensor of shape ``(batch, channels, samples)`` with at least one item,
  one channel and one sample (:func:`check_audio`);
* float16 / bfloat16 audio is computed in float32 and returned in its own dtype
  (:func:`half_as_float32`);
* a number argument never accepts a ``bool`` (``sample_rate=True`` is not 1 Hz) and an argument
  documented as a Python number never accepts a tensor (its gradient would be lost).
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import torch
from torch import Tensor

ParamLike = Tensor | float | int

#: Audio dtypes accepted by :func:`check_audio`.
AUDIO_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
#: Half-precision dtypes that :func:`half_as_float32` computes in float32.
HALF_DTYPES = (torch.float16, torch.bfloat16)

F = TypeVar("F", bound=Callable)


def check_audio(x: Tensor, name: str = "x") -> Tensor:
    """Check that ``x`` is a finite float tensor of shape ``(batch, channels, samples)`` holding
    at least one item, one channel and one sample."""
    if not isinstance(x, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape (batch, channels, samples), "
                         f"got {type(x).__name__}")
    if x.dim() != 3:
        raise ValueError(f"{name} must have shape (batch, channels, samples), "
                         f"got a tensor of rank {x.dim()} with shape {tuple(x.shape)}")
    if x.dtype not in AUDIO_DTYPES:
        raise ValueError(f"{name} must be float16, bfloat16, float32 or float64, got {x.dtype}")
    if x.numel() == 0:
        raise ValueError(f"{name} must hold at least one item, one channel and one sample, "
                         f"got shape {tuple(x.shape)}")
    # one reduction instead of an elementwise test: a sum of finite values is never NaN, so a
    # finite sum proves every sample finite; only an overflowing sum needs the full test
    if not bool(torch.isfinite(x.detach().sum())) and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or Inf values")
    return x



def check_controls(controls: object, num_controls: int, batch: int, samples: int,
                   per_sample: bool = True) -> None:
    """Check the knob values of an effect model: ``None`` when ``num_controls`` is 0, else a
    finite tensor of values in ``[0, 1]`` of shape ``(batch, num_controls)`` or (with
    ``per_sample``) ``(batch, num_controls, samples)``; a ``ValueError`` naming ``controls``
    otherwise."""
    if num_controls == 0:
        if controls is not None:
            shown = (f"a tensor of shape {tuple(controls.shape)}"
                     if isinstance(controls, Tensor) else type(controls).__name__)
            raise ValueError(f"controls must be None for a model without controls "
                             f"(num_controls=0), got {shown}")
        return
    shapes = [(batch, num_controls)]
    allowed = f"(batch={batch}, num_controls={num_controls})"
    if per_sample:
        shapes.append((batch, num_controls, samples))
        allowed += f" or (batch={batch}, num_controls={num_controls}, samples={samples})"
    if controls is None:
        raise ValueError(f"controls are required (num_controls={num_controls}): pass a tensor "
                         f"of shape {allowed}")
    check_tensor(controls, "controls", allowed)
    if tuple(controls.shape) not in shapes:
        raise ValueError(f"controls must have shape {allowed}, got {tuple(controls.shape)}")
    check_range(controls, "controls", 0.0, 1.0)


def check_audio_pair(first: Tensor, second: Tensor,
                     names: tuple[str, str] = ("estimate", "target")) -> None:
    """Check that both are audio (:func:`check_audio`) of the same shape; ``names`` name them in
    the error messages (the second is checked first)."""
    check_audio(second, names[1])
    check_audio(first, names[0])
    if first.shape != second.shape:
        raise ValueError(f"{names[0]} and {names[1]} must have the same shape, got "
                         f"{tuple(first.shape)} and {tuple(second.shape)}")

def check_network_input(x: Tensor, channels: int, dtype: torch.dtype) -> Tensor:
    """:func:`check_audio` for a network's input ``x``: also ``channels`` channels (the
    network's ``audio_channels``) and the network's parameter ``dtype``."""
    check_audio(x)
    if x.shape[1] != channels:
        raise ValueError(f"x must have shape (batch, audio_channels={channels}, samples), got "
                         f"{tuple(x.shape)}")
    if x.dtype != dtype:
        raise ValueError(f"x must have the model's dtype {dtype}, got {x.dtype}")
    return x


def half_as_float32(arg: str | F = "x") -> F | Callable[[F], F]:
    """Decorator: run ``fn`` in float32 when its tensor argument ``arg`` is float16 / bfloat16.

    Every float16 / bfloat16 tensor among the arguments is cast to float32 (differentiably),
    ``fn`` runs, and a tensor result is cast back to the dtype of ``arg``. Other dtypes pass
    through untouched. Use as ``@half_as_float32`` (the argument ``x``) or
    ``@half_as_float32("like")``.
    """
    if callable(arg):
        return half_as_float32("x")(arg)

    def decorate(fn: F) -> F:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError:
                return fn(*args, **kwargs)
            key = bound.arguments.get(arg)
            if not isinstance(key, Tensor) or key.dtype not in HALF_DTYPES:
                return fn(*args, **kwargs)
            for name, value in bound.arguments.items():
                if isinstance(value, Tensor) and value.dtype in HALF_DTYPES:
                    bound.arguments[name] = value.float()
            out = fn(*bound.args, **bound.kwargs)
            return out.to(key.dtype) if isinstance(out, Tensor) else out

        return wrapper  # type: ignore[return-value]

    return decorate


def check_number(value: object, name: str) -> float:
    """Check that ``value`` is a finite real number (not a bool, not a tensor); return a float."""
    return _number_or_raise(value, name, "a finite number")


def check_positive(value: float, name: str) -> float:
    """Check that ``value`` is a finite number ``> 0`` (not a bool, not a tensor)."""
    number = _number_or_raise(value, name, "a positive number")
    if number <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return number


def check_non_negative(value: float, name: str) -> float:
    """Check that ``value`` is a finite number ``>= 0`` (not a bool, not a tensor)."""
    number = _number_or_raise(value, name, "a number >= 0")
    if number < 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return number


def check_int(value: object, name: str, low: int | None = None,
              high: int | None = None) -> int:
    """Check that ``value`` is an integer (``3``, ``np.int64(3)`` or ``3.0``; not a bool, not a
    tensor) ``>= low`` and ``<= high``; return it as ``int``."""
    number = _number_or_raise(value, name, "an integer")
    if not number.is_integer():
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if (low is not None and number < low) or (high is not None and number > high):
        allowed = (f">= {low}" if high is None else f"<= {high}" if low is None
                   else f"in [{low}, {high}]")
        raise ValueError(f"{name} must be an integer {allowed}, got {value!r}")
    return int(value)


def check_in_interval(value: object, name: str, low: float, high: float,
                      unit: str = "") -> float:
    """Check that ``value`` is a finite number (not a bool, not a tensor) in ``[low, high]``;
    return it as a float."""
    shown = f"[{low:g}, {high:g}]" + (f" {unit}" if unit else "")
    number = _number_or_raise(value, name, f"a number in {shown}")
    if not low <= number <= high:
        raise ValueError(f"{name} must lie in {shown}, got {value!r}")
    return number


def check_seed(seed: object, name: str = "seed") -> int:
    """Check a random seed: an integer ``>= 0`` (what ``numpy.random.default_rng`` takes)."""
    if isinstance(seed, (bool, Tensor)) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= 0, got {_show(seed)}")
    if seed < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {seed!r}")
    return int(seed)


def check_integer_rate(sample_rate: object, name: str = "sample_rate") -> int:
    """A positive integer sample rate (``44100.0`` is accepted; ``44100.5`` and ``True`` are
    not)."""
    value = _number_or_raise(sample_rate, name, "a positive integer")
    if value <= 0 or not value.is_integer():
        raise ValueError(f"{name} must be a positive integer, got {sample_rate!r}")
    return int(value)


def check_sample_rate(sample_rate: float, name: str = "sample_rate") -> float:
    """Check that a sample rate is a finite positive number (not a bool) and return a float."""
    return check_positive(sample_rate, name)


def check_choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    """Check that ``value`` is one of the strings ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_bool(value: object, name: str) -> bool:
    """Check that ``value`` is ``True`` or ``False`` (a Python or numpy bool, not ``1`` or
    ``"yes"``); return it as ``bool``."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {_show(value)}")
    return bool(value)


def _number_or_raise(value: object, name: str, allowed: str) -> float:
    if isinstance(value, (bool, Tensor)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be {allowed}, got {_show(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return number


def _show(value: object) -> str:
    """``repr`` of a value for an error message; tensors by type and shape."""
    if isinstance(value, Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return repr(value)


def check_min_length(x: Tensor, minimum: int, name: str = "x", why: str = "") -> Tensor:
    """Check that audio ``x`` ``(batch, channels, samples)`` holds at least ``minimum`` samples;
    ``why`` (e.g. ``" (the MEE's valid convolutions)"``) ends the message's first clause."""
    if x.shape[-1] < minimum:
        raise ValueError(f"{name} must hold at least {minimum} samples{why}, "
                         f"got {x.shape[-1]} (shape {tuple(x.shape)})")
    return x


def check_batchnorm_batch(training: bool, batch: int, name: str) -> None:
    """A batch norm in training mode needs more than one value per channel: raise for a batch
    of one item (in eval mode, single items are fine)."""
    if training and batch < 2:
        raise ValueError(f"{name} must hold at least 2 items in training mode (batch norm), got "
                         f"batch size {batch}; call .eval() to process a single item")


def check_tensor(value: object, name: str, shape: str) -> Tensor:
    """Check that ``value`` is a finite real floating-point tensor (``shape`` is only used in the
    message)."""
    if not isinstance(value, Tensor):
        raise ValueError(f"{name} must be a tensor of shape {shape}, got {type(value).__name__}")
    if not value.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got {value.dtype}")
    if not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} contains NaN or Inf values")
    return value


def as_batched(value: ParamLike, batch: int, like: Tensor, name: str) -> Tensor:
    """Turn a number or a ``(batch,)`` / ``(1,)`` / 0-d tensor into a ``(batch,)`` tensor on
    ``like``'s device and dtype.

    Raises:
        ValueError: on a bool, a non-number, a non-real tensor, a wrong shape, a batch size
            other than 1 or ``batch``, or a value that is not finite (in ``like``'s dtype).
    """
    if isinstance(value, Tensor):
        if value.dtype == torch.bool or value.is_complex():
            raise ValueError(f"{name} must be a real number or tensor, got a {value.dtype} tensor")
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
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{name} must be a float or a tensor, got {value!r}")
        t = torch.full((batch,), float(value), device=like.device, dtype=like.dtype)
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or Inf values (in {like.dtype})")
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
