"""The effects tour: a synthetic music clip through every effect, with plots and a level table.

Used by ``dasp-blind tour`` (``make tour``) and by the figures of the documentation.

The tour runs at any sample rate from 8 kHz to 192 kHz. Effects that cannot run at the chosen
rate are left out and listed by :func:`skipped_effects` (the graphic EQ's 16 kHz band needs more
than 32 kHz, the parametric EQ's high shelf more than 11.1 kHz, the neural proxy its training
rate of 44.1 kHz).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from . import effects as fx
from . import functional as F
from ._outputs import check_out_dir, pyplot, save_figure
from .data import save_audio, synthetic_music

# Limits of the tour's settings. Clips shorter than 0.1 s show no music (a beat lasts 0.25 s or
# more) and longer than 60 s only cost time and memory; below 8 kHz no music is rendered.
MIN_SECONDS = 0.1
MAX_SECONDS = 60.0
MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 192000
FIGURE_NAME = "effects_tour.png"


def check_seconds(seconds: float) -> float:
    """Clip length in seconds, in ``[MIN_SECONDS, MAX_SECONDS]``."""
    value = float(seconds)
    if not MIN_SECONDS <= value <= MAX_SECONDS:  # also false for NaN
        raise ValueError(f"seconds must lie in [{MIN_SECONDS:g}, {MAX_SECONDS:g}] s, "
                         f"got {seconds!r}")
    return value


def check_tour_sample_rate(sample_rate: int) -> int:
    """Integer sample rate in Hz in ``[MIN_SAMPLE_RATE, MAX_SAMPLE_RATE]``."""
    if (isinstance(sample_rate, bool) or not isinstance(sample_rate, int | float)
            or not float(sample_rate).is_integer()
            or not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE):
        raise ValueError(f"sample_rate must be an integer in [{MIN_SAMPLE_RATE}, "
                         f"{MAX_SAMPLE_RATE}] Hz, got {sample_rate!r}")
    return int(sample_rate)


def check_seed(seed: int) -> int:
    """Seed of the synthetic music: an integer ``>= 0``."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return seed


@dataclass
class TourItem:
    """One effect of the tour with the physical parameters it is shown with."""

    name: str
    effect: fx.Effect
    params: dict[str, float]


def _eq_clip_chain(sr: float) -> fx.Chain:
    return fx.Chain({"eq": fx.ParametricEQ(sr), "clip": fx.ParametricClipper(sr)},
                    normalize="peak")


# (name, factory of the effect at a sample rate, physical parameters), in display order.
_TOUR: tuple[tuple[str, Callable[[float], fx.Effect], dict[str, float]], ...] = (
    ("parametric_eq", fx.ParametricEQ,
     {"low_shelf.gain_db": 6.0, "peak2.freq_hz": 2000.0, "peak2.gain_db": -9.0, "peak2.q": 1.0,
      "high_shelf.gain_db": 4.0}),
    ("graphic_eq", fx.GraphicEQ, {"band1.gain_db": 8.0, "band5.gain_db": -10.0,
                                  "band8.gain_db": 6.0}),
    ("parametric_clipper", fx.ParametricClipper, {"drive_db": 12.0, "offset": 0.2,
                                                  "hardness": 1.0}),
    ("taylor_clipper", fx.TaylorClipper, {"c1": 1.0, "c2": 0.3, "c3": -0.4}),
    ("chebyshev_clipper", fx.ChebyshevClipper, {"c1": 0.8, "c3": 0.3, "c5": 0.1}),
    ("hard_clip", fx.HardClip, {"gain_db": 12.0}),
    ("soft_clip", fx.SoftClip, {"gain_db": 12.0}),
    ("sox_overdrive", fx.SoxOverdrive, {"gain_db": 30.0, "colour": 20.0}),
    ("compressor", fx.Compressor,
     {"threshold_db": -30.0, "ratio": 6.0, "attack_ms": 5.0, "release_ms": 100.0,
      "knee_db": 6.0, "makeup_db": 10.0}),
    ("simplified_compressor", fx.SimplifiedCompressor,
     {"threshold_db": -30.0, "ratio": 6.0, "time_constant_ms": 20.0, "knee_db": 6.0,
      "makeup_db": 10.0}),
    ("tremolo", fx.Tremolo, {"rate_hz": 6.0, "depth": 0.8}),
    ("chorus", fx.Chorus, {"rate_hz": 0.8, "depth_ms": 3.0, "delay_ms": 15.0, "mix": 0.5}),
    ("gain", fx.Gain, {"gain_db": -6.0}),
    ("chain_eq_clip", _eq_clip_chain,
     {"eq.peak1.freq_hz": 400.0, "eq.peak1.gain_db": 9.0, "clip.drive_db": 15.0,
      "clip.hardness": 1.5}),
)


