"""The Estimator (inference on any length) and BlindEstimator (real Lightning Trainer runs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from torch import nn

from dasp_blind import pretrained
from dasp_blind.data.modules import EffectDataModule
from dasp_blind.effects import ParametricClipper
from dasp_blind.estimation import Estimator
from dasp_blind.estimation.estimator import SILENT_WINDOW_ENERGY
from dasp_blind.estimation.module import BlindEstimator

SR = 16000


class LevelEncoder(nn.Module):
    """A stand-in encoder whose embedding is each item's log RMS and peak (deterministic)."""

    out_dim = 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rms = x.square().mean(dim=(1, 2)).add(1e-12).sqrt()
        peak = x.abs().amax(dim=(1, 2)).add(1e-12)
        return torch.stack([rms.log(), peak.log()], dim=1)


def level_estimator(window_s: float = 0.5) -> Estimator:
    est = Estimator(ParametricClipper(SR), LevelEncoder(), SR, hidden=(8,), window_s=window_s)
    return est.eval()


def test_estimate_q_of_a_short_input_is_the_forward_pass_in_eval_mode():
    gen = torch.Generator().manual_seed(0)
    est = level_estimator()
    est.train()
    wet = torch.randn(3, 1, SR // 4, generator=gen)
    q = est.estimate_q(wet)
    assert est.training  # the mode is restored
    est.eval()
    with torch.no_grad():
        assert torch.equal(q, est(wet))
    assert q.shape == (3, 3) and ((q >= 0) & (q <= 1)).all()
    params = est.estimate(wet)
    assert list(params) == ["drive_db", "offset", "hardness"]
    assert torch.allclose(params["offset"], est.analysis.param_space.denormalize(q)["offset"])


def test_long_input_estimate_is_the_energy_weighted_mean_of_its_windows():
    """A plain loop over the documented windows (half-window hop, last one at the end) and
    weights (window energy; windows 60 dB below the loudest count for nothing)."""
    gen = torch.Generator().manual_seed(1)
    est = level_estimator(window_s=0.5)
    window = SR // 2
    wet = torch.randn(2, 1, 2 * SR + 123, generator=gen)
    wet[0, :, SR:] *= 0.1           # a quieter second half
    wet[1, :, : SR // 2] *= 1e-4    # a near-silent first window
    starts = list(range(0, wet.shape[-1] - window + 1, window // 2))
    starts.append(wet.shape[-1] - window)
    for b in range(2):
        qs, weights = [], []
        for s in starts:
            w = wet[b:b + 1, :, s:s + window]
            with torch.no_grad():
                qs.append(est(w)[0])
            weights.append(float(w.square().mean()))
        loudest = max(weights)
        weights = [e if e >= SILENT_WINDOW_ENERGY * loudest else 0.0 for e in weights]
        expected = sum(w * q for w, q in zip(weights, qs, strict=True)) / sum(weights)
        got = est.estimate_q(wet)[b]
        assert torch.allclose(got, expected, atol=16 * torch.finfo(torch.float32).eps)


def test_input_shorter_than_the_encoder_reads_is_repeated():
    gen = torch.Generator().manual_seed(3)
    est = level_estimator()
    est.encoder.min_length = 1000
    wet = torch.randn(1, 1, 300, generator=gen)
    with torch.no_grad():
        expected = est(torch.cat([wet, wet, wet, wet[..., :100]], dim=-1))
    assert torch.equal(est.estimate_q(wet), expected)


def test_silent_input_gives_finite_estimates():
    est = level_estimator()
    q = est.estimate_q(torch.zeros(1, 1, 3 * SR))
    assert torch.isfinite(q).all()


def test_estimator_argument_errors():
    with pytest.raises(ValueError, match="unknown effect"):
        Estimator("no_such_effect", LevelEncoder(), SR)
    with pytest.raises(ValueError, match="out_dim"):
        Estimator("parametric_clipper", nn.Identity(), SR)
    with pytest.raises(ValueError, match="window_s"):
        Estimator("parametric_clipper", LevelEncoder(), SR, window_s=0)
    with pytest.raises(ValueError, match="wet"):
        level_estimator().estimate_q(torch.zeros(SR))


# ------------------------------------------------------------------------ Lightning training
def clipper_data(**kwargs) -> EffectDataModule:
    args = dict(effect=ParametricClipper(SR), duration_s=0.8, sample_rate=SR, batch_size=4,
                train_items=8, val_items=4, test_items=4, seed=0)
    return EffectDataModule(**{**args, **kwargs})


def small_module(**kwargs) -> BlindEstimator:
    # TE reads 11,341 samples at least (TFE 80,384): 0.8 s at 16 kHz
    args = dict(analysis="parametric_clipper", encoder={"name": "te"}, sample_rate=SR,
                hidden=(16,), window_s=0.8, lr=1e-3)
    module = BlindEstimator(**{**args, **kwargs})
    if "init_weights" not in kwargs:  # a seeded initialisation, not torch's global generator
        module.model.encoder.reset_parameters(torch.Generator().manual_seed(0))
        module.model.head.reset_parameters(torch.Generator().manual_seed(1))
    return module


def trainer(tmp_path: Path, steps: int) -> pl.Trainer:
    return pl.Trainer(max_steps=steps, default_root_dir=tmp_path,
                      logger=pl.loggers.CSVLogger(tmp_path), enable_checkpointing=False,
                      enable_progress_bar=False, log_every_n_steps=1, num_sanity_val_steps=0)


def test_fit_lowers_the_mel_loss_and_exports_a_loadable_estimator(tmp_path):
    module = small_module()
    data = clipper_data()
    data.setup()
    batch = next(iter(data.train_dataloader()))
    module.eval()
    with torch.no_grad():
        before = float(module._metrics(batch, "val")["mel"])
    module.train()
    fit = trainer(tmp_path, steps=12)
    fit.fit(module, datamodule=data)
    module.eval()
    with torch.no_grad():
        metrics = module._metrics(batch, "val")
    assert float(metrics["mel"]) < before
    assert {"mel", "mse_y", "mse_q", "mrstft", "random_mel", "dry_mel"} <= set(metrics)
    weights = Path(fit.log_dir) / "estimator.pt"
    meta = json.loads(weights.with_suffix(".json").read_text())
    assert meta["class_path"] == "dasp_blind.estimation.estimator.Estimator"
    assert meta["init_args"]["analysis"] == "parametric_clipper"
    assert meta["recipe"]["steps"] == 12 and meta["recipe"]["loss"] == "mel"
    assert "val/mel" in meta["metrics"] and "val/random_mel" in meta["metrics"]
    loaded = pretrained.load(weights)
    assert isinstance(loaded, Estimator) and not loaded.training
    wet = batch["wet"]
    assert torch.allclose(loaded.estimate_q(wet), module.estimate_q(wet),
                          atol=64 * torch.finfo(torch.float32).eps)
    logged = (Path(fit.log_dir) / "metrics.csv").read_text().splitlines()[0]
    for name in ("train/loss", "val/mel", "val/mse_q", "val/random_mel", "val/dry_mse_y"):
        assert name in logged


def test_params_loss_needs_matching_effects(tmp_path):
    module = small_module(analysis="taylor_clipper", loss="params")
    with pytest.raises(ValueError, match="loss='params'"):
        trainer(tmp_path, steps=1).fit(module, datamodule=clipper_data())
    with pytest.raises(ValueError, match="loss"):
        small_module(loss="l2")


def test_mismatched_analysis_trains_without_mse_q(tmp_path):
    module = small_module(analysis="taylor_clipper")
    fit = trainer(tmp_path, steps=2)
    fit.fit(module, datamodule=clipper_data(val_items=4))
    logged = (Path(fit.log_dir) / "metrics.csv").read_text().splitlines()[0]
    assert "val/mel" in logged and "mse_q" not in logged


def test_test_run_writes_the_paper_table(tmp_path):
    module = small_module()
    data = clipper_data(test_items=6)
    run = trainer(tmp_path, steps=1)
    run.fit(module, datamodule=data)
    run.test(module, datamodule=data)
    rows = json.loads((Path(run.log_dir) / "test_results.json").read_text())
    assert [r["method"] for r in rows] == ["te (mel loss)", "Random q̂", "L(x, y)"]
    assert all(r["clips"] == 6 for r in rows)
    assert rows[0]["setting"] == "ParametricClipper -> parametric_clipper"
    assert rows[0]["mse_q"] is not None and rows[2]["mse_q"] is None
    logged = {k: float(v) for k, v in run.callback_metrics.items()}
    assert rows[0]["mel"] == pytest.approx(logged["test/mel"], rel=1e-5)
    assert rows[1]["mel"] == pytest.approx(logged["test/random_mel"], rel=1e-5)
    table = (Path(run.log_dir) / "test_results.md").read_text()
    assert "| MSE_y | L_mel | MSE_q |" in table and "Random q̂" in table


def test_markdown_table_merges_runs_and_shows_shared_baselines_once():
    from dasp_blind.estimation.tables import markdown_table, result_rows

    metrics = {"mse_y": 0.1, "mel": 0.2, "random_mse_y": 0.5, "random_mel": 0.6,
               "dry_mse_y": 0.9, "dry_mel": 1.0}
    rows = (result_rows("clipper -> clipper", "tfe", "mel", metrics, 10)
            + result_rows("clipper -> clipper", "mee", "mel", {**metrics, "mel": 0.3}, 10))
    lines = markdown_table(rows).splitlines()
    assert len(lines) == 2 + 4  # header, rule, two estimators, the two shared baselines
    assert lines[2] == "| clipper -> clipper | tfe (mel loss) | 0.1000 | 0.2000 | – | 10 |"


def test_evaluate_draws_controls_from_its_seed_and_compares_with_both_baselines():
    from dasp_blind.estimation import evaluate, mel_loss

    gen = torch.Generator().manual_seed(4)
    est = level_estimator(window_s=0.5)
    dry = torch.randn(3, 1, SR // 2, generator=gen) * 0.3
    result = evaluate(est, dry, seed=9, batch_size=2)
    q_true = torch.rand(3, 3, generator=torch.Generator().manual_seed(9))
    assert torch.equal(result.q_true, q_true)
    wet = est.analysis(dry, q_true)
    assert torch.allclose(result.wet, wet)
    with torch.no_grad():
        q_hat = est(wet)
    assert torch.allclose(result.q_hat, q_hat, atol=1e-6)
    expected = mel_loss(est.analysis(dry[1:2], q_hat[1:2]), wet[1:2], SR)
    assert float(result.mel[1]) == pytest.approx(float(expected), rel=1e-5)
    assert float(result.dry_mel[2]) == pytest.approx(float(mel_loss(dry[2:], wet[2:], SR)),
                                                     rel=1e-5)
    summary = result.summary()
    assert summary["clips"] == 3 and "mse_q" in summary
    assert summary["mel_over_random"] == pytest.approx(summary["mel"] / summary["random_mel"])


def test_init_weights_fine_tunes_from_an_export(tmp_path):
    from dasp_blind.estimation.estimator import Estimator as Plain

    init_args = {"analysis": "parametric_clipper", "encoder": {"name": "te"}, "sample_rate": SR,
                 "hidden": [16], "window_s": 2.0}
    source = Plain(**init_args)
    source.head.reset_parameters(torch.Generator().manual_seed(3))
    recipe = {"command": "test", "data": None, "steps": 0, "seed": 0}
    pretrained.save(source, tmp_path / "e.pt", init_args=init_args, sample_rate=SR,
                    recipe=recipe, metrics={})
    module = small_module(init_weights=str(tmp_path / "e.pt"))
    assert torch.equal(module.model.head.out.weight, source.head.out.weight)
    with pytest.raises(ValueError, match="init_weights"):
        small_module(hidden=(8,), init_weights=str(tmp_path / "e.pt"))
