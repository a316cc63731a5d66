"""The base of the library's Lightning data modules (imports ``pytorch_lightning``): one dataset
per split, built on first use, and the loaders every module gives."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from .._checks import check_choice
from .pairs import EpochSampler

#: The splits, in the order of their seed offsets.
SPLITS = ("train", "val", "test")
#: The splits each Lightning stage needs.
_STAGE_SPLITS = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",)}


class SplitDataModule(pl.LightningDataModule):
    """A data module of ``"train"``, ``"val"`` and ``"test"`` datasets.

    Subclasses implement :meth:`_build` and save hyper-parameters with at least ``batch_size``,
    ``num_workers``, ``seed`` and ``redraw`` (``multiprocessing_context`` is used when present).
    The training loader draws its order from ``seed`` (never from torch's global generator):
    with :meth:`redraws` an :class:`~dasp_blind.data.pairs.EpochSampler` that gives new items
    every epoch, else a shuffle; the validation and test loaders keep the datasets' order.
    Loaders with workers keep them alive between epochs.
    """

    def __init__(self) -> None:
        super().__init__()
        self.datasets: dict[str, Dataset] = {}

    def _build(self, split: str) -> Dataset:
        """The dataset of ``split`` (called once per split)."""
        raise NotImplementedError

    def redraws(self) -> bool:
        """Whether the training loader asks for new items every epoch (``redraw``)."""
        return bool(self.hparams.redraw)

    def dataset(self, split: str) -> Dataset:
        """The ``"train"``, ``"val"`` or ``"test"`` dataset (built on first use)."""
        check_choice(split, "split", SPLITS)
        if split not in self.datasets:
            self.datasets[split] = self._build(split)
        return self.datasets[split]

    def setup(self, stage: str | None = None) -> None:
        """Build the datasets the stage needs (all of them when ``stage`` is ``None``)."""
        for split in _STAGE_SPLITS.get(stage or "", SPLITS):
            self.dataset(split)

    def _loader(self, split: str) -> DataLoader:
        hp = self.hparams
        dataset = self.dataset(split)
        if split == "train" and self.redraws():
            order: dict[str, Any] = {"sampler": EpochSampler(len(dataset), seed=hp.seed)}
        elif split == "train":
            order = {"shuffle": True, "generator": torch.Generator().manual_seed(hp.seed)}
        else:
            order = {"shuffle": False}
        workers = {} if hp.num_workers == 0 else {
            "num_workers": hp.num_workers, "persistent_workers": True,
            "multiprocessing_context": hp.get("multiprocessing_context")}
        return DataLoader(dataset, batch_size=hp.batch_size, **order, **workers)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train")

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")


__all__ = ["SPLITS", "SplitDataModule"]
