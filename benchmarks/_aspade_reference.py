"""A-SPADE one block at a time in numpy: a direct transcription of the declipping survey's
MATLAB formulation (``spade_segmentation.m``, ``aspade.m``, ``hard_thresholding.m``,
``proj_time.m``; Záviška et al., 2021), the peer of ``bench_aspade.py``.

Each block is processed in a Python loop: full complex DFT of the block zero-padded to
``redundancy·w`` (unitary), hard thresholding by a stable sort of the half spectrum (DC halved
for the ranking) mirrored to its conjugates, real part of the inverse DFT truncated to ``w``,
projection onto the consistent set, overlap-add of ``x̂·g_syn``. Written from the algorithm's
description; only the shortcut for blocks without a clipped sample is added (their iterate is
always the windowed block, so their result is the same without iterating).
"""

from __future__ import annotations

import math

import numpy as np


def hard_threshold(coefficients: np.ndarray, k: int) -> np.ndarray:
    """Keep the ``k`` largest coefficients of the half spectrum (DC halved for the ranking) and
    their conjugates; the full spectrum, length ``len(coefficients)`` (even)."""
    size = len(coefficients)
    half = coefficients[:size // 2 + 1].copy()
    half[0] /= 2
    kept = np.zeros_like(half)
    if k < len(half):
        order = np.argsort(-np.abs(half), kind="stable")[:k]
        kept[order] = half[order]
    else:
        kept = half
    kept[0] *= 2
    return np.concatenate([kept, np.conj(kept[1:-1][::-1])])


def aspade_block(block: np.ndarray, high: np.ndarray, low: np.ndarray, redundancy: int, s: int,
                 r: int, eps: float, max_iterations: int) -> np.ndarray:
    """A-SPADE on one windowed block with its masks of clipped samples."""
    w = len(block)

    def analysis(x: np.ndarray) -> np.ndarray:
        return np.fft.fft(np.concatenate([x, np.zeros((redundancy - 1) * w)]), norm="ortho")

    def synthesis(c: np.ndarray) -> np.ndarray:
        return np.real(np.fft.ifft(c, norm="ortho"))[:w]

    reliable = ~(high | low)
    x_hat = block.copy()
    z = analysis(x_hat)
    u = np.zeros_like(z)
    k, count, best_obj, best = s, 1, math.inf, x_hat
    while count <= max_iterations:
        z_bar = hard_threshold(z + u, k)
        obj = np.linalg.norm(z - z_bar)
        if obj <= best_obj:
            best, best_obj = x_hat, obj
        if obj <= eps:
            break
        x = synthesis(z_bar - u)
        x_hat = x.copy()
        x_hat[reliable] = block[reliable]
        x_hat[high] = np.maximum(x[high], block[high])
        x_hat[low] = np.minimum(x[low], block[low])
        z = analysis(x_hat)
        u = u + z - z_bar
        count += 1
        if count % r == 0:
            k += s
    return best


def aspade_reference(y: np.ndarray, high: np.ndarray, low: np.ndarray, w: int,
                     redundancy: int = 2, s: int = 1, r: int = 2, eps: float = 0.1,
                     max_iterations: int | None = None) -> np.ndarray:
    """Declip one channel ``y`` ``(samples,)`` whose samples ``high`` / ``low`` (bool) were
    clipped at the positive / negative level; window ``w`` (a multiple of 4), hop ``w/4``."""
    if max_iterations is None:
        max_iterations = math.ceil((w * redundancy // 2 + 1) * r / s)
    n, a = len(y), w // 4
    length = math.ceil(n / a) * a + (math.ceil(w / a) - 1) * a
    pad = length - n
    y = np.concatenate([y, np.zeros(pad)])
    high = np.concatenate([high, np.zeros(pad, dtype=bool)])
    low = np.concatenate([low, np.zeros(pad, dtype=bool)])
    # peak-normalised Hann centred on the block's middle, and its canonical dual for hop a
    g = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(w) / w)
    g = g / g.max()
    g_syn = np.empty(w)
    for t in range(w):
        g_syn[t] = g[t] / sum(g[(t + m * a) % w] ** 2 for m in range(w // a))
    out = np.zeros(length)
    for block_index in range(length // a):
        idx = (block_index * a - w // 2 + np.arange(w)) % length
        block = y[idx] * g
        if high[idx].any() or low[idx].any():
            block = aspade_block(block, high[idx], low[idx], redundancy, s, r, eps,
                                 max_iterations)
        out[idx] += block * g_syn
    return out[:n]
