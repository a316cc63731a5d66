"""One blind-estimation training step per encoder, and where its time goes.

The setting of issue 8: batch 16 × 10 s × 44.1 kHz mono, the 5-band parametric EQ as the
analysis effect, the mel loss. For each encoder the script times (median of ``--repeats``)
the whole step — encoder and head forward, the EQ rendering ``ŷ``, the mel loss, the backward
pass and an Adam step — and each part alone, forward and backward:

* effects: the parametric EQ on the dry batch, with the gradient to its 15 controls;
* CQT: the log-CQT front end (forward only: the wet input needs no gradient); MEE has none;
* encoder: the encoder without its CQT;
* head: the MLP head;
* loss: the mel loss with the gradient to ``ŷ``.

It prints each part's share of the step (the parts are timed apart, so their shares need not add
up to 100 %) and checks the target effects + loss ≤ 20 % of a step. Run:
``python benchmarks/bench_training.py [--encoders tfe,te,mee] [--batch 16] [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import json

import torch
from _timing import machine, median_seconds

from dasp_blind.data import synthetic_music
from dasp_blind.estimation import Estimator, mel_loss

SR = 44100


def batch_audio(batch: int, seconds: float) -> torch.Tensor:
    """``(batch, 1, samples)`` of seeded synthetic music."""
    return torch.stack([synthetic_music(seconds, SR, seed=i) for i in range(batch)])


def time_parts(encoder: str, batch: int, seconds: float, repeats: int) -> dict[str, float]:
    model = Estimator("parametric_eq", encoder, SR, window_s=seconds).train()
    dry = batch_audio(batch, seconds)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        wet = model.analysis(dry, torch.rand(batch, model.analysis.num_params, generator=gen))
    optimizer = torch.optim.Adam([*model.encoder.parameters(), *model.head.parameters()], 1e-4)

    def step() -> None:
        optimizer.zero_grad()
        loss = mel_loss(model.analysis(dry, model(wet)), wet, SR)
        loss.backward()
        optimizer.step()

    def effects() -> None:
        q = torch.rand(batch, model.analysis.num_params, generator=gen).requires_grad_(True)
        model.analysis(dry, q).square().mean().backward()

    cqt = getattr(model.encoder, "cqt", None)

    def cqt_forward() -> None:
        with torch.no_grad():
            cqt(wet)

    def encoder_and_cqt() -> None:
        model.encoder(wet).square().mean().backward()

    embedding = model.encoder(wet).detach()

    def head() -> None:
        model.head(embedding.clone().requires_grad_(True)).square().mean().backward()

    def loss() -> None:
        y_hat = wet.clone().mul_(0.9).requires_grad_(True)
        mel_loss(y_hat, wet, SR).backward()

    parts = {"step": step, "effects": effects, "encoder+cqt": encoder_and_cqt, "head": head,
             "loss": loss}
    if cqt is not None:
        parts["cqt"] = cqt_forward
    seconds_by_part = {name: median_seconds(fn, repeats) for name, fn in parts.items()}
    seconds_by_part["encoder"] = seconds_by_part.pop("encoder+cqt") - seconds_by_part.get("cqt",
                                                                                           0.0)
    return seconds_by_part


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", default="tfe,te,mee")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"training step, batch {args.batch} x {args.seconds:g} s x {SR} Hz, parametric EQ, "
          f"mel loss\n{machine()}")
    print(f"{'encoder':<8} {'step s':>8} " + " ".join(f"{p:>9}" for p in
                                                      ("effects", "cqt", "encoder", "head",
                                                       "loss")) + "  effects+loss")
    for name in args.encoders.split(","):
        parts = time_parts(name, args.batch, args.seconds, args.repeats)
        step = parts["step"]
        shares = {p: parts.get(p, 0.0) / step for p in ("effects", "cqt", "encoder", "head",
                                                         "loss")}
        target = shares["effects"] + shares["loss"]
        print(f"{name:<8} {step:>8.2f} " + " ".join(f"{100 * s:>8.1f}%" for s in shares.values())
              + f"  {100 * target:>6.1f}% ({'meets' if target <= 0.2 else 'misses'} <= 20 %)")
        print(json.dumps({"encoder": name, "seconds": parts, "shares": shares}))


if __name__ == "__main__":
    main()
