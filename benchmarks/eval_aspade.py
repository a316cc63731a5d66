"""SDR improvement of A-SPADE over the declipping survey's input-SDR grid, on the synthetic guitar.

Held-out guitar clips (``synthetic_guitar(seconds, rate, seed=1000 + i)``) are hard-clipped to
each input SDR of :data:`~dasp_blind.removal.EVAL_SDR_DB` (1, 3, 5, 7, 10, 15, 20 dB) and
declipped by :func:`~dasp_blind.removal.aspade` with the survey's settings (the window scaled
to the rate), the clipping threshold given. Prints, per input SDR, the median and the range over
the clips of the output SDR and of the improvement, and a JSON line. Run:
``python benchmarks/eval_aspade.py [--clips 4] [--seconds 5] [--rate 16000]``.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from dasp_blind.data import synthetic_guitar
from dasp_blind.metrics import sdr
from dasp_blind.removal import EVAL_SDR_DB, aspade, clip_to_sdr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=int, default=16000)
    args = parser.parse_args()
    clean = torch.stack([synthetic_guitar(args.seconds, args.rate, seed=1000 + i)
                         for i in range(args.clips)])
    rows = {}
    print(f"A-SPADE on {args.clips} guitar clips of {args.seconds:g} s at {args.rate} Hz")
    print("input SDR  output SDR median [min, max]  improvement median [min, max]  seconds")
    for target in EVAL_SDR_DB:
        clipped, threshold = clip_to_sdr(clean, target)
        start = time.perf_counter()
        restored = aspade(clipped, args.rate, threshold, progress=False)
        seconds = time.perf_counter() - start
        before = sdr(clipped, clean).mean(-1)
        after = sdr(restored, clean).mean(-1)
        gain = after - before
        rows[target] = {"output_sdr_db": after.tolist(), "improvement_db": gain.tolist(),
                        "real_time_factor": seconds / (args.clips * args.seconds)}
        print(f"{target:6.0f} dB  {after.median():6.2f} [{after.min():6.2f}, {after.max():6.2f}]"
              f"            {gain.median():6.2f} [{gain.min():6.2f}, {gain.max():6.2f}]"
              f"              {seconds:7.1f}")
    print(json.dumps({"clips": args.clips, "seconds": args.seconds, "rate": args.rate,
                      "by_input_sdr_db": rows}))


if __name__ == "__main__":
    main()
