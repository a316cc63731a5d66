"""The log-CQT front end of TE / TFE: nnAudio's CQT variants and dasp_blind's LogCQT side by side.

Every method computes the 113-bin CQT magnitude (hop 512, 32.70 Hz, 12 bins per octave) of a
batch of mono music-like audio (tones, their harmonics and noise, peak 1) at 44.1 kHz, forward
only, as an encoder reads wet audio. Printed per method: the median time, its ratio to
CQT1992v2 (the BE-AFX reference's front end), and its agreement with CQT1992v2:

* ``peak_rel``: ``max |C − C_1992v2| / max |C_1992v2|`` — the selection criterion, at most 1e-3;
* ``log_max``: ``max |ln(C + 1e-6) − ln(C_1992v2 + 1e-6)|`` over all bins and frames (float32
  rounding alone reaches about 2e-3 in the quietest cells, where ``C`` is 1e-4 of the median);
* ``log_median``: the median of the same difference.

The fastest method with ``peak_rel <= 1e-3`` is the choice. CQT1992 (nnAudio's first variant) is
left out: at this size it needs 2 × 16385 × 32768 float32 Fourier kernels, 4.3 GB.
Run: ``python benchmarks/bench_cqt.py [--batch 4 --seconds 10 --repeats 3 --threads 2]``.
"""

from __future__ import annotations

import argparse
import math

import nnAudio.features
import torch
from _timing import interleaved_median_seconds, report

from dasp_blind.encoders.cqt import LOG_EPS, LogCQT

SR = 44100
N_BINS = 113


def music_like(batch: int, samples: int, generator: torch.Generator) -> torch.Tensor:
    """``(batch, 1, samples)``: per item three random tones with 6 harmonics, decaying notes and
    noise at −30 dB, peak-normalised."""
    t = torch.arange(samples, dtype=torch.float64) / SR
    items = []
    for _ in range(batch):
        f0 = 55.0 * 2.0 ** (torch.rand(3, generator=generator, dtype=torch.float64) * 6)
        y = sum(torch.sin(2 * math.pi * f * h * t) / h for f in f0 for h in range(1, 7))
        envelope = torch.exp(-3.0 * (t % 0.5))
        noise = torch.randn(samples, generator=generator, dtype=torch.float64) * 0.03
        y = y * envelope + noise
        items.append(y / y.abs().max())
    return torch.stack(items).unsqueeze(1).float()


def candidates() -> dict[str, torch.nn.Module]:
    """The CQT modules compared, each returning a magnitude ``(batch, n_bins, frames)``."""
    common = dict(sr=SR, n_bins=N_BINS, verbose=False)
    ours = LogCQT(SR, N_BINS)
    return {
        "nnAudio CQT1992v2 (reference)": nnAudio.features.CQT1992v2(**common),
        "dasp_blind LogCQT (1992v2, trimmed)": _Squeeze(ours.magnitude),
        "nnAudio CQT2010v2": nnAudio.features.CQT2010v2(**common),
        "nnAudio CQT2010": nnAudio.features.CQT2010(**common),
        "nnAudio VQT (gamma=0)": nnAudio.features.VQT(**common),
    }


class _Squeeze(torch.nn.Module):
    """``fn(x)`` ``(batch, 1, n_bins, frames)`` -> ``(batch, n_bins, frames)``."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x).squeeze(1)


def agreement(magnitude: torch.Tensor, reference: torch.Tensor) -> dict[str, float]:
    """``peak_rel``, ``log_max`` and ``log_median`` of ``magnitude`` against ``reference``."""
    if magnitude.shape != reference.shape:
        return {"peak_rel": math.inf, "log_max": math.inf, "log_median": math.inf}
    log_diff = (torch.log(magnitude + LOG_EPS) - torch.log(reference + LOG_EPS)).abs()
    return {"peak_rel": float((magnitude - reference).abs().max() / reference.abs().max()),
            "log_max": float(log_diff.max()), "log_median": float(log_diff.median())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    x = music_like(args.batch, int(args.seconds * SR), torch.Generator().manual_seed(0))
    x = x.to(args.device)
    methods = {name: module.to(args.device) for name, module in candidates().items()}
    with torch.no_grad():
        outputs = {name: module(x) for name, module in methods.items()}
    reference = outputs["nnAudio CQT1992v2 (reference)"]
    agree = {name: agreement(out, reference) for name, out in outputs.items()}

    def timed(module: torch.nn.Module):
        def run() -> None:
            with torch.no_grad():
                module(x)
            if x.is_cuda:
                torch.cuda.synchronize()
        return run

    seconds = interleaved_median_seconds({n: timed(m) for n, m in methods.items()}, args.repeats)
    rows = [(name, seconds[name]) for name in methods]
    print(f"\n{'method':<40} {'peak_rel':>10} {'log_max':>10} {'log_median':>11}")
    for name in methods:
        a = agree[name]
        print(f"{name:<40} {a['peak_rel']:>10.2e} {a['log_max']:>10.2e} {a['log_median']:>11.2e}")
    eligible = [name for name in methods if agree[name]["peak_rel"] <= 1e-3]
    choice = min(eligible, key=seconds.__getitem__)
    print(f"fastest with peak_rel <= 1e-3: {choice}")
    report(f"113-bin CQT magnitude, forward, batch {args.batch} x {args.seconds:g} s x {SR} Hz "
           f"mono on {args.device}", rows, "dasp_blind LogCQT (1992v2, trimmed)",
           {"batch": args.batch, "seconds_audio": args.seconds, "sample_rate": SR,
            "agreement": agree, "choice": choice})


if __name__ == "__main__":
    main()
