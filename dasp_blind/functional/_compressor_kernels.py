"""Compiled (numba) kernels of the feed-forward log-domain compressor.

One forward kernel (static curve, ballistics, log-gain) and one reverse-time backward kernel
(the adjoint of the ballistics, of the static curve and of ``y = x·gain``, with the level's
gradient to the loudest detector channel). Around them torch runs only three vectorised passes:
``log2`` of the peak, ``exp2`` of the log-gain and ``x·gain`` (the cheapest vectorised
logarithm and exponential in torch).

How the kernels are fast:

* **Only the recursion is sequential.** Per block of ``BLOCK`` samples the elementwise work
  (static curve, log-gain, ``grad_y·gain``, ``Σ_c grad_y·x``, the static curve's derivatives and
  the level's gradient) runs in loops LLVM vectorises, over 1-D views, with IEEE division
  (``error_model="numpy"``: Python's zero-division check would keep loops scalar).
* **Recursions of ``LANES`` items run interleaved.** One item's smoother is latency-bound (a
  compare, a select and a multiply-add per sample, each waiting for the previous sample); four
  independent items in one loop fill the pipeline.
* Batch items are split over torch's own OpenMP team (:mod:`._openmp`), which every torch
  operation uses and whose workers are still spinning from the last one; Python threads running
  the ``nogil`` kernels are the fallback where torch's backend is not libgomp
  (:func:`run_over_batch`). Not numba's ``parallel=True`` layers: its OpenMP layer terminates
  DataLoader workers forked after the parent used it, and its fork-safe "workqueue" layer was
  slower than one thread.

Notation (per batch item, sample ``n``): ``x_G`` level in dB, ``d = x_G − T``, ``x_L`` gain
reduction of the static curve, ``y_L`` smoothed gain reduction, ``α[n]`` the attack or release
coefficient chosen at ``n``.
"""

from __future__ import annotations

import functools
import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from numba import cfunc, njit, types

from . import _openmp
from .units import LN10_OVER_20

#: ``log2(10)/20``: the forward kernel returns the gain as a power of two.
LOG2_10_OVER_20 = math.log2(10.0) / 20.0

#: Level floor of the detector: ``x_G = 20·log10(max(|x|, LEVEL_FLOOR))`` (−80 dB, as the
#: reference).
LEVEL_FLOOR = 1e-4
LOG2_LEVEL_FLOOR = math.log2(LEVEL_FLOOR)
#: ``20·log10(2)``: dB per octave of amplitude.
DB_PER_LOG2 = 20.0 * math.log10(2.0)


#: Fast-math flags that let LLVM reassociate (vectorised sums) and fuse multiply-adds, without
#: "no NaNs / no infinities": silence reaches the kernels as ``log2(0) = −inf``.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
#: Compiled, GIL-free, with IEEE division (no ZeroDivisionError check, which keeps loops from
#: being vectorised).
_kernel = njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")

#: Samples per block: the vectorised passes and the recursion of a block share small buffers
#: that stay in the L1/L2 cache.
BLOCK = 2048
#: Batch items whose recursions run interleaved in one loop (their dependency chains overlap in
#: the CPU's pipeline); a group with fewer items runs idle lanes on zeros.
LANES = 4


@njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy", inline="always")
def _ballistics_step(x_l, prev, alpha_attack, alpha_release):
    """One step of the branching one-pole smoother, ``α·y + (1 − α)·x_L`` (a select, not a
    branch), written as ``x_L + α·(y − x_L)``: the chain from one sample to the next is then a
    compare, a select and one multiply-add."""
    a = alpha_attack if x_l > prev else alpha_release
    return x_l + a * (prev - x_l)


@njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy", inline="always")
def _level_db(log2_peak):
    """The detector level ``x_G`` in dB from ``log2`` of the peak, with the level floor."""
    return DB_PER_LOG2 * max(log2_peak, LOG2_LEVEL_FLOOR)


