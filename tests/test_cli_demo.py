"""``dasp-blind demo`` (blind estimation on the built-in music) run as a subprocess.

The runs use a tiny seeded estimator (TE encoder, 16 kHz) exported to a temporary folder; the
report's numbers are checked against a recomputation with the library's ``evaluate``,
``refine`` and ``mel_loss`` on the wav files the demo wrote. One test runs the shipped
estimator; it is skipped while that estimator is not shipped.
"""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest
import soundfile as sf
import torch
from _estimators import export_tiny_estimator
from clirun import assert_one_line_error, run_cli, unimportable

from dasp_blind import pretrained
from dasp_blind.data import synthetic_music
from dasp_blind.estimation import evaluate, mel_loss, refine

MODEL_SR = 16000
SHIPPED = "parametric_clipper_estimator"
# The fixture run: 3 clips of 1.5 s, seed 2, 3 refinement steps.
CLIPS, SECONDS, SEED, STEPS = 3, 1.5, 2, 3
FAST = ["--clips", "1", "--seconds", "1", "--refine-steps", "0", "--no-figure"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A folder holding ``est.pt``: an untrained, seeded TE estimator of the parametric clipper
    at 16 kHz, exported with ``pretrained.save``."""
    folder = tmp_path_factory.mktemp("demo_model")
    export_tiny_estimator(folder / "est.pt", MODEL_SR)
    return folder


@pytest.fixture(scope="module")
def demo_run(model_dir):
    """One run of the demo into ``model_dir/run``: (folder, CompletedProcess)."""
    result = run_cli("demo", "--model", "est.pt", "--clips", str(CLIPS), "--seconds",
                     str(SECONDS), "--seed", str(SEED), "--refine-steps", str(STEPS), "--out",
                     "run", cwd=model_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    return model_dir / "run", result


def read(path) -> torch.Tensor:
    """A wav file as ``(channels, samples)`` float32 (soundfile only)."""
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    assert rate == MODEL_SR
    return torch.from_numpy(np.ascontiguousarray(data.T))


def files_under(folder) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def snapshot(folder) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in files_under(folder)}


def first_table(report: str, heading: str) -> list[list[str]]:
    """The body rows of the Markdown table that starts right after ``## heading`` (and the
    text line before it)."""
    section = report.split(f"## {heading}\n", 1)[1]
    block = re.search(r"((?:^\|.*\n)+)", section, re.M).group(1)
    rows = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in block.splitlines()]
    return rows[2:]  # header and rule


# --- what a run writes ---------------------------------------------------------------------

def test_writes_the_report_results_figures_and_every_clips_audio(demo_run):
    folder, result = demo_run
    results = json.loads((folder / "results.json").read_text())
    k = results["refinement"]["clip"]
    audio = {f"audio/clip{i:02d}_{kind}.wav" for i in range(1, CLIPS + 1)
             for kind in ("dry", "wet", "rendered")} | {f"audio/clip{k:02d}_refined.wav"}
    assert files_under(folder) == {"report.md", "results.json", "scatter.png",
                                   "spectrograms.png"} | audio
    for name in audio:
        info = sf.info(str(folder / name))
        assert info.samplerate == MODEL_SR and info.frames == int(SECONDS * MODEL_SR)
        assert info.subtype == "FLOAT"
    for name in ("scatter.png", "spectrograms.png"):
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (folder / name).stat().st_size > 10_000
    report = (folder / "report.md").read_text()
    assert "![true against estimated controls](scatter.png)" in report
    assert "dasp-blind demo --model est.pt --clips 3 --seconds 1.5 --seed 2 " \
           "--refine-steps 3" in report
    for text in ("True and estimated parameters", "L_mel estimate / Random q̂",
                 "drive_db", f"clip {k}: L_mel"):
        assert text in result.stdout
    assert "refine: step 3/3" in result.stderr


def test_dry_clips_are_the_built_in_music_peak_normalised(demo_run):
    folder, _ = demo_run
    for i in range(CLIPS):
        music = synthetic_music(duration_s=SECONDS, sample_rate=MODEL_SR, seed=SEED * 100 + i,
                                dynamics=True, style="random")
        expected = music / music.abs().max()
        assert torch.equal(read(folder / f"audio/clip{i + 1:02d}_dry.wav"), expected)


def test_report_numbers_equal_a_recomputation(demo_run, model_dir):
    """The Markdown tables against ``evaluate`` / ``refine`` / ``mel_loss`` run here on the
    dry wav files the demo wrote, with the exported estimator loaded here."""
    folder, _ = demo_run
    est = pretrained.load(model_dir / "est.pt")
    dry = torch.stack([read(folder / f"audio/clip{i:02d}_dry.wav")
                       for i in range(1, CLIPS + 1)])
    ev = evaluate(est, dry, seed=SEED)
    space = est.analysis.param_space
    true, hat = space.denormalize(ev.q_true), space.denormalize(ev.q_hat)
    report = (folder / "report.md").read_text()
    span = {s.name: s.max - s.min for s in space}

    rows = first_table(report, "True and estimated parameters")
    assert len(rows) == CLIPS * len(space)
    for clip, name, unit, t, e, err in rows:
        i = int(clip) - 1
        assert unit == (space[name].unit or "-")
        tol = 5e-4 + 1e-5 * span[name]  # printed with 3 decimals
        assert abs(float(t) - float(true[name][i])) <= tol
        assert abs(float(e) - float(hat[name][i])) <= tol
        assert abs(float(err) - float(hat[name][i] - true[name][i])) <= 2 * tol

    losses = first_table(report, "Mel loss against both baselines")
    assert [r[0] for r in losses] == [str(i) for i in range(1, CLIPS + 1)] + ["mean"]
    expected = [[ev.mel[i], ev.random_mel[i], ev.dry_mel[i]] for i in range(CLIPS)]
    expected.append([ev.mel.mean(), ev.random_mel.mean(), ev.dry_mel.mean()])
    for row, values in zip(losses, expected, strict=True):
        for cell, value in zip(row[1:], values, strict=True):
            assert abs(float(cell) - float(value)) <= 5e-5 + 1e-4 * float(value)
    ratio = float(re.search(r"L_mel estimate / Random q̂ = ([\d.]+)", report).group(1))
    assert abs(ratio - float(ev.mel.mean() / ev.random_mel.mean())) <= 5e-4 + 1e-3 * ratio

    k = int(ev.mel.argmax())
    one = slice(k, k + 1)
    q = refine(est.analysis, dry[one], ev.wet[one], ev.q_hat[one], steps=STEPS, lr=0.05)
    with torch.no_grad():
        after = float(mel_loss(est.analysis(dry[one], q), ev.wet[one], MODEL_SR))
    line = re.search(rf"clip {k + 1}: L_mel ([\d.]+) \(encoder\) -> ([\d.]+) \(refined, "
                     rf"{STEPS} steps\)", report)
    assert line is not None, report
    assert abs(float(line.group(1)) - float(ev.mel[k])) <= 5e-5 + 1e-4 * float(ev.mel[k])
    assert abs(float(line.group(2)) - after) <= 5e-5 + 1e-3 * after
    assert after <= float(ev.mel[k])
    refined = space.denormalize(q)
    rows = first_table(report, "Refinement with the dry signal known")
    assert [r[0] for r in rows] == est.param_names
    for name, _, t, e, r in rows:
        tol = 5e-4 + 1e-5 * span[name]
        assert abs(float(t) - float(true[name][k])) <= tol
        assert abs(float(e) - float(hat[name][k])) <= tol
        assert abs(float(r) - float(refined[name][0])) <= 5e-4 + 1e-4 * span[name]

    # the wav files hold the wet and re-rendered clips of the evaluation
    for i in range(CLIPS):
        scale = float(ev.wet[i].abs().max())
        for kind, value in (("wet", ev.wet[i]), ("rendered", ev.rendered[i])):
            got = read(folder / f"audio/clip{i + 1:02d}_{kind}.wav")
            assert (got - value).abs().max() <= 1e-4 * max(scale, 1e-3), (i, kind)


def test_results_json_holds_the_numbers_at_full_precision(demo_run, model_dir):
    folder, _ = demo_run
    results = json.loads((folder / "results.json").read_text())
    est = pretrained.load(model_dir / "est.pt")
    dry = torch.stack([read(folder / f"audio/clip{i:02d}_dry.wav")
                       for i in range(1, CLIPS + 1)])
    summary = evaluate(est, dry, seed=SEED).summary()
    assert results["music_seeds"] == [SEED * 100 + i for i in range(CLIPS)]
    assert results["sample_rate"] == MODEL_SR and results["clips"] == CLIPS
    for key in ("mel", "random_mel", "dry_mel", "mel_over_random", "mse_q"):
        assert results["summary"][key] == pytest.approx(summary[key], rel=1e-4, abs=1e-6)
    assert results["summary"]["refine_mel_after"] <= results["summary"]["refine_mel_before"]
    assert [p["name"] for p in results["parameters"]] == est.param_names


# --- output folders --------------------------------------------------------------------------

def test_default_out_is_a_new_folder_each_run_and_earlier_runs_stay(model_dir, tmp_path):
    model = str(model_dir / "est.pt")
    first = run_cli("demo", "--model", model, *FAST, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    runs = tmp_path / "runs" / "demo"
    [earlier] = os.listdir(runs)
    assert re.fullmatch(r"\d{8}-\d{6}", earlier)
    before = snapshot(runs / earlier)
    assert "report.md" in before and not any(n.endswith(".png") for n in before)
    assert "Figures not drawn (not asked for)." in before["report.md"].decode()
    second = run_cli("demo", "--model", model, *FAST, cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    folders = sorted(os.listdir(runs))
    assert len(folders) == 2 and earlier in folders
    assert snapshot(runs / earlier) == before
    later = next(f for f in folders if f != earlier)
    assert files_under(runs / later) == set(before)


def test_an_explicit_out_that_holds_files_is_refused_without_overwrite(model_dir, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    result = run_cli("demo", "--model", str(model_dir / "est.pt"), *FAST, "--out", "mine",
                     cwd=tmp_path)
    line = assert_one_line_error(result, "--out")
    assert "not empty" in line and "--overwrite" in line
    assert os.listdir(out) == ["notes.txt"]
    result = run_cli("demo", "--model", str(model_dir / "est.pt"), *FAST, "--out", "mine",
                     "--overwrite", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (out / "notes.txt").read_text() == "keep"
    assert {"report.md", "results.json", "audio/clip01_dry.wav"} <= files_under(out)


def test_without_matplotlib_writes_everything_but_the_figures_and_says_so(model_dir, tmp_path):
    fake = unimportable(tmp_path / "fake", "matplotlib")
    result = run_cli("demo", "--model", str(model_dir / "est.pt"), "--clips", "1", "--seconds",
                     "1", "--refine-steps", "0", "--out", "out", cwd=tmp_path, extra_path=[fake])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "figures skipped: matplotlib is not installed" in result.stdout
    assert files_under(tmp_path / "out") == {
        "report.md", "results.json", "audio/clip01_dry.wav", "audio/clip01_wet.wav",
        "audio/clip01_rendered.wav", "audio/clip01_refined.wav"}
    assert "matplotlib is not installed" in (tmp_path / "out" / "report.md").read_text()


# --- one-line errors, nothing written ------------------------------------------------------

@pytest.mark.parametrize("args,option", [
    (["--clips", "0"], "--clips"),
    (["--clips", "101"], "--clips"),
    (["--clips", "two"], "--clips"),
    (["--seconds", "0.5"], "--seconds"),
    (["--seconds", "nan"], "--seconds"),
    (["--seconds", "61"], "--seconds"),
    (["--seed", "-1"], "--seed"),
    (["--refine-steps", "-1"], "--refine-steps"),
    (["--model", "no_such_estimator"], "--model"),
    (["--model", "missing.pt"], "--model"),
    (["--model", "compressor_proxy"], "--model"),   # shipped, but not an estimator
    (["--out", "notes.txt"], "--out"),               # a file, not a folder
    (["--sample-rate", "8000"], "--sample-rate"),    # a tour option the demo does not have
])
def test_bad_options_are_one_line_errors_and_write_nothing(model_dir, tmp_path, args, option):
    (tmp_path / "notes.txt").write_text("mine")
    model = [] if "--model" in args else ["--model", str(model_dir / "est.pt")]
    result = run_cli("demo", *model, *args, cwd=tmp_path)
    line = assert_one_line_error(result, option)
    assert os.listdir(tmp_path) == ["notes.txt"], line


# --- the shipped estimator -----------------------------------------------------------------

@pytest.mark.skipif(SHIPPED not in pretrained.names(),
                    reason=f"{SHIPPED} is not shipped yet (dasp_blind/pretrained/)")
def test_demo_runs_with_the_shipped_estimator_by_default(tmp_path):
    result = run_cli("demo", "--clips", "2", "--seconds", "3", "--refine-steps", "2",
                     "--no-figure", "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["model"] == SHIPPED
    assert results["sample_rate"] == pretrained.info(SHIPPED)["sample_rate"]
    assert np.isfinite(results["summary"]["mel_over_random"])
