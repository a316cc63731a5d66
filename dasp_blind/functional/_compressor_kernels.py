"""Compiled (numba) kernels of the feed-forward log-domain compressor.

One forward pass (static curve and ballistics) and one reverse-time backward pass (ballistics and
static-curve derivatives, fused) per batch item; the per-channel work (level, gain, their
derivatives) runs vectorised in torch around them.

Batch items are split over Python threads running the ``nogil`` kernels
(:func:`run_over_batch`), not over numba's ``parallel=True`` layers: its OpenMP layer terminates
DataLoader workers forked after the parent used it, and its fork-safe "workqueue" layer was
slower than one thread.

Notation (per batch item, sample ``n``): ``x_G`` level in dB, ``d = x_G − T``, ``x_L`` gain
reduction of the static curve, ``y_L`` smoothed gain reduction, ``α[n]`` the attack or release
coefficient chosen at ``n``. The forward kernel gets the level from a vectorised torch logarithm
and stores ``d`` and ``y_L``; the gain is a vectorised torch exponential. The backward pass needs
no transcendental function.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from numba import njit

LN10_OVER_20 = math.log(10.0) / 20.0


@njit(cache=True, nogil=True, fastmath=True)
def compressor_forward(level_db, threshold, ratio, knee, alpha_attack, alpha_release, d_saved,
                       y_l, attack):
    """Static curve and branching ballistics of every item.

    ``level_db`` (B, T) is the detector level ``x_G``; fills ``d_saved`` (``d = x_G − T``),
    ``y_l`` and the attack mask ``attack`` (each (B, T)). The logarithm before and the gain after
    run vectorised in torch. Written without data-dependent branches (selects only): on music and
    noise the branch choices are unpredictable.
    """
    batch, length = level_db.shape
    for b in range(batch):
        slope = 1.0 - 1.0 / ratio[b]
        w = knee[b]
        half_w = 0.5 * w
        knee_scale = slope * 0.5 / w if w > 0.0 else 0.0  # x_L = knee_scale·(d + W/2)² in the knee
        thr = threshold[b]
        a_att = alpha_attack[b]
        a_rel = alpha_release[b]
        prev = 0.0
        for n in range(length):
            d = level_db[b, n] - thr
            u = max(d + half_w, 0.0)
            x_l = d * slope if d > half_w else knee_scale * u * u
            d_saved[b, n] = d
            is_attack = x_l > prev
            attack[b, n] = is_attack
            a = a_att if is_attack else a_rel
            prev = a * prev + (1.0 - a) * x_l
            y_l[b, n] = prev


@njit(cache=True, nogil=True, fastmath=True)
def compressor_backward(dl_dlog_gain, ratio, knee, alpha_attack, alpha_release, d_saved, y_l,
                        attack, dl_dlevel, grad_params):
    """Reverse-time adjoint of :func:`compressor_forward`.

    ``dl_dlog_gain`` (B, T) is the loss gradient with respect to the natural logarithm of the
    gain, so ``dL/dy_L = −ln(10)/20 · dl_dlog_gain``. Fills ``dl_dlevel`` (B, T) = dL/dx_G and
    ``grad_params`` (B, 5) = d/d(threshold, ratio, knee, alpha_attack, alpha_release). With the
    attack/release choices fixed, the smoother's adjoint is the same time-varying one-pole run
    backwards: ``λ[n] = dL/dy_L[n] + α[n+1]·λ[n+1]``, ``dL/dx_L[n] = (1 − α[n])·λ[n]``,
    ``dL/dα[n] = λ[n]·(y_L[n−1] − x_L[n])``.
    """
    batch, length = dl_dlog_gain.shape
    for b in range(batch):
        r = ratio[b]
        slope = 1.0 - 1.0 / r
        inv_r2 = 1.0 / (r * r)
        w = knee[b]
        half_w = 0.5 * w
        inv_w = 1.0 / w if w > 0.0 else 0.0
        a_att = alpha_attack[b]
        a_rel = alpha_release[b]
        carry = 0.0  # α[n+1]·λ[n+1]
        g_thr = 0.0
        g_ratio = 0.0
        g_knee = 0.0
        g_att = 0.0
        g_rel = 0.0
        for n in range(length - 1, -1, -1):
            lam = carry - LN10_OVER_20 * dl_dlog_gain[b, n]
            att = 1.0 if attack[b, n] else 0.0
            a = a_rel + att * (a_att - a_rel)
            prev = y_l[b, n - 1] if n > 0 else 0.0
            d = d_saved[b, n]
            u = d + half_w
            above = 1.0 if d > half_w else 0.0
            in_knee = (1.0 if u > 0.0 else 0.0) - above
            shape = above * d + in_knee * (0.5 * u * u * inv_w)  # x_L / (1 − 1/R)
            g_alpha = lam * (prev - slope * shape)
            g_att += att * g_alpha
            g_rel += g_alpha - att * g_alpha
            g_xl = (1.0 - a) * lam
            carry = a * lam
            g_d = g_xl * slope * (above + in_knee * u * inv_w)
            g_ratio += g_xl * shape * inv_r2
            g_knee += in_knee * (g_xl * slope * 0.5 * u * inv_w * (1.0 - u * inv_w))
            g_thr -= g_d
            dl_dlevel[b, n] = g_d
        grad_params[b, 0] = g_thr
        grad_params[b, 1] = g_ratio
        grad_params[b, 2] = g_knee
        grad_params[b, 3] = g_att
        grad_params[b, 4] = g_rel


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