@_kernel
def _ballistics_block(x_l, y, attack, alpha_attack, alpha_release, state):
    """The smoother over one block of ``LANES`` interleaved items.

    ``x_l``, ``y`` (LANES, size) and ``attack`` (bool, LANES, size) are buffers; ``state``
    (LANES,) holds ``y_L`` of the previous block's last sample and is updated. The four
    recursions are written out so that their states live in registers.
    """
    p0, p1, p2, p3 = state[0], state[1], state[2], state[3]
    for i in range(x_l.shape[1]):
        x0, x1, x2, x3 = x_l[0, i], x_l[1, i], x_l[2, i], x_l[3, i]
        attack[0, i] = x0 > p0
        attack[1, i] = x1 > p1
        attack[2, i] = x2 > p2
        attack[3, i] = x3 > p3
        p0 = _ballistics_step(x0, p0, alpha_attack[0], alpha_release[0])
        p1 = _ballistics_step(x1, p1, alpha_attack[1], alpha_release[1])
        p2 = _ballistics_step(x2, p2, alpha_attack[2], alpha_release[2])
        p3 = _ballistics_step(x3, p3, alpha_attack[3], alpha_release[3])
        y[0, i] = p0
        y[1, i] = p1
        y[2, i] = p2
        y[3, i] = p3
    state[0], state[1], state[2], state[3] = p0, p1, p2, p3


@_kernel
def _adjoint_block(lam, alpha, carry):
    """``λ[n] = v[n] + α[n+1]·λ[n+1]`` backwards over one block of ``LANES`` items, in place.

    ``lam`` (LANES, size) holds ``v = dL/dy_L`` on entry and ``λ`` on exit; ``alpha`` (LANES,
    size) the coefficients chosen in the forward pass; ``carry`` (LANES,) ``α·λ`` of the sample
    after the block, updated.
    """
    c0, c1, c2, c3 = carry[0], carry[1], carry[2], carry[3]
    for i in range(lam.shape[1] - 1, -1, -1):
        c0 += lam[0, i]
        c1 += lam[1, i]
        c2 += lam[2, i]
        c3 += lam[3, i]
        lam[0, i] = c0
        lam[1, i] = c1
        lam[2, i] = c2
        lam[3, i] = c3
        c0 *= alpha[0, i]
        c1 *= alpha[1, i]
        c2 *= alpha[2, i]
        c3 *= alpha[3, i]
    carry[0], carry[1], carry[2], carry[3] = c0, c1, c2, c3


@_kernel
def compressor_forward(log2_peak, threshold, ratio, knee, makeup, alpha_attack, alpha_release,
                       log2_gain, y_l, attack):
    """Static curve, branching ballistics and log-gain of every item.

    ``log2_peak`` (B, T) is ``log2`` of the detector's peak magnitude (``−inf`` for silence);
    the level is ``x_G = 20·log10(2)·max(log2_peak, log2(1e-4))``. Fills ``log2_gain`` =
    ``log2(10)/20·(M − y_L)`` (the caller raises 2 to it in place), ``y_l`` and the attack
    mask ``attack`` (each (B, T)). The backward kernel recomputes ``d = x_G − T`` from
    ``log2_peak`` (saving ``d`` would cost a pass over memory each way).

    Items go in groups of ``LANES`` and time in blocks: per block the static curve runs as a
    vectorised loop, then the recursions of the group — the only sequential part — run
    interleaved (:func:`_ballistics_block`), then the log-gain is vectorised again. The
    elementwise loops index 1-D views so that LLVM vectorises them.
    """
    batch, length = log2_peak.shape
    x_l = np.zeros((LANES, BLOCK))
    y = np.empty((LANES, BLOCK))
    att = np.empty((LANES, BLOCK), dtype=np.bool_)
    a_att = np.zeros(LANES)
    a_rel = np.zeros(LANES)
    state = np.zeros(LANES)
    for first in range(0, batch, LANES):
        items = min(LANES, batch - first)
        x_l[:] = 0.0
        state[:] = 0.0
        for j in range(items):
            a_att[j] = alpha_attack[first + j]
            a_rel[j] = alpha_release[first + j]
        for lo in range(0, length, BLOCK):
            hi = min(lo + BLOCK, length)
            size = hi - lo
            for j in range(items):
                b = first + j
                slope = 1.0 - 1.0 / ratio[b]
                half_w = 0.5 * knee[b]
                knee_scale = slope * 0.5 / knee[b] if knee[b] > 0.0 else 0.0
                thr = threshold[b]
                level, x_lj = log2_peak[b, lo:hi], x_l[j]
                for i in range(size):
                    d = _level_db(level[i]) - thr
                    u = max(d + half_w, 0.0)
                    x_lj[i] = d * slope if d > half_w else knee_scale * u * u
            _ballistics_block(x_l[:, :size], y[:, :size], att[:, :size], a_att, a_rel, state)
            for j in range(items):
                b = first + j
                gain_offset = LOG2_10_OVER_20 * makeup[b]
                yj, attj = y[j], att[j]
                y_out, att_out, gain_out = y_l[b, lo:hi], attack[b, lo:hi], log2_gain[b, lo:hi]
                for i in range(size):
                    y_out[i] = yj[i]
                    att_out[i] = attj[i]
                    gain_out[i] = gain_offset - LOG2_10_OVER_20 * yj[i]


