"""Training the compressor proxy: a real Lightning Trainer, the CLI, and the exported weights."""

import json
import subprocess
import sys
from pathlib import Path

import pytorch_lightning as pl
import torch

from dasp_blind.data.modules import EffectDataModule
from dasp_blind.effects import Compressor, ProxyCompressor
from dasp_blind.pretrained import load_compressor_proxy
from dasp_blind.training.proxy import CompressorProxyModule

SR = 16000


def small_data(**kwargs) -> EffectDataModule:
    args = dict(effect=Compressor(SR), duration_s=0.25, sample_rate=SR, batch_size=4,
                train_items=8, val_items=4, test_items=4, seed=0)
    return EffectDataModule(**{**args, **kwargs})


def test_trainer_fit_reduces_loss_and_exports(tmp_path):
    pl.seed_everything(0)
    module = CompressorProxyModule(sample_rate=SR, lr=1e-2)
    data = small_data()
    data.setup()
    batch = next(iter(data.val_dataloader()))
    before = [p.detach().clone() for p in module.proxy.parameters()]
    module.eval()
    with torch.no_grad():
        loss_before = module._losses(batch)[1].item()
    trainer = pl.Trainer(max_steps=12, default_root_dir=tmp_path, logger=pl.loggers.CSVLogger(
        tmp_path), enable_checkpointing=False, enable_progress_bar=False, log_every_n_steps=1)
    trainer.fit(module, datamodule=data)
    module.eval()
    with torch.no_grad():
        loss_after = module._losses(batch)[1].item()
    assert loss_after < loss_before
    assert any(not torch.equal(a, b) for a, b in zip(before, module.proxy.parameters(),
                                                       strict=True))
    weights = Path(trainer.log_dir) / "compressor_proxy.pt"
    meta = json.loads(weights.with_suffix(".json").read_text())
    assert meta["sample_rate"] == SR and meta["steps"] == 12
    proxy, loaded_meta = load_compressor_proxy(str(weights))
    assert loaded_meta == meta
    for a, b in zip(proxy.state_dict().values(), module.proxy.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    effect = ProxyCompressor(SR, proxy=proxy, proxy_sample_rate=meta["sample_rate"])
    assert torch.allclose(effect(batch["dry"], batch["q"]), module(batch["dry"], batch["q"]))


def test_cli_fit_runs_the_shipped_config(tmp_path):
    script = Path(sys.executable).parent / "dasp-blind"
    result = subprocess.run(
        [str(script), "fit", "--config", "proxy/compressor",  # the packaged config, from any cwd
         "--trainer.max_steps", "2", "--trainer.default_root_dir", str(tmp_path),
         "--trainer.limit_val_batches", "1", "--trainer.enable_progress_bar", "false",
         "--data.init_args.train_items", "8", "--data.init_args.val_items", "4",
         "--data.init_args.duration_s", "0.2", "--data.init_args.num_workers", "1"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    exported = list(tmp_path.rglob("compressor_proxy.pt"))
    assert len(exported) == 1
    state = torch.load(exported[0], weights_only=True)
    assert sum(v.numel() for k, v in state.items() if "running" not in k
               and "num_batches" not in k) == 8004
