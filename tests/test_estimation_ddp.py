"""The estimation training through the CLI with Lightning DDP on two CPU processes."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_fit_runs_with_ddp_on_two_cpu_processes(run_cli, tmp_path):
    result = run_cli(
        "fit", "--config", "estimation/clipper_parametric",
        "--trainer.accelerator", "cpu", "--trainer.devices", "2", "--trainer.strategy", "ddp",
        "--trainer.max_steps", "2", "--trainer.limit_val_batches", "1",
        "--trainer.num_sanity_val_steps", "0", "--trainer.enable_progress_bar", "false",
        "--trainer.default_root_dir", str(tmp_path),
        "--model.init_args.encoder", "te", "--model.init_args.hidden", "[16]",
        "--model.init_args.sample_rate", "16000", "--model.init_args.window_s", "0.8",
        "--data.init_args.sample_rate", "16000", "--data.init_args.duration_s", "0.8",
        "--data.init_args.batch_size", "2", "--data.init_args.train_items", "8",
        "--data.init_args.val_items", "4", "--data.init_args.num_workers", "0",
        cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stderr + result.stdout
    assert "distributed_backend=gloo" in output and "Starting with 2 processes" in output
    exported = list(tmp_path.rglob("estimator.json"))
    assert len(exported) == 1  # written by rank zero only
    meta = json.loads(exported[0].read_text())
    assert meta["recipe"]["steps"] == 2 and "val/mel" in meta["metrics"]
