"""dasp_blind.pretrained: the shipped compressor-proxy weights, the format, its errors, the CLI."""

import hashlib
import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch
from _signals import randn
from _tolerances import rounding_tol

import dasp_blind as db
from dasp_blind import pretrained
from dasp_blind.data import EffectPairDataset, SyntheticClips
from dasp_blind.effects import Compressor, HybridCompressor, ProxyCompressor
from dasp_blind.nn import PROXY_CONTROLS, TCNCompressorProxy

SHIPPED = resources.files("dasp_blind.pretrained")
RECIPE = {"command": "python make.py", "data": "noise", "steps": 3, "seed": 7}
METRICS = {"mae": 0.5, "measured_on": "nothing in particular"}


def small_proxy(seed: int = 0) -> TCNCompressorProxy:
    """A 2-block proxy with random weights (and BatchNorm statistics) drawn from ``seed``."""
    proxy = TCNCompressorProxy(kernel_size=3, num_blocks=2, dilation_growth=2, channels=2)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in proxy.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(0.5 + 0.3 * torch.rand(tensor.shape, generator=gen))
    return proxy


SMALL_ARGS = {"kernel_size": 3, "num_blocks": 2, "dilation_growth": 2, "channels": 2,
              "controls": list(PROXY_CONTROLS)}


def save_small(tmp_path: Path, name: str = "model") -> Path:
    return pretrained.save(small_proxy(), tmp_path / f"{name}.pt", init_args=SMALL_ARGS,
                           sample_rate=16000, recipe=RECIPE, metrics=METRICS)


def edit_sidecar(weights: Path, **changes) -> None:
    sidecar = weights.with_suffix(".json")
    meta = json.loads(sidecar.read_text())
    meta.update(changes)
    sidecar.write_text(json.dumps(meta))


def replace_weights(weights: Path, state) -> None:
    """Write another state dict and record its sha256, so only the state itself is wrong."""
    torch.save(state, weights)
    edit_sidecar(weights, sha256=hashlib.sha256(weights.read_bytes()).hexdigest())


# --- the shipped entry ----------------------------------------------------------------------

def test_names_list_the_shipped_entries_with_both_files():
    assert "compressor_proxy" in pretrained.names()
    assert db.pretrained is pretrained
    for name in pretrained.names():
        assert (SHIPPED / f"{name}.pt").is_file() and (SHIPPED / f"{name}.json").is_file()
        assert len((SHIPPED / f"{name}.pt").read_bytes()) < 5_000_000


def test_shipped_sidecar_holds_recipe_metrics_and_the_files_sha256():
    meta = pretrained.info("compressor_proxy")
    assert set(pretrained.SIDECAR_KEYS) <= meta.keys()
    assert meta["class_path"] == "dasp_blind.nn.tcn.TCNCompressorProxy"
    assert meta["sha256"] == hashlib.sha256((SHIPPED / "compressor_proxy.pt").read_bytes()
                                            ).hexdigest()
    assert meta["init_args"]["controls"] == list(PROXY_CONTROLS)
    assert meta["sample_rate"] == 44100
    assert meta["recipe"]["steps"] == 2048 and meta["recipe"]["total_steps"] == 5120
    assert meta["metrics"]["mae"] == 0.0194 and "128 held-out" in meta["metrics"]["measured_on"]


def test_shipped_weights_load_in_eval_mode_and_equal_the_file():
    proxy = pretrained.load("compressor_proxy")
    assert isinstance(proxy, TCNCompressorProxy) and not proxy.training
    assert sum(p.numel() for p in proxy.parameters()) == 8004
    state = torch.load(SHIPPED / "compressor_proxy.pt", weights_only=True)
    loaded = proxy.state_dict()
    assert state.keys() == loaded.keys()
    assert all(torch.equal(state[k], loaded[k]) for k in state)


