"""Ship a trained effect model: save a ModellingModule checkpoint's model through
``dasp_blind.pretrained`` with its recipe and the held-out metrics of ``eval_modelling.py``, and
(for a GRU / LSTM) its plugin files.

    python benchmarks/eval_modelling.py --checkpoint CKPT --effect overdrive > eval.txt
    python scripts/ship_modelling.py CKPT NAME --eval eval.txt --command "dasp-blind fit ..."

The weights go to ``dasp_blind/pretrained/NAME.pt`` with their sidecar, the plugin files to
``dasp_blind/pretrained/plugins/NAME.guitarml.json`` and ``NAME.rtneural.json``; existing files
are replaced only with ``--overwrite``.
"""

from __future__ import annotations

from pathlib import Path

from _shipping import load, parse_args

from dasp_blind import pretrained
from dasp_blind.modelling import RNNModel, save_guitarml, save_rtneural
from dasp_blind.modelling.module import ModellingModule

PRETRAINED = Path(pretrained.__file__).resolve().parent


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], "benchmarks/eval_modelling.py")
    module, evaluation, recipe = load(args, ModellingModule)
    hp = module.hparams
    recipe.update(loss_terms=dict(module.loss.terms), lr=hp.lr, weight_decay=hp.weight_decay,
                  warmup_samples=hp.warmup_samples, update_samples=hp.update_samples,
                  grad_clip=hp.get("grad_clip", 0.0), init_weights=hp.get("init_weights"))
    metrics = {"measured_on": (f"{evaluation['clips']} held-out clips of "
                               f"{evaluation['seconds']:g} s at {evaluation['rate']} Hz per "
                               f"source (synthetic guitar seeds 1000+, synthetic music seed "
                               f"1000) through the library's {evaluation['effect']} at "
                               f"{evaluation['controls']} ({evaluation['direction']}), "
                               f"benchmarks/eval_modelling.py"),
               **{f"{source}_{key}": round(value, 5) if isinstance(value, float) else value
                  for source, values in evaluation["sources"].items()
                  for key, value in values.items() if "_per_" not in key}}
    model = module.model.eval()
    path = pretrained.save(model, PRETRAINED / f"{args.name}.pt",
                           init_args=dict(hp.model_args or {}), sample_rate=hp.sample_rate,
                           recipe=recipe, metrics=metrics, overwrite=args.overwrite)
    print(f"wrote {path} and its sidecar")
    if isinstance(model, RNNModel) and model.pre_hidden == 0:
        plugins = PRETRAINED / "plugins"
        for suffix, save in (("guitarml", save_guitarml), ("rtneural", save_rtneural)):
            written = save(model, plugins / f"{args.name}.{suffix}.json", hp.sample_rate,
                           overwrite=args.overwrite)
            print(f"wrote {written}")


if __name__ == "__main__":
    main()
