"""Training of the neural-proxy compressor against the DSP compressor.

``dasp-blind fit --config proxy/compressor`` (the packaged config) runs it with
:class:`~dasp_blind.data.modules.EffectDataModule` drawing (dry, DSP-compressed, q) triples.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import auraloss
import pytorch_lightning as pl
import torch
from torch import Tensor

from .. import pretrained
from ..effects.dynamics import compressor_param_specs
from ..nn.tcn import PROXY_CONTROLS, TCNCompressorProxy
from ..params import ParamSpace
from ..pretrained.recipe import initial_state, logged_metrics, run_recipe

#: Hyperparameters of :class:`CompressorProxyModule` that build the network.
ARCHITECTURE = ("kernel_size", "num_blocks", "dilation_growth", "channels")


class CompressorProxyModule(pl.LightningModule):
    """Fits a :class:`~dasp_blind.nn.TCNCompressorProxy` to the DSP compressor.

    Batches are dicts with ``dry`` and ``wet`` ``(batch, 1, samples)`` and ``q``
    ``(batch, 6)``, the normalised controls of :class:`~dasp_blind.effects.Compressor`.
    Loss: L1 + ``stft_weight`` × multi-resolution STFT (auraloss). At the end of ``fit`` the
    proxy is exported to ``<log_dir>/compressor_proxy.pt`` and its ``.json`` sidecar in the
    :mod:`dasp_blind.pretrained` format (replacing the export of an earlier fit in the same log
    folder), so ``dasp_blind.pretrained.load(path)`` or ``ProxyCompressor(proxy=path)`` loads
    it.

    Args:
        kernel_size: TCN kernel size (reference: 13).
        num_blocks: TCN blocks (5).
        dilation_growth: dilation of block ``i`` is ``growth**i`` (10).
        channels: channels of every block (8).
        lr: Adam learning rate.
        stft_weight: weight of the multi-resolution STFT loss.
        sample_rate: sample rate of the training data in Hz.
        init_weights: weights to start from (fine-tuning): a :mod:`dasp_blind.pretrained` name
            (``"compressor_proxy"``) or the path of a ``compressor_proxy.pt`` exported by an
            earlier run; its architecture must match this module's.
    """

    def __init__(self, kernel_size: int = 13, num_blocks: int = 5, dilation_growth: int = 10,
                 channels: int = 8, lr: float = 3e-3, stft_weight: float = 1.0,
                 sample_rate: int = 44100, init_weights: str | None = None):
        super().__init__()
        self.save_hyperparameters()
        self.proxy = TCNCompressorProxy(kernel_size, num_blocks, dilation_growth, channels,
                                        controls=PROXY_CONTROLS)
        if init_weights is not None:
            self.proxy.load_state_dict(initial_state(init_weights, self.proxy_init_args()))
        self.param_space = ParamSpace(compressor_param_specs())
        self.control_index = [self.param_space.index(n) for n in PROXY_CONTROLS]
        self.stft_loss = auraloss.freq.MultiResolutionSTFTLoss()

    def forward(self, dry: Tensor, q: Tensor) -> Tensor:
        """Proxy output for audio ``(batch, channels, samples)`` and controls ``(batch, 6)``."""
        params = self.param_space.denormalize(q)
        return self.proxy(dry, q[:, self.control_index], params["threshold_db"],
                          params["makeup_db"])

    def _losses(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        estimate = self(batch["dry"], batch["q"])
        l1 = torch.nn.functional.l1_loss(estimate, batch["wet"])
        if self.hparams.stft_weight == 0:
            return l1, l1
        return l1, l1 + self.hparams.stft_weight * self.stft_loss(estimate, batch["wet"])

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        l1, loss = self._losses(batch)
        self.log_dict({"train/loss": loss, "train/mae": l1}, prog_bar=True)
        return loss

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        l1, loss = self._losses(batch)
        self.log_dict({"val_loss": loss, "val_mae": l1}, prog_bar=True)

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        l1, loss = self._losses(batch)
        self.log_dict({"test_loss": loss, "test_mae": l1})

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.proxy.parameters(), lr=self.hparams.lr)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2)
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": scheduler, "monitor": "val_loss"}}

    def proxy_init_args(self) -> dict[str, Any]:
        """Keyword arguments that build :attr:`proxy` (its sidecar's ``init_args``)."""
        return {**{k: self.hparams[k] for k in ARCHITECTURE}, "controls": list(self.proxy.controls)}

    def on_fit_end(self) -> None:
        """Export the proxy to the log folder (rank zero only)."""
        log_dir = self.trainer.log_dir  # a collective call under DDP: every rank makes it
        if self.trainer.is_global_zero and log_dir is not None:
            export_proxy(self.proxy, Path(log_dir) / "compressor_proxy.pt",
                         init_args=self.proxy_init_args(), sample_rate=self.hparams.sample_rate,
                         recipe=self._recipe(), metrics=self._validation_metrics())

    def _recipe(self) -> dict[str, Any]:
        """What this run knows of how its weights were made."""
        return run_recipe(self.trainer, lr=self.hparams.lr, stft_weight=self.hparams.stft_weight,
                          init_weights=(None if self.hparams.init_weights is None
                                        else str(self.hparams.init_weights)))

    def _validation_metrics(self) -> dict[str, Any]:
        """The last validation's ``val_*`` metrics, or ``{}`` if none ran."""
        return logged_metrics(self.trainer, "val", "the validation split of the run's data "
                                                   "module, at the last validation of fit")


def export_proxy(proxy: TCNCompressorProxy, path: Path, *, init_args: dict[str, Any],
                 sample_rate: float, recipe: dict[str, Any], metrics: dict[str, Any]) -> Path:
    """Write ``proxy`` to ``path`` (a ``.pt`` state dict) and its ``.json`` sidecar with
    :func:`dasp_blind.pretrained.save`, replacing earlier files there."""
    return pretrained.save(proxy, path, init_args=init_args, sample_rate=sample_rate,
                           recipe=recipe, metrics=metrics, overwrite=True)