def test_shipped_proxy_follows_the_dsp_compressor_on_unseen_clips():
    """Held-out synthetic clips (a seed training never used), random controls."""
    pairs = EffectPairDataset(SyntheticClips(16, 1.0, 44100, seed=4242), Compressor(), seed=4242)
    batch = next(iter(torch.utils.data.DataLoader(pairs, batch_size=16)))
    with torch.no_grad():
        estimate = ProxyCompressor()(batch["dry"], batch["q"])
    mae = (estimate - batch["wet"]).abs().mean().item()
    untrained = (batch["dry"] - batch["wet"]).abs().mean().item()
    assert mae < 0.05
    assert mae < 0.25 * untrained


def test_long_proxy_does_not_drift_on_clips_longer_than_its_receptive_field():
    """8 held-out 4 s clips (a seed training never used), random controls: the 1 s proxy
    drifts after its first second (MAE 0.10-0.12 in seconds 3-4 on 32 clips), the long proxy
    stays flat (0.020-0.023 in every second of 6 s clips)."""
    pairs = EffectPairDataset(SyntheticClips(8, 4.0, 44100, seed=4244), Compressor(), seed=4244)
    batch = next(iter(torch.utils.data.DataLoader(pairs, batch_size=8)))
    per_second = {}
    for name in ("compressor_proxy", "compressor_proxy_long"):
        with torch.no_grad():
            error = (ProxyCompressor(proxy=name)(batch["dry"], batch["q"]) - batch["wet"]).abs()
        per_second[name] = error.reshape(8, 1, 4, 44100).mean(dim=(0, 1, 3))
    long, short = per_second["compressor_proxy_long"], per_second["compressor_proxy"]
    assert long[-1] < 0.5 * short[-1], per_second
    assert long.max() < 1.5 * long.min() and long.max() < 0.04, per_second


ESTIMATORS = [name for name in pretrained.names()
              if pretrained.info(name)["class_path"].endswith(".Estimator")]


def test_an_estimator_ships():
    assert "parametric_clipper_estimator" in ESTIMATORS


@pytest.mark.parametrize("name", ESTIMATORS)
def test_shipped_estimators_beat_random_controls_on_unseen_clips(name):
    """16 held-out clips of the eight-genre generator (a seed no recipe uses), random controls
    through the estimator's own effect: the estimate's mel loss is well under that of random
    controls (0.42-0.50x for the clipper estimator on three such seeds, 0.45-0.53x for the EQ
    estimator on two; their sidecars record 0.35x and 0.39x on 64 clips)."""
    from dasp_blind.estimation import evaluate

    estimator = pretrained.load(name)
    clips = SyntheticClips(16, 3.0, int(estimator.sample_rate), seed=4243, dynamics=True,
                           style="random")
    dry = torch.stack([clips[i] for i in range(len(clips))])
    summary = evaluate(estimator, dry, seed=4243).summary()
    assert summary["mel_over_random"] < 0.65, summary


def test_default_effects_use_the_shipped_proxy():
    x = randn(1, 1, 4410, seed=0, scale=0.3)
    q = torch.full((1, 6), 0.5)
    neural = ProxyCompressor(proxy=pretrained.load("compressor_proxy"))(x, q)
    assert torch.equal(ProxyCompressor()(x, q), neural)
    assert torch.equal(ProxyCompressor(proxy="compressor_proxy")(x, q), neural)
    dsp = Compressor()(x, q)
    # the hybrid's value is (dsp + proxy) − proxy: two roundings relative to |dsp| + |proxy|
    assert (HybridCompressor()(x, q) - dsp).abs().max() <= rounding_tol(
        dsp.abs() + neural.abs(), ops=2)


# --- save / load round trip -----------------------------------------------------------------

