"""Forward + backward of a compressor: dasp_blind vs torchcomp vs dasp-pytorch vs a naive loop.

Gradients flow to the audio and to threshold, ratio, attack and release. The three library
methods are timed in turn within each of `--repeats` rounds (medians printed), so a burst of other
work on the machine slows all of them alike. Run:
``python benchmarks/bench_compressor.py [--repeats 3]``.

* ``dasp_blind``: ``functional.compressor`` (fused numba kernels, reverse-time backward), hard knee.
* ``torchcomp``: ``compexp_gain`` on ``|x|`` with the same hard-knee compressor (the expander
  disabled: threshold −1000 dB), attack/release as one-pole coefficients ``1 − α``; the gain is
  applied to the audio.
* ``dasp-pytorch``: ``functional.compressor`` (one attack filter via frequency sampling; its
  release is ignored).
* ``naive loop``: the branching recursion as a per-sample autograd loop in Python, timed on a
  short excerpt and scaled linearly to the full length.
"""

from __future__ import annotations

import argparse

import torch
from _recursion_limit import limit_samples_per_second
from _timing import interleaved_median_seconds, median_seconds, report

from dasp_blind.functional import compressor, time_constant_to_alpha

SETTINGS = {"threshold_db": -20.0, "ratio": 4.0, "attack_ms": 5.0, "release_ms": 50.0}


def leaf_params(batch: int, device: str) -> dict[str, torch.Tensor]:
    return {k: torch.full((batch,), v, device=device, requires_grad=True)
            for k, v in SETTINGS.items()}


def naive_loop(x: torch.Tensor, sr: float, p: dict[str, torch.Tensor]) -> torch.Tensor:
    """Per-sample autograd implementation of the same compressor (hard knee)."""
    a_att = time_constant_to_alpha(p["attack_ms"], sr)
    a_rel = time_constant_to_alpha(p["release_ms"], sr)
    level = 20 * torch.log10(x.abs().amax(dim=1).clamp_min(1e-4))
    reduction = torch.relu(level - p["threshold_db"][:, None]) * (1 - 1 / p["ratio"][:, None])
    prev = torch.zeros_like(reduction[:, 0])
    out = []
    for n in range(reduction.shape[1]):
        alpha = torch.where(reduction[:, n] > prev, a_att, a_rel)
        prev = alpha * prev + (1 - alpha) * reduction[:, n]
        out.append(prev)
    return x * 10 ** (-torch.stack(out, dim=1) / 20).unsqueeze(1)


def run_case(batch: int, seconds: float, sr: float, repeats: int, naive_seconds: float,
             device: str) -> None:
    from dasp_pytorch.functional import compressor as dasp_compressor
    from torchcomp import compexp_gain

    gen = torch.Generator().manual_seed(0)
    x0 = (torch.randn(batch, 1, int(seconds * sr), generator=gen) * 0.3).to(device)

    def synced(fn):
        """``fn`` followed by waiting for the GPU to finish."""
        def run() -> None:
            fn()
            if device.startswith("cuda"):
                torch.cuda.synchronize()
        return run

    def ours() -> None:
        x, p = x0.clone().requires_grad_(True), leaf_params(batch, device)
        compressor(x, sr, p["threshold_db"], p["ratio"], p["attack_ms"],
                   p["release_ms"]).square().mean().backward()

    def torchcomp() -> None:
        x, p = x0.clone().requires_grad_(True), leaf_params(batch, device)
        at = 1 - time_constant_to_alpha(p["attack_ms"], sr)
        rt = 1 - time_constant_to_alpha(p["release_ms"], sr)
        gain = compexp_gain(x[:, 0].abs().clamp_min(1e-4), p["threshold_db"], p["ratio"],
                            -1000.0, 0.5, at, rt)
        (x * gain.unsqueeze(1)).square().mean().backward()

    def dasp() -> None:
        x, p = x0.clone().requires_grad_(True), leaf_params(batch, device)
        zeros = torch.zeros(batch, device=device)
        dasp_compressor(x, sr, p["threshold_db"], p["ratio"], p["attack_ms"], p["release_ms"],
                        zeros, zeros).square().mean().backward()

    excerpt = x0[..., : int(naive_seconds * sr)]

    def naive() -> None:
        x, p = excerpt.clone().requires_grad_(True), leaf_params(batch, device)
        naive_loop(x, sr, p).square().mean().backward()

    scale = x0.shape[-1] / excerpt.shape[-1]
    names = ("dasp_blind compressor", "torchcomp compexp_gain", "dasp-pytorch compressor")
    medians = interleaved_median_seconds(
        {name: synced(fn) for name, fn in zip(names, (ours, torchcomp, dasp), strict=True)},
        repeats)
    rows = [*medians.items(),
            (f"naive autograd loop (x{scale:.0f} from {naive_seconds:g} s)",
             scale * median_seconds(synced(naive), 1))]
    samples = batch * x0.shape[-1]
    extra = {"batch": batch, "seconds_audio": seconds, "sample_rate": sr, "device": device,
             "msamples_per_s": {n: samples / s / 1e6 for n, s in rows}}
    if device == "cpu":
        limit = limit_samples_per_second(samples, min(batch, torch.get_num_threads()))
        extra["limit_msamples_per_s"] = {k: v / 1e6 for k, v in limit.items()}
    report(f"compressor forward+backward, batch {batch} x {seconds:g} s x {sr:g} Hz mono, "
           f"{device}", rows, rows[0][0], extra)
    for name, secs in rows:
        print(f"{name:<40} {samples / secs / 1e6:>10.1f} M samples/s")
    if device == "cpu":
        print(f"machine limit estimate (_recursion_limit.py): "
              f"{limit['limit'] / 1e6:.1f} M samples/s (recursions alone "
              f"{limit['recursions'] / 1e6:.1f}, memory traffic alone "
              f"{limit['memory'] / 1e6:.1f}, log and exp alone "
              f"{limit['log_and_exp'] / 1e6:.1f}); dasp_blind reaches "
              f"{samples / rows[0][1] / limit['limit']:.0%} of it")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sample-rate", type=float, default=44100.0)
    parser.add_argument("--naive-seconds", type=float, default=0.05)
    parser.add_argument("--cases", default="8x5,16x10", help="batch x seconds, comma separated")
    parser.add_argument("--device", default="cpu", help="where the audio lives: cpu or cuda")
    args = parser.parse_args()
    for case in args.cases.split(","):
        batch, seconds = case.split("x")
        run_case(int(batch), float(seconds), args.sample_rate, args.repeats, args.naive_seconds,
                 args.device)


if __name__ == "__main__":
    main()
