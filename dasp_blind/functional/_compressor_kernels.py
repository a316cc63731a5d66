"""Compiled (numba) kernels of the feed-forward log-domain compressor.

One forward pass (static curve and ballistics) and one reverse-time backward pass (gain, ballistics,
static curve and detector derivatives, fused) per batch item.

Batch items are split over Python threads running the ``nogil`` kernels
(:func:`run_over_batch`), not over numba's ``parallel=True`` layers: its OpenMP layer terminates
DataLoader workers forked after the parent used it, and its fork-safe "workqueue" layer was
slower than one thread.

Notation (per batch item, sample ``n``): ``x_G`` level in dB, ``d = x_G − T``, ``x_L`` gain
reduction of the static curve, ``y_L`` smoothed gain reduction, ``α[n]`` the attack or release
coefficient chosen at ``n``. The forward kernel gets the level from a vectorised torch logarithm
and stores ``d`` (or :data:`BELOW_KNEE` under the knee) and ``y_L``; the gain is a vectorised
torch exponential. The backward pass needs no transcendental function.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from numba import njit

LN10_OVER_20 = math.log(10.0) / 20.0
#: Marker stored for ``d`` where the level is below the knee (the static curve is flat there).
BELOW_KNEE = -1e30


@njit(inline="always", cache=True)
def _static_gain_reduction(d, slope, knee):
    """``x_L`` for ``d = x_G − T``; ``slope = 1 − 1/R``; the knee branch only when ``knee > 0``."""
    if 2.0 * d > knee:
        return d * slope
    if 2.0 * d < -knee or knee <= 0.0:
        return 0.0
    u = d + 0.5 * knee
    return slope * u * u / (2.0 * knee)


@njit(cache=True, nogil=True)
def compressor_forward(level_db, threshold, ratio, knee, alpha_attack, alpha_release, d_saved,
                       y_l, attack):
    """Static curve and branching ballistics of every item.

    ``level_db`` (B, T) is the detector level ``x_G``; fills ``d_saved``, ``y_l`` and the attack
    mask ``attack`` (each (B, T)). The logarithm before and the gain after run vectorised in
    torch.
    """
    batch, length = level_db.shape
    for b in range(batch):
        slope = 1.0 - 1.0 / ratio[b]
        w = knee[b]
        prev = 0.0
        for n in range(length):
            d = level_db[b, n] - threshold[b]
            if 2.0 * d < -w:
                d = BELOW_KNEE
                x_l = 0.0
            else:
                x_l = _static_gain_reduction(d, slope, w)
            d_saved[b, n] = d
            if x_l > prev:
                a = alpha_attack[b]
                attack[b, n] = True
            else:
                a = alpha_release[b]
                attack[b, n] = False
            prev = a * prev + (1.0 - a) * x_l
            y_l[b, n] = prev


@njit(cache=True, nogil=True, fastmath=True)
def compressor_backward(grad_y, x, ratio, knee, alpha_attack, alpha_release, d_saved, y_l,
                        gain_saved, attack, grad_x, grad_params):
    """Reverse-time adjoint of :func:`compressor_forward`.

    Fills ``grad_x`` (B, C, T) and ``grad_params`` (B, 6) = d/d(threshold, ratio, knee, makeup,
    alpha_attack, alpha_release). With the attack/release choices fixed, the smoother's adjoint is
    the same time-varying one-pole run backwards: ``λ[n] = g[n] + α[n+1]·λ[n+1]``,
    ``dL/dx_L[n] = (1 − α[n])·λ[n]``, ``dL/dα[n] = λ[n]·(y_L[n−1] − x_L[n])``.
    """
    batch, channels, length = x.shape
    for b in range(batch):
        r = ratio[b]
        slope = 1.0 - 1.0 / r
        inv_r2 = 1.0 / (r * r)
        w = knee[b]
        inv_w = 1.0 / w if w > 0.0 else 0.0
        carry = 0.0  # α[n+1]·λ[n+1]
        g_thr = 0.0
        g_ratio = 0.0
        g_knee = 0.0
        g_makeup = 0.0
        g_att = 0.0
        g_rel = 0.0
        for n in range(length - 1, -1, -1):
            gain = gain_saved[b, n]
            dl_dgain = 0.0
            for c in range(channels):
                g = grad_y[b, c, n]
                dl_dgain += g * x[b, c, n]
                grad_x[b, c, n] = g * gain
            dl_dlog_gain = dl_dgain * gain * LN10_OVER_20
            g_makeup += dl_dlog_gain
            lam = -dl_dlog_gain + carry
            is_attack = attack[b, n]
            a = alpha_attack[b] if is_attack else alpha_release[b]
            prev = y_l[b, n - 1] if n > 0 else 0.0
            d = d_saved[b, n]
            x_l = _static_gain_reduction(d, slope, w)
            g_alpha = lam * (prev - x_l)
            if is_attack:
                g_att += g_alpha
            else:
                g_rel += g_alpha
            g_xl = (1.0 - a) * lam
            carry = a * lam
            # static curve
            if 2.0 * d > w:
                g_d = g_xl * slope
                g_ratio += g_xl * d * inv_r2
            elif 2.0 * d < -w or w <= 0.0:
                continue
            else:
                u = d + 0.5 * w
                g_d = g_xl * slope * u * inv_w
                g_ratio += 0.5 * g_xl * u * u * inv_w * inv_r2
                g_knee += 0.5 * g_xl * slope * u * inv_w * (1.0 - u * inv_w)
            g_thr -= g_d
            # d = 20·log10(max_c |x_c|) − T: the gradient goes to the loudest channel
            arg = 0
            peak = abs(x[b, 0, n])
            for c in range(1, channels):
                v = abs(x[b, c, n])
                if v > peak:
                    peak = v
                    arg = c
            sign = 1.0 if x[b, arg, n] > 0 else -1.0
            grad_x[b, arg, n] += g_d * sign / (LN10_OVER_20 * peak)
        grad_params[b, 0] = g_thr
        grad_params[b, 1] = g_ratio
        grad_params[b, 2] = g_knee
        grad_params[b, 3] = g_makeup
        grad_params[b, 4] = g_att
        grad_params[b, 5] = g_rel



_pool: ThreadPoolExecutor | None = None
_pool_pid: int | None = None


def _executor(workers: int) -> ThreadPoolExecutor:
    """A thread pool of this process (a forked child makes its own)."""
    global _pool, _pool_pid
    if _pool is None or _pool_pid != os.getpid() or _pool._max_workers < workers:
        _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dasp_blind_comp")
        _pool_pid = os.getpid()
    return _pool


def run_over_batch(kernel, *args) -> None:
    """Call ``kernel(*args)`` on slices of the batch in parallel threads.

    Every array argument has the batch as its first axis and is sliced (views, so outputs land in
    the full arrays); scalars are passed as they are. Uses up to ``torch.get_num_threads()``
    threads, one when the batch has a single item.
    """
    batch = next(a.shape[0] for a in args if isinstance(a, np.ndarray))
    workers = min(batch, torch.get_num_threads())
    if workers <= 1:
        kernel(*args)
        return
    bounds = np.linspace(0, batch, workers + 1).astype(int)
    chunks = [[a[lo:hi] if isinstance(a, np.ndarray) else a for a in args]
              for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    for future in [_executor(workers).submit(kernel, *chunk) for chunk in chunks]:
        future.result()
