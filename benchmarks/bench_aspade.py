"""A-SPADE declipping of clipped synthetic music at 44.1 kHz: dasp_blind's batched torch solver
vs the survey's formulation, one block at a time in numpy (``_aspade_reference.py``).

The music (``synthetic_music(seconds, 44100, seed=0, style="random")``) is hard-clipped to the
input SDR ``--sdr`` (dB) and declipped with the survey's settings (8192-sample Hann window, hop
2048, redundancy 2, s = 1, r = 2, ε = 0.1). dasp_blind runs in ``--dtype`` (float32 by default;
float64 gives the peer's result to rounding), the peer on float64 arrays (as MATLAB would); both
skip blocks without a clipped sample. Each is timed in turn within each of ``--repeats`` rounds
(medians); the real-time factor is processing time over audio duration. Run:
``python benchmarks/bench_aspade.py [--seconds 10] [--sdr 5] [--repeats 1] [--dtype float32]``.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from _aspade_reference import aspade_reference
from _timing import interleaved_median_seconds, report

from dasp_blind.data import synthetic_music
from dasp_blind.metrics import sdr
from dasp_blind.removal.declipping import aspade, window_length
from dasp_blind.removal.degradations import clip_to_sdr

SR = 44100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--sdr", type=float, default=5.0, help="input SDR in dB")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    args = parser.parse_args()
    clean = synthetic_music(args.seconds, SR, seed=0, style="random")[None]   # (1, 1, samples)
    clean = clean.to(getattr(torch, args.dtype))
    clipped, theta = clip_to_sdr(clean, args.sdr)
    y, level = clipped[0, 0].double().numpy(), float(theta)
    results = {}

    def ours() -> None:
        results["dasp_blind"] = aspade(clipped, SR, theta, progress=False)

    def peer() -> None:
        results["numpy"] = aspade_reference(y, y >= level, y <= -level, window_length(SR))

    times = interleaved_median_seconds(
        {"dasp_blind": ours, "numpy per block (survey formulation)": peer}, args.repeats,
        warmup=0)
    restored = results["dasp_blind"]
    restored_peer = torch.from_numpy(results["numpy"]).reshape(clean.shape)
    sdr_db = {"input": sdr(clipped, clean).item(), "dasp_blind": sdr(restored, clean).item(),
              "numpy": sdr(restored_peer.to(clean.dtype), clean).item()}
    rtf = {name: t / args.seconds for name, t in times.items()}
    for name, value in rtf.items():
        print(f"real-time factor {name}: {value:.2f}")
    print("SDR (dB): " + ", ".join(f"{k} {v:.2f}" for k, v in sdr_db.items()))
    gap = (restored.double() - restored_peer).abs().max().item()
    report(f"A-SPADE, {args.seconds:g} s of music at {SR} Hz, input SDR {args.sdr:g} dB",
           list(times.items()), "dasp_blind",
           {"clip_seconds": args.seconds, "input_sdr_db": args.sdr, "dtype": args.dtype,
            "real_time_factor": rtf,
            "sdr_db": sdr_db, "clipped_fraction": float(np.mean(np.abs(y) >= level)),
            "max_abs_difference": gap})


if __name__ == "__main__":
    main()
