"""Gradient refinement of estimated controls when the dry signal is known."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial

import torch
from torch import Tensor

from .._checks import check_audio, check_int, check_positive
from ..effects.base import Effect
from .losses import mel_loss_per_item

#: Controls are kept this far inside ``(0, 1)`` so that their logits stay finite.
Q_MARGIN = 1e-4


def refine(analysis: Effect, dry: Tensor, wet: Tensor, q_init: Tensor, steps: int = 100,
           lr: float = 0.05, loss: Callable[[Tensor, Tensor], Tensor] | None = None,
           patience: int = 20, min_improvement: float = 1e-4,
           progress: bool = False) -> Tensor:
    """Refine controls by gradient descent through the differentiable effect.

    Minimises ``loss(analysis(dry, q), wet)`` over ``q``, starting from ``q_init`` (typically
    an encoder's estimate). ``q`` stays in ``(0, 1)`` because the optimiser (Adam) works on its
    logits, ``q = sigmoid(z)``. Each item of the batch is refined on its own loss (the batch's
    losses are summed, so items do not share a step size). Stops after ``steps`` steps, or
    earlier when the total loss has not fallen by a relative ``min_improvement`` for
    ``patience`` steps; returns the controls of the lowest loss seen per item.

    Args:
        analysis: the effect (or chain) that renders audio from controls.
        dry: the known input audio ``(B, C, T)``.
        wet: the target audio ``(B, C, T)``.
        q_init: starting controls ``(B, P)`` in ``[0, 1]``.
        steps: maximum number of gradient steps (>= 0).
        lr: Adam learning rate on the logits.
        loss: ``loss(y_hat, y) -> (B,)`` per-item losses, or a scalar (then the batch is
            refined jointly); default: the mel loss per item at the effect's sample rate.
        patience: steps without improvement before stopping.
        min_improvement: relative improvement that counts.
        progress: print a progress line to stderr at each step.

    Returns:
        The refined controls ``(B, P)``, detached.
    """
    check_audio(dry, "dry")
    check_audio(wet, "wet")
    if dry.shape != wet.shape:
        raise ValueError(f"dry and wet must have the same shape, got {tuple(dry.shape)} and "
                         f"{tuple(wet.shape)}")
    analysis.param_space.check_normalized(q_init, "q_init")
    if q_init.shape[0] != dry.shape[0]:
        raise ValueError(f"q_init has batch size {q_init.shape[0]} but dry has batch size "
                         f"{dry.shape[0]}")
    steps = check_int(steps, "steps", 0)
    patience = check_int(patience, "patience", 1)
    lr = check_positive(lr, "lr")
    per_item = loss or partial(mel_loss_per_item, sample_rate=analysis.sample_rate)
    logits = torch.logit(q_init.detach().to(dry.dtype).clamp(Q_MARGIN, 1 - Q_MARGIN))
    logits.requires_grad_(True)
    optimizer = torch.optim.Adam([logits], lr=lr)
    best_q = torch.sigmoid(logits.detach())
    best_loss = torch.full((dry.shape[0],), float("inf"), dtype=dry.dtype, device=dry.device)
    best_total, stale = float("inf"), 0
    for step in range(steps + 1):
        q = torch.sigmoid(logits)
        values = per_item(analysis(dry, q), wet)
        values = values.expand(dry.shape[0]) if values.dim() == 0 else values
        improved = values.detach() < best_loss
        best_loss = torch.where(improved, values.detach(), best_loss)
        best_q = torch.where(improved[:, None], q.detach(), best_q)
        total = float(values.detach().sum())
        if progress:
            print(f"\rrefine: step {step}/{steps}, loss {total / dry.shape[0]:.4f}",
                  end="", file=sys.stderr, flush=True)
        stale = 0 if total < best_total * (1 - min_improvement) else stale + 1
        best_total = min(best_total, total)
        if step == steps or stale >= patience:
            break
        optimizer.zero_grad()
        values.sum().backward()
        optimizer.step()
    if progress:
        print(file=sys.stderr)
    return best_q


__all__ = ["Q_MARGIN", "refine"]
