"""The blind-estimation mel loss with its backward: dasp_blind vs auraloss ``MelSTFTLoss``.

Both compute the BE-AFX loss (FFT 4096, hop 1024, 128 mel bands, no spectral convergence) on
RMS-normalised signals; the gradient flows to the estimate only, as in training. Timed in turn
within each of ``--repeats`` rounds (medians). Run:
``python benchmarks/bench_mel_loss.py [--batch 16] [--seconds 10] [--repeats 5]``.
"""

from __future__ import annotations

import argparse

import auraloss
import torch
from _timing import interleaved_median_seconds, report

from dasp_blind.data import synthetic_music
from dasp_blind.estimation import mel_loss, normalize_rms
from dasp_blind.estimation.losses import MEL_BANDS, MEL_FFT, MEL_HOP

SR = 44100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    wet = torch.stack([synthetic_music(args.seconds, SR, seed=i) for i in range(args.batch)])
    peer = auraloss.freq.MelSTFTLoss(SR, fft_size=MEL_FFT, hop_size=MEL_HOP, win_length=MEL_FFT,
                                     n_mels=MEL_BANDS, w_sc=0.0)

    def ours() -> None:
        estimate = wet.clone().mul_(0.9).requires_grad_(True)
        mel_loss(estimate, wet, SR).backward()

    def theirs() -> None:
        estimate = wet.clone().mul_(0.9).requires_grad_(True)
        peer(normalize_rms(estimate), normalize_rms(wet)).backward()

    names = ("dasp_blind mel_loss", "auraloss MelSTFTLoss")
    medians = interleaved_median_seconds(dict(zip(names, (ours, theirs), strict=True)),
                                         args.repeats)
    report(f"mel loss forward + backward, batch {args.batch} x {args.seconds:g} s x {SR} Hz",
           list(medians.items()), names[0], {"batch": args.batch, "seconds": args.seconds})


if __name__ == "__main__":
    main()
