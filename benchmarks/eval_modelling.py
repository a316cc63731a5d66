"""Held-out error of an effect model against the library effect it emulates.

Held-out clips — the synthetic guitar (``synthetic_guitar(seconds, rate, seed=1000 + i)``, DI
levels with peaks in [−18, −1] dBFS) and the synthetic music (``SyntheticClips`` with seed
1000); the training data draw their clips from seeds derived from the data module's seed
(0, 1, 2), never these — go through the effect at fixed controls and through the model
(from its zero state, the whole clip at once). Prints, per source, the pre-emphasised ESR
(``1 − 0.85 z⁻¹``, the amp-modelling papers' figure) of each clip and of all clips together, the
plain ESR and the energy-normalised MAE (the CAFx papers' figure), then a JSON line. With
``--direction removal`` the model is fed the wet clips and scored against the dry ones. Run::

    python benchmarks/eval_modelling.py --model runs/.../modelling_rnn.pt --effect overdrive
    python benchmarks/eval_modelling.py --checkpoint CKPT --effect overdrive --knob colour=0.5
    python benchmarks/eval_modelling.py --checkpoint CKPT --effect overdrive --knob-grid 5
    python benchmarks/eval_modelling.py --checkpoint CKPT --effect tremolo --direction removal

With ``--knob-grid N`` a knob-conditioned model is measured at every combination of ``N``
evenly spaced settings of each control, and the median, mean and worst setting are reported.
"""

from __future__ import annotations

import argparse
import json

import torch

from dasp_blind import pretrained
from dasp_blind.data import SyntheticClips, synthetic_guitar
from dasp_blind.metrics import energy_normalised_mae, esr
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


def knob_settings(effect: torch.nn.Module, knobs: list[str], grid: int) -> torch.Tensor:
    """The control settings to measure, ``(settings, num_controls)`` normalised: the effect's
    defaults with the ``name=value`` knobs set, or with ``grid >= 2`` every combination of
    ``grid`` evenly spaced values in ``[0, 1]`` for each control."""
    q = effect.param_space.default(1)
    for knob in knobs:
        name, _, value = knob.partition("=")
        q[0, effect.param_space.names.index(name)] = float(value)
    if grid < 2:
        return q
    values = torch.linspace(0.0, 1.0, grid)
    axes = torch.meshgrid(*[values] * q.shape[1], indexing="ij")
    return torch.stack([axis.reshape(-1) for axis in axes], dim=1)


def measure(model: torch.nn.Module, effect: torch.nn.Module, dry: torch.Tensor,
            q: torch.Tensor, direction: str) -> dict[str, float | list[float]]:
    """Errors of the model on the clips ``dry`` ``(clips, 1, samples)`` at the setting ``q``
    ``(1, num_controls)``: pooled and per-clip pre-emphasised ESR, plain ESR and the
    energy-normalised MAE (mean over clips)."""
    with torch.no_grad():
        wet = effect(dry, q.expand(len(dry), -1))
        source, target = (dry, wet) if direction == "emulation" else (wet, dry)
        controls = q.expand(len(dry), -1) if getattr(model, "num_controls", 0) else None
        estimate = run_model(model, source, controls)
    per_clip = esr(estimate, target, PRE_EMPHASIS)
    flat_estimate, flat_target = estimate.reshape(1, 1, -1), target.reshape(1, 1, -1)
    return {"esr_pre_emphasis": esr(flat_estimate, flat_target, PRE_EMPHASIS)[0].item(),
            "esr": esr(flat_estimate, flat_target)[0].item(),
            "energy_normalised_mae": energy_normalised_mae(estimate, target).mean().item(),
            "esr_pre_emphasis_per_clip": per_clip.tolist()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="a pretrained name or the path of a .pt file")
    source.add_argument("--checkpoint", help="a Lightning checkpoint of ModellingModule")
    parser.add_argument("--effect", default="overdrive", choices=sorted(SYNTHETIC_EFFECTS))
    parser.add_argument("--direction", default="emulation", choices=("emulation", "removal"),
                        help="emulation: the model maps dry to wet; removal: wet to dry")
    parser.add_argument("--knob", action="append", default=[],
                        help="name=value, a normalised control of the effect (default: its "
                             "defaults)")
    parser.add_argument("--knob-grid", type=int, default=0,
                        help="N >= 2: measure every combination of N evenly spaced values in "
                             "[0, 1] of each control (for knob-conditioned models)")
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    model, rate = load(args.model, args.checkpoint)
    effect = SYNTHETIC_EFFECTS[args.effect](rate).eval()
    settings = knob_settings(effect, args.knob, args.knob_grid)
    music = SyntheticClips(args.clips, args.seconds, rate, seed=1000)
    sources = {
        "guitar": torch.stack([synthetic_guitar(args.seconds, rate, seed=1000 + i)
                               for i in range(args.clips)]),
        "music": torch.stack([music[i] for i in range(args.clips)]),
    }
    names = effect.param_space.names
    result = {"model": args.model or args.checkpoint, "effect": args.effect,
              "direction": args.direction,
              "controls": dict(zip(names, settings[0].tolist(), strict=True))
              if len(settings) == 1 else f"grid of {args.knob_grid} values per control",
              "clips": args.clips, "seconds": args.seconds, "rate": rate, "sources": {}}
    print(f"{result['model']} against {args.effect} ({args.direction}) at {result['controls']} "
          f"on {args.clips} held-out clips of {args.seconds:g} s at {rate} Hz")
    for name, dry in sources.items():
        rows = [measure(model, effect, dry, q[None], args.direction) for q in settings]
        if len(rows) == 1:
            row = rows[0]
            per_clip = torch.tensor(row["esr_pre_emphasis_per_clip"])
            result["sources"][name] = row
            print(f"{name:7s} ESR (pre-emphasis) all clips {row['esr_pre_emphasis']:.4f}, per "
                  f"clip median {per_clip.median().item():.4f} [{per_clip.min().item():.4f}, "
                  f"{per_clip.max().item():.4f}]; plain ESR {row['esr']:.4f}; "
                  f"energy-normalised MAE {row['energy_normalised_mae']:.4f}")
            continue
        grid = torch.tensor([row["esr_pre_emphasis"] for row in rows])
        worst = int(grid.argmax())
        for q, row in zip(settings, rows, strict=True):
            knobs = " ".join(f"{n}={v:.2f}" for n, v in zip(names, q.tolist(), strict=True))
            print(f"{name:7s} {knobs}: ESR (pre-emphasis) {row['esr_pre_emphasis']:.4f}, "
                  f"plain ESR {row['esr']:.4f}")
        result["sources"][name] = {
            "esr_pre_emphasis_median_setting": grid.median().item(),
            "esr_pre_emphasis_mean_setting": grid.mean().item(),
            "esr_pre_emphasis_worst_setting": grid[worst].item(),
            "energy_normalised_mae_mean_setting": sum(
                row["energy_normalised_mae"] for row in rows) / len(rows),
            "worst_setting": dict(zip(names, settings[worst].tolist(), strict=True)),
            "esr_pre_emphasis_per_setting": grid.tolist()}
        print(f"{name:7s} over {len(rows)} settings: ESR (pre-emphasis) median "
              f"{grid.median().item():.4f}, mean {grid.mean().item():.4f}, worst "
              f"{grid[worst].item():.4f} at {result['sources'][name]['worst_setting']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
