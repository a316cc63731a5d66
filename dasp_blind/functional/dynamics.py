"""Dynamic range compression: the feed-forward log-domain compressor of Giannoulis et al.

On the CPU the static curve and the branching attack/release smoother run in a compiled (numba)
loop per batch item, between a vectorised detector and gain; the custom backward runs the same
time-varying one-pole backwards in time (the method of torchcomp), fused with the derivatives of
the static curve (``_compressor_kernels``). On CUDA the smoother's two recursions run in Triton
kernels and the rest is torch (``_compressor_triton``).
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import torch
from torch import Tensor

from .._checks import (
    ParamLike,
    as_batched,
    check_audio,
    check_non_negative,
    check_range,
    check_sample_rate,
    half_as_float32,
)
from . import _compressor_kernels as kernels
from .filters import fft_sosfilt
from .units import GAIN_DB_RANGE, _db_to_gain, _gain_to_db, _ms_to_alpha, time_constant_to_alpha

LEVEL_FLOOR = kernels.LEVEL_FLOOR


def _np(t: Tensor) -> np.ndarray:
    return t.detach().cpu().contiguous().numpy()


def _empty(shape: tuple[int, ...], dtype: torch.dtype) -> np.ndarray:
    """An uninitialised array of torch's allocator.

    numpy asks the kernel for transparent huge pages on large arrays (``madvise``); where the
    kernel then compacts memory on the first touch (``defrag=madvise``, a common default), a fresh
    numpy buffer of a few MB cost milliseconds more than torch's.
    """
    return torch.empty(shape, dtype=dtype).numpy()


def _log2_peak(detected: Tensor) -> Tensor:
    """``log2`` of the peak magnitude across channels ``(B, T)`` (``−inf`` for silence; the
    kernel applies the level floor)."""
    peak = detected[:, 0].abs() if detected.shape[1] == 1 else detected.abs().amax(dim=1)
    return peak.log2_()


class _CompressorFunction(torch.autograd.Function):
    """``apply(x, sidechain, ...)``: the detector reads ``sidechain``, or ``x`` when it is None.

    Around the two kernels only three vectorised passes run in torch: ``log2`` of the peak
    before the forward kernel, ``exp2`` of the log-gain and ``x·gain`` after it. The backward
    kernel does all its per-sample work itself (no torch pass over the audio).
    """

    @staticmethod
    def forward(ctx, x: Tensor, sidechain: Tensor | None, threshold: Tensor, ratio: Tensor,
                knee: Tensor, makeup: Tensor, alpha_attack: Tensor,
                alpha_release: Tensor) -> Tensor:
        x = x.detach().contiguous()
        detected = x if sidechain is None else sidechain.detach().contiguous()
        log2_peak = _np(_log2_peak(detected))
        params = [_np(p.double()) for p in (threshold, ratio, knee, makeup, alpha_attack,
                                             alpha_release)]
        log2_gain, y_l = (_empty(log2_peak.shape, x.dtype) for _ in range(2))
        attack = _empty(log2_peak.shape, torch.bool)
        kernels.run_over_batch(kernels.compressor_forward, log2_peak, *params, log2_gain, y_l,
                               attack)
        gain = torch.from_numpy(log2_gain).to(x.device).exp2_()
        ctx.save_for_backward(x, detected, gain)
        ctx.has_sidechain = sidechain is not None
        ctx.param_dtype = ratio.dtype
        ctx.kernel_args = (params[0], params[1], params[2], params[4], params[5], log2_peak, y_l,
                           attack)
        return x * gain.unsqueeze(1)

    @staticmethod
    def backward(ctx, grad_y: Tensor):
        x, detected, gain = ctx.saved_tensors
        grad_y = grad_y.to(x.dtype).contiguous()
        x_np = _np(x)
        grad_x = _empty(x_np.shape, x.dtype)
        grad_detected = (_empty(detected.shape, x.dtype) if ctx.has_sidechain
                         else grad_x)
        grad_params = np.empty((x.shape[0], 6), dtype=np.float64)
        kernels.run_over_batch(kernels.compressor_backward, _np(grad_y), x_np, _np(detected),
                               _np(gain), *ctx.kernel_args, ctx.has_sidechain, grad_x,
                               grad_detected, grad_params)
        grads = torch.from_numpy(grad_params).to(device=x.device, dtype=ctx.param_dtype)
        grad_threshold, grad_ratio, grad_knee, grad_makeup, grad_attack, grad_release = (
            grads.unbind(dim=1))
        grad_sidechain = (torch.from_numpy(grad_detected).to(x.device) if ctx.has_sidechain
                          else None)
        return (torch.from_numpy(grad_x).to(x.device), grad_sidechain, grad_threshold,
                grad_ratio, grad_knee, grad_makeup, grad_attack, grad_release)


def _uses_triton(x: Tensor) -> bool:
    """Whether the recursion runs in the Triton kernels: CUDA tensors, with Triton installed."""
    if not x.is_cuda:
        return False
    if importlib.util.find_spec("triton") is None:
        warnings.warn("Triton is not installed: the compressor's recursion runs on the CPU and "
                      "CUDA tensors are copied to the host and back", stacklevel=3)
        return False
    return True


def _compressor_graph(x: Tensor, sidechain: Tensor | None, threshold: Tensor, ratio: Tensor,
                      knee: Tensor, makeup: Tensor, alpha_attack: Tensor,
                      alpha_release: Tensor) -> Tensor:
    """The compressor as torch operations around the Triton ballistics (the CUDA path)."""
    from ._compressor_triton import Ballistics

    detected = x if sidechain is None else sidechain
    level_db = _gain_to_db(detected.abs().amax(dim=1).clamp_min(LEVEL_FLOOR))
    reduction = static_gain_reduction_db(level_db, threshold, ratio, knee)
    smoothed = Ballistics.apply(reduction, alpha_attack.to(reduction.dtype),
                                alpha_release.to(reduction.dtype))
    gain = _db_to_gain(makeup[:, None] - smoothed)
    return x * gain.to(x.dtype).unsqueeze(1)


@half_as_float32
def compressor(x: Tensor, sample_rate: float, threshold_db: ParamLike, ratio: ParamLike,
               attack_ms: ParamLike, release_ms: ParamLike, knee_db: ParamLike = 0.0,
               makeup_db: ParamLike = 0.0, *, sidechain: Tensor | None = None,
               lookahead_ms: float = 0.0) -> Tensor:
    """Feed-forward log-domain compressor with a soft knee and branching ballistics.

    Per batch item and sample ``n``, with the detector signal ``s`` = ``x`` (or ``sidechain``)
    read ``L = round(lookahead_ms·fs/1000)`` samples ahead:

    1. level ``x_G[n] = 20·log10(max(max_c |s_c[n + L]|, 1e-4))`` (``s = 0`` past the end) —
       the detector takes the largest magnitude across channels, so every channel gets the same
       gain (stereo linking);
    2. static curve with threshold ``T``, ratio ``R`` and knee width ``W``: ``y_G = x_G`` below
       the knee, ``x_G + (1/R − 1)(x_G − T + W/2)²/(2W)`` inside it, ``T + (x_G − T)/R`` above;
       the knee branch is only taken when ``W > 0`` (no division by zero at ``W = 0``);
    3. gain reduction ``x_L = x_G − y_G``, smoothed by
       ``y_L[n] = α·y_L[n−1] + (1−α)·x_L[n]``, ``y_L[−1] = 0``, with ``α = α_attack`` when
       ``x_L[n] > y_L[n−1]`` and ``α_release`` otherwise, ``α = exp(−1/(τ·fs))``;
    4. output ``x·10^((M − y_L)/20)``.

    The recursion runs in a compiled kernel — numba on the CPU, Triton on CUDA (no copy to the
    host) — and the backward pass is the same time-varying one-pole filter run backwards in time,
    with the attack/release choices of the forward pass.

    Args:
        x: audio ``(batch, channels, samples)``.
        sample_rate: sample rate in Hz.
        threshold_db: threshold ``T`` in dB, float or ``(batch,)``.
        ratio: compression ratio ``R >= 1``.
        attack_ms: attack time constant in ms, ``> 0``.
        release_ms: release time constant in ms, ``> 0``.
        knee_db: knee width ``W`` in dB, in ``[0, 120]``.
        makeup_db: makeup gain ``M`` in dB, in ``[−120, 120]``.
        sidechain: optional detector signal ``(batch, sidechain_channels, samples)`` (e.g. a kick
            drum ducking a bass); the gain it yields is applied to ``x``. Gradients reach it.
        lookahead_ms: look-ahead in ms, ``>= 0``: the gain reacts to what comes ``L`` samples
            later, so attacks start before the transient. The output stays aligned with ``x``
            (the look-ahead delay of a real-time compressor is compensated).

    Returns:
        Compressed audio ``(batch, channels, samples)``, same dtype and device as ``x``.
    """
    check_audio(x)
    sample_rate = check_sample_rate(sample_rate)
    batch = x.shape[0]
    threshold = as_batched(threshold_db, batch, x, "threshold_db")
    ratio_t = check_range(as_batched(ratio, batch, x, "ratio"), "ratio", 1.0)
    attack = check_range(as_batched(attack_ms, batch, x, "attack_ms"), "attack_ms", 0.0,
                         low_inclusive=False)
    release = check_range(as_batched(release_ms, batch, x, "release_ms"), "release_ms", 0.0,
                          low_inclusive=False)
    knee = check_range(as_batched(knee_db, batch, x, "knee_db"), "knee_db", 0.0,
                       GAIN_DB_RANGE[1])
    makeup = check_range(as_batched(makeup_db, batch, x, "makeup_db"), "makeup_db",
                         *GAIN_DB_RANGE)
    detected = _detector_signal(x, sidechain, lookahead_ms, sample_rate)
    run = _compressor_graph if _uses_triton(x) else _CompressorFunction.apply
    return run(x, detected, threshold, ratio_t, knee, makeup,
               _ms_to_alpha(attack, sample_rate), _ms_to_alpha(release, sample_rate))


def _detector_signal(x: Tensor, sidechain: Tensor | None, lookahead_ms: float,
                     sample_rate: float) -> Tensor | None:
    """The checked sidechain, shifted ``lookahead_ms`` earlier; ``None`` means ``x`` itself."""
    if sidechain is not None:
        check_audio(sidechain, "sidechain")
        if sidechain.shape[0] != x.shape[0] or sidechain.shape[-1] != x.shape[-1]:
            raise ValueError(f"sidechain must have the batch size and length of x "
                             f"{(x.shape[0], x.shape[-1])}, got shape {tuple(sidechain.shape)}")
        if sidechain.device != x.device:
            raise ValueError(f"sidechain is on {sidechain.device} but x is on {x.device}")
        sidechain = sidechain.to(x.dtype)
    lookahead_ms = check_non_negative(lookahead_ms, "lookahead_ms")
    if lookahead_ms == 0:
        return sidechain
    shift = round(lookahead_ms * 1e-3 * sample_rate)
    source = x if sidechain is None else sidechain
    return torch.nn.functional.pad(source[..., shift:], (0, min(shift, source.shape[-1])))


def static_gain_reduction_db(level_db: Tensor, threshold_db: Tensor, ratio: Tensor,
                             knee_db: Tensor) -> Tensor:
    """Gain reduction ``x_L = x_G − y_G`` of the soft-knee static curve, vectorised.

    ``0`` below the knee, ``(1 − 1/R)(d + W/2)²/(2W)`` inside it and ``(1 − 1/R)·d`` above, with
    ``d = x_G − T``. The knee branch divides by ``max(W, 1)`` where ``W = 0``, where it is never
    selected, so gradients stay finite at ``W = 0``.

    Args:
        level_db: level ``x_G`` in dB, ``(batch, samples)``.
        threshold_db: ``(batch,)``.
        ratio: ``(batch,)``.
        knee_db: ``(batch,)``.

    Returns:
        Gain reduction in dB ``(batch, samples)``, ``>= 0``.
    """
    t, r, w = (p.unsqueeze(-1) for p in (threshold_db, ratio, knee_db))
    d = level_db - t
    slope = 1 - 1 / r
    safe_w = torch.where(w > 0, w, torch.ones_like(w))
    in_knee = slope * (d + w / 2) ** 2 / (2 * safe_w)
    above = 2 * d > w
    below = (2 * d < -w) | (w <= 0)
    return torch.where(above, slope * d, torch.where(below, torch.zeros_like(d), in_knee))


@half_as_float32
def simple_compressor(x: Tensor, sample_rate: float, threshold_db: ParamLike, ratio: ParamLike,
                      time_constant_ms: ParamLike, knee_db: ParamLike = 0.0,
                      makeup_db: ParamLike = 0.0) -> Tensor:
    """Compressor with one linked time constant and no attack/release branching.

    The static curve is that of :func:`compressor`; the gain reduction is smoothed by a linear
    one-pole low-pass ``y_L[n] = α·y_L[n−1] + (1−α)·x_L[n]``, ``y_L[−1] = 0``, with
    ``α = exp(−1/(τ·fs))`` (computed in float64), run with one FFT pair
    (:func:`~dasp_blind.functional.fft_sosfilt`), so the whole effect is vectorised. The FFT is
    padded until the pole has decayed below the dtype's resolution, ``−ln(eps)·τ·fs`` samples
    (1.5 M samples for 500 ms at 192 kHz in float32), so the smoother stays causal: nothing of
    a loud passage leaks (wraps around) into what precedes it. Beyond
    :data:`~dasp_blind.functional.filters.MAX_FFT_TAIL` samples the exact time-domain recursion
    runs instead. The level is ``20·log10(max_c |x_c| + 1e-6)`` (a smooth floor, so silence has
    finite gradients).

    Args:
        x: audio ``(batch, channels, samples)``.
        sample_rate: sample rate in Hz.
        threshold_db: threshold in dB, float or ``(batch,)``.
        ratio: ratio ``>= 1``.
        time_constant_ms: the time constant ``τ`` in ms, ``> 0`` (and short enough that
            ``α < 1`` in float64: ``τ·fs < 9e15`` ms·Hz).
        knee_db: knee width in dB, in ``[0, 120]`` (the knee formula squares it).
        makeup_db: makeup gain in dB, in ``[−120, 120]``.

    Returns:
        Compressed audio ``(batch, channels, samples)``.
    """
    check_audio(x)
    sample_rate = check_sample_rate(sample_rate)
    batch = x.shape[0]
    threshold = as_batched(threshold_db, batch, x, "threshold_db")
    ratio_t = check_range(as_batched(ratio, batch, x, "ratio"), "ratio", 1.0)
    tau = check_range(as_batched(time_constant_ms, batch, x, "time_constant_ms"),
                      "time_constant_ms", 0.0, low_inclusive=False)
    knee = check_range(as_batched(knee_db, batch, x, "knee_db"), "knee_db", 0.0,
                       GAIN_DB_RANGE[1])
    makeup = check_range(as_batched(makeup_db, batch, x, "makeup_db"), "makeup_db",
                         *GAIN_DB_RANGE)
    alpha = _ms_to_alpha(tau.double(), sample_rate)
    if bool((alpha.detach() >= 1).any()):
        raise ValueError(f"time_constant_ms must be short enough that the smoother's pole "
                         f"exp(-1/(tau*fs)) < 1 in float64, got {tau.detach().max().item():g}")
    level_db = _gain_to_db(x.abs().amax(dim=1) + 1e-6)
    reduction = static_gain_reduction_db(level_db, threshold, ratio_t, knee)
    zero, one = torch.zeros_like(alpha), torch.ones_like(alpha)
    sos = torch.stack([1 - alpha, zero, zero, one, -alpha, zero], dim=-1).unsqueeze(1)
    smoothed = fft_sosfilt(reduction.unsqueeze(1), sos)
    return x * _db_to_gain(makeup.reshape(-1, 1, 1) - smoothed)


__all__ = ["LEVEL_FLOOR", "compressor", "simple_compressor", "static_gain_reduction_db",
           "time_constant_to_alpha"]
