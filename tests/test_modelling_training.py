"""Effect-modelling training: truncated BPTT against a plain loop of Adam steps, the data
module's splits, a real Lightning run whose exports (weights and plugin JSONs) load back, and the
checks of mismatched controls."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import soundfile as sf
import torch
import yaml
from _signals import seeded

from dasp_blind import pretrained
from dasp_blind.modelling import RNNModel
from dasp_blind.modelling.datamodule import ModellingDataModule
from dasp_blind.modelling.losses import ModellingLoss
from dasp_blind.modelling.module import ModellingModule

RATE = 8000
TINY_GRU = {"cell": "gru", "hidden_size": 6}


def trainer(tmp_path, **kwargs) -> pl.Trainer:
    return pl.Trainer(default_root_dir=tmp_path, logger=pl.loggers.CSVLogger(tmp_path),
                      enable_progress_bar=False, enable_model_summary=False,
                      accelerator="cpu", num_sanity_val_steps=0, **kwargs)


def batch_of(samples: int, seed: int) -> dict[str, torch.Tensor]:
    x = 0.5 * torch.randn(3, 1, samples, generator=seeded(seed))
    return {"input": x, "target": torch.tanh(4 * x)}


def plain_tbptt(model: RNNModel, batch, warm: int, step: int, lr: float,
                clip: float = 0.0) -> RNNModel:
    """Wright's training loop written out: warm-up without gradients, then an Adam step on the
    loss of every ``step`` samples with the state detached in between (the gradients' norm
    clipped to ``clip`` first when it is positive)."""
    model = copy.deepcopy(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    loss_fn = ModellingLoss()
    x, y = batch["input"], batch["target"]
    state = None
    if warm:
        with torch.no_grad():
            _, state = model.forward_with_state(x[..., :warm], None, None)
    for start in range(warm, x.shape[-1], step):
        out, state = model.forward_with_state(x[..., start:start + step], None, state)
        loss = loss_fn(out, y[..., start:start + step])
        optimizer.zero_grad()
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        state = state.detach()
    return model


class _OneBatch(pl.LightningDataModule):
    def __init__(self, batch):
        super().__init__()
        self.batch = batch

    def train_dataloader(self):
        return torch.utils.data.DataLoader([self.batch], batch_size=None)


@pytest.mark.parametrize("warm, step, clip", [(20, 100, 0.0), (0, 0, 0.0), (7, 64, 0.0),
                                              (20, 100, 0.05)])
def test_truncated_bptt_equals_a_plain_loop_of_adam_steps(tmp_path, warm, step, clip):
    module = ModellingModule("rnn", TINY_GRU, sample_rate=RATE, lr=1e-2,
                             warmup_samples=warm, update_samples=step, grad_clip=clip)
    module.model.reset_parameters(seeded(1))
    start = copy.deepcopy(module.model)
    batch = batch_of(400, seed=2)
    run = trainer(tmp_path, max_steps=-1, max_epochs=1, limit_val_batches=0)
    run.fit(module, _OneBatch(batch))
    updates = math.ceil((400 - warm) / (step or 400))
    assert run.global_step == updates
    expected = plain_tbptt(start, batch, warm, step or 400, lr=1e-2, clip=clip)
    if clip:  # the clip is active: without it the weights end elsewhere
        unclipped = plain_tbptt(start, batch, warm, step or 400, lr=1e-2)
        assert (unclipped.lin.weight - expected.lin.weight).abs().max() > 1e-4
    for (name, got), (_, want) in zip(module.model.state_dict().items(),
                                      expected.state_dict().items(), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6, msg=name)


def test_fit_exports_weights_and_plugin_files_that_load_back(tmp_path):
    module = ModellingModule("rnn", TINY_GRU, sample_rate=RATE, warmup_samples=10,
                             update_samples=200)
    data = ModellingDataModule(effect="overdrive", controls={}, segment_s=0.05,
                               sample_rate=RATE, batch_size=2, train_items=4, val_items=2,
                               test_items=2)
    run = trainer(tmp_path, max_epochs=1)
    run.fit(module, data)
    assert run.global_step == 2 * math.ceil((400 - 10) / 200)
    folder = tmp_path / "lightning_logs" / "version_0"
    loaded = pretrained.load(folder / "modelling_rnn.pt")
    info = pretrained.info(folder / "modelling_rnn.pt")
    assert info["init_args"] == TINY_GRU and info["sample_rate"] == RATE
    assert info["recipe"]["steps"] == run.global_step
    assert info["recipe"]["data"]["effect"] == "overdrive"
    assert {"val_esr", "val_esr_raw", "val_dc", "val_loss"} <= set(info["metrics"])
    x = torch.randn(1, 1, 300, generator=seeded(3))
    torch.testing.assert_close(loaded(x), module.model.eval()(x))
    plugin = json.loads((folder / "modelling_rnn.guitarml.json").read_text())
    assert plugin["model_data"]["hidden_size"] == 6
    assert plugin["model_data"]["sample_rate"] == RATE
    keras = json.loads((folder / "modelling_rnn.rtneural.json").read_text())
    assert [layer["type"] for layer in keras["layers"]] == ["gru", "dense"]
    # dasp-blind test logs the same metrics on the test split
    tested = run.test(module, data, verbose=False)[0]
    assert tested["test_esr"] >= 0 and np.isfinite(tested["test_loss"])


def test_init_weights_start_from_an_export_and_refuse_another_model(tmp_path):
    first = ModellingModule("rnn", TINY_GRU, sample_rate=RATE)
    first.model.reset_parameters(seeded(11))
    first.export(tmp_path / "first.pt", recipe={"command": None, "data": None, "steps": 0,
                                                "seed": None}, metrics={})
    again = ModellingModule("rnn", TINY_GRU, sample_rate=RATE,
                            init_weights=str(tmp_path / "first.pt"))
    for name, value in first.model.state_dict().items():
        assert torch.equal(again.model.state_dict()[name], value), name
    assert not torch.equal(ModellingModule("rnn", TINY_GRU).model.lin.weight,
                           first.model.lin.weight)  # without init_weights: its own draw
    with pytest.raises(ValueError, match="init_weights"):
        ModellingModule("rnn", {**TINY_GRU, "hidden_size": 5},
                        init_weights=str(tmp_path / "first.pt"))
    with pytest.raises(ValueError, match="init_weights"):
        ModellingModule("tcn", None, init_weights=str(tmp_path / "first.pt"))
    shipped = ModellingModule("rnn", {"cell": "gru", "hidden_size": 48, "skip": True},
                              init_weights="overdrive_gru48")
    assert torch.equal(shipped.model.lin.weight, pretrained.load("overdrive_gru48").lin.weight)


def test_conditioned_model_learns_from_random_controls(tmp_path):
    module = ModellingModule("rnn", {"hidden_size": 4, "num_controls": 2}, sample_rate=RATE,
                             update_samples=100)
    data = ModellingDataModule(effect="overdrive", controls="random", segment_s=0.03,
                               sample_rate=RATE, batch_size=2, train_items=2, val_items=2,
                               test_items=2)
    assert data.num_controls == 2
    trainer(tmp_path, max_epochs=1).fit(module, data)
    mismatched = ModellingModule("rnn", {"hidden_size": 4}, sample_rate=RATE)
    with pytest.raises(ValueError, match="2 control"):
        trainer(tmp_path, max_epochs=1).fit(mismatched, data)


def test_data_module_passes_the_peak_range_to_every_split():
    data = ModellingDataModule(effect="overdrive", segment_s=0.02, sample_rate=RATE,
                               train_items=2, val_items=2, test_items=2, peak_db=(-24, -6))
    for split in ("train", "val", "test"):
        item = data.dataset(split)[0]
        peak_db = 20 * math.log10(float(item["input"].abs().max()))
        assert -24.0 - 1e-4 <= peak_db <= -6.0 + 1e-4
    assert data.hparams.peak_db == [-24.0, -6.0]


CONFIGS = Path(__file__).resolve().parents[1] / "dasp_blind" / "configs" / "modelling"


@pytest.mark.parametrize("name", ["overdrive_gru", "overdrive_gru_knobs"])
def test_packaged_configs_build_a_model_that_takes_their_batches(name):
    config = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    module = ModellingModule(**config["model"]["init_args"])
    data_args = {**config["data"]["init_args"], "train_items": 2, "val_items": 1,
                 "test_items": 1, "segment_s": 0.01, "num_workers": 0}
    data = ModellingDataModule(**data_args)
    batch = next(iter(data.train_dataloader()))
    assert module.model.num_controls == data.num_controls
    with torch.no_grad():
        out = module(batch["input"], batch.get("controls"))
    assert out.shape == batch["target"].shape and torch.isfinite(out).all()


def test_non_recurrent_models_take_one_step_per_batch(tmp_path):
    module = ModellingModule("cafx", {"frame_length": 256, "hop_length": 128, "filters": 4,
                                      "kernel_size": 8, "pool_size": 8, "context": 1},
                             sample_rate=RATE, loss_terms={"l1": 1.0})
    assert not module.recurrent
    data = ModellingDataModule(effect="tremolo", controls={}, segment_s=0.1, sample_rate=RATE,
                               batch_size=2, train_items=4, val_items=2, test_items=2)
    run = trainer(tmp_path, max_epochs=1)
    run.fit(module, data)
    assert run.global_step == 2


def test_pair_folder_splits(tmp_path):
    rng = np.random.default_rng(4)
    for split, seconds in (("train", 0.5), ("val", 0.2), ("test", 0.3)):
        (tmp_path / split).mkdir()
        dry = rng.standard_normal(round(seconds * RATE)).astype(np.float32) * 0.1
        sf.write(tmp_path / split / "take-input.wav", dry, RATE, subtype="FLOAT")
        sf.write(tmp_path / split / "take-target.wav", np.tanh(5 * dry), RATE, subtype="FLOAT")
    data = ModellingDataModule(source="pairs", root=str(tmp_path), segment_s=0.1,
                               sample_rate=RATE, batch_size=2)
    data.setup()
    assert [len(data.dataset(s)) for s in ("train", "val", "test")] == [5, 2, 3]
    assert data.num_controls == 0
    item = data.dataset("val")[1]
    expected, _ = sf.read(tmp_path / "val" / "take-target.wav", dtype="float32")
    np.testing.assert_array_equal(item["target"][0].numpy(), expected[800:1600])


@pytest.mark.parametrize("kwargs, match", [
    ({"source": "wav"}, "source"),
    ({"source": "pairs"}, "root"),
    ({"effect": None}, "effect"),
    ({"direction": "sideways"}, "direction"),
    ({"segment_s": 0.0}, "segment_s"),
    ({"batch_size": 0}, "batch_size"),
    ({"peak_db": [0.0, -6.0]}, "peak_db"),
    ({"source": "pairs", "root": ".", "peak_db": [-12.0, 0.0]}, "peak_db"),
])
def test_data_module_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ModellingDataModule(**kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"model": "wavenet"}, "model"),
    ({"lr": 0.0}, "lr"),
    ({"update_samples": -1}, "update_samples"),
    ({"grad_clip": -1.0}, "grad_clip"),
    ({"loss_terms": {"mse": 1.0}}, "terms"),
])
def test_module_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ModellingModule(**kwargs)