@_kernel
def _adjoint_inputs(grad_y, x, gain, attack, alpha_attack, alpha_release, grad_x, lam, alpha):
    """Elementwise part before the adjoint recursion, for one item and block.

    ``grad_y``, ``x``, ``grad_x`` (C, size); ``gain``, ``attack`` (size,). Writes
    ``grad_x = grad_y·gain``, ``lam = dL/dy_L = −ln(10)/20·gain·Σ_c grad_y·x`` and ``alpha``
    (the coefficient chosen at each sample); returns ``Σ_n ∂L/∂ln(gain)``.
    """
    size = lam.shape[0]
    for i in range(size):
        alpha[i] = alpha_attack if attack[i] else alpha_release
    total = 0.0
    if x.shape[0] == 1:  # mono: one fused pass
        gy, xc, gx = grad_y[0], x[0], grad_x[0]
        for i in range(size):
            g_log_gain = gy[i] * xc[i] * gain[i]
            total += g_log_gain
            lam[i] = -LN10_OVER_20 * g_log_gain
            gx[i] = gy[i] * gain[i]
        return total
    for i in range(size):
        lam[i] = 0.0
    for c in range(x.shape[0]):
        gy, xc, gx = grad_y[c], x[c], grad_x[c]
        for i in range(size):
            lam[i] += gy[i] * xc[i]
        for i in range(size):
            gx[i] = gy[i] * gain[i]
    for i in range(size):
        g_log_gain = lam[i] * gain[i]
        total += g_log_gain
        lam[i] = -LN10_OVER_20 * g_log_gain
    return total


@_kernel
def _static_curve_adjoint(lam, alpha, attack, log2_peak, y_prev, threshold, ratio, knee, sums):
    """Elementwise part after the adjoint recursion, for one item and block.

    ``lam`` (size,) holds ``λ`` on entry and ``dL/dx_G`` on exit; ``y_prev`` (size,) is ``y_L``
    one sample earlier. Adds the block's d/d(threshold, ratio, knee) to ``sums[0:3]`` and
    d/d(alpha_attack, alpha_release) to ``sums[4:6]``.
    """
    slope = 1.0 - 1.0 / ratio
    inv_r2 = 1.0 / (ratio * ratio)
    half_w = 0.5 * knee
    inv_w = 1.0 / knee if knee > 0.0 else 0.0
    g_thr = g_ratio = g_knee = g_att = g_rel = 0.0
    for i in range(lam.shape[0]):
        d = _level_db(log2_peak[i]) - threshold
        u = d + half_w
        above = 1.0 if d > half_w else 0.0
        in_knee = (1.0 if u > 0.0 else 0.0) - above
        shape = above * d + in_knee * (0.5 * u * u * inv_w)  # x_L / (1 − 1/R)
        g_alpha = lam[i] * (y_prev[i] - slope * shape)
        att = 1.0 if attack[i] else 0.0
        g_att += att * g_alpha
        g_rel += g_alpha - att * g_alpha
        g_xl = (1.0 - alpha[i]) * lam[i]
        g_d = g_xl * slope * (above + in_knee * u * inv_w)
        g_ratio += g_xl * shape * inv_r2
        g_knee += in_knee * (g_xl * slope * 0.5 * u * inv_w * (1.0 - u * inv_w))
        g_thr -= g_d
        lam[i] = g_d
    sums[0] += g_thr
    sums[1] += g_ratio
    sums[2] += g_knee
    sums[4] += g_att
    sums[5] += g_rel


