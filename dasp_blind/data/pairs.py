"""Dry / wet pairs synthesised on the fly: a clip source run through an effect."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from .._checks import check_seed
from ..effects.base import Effect


def _item_seed(seed: int, index: int) -> int:
    """A 63-bit seed for item ``index`` of a dataset seeded with ``seed`` (stable across runs and
    processes, unlike ``hash``)."""
    state = np.random.SeedSequence([int(seed), int(index), 0x5EED_FA1E]).generate_state(
        2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


class EffectPairDataset(Dataset):
    """Wraps a clip dataset: item ``i`` is the clip, the effect's output on it and its controls.

    Item ``i`` is ``{"dry": (1, T), "wet": (1, T), "q": (P,)}`` where ``dry = clips[i]``, ``q`` is
    ``effect.param_space.sample(1, generator=torch.Generator().manual_seed(s))`` with ``s`` a
    seed derived from ``(seed, i)``, and ``wet = effect(dry[None], q)[0]`` computed under
    ``torch.no_grad()`` on the CPU (this runs in DataLoader workers). The same ``(seed, i)`` always
    gives the same ``q`` and, for a deterministic clip source, the same pair. The default collate
    gives ``dry (B, 1, T)``, ``wet (B, 1, T)``, ``q (B, P)``.

    Args:
        clips: dataset whose items are float tensors ``(channels, T)`` (e.g.
            :class:`~dasp_blind.data.clips.SyntheticClips`).
        effect: the effect that makes the wet signal (an :class:`~dasp_blind.effects.Effect`,
            e.g. a ``Chain``); it is put in eval mode for each item.
        seed: integer seed of the controls, ``>= 0``.
    """

    def __init__(self, clips: Dataset, effect: Effect, seed: int = 0):
        if not hasattr(clips, "__getitem__") or not hasattr(clips, "__len__"):
            raise ValueError(f"clips must be a sized Dataset, got {type(clips).__name__}")
        if not isinstance(effect, Effect):
            raise ValueError(f"effect must be a dasp_blind.effects.Effect, got "
                             f"{type(effect).__name__}")
        self.clips = clips
        self.effect = effect
        self.seed = check_seed(seed)

    def __len__(self) -> int:
        return len(self.clips)

    def sample_q(self, index: int) -> Tensor:
        """The controls of item ``index``, shape ``(P,)``."""
        generator = torch.Generator().manual_seed(_item_seed(self.seed, index))
        return self.effect.param_space.sample(1, generator=generator)[0]

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        n = len(self)
        i = int(index)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"index {index} out of range for a dataset of {n} items")
        dry = self.clips[i]
        if not isinstance(dry, Tensor) or dry.dim() != 2:
            raise ValueError(f"clips[{i}] must be a tensor (channels, samples), got "
                             f"{getattr(dry, 'shape', type(dry).__name__)}")
        q = self.sample_q(i)
        was_training = self.effect.training
        self.effect.eval()
        try:
            with torch.no_grad():
                wet = self.effect(dry[None], q[None].to(dry.dtype))[0]
        finally:
            self.effect.train(was_training)
        return {"dry": dry, "wet": wet, "q": q}


__all__ = ["EffectPairDataset"]
