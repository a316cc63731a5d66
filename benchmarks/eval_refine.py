"""What gradient refinement adds to a blind estimate, against refinement from a random start.

Held-out clips of the built-in music (seed 1000 on, never used in training) get random
controls through the estimator's analysis effect; then, per clip, the mel loss of

* the encoder's estimate alone,
* the estimate refined by ``--steps`` steps of :func:`dasp_blind.estimation.refine` with the dry
  clip known,
* uniformly random controls, and those refined by the same number of steps.

Run: ``python benchmarks/eval_refine.py [--model parametric_clipper_estimator] [--clips 16]
[--seconds 3] [--steps 50]``.
"""

from __future__ import annotations

import argparse
import json

import torch

from dasp_blind import pretrained
from dasp_blind.data import SyntheticClips
from dasp_blind.estimation import mel_loss, refine

SEED = 1000


def per_clip_mel(analysis, dry, wet, q, rate) -> torch.Tensor:
    with torch.no_grad():
        rendered = analysis(dry, q)
    return torch.stack([mel_loss(rendered[i:i + 1], wet[i:i + 1], rate)
                        for i in range(dry.shape[0])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="parametric_clipper_estimator")
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--lr", type=float, default=0.05)
    args = parser.parse_args()
    estimator = pretrained.load(args.model)
    rate = int(estimator.sample_rate)
    analysis = estimator.analysis
    clips = SyntheticClips(args.clips, duration_s=args.seconds, sample_rate=rate, seed=SEED,
                           dynamics=True)
    dry = torch.stack([clips[i] for i in range(args.clips)])
    gen = torch.Generator().manual_seed(SEED)
    q_true = torch.rand(args.clips, analysis.num_params, generator=gen)
    q_random = torch.rand(args.clips, analysis.num_params, generator=gen)
    with torch.no_grad():
        wet = analysis(dry, q_true)
    q_hat = estimator.estimate_q(wet)
    starts = {"encoder": q_hat, "random": q_random}
    rows = {}
    for name, q0 in starts.items():
        q1 = refine(analysis, dry, wet, q0, steps=args.steps, lr=args.lr)
        before, after = (per_clip_mel(analysis, dry, wet, q, rate) for q in (q0, q1))
        rows[name] = {"mel_start": float(before.mean()), "mel_refined": float(after.mean()),
                      "mse_q_start": float(((q0 - q_true) ** 2).mean()),
                      "mse_q_refined": float(((q1 - q_true) ** 2).mean())}
    print(f"{args.clips} held-out {args.seconds:g} s clips, {args.steps} refinement steps "
          f"(Adam, lr {args.lr:g}), model {args.model}")
    print(f"{'start':<10} {'L_mel start':>12} {'L_mel refined':>14} {'MSE_q start':>12} "
          f"{'MSE_q refined':>14}")
    for name, r in rows.items():
        print(f"{name:<10} {r['mel_start']:>12.4f} {r['mel_refined']:>14.4f} "
              f"{r['mse_q_start']:>12.4f} {r['mse_q_refined']:>14.4f}")
    print(json.dumps({"clips": args.clips, "seconds": args.seconds, "steps": args.steps,
                      "model": args.model, "results": rows}))


if __name__ == "__main__":
    main()
