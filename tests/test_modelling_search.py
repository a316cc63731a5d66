"""Hyper-parameter search (``dasp_blind.modelling.search``, ``dasp-blind tune``).

The pruning callback is checked against Optuna's own ``MedianPruner`` on a hand-made study whose
completed trials carry known values (the median taken with numpy); searches of a few tiny GRUs
are checked against what each trial recorded independently of the search: the last
``val_esr`` row of its ``metrics.csv`` and the sidecar of the weights it exported."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
import yaml
from _signals import seeded
from clirun import assert_one_line_error, run_cli

from dasp_blind import pretrained
from dasp_blind.cli import main
from dasp_blind.modelling.datamodule import ModellingDataModule
from dasp_blind.modelling.module import ModellingModule
from dasp_blind.modelling.search import (
    DEFAULT_SPACE,
    OptunaPruning,
    TrialDiverged,
    check_space,
    parse_space_option,
    search,
)

optuna = pytest.importorskip("optuna")

RATE = 8000
BASE = {"model": "rnn", "model_args": {"cell": "gru", "hidden_size": 6}, "sample_rate": RATE,
        "warmup_samples": 10}
#: One spec of every kind.
SPACE = {"lr": ("log", 1e-3, 1e-2), "weight_decay": ("float", 0.0, 1e-4),
         "hidden_size": ("int", 3, 6), "update_samples": ("choice", [100, 200])}
DATA_ARGS = {"effect": "overdrive", "controls": {}, "segment_s": 0.05, "sample_rate": RATE,
             "batch_size": 2, "train_items": 4, "val_items": 2, "test_items": 2}
SEED_KEYS = {"params", "search_esr", "n_trials", "fixed"}


def tiny_data() -> ModellingDataModule:
    return ModellingDataModule(**DATA_ARGS)


def trainer_view(value: float, sanity: bool = False) -> SimpleNamespace:
    """What the callback reads of a Trainer: the sanity flag and the logged metrics."""
    return SimpleNamespace(sanity_checking=sanity,
                           callback_metrics={"val_esr": torch.tensor(value)})


def study_with(values: list[list[float]], startup: int, warmup: int = 0):
    """A study whose completed trials reported ``values[i][step]`` and ended at their last."""
    study = optuna.create_study(
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=startup, n_warmup_steps=warmup))
    for reports in values:
        trial = study.ask()
        for step, value in enumerate(reports):
            trial.report(value, step)
        study.tell(trial, reports[-1])
    return study


@pytest.fixture(autouse=True)
def quiet_optuna():
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    yield
    optuna.logging.set_verbosity(level)


def test_pruning_callback_prunes_a_trial_worse_than_the_median():
    completed = [[0.2, 0.1], [0.5, 0.4], [0.9, 0.8]]
    study = study_with(completed, startup=3)
    median = [float(np.median([v[step] for v in completed])) for step in (0, 1)]  # 0.5, 0.4
    better = OptunaPruning(study.ask())
    better.on_validation_end(trainer_view(median[0] - 0.05), None)
    better.on_validation_end(trainer_view(median[1] - 0.05), None)
    assert study.trials[better.trial.number].intermediate_values == {
        0: pytest.approx(median[0] - 0.05), 1: pytest.approx(median[1] - 0.05)}
    worse = OptunaPruning(study.ask())
    worse.on_validation_end(trainer_view(median[0] - 0.05), None)  # step 0: better, kept
    with pytest.raises(optuna.TrialPruned):
        worse.on_validation_end(trainer_view(median[1] + 0.05), None)  # step 1: worse


def test_pruning_callback_waits_for_startup_trials_and_warmup_and_skips_the_sanity_check():
    too_few = OptunaPruning(study_with([[0.1], [0.2]], startup=3).ask())
    too_few.on_validation_end(trainer_view(5.0), None)  # 2 < 3 completed trials: not pruned
    warm = OptunaPruning(study_with([[0.1, 0.1]] * 3, startup=3, warmup=1).ask())
    warm.on_validation_end(trainer_view(5.0), None)  # step 0 < n_warmup_steps
    with pytest.raises(optuna.TrialPruned):
        warm.on_validation_end(trainer_view(5.0), None)
    sanity = OptunaPruning(study_with([[0.1]] * 3, startup=3).ask())
    sanity.on_validation_end(trainer_view(5.0, sanity=True), None)
    assert sanity.step == 0 and sanity.last is None
    with pytest.raises(TrialDiverged, match="nan"):
        sanity.on_validation_end(trainer_view(math.nan), None)
    with pytest.raises(ValueError, match="val_loss"):
        OptunaPruning(sanity.trial, monitor="val_loss").on_validation_end(trainer_view(1.0),
                                                                          None)


def test_pruning_stops_a_real_fit_at_its_first_validation(tmp_path):
    study = study_with([[1e-9] * 3] * 2, startup=2)
    trial = study.ask()
    module = ModellingModule(**BASE)
    module.model.reset_parameters(seeded(0))
    run = pl.Trainer(max_epochs=3, logger=False, enable_checkpointing=False,
                     enable_progress_bar=False, enable_model_summary=False,
                     accelerator="cpu", default_root_dir=tmp_path,
                     callbacks=[OptunaPruning(trial)])
    with pytest.raises(optuna.TrialPruned):
        run.fit(module, tiny_data())
    assert run.current_epoch == 0
    assert list(study.trials[-1].intermediate_values) == [0]


def metrics_csv_last(log_dir: str, column: str) -> float:
    with open(f"{log_dir}/metrics.csv", newline="") as f:
        rows = [row[column] for row in csv.DictReader(f) if row.get(column)]
    return float(rows[-1])


def in_space(name: str, value, spec: tuple) -> bool:
    if spec[0] == "choice":
        return value in spec[1]
    if spec[0] == "int" and not isinstance(value, int):
        return False
    return spec[1] <= value <= spec[2]


def test_search_returns_the_seed_layout_with_the_best_completed_trial(tmp_path):
    rng_before = torch.get_rng_state()
    result = search(BASE, tiny_data(), trials=4, max_epochs=2, space=SPACE, seed=3,
                    root_dir=tmp_path)
    assert torch.equal(torch.get_rng_state(), rng_before)  # the caller's generator untouched
    assert SEED_KEYS <= set(result) and result["n_trials"] == 4 and result["monitor"] == "val_esr"
    trials = result["trials"]
    assert [t["number"] for t in trials] == [0, 1, 2, 3]
    assert result["pruned"] == sum(t["state"] == "PRUNED" for t in trials)
    assert result["failed"] == sum(t["state"] == "FAIL" for t in trials) == 0
    complete = [t for t in trials if t["state"] == "COMPLETE"]
    assert complete
    for t in trials:
        assert set(t["params"]) == set(SPACE)
        assert all(in_space(n, v, SPACE[n]) for n, v in t["params"].items()), t["params"]
        # the score is the last validation's val_esr, as the trial's own log recorded it
        assert t["value"] == pytest.approx(metrics_csv_last(t["log_dir"], "val_esr"), rel=1e-6)
    for t in complete:  # the exported weights were trained with the trial's parameters
        info = pretrained.info(f"{t['log_dir']}/modelling_rnn.pt")
        assert info["init_args"] == {"cell": "gru", "hidden_size": t["params"]["hidden_size"]}
        assert info["recipe"]["lr"] == t["params"]["lr"]
        assert info["recipe"]["update_samples"] == t["params"]["update_samples"]
        assert info["recipe"]["weight_decay"] == t["params"]["weight_decay"]
    best = min(complete, key=lambda t: t["value"])
    assert result["search_esr"] == min(t["value"] for t in complete)
    assert result["params"] == best["params"]
    fixed = result["fixed"]
    assert fixed["model_args"] == {"cell": "gru"} and not set(SPACE) & set(fixed)
    assert fixed["warmup_samples"] == 10 and fixed["max_epochs"] == 2
    assert {k: fixed["data"][k] for k in DATA_ARGS} == DATA_ARGS
    json.dumps(result, allow_nan=False)  # plain JSON


def test_search_is_reproducible_from_its_seed(tmp_path):
    runs = [search(BASE, tiny_data, trials=2, max_epochs=1, space=SPACE, seed=7,
                   root_dir=tmp_path / str(i))["trials"] for i in range(2)]
    assert [(t["params"], t["value"]) for t in runs[0]] == [(t["params"], t["value"])
                                                           for t in runs[1]]


def test_a_stored_study_resumes_without_repeating_its_proposals(tmp_path):
    pytest.importorskip("sqlalchemy")
    url = f"sqlite:///{tmp_path / 'study.db'}"
    first = search(BASE, tiny_data(), trials=1, max_epochs=1, space=SPACE, storage=url,
                   root_dir=tmp_path)
    resumed = search(BASE, tiny_data(), trials=1, max_epochs=1, space=SPACE, storage=url,
                     root_dir=tmp_path)
    assert resumed["n_trials"] == 2 and [t["number"] for t in resumed["trials"]] == [0, 1]
    assert resumed["trials"][0] == first["trials"][0]
    assert resumed["trials"][1]["params"] != first["trials"][0]["params"]
    assert resumed["trials"][1]["log_dir"].endswith("trial_1/version_0")


class _Huge(pl.LightningDataModule):
    """One batch of inputs around 1e30 (finite in float32): through the GRU's skip path the
    squared error overflows and the validation ESR is infinite. ``nan_targets`` instead gives
    NaN targets to a sane input (a broken data set, not a diverging model)."""

    def __init__(self, nan_targets: bool = False):
        super().__init__()
        x = 0.5 * torch.randn(2, 1, 200, generator=seeded(5))
        target = torch.full_like(x, math.nan) if nan_targets else torch.tanh(x)
        self.batch = {"input": x if nan_targets else 1e30 * x, "target": target}

    def train_dataloader(self):
        return torch.utils.data.DataLoader([self.batch], batch_size=None)

    def val_dataloader(self):
        return self.train_dataloader()


def test_diverging_trials_count_as_failed(tmp_path):
    result = search(BASE, _Huge(), trials=2, max_epochs=1, space={"lr": SPACE["lr"]},
                    root_dir=tmp_path / "inf")
    assert [t["state"] for t in result["trials"]] == ["FAIL", "FAIL"]
    assert result["failed"] == 2 and result["pruned"] == 0
    assert result["params"] is None and result["search_esr"] is None
    assert all(t["failure"] == "val_esr is inf at validation 0" and t["value"] is None
               for t in result["trials"])
    # at a learning rate of 1e30 the weights overflow within a few Adam steps, and the loss
    # refuses the NaN estimate of the next forward pass (a ValueError)
    nan = search({**BASE, "lr": 1e30}, tiny_data(), trials=1, max_epochs=1,
                 space={"weight_decay": SPACE["weight_decay"]}, root_dir=tmp_path / "nan")
    assert nan["failed"] == 1 and nan["params"] is None
    assert "weights turned NaN or infinite" in nan["trials"][0]["failure"]
    with pytest.raises(ValueError, match="target contains NaN"):  # bad data stop the search
        search(BASE, _Huge(nan_targets=True), trials=2, max_epochs=1,
               root_dir=tmp_path / "data")


def test_default_space_is_the_seeds():
    assert DEFAULT_SPACE == {"lr": ("log", 1e-4, 2e-2),
                             "hidden_size": ("choice", (16, 32, 48, 64)),
                             "update_samples": ("choice", (256, 512, 1000, 2048)),
                             "weight_decay": ("log", 1e-7, 1e-3)}
    assert check_space(DEFAULT_SPACE) == DEFAULT_SPACE


@pytest.mark.parametrize("space, name", [
    ({"lr": ("log", 0.0, 1e-2)}, "lr"), ({"lr": ("float", 1e-2, 1e-3)}, "lr"),
    ({"lr": ("log", 1e-3)}, "lr"), ({"lr": ("uniform", 0.0, 1.0)}, "lr"),
    ({"lr": ("float", 0.0, math.inf)}, "lr"), ({"hidden_size": ("int", 1.5, 3)}, "hidden_size"),
    ({"hidden_size": ("choice", [])}, "hidden_size"),
    ({"cell": ("choice", ["gru", "gru"])}, "cell"), ({"cell": ("choice", [[1]])}, "cell"),
    ({"cell": "gru"}, "cell"), ({"model_args": ("choice", [{}])}, "model_args"),
    ({"sample_rate": ("choice", [8000])}, "sample_rate"), ({}, "space"),
])
def test_space_errors_name_the_entry(space, name):
    with pytest.raises(ValueError, match=name):
        check_space(space)


def test_search_refuses_bad_arguments_before_training(tmp_path):
    with pytest.raises(ValueError, match="update_samples"):  # float values the module refuses
        search(BASE, tiny_data(), trials=1, space={"update_samples": ("float", 10.5, 20.5)},
               root_dir=tmp_path)
    with pytest.raises(ValueError, match="'hidden'"):
        search({**BASE, "hidden": 3}, tiny_data(), trials=1, root_dir=tmp_path)
    with pytest.raises(ValueError, match="trials"):
        search(BASE, tiny_data(), trials=0, root_dir=tmp_path)
    with pytest.raises(ValueError, match="logger"):
        search(BASE, tiny_data(), trials=1, trainer_args={"logger": False}, root_dir=tmp_path)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("text, expected", [
    ("lr=log:1e-4:2e-2", ("lr", ("log", 1e-4, 2e-2))),
    ("grad_clip=float:0.5:2", ("grad_clip", ("float", 0.5, 2.0))),
    ("num_layers=int:1:3", ("num_layers", ("int", 1, 3))),
    ("hidden_size=choice:16,32", ("hidden_size", ("choice", (16, 32)))),
    ("cell=choice:gru,lstm", ("cell", ("choice", ("gru", "lstm")))),
    ("skip=choice:true,false", ("skip", ("choice", (True, False)))),
])
def test_space_options_parse(text, expected):
    assert parse_space_option(text) == expected
    assert type(parse_space_option(text)[1][1]) is type(expected[1][1])


@pytest.mark.parametrize("text", ["lr", "lr=log:1e-4", "lr=gauss:1:2", "num_layers=int:1.5:3",
                                  "lr=log:a:b", "=log:1:2"])
def test_bad_space_options_raise(text):
    with pytest.raises(ValueError):
        parse_space_option(text)


def write_config(folder, class_path="dasp_blind.modelling.module.ModellingModule"):
    config = {"seed_everything": 0, "trainer": {"default_root_dir": str(folder / "runs")},
              "model": {"class_path": class_path, "init_args": BASE},
              "data": {"class_path": "dasp_blind.modelling.datamodule.ModellingDataModule",
                       "init_args": DATA_ARGS}}
    path = folder / f"{class_path.rsplit('.', 1)[-1]}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def run_main(capsys, *args) -> subprocess.CompletedProcess:
    """``dasp-blind ARGS`` through :func:`dasp_blind.cli.main` in this process."""
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out.out, out.err)


def test_cli_tune_writes_the_json_and_refuses_to_overwrite_it(tmp_path, capsys):
    config = write_config(tmp_path)
    out = tmp_path / "best.json"
    args = ["tune", "--config", str(config), "--trials", "2", "--epochs", "1", "--seed", "1",
            "--space", "lr=log:1e-3:1e-2", "--space", "hidden_size=choice:4,6", "--out", str(out)]
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    written = json.loads(out.read_text())
    assert written["n_trials"] == 2 and set(written["params"]) == {"lr", "hidden_size"}
    assert written["params"]["hidden_size"] in (4, 6)
    assert 1e-3 <= written["params"]["lr"] <= 1e-2
    complete = [t["value"] for t in written["trials"] if t["state"] == "COMPLETE"]
    assert written["search_esr"] == min(complete)
    assert written["fixed"]["model_args"] == {"cell": "gru"}
    assert written["fixed"]["max_epochs"] == 1 and written["seed"] == 1
    assert all(t["log_dir"].startswith(str(tmp_path / "runs" / "tune" / "trial_"))
               for t in written["trials"])
    assert f"hidden_size = {written['params']['hidden_size']}" in result.stdout
    before = out.read_bytes()
    again = run_main(capsys, *args)  # in this process: the same exit status and error
    assert "pass --overwrite" in assert_one_line_error(again, "--out")
    assert out.read_bytes() == before


def test_cli_tune_errors_name_the_option(tmp_path, capsys, monkeypatch):
    config = write_config(tmp_path)
    out = tmp_path / "out.json"

    def error(*extra):
        return assert_one_line_error(run_main(capsys, "tune", "--out", out, *extra), None)

    assert "--config: model.class_path" in error("--config", "removal/synthetic")
    assert "--config: 'nowhere.yaml' is neither" in error("--config", "nowhere.yaml")
    other = write_config(tmp_path, class_path="dasp_blind.removal.module.RemovalModule")
    assert "tune searches" in error("--config", other)
    assert "--space: space['lr']" in error("--config", config, "--space", "lr=log:0:1")
    assert "--space: 'lr' is given twice" in error("--config", config, "--space",
                                                   "lr=log:1e-4:1e-3", "--space",
                                                   "lr=log:1e-4:1e-3")
    assert "--space: base_module_args" in error("--config", config, "--space",
                                                "num_layers=int:0:2")
    assert "--max-time: expected HH:MM:SS" in error("--config", config, "--max-time", "30")
    assert "--trials" in error("--config", config, "--trials", "0")
    monkeypatch.setitem(sys.modules, "optuna", None)  # as if Optuna were not installed
    assert 'pip install "dasp_blind[tune]"' in error("--config", config)
    assert not out.exists()