def _build_items(sample_rate: float) -> tuple[list[TourItem], dict[str, str]]:
    """The items that can be built at ``sample_rate``, and name -> reason for the others."""
    items, skipped = [], {}
    for name, factory, params in _TOUR:
        try:
            items.append(TourItem(name, factory(sample_rate), dict(params)))
        except ValueError as err:
            skipped[name] = str(err)
    return items, skipped


def tour_items(sample_rate: float = 44100.0) -> list[TourItem]:
    """Every effect of the library that runs at ``sample_rate``, with a setting that makes its
    character audible (see :func:`skipped_effects` for those left out)."""
    return _build_items(sample_rate)[0]


def skipped_effects(sample_rate: float = 44100.0) -> dict[str, str]:
    """Tour effects that cannot run at ``sample_rate``: name -> the reason."""
    return _build_items(sample_rate)[1]


def tour_files(sample_rate: float = 44100.0, figure: bool = True) -> list[str]:
    """Names of the files :func:`run_tour` writes, in the order it writes them."""
    names = ["dry.wav", *(f"{item.name}.wav" for item in tour_items(sample_rate))]
    return names + [FIGURE_NAME] if figure else names


def level_dbfs(x: Tensor) -> tuple[float, float]:
    """Peak and RMS level of ``x`` in dBFS (−inf for silence)."""
    peak = float(x.abs().max())
    rms = float(x.square().mean().sqrt())
    return F.gain_to_db(peak), F.gain_to_db(rms)


def format_params(params: dict[str, float]) -> str:
    """``name=value`` pairs, compactly."""
    return ", ".join(f"{k}={v:g}" for k, v in params.items())


def run_tour(out_dir: str | Path, seconds: float = 4.0, seed: int = 0,
             sample_rate: int = 44100, figure: bool = True,
             overwrite: bool = False) -> list[dict[str, object]]:
    """Render the tour: ``dry.wav``, one wav per effect, ``effects_tour.png`` in ``out_dir``.

    Args:
        out_dir: a new or empty folder (see :func:`check_out_dir`).
        seconds: clip length in ``[MIN_SECONDS, MAX_SECONDS]``.
        seed: seed of the synthetic music (integer ``>= 0``).
        sample_rate: integer in ``[MIN_SAMPLE_RATE, MAX_SAMPLE_RATE]`` Hz; effects that cannot
            run at it are left out (:func:`skipped_effects`).
        figure: also draw ``effects_tour.png`` (needs matplotlib).
        overwrite: write into a folder that holds files, replacing those of the same names.

    Returns:
        One row per effect: name, parameters, output peak and RMS in dBFS, file name.
    """
    seconds, seed = check_seconds(seconds), check_seed(seed)
    sample_rate = check_tour_sample_rate(sample_rate)
    out = check_out_dir(out_dir, tour_files(sample_rate, figure), overwrite)
    out.mkdir(parents=True, exist_ok=True)
    dry = synthetic_music(duration_s=seconds, sample_rate=sample_rate, seed=seed).unsqueeze(0)
    save_audio(out / "dry.wav", dry[0], sample_rate, overwrite=overwrite)
    peak, rms = level_dbfs(dry)
    rows: list[dict[str, object]] = [{"effect": "dry", "params": "", "peak_dbfs": peak,
                                      "rms_dbfs": rms, "file": "dry.wav"}]
    with torch.no_grad():
        for item in tour_items(sample_rate):
            wet = item.effect.process(dry, item.params)
            save_audio(out / f"{item.name}.wav", wet, sample_rate, overwrite=overwrite)
            peak, rms = level_dbfs(wet)
            rows.append({"effect": item.name, "params": format_params(item.params),
                         "peak_dbfs": peak, "rms_dbfs": rms, "file": f"{item.name}.wav"})
    if figure:
        tour_figure(dry, sample_rate, out / FIGURE_NAME, overwrite=overwrite)
    return rows


