"""Dry / wet pairs synthesised on the fly: a clip source run through an effect."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset, Sampler

from .._checks import check_bool, check_int, check_seed
from ..effects.base import Effect
from .clips import ClipSource, epoch_and_item


def _item_seed(seed: int, index: int, epoch: int = 0) -> int:
    """A 63-bit seed for item ``index`` of a dataset seeded with ``seed`` in ``epoch`` (stable
    across runs and processes, unlike ``hash``)."""
    key = [int(seed), int(index), 0x5EED_FA1E] + ([int(epoch)] if epoch else [])
    state = np.random.SeedSequence(key).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def clip_of(clips: Dataset, epoch: int, index: int) -> Tensor:
    """Clip ``index`` of ``clips`` in ``epoch``: a new draw from a
    :class:`~dasp_blind.data.clips.ClipSource` after epoch 0, else the dataset's own item."""
    return clips[(epoch, index)] if epoch and isinstance(clips, ClipSource) else clips[index]


class EffectPairDataset(Dataset):
    """Wraps a clip dataset: item ``i`` is the clip, the effect's output on it and its controls.

    Item ``i`` is ``{"dry": (1, T), "wet": (1, T), "q": (P,)}`` where ``dry = clips[i]``, ``q`` is
    ``effect.param_space.sample(1, generator=torch.Generator().manual_seed(s))`` with ``s`` a
    seed derived from ``(seed, i)``, and ``wet = effect(dry[None], q)[0]`` computed under
    ``torch.no_grad()`` on the CPU (this runs in DataLoader workers). The same ``(seed, i)`` always
    gives the same ``q`` and, for a deterministic clip source, the same pair. The default collate
    gives ``dry (B, 1, T)``, ``wet (B, 1, T)``, ``q (B, P)``.

    The index may also be a pair ``(epoch, i)`` (:class:`EpochSampler` yields them): epoch 0 is
    item ``i``; a later epoch draws new controls from ``(seed, i, epoch)`` and, from a
    :class:`~dasp_blind.data.clips.ClipSource`, a new clip (another dataset keeps its clip
    ``i``).

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

    def sample_q(self, index: int, epoch: int = 0) -> Tensor:
        """The controls of item ``index`` in ``epoch``, shape ``(P,)``."""
        generator = torch.Generator().manual_seed(_item_seed(self.seed, index, epoch))
        return self.effect.param_space.sample(1, generator=generator)[0]

    def __getitem__(self, index: int | tuple[int, int]) -> dict[str, Tensor]:
        epoch, i = epoch_and_item(index, len(self))
        dry = clip_of(self.clips, epoch, i)
        if not isinstance(dry, Tensor) or dry.dim() != 2:
            raise ValueError(f"clips[{i}] must be a tensor (channels, samples), got "
                             f"{getattr(dry, 'shape', type(dry).__name__)}")
        q = self.sample_q(i, epoch)
        was_training = self.effect.training
        self.effect.eval()
        try:
            with torch.no_grad():
                wet = self.effect(dry[None], q[None].to(dry.dtype))[0]
        finally:
            self.effect.train(was_training)
        return {"dry": dry, "wet": wet, "q": q}


class EpochSampler(Sampler):
    """Indices ``(epoch, i)`` of every item of a dataset, once per epoch, so that a
    :class:`EffectPairDataset` (or a :class:`~dasp_blind.data.clips.ClipSource`) gives new clips
    and controls every epoch; epoch 0 gives the dataset's own items.

    Each iteration is one epoch: it uses the epoch set by :meth:`set_epoch` (Lightning calls it
    before every training epoch) and then counts one on, so the epochs also advance where
    nobody calls it (Lightning's distributed sampler wrapper iterates the sampler once per
    epoch). The order is a permutation drawn from ``(seed, epoch)`` with ``shuffle``, else
    ``0 .. num_items - 1``; it depends on nothing else (not on torch's global generator).

    Args:
        num_items: number of items per epoch (``len`` of the dataset).
        shuffle: permute the items each epoch.
        seed: integer seed of the permutations.
    """

    def __init__(self, num_items: int, shuffle: bool = True, seed: int = 0):
        self.num_items = check_int(num_items, "num_items", low=1)
        self.shuffle = check_bool(shuffle, "shuffle")
        self.seed = check_seed(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration epoch ``epoch`` (an integer >= 0)."""
        self.epoch = check_int(epoch, "epoch", low=0)

    def __len__(self) -> int:
        return self.num_items

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch = self.epoch
        self.epoch += 1
        if self.shuffle:
            state = np.random.SeedSequence([self.seed, int(epoch), 0x0DE5]).generate_state(1)
            generator = torch.Generator().manual_seed(int(state[0]))
            order = torch.randperm(self.num_items, generator=generator).tolist()
        else:
            order = range(self.num_items)
        return iter([(epoch, i) for i in order])


__all__ = ["EffectPairDataset", "EpochSampler"]
