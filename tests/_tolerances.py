"""Tolerances for floating-point results, derived from the rounding error of the operation.

The one place where the test suite decides how far a computed result may be from its reference.
Float32 FFTs, BLAS products, reductions and vectorised transcendental functions round
differently on different processors (SIMD width, FMA, the FFT library's code path), so a fixed
``atol=1e-6`` that holds on one machine fails on another. The bound here scales with what
rounding can actually do:

    tol = SAFETY · eps(dtype) · scale · ops · sqrt(terms) · log2(fft_size) · log2(sum_size)

* ``eps(dtype)``: ``torch.finfo(dtype).eps`` (2^-23 for float32, 2^-52 for float64).
* ``scale``: the peak magnitude of the reference (a tensor, or a number). Rounding errors are
  relative to the size of the values being combined; the peak bounds them for every sample.
* ``ops``: roundings in sequence per value (an IEEE ``+ − × ÷ √`` rounds by at most eps/2; a
  vectorised ``exp``/``log``/``sin``/``tanh`` by 1 to 3.5 units in the last place).
* ``sqrt(terms)``: a recursion or sequential sum over ``terms`` values; independent roundings
  grow like a random walk.
* ``log2(fft_size)``: an FFT of that size has ``log2(fft_size)`` butterfly stages, each adding
  about one rounding relative to the signal's scale (forward and inverse included in SAFETY).
* ``log2(sum_size)``: a reduction (``torch.sum``/``mean``, numpy's ``sum``) over ``sum_size``
  values; these sum pairwise (a tree of ``log2(sum_size)`` levels) on every device, and the error
  of a pairwise sum is at most ``log2(n) · eps · Σ|x|``.
* ``SAFETY = 4``: covers the forward+inverse FFT pair, 1–3.5 ulp transcendental functions and the
  tails of the error distribution. The largest error measured in the suite is 0.41 of its
  tolerance (the float32 FFT EQ, dominated by the deterministic cast of its coefficients to
  float32), the others at most 0.14; the same within 3 % with ATen and MKL forced onto other
  code paths (``ATEN_CPU_CAPABILITY=default``, ``MKL_CBWR=COMPATIBLE`` or ``AVX2``).

Two results that are each rounded (say a float32 batch and a float32 single call) may differ by
the sum of their errors: compare each with one float64 reference where possible, or double the
bound. A number as ``reference`` sets the scale directly (``rounding_tol(1.0)`` is relative).
Where an algorithm also approximates (an FFT filter's truncated tail, a resampler, a solver's
stopping rule), its test states that accuracy separately; this bound is for rounding only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from dasp_blind.functional.dynamics import LEVEL_FLOOR

SAFETY = 4.0


def peak(reference: torch.Tensor | np.ndarray | float) -> float:
    """Largest magnitude of ``reference`` (a tensor, an array or a number)."""
    if isinstance(reference, torch.Tensor):
        return float(reference.detach().abs().max()) if reference.numel() else 0.0
    return float(np.max(np.abs(reference))) if np.size(reference) else 0.0


def rounding_tol(reference: torch.Tensor | np.ndarray | float, *,
                 dtype: torch.dtype = torch.float32, ops: float = 1, terms: int = 1,
                 fft_size: int | None = None, sum_size: int | None = None) -> float:
    """Absolute bound on ``|computed − exact|`` for a result computed in ``dtype``.

    Args:
        reference: the exact (or float64) result, or its scale as a number.
        dtype: the precision the result was computed in.
        ops: roundings in sequence per value.
        terms: length of the recursion or sequential sum each value accumulates.
        fft_size: size of the FFT the result went through.
        sum_size: number of values a pairwise reduction (``torch.sum``, ``mean``) adds up.

    Returns:
        ``SAFETY · eps(dtype) · peak(reference) · ops · sqrt(terms) · log2(fft_size)
        · log2(sum_size)`` (a log2 factor only where its size is given).
    """
    growth = ops * math.sqrt(terms)
    for size in (fft_size, sum_size):
        if size is not None:
            growth *= max(1.0, math.log2(size))
    return SAFETY * torch.finfo(dtype).eps * peak(reference) * growth


def assert_within_rounding(actual: torch.Tensor | np.ndarray, expected: torch.Tensor | np.ndarray,
                           **growth: Any) -> None:
    """Assert ``|actual − expected| <= rounding_tol(expected, **growth)`` elementwise.

    Both sides are compared in float64 (so a float32 result can meet a float64 reference).
    """
    actual, expected = (torch.as_tensor(v).detach().to(torch.float64) for v in (actual, expected))
    torch.testing.assert_close(actual, expected, rtol=0.0,
                               atol=rounding_tol(expected, **growth))


def assert_items_match_single_calls(fn: Callable[..., torch.Tensor], x: torch.Tensor,
                                    *batched: torch.Tensor, **growth: Any) -> torch.Tensor:
    """Assert that ``fn`` on a batch gives, for every item, what ``fn`` gives on that item alone.

    Item ``i`` alone is ``fn(x[i:i+1], *(b[i:i+1] for b in batched))``. Both sides are computed
    in ``x.dtype`` and may take different code paths (batched FFT or BLAS kernels), so each may
    carry its own rounding: they must agree within twice ``rounding_tol(single, **growth)``.

    Args:
        fn: ``fn(x, *batched)`` -> ``(batch, ...)``.
        x: input ``(batch, ...)``.
        batched: per-item arguments, batch first.
        growth: ``dtype`` (default ``x.dtype``), ``ops``, ``terms``, ``fft_size``,
            ``sum_size`` of :func:`rounding_tol`.

    Returns:
        ``fn(x, *batched)``.
    """
    y = fn(x, *batched)
    for i in range(x.shape[0]):
        single = fn(x[i:i + 1], *(b[i:i + 1] for b in batched))
        torch.testing.assert_close(y[i:i + 1], single, rtol=0.0, atol=2 * rounding_tol(
            single, **{"dtype": x.dtype, **growth}), msg=lambda m, i=i: f"item {i}: {m}")
    return y


#: Roundings (in eps, relative) of the compressor's gain ``exp(ln10/20 · (makeup − y_L))``: its
#: levels in dB, down to the detector's −80 dB floor, are rounded relative to their size, so the
#: gain moves by up to ``ln10/20 · 80 ≈ 9.2`` eps. Pass as ``ops`` for compressor outputs.
COMPRESSOR_GAIN_OPS = math.log(10) / 20 * -20 * math.log10(LEVEL_FLOOR)

#: Rounding growth of the TCN compressor proxy, which runs in its float32 weights: five blocks,
#: each summing 8 channels × 13 taps. Pass as ``**PROXY_GROWTH``.
PROXY_GROWTH = dict(ops=5, terms=8 * 13)

#: Roundings per sample of the float32 ``sox_overdrive``, relative to its peak: ``g·x + c`` and
#: ``d − d³/3`` (about 3), doubled at most by the DC blocker (its impulse response sums to 2 in
#: magnitude), the dry/wet mix, and the float32 output of the ``sox`` program itself.
SOX_OVERDRIVE_OPS = 8
