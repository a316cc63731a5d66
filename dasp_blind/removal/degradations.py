"""Degradations of clean audio for distortion removal (Imort et al., ISMIR 2022).

The paper writes a distorted signal as a wet / dry blend (its eq. 1)

    y = α·f(x) + (1 − α)·x,

with ``f`` a waveshaper applied to the amplified input ``x_γ = 10^(γ/20)·x`` whose output is
confined to ``[−θc, θc]`` (eq. 2), ``θc = 1``. Its three data sets:

* **CEG-OD** — the SoX ``overdrive`` (:func:`overdrive`), gain ``γ`` from five levels spread
  uniformly over ``[20, 50]`` dB (:data:`PAPER_GAIN_LEVELS_DB` = 20, 27.5, 35, 42.5, 50; the
  paper says "five uniformly sampled gain levels in the range γ ∈ [20, 50] dB", the demo page
  plays 20, 25, …, 50 dB), colour not stated (SoX's default 20 here). SoX mixes the dry signal
  in itself, so ``α = 1``.
* **CEG-HC** — hard clipping (:func:`hard_clip`, eq. 3) with gains from the same distribution.
* **SignalTrain-HC** — hard clipping at the threshold that gives an input SDR drawn uniformly
  from ``[1, 20]`` dB (:func:`clip_to_sdr`), tested on the grid :data:`EVAL_SDR_DB` =
  {1, 3, 5, 7, 10, 15, 20} dB (the declipping survey's grid).

Every function takes audio ``(batch, channels, samples)`` and per-item parameters as floats or
``(batch,)`` tensors, and raises :class:`ValueError` naming the argument on bad input.
:class:`Degradation` draws the settings per item from a ``torch.Generator`` (picklable, for
DataLoader workers).
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import Tensor

from .. import functional as F
from .._checks import (
    ParamLike,
    as_batched,
    check_audio,
    check_audio_pair,
    check_choice,
    check_in_interval,
    check_int,
    check_positive,
    check_range,
)
from ..functional.units import GAIN_DB_RANGE

#: Gain range (dB) of CEG-OD and CEG-HC.
PAPER_GAIN_DB = (20.0, 50.0)
#: The five gain levels (dB) of CEG-OD / CEG-HC, spread uniformly over :data:`PAPER_GAIN_DB`.
PAPER_GAIN_LEVELS_DB = (20.0, 27.5, 35.0, 42.5, 50.0)
#: Input-SDR range (dB) of SignalTrain-HC's training data.
PAPER_SDR_DB = (1.0, 20.0)
#: The evaluation grid of input SDRs (dB) of SignalTrain-HC and the declipping survey.
EVAL_SDR_DB = (1.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0)
#: The kinds of :class:`Degradation`.
KINDS = ("overdrive", "hard_clip", "clip_to_sdr", "tanh")
#: Gain range (dB) the SoX overdrive accepts.
OVERDRIVE_GAIN_DB = (0.0, 100.0)


def overdrive(x: Tensor, gain_db: ParamLike, colour: ParamLike = 20.0) -> Tensor:
    """The SoX ``overdrive`` effect (CEG-OD): :func:`~dasp_blind.functional.sox_overdrive`.

    A cubic soft clip of ``10^(gain_db/20)·x + colour/200``, a DC blocker, and the dry signal
    mixed back in (``0.5·x + 0.75·wet``), clamped to ``[−1, 1]``; 0 dB is a bypass.

    Args:
        x: clean audio ``(batch, channels, samples)`` in ``[−1, 1]``.
        gain_db: drive in dB, in ``[0, 100]`` (the paper: ``[20, 50]``), float or ``(batch,)``.
        colour: asymmetry in ``[0, 100]`` (SoX's default 20), float or ``(batch,)``.

    Returns:
        Overdriven audio ``(batch, channels, samples)``, same dtype and device as ``x``.
    """
    return F.sox_overdrive(x, gain_db, colour)


def hard_clip(x: Tensor, gain_db: ParamLike) -> Tensor:
    """Hard clipping of the amplified input (CEG-HC, the paper's eq. 2–3 with ``θc = 1``):
    ``y = clamp(10^(gain_db/20)·x, −1, 1)``.

    The output is **not** divided by the gain again: it stays at the clipper's full-scale level,
    as eq. 2 writes it (``f`` maps ``x_γ`` to ``[−θc, θc]``) and as a clipping stage does. It is
    therefore louder than ``x`` (by up to ``gain_db``), which is why the paper scores
    restorations with the scale-invariant SI-SDR; to compare with ``x`` at its own level, divide
    by the gain (below the threshold the two then coincide).

    Args:
        x: clean audio ``(batch, channels, samples)``.
        gain_db: input gain in dB, in ``[−120, 120]``, float or ``(batch,)``.

    Returns:
        Clipped audio ``(batch, channels, samples)`` in ``[−1, 1]``, same dtype and device.
    """
    return F.hard_clip(x, gain_db, 1.0)


def tanh_clip(x: Tensor, gain_db: ParamLike) -> Tensor:
    """Soft clipping of the amplified input (the paper's ``λ_tanh``):
    ``y = tanh(10^(gain_db/20)·x)``, in ``(−1, 1)``, not divided by the gain (as
    :func:`hard_clip`).

    Args:
        x: clean audio ``(batch, channels, samples)``.
        gain_db: input gain in dB, in ``[−120, 120]``, float or ``(batch,)``.

    Returns:
        Soft-clipped audio ``(batch, channels, samples)``, same dtype and device as ``x``.
    """
    return F.soft_clip(x, gain_db, 1.0)


def clip_to_sdr(x: Tensor, sdr_db: ParamLike) -> tuple[Tensor, Tensor]:
    """Symmetric hard clipping at the per-item threshold that gives the input SDR ``sdr_db``
    (SignalTrain-HC).

    ``SDR = 20·log10(‖x‖ / ‖x − clip(x, −θ, θ)‖)`` over all channels and samples of an item; it
    rises monotonically from 0 dB (``θ → 0``) to infinity (``θ = max|x|``), so ``θ`` is found by
    bisection in float64, vectorised over the batch
    (:func:`~dasp_blind.functional.clip_threshold_for_sdr`, 60 steps: float64 resolution, far
    inside 0.01 dB of the target). The output is not rescaled. Both outputs are differentiable
    w.r.t. ``x`` and ``sdr_db`` (the threshold by the implicit function theorem).

    A silent item (all zeros), whose SDR is undefined, comes back unchanged with threshold 0.

    Args:
        x: clean audio ``(batch, channels, samples)``.
        sdr_db: target SDR in dB, ``> 0`` (0 dB would need ``θ = 0``), float or ``(batch,)``.

    Returns:
        ``(clipped, threshold)``: audio ``(batch, channels, samples)`` and thresholds
        ``(batch,)``, both in the dtype and on the device of ``x``.
    """
    threshold = F.clip_threshold_for_sdr(x, sdr_db)
    theta = threshold.reshape(-1, 1, 1)
    return torch.minimum(torch.maximum(x, -theta), theta), threshold


def mix(clean: Tensor, degraded: Tensor, alpha: ParamLike) -> Tensor:
    """The paper's eq. 1, a wet / dry blend: ``y = α·degraded + (1 − α)·clean``.

    Args:
        clean: ``x``, audio ``(batch, channels, samples)``.
        degraded: ``f(x)``, the same shape.
        alpha: weight of the degraded (wet) signal in ``[0, 1]``, float or ``(batch,)``.

    Returns:
        The blend ``(batch, channels, samples)``.
    """
    check_audio_pair(degraded, clean, ("degraded", "clean"))
    a = check_range(as_batched(alpha, clean.shape[0], degraded, "alpha"), "alpha", 0.0, 1.0)
    a = a.reshape(-1, 1, 1)
    return a * degraded + (1.0 - a) * clean


def _check_interval(value: object, name: str, low: float, high: float,
                    low_inclusive: bool = True) -> tuple[float, float]:
    """A pair ``(lo, hi)`` of finite numbers with ``lo <= hi`` inside ``[low, high]``."""
    left = "[" if low_inclusive else "("
    allowed = f"a pair (low, high) with low <= high inside {left}{low:g}, {high:g}]"
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or not all(isinstance(v, numbers.Real) and not isinstance(v, bool)
                       and math.isfinite(v) for v in value)):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    lo, hi = float(value[0]), float(value[1])
    too_low = lo < low if low_inclusive else lo <= low
    if lo > hi or too_low or hi > high:
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return lo, hi


class Degradation:
    """A seeded sampler of degradations: draws settings per item and applies them.

    ``kind`` picks the degradation and the parameter it draws:

    * ``"overdrive"`` — :func:`overdrive` with ``gain_db`` (SoX's range ``[0, 100]``) and a
      fixed ``colour``;
    * ``"hard_clip"`` — :func:`hard_clip` with ``gain_db``;
    * ``"tanh"`` — :func:`tanh_clip` with ``gain_db``;
    * ``"clip_to_sdr"`` — :func:`clip_to_sdr` with ``sdr_db``.

    The parameter is drawn uniformly from its range, or, when ``levels`` is given, uniformly
    from those values (``levels=PAPER_GAIN_LEVELS_DB`` for CEG-OD / CEG-HC,
    ``levels=EVAL_SDR_DB`` for the SignalTrain-HC test grid); then ``α`` is drawn from
    ``alpha`` and the result is :func:`mix` ``(x, f(x), α)`` (``alpha=(1, 1)``, the default,
    gives ``f(x)`` exactly). The defaults are the paper's training distributions:
    ``gain_db=(20, 50)``, ``sdr_db=(1, 20)``.

    Draws come only from the ``generator`` passed to each call (two ``float64`` uniforms per
    item, or an index and a uniform with ``levels``), so equal generator states give equal
    settings. The sampler holds plain numbers only: it pickles, for DataLoader workers.

    Args:
        kind: one of :data:`KINDS`.
        gain_db: range ``(low, high)`` of the gain in dB (``overdrive``, ``hard_clip``,
            ``tanh``).
        sdr_db: range ``(low, high)`` of the target SDR in dB, ``low > 0`` (``clip_to_sdr``).
        levels: values to draw from instead of the range (gains, or SDRs for ``clip_to_sdr``).
        alpha: range ``(low, high)`` inside ``[0, 1]`` of the wet weight ``α``.
        colour: the overdrive's colour in ``[0, 100]``.

    Raises:
        ValueError: on an unknown ``kind``, a reversed or out-of-range interval, empty or
            out-of-range ``levels``.
    """

    def __init__(self, kind: str = "overdrive", gain_db: tuple[float, float] = PAPER_GAIN_DB,
                 sdr_db: tuple[float, float] = PAPER_SDR_DB,
                 levels: tuple[float, ...] | None = None,
                 alpha: tuple[float, float] = (1.0, 1.0), colour: float = 20.0):
        self.kind = check_choice(kind, "kind", KINDS)
        gain_range = OVERDRIVE_GAIN_DB if kind == "overdrive" else GAIN_DB_RANGE
        self.gain_db = _check_interval(gain_db, "gain_db", *gain_range)
        self.sdr_db = _check_interval(sdr_db, "sdr_db", 0.0, math.inf, low_inclusive=False)
        self.alpha = _check_interval(alpha, "alpha", 0.0, 1.0)
        self.colour = check_in_interval(colour, "colour", 0.0, 100.0)
        self.levels = None if levels is None else self._check_levels(levels)

    @property
    def parameter(self) -> str:
        """Name of the drawn parameter: ``"sdr_db"`` or ``"gain_db"``."""
        return "sdr_db" if self.kind == "clip_to_sdr" else "gain_db"

    def _check_levels(self, levels: object) -> tuple[float, ...]:
        if not isinstance(levels, (tuple, list)) or not levels:
            raise ValueError(f"levels must be None or a non-empty tuple of numbers, got "
                             f"{levels!r}")
        name = f"levels (values of {self.parameter})"
        if self.kind == "clip_to_sdr":
            return tuple(check_positive(v, name) for v in levels)
        low, high = OVERDRIVE_GAIN_DB if self.kind == "overdrive" else GAIN_DB_RANGE
        return tuple(check_in_interval(v, name, low, high, "dB") for v in levels)

    def sample(self, batch: int, generator: torch.Generator) -> dict[str, Tensor]:
        """Draw the settings of ``batch`` items: ``{parameter: (batch,), "alpha": (batch,)}``,
        float64 on the CPU."""
        batch = check_int(batch, "batch", low=1)
        if not isinstance(generator, torch.Generator) or generator.device.type != "cpu":
            shown = (f"one on {generator.device}" if isinstance(generator, torch.Generator)
                     else type(generator).__name__)
            raise ValueError(f"generator must be a CPU torch.Generator, got {shown}")
        if self.levels is None:
            lo, hi = self.sdr_db if self.kind == "clip_to_sdr" else self.gain_db
            u = torch.rand(batch, generator=generator, dtype=torch.float64)
            value = lo + (hi - lo) * u
        else:
            index = torch.randint(len(self.levels), (batch,), generator=generator)
            value = torch.tensor(self.levels, dtype=torch.float64)[index]
        u = torch.rand(batch, generator=generator, dtype=torch.float64)
        alpha = self.alpha[0] + (self.alpha[1] - self.alpha[0]) * u
        return {self.parameter: value, "alpha": alpha}

    def __call__(self, x: Tensor, generator: torch.Generator) -> tuple[Tensor, dict[str, Tensor]]:
        """Degrade a batch with settings drawn per item.

        Args:
            x: clean audio ``(batch, channels, samples)``.
            generator: the source of every random draw (a CPU ``torch.Generator``).

        Returns:
            ``(degraded, settings)``: audio ``(batch, channels, samples)`` like ``x``, and the
            drawn settings as ``(batch,)`` tensors in ``x``'s dtype on its device:
            ``"gain_db"`` or ``"sdr_db"`` and ``"threshold"`` (``clip_to_sdr``), and
            ``"alpha"``.
        """
        check_audio(x)
        drawn = self.sample(x.shape[0], generator)
        settings = {name: value.to(device=x.device, dtype=x.dtype)
                    for name, value in drawn.items()}
        if self.kind == "clip_to_sdr":
            wet, settings["threshold"] = clip_to_sdr(x, drawn["sdr_db"].to(x.device))
        elif self.kind == "overdrive":
            wet = overdrive(x, drawn["gain_db"].to(x.device), self.colour)
        elif self.kind == "hard_clip":
            wet = hard_clip(x, drawn["gain_db"].to(x.device))
        else:
            wet = tanh_clip(x, drawn["gain_db"].to(x.device))
        return mix(x, wet, settings["alpha"]), settings

    def __repr__(self) -> str:
        what = (f"levels={self.levels}" if self.levels is not None else
                f"{self.parameter}={self.sdr_db if self.kind == 'clip_to_sdr' else self.gain_db}")
        return f"Degradation(kind={self.kind!r}, {what}, alpha={self.alpha})"


__all__ = ["EVAL_SDR_DB", "KINDS", "PAPER_GAIN_DB", "PAPER_GAIN_LEVELS_DB", "PAPER_SDR_DB",
           "Degradation", "clip_to_sdr", "hard_clip", "mix", "overdrive", "tanh_clip"]