@_kernel
def _level_adjoint(g_level, detected, peak, loudest, separate_detector, target):
    """Pass ``dL/dx_G`` (size,) to the loudest channel of ``detected`` (C_s, size).

    ``x_G = 20·log10|s|`` of the loudest channel ``s`` gives it ``dL/dx_G / (ln(10)/20·s)``
    (nothing below the level floor). ``target`` (C_s, size) is overwritten when
    ``separate_detector`` and accumulated into otherwise (it is then ``grad_x``).
    ``peak``/``loudest`` (size,) are scratch buffers.
    """
    size = g_level.shape[0]
    first = detected[0]
    if detected.shape[0] == 1:  # mono: no search for the loudest channel
        out = target[0]
        if separate_detector:  # the sidechain's gradient buffer is uninitialised: overwrite it
            for i in range(size):
                out[i] = 0.0
        if detected.itemsize == 4:  # float32 audio: divide in float32 (twice the SIMD lanes)
            scale = np.float32(LN10_OVER_20)
            for i in range(size):
                ok = abs(first[i]) >= LEVEL_FLOOR
                out[i] += np.float32(g_level[i]) / (scale * first[i]) if ok else np.float32(0.0)
            return
        for i in range(size):
            ok = abs(first[i]) >= LEVEL_FLOOR
            out[i] += g_level[i] / (LN10_OVER_20 * first[i]) if ok else 0.0
        return
    for i in range(size):
        peak[i] = first[i]
        loudest[i] = 0
    for c in range(1, detected.shape[0]):
        channel = detected[c]
        for i in range(size):
            louder = abs(channel[i]) > abs(peak[i])
            peak[i] = channel[i] if louder else peak[i]
            loudest[i] = c if louder else loudest[i]
    for i in range(size):
        ok = abs(peak[i]) >= LEVEL_FLOOR
        g_level[i] = g_level[i] / (LN10_OVER_20 * peak[i]) if ok else 0.0
    for c in range(detected.shape[0]):
        out = target[c]
        if separate_detector:
            for i in range(size):
                out[i] = g_level[i] if loudest[i] == c else 0.0
        else:
            for i in range(size):
                out[i] += g_level[i] if loudest[i] == c else 0.0


