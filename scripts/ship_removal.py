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

import statistics
from pathlib import Path

from _shipping import load, parse_args

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
    args = parse_args(__doc__.splitlines()[0], "benchmarks/eval_removal.py")
    module, evaluation, recipe = load(args, RemovalModule)
    hp = module.hparams
    recipe.update(loss=hp.loss, lr=hp.lr, patience=hp.patience)
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
