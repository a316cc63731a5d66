"""``dasp-blind fit|validate|test``: packaged configs by name, one-line errors, no ``predict``,
and a one-line message without the ``train`` extra."""

import ast
import os
import re
from pathlib import Path

import pytest
from clirun import ROOT, assert_one_line_error, run_cli, unimportable

from dasp_blind import cli

PACKAGED = ROOT / "dasp_blind" / "configs" / "proxy" / "compressor.yaml"


def test_packaged_config_names_resolve_to_the_packaged_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no checkout-relative path
    assert "proxy/compressor" in cli.packaged_configs()
    for name in ("proxy/compressor", "proxy/compressor.yaml"):
        assert Path(cli.resolve_config(name)) == PACKAGED
    own = tmp_path / "proxy" / "compressor"  # a real file of that name wins
    own.parent.mkdir()
    own.write_text("seed_everything: 1\n")
    assert cli.resolve_config("proxy/compressor") == "proxy/compressor"
    assert cli.resolve_config("missing.yaml") == "missing.yaml"  # left to LightningCLI
    assert cli._resolve_config_args(["fit", "--config=proxy/compressor.yaml", "-c", "x"]) == [
        "fit", f"--config={PACKAGED}", "-c", "x"]


def test_package_data_ships_every_config():
    pyproject = (ROOT / "pyproject.toml").read_text()  # (tomllib needs Python 3.11)
    listed = re.search(r"\[tool\.setuptools\.package-data\]\s*dasp_blind = (\[.*?\])", pyproject,
                       re.S)
    patterns = ast.literal_eval(listed.group(1))
    package = ROOT / "dasp_blind"
    shipped = {p for pattern in patterns for p in package.glob(pattern)}
    assert set(package.glob("configs/**/*.yaml")) <= shipped
    assert PACKAGED in shipped


def test_print_config_of_the_packaged_config_from_any_folder(tmp_path):
    result = run_cli("fit", "--config", "proxy/compressor", "--print_config", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "class_path: dasp_blind.modelling.proxy.CompressorProxyModule" in result.stdout
    assert "kernel_size: 13" in result.stdout
    assert os.listdir(tmp_path) == []


def test_a_config_given_by_path_still_works(tmp_path):
    own = tmp_path / "mine.yaml"
    own.write_text(PACKAGED.read_text().replace("kernel_size: 13", "kernel_size: 5"))
    result = run_cli("fit", "--config", str(own), "--print_config", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "kernel_size: 5" in result.stdout


@pytest.mark.parametrize("args,option,words", [
    (["--trainer.max_epochs", "abc"], "--trainer.max_epochs", "expected int; got abc"),
    (["--bogus", "1"], "--bogus", "unknown option"),
    (["--model.init_args.channels", "-3"], "--model.init_args.channels", "negative dimension"),
    (["--model.class_path", "nowhere.Model"], "--model.class_path", "nowhere"),
    (["--trainer.accelerator", "abacus"], "--trainer", "abacus"),
])
def test_bad_override_is_one_line_naming_it(tmp_path, args, option, words):
    result = run_cli("fit", "--config", "proxy/compressor", "--trainer.default_root_dir", "runs",
                     *args, cwd=tmp_path)
    assert words in assert_one_line_error(result, option)
    assert os.listdir(tmp_path) == []


def test_missing_config_is_one_line_naming_the_packaged_ones(tmp_path):
    line = assert_one_line_error(run_cli("validate", "--config", "proxy/limiter", cwd=tmp_path),
                                 "--config")
    assert "proxy/limiter" in line and "packaged configs: " in line
    assert "proxy/compressor" in line and "estimation/clipper_parametric" in line
    line = assert_one_line_error(run_cli("test", cwd=tmp_path), "--config")
    assert "required" in line


def test_predict_is_not_offered(tmp_path):
    line = assert_one_line_error(run_cli("predict", "--config", "proxy/compressor",
                                         cwd=tmp_path), "COMMAND")
    assert "invalid choice: 'predict'" in line
    assert "predict" not in run_cli("--help", cwd=tmp_path).stdout


def test_without_the_train_extra_fit_says_how_to_install_it(tmp_path):
    fake = unimportable(tmp_path / "fake", "pytorch_lightning")
    result = run_cli("fit", "--config", "proxy/compressor", cwd=tmp_path, extra_path=[fake])
    assert assert_one_line_error(result, None) == (
        'dasp-blind: error: fit needs the training extra: pip install "dasp_blind[train]"')
    assert os.listdir(tmp_path) == ["fake"]
