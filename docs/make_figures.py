"""Render the documentation's figures into docs/img/ (run: python docs/make_figures.py)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import scipy.signal
import torch

from dasp_blind import functional as F
from dasp_blind.data import synthetic_music
from dasp_blind.data.genres import GENRES
from dasp_blind.effects import Compressor, ProxyCompressor
from dasp_blind.tour import (
    plot_clipper_curves,
    plot_eq_responses,
    plot_gain_reduction,
    plot_static_curve,
    plot_waveforms,
    tour_figure,
)

IMG = Path(__file__).parent / "img"
SR = 44100


def save(fig, name: str) -> None:
    fig.tight_layout()
    fig.savefig(IMG / name, dpi=100)
    plt.close(fig)


def main() -> None:
    IMG.mkdir(exist_ok=True)
    dry = synthetic_music(duration_s=4.0, sample_rate=SR, seed=0).unsqueeze(0)
    tour_figure(dry, SR, IMG / "effects_tour.png", overwrite=True)

    fig, ax = plt.subplots(figsize=(7, 4))
    plot_eq_responses(ax, SR)
    save(fig, "eq_responses.png")

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    plot_clipper_curves(axes[0])
    plot_waveforms(axes[1], dry, F.sox_overdrive(dry, 30.0, 20.0), SR,
                   "sox_overdrive gain 30 dB, colour 20 (20 ms)", 0.02)
    save(fig, "clippers.png")

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    plot_waveforms(axes[0], dry, F.tremolo(dry, SR, 6.0, 0.8), SR, "tremolo 6 Hz, depth 0.8", 1.0)
    chorus = F.chorus(dry, SR, rate_hz=0.8, depth_ms=3.0, delay_ms=15.0, mix=0.5)
    plot_waveforms(axes[1], dry, chorus, SR, "chorus 0.8 Hz, 15 ± 3 ms, mix 0.5 (30 ms)", 0.03)
    save(fig, "modulation.png")

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    plot_static_curve(axes[0])
    plot_gain_reduction(axes[1], dry, SR)
    save(fig, "compressor.png")

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    plot_proxy_vs_dsp(axes, dry[..., : 2 * SR])
    save(fig, "proxy_vs_dsp.png")

    fig, axes = plt.subplots(2, 1, figsize=(8, 4.5), sharex=True,
                             gridspec_kw={"height_ratios": [1, 2]})
    plot_sidechain_ducking(axes)
    save(fig, "sidechain.png")

    save(genres_figure(), "genres.png")


def genres_figure():
    """Spectrograms of 4 s of each style of the synthetic-music generator (seed 0), in 16 colour
    levels (the file stays small)."""
    sr = 22050
    fig, axes = plt.subplots(3, 3, figsize=(10, 6), sharex=True, sharey=True)
    for ax, style in zip(axes.flat, ("basic", *GENRES), strict=True):
        y = synthetic_music(duration_s=4.0, sample_rate=sr, seed=0, style=style)[0].numpy()
        f, t, power = scipy.signal.spectrogram(y, sr, nperseg=1024, noverlap=0)
        power = power[: 464]  # 0 .. 9991 Hz, in 116 bands of 4 bins
        level = 10 * np.log10(power.reshape(-1, 4, power.shape[1]).mean(axis=1) + 1e-12)
        ax.imshow(level, origin="lower", aspect="auto", cmap=plt.get_cmap("magma", 16),
                  vmin=level.max() - 90, vmax=level.max(), interpolation="nearest",
                  extent=(0, t[-1], 0, 10000))
        ax.set_title(f'style="{style}"', fontsize=9)
    for ax in axes[:, 0]:
        ax.set_ylabel("Hz")
    for ax in axes[-1]:
        ax.set_xlabel("time (s)")
    return fig


def plot_sidechain_ducking(axes) -> None:
    """A sustained pad ducked by kick drums through the sidechain, with and without look-ahead."""
    t = torch.arange(int(1.2 * SR), dtype=torch.float64) / SR
    pad = 0.3 * sum(torch.sin(2 * torch.pi * f * t) for f in (220.0, 277.2, 329.6)) / 3
    beat = (t - 0.1) % 0.5
    kick = torch.where(t >= 0.1, torch.sin(2 * torch.pi * 60 * beat) * torch.exp(-beat / 0.08),
                       torch.zeros_like(t))
    axes[0].plot(t, kick, lw=0.6, color="0.4")
    axes[0].set(ylabel="sidechain (kick)",
                title="pad ducked by a kick: threshold −30 dB, ratio 10, 3 / 150 ms")
    settings = dict(threshold_db=-30.0, ratio=10.0, attack_ms=3.0, release_ms=150.0)
    loud = pad.abs() > 0.02
    for lookahead in (0.0, 10.0):
        wet = F.compressor(pad.reshape(1, 1, -1), SR, **settings,
                           sidechain=kick.reshape(1, 1, -1), lookahead_ms=lookahead)
        gain_db = 20 * torch.log10(wet[0, 0].abs().clamp_min(1e-9) / pad.abs().clamp_min(1e-9))
        axes[1].plot(t[loud], gain_db[loud], ".", ms=1,
                     label=f"look-ahead {lookahead:g} ms")
    axes[1].set(xlabel="time (s)", ylabel="gain on the pad (dB)")
    axes[1].legend(fontsize=7, markerscale=8, loc="lower right")


def plot_proxy_vs_dsp(axes, dry: torch.Tensor) -> None:
    """Output of the shipped proxy against the exact compressor on a clip it never saw."""
    comp, proxy = Compressor(SR), ProxyCompressor(SR)
    settings = {"threshold_db": -30.0, "ratio": 6.0, "attack_ms": 5.0, "release_ms": 100.0,
                "knee_db": 6.0, "makeup_db": 10.0}
    x = dry / dry.abs().max()
    with torch.no_grad():
        exact, neural = comp.process(x, settings), proxy.process(x, settings)
    t = torch.arange(x.shape[-1]) / SR
    axes[0].plot(t, exact[0, 0], lw=0.5, label="DSP compressor")
    axes[0].plot(t, neural[0, 0], lw=0.5, alpha=0.7, label="neural proxy")
    axes[0].set(xlabel="time (s)", title="output, threshold −30 dB, ratio 6, 5/100 ms")
    axes[0].legend(fontsize=7)

    def gain(y):
        return F.gain_to_db(y[0, 0].abs().clamp_min(1e-6) / x[0, 0].abs().clamp_min(1e-6))

    loud = x[0, 0].abs() > 0.05
    axes[1].plot(t[loud], gain(exact)[loud], ".", ms=1, label="DSP compressor")
    axes[1].plot(t[loud], gain(neural)[loud], ".", ms=1, alpha=0.5, label="neural proxy")
    axes[1].set(xlabel="time (s)", ylabel="gain (dB)", title="applied gain where |x| > 0.05")
    axes[1].legend(fontsize=7, markerscale=8)


if __name__ == "__main__":
    main()
