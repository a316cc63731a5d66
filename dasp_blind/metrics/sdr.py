"""Signal-to-distortion ratios in dB, reduced over the last (time) axis."""

from __future__ import annotations

import torch
from torch import Tensor


def _check_pair(estimate: Tensor, target: Tensor) -> None:
    for value, name in ((target, "target"), (estimate, "estimate")):
        if not isinstance(value, Tensor) or not value.is_floating_point():
            raise ValueError(f"{name} must be a floating-point tensor, got {type(value).__name__}"
                             + (f" of {value.dtype}" if isinstance(value, Tensor) else ""))
        if value.ndim == 0 or value.shape[-1] == 0:
            raise ValueError(f"{name} must have a non-empty last (time) axis, got shape "
                             f"{tuple(value.shape)}")
    if estimate.shape != target.shape:
        raise ValueError(f"estimate and target must have the same shape, got "
                         f"{tuple(estimate.shape)} and {tuple(target.shape)}")


def _ratio_db(signal_energy: Tensor, noise_energy: Tensor) -> Tensor:
    """``10·log10`` of the energy ratio, each energy floored at the dtype's eps (silence and a
    perfect estimate stay finite)."""
    eps = torch.finfo(signal_energy.dtype).eps
    return 10 * torch.log10((signal_energy + eps) / (noise_energy + eps))


def sdr(estimate: Tensor, target: Tensor) -> Tensor:
    """Signal-to-distortion ratio ``10·log10(‖s‖² / ‖s − ŝ‖²)`` in dB (the declipping survey's
    ``sdr.m`` and the paper's input-SDR grid).

    Args:
        estimate: ``ŝ``, audio ``(..., samples)``.
        target: the clean ``s``, the same shape.

    Returns:
        ``(...)``: one ratio per row of the last axis (per channel of ``(batch, channels,
        samples)`` audio; average them for one number per item). Energies are floored at the
        dtype's eps, so silence and a perfect estimate give finite values.
    """
    _check_pair(estimate, target)
    return _ratio_db(target.square().sum(-1), (target - estimate).square().sum(-1))


def si_sdr(estimate: Tensor, target: Tensor, zero_mean: bool = False) -> Tensor:
    """Scale-invariant SDR (Le Roux et al., 2019) in dB: with ``α = ⟨ŝ, s⟩ / ‖s‖²``,
    ``10·log10(‖α s‖² / ‖α s − ŝ‖²)`` — a gain on the estimate does not change it.

    Args:
        estimate: ``ŝ``, audio ``(..., samples)``.
        target: the clean ``s``, the same shape.
        zero_mean: remove each row's mean from both first (torchmetrics' option).

    Returns:
        ``(...)``, one ratio per row of the last axis, finite for silence.
    """
    _check_pair(estimate, target)
    if zero_mean:
        estimate = estimate - estimate.mean(-1, keepdim=True)
        target = target - target.mean(-1, keepdim=True)
    eps = torch.finfo(target.dtype).eps
    alpha = ((estimate * target).sum(-1, keepdim=True) + eps) / (
        target.square().sum(-1, keepdim=True) + eps)
    scaled = alpha * target
    return _ratio_db(scaled.square().sum(-1), (scaled - estimate).square().sum(-1))


__all__ = ["sdr", "si_sdr"]
