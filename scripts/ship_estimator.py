"""Ship a trained estimator: evaluate a checkpoint on held-out clips and save it through
``dasp_blind.pretrained`` with its recipe and metrics.

    python scripts/ship_estimator.py CKPT NAME --command "dasp-blind fit ..." [--clips 64]
    python scripts/ship_estimator.py CKPT --evaluate-only   # print the metrics, write nothing

Held-out data: the built-in synthetic music with the generator settings of the training data
(``style``, ``dynamics``), seed 1000, which no training recipe here uses (they draw from seeds
0–2 and 100–102, and redrawn epochs from those seeds), at the checkpoint's clip length and at
10 s (analysed in windows). The weights are written
to ``dasp_blind/pretrained/NAME.pt`` with their JSON sidecar; an existing entry is replaced only
with ``--overwrite``.
"""

from __future__ import annotations

import argparse
import datetime
import platform
from pathlib import Path

import torch

from dasp_blind import pretrained
from dasp_blind.data import SyntheticClips
from dasp_blind.estimation import evaluate
from dasp_blind.estimation.module import BlindEstimator

PRETRAINED = Path(pretrained.__file__).resolve().parent
HELD_OUT_SEED = 1000


def held_out(count: int, seconds: float, rate: int, seed: int, **kwargs) -> torch.Tensor:
    clips = SyntheticClips(count, duration_s=seconds, sample_rate=rate, seed=seed, **kwargs)
    return torch.stack([clips[i] for i in range(count)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("name", nargs="?", help="the pretrained name to ship as")
    parser.add_argument("--command", help="the training command, for the recipe")
    parser.add_argument("--evaluate-only", action="store_true",
                        help="print the held-out metrics and write nothing")
    parser.add_argument("--clips", type=int, default=64)
    parser.add_argument("--long-clips", type=int, default=16)
    parser.add_argument("--notes", default="", help="free text added to the recipe")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args()
    if not args.evaluate_only and (args.name is None or args.command is None):
        parser.error("NAME and --command are required unless --evaluate-only")

    ckpt = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    module = BlindEstimator.load_from_checkpoint(args.checkpoint, map_location="cpu")
    model = module.model.eval()
    rate = int(model.sample_rate)
    data = {k: v for k, v in ckpt.get("datamodule_hyper_parameters", {}).items()
            if v is None or isinstance(v, str | int | float | bool)}
    seconds = float(data.get("duration_s", model.window_s))
    generator = {k: data[k] for k in ("dynamics", "style") if k in data}
    metrics = {}
    for label, count, length in (("", args.clips, seconds), ("long_clips", args.long_clips, 10.0)):
        dry = held_out(count, length, rate, HELD_OUT_SEED, **generator)
        summary = evaluate(model, dry, seed=HELD_OUT_SEED).summary()
        summary["measured_on"] = (
            f"{count} held-out {length:g} s clips of the built-in synthetic music "
            f"(SyntheticClips seed {HELD_OUT_SEED}, {generator or 'default generator'}), "
            f"peak-normalised, controls q ~ U(0,1) (seed {HELD_OUT_SEED}); mel = L_mel of the "
            f"estimate, random_mel = the Random q̂ baseline, dry_mel = L(x, y)")
        print(label or "clips", summary)
        if label:
            metrics[label] = summary
        else:
            metrics.update(summary)
    if args.evaluate_only:
        return
    hp = dict(module.hparams)
    recipe = {"command": args.command, "data": data, "steps": int(ckpt["global_step"]),
              "seed": 0, "loss": hp["loss"], "lr": hp["lr"],
              "date": datetime.date.today().isoformat(),
              "hardware": f"{platform.machine()} CPU, torch {torch.__version__}",
              "notes": args.notes}
    path = pretrained.save(model, PRETRAINED / f"{args.name}.pt",
                           init_args=module.estimator_init_args(), sample_rate=rate,
                           recipe=recipe, metrics=metrics, overwrite=args.overwrite)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
