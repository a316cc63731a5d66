"""CPU real-time factor of the distortion-removal models at 16 kHz, beside the paper's numbers.

Each network at its default size (Demucs, Wave-U-Net, Open-Unmix, CRAFx) restores ``--seconds``
of hard-clipped synthetic guitar (``synthetic_guitar(seconds, 16000, seed=0)``, clipped to a
5 dB input SDR) under ``torch.no_grad()``; A-SPADE declips the same input. The networks are timed
in turn within each of ``--repeats`` rounds (medians), after one untimed warm-up run each;
A-SPADE, whose time depends on the signal, once. The real-time factor is processing time over
audio duration; the ratio is ours over the paper's CPU figure (Imort et al., ISMIR 2022, table
of computation times: Demucs 0.072, Wave-U-Net 0.113, UMX 0.026, A-SPADE 4.2–27.3; below 1 is
faster than the paper). Run: ``python benchmarks/bench_removal.py [--seconds 10] [--repeats 3]
[--threads N]``.
"""

from __future__ import annotations

import argparse
import time

import torch
from _timing import interleaved_median_seconds, machine

from dasp_blind.data.guitar import synthetic_guitar
from dasp_blind.removal import aspade
from dasp_blind.removal.degradations import clip_to_sdr
from dasp_blind.removal.restorer import NETWORKS, build_network

SR = 16000
#: CPU real-time factors reported by Imort et al. (A-SPADE: a range over input SDRs).
PAPER_RTF = {"demucs": 0.072, "waveunet": 0.113, "openunmix": 0.026, "crafx": None,
             "aspade": (4.2, 27.3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's choice)")
    parser.add_argument("--no-aspade", action="store_true", help="skip A-SPADE (slow)")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    clean = torch.as_tensor(synthetic_guitar(args.seconds, SR, seed=0), dtype=torch.float32)
    clipped, theta = clip_to_sdr(clean.reshape(1, 1, -1), 5.0)
    networks = {name: build_network(name).eval() for name in NETWORKS}

    def runner(network: torch.nn.Module):
        def run() -> None:
            with torch.no_grad():
                network(clipped)
        return run

    times = interleaved_median_seconds({n: runner(m) for n, m in networks.items()},
                                       args.repeats, warmup=1)
    if not args.no_aspade:
        start = time.perf_counter()
        aspade(clipped, SR, theta, progress=False)
        times["aspade"] = time.perf_counter() - start
    print(f"{args.seconds:g} s at {SR} Hz; {machine()}")
    print(f"{'model':<10} {'params':>10} {'RTF':>8} {'paper':>10} {'ratio':>7}")
    for name, seconds in times.items():
        rtf = seconds / args.seconds
        paper = PAPER_RTF[name]
        params = (f"{sum(p.numel() for p in networks[name].parameters()):,}"
                  if name in networks else "-")
        if isinstance(paper, tuple):
            shown, ratio = f"{paper[0]:g}-{paper[1]:g}", f"{rtf / paper[0]:.2f}"
        elif paper is None:
            shown, ratio = "-", "-"
        else:
            shown, ratio = f"{paper:g}", f"{rtf / paper:.2f}"
        print(f"{name:<10} {params:>10} {rtf:>8.3f} {shown:>10} {ratio:>7}")


if __name__ == "__main__":
    main()
