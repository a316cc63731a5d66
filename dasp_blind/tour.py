"""The effects tour: a synthetic music clip through every effect, with plots and a level table.

Used by ``dasp-blind demo`` (``make demo``) and by the figures of the documentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from . import effects as fx
from . import functional as F
from .data import save_audio, synthetic_music


@dataclass
class TourItem:
    """One effect of the tour with the physical parameters it is shown with."""

    name: str
    effect: fx.Effect
    params: dict[str, float]


def tour_items(sample_rate: float = 44100.0) -> list[TourItem]:
    """Every effect of the library with a setting that makes its character audible."""
    sr = sample_rate
    chain = fx.Chain({"eq": fx.ParametricEQ(sr), "clip": fx.ParametricClipper(sr)},
                     normalize="peak")
    return [
        TourItem("parametric_eq", fx.ParametricEQ(sr),
                 {"low_shelf.gain_db": 6.0, "peak2.freq_hz": 2000.0, "peak2.gain_db": -9.0,
                  "peak2.q": 1.0, "high_shelf.gain_db": 4.0}),
        TourItem("graphic_eq", fx.GraphicEQ(sr),
                 {"band1.gain_db": 8.0, "band5.gain_db": -10.0, "band8.gain_db": 6.0}),
        TourItem("parametric_clipper", fx.ParametricClipper(sr),
                 {"drive_db": 12.0, "offset": 0.2, "hardness": 1.0}),
        TourItem("taylor_clipper", fx.TaylorClipper(sr), {"c1": 1.0, "c2": 0.3, "c3": -0.4}),
        TourItem("chebyshev_clipper", fx.ChebyshevClipper(sr),
                 {"c1": 0.8, "c3": 0.3, "c5": 0.1}),
        TourItem("hard_clip", fx.HardClip(sr), {"gain_db": 12.0}),
        TourItem("soft_clip", fx.SoftClip(sr), {"gain_db": 12.0}),
        TourItem("sox_overdrive", fx.SoxOverdrive(sr), {"gain_db": 30.0, "colour": 20.0}),
        TourItem("compressor", fx.Compressor(sr),
                 {"threshold_db": -30.0, "ratio": 6.0, "attack_ms": 5.0, "release_ms": 100.0,
                  "knee_db": 6.0, "makeup_db": 10.0}),
        TourItem("simplified_compressor", fx.SimplifiedCompressor(sr),
                 {"threshold_db": -30.0, "ratio": 6.0, "time_constant_ms": 20.0,
                  "knee_db": 6.0, "makeup_db": 10.0}),
        TourItem("tremolo", fx.Tremolo(sr), {"rate_hz": 6.0, "depth": 0.8}),
        TourItem("chorus", fx.Chorus(sr),
                 {"rate_hz": 0.8, "depth_ms": 3.0, "delay_ms": 15.0, "mix": 0.5}),
        TourItem("gain", fx.Gain(sr), {"gain_db": -6.0}),
        TourItem("chain_eq_clip", chain,
                 {"eq.peak1.freq_hz": 400.0, "eq.peak1.gain_db": 9.0, "clip.drive_db": 15.0,
                  "clip.hardness": 1.5}),
    ]


def level_dbfs(x: Tensor) -> tuple[float, float]:
    """Peak and RMS level of ``x`` in dBFS (−inf for silence)."""
    peak = float(x.abs().max())
    rms = float(x.square().mean().sqrt())
    return F.gain_to_db(peak), F.gain_to_db(rms)


def format_params(params: dict[str, float]) -> str:
    """``name=value`` pairs, compactly."""
    return ", ".join(f"{k}={v:g}" for k, v in params.items())


def run_tour(out_dir: str | Path, seconds: float = 4.0, seed: int = 0,
             sample_rate: int = 44100, figure: bool = True) -> list[dict[str, object]]:
    """Render the tour: ``dry.wav``, one wav per effect, ``effects_tour.png`` in ``out_dir``.

    Returns one row per effect: name, parameters, output peak and RMS in dBFS, file name.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dry = synthetic_music(duration_s=seconds, sample_rate=sample_rate, seed=seed).unsqueeze(0)
    save_audio(out / "dry.wav", dry[0], sample_rate, overwrite=True)
    peak, rms = level_dbfs(dry)
    rows: list[dict[str, object]] = [{"effect": "dry", "params": "", "peak_dbfs": peak,
                                      "rms_dbfs": rms, "file": "dry.wav"}]
    with torch.no_grad():
        for item in tour_items(sample_rate):
            wet = item.effect.process(dry, item.params)
            save_audio(out / f"{item.name}.wav", wet[0], sample_rate, overwrite=True)
            peak, rms = level_dbfs(wet)
            rows.append({"effect": item.name, "params": format_params(item.params),
                         "peak_dbfs": peak, "rms_dbfs": rms, "file": f"{item.name}.wav"})
    if figure:
        tour_figure(dry, sample_rate, out / "effects_tour.png")
    return rows


def format_table(rows: list[dict[str, object]]) -> str:
    """Plain-text table of :func:`run_tour` rows."""
    lines = [f"{'effect':<20} {'peak dBFS':>9} {'RMS dBFS':>9}  parameters"]
    for r in rows:
        lines.append(f"{r['effect']:<20} {r['peak_dbfs']:>9.2f} {r['rms_dbfs']:>9.2f}  "
                     f"{r['params']}")
    return "\n".join(lines)