def format_table(rows: list[dict[str, object]]) -> str:
    """Plain-text table of :func:`run_tour` rows."""
    lines = [f"{'effect':<22} {'peak dBFS':>9} {'RMS dBFS':>9}  parameters"]
    for r in rows:
        lines.append(f"{r['effect']:<22} {r['peak_dbfs']:>9.2f} {r['rms_dbfs']:>9.2f}  "
                     f"{r['params']}")
    return "\n".join(lines)


# --- figures -----------------------------------------------------------------------------------

def plot_eq_responses(ax, sample_rate: float = 44100.0) -> None:
    """Magnitude responses of the tour's EQ settings and of random parametric EQs.

    Frequencies run from 20 Hz to 20 kHz or just below Nyquist; EQs that cannot run at
    ``sample_rate`` are left out, and the panel says so when none can.
    """
    ax.set(xlabel="frequency (Hz)", ylabel="magnitude (dB)", title="EQ magnitude responses")
    eqs = [item for item in tour_items(sample_rate) if item.name in ("parametric_eq", "graphic_eq")]
    if not eqs:
        ax.text(0.5, 0.5, f"no EQ runs at {sample_rate:g} Hz", ha="center", va="center",
                transform=ax.transAxes)
        return
    freqs = torch.from_numpy(np.geomspace(20, min(20000.0, 0.49 * sample_rate), 512))
    one = torch.zeros(1, 1, 1, dtype=torch.float64)
    peq = next((item.effect for item in eqs if item.name == "parametric_eq"), None)
    if peq is not None:
        q = peq.param_space.sample(4, generator=torch.Generator().manual_seed(1),
                                   dtype=torch.float64)
        for i in range(4):
            h = F.sos_frequency_response(peq.sos(peq.param_space.denormalize(q[i:i + 1])), freqs,
                                         sample_rate)[0]
            ax.semilogx(freqs, F.gain_to_db(h.abs()), lw=0.8, alpha=0.6,
                        label="random PEQ" if i == 0 else None)
    for item in eqs:
        params = item.effect.physical_params(item.params, one)
        h = F.sos_frequency_response(item.effect.sos(params), freqs, sample_rate)[0]
        ax.semilogx(freqs, F.gain_to_db(h.abs()), lw=2, label=item.name)
    ax.set(ylim=(-18, 18))
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
    """First ``seconds`` of a dry and a wet signal ``(batch, channels, samples)`` (all of them
    when the signals are shorter)."""
    n = min(int(seconds * sample_rate), dry.shape[-1])
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
    n = min(int(2.0 * sample_rate), dry.shape[-1])  # the first 2 s
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


def tour_figure(dry: Tensor, sample_rate: int, path: str | Path,
                overwrite: bool = False) -> None:
    """Four panels: EQ responses, clipper curves, overdrive and tremolo waveforms.

    Args:
        dry: the tour's clip ``(1, channels, samples)``; waveforms show its first 20 ms and
            first second (or all of it when shorter).
        sample_rate: its rate in Hz.
        path: PNG file to write (through a temporary file renamed into place).
        overwrite: replace an existing ``path``; without it an existing file raises
            FileExistsError.
    """
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    plot_eq_responses(axes[0, 0], sample_rate)
    plot_clipper_curves(axes[0, 1])
    overdrive = F.sox_overdrive(dry, gain_db=30.0, colour=20.0)
    plot_waveforms(axes[1, 0], dry, overdrive, sample_rate, "sox_overdrive 30 dB (20 ms)", 0.02)
    trem = F.tremolo(dry, sample_rate, rate_hz=6.0, depth=0.8)
    shown = min(1.0, dry.shape[-1] / sample_rate)
    plot_waveforms(axes[1, 1], dry, trem, sample_rate,
                   f"tremolo 6 Hz, depth 0.8 ({shown:.3g} s)", shown)
    fig.tight_layout()
    try:
        save_figure(fig, path, overwrite)
    finally:
        plt.close(fig)
