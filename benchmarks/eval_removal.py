"""Held-out evaluation of a distortion-removal model against the degraded input and A-SPADE.

Held-out guitar clips (``synthetic_guitar(seconds, rate, seed=1000 + i)``; the training data
draw their clips from 63-bit seeds derived from the data module's seed, never these) are degraded
three ways, each over a fixed grid:

* SoX overdrive at the five gains of CEG-OD (:data:`~dasp_blind.removal.PAPER_GAIN_LEVELS_DB`);
* hard clipping by gain (CEG-HC), at the same five gains;
* hard clipping to an input SDR (SignalTrain-HC), over :data:`~dasp_blind.removal.EVAL_SDR_DB`.

Each degraded clip is restored by the model (:meth:`Restorer.restore`); for the two hard-clipping
kinds the restoration is also made consistent with the clipping
(:func:`~dasp_blind.removal.declipping.project_consistent` with the clipping level given, what
``dasp-blind remove --hard-clipped`` does), and for hard clipping to an input SDR up to
``--aspade-up-to`` dB the clip is declipped by :func:`~dasp_blind.removal.aspade` with the
clipping threshold given (its best case). Prints, per condition, the median SI-SDR (dB) of the
input, of the model, of the model made consistent and of A-SPADE, and the model's median
improvement over the input, then a JSON line with every clip's numbers. Run::

    python benchmarks/eval_removal.py --model guitar_distortion_removal
    python benchmarks/eval_removal.py --checkpoint runs/.../last.ckpt --no-aspade

A-SPADE's scores depend only on the clips, so ``--aspade-cache FILE`` keeps them: read from
FILE when it holds the same clips, else computed and written there.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch
from torch import Tensor

from dasp_blind import pretrained
from dasp_blind.data import synthetic_guitar
from dasp_blind.metrics import si_sdr
from dasp_blind.removal import (
    EVAL_SDR_DB,
    PAPER_GAIN_LEVELS_DB,
    aspade,
    clip_to_sdr,
    hard_clip,
    overdrive,
)
from dasp_blind.removal.declipping import project_consistent


def degraded_conditions(clean: Tensor) -> list[tuple[str, float, Tensor, Tensor | None]]:
    """``(kind, setting, degraded, threshold)`` for every condition of the grid; ``threshold``
    is the clipping level for the hard-clipping kinds (``None`` for overdrive)."""
    batch = clean.shape[0]
    conditions = []
    for gain in PAPER_GAIN_LEVELS_DB:
        conditions.append(("overdrive", gain, overdrive(clean, gain), None))
    for gain in PAPER_GAIN_LEVELS_DB:
        conditions.append(("hard_clip", gain, hard_clip(clean, gain), torch.ones(batch)))
    for target in EVAL_SDR_DB:
        clipped, threshold = clip_to_sdr(clean, target)
        conditions.append(("clip_to_sdr", target, clipped, threshold))
    return conditions


def load_restorer(model: str | None, checkpoint: str | None) -> torch.nn.Module:
    """The restorer of a pretrained name or ``.pt`` path, or of a Lightning checkpoint."""
    if checkpoint is not None:
        from dasp_blind.removal.module import RemovalModule

        return RemovalModule.load_from_checkpoint(checkpoint, map_location="cpu").restorer.eval()
    return pretrained.load(model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="a pretrained name or the path of a .pt file")
    source.add_argument("--checkpoint", help="a Lightning checkpoint of RemovalModule")
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--aspade-up-to", type=float, default=7.0,
                        help="run A-SPADE on clip_to_sdr conditions up to this input SDR (dB)")
    parser.add_argument("--no-aspade", action="store_true")
    parser.add_argument("--aspade-cache", type=Path, default=None,
                        help="JSON file of A-SPADE's scores on these clips (read or written)")
    args = parser.parse_args()
    restorer = load_restorer(args.model, args.checkpoint)
    rate = restorer.sample_rate
    clean = torch.stack([synthetic_guitar(args.seconds, rate, seed=1000 + i)
                         for i in range(args.clips)])
    clips_key = {"clips": args.clips, "seconds": args.seconds, "rate": rate}
    cache = {}
    if args.aspade_cache is not None and args.aspade_cache.is_file():
        stored = json.loads(args.aspade_cache.read_text())
        cache = stored["scores"] if stored["clips_key"] == clips_key else {}
    rows = []
    print(f"{args.model or args.checkpoint} on {args.clips} held-out guitar clips of "
          f"{args.seconds:g} s at {rate} Hz; SI-SDR medians (dB)")
    print("kind          setting   input   model  consistent  A-SPADE  model - input")
    for kind, setting, degraded, threshold in degraded_conditions(clean):
        with torch.no_grad():
            restored = restorer.restore(degraded)
        row = {"kind": kind, "setting": setting,
               "input": si_sdr(degraded, clean).mean(-1).tolist(),
               "model": si_sdr(restored, clean).mean(-1).tolist()}
        if threshold is not None:
            consistent = project_consistent(restored, degraded, threshold)
            row["consistent"] = si_sdr(consistent, clean).mean(-1).tolist()
        if (not args.no_aspade and kind == "clip_to_sdr" and setting <= args.aspade_up_to):
            key = f"{kind} {setting:g}"
            if key not in cache:
                declipped = aspade(degraded, rate, threshold, progress=False)
                cache[key] = si_sdr(declipped, clean).mean(-1).tolist()
            row["aspade"] = cache[key]
        rows.append(row)
        medians = {key: statistics.median(row[key])
                   for key in ("input", "model", "consistent", "aspade") if key in row}
        gain = statistics.median(m - i for m, i in zip(row["model"], row["input"], strict=True))
        aspade_text = f"{medians['aspade']:7.2f}" if "aspade" in medians else "      -"
        consistent_text = (f"{medians['consistent']:10.2f}" if "consistent" in medians
                           else "         -")
        print(f"{kind:12s} {setting:6.1f}  {medians['input']:6.2f}  {medians['model']:6.2f}  "
              f"{consistent_text}  {aspade_text}  {gain:+7.2f}", flush=True)
    if args.aspade_cache is not None and cache:
        args.aspade_cache.write_text(json.dumps({"clips_key": clips_key, "scores": cache}))
    print(json.dumps({"model": args.model or args.checkpoint, "clips": args.clips,
                      "seconds": args.seconds, "rate": rate, "rows": rows}))


if __name__ == "__main__":
    main()
