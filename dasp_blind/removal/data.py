"""Clean / degraded pairs for distortion removal, degraded on the fly (imports
``pytorch_lightning``).

:class:`DegradedDataset` wraps any clip source (synthetic music, the synthetic guitar, a folder,
MUSDB, SignalTrain's clean inputs) and degrades item ``i`` with one of several
:class:`~dasp_blind.removal.degradations.Degradation` samplers, drawn with its settings from a
seed derived from ``(seed, i, epoch)``. :class:`RemovalDataModule` builds its train, validation
and test splits.

**Levels.** The paper's hard clipping and overdrive amplify the clean signal by 20–50 dB and
confine the result to ``[−1, 1]``: the clean signal's level cannot be read off the degraded one.
With ``target_level="matched"`` (the default) the target is the clean signal rescaled by the
least-squares gain that best explains the degraded signal, ``c = ⟨y, x⟩ / ‖x‖²`` (so the
target of a clip that is barely clipped is almost the clip's own level, that of a heavily
clipped one is the level of the "unclipped" signal that fits it best); with ``"clean"`` it is
the clean clip as drawn (the paper's set-up, where the level must be guessed).
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import Dataset

from .._checks import (
    check_bool,
    check_choice,
    check_int,
    check_integer_rate,
    check_positive,
    check_seed,
)
from ..data.clips import FolderClips, build_clips, epoch_and_item
from ..data.datamodule import SplitDataModule
from ..data.pairs import _item_seed, clip_of
from ..data.synthetic import STYLES
from .degradations import KINDS, PAPER_GAIN_DB, PAPER_SDR_DB, Degradation

#: Where the degraded signal's level leaves the target: see the module docstring.
TARGET_LEVELS = ("matched", "clean")
#: The clip sources of :class:`RemovalDataModule`.
SOURCES = ("guitar", "synthetic", "folder", "musdb", "signaltrain")
#: SignalTrain's folders of each split and the prefix of its clean files.
SIGNALTRAIN_SPLITS = {"train": "Train", "val": "Val", "test": "Test"}
SIGNALTRAIN_CLEAN = "input_*"
#: Offset of each split's seed from the module's seed, the split's name for a folder and for MUSDB.
_SPLITS = {"train": (0, "train", "train", "train"), "val": (1, "valid", "train", "valid"),
           "test": (2, "test", "test", None)}


def matched_target(clean: Tensor, degraded: Tensor) -> Tensor:
    """``clean`` rescaled per item by ``c = ⟨degraded, clean⟩ / ‖clean‖²`` (over channels and
    samples): the multiple of the clean signal closest to the degraded one. Silent items stay
    silent.

    Args:
        clean: ``(batch, channels, samples)``.
        degraded: the same shape.

    Returns:
        ``(batch, channels, samples)``.
    """
    dims = tuple(range(1, clean.dim()))
    energy = clean.square().sum(dims, keepdim=True)
    gain = (clean * degraded).sum(dims, keepdim=True) / energy.clamp_min(
        torch.finfo(clean.dtype).tiny)
    return gain * clean


class DegradedDataset(Dataset):
    """Item ``i``: a clip and its degraded version.

    ``{"clean": (C, T), "degraded": (C, T), "kind": (), "setting": ()}`` — the target (the clip,
    or the clip at the matched level, see the module docstring), the degraded clip, the index
    in ``degradations`` of the degradation applied and its drawn gain or input SDR in dB. The
    degradation and its settings are drawn from a generator seeded with ``(seed, i, epoch)``,
    so an item is the same in every process and for any number of DataLoader workers. Indices
    may be pairs ``(epoch, i)`` (:class:`~dasp_blind.data.pairs.EpochSampler`): later epochs
    draw new settings and, from a :class:`~dasp_blind.data.clips.ClipSource`, new clips.

    Args:
        clips: dataset of float tensors ``(channels, T)``.
        degradations: one or more samplers; each item uses one, drawn uniformly.
        seed: integer seed ``>= 0``.
        target_level: ``"matched"`` or ``"clean"``.
    """

    def __init__(self, clips: Dataset, degradations: Degradation | list[Degradation],
                 seed: int = 0, target_level: str = "matched"):
        if not hasattr(clips, "__getitem__") or not hasattr(clips, "__len__"):
            raise ValueError(f"clips must be a sized Dataset, got {type(clips).__name__}")
        if isinstance(degradations, Degradation):
            degradations = [degradations]
        if (not isinstance(degradations, list | tuple) or not degradations
                or not all(isinstance(d, Degradation) for d in degradations)):
            raise ValueError(f"degradations must be a Degradation or a non-empty list of them, "
                             f"got {degradations!r}")
        self.clips = clips
        self.degradations = list(degradations)
        self.seed = check_seed(seed)
        self.target_level = check_choice(target_level, "target_level", TARGET_LEVELS)

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int | tuple[int, int]) -> dict[str, Tensor]:
        epoch, i = epoch_and_item(index, len(self))
        clean = clip_of(self.clips, epoch, i)
        generator = torch.Generator().manual_seed(_item_seed(self.seed, i, epoch))
        kind = int(torch.randint(len(self.degradations), (), generator=generator))
        with torch.no_grad():
            degradation = self.degradations[kind]
            degraded, settings = degradation(clean[None].double(), generator)
            target = clean[None].double()
            if self.target_level == "matched":
                target = matched_target(target, degraded)
        return {"clean": target[0].to(clean.dtype), "degraded": degraded[0].to(clean.dtype),
                "kind": torch.tensor(kind),
                "setting": settings[degradation.parameter][0].float()}


def signaltrain_clips(root: str | Path, split: str, num_items: int | None, duration_s: float,
                      sample_rate: int, seed: int, passes: int = 1,
                      skip_bad_files: bool = False) -> FolderClips:
    """Clips of SignalTrain's clean inputs: the ``input_*`` files of ``root/Train``, ``root/Val``
    or ``root/Test`` (``split`` = ``"train"``, ``"val"``, ``"test"``), the layout of the
    SignalTrain LA2A data set (version 1.1).

    Raises:
        ValueError: if the split's folder is missing or holds no ``input_*`` audio file.
    """
    folder = Path(root) / SIGNALTRAIN_SPLITS[split]
    if not folder.is_dir():
        raise ValueError(f"root must hold SignalTrain's {'/'.join(SIGNALTRAIN_SPLITS.values())} "
                         f"folders; {str(folder)!r} is not a directory")
    return FolderClips(folder, num_items, duration_s, sample_rate, seed, pattern=SIGNALTRAIN_CLEAN,
                       passes=passes, skip_bad_files=skip_bad_files)


class RemovalDataModule(SplitDataModule):
    """Train / val / test loaders of :class:`DegradedDataset` pairs.

    Batches: ``{"clean": (B, 1, T), "degraded": (B, 1, T), "kind": (B,), "setting": (B,)}``
    (see :class:`DegradedDataset`) with
    ``T = round(duration_s·sample_rate)``. The splits use the seeds ``seed``, ``seed + 1`` and
    ``seed + 2``; for a folder, the files of its train / valid / test splits
    (:func:`~dasp_blind.data.clips.split_files`); for MUSDB, its train subset (train and valid
    splits) and test subset; for SignalTrain (``root`` holding ``Train``, ``Val``, ``Test``),
    the clean ``input_*`` files of each. The synthetic sources differ by seed only.

    Degradations: one :class:`~dasp_blind.removal.degradations.Degradation` per entry of
    ``kinds`` with the shared ranges, drawn uniformly per item. The paper's data sets:
    CEG-OD ``kinds=["overdrive"], levels=[20, 27.5, 35, 42.5, 50]``; CEG-HC
    ``kinds=["hard_clip"]`` with the same levels; SignalTrain-HC ``kinds=["clip_to_sdr"]``.

    Args:
        kinds: degradation kinds, each one of :data:`~dasp_blind.removal.degradations.KINDS`.
        source: one of :data:`SOURCES`.
        root: folder, MUSDB18 root or SignalTrain root (for those sources).
        gain_db: gain range in dB of the overdrive / clipping kinds.
        sdr_db: input-SDR range in dB of ``clip_to_sdr``.
        levels: values to draw the gain (or SDR) from instead of the ranges.
        alpha: range of the wet weight of the paper's eq. 1.
        target_level: ``"matched"`` or ``"clean"`` (see the module docstring).
        duration_s: clip length in seconds (the paper: 2 s).
        sample_rate: sample rate in Hz (the paper: 16 kHz).
        batch_size: batch size of every loader (the paper: 16).
        train_items: training clips per epoch (``None``: ``passes`` per file, file sources).
        val_items: validation clips.
        test_items: test clips.
        passes: clips per file when an item count is ``None``.
        num_workers: DataLoader workers.
        seed: base seed.
        redraw: new training clips and settings every epoch.
        style: style of the ``"synthetic"`` music (``"random"``: a genre per clip).
        musdb_is_wav: MUSDB18-HQ layout.
        skip_bad_files: warn about and skip unreadable files.
        multiprocessing_context: start method of the workers, ``None`` for the default.
    """

    def __init__(self, kinds: list[str] | None = None, source: str = "guitar",
                 root: str | None = None, gain_db: tuple[float, float] = PAPER_GAIN_DB,
                 sdr_db: tuple[float, float] = PAPER_SDR_DB, levels: list[float] | None = None,
                 alpha: tuple[float, float] = (1.0, 1.0), target_level: str = "matched",
                 duration_s: float = 2.0, sample_rate: int = 16000, batch_size: int = 16,
                 train_items: int | None = 512, val_items: int | None = 64,
                 test_items: int | None = 64, passes: int = 1, num_workers: int = 0,
                 seed: int = 0, redraw: bool = True, style: str = "random",
                 musdb_is_wav: bool = False, skip_bad_files: bool = False,
                 multiprocessing_context: str | None = None):
        super().__init__()
        kinds = ["overdrive", "hard_clip"] if kinds is None else list(kinds)
        if not kinds:
            raise ValueError("kinds must name at least one degradation")
        for kind in kinds:
            check_choice(kind, "kinds", KINDS)
        check_choice(source, "source", SOURCES)
        if source in ("folder", "musdb", "signaltrain") and root is None:
            raise ValueError(f"source={source!r} needs root (a directory), got root=None")
        self.degradations = [Degradation(kind, gain_db=tuple(gain_db), sdr_db=tuple(sdr_db),
                                         levels=None if levels is None else tuple(levels),
                                         alpha=tuple(alpha)) for kind in kinds]
        check_choice(target_level, "target_level", TARGET_LEVELS)
        check_positive(duration_s, "duration_s")
        check_integer_rate(sample_rate)
        check_int(batch_size, "batch_size", low=1)
        for name, value in (("train_items", train_items), ("val_items", val_items),
                            ("test_items", test_items)):
            if value is None and source in ("guitar", "synthetic"):
                raise ValueError(f"{name}=None needs a file source, got source={source!r}")
            if value is not None:
                check_int(value, name, low=1)
        check_int(passes, "passes", low=1)
        check_int(num_workers, "num_workers", low=0)
        check_seed(seed)
        check_bool(redraw, "redraw")
        check_choice(style, "style", STYLES)
        check_bool(musdb_is_wav, "musdb_is_wav")
        check_bool(skip_bad_files, "skip_bad_files")
        if multiprocessing_context not in (None, *multiprocessing.get_all_start_methods()):
            raise ValueError(f"multiprocessing_context must be None or one of "
                             f"{multiprocessing.get_all_start_methods()}, got "
                             f"{multiprocessing_context!r}")
        self.save_hyperparameters()
        self.hparams["kinds"] = kinds

    def _clips(self, split: str, seed: int) -> Dataset:
        hp = self.hparams
        _, folder_split, subset, musdb_split = _SPLITS[split]
        items = hp[f"{split}_items"]
        if hp.source == "signaltrain":
            return signaltrain_clips(hp.root, split, items, hp.duration_s, hp.sample_rate, seed,
                                     hp.passes, hp.skip_bad_files)
        return build_clips(hp.source, items, hp.duration_s, hp.sample_rate, seed, root=hp.root,
                           subset=subset,
                           split=folder_split if hp.source == "folder" else musdb_split,
                           is_wav=hp.musdb_is_wav, passes=hp.passes,
                           skip_bad_files=hp.skip_bad_files, style=hp.style,
                           dynamics=hp.source == "synthetic")

    def group_names(self, kind: Tensor, setting: Tensor) -> list[str]:
        """A name per item for result tables: the degradation kind, with its gain or input SDR
        when the settings are drawn from ``levels`` (``"clip_to_sdr 5 dB"``)."""
        names = [self.degradations[int(k)].kind for k in kind]
        if self.hparams.levels is None:
            return names
        return [f"{name} {float(value):g} dB" for name, value in zip(names, setting, strict=True)]

    def _build(self, split: str) -> DegradedDataset:
        seed = self.hparams.seed + _SPLITS[split][0]
        return DegradedDataset(self._clips(split, seed), self.degradations, seed=seed,
                               target_level=self.hparams.target_level)

__all__ = ["SOURCES", "TARGET_LEVELS", "DegradedDataset", "RemovalDataModule", "matched_target",
           "signaltrain_clips"]
