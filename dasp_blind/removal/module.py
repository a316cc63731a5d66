"""Training of distortion-removal networks (Imort et al., ISMIR 2022, §5.2).

``dasp-blind fit --config removal/synthetic`` (or ``removal/ceg_od``, ``removal/ceg_hc``,
``removal/signaltrain_hc``) runs :class:`RemovalModule` on a
:class:`~dasp_blind.removal.data.RemovalDataModule`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor

from .. import pretrained
from .._checks import check_choice, check_int, check_positive
from ..metrics import si_sdr
from ..pretrained.recipe import logged_metrics, run_recipe
from .declipping import aspade
from .evaluate import item_metrics, result_rows, write_results
from .losses import LOSSES, removal_loss
from .restorer import Restorer


class RemovalModule(pl.LightningModule):
    """Fits a :class:`~dasp_blind.removal.restorer.Restorer` to map degraded audio to clean.

    Batches are dicts with ``degraded`` and ``clean`` ``(batch, 1, samples)``. The loss is the
    paper's eq. 5 by default: minus the batch mean of ``10·log10(‖x‖² / ‖x − x̂‖²)`` over each
    item's whole sequence (``loss="sdr"``); ``"si_sdr"`` and ``"l1"`` are the alternatives.
    Logged: ``*_loss``, ``*_sdr`` and ``*_si_sdr`` of the estimates, ``*_si_sdr_input`` of the
    degraded inputs and their difference ``*_si_sdr_improvement`` (dB, batch means).
    Adam with ``lr``; the learning rate is divided by 10 after ``patience`` validations without
    improvement of ``val_loss`` (the paper: 150 epochs).

    ``dasp-blind test`` also scores every test item (SI-SDR, SDR, MR-STFT distance, R-nonlin) for
    the degraded input, the network and, with ``test_aspade``, A-SPADE on the clipped items,
    and writes the paper's figures as tables and box plots to the log folder
    (:func:`~dasp_blind.removal.evaluate.write_results`: ``removal_results.md``, ``.json`` and
    ``removal_<metric>.png``), grouped by degradation (and by level when the data module draws
    from ``levels``).

    At the end of ``fit`` the restorer is exported to ``<log_dir>/removal_<network>.pt`` with
    its sidecar (:func:`dasp_blind.pretrained.save`), loadable with
    ``dasp_blind.pretrained.load(path)`` and by ``dasp-blind remove --checkpoint``.

    Args:
        network: a name of :data:`~dasp_blind.removal.restorer.NETWORKS`.
        network_args: keyword arguments of the network (its defaults when ``None``).
        sample_rate: sample rate of the data in Hz.
        normalize: per-item peak normalisation around the network (see :class:`Restorer`).
        loss: ``"sdr"`` (eq. 5), ``"si_sdr"`` or ``"l1"``.
        lr: Adam's learning rate.
        patience: validations without improvement before the learning rate drops ×0.1.
        residual: the network estimates a correction added to its input (see
            :class:`Restorer`).
        test_aspade: also run A-SPADE on the hard-clipped test items (slow: about ten times
            real time on a CPU).
    """

    def __init__(self, network: str = "demucs", network_args: dict[str, Any] | None = None,
                 sample_rate: int = 16000, normalize: bool = True, loss: str = "sdr",
                 lr: float = 3e-4, patience: int = 150, residual: bool = False,
                 test_aspade: bool = False):
        super().__init__()
        check_choice(loss, "loss", LOSSES)
        check_positive(lr, "lr")
        check_int(patience, "patience", low=0)
        self.save_hyperparameters()
        self.restorer = Restorer(network, network_args, sample_rate, normalize, residual)

    def forward(self, degraded: Tensor) -> Tensor:
        """The restored signal of ``degraded`` ``(batch, 1, samples)``."""
        return self.restorer(degraded)

    def _step(self, batch: dict[str, Tensor], stage: str) -> tuple[Tensor, Tensor]:
        """Loss and estimate of a batch, with the metrics logged under ``stage``."""
        estimate = self(batch["degraded"])
        clean = batch["clean"]
        loss = removal_loss(estimate, clean, self.hparams.loss)
        with torch.no_grad():
            quality = si_sdr(estimate.detach(), clean).mean()
            baseline = si_sdr(batch["degraded"], clean).mean()
            sdr_loss = loss if self.hparams.loss == "sdr" else removal_loss(
                estimate.detach(), clean, "sdr")
            metrics = {"loss": loss.detach(), "sdr": -sdr_loss.detach(), "si_sdr": quality,
                       "si_sdr_input": baseline, "si_sdr_improvement": quality - baseline}
        self.log_dict({f"{stage}_{k}": v for k, v in metrics.items()},
                      prog_bar=stage != "test", batch_size=clean.shape[0])
        return loss, estimate

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        return self._step(batch, "train")[0]

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def on_test_epoch_start(self) -> None:
        self._test_rows: list[dict[str, Any]] = []

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        _, estimate = self._step(batch, "test")
        clean, degraded = batch["clean"], batch["degraded"]
        datamodule = getattr(self.trainer, "datamodule", None)
        if hasattr(datamodule, "group_names"):
            groups = datamodule.group_names(batch["kind"], batch["setting"])
            kinds = [datamodule.degradations[int(k)].kind for k in batch["kind"]]
        else:
            groups = kinds = [f"kind {int(k)}" for k in batch["kind"]]
        ids = [batch_idx * len(clean) + i for i in range(len(clean))]
        rate = self.hparams.sample_rate
        estimates = {"input": degraded, self.hparams.network: estimate.detach()}
        for method, estimate in estimates.items():
            self._test_rows += result_rows(groups, method, item_metrics(estimate, clean, rate),
                                           ids)
        clipped = [i for i, kind in enumerate(kinds) if kind in ("hard_clip", "clip_to_sdr")]
        if self.hparams.test_aspade and clipped:
            declipped = aspade(degraded[clipped].double(), rate, progress=False)
            self._test_rows += result_rows([groups[i] for i in clipped], "aspade",
                                           item_metrics(declipped, clean[clipped].double(), rate),
                                           [ids[i] for i in clipped])

    def on_test_epoch_end(self) -> None:
        """Write the result tables and box plots to the log folder (rank zero only)."""
        log_dir = self.trainer.log_dir
        if self.trainer.is_global_zero and log_dir is not None and self._test_rows:
            write_results(log_dir, self._test_rows)

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.restorer.parameters(), lr=self.hparams.lr)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=0.1, patience=self.hparams.patience)
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": scheduler, "monitor": "val_loss"}}

    def restorer_init_args(self) -> dict[str, Any]:
        """Keyword arguments that build :attr:`restorer` (its sidecar's ``init_args``)."""
        hp = self.hparams
        return {"network": hp.network, "network_args": dict(hp.network_args or {}),
                "sample_rate": hp.sample_rate, "normalize": hp.normalize,
                "residual": hp.residual}

    def export(self, path: str | Path, recipe: dict[str, Any] | None = None,
               metrics: dict[str, Any] | None = None) -> Path:
        """Write the restorer to ``path`` (``.pt``) and its sidecar, replacing earlier files."""
        return pretrained.save(self.restorer, path, init_args=self.restorer_init_args(),
                               sample_rate=self.hparams.sample_rate,
                               recipe=recipe if recipe is not None else self._recipe(),
                               metrics=metrics if metrics is not None else self._metrics(),
                               overwrite=True)

    def on_fit_end(self) -> None:
        """Export the restorer to the log folder (rank zero only)."""
        log_dir = self.trainer.log_dir  # a collective call under DDP: every rank makes it
        if self.trainer.is_global_zero and log_dir is not None:
            self.export(Path(log_dir) / f"removal_{self.hparams.network}.pt")

    def _recipe(self) -> dict[str, Any]:
        hp = self.hparams
        return run_recipe(self.trainer, loss=hp.loss, lr=hp.lr, patience=hp.patience)

    def _metrics(self) -> dict[str, Any]:
        return logged_metrics(self.trainer, "val", "the validation split of the run's data "
                                                   "module, at the last validation of fit")


__all__ = ["RemovalModule"]
