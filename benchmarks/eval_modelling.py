"""Held-out error of an effect model against the library effect it emulates.

Held-out clips — the synthetic guitar (``synthetic_guitar(seconds, rate, seed=1000 + i)``, DI
levels with peaks in [−18, −1] dBFS) and the synthetic music (``SyntheticClips`` with seed
1000); the training data draw their clips from seeds derived from the data module's seed
(0, 1, 2), never these — go through the effect at fixed controls and through the model
(from its zero state, the whole clip at once). Prints, per source, the pre-emphasised ESR
(``1 − 0.85 z⁻¹``, the amp-modelling papers' figure) and the plain ESR of each clip and of all
clips together, then a JSON line. Run::

    python benchmarks/eval_modelling.py --model runs/.../modelling_rnn.pt --effect overdrive
    python benchmarks/eval_modelling.py --checkpoint CKPT --effect overdrive --knob colour=0.5
"""

from __future__ import annotations

import argparse
import json

import torch

from dasp_blind import pretrained
from dasp_blind.data import SyntheticClips, synthetic_guitar
from dasp_blind.metrics import esr
from dasp_blind.modelling.data import SYNTHETIC_EFFECTS
from dasp_blind.modelling.module import run_model

PRE_EMPHASIS = 0.85


def load(model: str | None, checkpoint: str | None) -> tuple[torch.nn.Module, int]:
    """The model and its sample rate, from a pretrained name or ``.pt`` path or a checkpoint."""
    if checkpoint is not None:
        from dasp_blind.modelling.module import ModellingModule

        module = ModellingModule.load_from_checkpoint(checkpoint, map_location="cpu")
        return module.model.eval(), int(module.hparams.sample_rate)
    return pretrained.load(model), int(pretrained.info(model)["sample_rate"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="a pretrained name or the path of a .pt file")
    source.add_argument("--checkpoint", help="a Lightning checkpoint of ModellingModule")
    parser.add_argument("--effect", default="overdrive", choices=sorted(SYNTHETIC_EFFECTS))
    parser.add_argument("--knob", action="append", default=[],
                        help="name=value, a normalised control of the effect (default: its "
                             "defaults)")
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    model, rate = load(args.model, args.checkpoint)
    effect = SYNTHETIC_EFFECTS[args.effect](rate).eval()
    q = effect.param_space.default(1)
    for knob in args.knob:
        name, _, value = knob.partition("=")
        q[0, effect.param_space.names.index(name)] = float(value)
    controls = q if getattr(model, "num_controls", 0) else None
    music = SyntheticClips(args.clips, args.seconds, rate, seed=1000)
    sources = {
        "guitar": torch.stack([synthetic_guitar(args.seconds, rate, seed=1000 + i)
                               for i in range(args.clips)]),
        "music": torch.stack([music[i] for i in range(args.clips)]),
    }
    result = {"model": args.model or args.checkpoint, "effect": args.effect,
              "controls": dict(zip(effect.param_space.names, q[0].tolist(), strict=True)),
              "clips": args.clips, "seconds": args.seconds, "rate": rate, "sources": {}}
    print(f"{result['model']} against {args.effect} {result['controls']} on {args.clips} "
          f"held-out clips of {args.seconds:g} s at {rate} Hz")
    for name, dry in sources.items():
        with torch.no_grad():
            wet = effect(dry, q.expand(len(dry), -1))
            estimate = run_model(model, dry, None if controls is None else
                                 controls.expand(len(dry), -1))
        per_clip = esr(estimate, wet, PRE_EMPHASIS)
        pooled = esr(estimate.reshape(1, 1, -1), wet.reshape(1, 1, -1), PRE_EMPHASIS)[0]
        raw = esr(estimate.reshape(1, 1, -1), wet.reshape(1, 1, -1))[0]
        result["sources"][name] = {"esr_pre_emphasis": pooled.item(), "esr": raw.item(),
                                   "esr_pre_emphasis_per_clip": per_clip.tolist()}
        print(f"{name:7s} ESR (pre-emphasis) all clips {pooled.item():.4f}, per clip median "
              f"{per_clip.median().item():.4f} [{per_clip.min().item():.4f}, "
              f"{per_clip.max().item():.4f}]; plain ESR {raw.item():.4f}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
