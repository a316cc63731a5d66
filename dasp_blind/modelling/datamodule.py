"""The data module of effect-modelling training: train / val / test splits of dry / wet pairs.

``source`` picks the pairs (:mod:`dasp_blind.modelling.data`):

* ``"synthetic"``: :class:`~dasp_blind.modelling.data.SyntheticPairs`, clean clips of ``clean``
  (``"guitar"``, ``"music"`` or ``"folder"`` under ``root``) through the library effect
  ``effect``, with fixed ``controls`` (a dict of normalised values, ``{}`` for the effect's
  defaults) or ``"random"`` ones (a conditioned model then learns the knobs). The splits use
  the seeds ``seed``, ``seed + 1`` and ``seed + 2`` and draw new clips every epoch
  (``redraw``).
* ``"pairs"``: :class:`~dasp_blind.modelling.data.PairFolder` over ``root/train``,
  ``root/val`` and ``root/test`` (Automated-GuitarAmpModelling's ``Data`` layout), cut into
  segments of ``segment_s``.
* ``"idmt"``: :class:`~dasp_blind.modelling.data.IDMTPairs` of ``root`` for ``effect`` (an
  IDMT effect name), notes cropped or padded to ``segment_s``; items ``i`` with
  ``i mod 10 = 8`` form the validation split, ``i mod 10 = 9`` the test split, the rest the
  training split.

``direction="removal"`` trains the reverse mapping (wet → dry), for synthetic and IDMT pairs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from torch.utils.data import Dataset, Subset

from .._checks import check_bool, check_choice, check_int, check_positive, check_seed
from ..data.datamodule import SplitDataModule
from .data import (
    DIRECTIONS,
    IDMTPairs,
    PairFolder,
    SyntheticPairs,
    check_edge_probability,
    check_peak_db,
)

#: The pair sources of :class:`ModellingDataModule`.
SOURCES = ("synthetic", "pairs", "idmt")
#: ``split: (seed offset, PairFolder sub-folder, IDMT residue of the item index mod 10)``.
_SPLITS = {"train": (0, "train", None), "val": (1, "val", 8), "test": (2, "test", 9)}


class ModellingDataModule(SplitDataModule):
    """Dry / wet pairs for :class:`~dasp_blind.modelling.module.ModellingModule`.

    Batches are dicts ``{"input": (batch, channels, T), "target": (batch, channels, T)}``, plus
    ``"controls"`` ``(batch, num_controls)`` when the pairs carry knob values
    (:attr:`num_controls` > 0).

    Args:
        source: ``"synthetic"``, ``"pairs"`` or ``"idmt"`` (see the module docstring).
        effect: for ``"synthetic"``, a name of
            :data:`~dasp_blind.modelling.data.SYNTHETIC_EFFECTS`; for ``"idmt"``, a name of
            :data:`~dasp_blind.modelling.data.IDMT_EFFECTS` (``None``: every effect).
        controls: ``"random"`` or a dict of fixed normalised values (synthetic pairs).
        clean: the clean source of synthetic pairs: ``"guitar"``, ``"music"``, ``"mixed"``
            (guitar and music in turn) or ``"folder"``.
        root: the folder of ``"pairs"``, ``"idmt"`` or of a ``"folder"`` clean source.
        direction: ``"emulation"`` (dry → wet) or ``"removal"`` (wet → dry).
        segment_s: length of the items in seconds (Wright et al.: 0.5 s).
        sample_rate: rate of the items in Hz.
        batch_size: items per batch.
        train_items: synthetic training items.
        val_items: synthetic validation items.
        test_items: synthetic test items.
        num_workers: DataLoader workers.
        seed: base seed of the synthetic splits and of the shuffling.
        redraw: synthetic training pairs: new clips and controls every epoch.
        peak_db: synthetic pairs: ``None`` (the clean source's levels) or ``(low, high)``, a
            peak level in dBFS drawn per item (see
            :class:`~dasp_blind.modelling.data.SyntheticPairs`).
        edge_probability: synthetic pairs with random controls: the probability that a control
            sits at an end of its range (see :class:`~dasp_blind.modelling.data.SyntheticPairs`).
    """

    def __init__(self, source: str = "synthetic", effect: str | None = "overdrive",
                 controls: str | Mapping[str, float] = "random", clean: str = "guitar",
                 root: str | None = None, direction: str = "emulation", segment_s: float = 0.5,
                 sample_rate: int = 44100, batch_size: int = 16, train_items: int = 512,
                 val_items: int = 64, test_items: int = 64, num_workers: int = 0,
                 seed: int = 0, redraw: bool = True,
                 peak_db: Sequence[float] | None = None, edge_probability: float = 0.0):
        super().__init__()
        check_choice(source, "source", SOURCES)
        check_choice(direction, "direction", DIRECTIONS)
        if source in ("pairs", "idmt") and root is None:
            raise ValueError(f"source={source!r} needs root (a directory), got root=None")
        if source == "synthetic" and effect is None:
            raise ValueError("source='synthetic' needs effect (a name of SYNTHETIC_EFFECTS)")
        if source == "pairs" and direction != "emulation":
            raise ValueError("direction applies to synthetic and IDMT pairs; recorded pairs "
                             "map their input files to their target files")
        check_positive(segment_s, "segment_s")
        check_int(sample_rate, "sample_rate", low=1)
        check_int(batch_size, "batch_size", low=1)
        for name, value in (("train_items", train_items), ("val_items", val_items),
                            ("test_items", test_items)):
            check_int(value, name, low=1)
        check_int(num_workers, "num_workers", low=0)
        check_seed(seed)
        check_bool(redraw, "redraw")
        if peak_db is not None:
            if source != "synthetic":
                raise ValueError(f"peak_db applies to synthetic pairs, got source={source!r}")
            peak_db = list(check_peak_db(peak_db))
        check_edge_probability(edge_probability)
        self.save_hyperparameters()
        self._idmt: IDMTPairs | None = None

    def _build(self, split: str) -> Dataset:
        hp = self.hparams
        offset, folder, residue = _SPLITS[split]
        if hp.source == "synthetic":
            return SyntheticPairs(hp.effect, hp.clean, hp[f"{split}_items"], hp.segment_s,
                                  hp.sample_rate, hp.seed + offset, hp.direction, hp.controls,
                                  root=hp.root if hp.clean == "folder" else None,
                                  split={"val": "valid"}.get(split, split)
                                  if hp.clean == "folder" else None, peak_db=hp.peak_db,
                                  edge_probability=hp.edge_probability)
        if hp.source == "pairs":
            return PairFolder(hp.root, hp.segment_s, hp.sample_rate, split=folder)
        if self._idmt is None:
            self._idmt = IDMTPairs(hp.root, hp.effect, sample_rate=hp.sample_rate,
                                   duration_s=hp.segment_s, direction=hp.direction)
        indices = [i for i in range(len(self._idmt))
                   if (i % 10 == residue if residue is not None else i % 10 < 8)]
        if not indices:
            raise ValueError(f"root {hp.root!r}: too few IDMT pairs for a {split!r} split "
                             f"({len(self._idmt)} pairs; items i with i mod 10 = 8 validate, "
                             f"9 test)")
        return Subset(self._idmt, indices)

    @property
    def num_controls(self) -> int:
        """Knob values per item (0: the pairs carry none)."""
        data = self.dataset("train")
        return (data.dataset if isinstance(data, Subset) else data).num_controls

    def redraws(self) -> bool:
        """Whether the training loader draws new items every epoch (``redraw`` with the
        synthetic source; recorded pairs are a fixed set)."""
        return bool(self.hparams.redraw and self.hparams.source == "synthetic")


__all__ = ["SOURCES", "ModellingDataModule"]