@_kernel
def compressor_backward(grad_y, x, detected, gain, threshold, ratio, knee, alpha_attack,
                        alpha_release, log2_peak, y_l, attack, separate_detector, grad_x,
                        grad_detected, grad_params):
    """Reverse-time adjoint of :func:`compressor_forward` and of ``y = x·gain``.

    ``grad_y``, ``x`` and ``grad_x`` are (B, C, T); ``detected`` (B, C_s, T) is the detector's
    input (``x`` itself, or the shifted sidechain when ``separate_detector``); ``gain`` (B, T).
    Fills ``grad_x`` (``grad_y·gain``, plus the level's gradient when ``x`` is the detector),
    ``grad_detected`` (only when ``separate_detector``) and ``grad_params`` (B, 6) = d/d(threshold,
    ratio, knee, makeup, alpha_attack, alpha_release).

    With ``g = ∂L/∂ln(gain) = gain·Σ_c grad_y·x``, ``dL/dy_L = −ln(10)/20·g``. With the
    attack/release choices fixed, the smoother's adjoint is the same time-varying one-pole run
    backwards, ``λ[n] = dL/dy_L[n] + α[n+1]·λ[n+1]`` — the only sequential part, run per block
    for ``LANES`` items at once (:func:`_adjoint_block`) — and everything else is elementwise
    in vectorised loops: ``dL/dx_L[n] = (1 − α[n])·λ[n]``,
    ``dL/dα[n] = λ[n]·(y_L[n−1] − x_L[n])`` and the level's gradient.
    """
    batch, length = gain.shape
    lam = np.zeros((LANES, BLOCK))
    alpha = np.zeros((LANES, BLOCK))
    carry = np.zeros(LANES)
    y_prev = np.empty(BLOCK)
    peak = np.empty(BLOCK)
    loudest = np.empty(BLOCK, dtype=np.int64)
    target = grad_detected if separate_detector else grad_x
    last = ((length - 1) // BLOCK) * BLOCK
    for first in range(0, batch, LANES):
        items = min(LANES, batch - first)
        lam[:] = 0.0
        alpha[:] = 0.0
        carry[:] = 0.0
        sums = np.zeros((LANES, 6))  # threshold, ratio, knee, makeup, attack, release
        for lo in range(last, -1, -BLOCK):
            hi = min(lo + BLOCK, length)
            size = hi - lo
            for j in range(items):
                b = first + j
                sums[j, 3] += LN10_OVER_20 * _adjoint_inputs(
                    grad_y[b, :, lo:hi], x[b, :, lo:hi], gain[b, lo:hi], attack[b, lo:hi],
                    alpha_attack[b], alpha_release[b], grad_x[b, :, lo:hi], lam[j, :size],
                    alpha[j, :size])
            _adjoint_block(lam[:, :size], alpha[:, :size], carry)
            for j in range(items):
                b = first + j
                y_prev[0] = y_l[b, lo - 1] if lo > 0 else 0.0
                y_prev[1:size] = y_l[b, lo:hi - 1]
                _static_curve_adjoint(lam[j, :size], alpha[j, :size], attack[b, lo:hi],
                                      log2_peak[b, lo:hi], y_prev[:size], threshold[b],
                                      ratio[b], knee[b],
                                      sums[j])
                _level_adjoint(lam[j, :size], detected[b, :, lo:hi], peak[:size],
                               loudest[:size], separate_detector, target[b, :, lo:hi])
        for j in range(items):
            grad_params[first + j] = sums[j]


_pool: ThreadPoolExecutor | None = None
_pool_pid: int | None = None


def _executor(workers: int) -> ThreadPoolExecutor:
    """A thread pool of this process (a forked child makes its own)."""
    global _pool, _pool_pid
    if _pool is None or _pool_pid != os.getpid() or _pool._max_workers < workers:
        _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dasp_blind_comp")
        _pool_pid = os.getpid()
    return _pool


def _forward_on_team(audio_dtype):
    """:func:`compressor_forward` as a team task for ``audio_dtype`` audio (float32/float64).

    Fields: ``batch, length`` and the addresses of the kernel's arrays in its order."""
    @cfunc(types.void(types.voidptr), cache=True)
    def task(data):
        d = _openmp.fields(data, 12)
        batch, length = d[0], d[1]
        lo, hi = _openmp.batch_share(data, batch)
        if lo >= hi:
            return
        signal, per_item = (batch, length), (batch,)
        compressor_forward(
            _openmp.array_at(d[2], signal, audio_dtype)[lo:hi],
            _openmp.array_at(d[3], per_item, np.float64)[lo:hi],
            _openmp.array_at(d[4], per_item, np.float64)[lo:hi],
            _openmp.array_at(d[5], per_item, np.float64)[lo:hi],
            _openmp.array_at(d[6], per_item, np.float64)[lo:hi],
            _openmp.array_at(d[7], per_item, np.float64)[lo:hi],
            _openmp.array_at(d[8], per_item, np.float64)[lo:hi],
            _openmp.array_at(d[9], signal, audio_dtype)[lo:hi],
            _openmp.array_at(d[10], signal, audio_dtype)[lo:hi],
            _openmp.array_at(d[11], signal, np.bool_)[lo:hi])
    return task


def _backward_on_team(audio_dtype):
    """:func:`compressor_backward` as a team task for ``audio_dtype`` audio.

    Fields: ``batch, length, channels, detector channels``, then the kernel's arguments in
    its order (arrays as addresses, ``separate_detector`` as 0/1)."""
    @cfunc(types.void(types.voidptr), cache=True)
    def task(data):
        d = _openmp.fields(data, 20)
        batch, length, channels, side_channels = d[0], d[1], d[2], d[3]
        lo, hi = _openmp.batch_share(data, batch)
        if lo >= hi:
            return
        audio, side = (batch, channels, length), (batch, side_channels, length)
        signal, per_item = (batch, length), (batch,)
        compressor_backward(
            _openmp.array_at(d[4], audio, audio_dtype)[lo:hi],
            _openmp.array_at(d[5], audio, audio_dtype)[lo:hi],
            _openmp.array_at(d[6], side, audio_dtype)[lo:hi],
            _openmp.array_at(d[7], signal, audio_dtype)[lo:hi],
            _openmp.array_at(d[8], per_item, np.float64)[lo:hi],
            _openmp.array_at(d[9], per_item, np.float64)[lo:hi],
            _openmp.array_at(d[10], per_item, np.float64)[lo:hi],
            _openmp.array_at(d[11], per_item, np.float64)[lo:hi],
            _openmp.array_at(d[12], per_item, np.float64)[lo:hi],
            _openmp.array_at(d[13], signal, audio_dtype)[lo:hi],
            _openmp.array_at(d[14], signal, audio_dtype)[lo:hi],
            _openmp.array_at(d[15], signal, np.bool_)[lo:hi],
            d[16] != 0,
            _openmp.array_at(d[17], audio, audio_dtype)[lo:hi],
            _openmp.array_at(d[18], side, audio_dtype)[lo:hi],
            _openmp.array_at(d[19], (batch, 6), np.float64)[lo:hi])
    return task


def _forward_header(args: tuple) -> tuple[int, ...]:
    """``batch, length`` of :func:`compressor_forward`'s arguments."""
    return args[0].shape


def _backward_header(args: tuple) -> tuple[int, ...]:
    """``batch, length, channels, detector channels`` of :func:`compressor_backward`'s."""
    x, detected = args[1], args[2]
    return x.shape[0], x.shape[2], x.shape[1], detected.shape[1]


#: Per kernel: the team task's factory and the descriptor's header.
_TEAM_TASKS = {
    compressor_forward: (_forward_on_team, _forward_header),
    compressor_backward: (_backward_on_team, _backward_header),
}


@functools.cache
def _team_task(kernel, audio_dtype: np.dtype):
    """The compiled team task of ``kernel`` for ``audio_dtype`` (compiled once, cached on disk)."""
    return _TEAM_TASKS[kernel][0](audio_dtype.type)


def _run_on_team(kernel, args: tuple, threads: int) -> None:
    """``kernel(*args)`` split over ``threads`` threads of torch's OpenMP team."""
    header = _TEAM_TASKS[kernel][1](args)
    fields = [a.ctypes.data if isinstance(a, np.ndarray) else int(a) for a in args]
    audio_dtype = next(a.dtype for a in args if isinstance(a, np.ndarray) and a.ndim >= 2)
    _openmp.run(_team_task(kernel, audio_dtype), [*header, *fields], threads)


def run_over_batch(kernel, *args) -> None:
    """Call ``kernel(*args)`` on slices of the batch in parallel threads.

    Every array argument has the batch as its first axis and is sliced (views, so outputs land in
    the full arrays); scalars are passed as they are. Uses up to ``torch.get_num_threads()``
    threads, one when the batch has a single item: torch's OpenMP team where it is available
    (:mod:`._openmp`), Python threads otherwise.
    """
    batch = next(a.shape[0] for a in args if isinstance(a, np.ndarray))
    workers = min(batch, torch.get_num_threads())
    if workers <= 1:
        kernel(*args)
        return
    if _openmp.AVAILABLE and kernel in _TEAM_TASKS:
        _run_on_team(kernel, args, workers)
        return
    bounds = np.linspace(0, batch, workers + 1).astype(int)
    chunks = [[a[lo:hi] if isinstance(a, np.ndarray) else a for a in args]
              for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    for future in [_executor(workers).submit(kernel, *chunk) for chunk in chunks]:
        future.result()
