"""Modulation effects: tremolo (amplitude modulation) and chorus (modulated delay line).

Both run without a per-sample Python loop: the LFO is evaluated for every sample at once and the
chorus reads its delay line with one vectorised ``gather`` and linear interpolation, so gradients
reach the audio, every continuous parameter and (through the interpolation weights) the LFO rate.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .._checks import (
    ParamLike,
    as_batched,
    check_audio,
    check_choice,
    check_int,
    check_range,
    check_sample_rate,
    half_as_float32,
)

LFO_SHAPES = ("sine", "triangle", "square")

# The square LFO is tanh(k·sin θ)/tanh(k): flat tops, transitions about 1/(2πk) of a period
# long (≈2 % for k = 8), so it neither clicks nor loses its gradient w.r.t. rate and phase.
SQUARE_SHARPNESS = 8.0


def _float64(x: Tensor) -> Tensor:
    """An empty float64 tensor on the device of ``x`` (the ``like`` of float64 parameters)."""
    return torch.empty(0, dtype=torch.float64, device=x.device)


def _cycles(num_samples: int, sample_rate: float, rate: Tensor, phase: Tensor) -> Tensor:
    """LFO phase in cycles, wrapped to ``[0, 1)``: ``frac(rate·n/fs + phase/2π)``, float64
    ``(B, T)`` from float64 ``rate`` and ``phase`` ``(B,)``.

    Formed and wrapped in float64: in float32, ``rate·t`` after ten minutes holds thousands of
    cycles and keeps only about 1e-3 cycle of resolution (a 36 dB error in a chorus), and a rate
    rounded to float32 drifts by ``6e-8·rate·t`` cycles. The wrap has derivative 1 almost
    everywhere, so gradients w.r.t. ``rate`` and ``phase`` pass unchanged.
    """
    n = torch.arange(num_samples, device=rate.device, dtype=torch.float64)
    t = n / sample_rate
    return torch.remainder(rate[:, None] * t[None, :] + phase[:, None] / (2 * math.pi), 1.0)


def _check_rate(rate_hz: Tensor, sample_rate: float, name: str = "rate_hz") -> Tensor:
    return check_range(rate_hz, name, 0.0, sample_rate / 2, low_inclusive=False,
                       high_inclusive=False)


@half_as_float32("like")
def lfo(num_samples: int, sample_rate: float, rate_hz: ParamLike, shape: str = "sine",
        phase: ParamLike = 0.0, like: Tensor | None = None, batch: int | None = None) -> Tensor:
    """Low-frequency oscillator in ``[-1, 1]``.

    All shapes start like a sine: ``lfo(0) = 0`` rising, for ``phase = 0``.

    Args:
        num_samples: number of samples to generate.
        sample_rate: sample rate in Hz.
        rate_hz: oscillation rate in Hz, in ``(0, sample_rate/2)``; float or ``(batch,)`` tensor.
        shape: ``"sine"``, ``"triangle"`` or ``"square"`` (smoothed by ``tanh``, see
            :data:`SQUARE_SHARPNESS`).
        phase: start phase in radians; float or ``(batch,)`` tensor.
        like: floating-point tensor giving dtype and device (float32 on the CPU when ``None``;
            float16 / bfloat16 are computed in float32 and returned in their dtype).
        batch: batch size, an integer ``>= 1`` (taken from ``rate_hz`` / ``phase`` when
            ``None``).

    Returns:
        LFO of shape ``(batch, samples)``, differentiable w.r.t. ``rate_hz`` and ``phase``. The
        phase is accumulated in float64 (see :func:`_cycles`), so long signals keep it exact.
    """
    sample_rate = check_sample_rate(sample_rate)
    check_choice(shape, "shape", LFO_SHAPES)
    num_samples = check_int(num_samples, "num_samples", low=1)
    if like is None:
        like = torch.empty(0)
    if not isinstance(like, Tensor) or not like.is_floating_point():
        raise ValueError(f"like must be a floating-point tensor or None, got "
                         f"{like.dtype if isinstance(like, Tensor) else type(like).__name__}")
    if batch is None:
        sizes = [v.numel() for v in (rate_hz, phase) if isinstance(v, Tensor)]
        batch = max(sizes, default=1)
    batch = check_int(batch, "batch", low=1)
    wide = _float64(like)  # rate and phase stay in float64 (Python floats exactly)
    rate = _check_rate(as_batched(rate_hz, batch, wide, "rate_hz"), sample_rate)
    phi = as_batched(phase, batch, wide, "phase")
    cycles = _cycles(num_samples, sample_rate, rate, phi).to(like.dtype)
    if shape == "sine":
        return torch.sin(2 * math.pi * cycles)
    if shape == "square":
        return torch.tanh(SQUARE_SHARPNESS * torch.sin(2 * math.pi * cycles)) / math.tanh(
            SQUARE_SHARPNESS)
    # Triangle aligned with the sine: 0 at cycle 0, +1 at 1/4, -1 at 3/4.
    u = torch.remainder(cycles + 0.25, 1.0)
    return 1.0 - 4.0 * (u - 0.5).abs()


@half_as_float32
def tremolo(x: Tensor, sample_rate: float, rate_hz: ParamLike, depth: ParamLike,
            shape: str = "sine", phase: ParamLike = 0.0) -> Tensor:
    """Tremolo: amplitude modulation by a low-frequency oscillator.

    ``y = x · (1 − depth·(1 − lfo)/2)``: the gain swings between ``1 − depth`` (``lfo = −1``) and
    ``1`` (``lfo = +1``), the same for every channel. The LFO phase is formed in float64 from
    the rate and phase (see :func:`lfo`), so long float32 signals keep it exact.

    Args:
        x: audio ``(batch, channels, samples)``.
        sample_rate: sample rate in Hz.
        rate_hz: LFO rate in Hz, in ``(0, sample_rate/2)``; float or ``(batch,)`` tensor.
        depth: modulation depth in ``[0, 1]`` (0: no effect, 1: gain reaches 0); float or
            ``(batch,)`` tensor.
        shape: ``"sine"``, ``"triangle"`` or ``"square"`` (a ``tanh``-smoothed square).
        phase: LFO start phase in radians; float or ``(batch,)`` tensor.

    Returns:
        Audio ``(batch, channels, samples)``, differentiable w.r.t. ``x``, ``depth``, ``rate_hz``
        and ``phase``.

    Raises:
        ValueError: on bad audio, a depth outside ``[0, 1]``, a rate outside
            ``(0, sample_rate/2)``, a non-positive sample rate, an unknown shape or a batch
            mismatch.
    """
    check_audio(x)
    sample_rate = check_sample_rate(sample_rate)
    check_choice(shape, "shape", LFO_SHAPES)
    batch = x.shape[0]
    wide = _float64(x)  # the LFO's rate and phase stay in float64
    rate = _check_rate(as_batched(rate_hz, batch, wide, "rate_hz"), sample_rate)
    d = check_range(as_batched(depth, batch, x, "depth"), "depth", 0.0, 1.0)
    osc = lfo(x.shape[-1], sample_rate, rate, shape, as_batched(phase, batch, wide, "phase"),
              like=x, batch=batch)
    gain = 1.0 - d[:, None] * (1.0 - osc) / 2.0
    return x * gain[:, None, :]


def _as_delay(delay_samples: Tensor, batch: int, num_samples: int, like: Tensor) -> Tensor:
    """Validate a delay of shape ``(batch,)`` / ``(batch, samples)`` -> ``(batch, samples)``."""
    if not isinstance(delay_samples, Tensor) or delay_samples.dim() <= 1:
        return as_batched(delay_samples, batch, like, "delay_samples")[:, None].expand(
            batch, num_samples)
    if delay_samples.dtype == torch.bool or delay_samples.is_complex():
        raise ValueError(f"delay_samples must be a real tensor, got {delay_samples.dtype}")
    d = delay_samples.to(device=like.device, dtype=like.dtype)
    if d.dim() != 2 or d.shape[0] not in (1, batch) or d.shape[1] != num_samples:
        raise ValueError(f"delay_samples must have shape (batch,) or (batch, samples) = "
                         f"({batch}, {num_samples}), got {tuple(delay_samples.shape)}")
    d = d.expand(batch, num_samples)
    if not bool(torch.isfinite(d).all()):
        raise ValueError("delay_samples contains NaN or Inf values")
    return d


def _fractional_delay(x: Tensor, delay: Tensor) -> Tensor:
    """Unchecked core of :func:`fractional_delay`; ``delay`` is ``(batch, samples)``, ``>= 0``,
    in the dtype of ``x`` or in float64 (then only its fractional part is cast)."""
    batch, channels, num_samples = x.shape
    # Past num_samples + 1 the output is 0 whatever the delay: the cap keeps the integer part
    # representable (and the gradient, 0 there, unchanged).
    delay = delay.clamp(max=num_samples + 1.0)
    # Split the delay into integer and fractional parts so that the interpolation weight keeps
    # full precision whatever the sample index (n − d in float32 would not).
    whole = torch.floor(delay.detach())
    frac = (delay - whole).to(x.dtype)                          # in [0, 1), carries the gradient
    n = torch.arange(num_samples, device=x.device)
    # y[n] = (1 − frac)·x[n − whole] + frac·x[n − whole − 1], x = 0 outside [0, samples).
    i1 = n[None, :] - whole.to(torch.long)                      # (batch, samples), <= n
    i0 = i1 - 1
    # Index 0 of the padded signal is a zero standing for every position before the start.
    padded = torch.nn.functional.pad(x, (1, 0))
    j1 = (i1 + 1).clamp(min=0)[:, None, :].expand(batch, channels, num_samples)
    j0 = (i0 + 1).clamp(min=0)[:, None, :].expand(batch, channels, num_samples)
    x1 = torch.gather(padded, 2, j1)
    x0 = torch.gather(padded, 2, j0)
    w = frac[:, None, :]
    return (1.0 - w) * x1 + w * x0


@half_as_float32
def fractional_delay(x: Tensor, delay_samples: ParamLike) -> Tensor:
    """Delay audio by a (time-varying) fractional number of samples with linear interpolation.

    ``y[n] = x(n − d[n])`` where ``x`` is linearly interpolated between samples and zero before
    the start of the signal. The delay is read with one vectorised ``gather``.

    Args:
        x: audio ``(batch, channels, samples)``.
        delay_samples: delay in samples, ``>= 0``: a float, a ``(batch,)`` tensor (constant
            delay) or a ``(batch, samples)`` tensor (one delay per output sample, shared by the
            channels).

    Returns:
        Delayed audio ``(batch, channels, samples)``, differentiable w.r.t. ``x`` and
        ``delay_samples`` (the gradient w.r.t. the delay is the local slope of the interpolated
        signal; it jumps where the delay crosses an integer).

    Raises:
        ValueError: on bad audio, a negative or non-finite delay, or a shape mismatch.
    """
    check_audio(x)
    d = _as_delay(delay_samples, x.shape[0], x.shape[-1], x)
    check_range(d, "delay_samples", 0.0)
    return _fractional_delay(x, d)


@half_as_float32
def chorus(x: Tensor, sample_rate: float, rate_hz: ParamLike = 1.0, depth_ms: ParamLike = 2.0,
           delay_ms: ParamLike = 10.0, mix: ParamLike = 0.5) -> Tensor:
    """Chorus: the dry signal mixed with a copy read through a sine-modulated delay line.

    ``delay(t) = delay_ms + depth_ms·sin(2π·rate_hz·t)`` (milliseconds, ``t = n/sample_rate``),
    ``y = (1 − mix)·x + mix·x(t − delay(t))`` with linear interpolation between samples and silence
    before the start of the signal. ``depth_ms <= delay_ms`` keeps the delay non-negative (causal).

    Args:
        x: audio ``(batch, channels, samples)``; every channel gets the same delay.
        sample_rate: sample rate in Hz.
        rate_hz: LFO rate in Hz, in ``(0, sample_rate/2)``.
        depth_ms: delay swing in ms, in ``[0, delay_ms]``.
        delay_ms: centre delay in ms, ``>= 0``.
        mix: wet proportion in ``[0, 1]``.

    Every parameter is a float or a ``(batch,)`` tensor. The LFO phase and the delay in samples
    are formed in float64 (a float32 delay of 5760 samples — 30 ms at 192 kHz — keeps only 5e-4
    sample of resolution), so float32 audio agrees with float64 audio however long it is.

    Returns:
        Audio ``(batch, channels, samples)``, differentiable w.r.t. ``x``, ``mix``, ``delay_ms``,
        ``depth_ms`` and ``rate_hz`` (the last three through the interpolation weights).

    Raises:
        ValueError: on bad audio, a parameter outside its range, ``depth_ms > delay_ms``, a
            non-positive sample rate or a batch mismatch.
    """
    check_audio(x)
    sample_rate = check_sample_rate(sample_rate)
    batch = x.shape[0]
    wide = _float64(x)  # the delay line's parameters stay in float64
    rate = _check_rate(as_batched(rate_hz, batch, wide, "rate_hz"), sample_rate)
    depth = check_range(as_batched(depth_ms, batch, wide, "depth_ms"), "depth_ms", 0.0)
    delay = check_range(as_batched(delay_ms, batch, wide, "delay_ms"), "delay_ms", 0.0)
    m = check_range(as_batched(mix, batch, x, "mix"), "mix", 0.0, 1.0)
    too_deep = depth.detach() > delay.detach()
    if bool(too_deep.any()):
        i = int(too_deep.nonzero()[0, 0])
        raise ValueError(f"depth_ms must not exceed delay_ms (the delay would turn negative), "
                         f"got depth_ms={depth[i].item():g} > delay_ms={delay[i].item():g} "
                         f"for item {i}")
    osc = lfo(x.shape[-1], sample_rate, rate, "sine", 0.0, like=wide, batch=batch)
    delay_samples = (delay[:, None] + depth[:, None] * osc) * (sample_rate / 1000.0)
    # Rounding can leave -1e-16 where depth_ms == delay_ms; the clamp only acts there.
    wet = _fractional_delay(x, delay_samples.clamp(min=0.0))
    m = m[:, None, None]
    return (1.0 - m) * x + m * wet


__all__ = ["LFO_SHAPES", "SQUARE_SHARPNESS", "chorus", "fractional_delay", "lfo", "tremolo"]
