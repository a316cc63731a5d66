"""Forward + backward of a 5-band parametric EQ: dasp_blind vs dasp-pytorch vs per-band FFTs.

Each method filters a batch of mono audio and back-propagates a loss to the EQ parameters and to
the audio. Run: ``python benchmarks/bench_eq.py [--batch 16 --seconds 10 --repeats 3]``.

* ``dasp_blind``: ``ParametricEQ`` (one FFT pair for the whole cascade, n_fft = next power of two
  >= T + tail, hand-written backward).
* ``dasp-pytorch``: ``dasp_pytorch.functional.parametric_eq`` (its 6-band EQ; frequency sampling
  with n_fft = next power of two >= 2T).
* ``sosfilt``: dasp_blind's exact time-domain recursion (scipy's compiled lfilter, float64), for
  the trade-off between the two methods of the library.
* ``per-band FFT``: the BE-AFX reference approach re-implemented here: one rfft/irfft pair of
  2^20 points per band, each band's response from rfft of its 3-tap coefficient arrays.
"""

from __future__ import annotations

import argparse
import math

import torch
from _timing import median_seconds, report

from dasp_blind.effects import ParametricEQ
from dasp_blind.effects.eq import PEQ_BANDS
from dasp_blind.functional import biquad


def per_band_fft(x: torch.Tensor, params: dict[str, torch.Tensor], sample_rate: float,
                 n_fft: int) -> torch.Tensor:
    """The reference implementation's approach: one FFT pair per band."""
    for band, kind, _, _ in PEQ_BANDS:
        b, a = biquad(kind, params[f"{band}.freq_hz"], params[f"{band}.gain_db"],
                      params[f"{band}.q"], sample_rate)
        response = torch.fft.rfft(b, n=n_fft) / torch.fft.rfft(a, n=n_fft)
        x = torch.fft.irfft(torch.fft.rfft(x, n=n_fft) * response.unsqueeze(1),
                            n=n_fft)[..., : x.shape[-1]]
    return x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--sample-rate", type=float, default=44100.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from dasp_pytorch.functional import parametric_eq as dasp_parametric_eq

    sr, batch = args.sample_rate, args.batch
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 1, int(args.seconds * sr), generator=gen) * 0.1
    eq = ParametricEQ(sr)
    q0 = eq.param_space.sample(batch, generator=gen)
    n_fft_ref = 1 << math.ceil(math.log2(x.shape[-1] + 3019))
    n_fft_ref *= 2 if n_fft_ref > x.shape[-1] + 3019 else 1  # the reference's doubling

    def ours() -> None:
        q = q0.clone().requires_grad_(True)
        xx = x.clone().requires_grad_(True)
        eq(xx, q).square().mean().backward()

    exact_eq = ParametricEQ(sr, method="sosfilt")

    def exact() -> None:
        q = q0.clone().requires_grad_(True)
        xx = x.clone().requires_grad_(True)
        exact_eq(xx, q).square().mean().backward()

    def reference() -> None:
        q = q0.clone().requires_grad_(True)
        xx = x.clone().requires_grad_(True)
        per_band_fft(xx, eq.param_space.denormalize(q), sr, n_fft_ref).square().mean().backward()

    def dasp() -> None:
        q = q0.clone().requires_grad_(True)
        xx = x.clone().requires_grad_(True)
        p = eq.param_space.denormalize(q)
        bands = ["low_shelf", "peak1", "peak2", "peak3", "peak3", "high_shelf"]
        names = ["low_shelf", "band0", "band1", "band2", "band3", "high_shelf"]
        kwargs = {}
        for name, band in zip(names, bands, strict=True):
            kwargs[f"{name}_gain_db"] = p[f"{band}.gain_db"]
            kwargs[f"{name}_cutoff_freq"] = p[f"{band}.freq_hz"]
            kwargs[f"{name}_q_factor"] = p[f"{band}.q"]
        dasp_parametric_eq(xx, sr, **kwargs).square().mean().backward()

    rows = [("dasp_blind ParametricEQ (one FFT pair)", median_seconds(ours, args.repeats)),
            ("dasp-pytorch parametric_eq (6 bands)", median_seconds(dasp, args.repeats)),
            (f"per-band FFT pairs (n_fft={n_fft_ref})", median_seconds(reference, args.repeats)),
            ("dasp_blind ParametricEQ(method='sosfilt')", median_seconds(exact, args.repeats))]
    report(f"5-band PEQ forward+backward, batch {batch} x {args.seconds:g} s x {sr:g} Hz mono",
           rows, rows[0][0], {"batch": batch, "seconds_audio": args.seconds, "sample_rate": sr})


if __name__ == "__main__":
    main()
