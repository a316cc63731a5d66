"""What the ship scripts share: their arguments, the evaluation they read and the recipe fields
every checkpoint gives."""

from __future__ import annotations

import argparse
import datetime
import json
import platform
from pathlib import Path
from typing import Any

import torch


def parse_args(description: str, eval_script: str) -> argparse.Namespace:
    """``CKPT NAME --eval FILE --command CMD [--notes TEXT] [--overwrite]``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("checkpoint")
    parser.add_argument("name")
    parser.add_argument("--eval", required=True,
                        help=f"the output of {eval_script} (its last line is JSON)")
    parser.add_argument("--command", required=True, help="the training command, for the recipe")
    parser.add_argument("--notes", default="", help="free text added to the recipe")
    parser.add_argument("--overwrite", action="store_true")
    return parser.parse_args()


def load(args: argparse.Namespace, module_class: Any) -> tuple[Any, dict, dict[str, Any]]:
    """The LightningModule of ``args.checkpoint``, the evaluation JSON of ``args.eval`` and the
    recipe fields every run has (command, data, steps, seed, epochs, machine, date, notes)."""
    evaluation = json.loads(Path(args.eval).read_text().strip().splitlines()[-1])
    module = module_class.load_from_checkpoint(args.checkpoint, map_location="cpu")
    checkpoint = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    data = {k: v for k, v in checkpoint.get("datamodule_hyper_parameters", {}).items()
            if not k.startswith("_")}
    recipe = {"command": args.command, "data": data, "steps": int(checkpoint["global_step"]),
              "seed": 0, "epochs": int(checkpoint["epoch"]) + 1,
              "machine": f"{platform.machine()}, torch {torch.__version__}, CPU",
              "date": datetime.date.today().isoformat(), "notes": args.notes}
    return module, evaluation, recipe
