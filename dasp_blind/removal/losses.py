"""Training losses of the distortion-removal networks."""

from __future__ import annotations

from torch import Tensor

from .._checks import check_choice
from ..metrics import sdr, si_sdr

#: The losses :func:`removal_loss` knows.
LOSSES = ("sdr", "si_sdr", "l1")


def _items(x: Tensor) -> Tensor:
    """``(batch, channels, samples)`` → ``(batch, channels·samples)``: one sequence per item."""
    return x.reshape(x.shape[0], -1)


def removal_loss(estimate: Tensor, target: Tensor, loss: str = "sdr") -> Tensor:
    """A scalar loss between estimates and targets ``(batch, channels, samples)``.

    * ``"sdr"`` — Imort et al.'s eq. 5 negated: ``−(1/N)·Σ_i 10·log10(‖x_i‖² / ‖x_i − x̂_i‖²)``
      over each item's whole sequence (all channels), energies floored at the dtype's eps
      (:func:`~dasp_blind.metrics.sdr`), in dB;
    * ``"si_sdr"`` — minus the batch mean of the SI-SDR (:func:`~dasp_blind.metrics.si_sdr`);
    * ``"l1"`` — the mean absolute error.

    Args:
        estimate: ``x̂``.
        target: ``x``, the same shape.
        loss: one of :data:`LOSSES`.
    """
    check_choice(loss, "loss", LOSSES)
    if estimate.shape != target.shape:
        raise ValueError(f"estimate and target must have the same shape, got "
                         f"{tuple(estimate.shape)} and {tuple(target.shape)}")
    if loss == "l1":
        return (estimate - target).abs().mean()
    metric = sdr if loss == "sdr" else si_sdr
    return -metric(_items(estimate), _items(target)).mean()


__all__ = ["LOSSES", "removal_loss"]
