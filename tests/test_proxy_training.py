"""Training the compressor proxy: a real Lightning Trainer, the CLI, and the exported weights."""

import json
import math
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from _signals import seeded
from _tolerances import PROXY_GROWTH, assert_within_rounding

from dasp_blind import pretrained
from dasp_blind.data.modules import EffectDataModule
from dasp_blind.effects import Compressor, ProxyCompressor
from dasp_blind.modelling.proxy import CompressorProxyModule
from dasp_blind.nn import PROXY_CONTROLS

SR = 16000


def small_data(**kwargs) -> EffectDataModule:
    args = dict(effect=Compressor(SR), duration_s=0.25, sample_rate=SR, batch_size=4,
                train_items=8, val_items=4, test_items=4, seed=0)
    return EffectDataModule(**{**args, **kwargs})


def seeded_default_init(module: torch.nn.Module, seed: int) -> None:
    """PyTorch's default initialisation of every Linear and Conv1d in ``module`` (weights and
    biases uniform in ±1/sqrt(fan_in)), drawn from ``seed`` instead of the global generator."""
    gen = seeded(seed)
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, (torch.nn.Linear, torch.nn.Conv1d)):
                bound = 1 / math.sqrt(layer.weight[0].numel())
                for p in (layer.weight, layer.bias):
                    if p is not None:
                        p.uniform_(-bound, bound, generator=gen)


def test_trainer_fit_reduces_loss_and_exports(tmp_path):
    module = CompressorProxyModule(sample_rate=SR, lr=1e-2)
    seeded_default_init(module, seed=0)
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
    assert meta["class_path"] == "dasp_blind.nn.tcn.TCNCompressorProxy"
    assert meta["init_args"] == {"kernel_size": 13, "num_blocks": 5, "dilation_growth": 10,
                                 "channels": 8, "controls": list(PROXY_CONTROLS)}
    assert meta["sample_rate"] == SR and meta["recipe"]["steps"] == 12
    # no seed_everything in this test: the recipe says so; the data's own seed is recorded
    assert meta["recipe"]["seed"] is None and meta["recipe"]["data"]["seed"] == 0
    assert set(meta["metrics"]) == {"val_loss", "val_mae", "measured_on"}
    assert pretrained.info(weights) == meta
    proxy = pretrained.load(weights)
    for a, b in zip(proxy.state_dict().values(), module.proxy.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    effect = ProxyCompressor(SR, proxy=weights)
    assert_within_rounding(effect(batch["dry"], batch["q"]), module(batch["dry"], batch["q"]),
                           ops=2 * PROXY_GROWTH["ops"], terms=PROXY_GROWTH["terms"])
    resumed = CompressorProxyModule(sample_rate=SR, init_weights=str(weights))
    assert torch.equal(resumed.proxy.head.weight, module.proxy.head.weight)
    with pytest.raises(ValueError, match="init_weights"):
        CompressorProxyModule(sample_rate=SR, channels=4, init_weights=str(weights))


def test_cli_fit_runs_the_shipped_config(tmp_path, run_cli):
    result = run_cli(
        "fit", "--config", "proxy/compressor",  # the packaged config, from any folder
        "--trainer.max_steps", "2", "--trainer.default_root_dir", str(tmp_path),
        "--trainer.limit_val_batches", "1", "--trainer.enable_progress_bar", "false",
        "--data.init_args.train_items", "8", "--data.init_args.val_items", "4",
        "--data.init_args.duration_s", "0.2", "--data.init_args.num_workers", "1",
        cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    exported = list(tmp_path.rglob("compressor_proxy.pt"))
    assert len(exported) == 1
    state = torch.load(exported[0], weights_only=True)
    assert sum(v.numel() for k, v in state.items() if "running" not in k
               and "num_batches" not in k) == 8004
    recipe = pretrained.info(exported[0])["recipe"]
    assert recipe["command"].startswith("dasp-blind fit --config") and recipe["steps"] == 2
