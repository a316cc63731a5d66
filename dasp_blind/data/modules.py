"""Lightning data module of dry / wet effect pairs (imports ``pytorch_lightning``)."""

from __future__ import annotations

import multiprocessing

from .._checks import (
    check_bool,
    check_choice,
    check_int,
    check_integer_rate,
    check_positive,
    check_seed,
)
from ..effects.base import Effect
from ..effects.catalog import EffectSpec, from_spec
from .clips import build_clips
from .datamodule import SplitDataModule
from .pairs import EffectPairDataset
from .synthetic import STYLES

SOURCES = ("synthetic", "guitar", "mixed", "folder", "musdb")
#: Offset of each split's seed from the module's seed, its MUSDB subset and split, its folder
#: split.
_SPLITS = {"train": (0, "train", "train", "train"), "val": (1, "train", "valid", "valid"),
           "test": (2, "test", None, "test")}


class EffectDataModule(SplitDataModule):
    """Train / val / test loaders of :class:`~dasp_blind.data.pairs.EffectPairDataset` pairs.

    Each split is ``EffectPairDataset(build_clips(source, ...), effect, seed=...)``; batches are
    ``{"dry": (B, 1, T), "wet": (B, 1, T), "q": (B, P)}`` with ``T = round(duration_s·
    sample_rate)`` and ``P = effect.num_params``.

    Splits (train, val and test always use the seeds ``seed``, ``seed + 1`` and ``seed + 2``):

    * ``"synthetic"`` and ``"guitar"``: different seeds are all that separates them (different
      clips and controls). Guitar clips keep their DI level (peaks in ``[-18, -1]`` dBFS,
      :class:`~dasp_blind.data.guitar.SyntheticGuitarClips`).
    * ``"folder"``: the folder's ``"train"``, ``"valid"`` and ``"test"`` files
      (:func:`~dasp_blind.data.clips.split_files`: a stable hash of each file's path relative
      to ``root`` sends about 80 / 10 / 10 % of the files to each, at least one each), so no
      file is shared between the loaders; ``root`` must hold at least 3 files.
    * ``"musdb"``: MUSDB's train subset with ``split="train"``, the train subset with
      ``split="valid"`` and the test subset.

    Sizes: ``train_items`` / ``val_items`` / ``test_items`` clips, or, when ``None`` (folder and
    MUSDB sources), ``train_passes`` / ``val_passes`` / ``test_passes`` clips per file or track
    of the split. The defaults 5, 5 and 10 are BE-AFX's "epoch" (5 passes over the 86 MUSDB
    training tracks = 430 clips, 5 × 14 = 70 validation clips, 10 × 50 = 500 test clips).

    The train loader shuffles, in an order drawn from ``seed``; val and test do not. With
    ``num_workers > 0`` the workers are persistent. Every item depends only on its index and
    seed, so a batch is the same for any number of workers.

    Each split is a fixed set of clips and controls. With ``redraw=True`` the train loader
    samples through :class:`~dasp_blind.data.pairs.EpochSampler`: every epoch brings new clips
    (new windows, files, tracks or synthetic pieces) and new controls, drawn from ``(seed, i,
    epoch)``, as the BE-AFX data set draws on every pass (epoch 0 is the fixed set); val and
    test stay fixed, so their losses compare across epochs.

    Args:
        effect: the effect that makes the wet signals: an effect
            (``dasp_blind.effects.Compressor(44100)``) or a spec of
            :func:`~dasp_blind.effects.catalog.from_spec` built at ``sample_rate``
            (``"compressor"``, or ``{"eq": "parametric_eq", "dist": "parametric_clipper"}`` for
            a chain).
        source: ``"synthetic"``, ``"guitar"``, ``"mixed"`` (the two in turn), ``"folder"`` or
            ``"musdb"``.
        root: folder of audio files or MUSDB18 root (required for ``"folder"`` / ``"musdb"``).
        duration_s: clip length in seconds.
        sample_rate: sample rate in Hz.
        batch_size: batch size of every loader.
        train_items: number of training clips, or ``None`` for ``train_passes`` per file/track.
        val_items: number of validation clips, or ``None`` for ``val_passes`` per file/track.
        test_items: number of test clips, or ``None`` for ``test_passes`` per file/track.
        num_workers: DataLoader workers.
        seed: base seed.
        musdb_is_wav: read MUSDB18-HQ (WAV stems) instead of ``.stem.mp4`` files.
        multiprocessing_context: start method of the workers (``"fork"``, ``"forkserver"``,
            ``"spawn"``); ``None``: the platform's default.
        dynamics: synthetic music with varied part levels and loud and quiet sections (see
            :class:`~dasp_blind.data.clips.SyntheticClips`; ignored by the other sources).
        train_passes: training clips per file or track when ``train_items`` is ``None``.
        val_passes: validation clips per file or track when ``val_items`` is ``None``.
        test_passes: test clips per file or track when ``test_items`` is ``None``.
        skip_bad_files: warn about and skip unreadable files instead of raising (folder and
            MUSDB sources).
        style: style of the synthetic music: ``"basic"``, ``"random"`` (a genre drawn per
            clip: the varied material for models meant for real recordings) or one genre (see
            :func:`~dasp_blind.data.synthetic.synthetic_music`; ignored by the other sources).
        redraw: new training clips and controls every epoch (see above).

    Raises:
        ValueError: on an unknown ``source``, a missing ``root``, a bad count, number of passes,
            duration, sample rate or seed, or an item count of ``None`` with the synthetic
            source.
    """

    def __init__(self, effect: Effect | EffectSpec, source: str = "synthetic",
                 root: str | None = None, duration_s: float = 1.0, sample_rate: int = 44100,
                 batch_size: int = 8, train_items: int | None = 256, val_items: int | None = 32,
                 test_items: int | None = 32,
                 num_workers: int = 0, seed: int = 0, musdb_is_wav: bool = False,
                 multiprocessing_context: str | None = None, dynamics: bool = False,
                 train_passes: int = 5, val_passes: int = 5, test_passes: int = 10,
                 skip_bad_files: bool = False, style: str = "basic", redraw: bool = False):
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
        if source in ("folder", "musdb") and root is None:
            raise ValueError(f"source={source!r} needs root (a directory), got root=None")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        for name, value in (("train_items", train_items), ("val_items", val_items),
                            ("test_items", test_items)):
            if value is None and source in ("synthetic", "guitar", "mixed"):
                raise ValueError(f"{name}=None (passes × the number of files or tracks) needs "
                                 f"source='folder' or 'musdb', got source={source!r}; give "
                                 f"{name} a positive integer")
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise ValueError(f"{name} must be a positive integer or None, got {value!r}")
        for name, value in (("train_passes", train_passes), ("val_passes", val_passes),
                            ("test_passes", test_passes)):
            check_int(value, name, low=1)
        check_bool(skip_bad_files, "skip_bad_files")
        check_choice(style, "style", STYLES)
        check_bool(redraw, "redraw")
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"num_workers must be a non-negative integer, got {num_workers!r}")
        if multiprocessing_context not in (None, *multiprocessing.get_all_start_methods()):
            raise ValueError(f"multiprocessing_context must be None or one of "
                             f"{multiprocessing.get_all_start_methods()}, got "
                             f"{multiprocessing_context!r}")
        self.save_hyperparameters(ignore=["effect"])
        self.effect = effect

    def _build(self, split: str) -> EffectPairDataset:
        hp = self.hparams
        offset, subset, musdb_split, folder_split = _SPLITS[split]
        seed = hp.seed + offset
        clips = build_clips(hp.source, hp[f"{split}_items"], hp.duration_s, hp.sample_rate, seed,
                            root=hp.root, subset=subset,
                            split=folder_split if hp.source == "folder" else musdb_split,
                            is_wav=hp.musdb_is_wav, dynamics=hp.dynamics,
                            passes=hp[f"{split}_passes"], skip_bad_files=hp.skip_bad_files,
                            style=hp.style)
        return EffectPairDataset(clips, self.effect, seed=seed)

    @property
    def train_set(self) -> EffectPairDataset | None:
        """The training pairs, once :meth:`setup` (or a loader) built them."""
        return self.datasets.get("train")

    @property
    def val_set(self) -> EffectPairDataset | None:
        """The validation pairs, once built."""
        return self.datasets.get("val")

    @property
    def test_set(self) -> EffectPairDataset | None:
        """The test pairs, once built."""
        return self.datasets.get("test")


__all__ = ["EffectDataModule"]
