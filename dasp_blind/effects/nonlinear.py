"""Distortion effects: the BE-AFX clippers and waveshapers, hard / soft clipping, SoX overdrive.

Each effect wraps a function of :mod:`dasp_blind.functional.nonlinear`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .._checks import check_positive
from ..functional.nonlinear import (
    chebyshev,
    hard_clip,
    parametric_clipper,
    soft_clip,
    sox_overdrive,
    taylor,
)
from ..params import ParamSpace, ParamSpec
from .base import Effect

NUM_HARMONICS = 24


def _remove_dc(x: Tensor) -> Tensor:
    """Subtract the mean over time of every item and channel."""
    return x - x.mean(dim=-1, keepdim=True)


class ParametricClipper(Effect):
    """BE-AFX parametric clipper ``dist`` (3 controls), see
    :func:`~dasp_blind.functional.parametric_clipper`.

    **More drive makes the output quieter.** Each shape is divided by the drive gain
    ``g = 10^(drive_db/20)``, ``(f(g·x + o) − f(o)) / g``: small signals pass at unit gain, but
    the output saturates at about ``±1/g``, so a full-scale input driven by 9 dB comes out about
    9 dB quieter (a 0 dBFS sine peaks at −9.0 dBFS at ``drive_db=9`` and −20.0 dBFS at 20, with
    ``offset=0``; measured in ``docs/effects/nonlinear.md``). Add a ``Gain`` after it, or use
    ``Chain(normalize="peak")``, which peak-normalises before the next effect, to restore the
    level.

    Controls (all linear): ``drive_db`` in ``[−10, 20]`` dB (default 0), ``offset`` in ``[0, 1]``
    (default 0), ``hardness`` in ``[0, 2]`` (0 tanh, 1 cubic, 2 hard clip; default 1). The
    reference feeds it DC-free, peak-normalised audio (``Chain(normalize="peak")``).

    Args:
        sample_rate: sample rate in Hz (unused by the clipper itself).
    """

    def __init__(self, sample_rate: float = 44100.0):
        super().__init__(sample_rate)
        self.param_space = ParamSpace([
            ParamSpec("drive_db", -10.0, 20.0, "lin", "dB", 0.0),
            ParamSpec("offset", 0.0, 1.0, "lin", "", 0.0),
            ParamSpec("hardness", 0.0, 2.0, "lin", "", 1.0),
        ])

    def process_validated(self, x: Tensor, params: dict[str, Tensor]) -> Tensor:
        return parametric_clipper(x, params["drive_db"], params["offset"], params["hardness"])


class _PolynomialShaper(Effect):
    """24 linear controls ``c<first>`` … in ``[−1, 1]`` (default: ``c1 = 1``, the identity)
    feeding a polynomial waveshaper applied to the DC-free input, clamped to the shaper's domain
    ``[−1, 1]``."""

    shaper: Callable[[Tensor, Tensor], Tensor]
    first_power: int

    def __init__(self, sample_rate: float = 44100.0):
        super().__init__(sample_rate)
        powers = range(self.first_power, self.first_power + NUM_HARMONICS)
        self.param_space = ParamSpace(
            ParamSpec(f"c{k}", -1.0, 1.0, "lin", "", 1.0 if k == 1 else 0.0) for k in powers)

    def process_validated(self, x: Tensor, params: dict[str, Tensor]) -> Tensor:
        coeffs = torch.stack([params[name] for name in self.param_space.names], dim=1)
        return type(self).shaper(_remove_dc(x), coeffs)


class TaylorClipper(_PolynomialShaper):
    """BE-AFX ``taylor`` waveshaper: ``y = Σ_{k=1..24} c_k·x^k`` (24 controls ``c1`` … ``c24``).

    Each coefficient is linear in ``[−1, 1]``; the defaults (``c1 = 1``, the others 0) make the
    effect the identity on zero-mean audio within ``[−1, 1]``. As in the reference, the mean over
    time of every item and channel is removed from the input before the polynomial (so a constant
    input gives 0). The DC-free input is then clamped to ``[−1, 1]``, the domain of
    :func:`~dasp_blind.functional.taylor`: louder samples are hard-clipped at ±1 instead of
    overflowing (``x^24`` is ``inf`` in float32 from ``|x| ≈ 40``). Feed it peak-normalised audio
    (``Chain(normalize="peak")``) for the reference behaviour.

    Args:
        sample_rate: sample rate in Hz (unused by the waveshaper itself).
    """

    shaper = taylor
    first_power = 1


class ChebyshevClipper(_PolynomialShaper):
    """BE-AFX ``chebyshev`` waveshaper: ``y = Σ_{k=0..23} c_k·T_k(x)`` (24 controls ``c0`` …
    ``c23``).

    Each coefficient is linear in ``[−1, 1]``; the defaults (``c1 = 1``, the others 0) make the
    effect the identity on zero-mean audio. ``c0`` multiplies ``T_0 = 1`` and adds a constant, as
    in the reference. The mean over time of every item and channel is removed from the input
    before the polynomial, and the DC-free input is clamped to ``[−1, 1]``, the domain of
    :func:`~dasp_blind.functional.chebyshev` (outside it ``T_k`` grows like ``(2x)^k``).

    Args:
        sample_rate: sample rate in Hz (unused by the waveshaper itself).
    """

    shaper = chebyshev
    first_power = 0


class _GainClipper(Effect):
    """Gain then a clipper at ``±threshold`` with one control, ``gain_db``."""

    clip_fn: Callable[[Tensor, Tensor, float], Tensor]
    gain_range_db: tuple[float, float]
    default_gain_db: float

    def __init__(self, sample_rate: float = 44100.0, threshold: float = 1.0):
        super().__init__(sample_rate)
        self.threshold = check_positive(threshold, "threshold")
        self.param_space = ParamSpace([ParamSpec("gain_db", *self.gain_range_db, "lin", "dB",
                                                 self.default_gain_db)])

    def process_validated(self, x: Tensor, params: dict[str, Tensor]) -> Tensor:
        return type(self).clip_fn(x, params["gain_db"], self.threshold)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", threshold={self.threshold:g}"


class HardClip(_GainClipper):
    """Gain then hard clipping at ``±threshold``, see :func:`~dasp_blind.functional.hard_clip`.

    Control: ``gain_db`` linear in ``[0, 50]`` dB (default 20).

    Args:
        sample_rate: sample rate in Hz (unused by the clipper itself).
        threshold: clipping level (linear, ``> 0``).
    """

    clip_fn = hard_clip
    gain_range_db = (0.0, 50.0)
    default_gain_db = 20.0


class SoftClip(_GainClipper):
    """Gain then ``tanh`` soft clipping, see :func:`~dasp_blind.functional.soft_clip`.

    Control: ``gain_db`` linear in ``[0, 40]`` dB (default 12).

    Args:
        sample_rate: sample rate in Hz (unused by the clipper itself).
        threshold: saturation level of the output (linear, ``> 0``).
    """

    clip_fn = soft_clip
    gain_range_db = (0.0, 40.0)
    default_gain_db = 12.0


class SoxOverdrive(Effect):
    """The ``sox`` program's ``overdrive``, see :func:`~dasp_blind.functional.sox_overdrive`.

    Controls (linear): ``gain_db`` in ``[0, 60]`` dB (default 20) and ``colour`` in ``[0, 100]``
    (default 20). As in SoX, ``gain_db = 0`` exactly (``q = 0``) bypasses the effect.

    Args:
        sample_rate: sample rate in Hz (SoX's DC blocker has a fixed pole, whatever the rate).
    """

    def __init__(self, sample_rate: float = 44100.0):
        super().__init__(sample_rate)
        self.param_space = ParamSpace([
            ParamSpec("gain_db", 0.0, 60.0, "lin", "dB", 20.0),
            ParamSpec("colour", 0.0, 100.0, "lin", "", 20.0),
        ])

    def process_validated(self, x: Tensor, params: dict[str, Tensor]) -> Tensor:
        return sox_overdrive(x, params["gain_db"], params["colour"])


__all__ = [
    "ChebyshevClipper",
    "HardClip",
    "ParametricClipper",
    "SoftClip",
    "SoxOverdrive",
    "TaylorClipper",
]
