"""``BlindEstimator``: the LightningModule that trains an :class:`Estimator`.

The data module makes ``y = synthesis(x, q)`` from dry clips ``x`` and random controls ``q``
(in its DataLoader workers); the estimator sees ``y`` alone and outputs ``q̂``; the analysis
effect renders ``ŷ = analysis(x, q̂)``. Training minimises the mel loss between ``ŷ`` and ``y``
(``loss="mel"``, the auto-encoder of the BE-AFX paper) or ``10·MSE(q̂, q)`` (``loss="params"``,
only when the analysis effect is the synthesis effect).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor

from .. import pretrained
from ..effects.catalog import EffectSpec
from ..pretrained.recipe import initial_state, logged_metrics, run_recipe
from .estimator import HEAD_HIDDEN, EncoderSpec, Estimator
from .losses import mel_loss, mrstft_loss, mse_q, mse_y
from .tables import result_rows, write_results

LOSSES = ("mel", "params")
#: Factor of the parameter MSE in the ``params`` loss (the reference's).
PARAMS_LOSS_SCALE = 10.0


class BlindEstimator(pl.LightningModule):
    """Trains encoder + head to estimate the controls of ``analysis`` from wet audio.

    Batches are ``{"dry": (B, C, T), "wet": (B, C, T), "q": (B, P_synthesis)}``
    (:class:`~dasp_blind.data.modules.EffectDataModule`). Logged per split (``train/``,
    ``val/``, ``test/``): ``loss``, ``mel`` (L_mel), ``mse_y``, ``mrstft`` and, when the
    synthesis and analysis effects have the same parameters, ``mse_q``. Validation and test
    also log the two baselines of the paper's tables: ``random_mel`` / ``random_mse_y`` (ŷ
    rendered with uniformly random controls) and ``dry_mel`` / ``dry_mse_y`` (the dry signal
    itself as ŷ, "L(x, y)").

    Inference goes through the :class:`Estimator` in :attr:`model`, which this module also
    exposes: :meth:`estimate`, :meth:`estimate_q`, :attr:`analysis`. At the end of ``fit`` the
    estimator is exported to ``<log_dir>/estimator.pt`` with its :mod:`dasp_blind.pretrained`
    sidecar (recipe and last validation metrics), so ``dasp_blind.pretrained.load(path)``
    returns a ready :class:`Estimator`.

    Args:
        analysis: effect spec of the analysis effect (:func:`dasp_blind.effects.catalog.from_spec`).
        encoder: encoder name or ``{"name": ..., **kwargs}``.
        loss: ``"mel"`` or ``"params"``.
        sample_rate: sample rate in Hz.
        hidden: hidden sizes of the MLP head.
        window_s: analysis window of :meth:`estimate_q` for long inputs (seconds).
        lr: Adam learning rate (reference 1e-4).
        lr_factor: ReduceLROnPlateau factor (0.1).
        lr_patience: ReduceLROnPlateau patience in epochs (30).
        baseline_seed: seed of the random controls of the ``random_*`` baseline (not
            ``seed``, which a data module uses: Lightning refuses equal names with other values).
        init_weights: start from these weights (fine-tuning): a :mod:`dasp_blind.pretrained`
            name or the path of an exported ``estimator.pt``; its analysis effect, encoder,
            rate and head sizes must be this module's.
    """

    def __init__(self, analysis: EffectSpec, encoder: EncoderSpec = "tfe", loss: str = "mel",
                 sample_rate: int = 44100, hidden: Sequence[int] = HEAD_HIDDEN,
                 window_s: float = 10.0, lr: float = 1e-4, lr_factor: float = 0.1,
                 lr_patience: int = 30, baseline_seed: int = 0, init_weights: str | None = None):
        super().__init__()
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        self.save_hyperparameters()
        self.model = Estimator(analysis, encoder, sample_rate, hidden, window_s)
        self._synthesis_names: list[str] | None = None
        self._synthesis_label = "?"
        if init_weights is not None:
            # the window may differ: it is not a weight
            self.model.load_state_dict(initial_state(init_weights, self.estimator_init_args(),
                                                     ignore=("window_s",)))

    # ------------------------------------------------------------------ inference API
    @property
    def analysis(self):
        """The effect that renders audio from the estimate."""
        return self.model.analysis

    def forward(self, wet: Tensor) -> Tensor:
        """Normalised controls ``(B, P)`` of one window ``(B, C, T)``."""
        return self.model(wet)

    def estimate_q(self, wet: Tensor, window_s: float | None = None) -> Tensor:
        """See :meth:`Estimator.estimate_q`."""
        return self.model.estimate_q(wet, window_s)

    def estimate(self, wet: Tensor, window_s: float | None = None) -> dict[str, Tensor]:
        """See :meth:`Estimator.estimate`."""
        return self.model.estimate(wet, window_s)

    # ------------------------------------------------------------------ training
    def setup(self, stage: str) -> None:
        """Learn the synthesis effect's parameter names from the data module, if it has one."""
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer else None
        effect = getattr(datamodule, "effect", None)
        self._synthesis_names = (None if effect is None
                                 else list(effect.param_space.names))
        inner = getattr(effect, "effects", None)
        self._synthesis_label = ("?" if effect is None else type(effect).__name__ if inner is None
                                 else " + ".join(type(e).__name__ for e in inner.values()))
        if self.hparams.loss == "params" and not self._params_comparable(None):
            raise ValueError(f"loss='params' needs the data's synthesis effect to be the "
                             f"analysis effect; synthesis parameters {self._synthesis_names}, "
                             f"analysis parameters {self.model.param_names}")

    def _params_comparable(self, q: Tensor | None) -> bool:
        """Whether the batch's ``q`` are controls of the analysis effect."""
        if self._synthesis_names is not None:
            return self._synthesis_names == self.model.param_names
        return q is not None and q.shape[-1] == len(self.model.param_names)

    def _metrics(self, batch: dict[str, Tensor], stage: str) -> dict[str, Tensor]:
        dry, wet, q = batch["dry"], batch["wet"], batch["q"]
        q_hat = self.model(wet)
        rendered = self.model.analysis(dry, q_hat)
        rate = self.hparams.sample_rate
        metrics = {"mel": mel_loss(rendered, wet, rate), "mse_y": mse_y(rendered, wet)}
        comparable = self._params_comparable(q)
        if comparable:
            metrics["mse_q"] = mse_q(q_hat, q.to(q_hat.dtype))
        metrics["loss"] = (PARAMS_LOSS_SCALE * metrics["mse_q"] if self.hparams.loss == "params"
                           else metrics["mel"])
        if stage != "train":
            metrics["mrstft"] = mrstft_loss(rendered, wet)
            metrics.update(self._baselines(dry, wet))
        return metrics

    def _baselines(self, dry: Tensor, wet: Tensor) -> dict[str, Tensor]:
        """The random-controls and dry-signal baselines of the paper's tables."""
        generator = torch.Generator().manual_seed(self.hparams.baseline_seed)
        q_random = torch.rand(dry.shape[0], self.model.analysis.num_params,
                              generator=generator).to(dry)
        random = self.model.analysis(dry, q_random)
        rate = self.hparams.sample_rate
        return {"random_mel": mel_loss(random, wet, rate), "random_mse_y": mse_y(random, wet),
                "dry_mel": mel_loss(dry, wet, rate), "dry_mse_y": mse_y(dry, wet)}

    def _step(self, batch: dict[str, Tensor], stage: str) -> dict[str, Tensor]:
        metrics = self._metrics(batch, stage)
        self.log_dict({f"{stage}/{k}": v for k, v in metrics.items()},
                      prog_bar=stage != "test", batch_size=batch["wet"].shape[0],
                      sync_dist=stage != "train")
        return metrics

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        return self._step(batch, "train")["loss"]

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def on_test_epoch_start(self) -> None:
        self._test_sums: dict[str, float] = {}
        self._test_clips = 0

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        metrics = self._step(batch, "test")
        size = batch["wet"].shape[0]
        for key, value in metrics.items():
            self._test_sums[key] = self._test_sums.get(key, 0.0) + float(value) * size
        self._test_clips += size

    def on_test_epoch_end(self) -> None:
        """Write the paper's table rows of this run to the log folder (rank zero only)."""
        log_dir = self.trainer.log_dir  # a collective call under DDP: every rank makes it
        if not self._test_clips or not self.trainer.is_global_zero or log_dir is None:
            return
        means = {k: v / self._test_clips for k, v in self._test_sums.items()}
        hp = self.hparams
        setting = f"{self._synthesis_label} -> {_describe(hp.analysis)}"
        rows = result_rows(setting, _describe(hp.encoder), hp.loss, means, self._test_clips)
        write_results(rows, log_dir)

    def configure_optimizers(self) -> dict[str, Any]:
        # the analysis effect is fixed (a neural proxy inside it is frozen): encoder and head only
        trained = [*self.model.encoder.parameters(), *self.model.head.parameters()]
        optimizer = torch.optim.Adam(trained, lr=self.hparams.lr)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=self.hparams.lr_factor, patience=self.hparams.lr_patience)
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": scheduler, "monitor": "val/loss"}}


    # ------------------------------------------------------------------ export
    def estimator_init_args(self) -> dict[str, Any]:
        """Keyword arguments that build :attr:`model` (its sidecar's ``init_args``)."""
        hp = self.hparams
        return {"analysis": _plain(hp.analysis), "encoder": _plain(hp.encoder),
                "sample_rate": hp.sample_rate, "hidden": list(hp.hidden),
                "window_s": hp.window_s}

    def on_fit_end(self) -> None:
        """Export the estimator to the log folder (rank zero only)."""
        log_dir = self.trainer.log_dir  # a collective call under DDP: every rank makes it
        if not self.trainer.is_global_zero or log_dir is None:
            return
        init_args = self.estimator_init_args()
        try:
            json.dumps(init_args)
        except TypeError:
            warnings.warn("the estimator was not exported: its analysis effect or encoder was "
                          "given as an object, not as a spec (plain data)", stacklevel=2)
            return
        hp = self.hparams
        recipe = run_recipe(self.trainer, loss=hp.loss, lr=hp.lr,
                            init_weights=None if hp.init_weights is None
                            else str(hp.init_weights))
        metrics = logged_metrics(self.trainer, "val/", "the validation split of the run's "
                                                       "data module, at the last validation")
        pretrained.save(self.model, Path(log_dir) / "estimator.pt",
                        init_args=init_args, sample_rate=hp.sample_rate, recipe=recipe,
                        metrics=metrics, overwrite=True)


def _describe(spec: Any) -> str:
    """A short text for an effect or encoder spec."""
    plain = _plain(spec)
    if isinstance(plain, dict):
        if "name" in plain:
            extra = ", ".join(f"{k}={v}" for k, v in plain.items() if k != "name")
            return f"{plain['name']}({extra})" if extra else str(plain["name"])
        return " + ".join(_describe(v) for v in plain.values())
    return str(plain) if isinstance(plain, str) else type(plain).__name__


def _plain(spec: Any) -> Any:
    """A spec with its mappings as plain dicts (jsonargparse may hand over its own types)."""
    if isinstance(spec, dict) or hasattr(spec, "items"):
        return {str(k): _plain(v) for k, v in spec.items()}
    return spec


__all__ = ["LOSSES", "PARAMS_LOSS_SCALE", "BlindEstimator"]
