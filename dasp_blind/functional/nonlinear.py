"""Memoryless nonlinearities (clippers, polynomial waveshapers) and the SoX ``overdrive``.

Every function takes audio of shape ``(batch, channels, samples)`` (float32 or float64, any
device; float16 / bfloat16 are computed in float32 and returned in their dtype) and parameters
that are floats or ``(batch,)`` tensors, and is differentiable w.r.t. the audio and every
continuous parameter. Outputs keep the shape, dtype and device of the input.

* :func:`hard_clip`, :func:`soft_clip` — gain followed by a hard / ``tanh`` clipper.
* :func:`clip_to_sdr`, :func:`clip_threshold_for_sdr` — hard clipping whose threshold is chosen
  so that the clipped signal has a given signal-to-distortion ratio (as ``clip_sdr.m`` of the
  declipping toolbox of Záviška et al.).
* :func:`parametric_clipper` — the BE-AFX ``dist`` clipper: tanh / cubic / hard shapes blended by
  a continuous ``hardness``, with drive and offset compensation.
* :func:`taylor`, :func:`chebyshev` — polynomial waveshapers (power and Chebyshev bases) on
  the domain ``[−1, 1]`` (the input is clamped to it).
* :func:`sox_overdrive` — a differentiable re-implementation of the ``sox`` program's
  ``overdrive`` effect (cubic soft clip with a colour offset, DC blocker, dry mix).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .._checks import ParamLike, as_batched, check_audio, check_int, check_range, half_as_float32
from .filters import sosfilt
from .units import GAIN_DB_RANGE, _db_to_gain

_EPS = 1e-12
# Energies are compared in float64, where this is far below any audible level.
_ENERGY_EPS = 1e-30
_DB_PER_NEPER_ENERGY = 10.0 / math.log(10.0)

SOX_DC_BLOCKER_POLE = 0.995


def _col(p: Tensor) -> Tensor:
    """``(batch,)`` -> ``(batch, 1, 1)`` so that it broadcasts against audio."""
    return p.reshape(-1, 1, 1)


#: Domain of the polynomial waveshapers: :func:`taylor` and :func:`chebyshev` clamp their input
#: to ``[−SHAPER_DOMAIN, SHAPER_DOMAIN]``.
SHAPER_DOMAIN = 1.0


# --- hard / soft clipping --------------------------------------------------------------------

def _gain_and_threshold(x: Tensor, gain_db: ParamLike,
                        threshold: ParamLike) -> tuple[Tensor, Tensor]:
    """Checked linear gain and threshold, each ``(batch, 1, 1)``."""
    check_audio(x)
    batch = x.shape[0]
    gain = _col(_db_to_gain(check_range(as_batched(gain_db, batch, x, "gain_db"), "gain_db",
                                        *GAIN_DB_RANGE)))
    theta = _col(check_range(as_batched(threshold, batch, x, "threshold"), "threshold", 0.0,
                             low_inclusive=False))
    return gain, theta


@half_as_float32
def hard_clip(x: Tensor, gain_db: ParamLike, threshold: ParamLike = 1.0) -> Tensor:
    """Gain followed by a hard clipper: ``y = clamp(10^(gain_db/20)·x, −threshold, threshold)``.

    The gradient w.r.t. ``threshold`` flows through the clipped samples, the gradient w.r.t.
    ``x`` and ``gain_db`` through the others.

    Args:
        x: audio ``(batch, channels, samples)``.
        gain_db: input gain in dB, in ``[−120, 120]``, float or ``(batch,)``.
        threshold: clipping level (linear, ``> 0``), float or ``(batch,)``.

    Returns:
        Clipped audio ``(batch, channels, samples)``, same dtype and device as ``x``.
    """
    gain, theta = _gain_and_threshold(x, gain_db, threshold)
    return torch.minimum(torch.maximum(gain * x, -theta), theta)


@half_as_float32
def soft_clip(x: Tensor, gain_db: ParamLike, threshold: ParamLike = 1.0) -> Tensor:
    """Gain followed by a ``tanh`` soft clipper: ``y = threshold·tanh(g·x / threshold)``.

    ``g = 10^(gain_db/20)``. Small signals are amplified by ``g``; the output never exceeds
    ``threshold`` in magnitude.

    Args:
        x: audio ``(batch, channels, samples)``.
        gain_db: input gain in dB, in ``[−120, 120]``, float or ``(batch,)``.
        threshold: output saturation level (linear, ``> 0``), float or ``(batch,)``.

    Returns:
        Clipped audio ``(batch, channels, samples)``, same dtype and device as ``x``.
    """
    gain, theta = _gain_and_threshold(x, gain_db, threshold)
    return theta * torch.tanh(gain * x / (theta + _EPS))


# --- clipping to a target SDR ----------------------------------------------------------------

def _clip_error_energy(magnitude: Tensor, theta: Tensor) -> Tensor:
    """``‖x − clip(x, −θ, θ)‖²`` per item, from ``|x|`` ``(batch, n)`` and ``θ`` ``(batch,)``."""
    return torch.relu(magnitude - theta.unsqueeze(1)).square().sum(dim=1)


@half_as_float32
def clip_threshold_for_sdr(x: Tensor, sdr_db: ParamLike, max_iter: int = 60) -> Tensor:
    """Clipping threshold ``θ`` per item such that hard clipping at ``±θ`` gives SDR ``sdr_db``.

    ``SDR = 20·log10(‖x‖ / ‖x − clip(x, −θ, θ)‖)`` over all channels and samples of an item. It
    grows monotonically from 0 dB (``θ → 0``) to infinity (``θ = max|x|``), so ``θ`` is found by
    bisection on ``(0, max|x|]``, vectorised over the batch and run in float64; 60 iterations
    (the default) reach float64 resolution, far inside 0.01 dB of the target.

    The returned threshold is differentiable w.r.t. ``x`` and ``sdr_db`` by the implicit function
    theorem (``dθ = −(∂F/∂x·dx − ds) / ∂F/∂θ`` with ``F(θ, x) = SDR``), not through the bisection.

    Args:
        x: audio ``(batch, channels, samples)``.
        sdr_db: target SDR in dB (``> 0``), float or ``(batch,)``.
        max_iter: number of bisection steps (``>= 1``).

    Returns:
        Thresholds ``(batch,)``, same dtype and device as ``x``; 0 for silent items.
    """
    check_audio(x)
    max_iter = check_int(max_iter, "max_iter", low=1)
    batch = x.shape[0]
    target = check_range(as_batched(sdr_db, batch, x, "sdr_db"), "sdr_db", 0.0,
                         low_inclusive=False)
    xd = x.reshape(batch, -1).double()
    target_d = target.double()

    with torch.no_grad():
        magnitude = xd.abs()
        energy = magnitude.square().sum(dim=1)
        allowed = energy * _db_to_gain(-target_d) ** 2  # ‖e‖² at the target SDR
        lo = torch.zeros_like(energy)
        hi = magnitude.amax(dim=1)
        for _ in range(max_iter):
            mid = 0.5 * (lo + hi)
            too_much = _clip_error_energy(magnitude, mid) > allowed  # SDR too low: raise θ
            lo = torch.where(too_much, mid, lo)
            hi = torch.where(too_much, hi, mid)
        theta0 = 0.5 * (lo + hi)

    # Implicit gradient: θ = θ0 − (F − F.detach()) / ∂F/∂θ, whose value is exactly θ0.
    magnitude = xd.abs()
    energy = magnitude.square().sum(dim=1)
    excess = torch.relu(magnitude - theta0.unsqueeze(1))
    error = excess.square().sum(dim=1)
    sdr = _DB_PER_NEPER_ENERGY * (torch.log(energy + _ENERGY_EPS) - torch.log(error + _ENERGY_EPS))
    residual = sdr - target_d
    with torch.no_grad():
        slope = 2.0 * _DB_PER_NEPER_ENERGY * excess.sum(dim=1) / (error + _ENERGY_EPS)
        silent = energy <= 0
        slope = torch.where(silent | (slope <= 0), torch.ones_like(slope), slope)
    theta = theta0 - (residual - residual.detach()) / slope
    theta = torch.where(silent, torch.zeros_like(theta), theta)
    return theta.to(x.dtype)


@half_as_float32
def clip_to_sdr(x: Tensor, sdr_db: ParamLike, max_iter: int = 60) -> Tensor:
    """Hard-clip each item at the threshold that gives it the target SDR.

    See :func:`clip_threshold_for_sdr` for the threshold search and its gradient. Silent items
    (all zeros, where the SDR is undefined) are returned unchanged.

    Args:
        x: audio ``(batch, channels, samples)``.
        sdr_db: target SDR in dB (``> 0``), float or ``(batch,)``.
        max_iter: number of bisection steps (``>= 1``).

    Returns:
        Clipped audio ``(batch, channels, samples)``, same dtype and device as ``x``.
    """
    theta = _col(clip_threshold_for_sdr(x, sdr_db, max_iter))
    return torch.minimum(torch.maximum(x, -theta), theta)


# --- BE-AFX parametric clipper ---------------------------------------------------------------

def _cubic_shape(u: Tensor) -> Tensor:
    """``u − (4/27)·u³`` for ``|u| < 1.5``, else ``sign(u)`` (C1 at ``|u| = 1.5``)."""
    return torch.where(u.abs() < 1.5, u - (4.0 / 27.0) * u * u * u, torch.sign(u))


def _hard_shape(u: Tensor) -> Tensor:
    return u.clamp(-1.0, 1.0)


@half_as_float32
def parametric_clipper(x: Tensor, drive_db: ParamLike, offset: ParamLike,
                       hardness: ParamLike) -> Tensor:
    """BE-AFX parametric clipper (``HardnessDist``): three shapes blended by ``hardness``.

    With ``g = 10^(drive_db/20)`` and ``o = offset``, each shape ``f`` is applied drive- and
    offset-compensated, ``f̃(x) = (f(g·x + o) − f(o)) / g``, so that ``f̃(0) = 0`` and small
    signals pass with unit slope at ``o = 0``. The shapes are ``tanh``; the cubic
    ``u − (4/27)·u³`` for ``|u| < 1.5``, else ``sign(u)``; and the hard clip ``clamp(u, −1, 1)``.
    They are blended as ``(1−h)·tanh + h·cubic`` for ``h < 1`` and
    ``(2−h)·cubic + (h−1)·hard`` for ``h >= 1``; ``h = 0, 1, 2`` give the pure shapes.

    Args:
        x: audio ``(batch, channels, samples)``.
        drive_db: drive in dB, in ``[−120, 120]`` (the effect uses ``[−10, 20]``), float or
            ``(batch,)``.
        offset: offset added before the shape, in ``[0, 1]``, float or ``(batch,)``.
        hardness: shape blend in ``[0, 2]``, float or ``(batch,)``.

    Returns:
        Distorted audio ``(batch, channels, samples)``, same dtype and device as ``x``.
    """
    check_audio(x)
    batch = x.shape[0]
    drive = _col(check_range(as_batched(drive_db, batch, x, "drive_db"), "drive_db",
                             *GAIN_DB_RANGE))
    gain, inv_gain = _db_to_gain(drive), _db_to_gain(-drive)  # no division by the gain
    o = _col(check_range(as_batched(offset, batch, x, "offset"), "offset", 0.0, 1.0))
    h = _col(check_range(as_batched(hardness, batch, x, "hardness"), "hardness", 0.0, 2.0))
    u = gain * x + o
    soft = (torch.tanh(u) - torch.tanh(o)) * inv_gain
    cubic = (_cubic_shape(u) - _cubic_shape(o)) * inv_gain
    hard = (_hard_shape(u) - _hard_shape(o)) * inv_gain
    lower = (1.0 - h) * soft + h * cubic
    upper = (2.0 - h) * cubic + (h - 1.0) * hard
    return torch.where(h < 1.0, lower, upper)


# --- polynomial waveshapers ------------------------------------------------------------------

def _check_coeffs(coeffs: Tensor, x: Tensor, name: str = "coeffs") -> Tensor:
    if not isinstance(coeffs, Tensor) or coeffs.dim() != 2 or coeffs.shape[1] < 1:
        shape = tuple(coeffs.shape) if isinstance(coeffs, Tensor) else type(coeffs).__name__
        raise ValueError(f"{name} must be a tensor of shape (batch, K) with K >= 1, got {shape}")
    if coeffs.shape[0] not in (1, x.shape[0]):
        raise ValueError(f"{name} has batch size {coeffs.shape[0]} but the audio has batch size "
                         f"{x.shape[0]}")
    if not coeffs.is_floating_point():
        raise ValueError(f"{name} must hold finite floating-point values, got {coeffs.dtype}")
    c = coeffs.to(device=x.device, dtype=x.dtype)
    if not bool(torch.isfinite(c).all()):
        raise ValueError(f"{name} must hold finite floating-point values, got NaN or Inf "
                         f"(in {x.dtype})")
    return c.expand(x.shape[0], -1)


@half_as_float32
def taylor(x: Tensor, coeffs: Tensor) -> Tensor:
    """Power-series waveshaper ``y = Σ_{k=1..K} c_k·x^k`` (no constant term), by Horner's rule.

    Domain: ``[−1, 1]``. The input is clamped to it first (a hard clip at ±1, whose gradient is
    0 outside), so the output stays finite and ``|y| <= Σ|c_k|`` whatever the input level:
    unclamped, ``x^24`` overflows float32 from ``|x| ≈ 40``. Feed peak-normalised audio (as
    ``Chain(normalize="peak")`` does) for the reference behaviour.

    Args:
        x: audio ``(batch, channels, samples)``.
        coeffs: ``(batch, K)`` (or ``(1, K)``, broadcast); column ``k−1`` holds ``c_k``.

    Returns:
        Shaped audio ``(batch, channels, samples)``, same dtype and device as ``x``.
    """
    check_audio(x)
    c = _check_coeffs(coeffs, x)
    x = x.clamp(-SHAPER_DOMAIN, SHAPER_DOMAIN)
    acc = _col(c[:, -1]).expand_as(x)
    for k in range(c.shape[1] - 2, -1, -1):
        acc = _col(c[:, k]) + x * acc
    return x * acc


@half_as_float32
def chebyshev(x: Tensor, coeffs: Tensor) -> Tensor:
    """Chebyshev-series waveshaper ``y = Σ_{k=0..K−1} c_k·T_k(x)`` (Clenshaw's recurrence).

    ``T_0 = 1``, ``T_1 = x``, ``T_k = 2x·T_{k−1} − T_{k−2}``; for ``|x| <= 1``,
    ``T_k(cos φ) = cos(kφ)``, so ``c_k`` sets the level of the ``k``-th harmonic of a full-scale
    sinusoid. The sum includes the constant ``c_0``.

    Domain: ``[−1, 1]``, where ``|T_k| <= 1``; outside it ``T_k`` grows like ``(2x)^k``. The input
    is clamped to ``[−1, 1]`` first (a hard clip at ±1, whose gradient is 0 outside), so the
    output stays finite and ``|y| <= Σ|c_k|`` whatever the input level.

    Args:
        x: audio ``(batch, channels, samples)``.
        coeffs: ``(batch, K)`` (or ``(1, K)``, broadcast); column ``k`` holds ``c_k``.

    Returns:
        Shaped audio ``(batch, channels, samples)``, same dtype and device as ``x``.
    """
    check_audio(x)
    c = _check_coeffs(coeffs, x)
    x = x.clamp(-SHAPER_DOMAIN, SHAPER_DOMAIN)
    b1 = torch.zeros_like(x)
    b2 = torch.zeros_like(x)
    two_x = 2.0 * x
    for k in range(c.shape[1] - 1, 0, -1):
        b1, b2 = _col(c[:, k]) + two_x * b1 - b2, b1
    return _col(c[:, 0]) + x * b1 - b2


# --- SoX overdrive ---------------------------------------------------------------------------

@half_as_float32
def sox_overdrive(x: Tensor, gain_db: ParamLike = 20.0, colour: ParamLike = 20.0) -> Tensor:
    """The ``sox`` program's ``overdrive`` effect (SoX 14.4 ``overdrive.c``), differentiable.

    Per channel, with ``g = 10^(gain_db/20)`` and ``c = colour/200``:

    1. ``d = g·x + c``;
    2. cubic soft clip ``f = −2/3`` for ``d < −1``, ``2/3`` for ``d > 1``, else ``d − d³/3``;
    3. DC blocker with zero initial state, ``out[n] = f[n] − f[n−1] + 0.995·out[n−1]``, run by
       :func:`~dasp_blind.functional.sosfilt` (exact recursion, reverse-time backward);
    4. ``y = 0.5·x + 0.75·out`` (the dry signal is always mixed in);
    5. ``y`` is clamped to ``[−1, 1]`` (SoX saturates its output samples).

    Like SoX, items whose ``gain_db`` is exactly 0 are bypassed: the output equals the input
    (and is not clamped). Audio is expected in ``[−1, 1]`` as SoX reads it.

    Args:
        x: audio ``(batch, channels, samples)``.
        gain_db: drive in dB, in ``[0, 100]``, float or ``(batch,)``.
        colour: asymmetry (even-harmonic content), in ``[0, 100]``, float or ``(batch,)``.

    Returns:
        Overdriven audio ``(batch, channels, samples)``, same dtype and device as ``x``.
    """
    check_audio(x)
    batch = x.shape[0]
    gain_db_t = check_range(as_batched(gain_db, batch, x, "gain_db"), "gain_db", 0.0, 100.0)
    colour_t = check_range(as_batched(colour, batch, x, "colour"), "colour", 0.0, 100.0)
    d = _col(_db_to_gain(gain_db_t)) * x + _col(colour_t) / 200.0
    shaped = torch.where(d < -1.0, torch.full_like(d, -2.0 / 3.0),
                         torch.where(d > 1.0, torch.full_like(d, 2.0 / 3.0), d - d * d * d / 3.0))
    sos = torch.tensor([[[1.0, -1.0, 0.0, 1.0, -SOX_DC_BLOCKER_POLE, 0.0]]],
                       dtype=torch.float64, device=x.device)
    blocked = sosfilt(shaped, sos)
    y = (0.5 * x + 0.75 * blocked).clamp(-1.0, 1.0)
    return torch.where(_col(gain_db_t) == 0, x, y)


__all__ = [
    "SHAPER_DOMAIN",
    "chebyshev",
    "clip_threshold_for_sdr",
    "clip_to_sdr",
    "hard_clip",
    "parametric_clipper",
    "sox_overdrive",
    "soft_clip",
    "taylor",
]
