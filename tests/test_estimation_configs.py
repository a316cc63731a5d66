"""Every packaged estimation config builds its model and data and takes a training step."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

import dasp_blind
from dasp_blind.data.modules import EffectDataModule
from dasp_blind.estimation.module import BlindEstimator

CONFIGS = sorted((Path(dasp_blind.__file__).parent / "configs" / "estimation").glob("*.yaml"))
# 16 kHz instead of the configs' 44.1 kHz and TE instead of TFE, to keep the test fast; the
# neural proxy runs only at its training rate and the graphic EQ's top band is at 16 kHz:
# those run at 44.1 kHz
SR = 16000
FULL_RATE = ("proxy", "hybrid", "geq")


def test_every_setting_of_the_paper_has_a_config():
    names = {p.stem for p in CONFIGS}
    assert names == {"peq", "geq", "compressor_dsp", "compressor_proxy", "compressor_hybrid",
                     "compressor_hybrid_reference", "compressor_simplified",
                     "clipper_parametric", "clipper_taylor", "clipper_chebyshev", "chain"}


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_config_builds_and_takes_a_step(path):
    config = yaml.safe_load(path.read_text())
    rate = 44100 if any(key in path.stem for key in FULL_RATE) else SR
    model_args = {**config["model"]["init_args"], "encoder": "te", "hidden": [8],
                  "sample_rate": rate, "window_s": 0.8}
    data_args = {**config["data"]["init_args"], "sample_rate": rate, "duration_s": 0.8,
                 "batch_size": 2, "train_items": 2, "val_items": 2, "test_items": 2,
                 "num_workers": 0}
    assert config["model"]["class_path"] == "dasp_blind.estimation.module.BlindEstimator"
    module = BlindEstimator(**model_args)
    data = EffectDataModule(**data_args)
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    metrics = module._metrics(batch, "train")
    metrics["loss"].backward()
    grads = [p.grad for p in module.model.head.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    same = data.effect.param_space.names == module.model.param_names
    assert ("mse_q" in metrics) == same
    if config["model"]["init_args"]["analysis"] != config["data"]["init_args"]["effect"]:
        assert path.stem.startswith("compressor_") or path.stem.startswith("clipper_")
