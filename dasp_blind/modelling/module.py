"""Training of effect models (Wright et al., DAFx 2019 / Appl. Sci. 2020, and the CAFx family).

``dasp-blind fit --config modelling/overdrive_gru`` runs :class:`ModellingModule` on a
:class:`~dasp_blind.modelling.datamodule.ModellingDataModule`.

Recurrent models (an infinite :attr:`receptive_field`) train with **truncated backpropagation
through time**, as Wright's trainer does: per batch, the first ``warmup_samples`` samples run
without gradients to settle the state; then every ``update_samples`` samples the loss of that
stretch is back-propagated, Adam steps, and the state is detached and carried on. Other models
take one step per batch over the whole segment.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor, nn

from .. import pretrained
from .._checks import check_choice, check_int, check_non_negative, check_positive
from ..metrics import esr
from ..pretrained.recipe import initial_state, logged_metrics, run_recipe
from ..removal.crafx import CRAFx
from .losses import PRE_EMPHASIS, ModellingLoss
from .plugin import save_guitarml, save_rtneural
from .rnn import RNNModel
from .tcn import TCN
from .transformer import SpectrogramTransformer

#: Model classes by name (``model_args`` are their keyword arguments).
MODELS: dict[str, type[nn.Module]] = {"rnn": RNNModel, "tcn": TCN, "cafx": CRAFx,
                                        "transformer": SpectrogramTransformer}


def build_model(name: str, args: dict[str, Any] | None = None) -> nn.Module:
    """The model ``MODELS[name](**args)``."""
    check_choice(name, "model", tuple(MODELS))
    return MODELS[name](**dict(args or {}))


def _num_controls(model: nn.Module) -> int:
    return int(getattr(model, "num_controls", 0))


def run_model(model: nn.Module, x: Tensor, controls: Tensor | None) -> Tensor:
    """``model(x, controls)`` for a conditioned model, ``model(x)`` otherwise."""
    return model(x, controls) if _num_controls(model) else model(x)


class ModellingModule(pl.LightningModule):
    """Fits an effect model to map ``input`` to ``target``.

    Batches are dicts with ``input`` and ``target`` ``(batch, 1, samples)`` and, for a
    conditioned model, ``controls`` ``(batch, num_controls)``. The loss is
    :class:`~dasp_blind.modelling.losses.ModellingLoss` of ``loss_terms`` (default: Wright's
    0.75·pre-emphasised ESR + 0.25·DC). Logged per stage: ``*_loss``, each term as
    ``*_<term>``, and ``*_esr`` (pre-emphasised ESR ``1 − 0.85 z⁻¹`` of the batch) and
    ``*_esr_raw`` (no filter), measured after the first ``warmup_samples`` of every segment
    (the state's settling time). Adam with ``lr`` and ``weight_decay``; the learning rate is
    halved after ``patience`` validations without improvement of ``val_loss``.

    At the end of ``fit`` the model is exported to ``<log_dir>/modelling_<model>.pt`` with its
    sidecar (:func:`dasp_blind.pretrained.save`) and, for a one-layer-input RNN without the
    pre-net, to the plugin formats ``modelling_rnn.guitarml.json`` and
    ``modelling_rnn.rtneural.json`` beside it.

    Args:
        model: a name of :data:`MODELS`.
        model_args: keyword arguments of the model (its defaults when ``None``).
        sample_rate: sample rate of the data in Hz (recorded with the exported weights).
        loss_terms: ``{term: weight}`` of :class:`~dasp_blind.modelling.losses.ModellingLoss`.
        lr: Adam's learning rate (Wright: 5e-3).
        weight_decay: Adam's weight decay (Wright: 1e-4).
        patience: validations without improvement before the learning rate halves.
        warmup_samples: samples run without gradients at the start of each segment (Wright:
            200), also left out of the logged metrics.
        update_samples: samples per truncated-BPTT update of a recurrent model (Wright: 1000);
            0 back-propagates through the whole segment.
        init_weights: weights to start from (fine-tuning, e.g. a shipped model on your own
            recordings): a :mod:`dasp_blind.pretrained` name (``"overdrive_gru48"``) or the path
            of a ``.pt`` exported by an earlier run, of the same model class and ``model_args``.
            The optimiser starts afresh (unlike ``--ckpt_path``, which also restores its state
            and the decayed learning rate).
        grad_clip: ``> 0``: the gradients' global norm is clipped to it before every update
            (a guard for conditioned models, whose loud settings can blow a step up); ``0``
            (Wright's recipe) leaves them alone.
    """

    def __init__(self, model: str = "rnn", model_args: dict[str, Any] | None = None,
                 sample_rate: int = 44100, loss_terms: dict[str, float] | None = None,
                 lr: float = 5e-3, weight_decay: float = 1e-4, patience: int = 5,
                 warmup_samples: int = 200, update_samples: int = 1000,
                 grad_clip: float = 0.0, init_weights: str | None = None):
        super().__init__()
        check_int(sample_rate, "sample_rate", low=1)
        check_positive(lr, "lr")
        check_non_negative(weight_decay, "weight_decay")
        check_int(patience, "patience", low=0)
        check_int(warmup_samples, "warmup_samples", low=0)
        check_int(update_samples, "update_samples", low=0)
        check_non_negative(grad_clip, "grad_clip")
        self.save_hyperparameters()
        self.model = build_model(model, model_args)
        if init_weights is not None:
            self.model.load_state_dict(initial_state(init_weights, dict(model_args or {}),
                                                     model_class=type(self.model)))
        self.loss = ModellingLoss(loss_terms)
        self.automatic_optimization = False

    @property
    def recurrent(self) -> bool:
        """Whether the model trains by truncated BPTT (a stateful model with an infinite
        receptive field)."""
        return (hasattr(self.model, "forward_with_state")
                and getattr(self.model, "receptive_field", 0) == math.inf)

    def forward(self, x: Tensor, controls: Tensor | None = None) -> Tensor:
        """The model's output for ``x`` ``(batch, 1, samples)``."""
        return run_model(self.model, x, controls)

    def _check_batch(self, batch: dict[str, Tensor]) -> Tensor | None:
        controls = batch.get("controls")
        wanted = _num_controls(self.model)
        given = 0 if controls is None else controls.shape[-1]
        if given != wanted:
            raise ValueError(f"the data carry {given} control(s) per item but the model takes "
                             f"{wanted} (set model_args.num_controls, or the data's controls)")
        return controls

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        controls = self._check_batch(batch)
        x, y = batch["input"], batch["target"]
        optimizer = self.optimizers()
        warm = min(self.hparams.warmup_samples, x.shape[-1] - 1)
        if not self.recurrent:
            return self._log_train(self._update(optimizer, self(x, controls)[..., warm:],
                                                y[..., warm:]), y)
        state = self.model.initial_state(x.shape[0], x.device, x.dtype)
        if warm:
            with torch.no_grad():
                _, state = self.model.forward_with_state(x[..., :warm], controls, state)
        step = self.hparams.update_samples or x.shape[-1]
        losses = []
        for start in range(warm, x.shape[-1], step):
            stop = min(start + step, x.shape[-1])
            estimate, state = self.model.forward_with_state(x[..., start:stop], controls, state)
            losses.append(self._update(optimizer, estimate, y[..., start:stop]))
            state = state.detach()
        return self._log_train(torch.stack(losses).mean(), y)

    def _update(self, optimizer: Any, estimate: Tensor, target: Tensor) -> Tensor:
        """One Adam step on the loss of ``estimate``; returns the (detached) loss."""
        loss = self.loss(estimate, target)
        optimizer.zero_grad()
        self.manual_backward(loss)
        if self.hparams.grad_clip > 0:
            self.clip_gradients(optimizer, gradient_clip_val=self.hparams.grad_clip,
                                gradient_clip_algorithm="norm")
        optimizer.step()
        return loss.detach()

    def _log_train(self, loss: Tensor, target: Tensor) -> Tensor:
        self.log("train_loss", loss, prog_bar=True, batch_size=target.shape[0])
        return loss

    def _evaluate(self, batch: dict[str, Tensor], stage: str) -> Tensor:
        controls = self._check_batch(batch)
        x, y = batch["input"], batch["target"]
        warm = min(self.hparams.warmup_samples, x.shape[-1] - 1)
        estimate, y = self(x, controls)[..., warm:], y[..., warm:]
        terms = self.loss.components(estimate, y)
        loss = sum(self.loss.terms[name] * value for name, value in terms.items())
        flat = (estimate.reshape(1, 1, -1), y.reshape(1, 1, -1))
        metrics = {"loss": loss, "esr": esr(*flat, PRE_EMPHASIS)[0], "esr_raw": esr(*flat)[0],
                   **terms}
        self.log_dict({f"{stage}_{k}": v for k, v in metrics.items()},
                      prog_bar=stage == "val", batch_size=y.shape[0])
        return loss

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def on_validation_epoch_end(self) -> None:
        """Step the plateau scheduler on ``val_loss`` (manual optimisation)."""
        value = self.trainer.callback_metrics.get("val_loss")
        if value is not None and not self.trainer.sanity_checking:
            self.lr_schedulers().step(value)

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.model.parameters(), lr=self.hparams.lr,
                                     weight_decay=self.hparams.weight_decay)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=0.5, patience=self.hparams.patience)
        return {"optimizer": optimizer, "lr_scheduler": scheduler}

    def export(self, path: str | Path, recipe: dict[str, Any] | None = None,
               metrics: dict[str, Any] | None = None) -> Path:
        """Write the model to ``path`` (``.pt``) and its sidecar, replacing earlier files; an
        :class:`RNNModel` without pre-net also to ``<stem>.guitarml.json`` and
        ``<stem>.rtneural.json`` (plugin formats) beside it."""
        hp = self.hparams
        written = pretrained.save(self.model, path, init_args=dict(hp.model_args or {}),
                                  sample_rate=hp.sample_rate,
                                  recipe=recipe if recipe is not None else self._recipe(),
                                  metrics=metrics if metrics is not None else self._metrics(),
                                  overwrite=True)
        if isinstance(self.model, RNNModel) and self.model.pre_hidden == 0:
            stem = written.with_suffix("")
            save_guitarml(self.model, f"{stem}.guitarml.json", hp.sample_rate, overwrite=True)
            save_rtneural(self.model, f"{stem}.rtneural.json", hp.sample_rate, overwrite=True)
        return written

    def on_fit_end(self) -> None:
        """Export the model to the log folder (rank zero only)."""
        log_dir = self.trainer.log_dir  # a collective call under DDP: every rank makes it
        if self.trainer.is_global_zero and log_dir is not None:
            self.export(Path(log_dir) / f"modelling_{self.hparams.model}.pt")

    def _recipe(self) -> dict[str, Any]:
        hp = self.hparams
        return run_recipe(self.trainer, loss_terms=dict(self.loss.terms), lr=hp.lr,
                          weight_decay=hp.weight_decay, warmup_samples=hp.warmup_samples,
                          update_samples=hp.update_samples, grad_clip=hp.grad_clip,
                          init_weights=(None if hp.init_weights is None
                                        else str(hp.init_weights)))

    def _metrics(self) -> dict[str, Any]:
        return logged_metrics(self.trainer, "val", "the validation split of the run's data "
                                                   "module, at the last validation of fit")


__all__ = ["MODELS", "ModellingModule", "build_model", "run_model"]
