"""Lightning data module of dry / wet effect pairs (imports ``pytorch_lightning``)."""

from __future__ import annotations

import multiprocessing

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from .._checks import check_integer_rate, check_positive, check_seed
from ..effects.base import Effect
from ..effects.catalog import EffectSpec, from_spec
from .clips import build_clips
from .pairs import EffectPairDataset

SOURCES = ("synthetic", "folder", "musdb")


class EffectDataModule(pl.LightningDataModule):
    """Train / val / test loaders of :class:`~dasp_blind.data.pairs.EffectPairDataset` pairs.

    Each split is ``EffectPairDataset(build_clips(source, ...), effect, seed=...)``; batches are
    ``{"dry": (B, 1, T), "wet": (B, 1, T), "q": (B, P)}`` with ``T = round(duration_s·
    sample_rate)`` and ``P = effect.num_params``.

    Splits:

    * ``"synthetic"`` and ``"folder"``: train, val and test use the seeds ``seed``, ``seed + 1``
      and ``seed + 2`` (different clips and controls; a folder source draws all three from the
      same files, so keep a held-out folder for a real test).
    * ``"musdb"``: MUSDB's train subset with ``split="train"``, the train subset with
      ``split="valid"`` and the test subset, with the same three seeds.

    The train loader shuffles, in an order drawn from ``seed``; val and test do not. With
    ``num_workers > 0`` the workers are persistent. Every item depends only on its index and
    seed, so a batch is the same for any number of workers.

    Args:
        effect: the effect that makes the wet signals: an effect
            (``dasp_blind.effects.Compressor(44100)``) or a spec of
            :func:`~dasp_blind.effects.catalog.from_spec` built at ``sample_rate``
            (``"compressor"``, or ``{"eq": "parametric_eq", "dist": "parametric_clipper"}`` for
            a chain).
        source: ``"synthetic"``, ``"folder"`` or ``"musdb"``.
        root: folder of audio files or MUSDB18 root (required for ``"folder"`` / ``"musdb"``).
        duration_s: clip length in seconds.
        sample_rate: sample rate in Hz.
        batch_size: batch size of every loader.
        train_items: number of training clips.
        val_items: number of validation clips.
        test_items: number of test clips.
        num_workers: DataLoader workers.
        seed: base seed.
        musdb_is_wav: read MUSDB18-HQ (WAV stems) instead of ``.stem.mp4`` files.
        multiprocessing_context: start method of the workers (``"fork"``, ``"forkserver"``,
            ``"spawn"``); ``None``: the platform's default.
        dynamics: synthetic music with varied part levels and loud and quiet sections (see
            :class:`~dasp_blind.data.clips.SyntheticClips`; ignored by the other sources).

    Raises:
        ValueError: on an unknown ``source``, a missing ``root``, a bad count, duration, sample
            rate or seed.
    """

    def __init__(self, effect: Effect | EffectSpec, source: str = "synthetic",
                 root: str | None = None, duration_s: float = 1.0, sample_rate: int = 44100,
                 batch_size: int = 8,
                 train_items: int = 256, val_items: int = 32, test_items: int = 32,
                 num_workers: int = 0, seed: int = 0, musdb_is_wav: bool = False,
                 multiprocessing_context: str | None = None, dynamics: bool = False):
        super().__init__()
        # checked here, not when the clips are built, so a bad config fails before training
        check_positive(duration_s, "duration_s")
        check_integer_rate(sample_rate)
        check_seed(seed)
        if isinstance(effect, str | dict):
            effect = from_spec(effect, sample_rate)
        if not isinstance(effect, Effect):
            raise ValueError(f"effect must be a dasp_blind.effects.Effect or an effect spec, got "
                             f"{type(effect).__name__}")
        if source not in SOURCES:
            raise ValueError(f"source must be one of {list(SOURCES)}, got {source!r}")
        if source != "synthetic" and root is None:
            raise ValueError(f"source={source!r} needs root (a directory), got root=None")
        for name, value in (("batch_size", batch_size), ("train_items", train_items),
                            ("val_items", val_items), ("test_items", test_items)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"num_workers must be a non-negative integer, got {num_workers!r}")
        if multiprocessing_context not in (None, *multiprocessing.get_all_start_methods()):
            raise ValueError(f"multiprocessing_context must be None or one of "
                             f"{multiprocessing.get_all_start_methods()}, got "
                             f"{multiprocessing_context!r}")
        self.save_hyperparameters(ignore=["effect"])
        self.effect = effect
        self.train_set: EffectPairDataset | None = None
        self.val_set: EffectPairDataset | None = None
        self.test_set: EffectPairDataset | None = None

    def _build(self, split: str) -> EffectPairDataset:
        hp = self.hparams
        offset, num_items, subset, musdb_split = {
            "train": (0, hp.train_items, "train", "train"),
            "val": (1, hp.val_items, "train", "valid"),
            "test": (2, hp.test_items, "test", None),
        }[split]
        seed = hp.seed + offset
        clips = build_clips(hp.source, num_items, hp.duration_s, hp.sample_rate, seed,
                            root=hp.root, subset=subset, split=musdb_split,
                            is_wav=hp.musdb_is_wav, dynamics=hp.dynamics)
        return EffectPairDataset(clips, self.effect, seed=seed)

    def setup(self, stage: str | None = None) -> None:
        """Build the datasets the stage needs (all of them when ``stage`` is ``None``)."""
        wanted = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",)}.get(
            stage or "", ("train", "val", "test"))
        for split in wanted:
            if getattr(self, f"{split}_set") is None:
                setattr(self, f"{split}_set", self._build(split))

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        # the shuffling order follows the module's seed, not torch's global generator
        generator = torch.Generator().manual_seed(self.hparams.seed) if shuffle else None
        dataset = getattr(self, f"{split}_set")
        if dataset is None:
            self.setup({"train": "fit", "val": "validate", "test": "test"}[split])
            dataset = getattr(self, f"{split}_set")
        if self.hparams.num_workers == 0:
            return DataLoader(dataset, batch_size=self.hparams.batch_size, shuffle=shuffle,
                              generator=generator)
        return DataLoader(dataset, batch_size=self.hparams.batch_size, shuffle=shuffle,
                          generator=generator,
                          num_workers=self.hparams.num_workers, persistent_workers=True,
                          multiprocessing_context=self.hparams.multiprocessing_context)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)


__all__ = ["EffectDataModule"]