def test_save_then_load_by_path_round_trips(tmp_path):
    proxy = small_proxy()
    weights = save_small(tmp_path)
    meta = json.loads(weights.with_suffix(".json").read_text())
    assert meta["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert meta["recipe"] == RECIPE and meta["metrics"] == METRICS
    assert pretrained.info(weights) == meta == pretrained.info(str(weights.with_suffix(".json")))
    for source in (weights, str(weights)):
        loaded = pretrained.load(source)
        assert isinstance(loaded, TCNCompressorProxy) and not loaded.training
        for key, value in proxy.state_dict().items():
            assert torch.equal(loaded.state_dict()[key], value)
    effect = ProxyCompressor(16000, proxy=weights)
    x = 0.3 * torch.randn(2, 1, 500, generator=torch.Generator().manual_seed(1))
    q = torch.rand(2, 6, generator=torch.Generator().manual_seed(2))
    assert torch.equal(effect(x, q), ProxyCompressor(16000, proxy=proxy.eval(),
                                                     proxy_sample_rate=16000)(x, q))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.pt"]


def test_save_refuses_to_overwrite_unless_asked(tmp_path):
    weights = save_small(tmp_path)
    before = weights.read_bytes()
    with pytest.raises(FileExistsError, match="model.pt"):
        pretrained.save(small_proxy(1), weights, init_args=SMALL_ARGS, sample_rate=16000,
                        recipe=RECIPE, metrics=METRICS)
    assert weights.read_bytes() == before
    pretrained.save(small_proxy(1), weights, init_args=SMALL_ARGS, sample_rate=16000,
                    recipe=RECIPE, metrics=METRICS, overwrite=True)
    assert weights.read_bytes() != before
    assert torch.equal(pretrained.load(weights).head.weight, small_proxy(1).head.weight)


@pytest.mark.parametrize(("change", "match"), [
    ({"init_args": {**SMALL_ARGS, "channels": 3}}, "shape"),
    ({"init_args": {**SMALL_ARGS, "bogus": 1}}, "bogus"),
    ({"init_args": {**SMALL_ARGS, "channels": object()}}, "JSON"),
    ({"recipe": {"command": "x"}}, "recipe"),
    ({"metrics": {"mae": 1.0}}, "measured_on"),
    ({"sample_rate": 0}, "sample_rate"),
])
def test_save_checks_what_it_writes_and_writes_nothing_on_error(tmp_path, change, match):
    args = {"init_args": SMALL_ARGS, "sample_rate": 16000, "recipe": RECIPE, "metrics": METRICS}
    with pytest.raises(ValueError, match=match):
        pretrained.save(small_proxy(), tmp_path / "model.pt", **{**args, **change})
    assert list(tmp_path.iterdir()) == []


def test_save_needs_a_dasp_blind_class_and_a_pt_path(tmp_path):
    with pytest.raises(ValueError, match="inside the dasp_blind package"):
        pretrained.save(torch.nn.Linear(2, 2), tmp_path / "lin.pt", init_args={},
                        sample_rate=1, recipe=RECIPE, metrics={})
    with pytest.raises(ValueError, match=r"\.pt"):
        pretrained.save(small_proxy(), tmp_path / "model.pth", init_args=SMALL_ARGS,
                        sample_rate=16000, recipe=RECIPE, metrics=METRICS)


# --- every way an entry can be broken names the file -----------------------------------------

def test_missing_weights_file_is_reported_as_the_pt(tmp_path):
    weights = save_small(tmp_path)
    weights.unlink()
    with pytest.raises(ValueError, match=r"model\.pt: weights file not found"):
        pretrained.load(weights)


def test_missing_sidecar_is_reported_as_the_json(tmp_path):
    weights = save_small(tmp_path)
    weights.with_suffix(".json").unlink()
    with pytest.raises(ValueError, match=r"model\.json: sidecar not found"):
        pretrained.load(weights)


def test_invalid_json_is_reported(tmp_path):
    weights = save_small(tmp_path)
    weights.with_suffix(".json").write_text("{not json")
    with pytest.raises(ValueError, match=r"model\.json: not valid JSON"):
        pretrained.load(weights)
    weights.with_suffix(".json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"model\.json: the sidecar must be a JSON object"):
        pretrained.info(weights)


@pytest.mark.parametrize("key", pretrained.SIDECAR_KEYS)
def test_missing_sidecar_field_is_reported(tmp_path, key):
    weights = save_small(tmp_path)
    meta = json.loads(weights.with_suffix(".json").read_text())
    del meta[key]
    weights.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=rf"model\.json: missing field\(s\) \['{key}'\]"):
        pretrained.load(weights)


@pytest.mark.parametrize(("field", "value"), [
    ("format", 2), ("sha256", "abc"), ("sample_rate", -1), ("sample_rate", True),
    ("recipe", {"command": "x", "data": None, "steps": 1}), ("metrics", {"mae": 1.0}),
    ("init_args", [1]),
])
def test_wrong_sidecar_field_is_reported(tmp_path, field, value):
    weights = save_small(tmp_path)
    edit_sidecar(weights, **{field: value})
    with pytest.raises(ValueError, match=rf"model\.json: field '{field}'"):
        pretrained.load(weights)


def test_sha256_mismatch_is_reported(tmp_path):
    weights = save_small(tmp_path)
    data = bytearray(weights.read_bytes())
    data[-30] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"model\.pt: sha256 is [0-9a-f]{64}, but model\.json"):
        pretrained.load(weights)


