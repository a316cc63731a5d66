"""Blind estimation on the built-in music: what ``dasp-blind demo`` (``make demo``) runs.

:func:`run_demo` renders dry clips of :func:`~dasp_blind.data.synthetic_music` (any genre,
``dynamics=True``, peak-normalised) at the estimator's sample rate, makes wet clips from them
with known random controls through the estimator's analysis effect, estimates the controls from
the wet clips alone and compares the re-rendered clips with the paper's two baselines
(:func:`~dasp_blind.estimation.evaluate`); then it refines the estimate of the clip the
estimator got worst, with its dry signal known (:func:`~dasp_blind.estimation.refine`).
:func:`write_demo` writes what a reader needs to judge the result: ``report.md`` (the tables,
the commands and what each number means), ``results.json`` (the same numbers at full
precision), ``scatter.png`` (true against estimated controls), ``spectrograms.png`` (dry, wet,
re-rendered and refined) and the audio of every clip.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ._checks import check_in_interval, check_int, check_integer_rate, check_seed
from ._outputs import check_out_dir, matplotlib_available, pyplot, save_figure, write_text
from .data import save_audio, synthetic_music
from .estimation import Estimator, Evaluation, evaluate, mel_loss, refine
from .functional import gain_to_db
from .params import ParamSpace

#: Limits of the demo's settings: a clip must hold more than the mel loss's FFT (4096 samples)
#: and a few of the music's beats; more clips or longer ones only cost time.
MIN_SECONDS = 1.0
MAX_SECONDS = 60.0
MAX_CLIPS = 100
#: Runs without an explicit folder go into a new time-stamped folder under this one.
RUNS_ROOT = Path("runs/demo")
#: Adam learning rate of the refinement (on the controls' logits).
REFINE_LR = 0.05
REPORT_NAME = "report.md"
RESULTS_NAME = "results.json"
SCATTER_NAME = "scatter.png"
SPECTROGRAMS_NAME = "spectrograms.png"
AUDIO_DIR = "audio"
#: Spectrogram settings of ``spectrograms.png``: FFT size, hop, dynamic range shown (dB).
SPEC_FFT = 2048
SPEC_HOP = 512
SPEC_RANGE_DB = 80.0


@dataclass
class DemoResult:
    """What :func:`run_demo` computed (``N`` clips of ``T`` samples, ``P`` controls)."""

    #: How the estimator was named (a shipped name or a path), for the report.
    model: str
    sample_rate: int
    seconds: float
    #: Seed of the demo, and the seed of each clip's music (``seed * MAX_CLIPS + i``).
    seed: int
    music_seeds: list[int]
    #: The estimator's parameter space (names, ranges, units).
    param_space: ParamSpace
    #: Dry clips ``(N, 1, T)``.
    dry: Tensor
    #: True and estimated controls, wet and re-rendered clips and the per-clip losses.
    evaluation: Evaluation
    #: Index (0-based) of the refined clip: the one with the highest L_mel of the estimate.
    refined_clip: int
    refine_steps: int
    refine_lr: float
    #: Refined controls ``(P,)``, the refined clip ``(1, T)`` and its L_mel against the wet one.
    q_refined: Tensor
    refined: Tensor
    mel_refined: float
    #: Seconds spent making, estimating and refining the clips.
    elapsed_s: float
    #: The estimator's sidecar (recipe, metrics) when it came from :mod:`dasp_blind.pretrained`.
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def clips(self) -> int:
        """Number of clips ``N``."""
        return self.dry.shape[0]


def music_seeds(seed: int, clips: int) -> list[int]:
    """Seeds of the music of the demo's clips: ``seed * MAX_CLIPS + i`` for clip ``i``, so runs
    with different seeds never share a clip."""
    return [check_seed(seed) * MAX_CLIPS + i for i in range(check_int(clips, "clips", 1))]


def dry_clips(seeds: list[int], seconds: float, sample_rate: int) -> Tensor:
    """Mono clips ``(N, 1, round(seconds * sample_rate))`` of the built-in music (any of its
    genres, with realistic dynamics), one per seed, each peak-normalised as the training clips
    are (a clipper's effect depends on the input level)."""
    music = torch.stack([synthetic_music(duration_s=seconds, sample_rate=sample_rate, seed=s,
                                         dynamics=True, style="random") for s in seeds])
    return music / music.abs().amax(dim=(1, 2), keepdim=True)


def run_demo(estimator: Estimator, clips: int = 8, seconds: float = 6.0, seed: int = 0,
             refine_steps: int = 40, model: str = "estimator",
             info: dict[str, Any] | None = None,
             log: Callable[[str], None] | None = None) -> DemoResult:
    """Estimate the controls of wet clips made with known random controls; refine one.

    Clip ``i`` is ``synthetic_music(seconds, rate, seed=seed * MAX_CLIPS + i, dynamics=True,
    style="random")`` at the estimator's rate, peak-normalised; its true controls are ``q ~ U(0,
    1)`` drawn from ``seed`` and its wet version ``estimator.analysis(dry, q)`` (see
    :func:`~dasp_blind.estimation.evaluate`, which makes, estimates and scores them). The clip
    with the highest L_mel of the estimate is then refined by ``refine_steps`` gradient steps
    with its dry signal known.

    Args:
        estimator: the estimator (its sample rate must be an integer number of Hz).
        clips: number of clips, 1 to :data:`MAX_CLIPS`.
        seconds: clip length, :data:`MIN_SECONDS` to :data:`MAX_SECONDS`.
        seed: seed of the music and of the controls, an integer ``>= 0``.
        refine_steps: gradient steps of the refinement (``0``: the estimate is kept).
        model: how the estimator was named, for the report.
        info: its sidecar (:func:`dasp_blind.pretrained.info`), for the report.
        log: called with a line of progress before each stage (e.g. ``print``); with it,
            the refinement prints its progress to stderr.

    Returns:
        The clips, the evaluation and the refinement (see :class:`DemoResult`).
    """
    clips = check_int(clips, "clips", 1, MAX_CLIPS)
    seconds = check_in_interval(seconds, "seconds", MIN_SECONDS, MAX_SECONDS, "s")
    seeds = music_seeds(seed, clips)
    refine_steps = check_int(refine_steps, "refine_steps", 0)
    rate = check_integer_rate(estimator.sample_rate, "estimator.sample_rate")
    say = log or (lambda _: None)
    start = time.perf_counter()
    say(f"making {clips} clip(s) of {seconds:g} s of the built-in music at {rate} Hz")
    dry = dry_clips(seeds, seconds, rate)
    say("estimating the controls of the wet clips from the wet audio alone")
    ev = evaluate(estimator, dry, seed=seed)
    worst = int(ev.mel.argmax())
    say(f"refining the estimate of clip {worst + 1} with its dry signal known "
        f"({refine_steps} steps)")
    one = slice(worst, worst + 1)
    q_refined = refine(estimator.analysis, dry[one], ev.wet[one], ev.q_hat[one],
                       steps=refine_steps, lr=REFINE_LR, progress=log is not None)
    with torch.no_grad():
        refined = estimator.analysis(dry[one], q_refined)
        mel_refined = float(mel_loss(refined, ev.wet[one], rate))
    return DemoResult(model=model, sample_rate=rate, seconds=seconds, seed=seed,
                      music_seeds=seeds, param_space=estimator.analysis.param_space, dry=dry,
                      evaluation=ev, refined_clip=worst, refine_steps=refine_steps,
                      refine_lr=REFINE_LR, q_refined=q_refined[0], refined=refined[0],
                      mel_refined=mel_refined, elapsed_s=time.perf_counter() - start,
                      info=dict(info or {}))


# --- tables -----------------------------------------------------------------------------------

def physical(result: DemoResult, q: Tensor) -> dict[str, list[float]]:
    """Controls ``(N, P)`` in physical units: name -> one value per row."""
    return {k: v.tolist() for k, v in result.param_space.denormalize(q.double()).items()}


def parameter_rows(result: DemoResult) -> list[dict[str, Any]]:
    """One row per clip and parameter: ``clip`` (1-based), ``parameter``, ``unit``, ``true``,
    ``estimate`` (physical units) and ``error = estimate - true``."""
    true = physical(result, result.evaluation.q_true)
    est = physical(result, result.evaluation.q_hat)
    return [{"clip": i + 1, "parameter": spec.name, "unit": spec.unit,
             "true": true[spec.name][i], "estimate": est[spec.name][i],
             "error": est[spec.name][i] - true[spec.name][i]}
            for i in range(result.clips) for spec in result.param_space]


def parameter_errors(result: DemoResult) -> list[dict[str, Any]]:
    """Per parameter: mean absolute error in physical units (``mae``) and of the normalised
    controls (``mae_q``)."""
    rows = parameter_rows(result)
    q_err = (result.evaluation.q_hat - result.evaluation.q_true).abs().double().mean(dim=0)
    return [{"parameter": spec.name, "unit": spec.unit,
             "mae": sum(abs(r["error"]) for r in rows if r["parameter"] == spec.name)
             / result.clips,
             "mae_q": float(q_err[j])} for j, spec in enumerate(result.param_space)]


def loss_rows(result: DemoResult) -> list[dict[str, Any]]:
    """Per clip: L_mel of the estimate (``mel``), of random controls (``random_mel``) and of
    the dry clip (``dry_mel``)."""
    ev = result.evaluation
    return [{"clip": i + 1, "mel": float(ev.mel[i]), "random_mel": float(ev.random_mel[i]),
             "dry_mel": float(ev.dry_mel[i])} for i in range(result.clips)]


def summary(result: DemoResult) -> dict[str, float]:
    """Means over the clips (:meth:`Evaluation.summary`), ``mel_over_dry`` and the
    refinement's L_mel before and after."""
    out = result.evaluation.summary()
    out["mel_over_dry"] = out["mel"] / out["dry_mel"]
    out["refine_mel_before"] = float(result.evaluation.mel[result.refined_clip])
    out["refine_mel_after"] = result.mel_refined
    return out


def refinement_rows(result: DemoResult) -> list[dict[str, Any]]:
    """Per parameter of the refined clip: ``true``, ``estimate`` and ``refined`` values."""
    k = result.refined_clip
    true = physical(result, result.evaluation.q_true[k:k + 1])
    est = physical(result, result.evaluation.q_hat[k:k + 1])
    ref = physical(result, result.q_refined[None])
    return [{"parameter": s.name, "unit": s.unit, "true": true[s.name][0],
             "estimate": est[s.name][0], "refined": ref[s.name][0]}
            for s in result.param_space]


def _table(header: list[str], rows: list[list[str]], left: int, markdown: bool) -> str:
    """Rows of cells as a Markdown table or as aligned plain text; the first ``left`` columns
    are aligned left, the others (numbers) right."""
    if markdown:
        rule = ["---" if i < left else "---:" for i in range(len(header))]
        return "\n".join("| " + " | ".join(r) + " |" for r in [header, rule, *rows])
    widths = [max(len(c) for c in col) for col in zip(header, *rows, strict=True)]
    return "\n".join("  ".join(c.ljust(w) if i < left else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()
                     for r in [header, *rows])


def parameter_table(result: DemoResult, markdown: bool = False) -> str:
    """True against estimated parameters, per clip and parameter, in physical units."""
    rows = [[str(r["clip"]), r["parameter"], r["unit"] or "-", f"{r['true']:.3f}",
             f"{r['estimate']:.3f}", f"{r['error']:+.3f}"] for r in parameter_rows(result)]
    return _table(["clip", "parameter", "unit", "true", "estimate", "error"], rows, 3, markdown)


def error_table(result: DemoResult, markdown: bool = False) -> str:
    """Mean absolute error per parameter, physical and normalised."""
    rows = [[r["parameter"], r["unit"] or "-", f"{r['mae']:.3f}", f"{r['mae_q']:.3f}"]
            for r in parameter_errors(result)]
    return _table(["parameter", "unit", "mean abs error", "mean abs error of q"], rows, 2,
                  markdown)


def loss_table(result: DemoResult, markdown: bool = False) -> str:
    """L_mel per clip of the estimate and of both baselines, and their means."""
    s = summary(result)
    rows = [[str(r["clip"]), f"{r['mel']:.4f}", f"{r['random_mel']:.4f}",
             f"{r['dry_mel']:.4f}"] for r in loss_rows(result)]
    rows.append(["mean", f"{s['mel']:.4f}", f"{s['random_mel']:.4f}", f"{s['dry_mel']:.4f}"])
    header = ["clip", "L_mel estimate", "L_mel Random q̂", "L(x, y)"]
    return _table(header, rows, 1, markdown)


def ratio_line(result: DemoResult) -> str:
    """The estimate's mean L_mel over each baseline's."""
    s = summary(result)
    return (f"L_mel estimate / Random q̂ = {s['mel_over_random']:.3f}; "
            f"estimate / L(x, y) = {s['mel_over_dry']:.3f} (ratios of the means; lower is "
            f"better, 1 is no better than the baseline)")


def refinement_table(result: DemoResult, markdown: bool = False) -> str:
    """The refined clip's parameters: true, encoder estimate, refined."""
    rows = [[r["parameter"], r["unit"] or "-", f"{r['true']:.3f}", f"{r['estimate']:.3f}",
             f"{r['refined']:.3f}"] for r in refinement_rows(result)]
    return _table(["parameter", "unit", "true", "estimate", "refined"], rows, 2, markdown)


def refinement_line(result: DemoResult) -> str:
    """L_mel of the refined clip before and after refinement."""
    s = summary(result)
    before, after = s["refine_mel_before"], s["refine_mel_after"]
    change = (after - before) / before if before > 0 else 0.0
    return (f"clip {result.refined_clip + 1}: L_mel {before:.4f} (encoder) -> {after:.4f} "
            f"(refined, {result.refine_steps} steps), {100 * change:+.1f} %")


def format_text(result: DemoResult) -> str:
    """The tables as :func:`run_demo` 's command prints them."""
    return "\n".join([
        "True and estimated parameters (physical units):", parameter_table(result), "",
        error_table(result), "",
        "L_mel of the re-rendered clips against the wet ones (lower is better):",
        loss_table(result), ratio_line(result), "",
        "Refinement with the dry signal known (the clip estimated worst):",
        refinement_table(result), refinement_line(result)])


# --- files ------------------------------------------------------------------------------------

def _clip_name(i: int) -> str:
    return f"clip{i + 1:02d}"


def demo_files(clips: int, refined_clip: int | None = None, figure: bool = True) -> list[str]:
    """Names (relative to the run's folder) of the files :func:`write_demo` writes; without
    ``refined_clip`` every clip's ``_refined.wav`` is listed (the names it may write)."""
    audio = [f"{AUDIO_DIR}/{_clip_name(i)}_{kind}.wav" for i in range(clips)
             for kind in ("dry", "wet", "rendered")]
    refined = range(clips) if refined_clip is None else [refined_clip]
    audio += [f"{AUDIO_DIR}/{_clip_name(i)}_refined.wav" for i in refined]
    figures = [SCATTER_NAME, SPECTROGRAMS_NAME] if figure else []
    return [REPORT_NAME, RESULTS_NAME, *figures, *audio]


def write_demo(result: DemoResult, out_dir: str | Path, figure: bool = True,
               overwrite: bool = False, command: str | None = None) -> list[Path]:
    """Write the run's files into ``out_dir`` (a new or empty folder unless ``overwrite``).

    ``report.md``, ``results.json``, ``scatter.png`` and ``spectrograms.png`` (when ``figure``
    and matplotlib is installed), and ``audio/clipNN_{dry,wet,rendered}.wav`` per clip with
    ``audio/clipNN_refined.wav`` for the refined one (32-bit float WAV).

    Args:
        result: what :func:`run_demo` returned.
        out_dir: the folder (created if needed).
        figure: draw the figures; skipped, and said so in the report, without matplotlib.
        overwrite: write into a folder that holds files, replacing those of the same names.
        command: the command that made the run, for the report.

    Returns:
        The paths written.
    """
    drawn = figure and matplotlib_available()
    names = demo_files(result.clips, result.refined_clip, drawn)
    out = check_out_dir(out_dir, names, overwrite, what="the demo's files")
    out.mkdir(parents=True, exist_ok=True)
    paths = _write_audio(result, out, overwrite)
    if drawn:
        paths.append(scatter_figure(result, out / SCATTER_NAME, overwrite))
        paths.append(spectrogram_figure(result, out / SPECTROGRAMS_NAME, overwrite))
    note = None if drawn else ("Figures not drawn: matplotlib is not installed (pip install "
                               "matplotlib)." if figure else "Figures not drawn (not asked for).")
    paths.append(write_text(out / RESULTS_NAME, json.dumps(results_json(result), indent=2),
                            overwrite))
    paths.append(write_text(out / REPORT_NAME, format_report(result, command, note), overwrite))
    return paths


def _write_audio(result: DemoResult, out: Path, overwrite: bool) -> list[Path]:
    ev, rate = result.evaluation, result.sample_rate
    paths = []
    for i in range(result.clips):
        for kind, audio in (("dry", result.dry[i]), ("wet", ev.wet[i]),
                            ("rendered", ev.rendered[i])):
            paths.append(save_audio(out / AUDIO_DIR / f"{_clip_name(i)}_{kind}.wav", audio,
                                    rate, overwrite=overwrite))
    name = f"{_clip_name(result.refined_clip)}_refined.wav"
    paths.append(save_audio(out / AUDIO_DIR / name, result.refined, rate, overwrite=overwrite))
    return paths


def results_json(result: DemoResult) -> dict[str, Any]:
    """Every number of the report at full precision (what ``results.json`` holds)."""
    space = result.param_space
    return {
        "model": result.model, "sample_rate": result.sample_rate, "seconds": result.seconds,
        "seed": result.seed, "clips": result.clips, "music_seeds": result.music_seeds,
        "parameters": [{"name": s.name, "unit": s.unit, "min": s.min, "max": s.max,
                        "scale": s.scale} for s in space],
        "q_true": result.evaluation.q_true.tolist(), "q_hat": result.evaluation.q_hat.tolist(),
        "estimates": parameter_rows(result), "errors": parameter_errors(result),
        "losses": loss_rows(result), "summary": summary(result),
        "refinement": {"clip": result.refined_clip + 1, "steps": result.refine_steps,
                       "lr": result.refine_lr, "q": result.q_refined.tolist(),
                       "parameters": refinement_rows(result)},
        "elapsed_s": result.elapsed_s,
    }


def format_report(result: DemoResult, command: str | None = None,
                  figure_note: str | None = None) -> str:
    """``report.md``: settings, tables, figures, files, the commands and what the numbers
    mean."""
    k = result.refined_clip
    space = result.param_space
    ranges = ", ".join(f"`{p.name}` {p.min:g} to {p.max:g}{' ' + p.unit if p.unit else ''}"
                       f" ({p.scale})" for p in space)
    sections = [
        "# Blind estimation demo", "",
        f"Estimator `{result.model}` at {result.sample_rate} Hz; {result.clips} clip(s) of "
        f"{result.seconds:g} s of the built-in music, seed {result.seed}; computed in "
        f"{result.elapsed_s:.1f} s.", "",
        *_provenance(result.info),
        "## What was done", "",
        f"1. **Dry clips**: clip *i* is `dasp_blind.data.synthetic_music(duration_s="
        f"{result.seconds:g}, sample_rate={result.sample_rate}, seed=seed * {MAX_CLIPS} + i, "
        f"dynamics=True, style='random')` (mono; music seeds {_seeds(result.music_seeds)}): one "
        f"of eight genres, with varying levels and quiet sections, then peak-normalised as the "
        f"training clips are.",
        f"2. **Wet clips with known controls**: true controls q ~ U(0, 1) per clip (seed "
        f"{result.seed}), mapped to physical values by the effect's parameter ranges ({ranges}); "
        f"wet = the estimator's analysis effect applied to the dry clip with them.",
        "3. **Blind estimation**: the estimator reads each wet clip alone (no dry signal) and "
        "outputs q̂; the dry clip is re-rendered through the effect with q̂.",
        f"4. **Refinement**: for clip {k + 1} (the one estimated worst), q̂ is refined by "
        f"{result.refine_steps} steps of gradient descent (Adam, lr {result.refine_lr:g}, on the "
        f"logits of q) of the mel loss between the re-rendered and the wet clip, this time "
        f"with the dry clip known.", "",
        "## True and estimated parameters", "",
        "Physical units; error = estimate − true.", "",
        parameter_table(result, markdown=True), "",
        error_table(result, markdown=True), "",
        "## Mel loss against both baselines", "",
        loss_table(result, markdown=True), "",
        ratio_line(result) + ".", "",
        "## Refinement with the dry signal known", "",
        refinement_table(result, markdown=True), "",
        refinement_line(result) + ".", "",
        "## Figures", "",
        *_figures_section(figure_note),
        "## Files", "",
        f"- `audio/clipNN_dry.wav`, `clipNN_wet.wav`, `clipNN_rendered.wav`: each clip's dry "
        f"input, the wet clip the estimator read and the dry clip re-rendered with the "
        f"estimate; `audio/{_clip_name(k)}_refined.wav`: the refined clip. 32-bit float WAV "
        f"at {result.sample_rate} Hz.",
        f"- `{RESULTS_NAME}`: every number of this report at full precision.", "",
        "## What the numbers mean", "",
        "- **true / estimate**: the effect's parameters in physical units; a parameter that "
        "barely changes the sound at the other parameters' values (the hardness of a clipper "
        "driven softly, say) cannot be told from the wet audio, so a large error there can "
        "still sound right: the mel loss judges the sound.",
        "- **mean abs error of q**: the same errors on the normalised controls in [0, 1], "
        "comparable across parameters; uniformly random guesses score 1/3 on average.",
        "- **L_mel**: the mean absolute difference of log mel spectrograms (FFT 4096, hop "
        "1024, 128 mels) between a clip and the wet clip, both with their mean removed and "
        "scaled to RMS 1 (so the level is ignored). 0 is a perfect match.",
        "- **L_mel Random q̂**: the dry clip rendered with uniformly random controls instead "
        "of the estimate: what guessing scores. The paper's estimators reach 0.22 × this "
        "baseline for the parametric clipper.",
        "- **L(x, y)**: the dry clip itself against the wet one: what doing nothing scores.",
        "- **Refinement**: possible only when the dry signal is known (re-amping, mix "
        "reverse-engineering); it starts from the encoder's estimate and can only lower "
        "L_mel (the best controls seen are kept).", "",
        "## Commands", "",
        "```bash",
        command or "dasp-blind demo",
        "```", "",
        "The same in Python:", "",
        "```python",
        *_python_commands(result),
        "```", ""]
    return "\n".join(sections)


def _provenance(info: dict[str, Any]) -> list[str]:
    """Lines of the report on how the estimator's weights were made and measured."""
    if not info:
        return []
    recipe, metrics = info.get("recipe", {}), info.get("metrics", {})
    lines = [f"Weights: `{info.get('class_path', '?')}` with `{json.dumps(info.get('init_args'))}`"
             f"; made by `{recipe.get('command')}` ({recipe.get('steps')} steps, seed "
             f"{recipe.get('seed')})."]
    numbers = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()
                        if isinstance(v, int | float) and not isinstance(v, bool))
    if numbers:
        where = f" on {metrics['measured_on']}" if "measured_on" in metrics else ""
        lines.append(f"Metrics recorded with the weights{where}: {numbers}.")
    return [*lines, ""]


def _seeds(seeds: list[int]) -> str:
    return (f"{seeds[0]} to {seeds[-1]}" if len(seeds) > 1 else str(seeds[0]))


def _figures_section(note: str | None) -> list[str]:
    if note is not None:
        return [note, ""]
    return [f"![true against estimated controls]({SCATTER_NAME})", "",
            f"`{SCATTER_NAME}`: estimated against true controls per parameter, both normalised "
            "to [0, 1] (the axes' physical ranges in the titles); the dashed line is a perfect "
            "estimate, the star the refined clip after refinement.", "",
            f"![spectrograms]({SPECTROGRAMS_NAME})", "",
            f"`{SPECTROGRAMS_NAME}`: the refined clip's dry, wet, re-rendered (encoder "
            f"estimate) and refined signals, each scaled to RMS 1 (as the loss sees them).", ""]


def _python_commands(result: DemoResult) -> list[str]:
    k = result.refined_clip
    return [
        "import torch",
        "import dasp_blind as db",
        "",
        f"est = db.pretrained.load({result.model!r})",
        f"seeds = [{result.seed} * {MAX_CLIPS} + i for i in range({result.clips})]",
        f"dry = torch.stack([db.data.synthetic_music({result.seconds:g}, "
        f"{result.sample_rate}, seed=s, dynamics=True, style='random') for s in seeds])",
        "dry = dry / dry.abs().amax(dim=(1, 2), keepdim=True)",
        f"ev = db.estimation.evaluate(est, dry, seed={result.seed})",
        "print(ev.summary())   # the means of the loss table",
        f"q = db.estimation.refine(est.analysis, dry[{k}:{k + 1}], ev.wet[{k}:{k + 1}], "
        f"ev.q_hat[{k}:{k + 1}], steps={result.refine_steps}, lr={result.refine_lr:g})"]


# --- figures ----------------------------------------------------------------------------------

def scatter_figure(result: DemoResult, path: str | Path, overwrite: bool = False) -> Path:
    """Estimated against true normalised controls, one panel per parameter, with the identity
    line and the refined clip's refined controls (needs matplotlib)."""
    plt = pyplot()
    space, ev, k = result.param_space, result.evaluation, result.refined_clip
    count = len(space)
    cols = min(count, 4)
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.2 * rows), squeeze=False)
    errors = {r["parameter"]: r for r in parameter_errors(result)}
    for j, spec in enumerate(space):
        ax = axes[j // cols][j % cols]
        ax.plot([0, 1], [0, 1], "k--", lw=0.8)
        ax.scatter(ev.q_true[:, j], ev.q_hat[:, j], s=18, label="estimate")
        ax.scatter([float(ev.q_true[k, j])], [float(result.q_refined[j])], marker="*", s=90,
                   color="C3", label=f"clip {k + 1} refined")
        ax.plot([float(ev.q_true[k, j])] * 2, [float(ev.q_hat[k, j]), float(result.q_refined[j])],
                color="C3", lw=0.8)
        unit = f" {spec.unit}" if spec.unit else ""
        ax.set(xlim=(-0.03, 1.03), ylim=(-0.03, 1.03), aspect="equal",
               title=f"{spec.name} [{spec.min:g}, {spec.max:g}]{unit}",
               xlabel="true (normalised)", ylabel="estimated (normalised)")
        mae = errors[spec.name]["mae"]
        ax.text(0.03, 0.97, f"mean abs error {mae:.3g}{unit}", transform=ax.transAxes,
                va="top", fontsize=7)
        if j == 0:
            ax.legend(fontsize=7, loc="lower right")
    for j in range(count, rows * cols):
        axes[j // cols][j % cols].axis("off")
    fig.tight_layout()
    try:
        return save_figure(fig, path, overwrite)
    finally:
        plt.close(fig)


def spectrogram_db(x: Tensor, n_fft: int = SPEC_FFT, hop: int = SPEC_HOP) -> Tensor:
    """Magnitude spectrogram in dB ``(n_fft // 2 + 1, frames)`` of a mono signal ``(T,)``
    scaled to RMS 1 (Hann window; floor 1e-8)."""
    x = x.double()
    x = (x - x.mean()) / x.square().mean().sqrt().clamp_min(1e-8)
    spec = torch.stft(x, n_fft, hop, window=torch.hann_window(n_fft, dtype=x.dtype),
                      return_complex=True).abs()
    return gain_to_db(spec, floor=1e-8)


def spectrogram_figure(result: DemoResult, path: str | Path, overwrite: bool = False) -> Path:
    """Spectrograms of the refined clip: dry, wet, re-rendered with the estimate, refined
    (needs matplotlib)."""
    plt = pyplot()
    k, ev, rate = result.refined_clip, result.evaluation, result.sample_rate
    signals = [("dry", result.dry[k]), ("wet (what the estimator reads)", ev.wet[k]),
               (f"re-rendered with the estimate, L_mel {float(ev.mel[k]):.3f}", ev.rendered[k]),
               (f"refined ({result.refine_steps} steps), L_mel {result.mel_refined:.3f}",
                result.refined)]
    specs = [spectrogram_db(audio.mean(dim=0)) for _, audio in signals]
    top = max(float(s.max()) for s in specs)
    freqs = torch.fft.rfftfreq(SPEC_FFT, 1 / rate)
    times = torch.arange(specs[0].shape[1]) * SPEC_HOP / rate
    fig, axes = plt.subplots(len(signals), 1, figsize=(10, 2.3 * len(signals)), sharex=True)
    for ax, (title, _), spec in zip(axes, signals, specs, strict=True):
        mesh = ax.pcolormesh(times, freqs[1:], spec[1:], shading="auto", cmap="magma",
                             vmin=top - SPEC_RANGE_DB, vmax=top)
        ax.set(yscale="log", ylim=(30, rate / 2), ylabel="Hz", title=f"clip {k + 1}: {title}")
    axes[-1].set_xlabel("time (s)")
    fig.colorbar(mesh, ax=list(axes), label="dB (RMS-normalised)", fraction=0.02)
    try:
        return save_figure(fig, path, overwrite)
    finally:
        plt.close(fig)


__all__ = ["AUDIO_DIR", "MAX_CLIPS", "MAX_SECONDS", "MIN_SECONDS", "REFINE_LR", "REPORT_NAME",
           "RESULTS_NAME", "RUNS_ROOT", "SCATTER_NAME", "SPECTROGRAMS_NAME", "DemoResult",
           "demo_files", "dry_clips", "error_table", "format_report", "format_text",
           "loss_rows", "loss_table", "music_seeds", "parameter_errors", "parameter_rows",
           "parameter_table", "physical", "refinement_rows", "refinement_table",
           "results_json", "run_demo", "scatter_figure", "spectrogram_db",
           "spectrogram_figure", "summary", "write_demo"]
