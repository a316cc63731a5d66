"""Held-out evaluation of an estimator on dry clips with known random controls."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .._checks import check_audio, check_int, check_seed
from ..effects.base import Effect
from .estimator import Estimator
from .losses import mel_loss_per_item, mse_y


@dataclass
class Evaluation:
    """Per-clip results of :func:`evaluate` (``N`` clips, ``P`` controls)."""

    #: The true controls ``(N, P_synthesis)`` and the estimates ``(N, P)``.
    q_true: Tensor
    q_hat: Tensor
    #: The wet clips ``(N, C, T)`` and the dry clips rendered with the estimates.
    wet: Tensor
    rendered: Tensor
    #: Per-clip mel loss ``(N,)`` of the estimate, of random controls ("Random q̂") and of the
    #: dry clip itself ("L(x, y)").
    mel: Tensor
    random_mel: Tensor
    dry_mel: Tensor
    #: Per-clip waveform MSE of the estimate ``(N,)``.
    mse_y: Tensor

    def summary(self) -> dict[str, float]:
        """Means over the clips; ``mse_q`` when the estimates are controls of the synthesis."""
        out = {"mel": float(self.mel.mean()), "random_mel": float(self.random_mel.mean()),
               "dry_mel": float(self.dry_mel.mean()), "mse_y": float(self.mse_y.mean()),
               "mel_over_random": float(self.mel.mean() / self.random_mel.mean()),
               "clips": int(self.mel.numel())}
        if self.q_hat.shape == self.q_true.shape:
            out["mse_q"] = float(((self.q_hat - self.q_true) ** 2).mean())
        return out


def evaluate(estimator: Estimator, dry: Tensor, synthesis: Effect | None = None,
             seed: int = 0, batch_size: int = 8) -> Evaluation:
    """Make wet clips with random controls, estimate them blindly and compare.

    ``q ~ U(0, 1)`` per clip (from ``seed``), ``wet = synthesis(dry, q)``, ``q̂ =
    estimator.estimate_q(wet)`` (windowed for clips longer than its window) and ``ŷ =
    estimator.analysis(dry, q̂)``; the baselines render ``estimator.analysis`` with other
    uniformly random controls, and compare the dry clip itself with the wet one.

    Args:
        estimator: the estimator (used in eval mode, without gradients).
        dry: dry clips ``(N, C, T)`` at the estimator's sample rate.
        synthesis: the effect that makes the wet clips; default the estimator's analysis
            effect.
        seed: seed of the true and the random controls.
        batch_size: clips processed at once.
    """
    check_audio(dry, "dry")
    seed = check_seed(seed)
    batch_size = check_int(batch_size, "batch_size", 1)
    synthesis = estimator.analysis if synthesis is None else synthesis
    analysis = estimator.analysis
    gen = torch.Generator().manual_seed(seed)
    count = dry.shape[0]
    q_true = torch.rand(count, synthesis.num_params, generator=gen).to(dry)
    q_random = torch.rand(count, analysis.num_params, generator=gen).to(dry)
    parts: dict[str, list[Tensor]] = {k: [] for k in ("wet", "q_hat", "rendered", "mel",
                                                       "random_mel", "dry_mel", "mse_y")}
    rate = estimator.sample_rate
    with torch.no_grad():
        for start in range(0, count, batch_size):
            x = dry[start:start + batch_size]
            wet = synthesis(x, q_true[start:start + batch_size])
            q_hat = estimator.estimate_q(wet)
            rendered = analysis(x, q_hat)
            random = analysis(x, q_random[start:start + batch_size])
            parts["wet"].append(wet)
            parts["q_hat"].append(q_hat)
            parts["rendered"].append(rendered)
            parts["mel"].append(mel_loss_per_item(rendered, wet, rate))
            parts["random_mel"].append(mel_loss_per_item(random, wet, rate))
            parts["dry_mel"].append(mel_loss_per_item(x, wet, rate))
            parts["mse_y"].append(torch.stack([mse_y(rendered[i:i + 1], wet[i:i + 1])
                                               for i in range(x.shape[0])]))
    cat = {k: torch.cat(v) for k, v in parts.items()}
    return Evaluation(q_true=q_true, **cat)


__all__ = ["Evaluation", "evaluate"]
