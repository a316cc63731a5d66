"""One training step of the compressor proxy: dasp_blind's TCN vs the same network on torch's
own convolutions (the BE-AFX reference's formulation).

Both run the shipped architecture (8,004 parameters, receptive field 3 s) with the same weights
on the same batch: forward, L1 loss against a target, backward. dasp_blind's blocks use
:func:`dasp_blind.nn.tcn.dilated_conv1d` (a written-out backward) and a broadcast residual
scale; the peer calls each block's ``nn.Conv1d`` modules, as the reference does. Timed in turn
within each of ``--repeats`` rounds (medians). Run:
``python benchmarks/bench_proxy.py [--batch 4] [--seconds 6] [--repeats 5]``.
"""

from __future__ import annotations

import argparse

import torch
from _timing import interleaved_median_seconds, report
from torch import Tensor

from dasp_blind.data import synthetic_music
from dasp_blind.nn import TCNCompressorProxy

SR = 44100


def reference_gain(proxy: TCNCompressorProxy, x: Tensor, controls: Tensor) -> Tensor:
    """:meth:`TCNCompressorProxy.gain` with each block's torch ``Conv1d`` modules."""
    cond = proxy.gen(controls)
    h = x
    silence = x.new_zeros(x.shape[0], 1, 1)
    for block in proxy.blocks:
        padded = torch.cat([silence.expand(-1, -1, block.crop), h], dim=-1)
        residual = block.residual(padded[..., block.crop:])
        h = block.act(block.film(block.conv(padded), cond)) + residual
        silence = block.constant_response(silence, cond)
    return torch.sigmoid(proxy.head(h))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    proxy = TCNCompressorProxy().train()
    x = torch.stack([synthetic_music(args.seconds, SR, seed=i) for i in range(args.batch)])
    controls = torch.rand(args.batch, proxy.num_controls)
    target = 0.5 * x

    def step(gain) -> None:
        proxy.zero_grad(set_to_none=True)
        loss = torch.nn.functional.l1_loss(x * gain(proxy, x, controls), target)
        loss.backward()

    with torch.no_grad():
        gap = (proxy.gain(x, controls) - reference_gain(proxy, x, controls)).abs().max().item()
    times = interleaved_median_seconds(
        {"dasp_blind": lambda: step(TCNCompressorProxy.gain),
         "torch Conv1d (reference formulation)": lambda: step(reference_gain)}, args.repeats)
    report(f"Compressor-proxy training step, batch {args.batch} x {args.seconds:g} s",
           list(times.items()), "dasp_blind",
           {"batch": args.batch, "clip_seconds": args.seconds, "max_abs_gain_difference": gap})


if __name__ == "__main__":
    main()
