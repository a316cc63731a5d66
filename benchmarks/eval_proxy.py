"""Mean absolute error of the compressor proxy against the DSP compressor on held-out clips.

Run: ``python benchmarks/eval_proxy.py [--weights PATH] [--items 128] [--seed 1000]``. The clips
are synthetic music drawn with a seed the training recipe never uses (it uses seeds 0, 1, 2),
with uniformly random controls, 1 s at 44.1 kHz, peak-normalised as in training.
"""

from __future__ import annotations

import argparse
import json

import torch

from dasp_blind.data import EffectPairDataset, SyntheticClips
from dasp_blind.effects import Compressor, ProxyCompressor
from dasp_blind.pretrained import load_compressor_proxy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None, help="compressor_proxy.pt (default: shipped)")
    parser.add_argument("--items", type=int, default=128)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()

    proxy, meta = load_compressor_proxy(args.weights)
    sr = meta["sample_rate"]
    effect = ProxyCompressor(sr, proxy=proxy, proxy_sample_rate=sr)
    pairs = EffectPairDataset(SyntheticClips(args.items, 1.0, sr, seed=args.seed),
                              Compressor(sr), seed=args.seed)
    loader = torch.utils.data.DataLoader(pairs, batch_size=args.batch)
    abs_err, abs_wet, count = 0.0, 0.0, 0
    with torch.no_grad():
        for batch in loader:
            estimate = effect(batch["dry"], batch["q"])
            abs_err += (estimate - batch["wet"]).abs().sum().item()
            abs_wet += batch["wet"].abs().sum().item()
            count += batch["wet"].numel()
    result = {"items": args.items, "seed": args.seed, "mae": abs_err / count,
              "mean_abs_target": abs_wet / count, "relative_mae": abs_err / abs_wet,
              "training_steps": meta.get("steps")}
    print(f"proxy vs DSP compressor on {args.items} held-out 1 s clips: "
          f"MAE {result['mae']:.4f} (mean |target| {result['mean_abs_target']:.4f}, "
          f"relative {result['relative_mae']:.3f})")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
