"""Ship a trained distortion-removal network: save a RemovalModule checkpoint's restorer through
``dasp_blind.pretrained`` with its recipe and the held-out metrics of ``eval_removal.py``.

    python benchmarks/eval_removal.py --checkpoint CKPT > eval.txt   # last line: JSON
    python scripts/ship_removal.py CKPT NAME --eval eval.txt --command "dasp-blind fit ..."

The metrics recorded are, per degradation and setting of the evaluation grid, the medians over
the held-out clips of the SI-SDR (dB) of the degraded input, of the network, of the network's
improvement and, where it was run, of A-SPADE. The weights go to
``dasp_blind/pretrained/NAME.pt`` with their sidecar; an existing entry is replaced only with
``--overwrite``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
from pathlib import Path

import torch

from dasp_blind import pretrained
from dasp_blind.removal.module import RemovalModule

PRETRAINED = Path(pretrained.__file__).resolve().parent


def grid_metrics(evaluation: dict) -> dict:
    """``{"<kind> <setting>": {"input": median, "model": median, "improvement": median[,
    "aspade": median]}}`` (dB; the improvement is the median of the per-clip differences)."""
    table = {}
    for row in evaluation["rows"]:
        key = f"{row['kind']} {row['setting']:g}"
        table[key] = {name: round(statistics.median(row[name]), 2)
                      for name in ("input", "model", "aspade") if name in row}
        table[key]["improvement"] = round(statistics.median(
            m - i for m, i in zip(row["model"], row["input"], strict=True)), 2)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("name")
    parser.add_argument("--eval", required=True,
                        help="the output of benchmarks/eval_removal.py (its last line is JSON)")
    parser.add_argument("--command", required=True, help="the training command, for the recipe")
    parser.add_argument("--notes", default="", help="free text added to the recipe")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args()
    evaluation = json.loads(Path(args.eval).read_text().strip().splitlines()[-1])
    module = RemovalModule.load_from_checkpoint(args.checkpoint, map_location="cpu")
    checkpoint = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    hp = module.hparams
    datamodule = {k: v for k, v in checkpoint.get("datamodule_hyper_parameters", {}).items()
                  if not k.startswith("_")}
    recipe = {"command": args.command, "data": datamodule, "steps":
              int(checkpoint["global_step"]), "seed": 0, "loss": hp.loss, "lr": hp.lr,
              "patience": hp.patience, "epochs": int(checkpoint["epoch"]) + 1,
              "machine": f"{platform.machine()}, torch {torch.__version__}, CPU",
              "date": datetime.date.today().isoformat(), "notes": args.notes}
    metrics = {"measured_on": (f"{evaluation['clips']} held-out synthetic-guitar clips "
                               f"(synthetic_guitar seeds 1000+) of {evaluation['seconds']:g} s "
                               f"at {evaluation['rate']} Hz, benchmarks/eval_removal.py; "
                               f"medians of SI-SDR in dB"),
               "si_sdr_db": grid_metrics(evaluation)}
    path = pretrained.save(module.restorer.eval(), PRETRAINED / f"{args.name}.pt",
                           init_args=module.restorer_init_args(), sample_rate=hp.sample_rate,
                           recipe=recipe, metrics=metrics, overwrite=args.overwrite)
    print(f"wrote {path} and its sidecar")


if __name__ == "__main__":
    main()
