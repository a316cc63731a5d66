"""Distortion-removal training: the paper's SDR loss against numpy, the level-matched target,
the degraded datasets and data module (folder and SignalTrain layouts), the Restorer's level
handling and chunked restoration, and a real Lightning run whose export loads back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml
from _signals import seeded

import dasp_blind
from dasp_blind import pretrained
from dasp_blind.removal.data import DegradedDataset, RemovalDataModule, matched_target
from dasp_blind.removal.degradations import Degradation
from dasp_blind.removal.losses import removal_loss
from dasp_blind.removal.restorer import Restorer

TINY_DEMUCS = {"channels": 2, "depth": 2, "lstm_layers": 1}


def numpy_eq5(estimate: np.ndarray, target: np.ndarray) -> float:
    """Imort et al. eq. 5 in float64: batch mean of 10·log10(‖x‖²/‖x − x̂‖²) per whole item."""
    values = [10 * np.log10(np.sum(x**2) / np.sum((x - e) ** 2))
              for x, e in zip(target.reshape(len(target), -1),
                              estimate.reshape(len(estimate), -1), strict=True)]
    return float(np.mean(values))


def test_sdr_loss_is_minus_eq5():
    target = torch.randn(3, 2, 500, generator=seeded(1), dtype=torch.float64)
    estimate = target + 0.3 * torch.randn(3, 2, 500, generator=seeded(2), dtype=torch.float64)
    expected = numpy_eq5(estimate.numpy(), target.numpy())
    assert float(removal_loss(estimate, target, "sdr")) == pytest.approx(-expected, rel=1e-12)
    assert float(removal_loss(estimate, target, "l1")) == pytest.approx(
        np.abs(estimate.numpy() - target.numpy()).mean(), rel=1e-12)


def test_loss_arguments():
    x = torch.zeros(1, 1, 10)
    with pytest.raises(ValueError, match="loss"):
        removal_loss(x, x, "mse")
    with pytest.raises(ValueError, match="same shape"):
        removal_loss(x, torch.zeros(1, 1, 11))
    # silence and a perfect estimate give finite values and gradients
    estimate = torch.zeros(1, 1, 10, requires_grad=True)
    loss = removal_loss(estimate, x, "sdr")
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(estimate.grad).all()


def test_matched_target_is_the_least_squares_multiple():
    clean = torch.randn(2, 1, 300, generator=seeded(3), dtype=torch.float64)
    degraded = torch.clamp(8 * clean, -1, 1)
    target = matched_target(clean, degraded)
    for i in range(2):
        gain, *_ = np.linalg.lstsq(clean[i, 0].numpy()[:, None], degraded[i, 0].numpy(),
                                   rcond=None)
        np.testing.assert_allclose(target[i, 0].numpy(), gain[0] * clean[i, 0].numpy(),
                                   rtol=1e-12, atol=1e-15)
    assert torch.equal(matched_target(torch.zeros(1, 1, 5), torch.ones(1, 1, 5)),
                       torch.zeros(1, 1, 5))


def test_degraded_dataset_is_reproducible_and_uses_every_degradation():
    clips = [torch.sin(torch.linspace(0, 60 * (i + 1), 800))[None] * 0.1 for i in range(24)]
    kinds = [Degradation("hard_clip"), Degradation("overdrive"),
             Degradation("clip_to_sdr", sdr_db=(5.0, 5.0))]
    a = DegradedDataset(clips, kinds, seed=7)
    b = DegradedDataset(clips, kinds, seed=7)
    items = [a[i] for i in range(len(a))]
    for i, item in enumerate(items):
        again = b[i]
        assert torch.equal(item["degraded"], again["degraded"])
        assert torch.equal(item["clean"], again["clean"])
    assert {int(item["kind"]) for item in items} == {0, 1, 2}
    for item, clean in zip(items, clips, strict=True):
        if int(item["kind"]) == 2:  # clipped to 5 dB input SDR, no rescaling of the clean clip
            x, y = clean.double().numpy(), item["degraded"].double().numpy()
            assert 10 * np.log10(np.sum(x**2) / np.sum((x - y) ** 2)) == pytest.approx(5, abs=0.01)
    gains = DegradedDataset(clips, Degradation("hard_clip"), seed=7)
    assert not torch.equal(gains[(1, 0)]["degraded"], gains[0]["degraded"])  # new epoch, new gain
    raw = DegradedDataset(clips, kinds, seed=7, target_level="clean")
    assert torch.equal(raw[3]["clean"], clips[3])
    with pytest.raises(ValueError, match="target_level"):
        DegradedDataset(clips, kinds, target_level="peak")
    with pytest.raises(ValueError, match="degradations"):
        DegradedDataset(clips, [])


def write_tone(path, freq, rate=16000, seconds=1.0):
    t = np.arange(int(rate * seconds)) / rate
    sf.write(path, 0.5 * np.sin(2 * np.pi * freq * t), rate, subtype="FLOAT")


def test_data_module_on_the_signaltrain_layout_reads_only_clean_inputs(tmp_path):
    for split in ("Train", "Val", "Test"):
        (tmp_path / split).mkdir()
        write_tone(tmp_path / split / "input_1_.wav", 220)
        write_tone(tmp_path / split / "input_2_.wav", 330)
        # the compressed targets of SignalTrain; here not even audio, so reading one would fail
        (tmp_path / split / "target_1_LA2A_3c__0__0.wav").write_text("not audio")
    dm = RemovalDataModule(kinds=["clip_to_sdr"], source="signaltrain", root=str(tmp_path),
                           duration_s=0.25, batch_size=4, train_items=8, val_items=4,
                           test_items=4)
    dm.setup()
    batch = next(iter(dm.train_dataloader()))
    assert batch["degraded"].shape == (4, 1, 4000) and batch["clean"].shape == (4, 1, 4000)
    assert next(iter(dm.test_dataloader()))["kind"].tolist() == [0, 0, 0, 0]


def test_data_module_arguments(tmp_path):
    with pytest.raises(ValueError, match="kinds"):
        RemovalDataModule(kinds=["fuzz"])
    with pytest.raises(ValueError, match="root"):
        RemovalDataModule(source="folder")
    with pytest.raises(ValueError, match="source"):
        RemovalDataModule(source="youtube")
    with pytest.raises(ValueError, match="train_items"):
        RemovalDataModule(train_items=None)
    with pytest.raises(ValueError, match="root must hold SignalTrain"):
        RemovalDataModule(source="signaltrain", root=str(tmp_path)).setup("fit")


def tiny_restorer(seed: int = 0) -> Restorer:
    restorer = Restorer("demucs", TINY_DEMUCS)
    restorer.network.reset_parameters(seeded(seed))
    return restorer.double().eval()


def test_restorer_is_level_independent_and_silent_on_silence():
    restorer = tiny_restorer()
    x = torch.randn(2, 1, 3000, generator=seeded(4), dtype=torch.float64)
    with torch.no_grad():
        y = restorer(x)
        torch.testing.assert_close(restorer(0.01 * x), 0.01 * y, rtol=1e-10, atol=1e-14)
        silent = restorer(torch.zeros(1, 1, 3000, dtype=torch.float64))
    assert torch.isfinite(silent).all()
    # without normalisation the network sees the signal as it is
    raw = Restorer("demucs", TINY_DEMUCS, normalize=False)
    raw.load_state_dict(restorer.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(raw.double()(x[:1] / x[:1].abs().max()) * x[:1].abs().max(),
                                   y[:1], rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="network"):
        Restorer("resnet")


def test_chunked_restore_cross_fades_to_the_identity():
    restorer = Restorer("demucs", TINY_DEMUCS, sample_rate=1000).double()
    restorer.network = torch.nn.Identity()  # the fades of consecutive chunks must sum to one
    x = torch.randn(2, 2, 10_500, generator=seeded(5), dtype=torch.float64)
    torch.testing.assert_close(restorer.restore(x, chunk_s=2.0, overlap_s=0.5), x,
                               rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="overlap_s"):
        restorer.restore(x, chunk_s=1.0, overlap_s=0.6)
    restorer.residual = True  # x + f(x)
    torch.testing.assert_close(restorer.restore(x, chunk_s=2.0, overlap_s=0.5), 2 * x,
                               rtol=1e-12, atol=1e-15)


def test_chunked_restore_of_a_short_input_is_the_forward():
    restorer = tiny_restorer(1)
    x = torch.randn(1, 1, 4000, generator=seeded(6), dtype=torch.float64)
    torch.testing.assert_close(restorer.restore(x, chunk_s=30.0), restorer(x).detach())


def test_lightning_fit_exports_a_restorer_that_loads_back(tmp_path):
    pl = pytest.importorskip("pytorch_lightning")
    from dasp_blind.removal.module import RemovalModule

    module = RemovalModule(network="demucs", network_args=TINY_DEMUCS, lr=1e-3)
    data = RemovalDataModule(kinds=["hard_clip", "overdrive"], source="guitar", duration_s=0.5,
                             batch_size=2, train_items=4, val_items=2, test_items=2)
    trainer = pl.Trainer(max_steps=3, default_root_dir=tmp_path, logger=pl.loggers.CSVLogger(
        tmp_path), enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
    trainer.fit(module, data)
    exported = tmp_path / "lightning_logs" / "version_0" / "removal_demucs.pt"
    loaded = pretrained.load(exported)
    info = pretrained.info(exported)
    assert info["init_args"] == {"network": "demucs", "network_args": TINY_DEMUCS,
                                 "sample_rate": 16000, "normalize": True,
                                 "residual": False}
    assert info["recipe"]["steps"] == 3
    assert info["recipe"]["data"]["kinds"] == ["hard_clip", "overdrive"]
    assert "val_si_sdr_improvement" in info["metrics"]
    x = torch.randn(1, 1, 2000, generator=seeded(8))
    with torch.no_grad():
        torch.testing.assert_close(loaded.eval()(x), module.restorer.eval()(x))


REMOVAL_CONFIGS = sorted((Path(dasp_blind.__file__).parent / "configs" / "removal").glob("*.yaml"))


@pytest.mark.parametrize("path", REMOVAL_CONFIGS, ids=[p.stem for p in REMOVAL_CONFIGS])
def test_removal_config_builds_and_takes_a_step(path, tmp_path):
    from dasp_blind.removal.module import RemovalModule

    config = yaml.safe_load(path.read_text())
    data_args = config["data"]["init_args"]
    if data_args["source"] == "signaltrain":
        for split in ("Train", "Val", "Test"):
            (tmp_path / split).mkdir()
            write_tone(tmp_path / split / "input_0_.wav", 250)
    else:
        for index in range(4):
            write_tone(tmp_path / f"take{index}.wav", 110 * (index + 1))
    data_args = {**data_args, "duration_s": 0.5, "batch_size": 2, "num_workers": 0}
    if data_args["source"] == "guitar":
        data_args.update(train_items=2, val_items=2, test_items=2)
    else:
        assert data_args["root"] is None  # the user gives it
        data_args["root"] = str(tmp_path)
    assert config["model"]["class_path"] == "dasp_blind.removal.module.RemovalModule"
    tiny = {"demucs": TINY_DEMUCS, "waveunet": {"levels": 3, "features": 4}}
    model_args = config["model"]["init_args"]
    module = RemovalModule(**{**model_args, "network_args": tiny[model_args["network"]]})
    data = RemovalDataModule(**data_args)
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    estimate = module(batch["degraded"])
    removal_loss(estimate, batch["clean"], config["model"]["init_args"]["loss"]).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all()
               for p in module.parameters())


def test_removal_configs_cover_the_paper():
    assert {p.stem for p in REMOVAL_CONFIGS} == {"synthetic", "ceg_od", "ceg_hc",
                                                 "signaltrain_hc"}


def test_lightning_test_writes_the_paper_tables_and_box_plots(tmp_path):
    pl = pytest.importorskip("pytorch_lightning")
    pytest.importorskip("matplotlib")
    from dasp_blind.removal.module import RemovalModule

    module = RemovalModule(network="demucs", network_args=TINY_DEMUCS, test_aspade=True)
    data = RemovalDataModule(kinds=["overdrive", "clip_to_sdr"], levels=[5.0, 20.0],
                             source="guitar", duration_s=0.3, batch_size=3, train_items=2,
                             val_items=2, test_items=6)
    trainer = pl.Trainer(default_root_dir=tmp_path, logger=pl.loggers.CSVLogger(tmp_path),
                         enable_progress_bar=False, enable_model_summary=False,
                         accelerator="cpu")
    trainer.test(module, data)
    folder = tmp_path / "lightning_logs" / "version_0"
    results = json.loads((folder / "removal_results.json").read_text())
    rows = results["rows"]
    groups = {r["group"] for r in rows}
    assert groups <= {"overdrive 5 dB", "overdrive 20 dB", "clip_to_sdr 5 dB",
                      "clip_to_sdr 20 dB"}
    # every test item scored for the input and the network; A-SPADE on the clipped ones only
    assert sum(r["method"] == "input" for r in rows) == 6
    assert sum(r["method"] == "demucs" for r in rows) == 6
    aspade_groups = {r["group"] for r in rows if r["method"] == "aspade"}
    assert aspade_groups and all(g.startswith("clip_to_sdr") for g in aspade_groups)
    # the input rows' SI-SDR is the metric recomputed here from the data set
    test_set = data.dataset("test")
    for row in rows:
        if row["method"] == "input" and row["group"].startswith("clip_to_sdr"):
            item = test_set[row["item"]]
            x, y = item["clean"].double().numpy().ravel(), item["degraded"].double().numpy().ravel()
            scaled = x * np.dot(y, x) / np.dot(x, x)
            expected = 10 * np.log10(np.sum(scaled**2) / np.sum((scaled - y) ** 2))
            assert row["si_sdr"] == pytest.approx(expected, abs=1e-3)
    table = (folder / "removal_results.md").read_text()
    assert "| clip_to_sdr 5 dB | aspade |" in table or "| clip_to_sdr 20 dB | aspade |" in table
    for metric in ("si_sdr", "sdr", "mrstft", "r_nonlin"):
        assert (folder / f"removal_{metric}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
