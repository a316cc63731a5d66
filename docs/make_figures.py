"""Render the documentation's figures into docs/img/ (run: python docs/make_figures.py)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from dasp_blind import functional as F  # noqa: E402
from dasp_blind.data import synthetic_music  # noqa: E402
from dasp_blind.tour import (  # noqa: E402
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
    tour_figure(dry, SR, IMG / "effects_tour.png")

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


if __name__ == "__main__":
    main()