# --- figures -----------------------------------------------------------------------------------

def plot_eq_responses(ax, sample_rate: float = 44100.0) -> None:
    """Magnitude responses of the tour's EQ settings and of random parametric EQs."""
    freqs = torch.from_numpy(np.geomspace(20, 20000, 512))
    peq = fx.ParametricEQ(sample_rate)
    one = torch.zeros(1, 1, 1)
    q = peq.param_space.sample(4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    for i, p in enumerate([peq.param_space.denormalize(q[i:i + 1]) for i in range(4)]):
        h = F.sos_frequency_response(peq.sos(p), freqs, sample_rate)[0]
        ax.semilogx(freqs, F.gain_to_db(h.abs()), lw=0.8, alpha=0.6,
                    label="random PEQ" if i == 0 else None)
    for item in tour_items(sample_rate)[:2]:
        params = item.effect.physical_params(item.params, one.double())
        h = F.sos_frequency_response(item.effect.sos(params), freqs, sample_rate)[0]
        ax.semilogx(freqs, F.gain_to_db(h.abs()), lw=2, label=item.name)
    ax.set(xlabel="frequency (Hz)", ylabel="magnitude (dB)", title="EQ magnitude responses",
           ylim=(-18, 18))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)


def plot_clipper_curves(ax) -> None:
    """Static transfer curves ``y = f(x)`` of the clippers."""
    x = torch.linspace(-1.5, 1.5, 601, dtype=torch.float64).reshape(1, 1, -1)
    curves = {
        "hard_clip 6 dB": F.hard_clip(x, 6.0),
        "soft_clip 6 dB": F.soft_clip(x, 6.0),
        "parametric h=0 (tanh)": F.parametric_clipper(x, 6.0, 0.0, 0.0),
        "parametric h=1 (cubic)": F.parametric_clipper(x, 6.0, 0.0, 1.0),
        "parametric h=2, offset 0.3": F.parametric_clipper(x, 6.0, 0.3, 2.0),
    }
    for label, y in curves.items():
        ax.plot(x[0, 0], y[0, 0], label=label)
    ax.set(xlabel="input", ylabel="output", title="clipper transfer curves")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)


def plot_waveforms(ax, dry: Tensor, wet: Tensor, sample_rate: float, title: str,
                   seconds: float) -> None:
    """First ``seconds`` of a dry and a wet signal."""
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    ax.plot(t, dry[0, 0, :n], lw=0.6, label="dry", alpha=0.7)
    ax.plot(t, wet[0, 0, :n], lw=0.6, label="wet", alpha=0.8)
    ax.set(xlabel="time (s)", title=title)
    ax.legend(fontsize=7)


def plot_static_curve(ax) -> None:
    """Output level against input level of the compressor's static curve, for several knees."""
    level = torch.linspace(-60, 0, 601, dtype=torch.float64).unsqueeze(0)
    one = torch.ones(1, dtype=torch.float64)
    for knee in (0.0, 6.0, 12.0):
        reduction = F.static_gain_reduction_db(level, -30 * one, 4 * one, knee * one)
        ax.plot(level[0], (level - reduction)[0], label=f"knee {knee:g} dB")
    ax.plot(level[0], level[0], "k:", lw=0.8, label="unity")
    ax.set(xlabel="input level (dB)", ylabel="output level (dB)",
           title="static curve: threshold −30 dB, ratio 4")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)


def plot_gain_reduction(ax, dry: Tensor, sample_rate: int) -> None:
    """Gain reduction over time of the exact and the simplified compressor on a music clip."""
    settings = dict(threshold_db=-30.0, ratio=6.0, knee_db=6.0)
    exact = F.compressor(dry, sample_rate, attack_ms=5.0, release_ms=100.0, **settings)
    simple = F.simple_compressor(dry, sample_rate, time_constant_ms=20.0, **settings)
    n = int(2.0 * sample_rate)
    t = np.arange(n) / sample_rate
    ref = dry[0, 0, :n].abs().clamp_min(1e-6)
    for label, wet in (("exact, attack 5 ms / release 100 ms", exact),
                       ("simplified, τ = 20 ms", simple)):
        ratio = (wet[0, 0, :n].abs().clamp_min(1e-9) / ref).clamp_min(1e-6)
        reduction = -F.gain_to_db(ratio)
        reduction[dry[0, 0, :n].abs() < 1e-4] = float("nan")
        ax.plot(t, reduction, lw=0.8, label=label)
    ax.set(xlabel="time (s)", ylabel="gain reduction (dB)",
           title="gain reduction, threshold −30 dB, ratio 6")
    ax.legend(fontsize=7)


def tour_figure(dry: Tensor, sample_rate: int, path: str | Path) -> None:
    """Four panels: EQ responses, clipper curves, overdrive and tremolo waveforms."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    plot_eq_responses(axes[0, 0], sample_rate)
    plot_clipper_curves(axes[0, 1])
    overdrive = F.sox_overdrive(dry, gain_db=30.0, colour=20.0)
    plot_waveforms(axes[1, 0], dry, overdrive, sample_rate, "sox_overdrive 30 dB (20 ms)", 0.02)
    trem = F.tremolo(dry, sample_rate, rate_hz=6.0, depth=0.8)
    plot_waveforms(axes[1, 1], dry, trem, sample_rate, "tremolo 6 Hz, depth 0.8 (1 s)", 1.0)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