def test_unreadable_weights_are_reported(tmp_path):
    weights = save_small(tmp_path)
    weights.write_bytes(b"not a torch file")
    edit_sidecar(weights, sha256=hashlib.sha256(b"not a torch file").hexdigest())
    with pytest.raises(ValueError, match=r"model\.pt: not a loadable state dict"):
        pretrained.load(weights)


def test_pickled_objects_are_refused_by_weights_only(tmp_path):
    weights = save_small(tmp_path)
    replace_weights(weights, {"head.weight": torch.zeros(1), "extra": Path("x")})
    with pytest.raises(ValueError, match=r"model\.pt: not a loadable state dict"):
        pretrained.load(weights)


def test_state_dict_that_does_not_fit_the_class_is_reported(tmp_path):
    weights = save_small(tmp_path)
    state = small_proxy().state_dict()
    missing = {k: v for k, v in state.items() if k != "head.bias"}
    replace_weights(weights, missing)
    with pytest.raises(ValueError, match=r"model\.pt: .*missing keys \['head.bias'\]"):
        pretrained.load(weights)
    replace_weights(weights, {**state, "head.extra": torch.zeros(1)})
    with pytest.raises(ValueError, match=r"model\.pt: .*unexpected keys \['head.extra'\]"):
        pretrained.load(weights)
    replace_weights(weights, {**state, "head.bias": torch.zeros(3)})
    with pytest.raises(ValueError, match=r"model\.pt: .*head.bias: file \(3,\), model \(1,\)"):
        pretrained.load(weights)
    replace_weights(weights, [torch.zeros(1)])
    with pytest.raises(ValueError, match=r"model\.pt: must hold a state dict"):
        pretrained.load(weights)


@pytest.mark.parametrize("class_path", [
    "os.system", "torch.nn.Linear", "dasp_blind", "dasp_blind.nn.tcn._check_controls",
    "dasp_blind.nn.tcn.receptive_field", "dasp_blind.nowhere.Model", "dasp_blind.nn.tcn.Nope",
    "dasp_blind..nn.TCNCompressorProxy",
])
def test_class_path_outside_dasp_blind_or_not_a_module_is_refused(tmp_path, class_path):
    weights = save_small(tmp_path)
    edit_sidecar(weights, class_path=class_path)
    with pytest.raises(ValueError, match=r"model\.json: class_path"):
        pretrained.load(weights)


def test_init_args_that_do_not_build_the_class_are_reported(tmp_path):
    weights = save_small(tmp_path)
    edit_sidecar(weights, init_args={**SMALL_ARGS, "bogus": 1})
    with pytest.raises(ValueError, match=r"model\.json: init_args .* do not build"):
        pretrained.load(weights)


def test_unknown_name_lists_the_known_names():
    with pytest.raises(ValueError, match=r"unknown pretrained name 'compresor_proxy'.*"
                                         r"compressor_proxy"):
        pretrained.load("compresor_proxy")
    with pytest.raises(ValueError, match="expected a .pt file"):
        pretrained.info("some/folder/model.bin")
    with pytest.raises(ValueError, match="name_or_path"):
        pretrained.load(3)


