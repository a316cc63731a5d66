"""Training of the neural-proxy compressor against the DSP compressor.

``dasp-blind fit --config configs/proxy/compressor.yaml`` runs it with
:class:`~dasp_blind.data.modules.EffectDataModule` drawing (dry, DSP-compressed, q) triples.
"""

from __future__ import annotations

import json
from pathlib import Path

import auraloss
import pytorch_lightning as pl
import torch
from torch import Tensor

from ..effects.dynamics import compressor_param_specs
from ..nn.tcn import TCNCompressorProxy
from ..params import ParamSpace

#: Controls the proxy is conditioned on (normalised), in this order.
PROXY_CONTROLS = ("attack_ms", "release_ms", "ratio", "knee_db")


class CompressorProxyModule(pl.LightningModule):
    """Fits a :class:`~dasp_blind.nn.TCNCompressorProxy` to the DSP compressor.

    Batches are dicts with ``dry`` and ``wet`` ``(batch, 1, samples)`` and ``q``
    ``(batch, 6)``, the normalised controls of :class:`~dasp_blind.effects.Compressor`.
    Loss: L1 + ``stft_weight`` × multi-resolution STFT (auraloss). At the end of ``fit`` the
    proxy's weights and architecture are written to ``<log_dir>/compressor_proxy.pt`` and
    ``compressor_proxy.json``.

    Args:
        kernel_size: TCN kernel size (reference: 13).
        num_blocks: TCN blocks (5).
        dilation_growth: dilation of block ``i`` is ``growth**i`` (10).
        channels: channels of every block (8).
        lr: Adam learning rate.
        stft_weight: weight of the multi-resolution STFT loss.
        sample_rate: sample rate of the training data in Hz.
        init_weights: a ``compressor_proxy.pt`` to start from (fine-tuning), loaded with
            ``weights_only=True``.
    """

    def __init__(self, kernel_size: int = 13, num_blocks: int = 5, dilation_growth: int = 10,
                 channels: int = 8, lr: float = 3e-3, stft_weight: float = 1.0,
                 sample_rate: int = 44100, init_weights: str | None = None):
        super().__init__()
        self.save_hyperparameters()
        self.proxy = TCNCompressorProxy(kernel_size, num_blocks, dilation_growth, channels,
                                        num_controls=len(PROXY_CONTROLS))
        if init_weights is not None:
            self.proxy.load_state_dict(torch.load(init_weights, map_location="cpu",
                                                  weights_only=True))
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

    def on_fit_end(self) -> None:
        if self.trainer.is_global_zero and self.trainer.log_dir is not None:
            export_proxy(self.proxy, Path(self.trainer.log_dir), self.hparams,
                         steps=self.trainer.global_step)


def export_proxy(proxy: TCNCompressorProxy, out_dir: Path, hparams, steps: int) -> Path:
    """Write ``compressor_proxy.pt`` (a plain state dict) and ``compressor_proxy.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / "compressor_proxy.pt"
    state = {k: v.detach().cpu().clone() for k, v in proxy.state_dict().items()}
    torch.save(state, weights)
    meta = {k: hparams[k] for k in ("kernel_size", "num_blocks", "dilation_growth", "channels",
                                     "sample_rate")}
    meta.update(controls=list(PROXY_CONTROLS), steps=int(steps))
    (out_dir / "compressor_proxy.json").write_text(json.dumps(meta, indent=2) + "\n")
    return weights
