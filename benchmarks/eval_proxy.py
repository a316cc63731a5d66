"""Mean absolute error of the compressor proxy against the DSP compressor on held-out clips.

Run: ``python benchmarks/eval_proxy.py [--weights PATH] [--items 128] [--seed 1000]
[--seconds 1]``. The clips are synthetic music drawn with a seed the training recipe never uses,
with uniformly random controls, ``--seconds`` long at 44.1 kHz, peak-normalised as in training.
Clips longer than 1 s also get the MAE of each second of the clip, which shows whether the proxy
holds beyond the clip length it was trained on. The MAE of the clips whose control is in the
lowest and in the highest fifth of its range, per control, shows where the error comes from
(the makeup gain scales the output, and with it the absolute error). ``--control
makeup_db=0`` holds a control at a normalised value instead of drawing it.
"""

from __future__ import annotations

import argparse
import json

import torch

from dasp_blind import pretrained
from dasp_blind.data import EffectPairDataset, SyntheticClips
from dasp_blind.effects import Compressor, ProxyCompressor


class HeldControls(EffectPairDataset):
    """Effect pairs whose controls in ``held`` (column -> normalised value) are held fixed;
    the others are drawn as :class:`EffectPairDataset` draws them."""

    def __init__(self, clips: SyntheticClips, effect: Compressor, seed: int,
                 held: dict[int, float]):
        super().__init__(clips, effect, seed=seed)
        self.held = held

    def sample_q(self, index: int, epoch: int = 0) -> torch.Tensor:
        q = super().sample_q(index, epoch)
        for column, value in self.held.items():
            q[column] = value
        return q


def mae_by_control(item_mae: torch.Tensor, q: torch.Tensor,
                   names: list[str]) -> dict[str, tuple[float, float]]:
    """Per control, the mean of the per-clip MAEs ``(items,)`` over the clips whose normalised
    value in ``q`` ``(items, controls)`` is below 0.2, and over those above 0.8 (NaN if none)."""
    rows = {}
    for j, name in enumerate(names):
        low, high = item_mae[q[:, j] < 0.2], item_mae[q[:, j] > 0.8]
        rows[name] = (low.mean().item(), high.mean().item())
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="compressor_proxy",
                        help="a pretrained name or a .pt with its .json (default: shipped)")
    parser.add_argument("--items", type=int, default=128)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=1.0, help="clip length in seconds")
    parser.add_argument("--control", action="append", default=[],
                        help="name=value: hold a control at a normalised value in [0, 1]")
    args = parser.parse_args()

    meta = pretrained.info(args.weights)
    sr = meta["sample_rate"]
    effect = ProxyCompressor(sr, proxy=args.weights)
    held = {name: float(value) for name, _, value in
            (control.partition("=") for control in args.control)}
    pairs = HeldControls(SyntheticClips(args.items, args.seconds, sr, seed=args.seed),
                         Compressor(sr), args.seed,
                         {effect.param_space.names.index(n): v for n, v in held.items()})
    loader = torch.utils.data.DataLoader(pairs, batch_size=args.batch)
    abs_err, abs_wet, count = 0.0, 0.0, 0
    item_mae, item_q = [], []
    seconds = int(-(-args.seconds // 1))
    err_per_second, count_per_second = [0.0] * seconds, [0] * seconds
    with torch.no_grad():
        for batch in loader:
            error = (effect(batch["dry"], batch["q"]) - batch["wet"]).abs()
            abs_err += error.sum().item()
            item_mae.append(error.mean(dim=(1, 2)))
            item_q.append(batch["q"])
            abs_wet += batch["wet"].abs().sum().item()
            count += batch["wet"].numel()
            for i, chunk in enumerate(error.split(int(sr), dim=-1)):
                err_per_second[i] += chunk.sum().item()
                count_per_second[i] += chunk.numel()
    per_second = [e / n for e, n in zip(err_per_second, count_per_second, strict=True)]
    by_control = mae_by_control(torch.cat(item_mae), torch.cat(item_q),
                                effect.param_space.names)
    result = {"items": args.items, "seed": args.seed, "seconds": args.seconds, "held": held,
              "mae": abs_err / count, "mean_abs_target": abs_wet / count,
              "relative_mae": abs_err / abs_wet, "mae_per_second": per_second,
              "mae_by_control": by_control, "training_steps": meta["recipe"]["steps"]}
    print(f"proxy vs DSP compressor on {args.items} held-out {args.seconds:g} s clips: "
          f"MAE {result['mae']:.4f} (mean |target| {result['mean_abs_target']:.4f}, "
          f"relative {result['relative_mae']:.3f})")
    if len(per_second) > 1:
        print("MAE in each second of the clip: " + ", ".join(f"{v:.4f}" for v in per_second))
    print("MAE of the clips with each control in the lowest / highest fifth of its range: "
          + ", ".join(f"{name} {low:.4f} / {high:.4f}"
                      for name, (low, high) in by_control.items()))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