def test_controls_that_do_not_match_the_effect_name_the_sidecar(tmp_path):
    weights = save_small(tmp_path)
    edit_sidecar(weights, init_args={**SMALL_ARGS, "controls": ["attack_ms", "release_ms",
                                                                "ratio", "threshold_db"]})
    assert pretrained.load(weights).controls[-1] == "threshold_db"  # a valid module ...
    with pytest.raises(ValueError, match=r"model\.json: the proxy is conditioned on controls"):
        ProxyCompressor(16000, proxy=weights)  # ... but not the one the effect expects
    with pytest.raises(ValueError, match="proxy_sample_rate"):
        ProxyCompressor(16000, proxy=save_small(tmp_path, "other"), proxy_sample_rate=16000)


# --- the CLI ----------------------------------------------------------------------------------

def test_cli_lists_the_shipped_weights_with_their_metrics():
    result = subprocess.run([sys.executable, "-m", "dasp_blind.cli", "pretrained"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(pretrained.names())
    line = next(line for line in lines if line.startswith("compressor_proxy:"))
    assert "TCNCompressorProxy at 44100 Hz" in line and "mae 0.0194" in line
    assert "128 held-out 1 s" in line


def test_shipped_restorer_improves_unseen_distorted_guitar():
    """The shipped distortion-removal network on held-out guitar clips (seeds the training data
    never draw): every clip's SI-SDR rises by more than 2 dB for overdrive and hard clipping
    (measured 6.2-11.5 dB, 4.4-5.1 dB and 4.0-5.4 dB for the three cases below; the sidecar
    records the medians over the whole grid)."""
    from dasp_blind.data import synthetic_guitar
    from dasp_blind.metrics import si_sdr
    from dasp_blind.removal import Restorer, clip_to_sdr, hard_clip, overdrive

    restorer = pretrained.load("guitar_distortion_removal")
    assert isinstance(restorer, Restorer) and restorer.sample_rate == 16000
    clean = torch.stack([synthetic_guitar(2.0, 16000, seed=s) for s in (2000, 2001, 2002)])
    for degraded in (overdrive(clean, 35.0), hard_clip(clean, 35.0), clip_to_sdr(clean, 10.0)[0]):
        with torch.no_grad():
            gain = si_sdr(restorer(degraded), clean) - si_sdr(degraded, clean)
        assert (gain > 2.0).all(), gain


def test_shipped_gru_follows_the_sox_overdrive_on_unseen_guitar():
    """The shipped GRU-48 against the SoX overdrive at its defaults (gain 20 dB, colour 20), on
    held-out guitar clips: pre-emphasised ESR under the issue's 0.02 (its sidecar: 0.0040 over
    16 clips of 4 s); its GuitarML plugin file, run by a numpy GRU written from the file alone,
    gives the model's output."""
    from test_modelling_plugin import run_guitarml_file

    from dasp_blind.data import synthetic_guitar
    from dasp_blind.effects import SoxOverdrive
    from dasp_blind.metrics import esr

    model = pretrained.load("overdrive_gru48")
    assert pretrained.info("overdrive_gru48")["sample_rate"] == 44100
    dry = torch.stack([synthetic_guitar(1.0, 44100, seed=s) for s in (2000, 2001)])
    effect = SoxOverdrive(44100)
    with torch.no_grad():
        wet = effect(dry, effect.param_space.default(2))
        estimate = model(dry)
    assert (esr(estimate, wet, 0.85) < 0.02).all()
    plugin = resources.files(pretrained) / "plugins" / "overdrive_gru48.guitarml.json"
    data = json.loads(plugin.read_text())
    assert data["model_data"]["hidden_size"] == 48 and data["model_data"]["sample_rate"] == 44100
    numpy_out = run_guitarml_file(data, dry[0, 0, :4000].double().numpy(), None)
    np.testing.assert_allclose(numpy_out, estimate[0, 0, :4000].double().numpy(), atol=1e-5)
