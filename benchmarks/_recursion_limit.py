"""A lower bound on the time of any CPU implementation of the compressor's forward + backward.

Two things no implementation of the branching compressor can avoid on this machine:

* **the recursions**: the smoother (a compare, a select and a multiply-add per sample, each
  waiting for the previous sample) forward, and its adjoint (an add and a multiply) backward.
  They are timed alone, four items interleaved per thread (the best the pipeline allows), with
  the library's own minimal loops ``_ballistics_block`` and ``_adjoint_block`` on cache-resident
  buffers — no static curve, no gain, no memory traffic;
* **the memory traffic**: the audio is read and the output written forward, the output gradient
  read and the input gradient written backward (16 bytes per float32 sample), at the bandwidth
  of a ``copy_`` of that size measured here;
* **one logarithm and one exponential per sample** (the level in dB and the gain), timed as
  torch's vectorised ``log10`` and ``exp`` on all threads.

The bound is the largest of the three times (they can overlap, so it is optimistic).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from dasp_blind.functional import _compressor_kernels as kernels

#: Bytes per float32 sample every implementation moves: read x, write y, read dL/dy, write dL/dx.
MIN_BYTES_PER_SAMPLE = 16


def recursion_seconds_per_sample(repeats: int = 200) -> float:
    """Seconds per sample and thread of the forward and backward recursions, 4 lanes interleaved."""
    rng = np.random.default_rng(0)
    shape = (kernels.LANES, kernels.BLOCK)
    x_l = 10 * rng.random(shape)
    y, lam = np.empty(shape), np.zeros(shape)
    attack = np.empty(shape, dtype=np.bool_)
    alpha = np.full(shape, 0.99)
    a_att, a_rel = np.full(kernels.LANES, 0.99), np.full(kernels.LANES, 0.999)
    state, carry = np.zeros(kernels.LANES), np.zeros(kernels.LANES)

    def both() -> None:
        kernels._ballistics_block(x_l, y, attack, a_att, a_rel, state)
        kernels._adjoint_block(lam, alpha, carry)

    both()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            both()
        best = min(best, time.perf_counter() - start)
    return best / (repeats * x_l.size)


def copy_bytes_per_second(num_samples: int) -> float:
    """Bandwidth of a float32 ``copy_`` of ``num_samples`` samples (bytes read + written / s)."""
    src = torch.ones(num_samples)
    dst = torch.empty_like(src)
    dst.copy_(src)
    best = float("inf")
    for _ in range(7):
        start = time.perf_counter()
        dst.copy_(src)
        best = min(best, time.perf_counter() - start)
    return 8 * num_samples / best


def transcendental_seconds(num_samples: int) -> float:
    """Seconds of one float32 ``log10`` and one ``exp`` over ``num_samples`` samples."""
    x = torch.rand(num_samples, generator=torch.Generator().manual_seed(0)) + 0.5
    out = torch.empty_like(x)
    best = float("inf")
    for _ in range(7):
        start = time.perf_counter()
        torch.log10(x, out=out)
        torch.exp(x, out=out)
        best = min(best, time.perf_counter() - start)
    return best


def limit_samples_per_second(num_samples: int, threads: int) -> dict[str, float]:
    """The lower bound for ``num_samples`` samples on ``threads`` threads, in samples/s."""
    rates = {"recursions": threads / recursion_seconds_per_sample(),
             "memory": copy_bytes_per_second(num_samples) / MIN_BYTES_PER_SAMPLE,
             "log_and_exp": num_samples / transcendental_seconds(num_samples)}
    return {**rates, "limit": min(rates.values())}
