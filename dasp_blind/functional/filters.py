"""Biquad design (RBJ Audio-EQ-Cookbook) and two ways of running a biquad cascade.

* :func:`fft_sosfilt` — the whole cascade with ONE FFT pair: the product of the sections'
  exact frequency responses, sampled at the FFT bins, multiplies the spectrum of the zero-padded
  signal. Fast, batched, runs on any device; the only error is the part of the impulse response
  longer than the zero padding (``tail``), which wraps around.
* :func:`sosfilt` — the exact time-domain recursion (matches ``scipy.signal.sosfilt``), run by
  scipy's compiled ``lfilter`` in float64, with a custom backward (the same filter run backwards
  in time). CPU kernel: CUDA tensors are copied to the host and back.

Second-order sections are stored as ``sos`` tensors of shape ``(batch, n_sections, 6)`` holding
``[b0, b1, b2, a0, a1, a2]`` normalised so that ``a0 = 1``.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import scipy.signal
import torch
from torch import Tensor

from .._checks import (
    HALF_DTYPES,
    ParamLike,
    as_batched,
    check_audio,
    check_choice,
    check_int,
    check_number,
    check_range,
    check_sample_rate,
    check_tensor,
    half_as_float32,
)
from . import _cascade_kernels as cascade_kernels
from .units import GAIN_DB_RANGE, _db_to_gain

BIQUAD_KINDS = ("peak", "low_shelf", "high_shelf", "lowpass", "highpass")
#: Longest impulse-response tail (in samples) that :func:`fft_sosfilt` pads for by default; a
#: cascade whose slowest pole takes longer to decay below the dtype's eps runs in :func:`sosfilt`
#: instead.
MAX_FFT_TAIL = 1 << 22


def _design_dtype(tensors: list[Tensor]) -> torch.dtype:
    """dtype of the biquad design: float64 for Python numbers, else the tensors' promoted
    floating dtype (float16 / bfloat16 raised to float32)."""
    if not tensors:
        return torch.float64
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    if not dtype.is_floating_point:
        return torch.float64
    return torch.float32 if dtype in HALF_DTYPES else dtype


def biquad(kind: str, freq_hz: ParamLike, gain_db: ParamLike, q: ParamLike,
           sample_rate: float) -> tuple[Tensor, Tensor]:
    """RBJ cookbook biquad coefficients.

    Shelves use ``α = sin(w0)/(2Q)`` (as in the BE-AFX reference), not the cookbook slope ``S``.

    The coefficients are computed in float64 when every parameter is a Python number (in
    float32, a 10 Hz peak at 48 kHz is 0.009 dB off), else in the floating dtype of the given
    tensors (float16 and bfloat16 are raised to float32), on their device.

    Args:
        kind: one of ``peak``, ``low_shelf``, ``high_shelf``, ``lowpass``, ``highpass``.
        freq_hz: centre / corner frequency in Hz, ``(batch,)`` or float, in ``(0, sample_rate/2)``.
        gain_db: gain in dB in ``[−120, 120]`` (ignored by lowpass / highpass), ``(batch,)`` or
            float.
        q: quality factor ``> 0``, ``(batch,)`` or float.
        sample_rate: sample rate in Hz.

    Returns:
        ``(b, a)``, each of shape ``(batch, 3)``, normalised so that ``a[:, 0] == 1``.
    """
    check_choice(kind, "kind", BIQUAD_KINDS)
    sample_rate = check_sample_rate(sample_rate)
    tensors = [v for v in (freq_hz, gain_db, q) if isinstance(v, Tensor)]
    device = tensors[0].device if tensors else None
    like = torch.empty(0, dtype=_design_dtype(tensors), device=device)
    batch = max((t.reshape(-1).shape[0] for t in tensors), default=1)
    freq = check_range(as_batched(freq_hz, batch, like, "freq_hz"), "freq_hz", 0.0,
                       sample_rate / 2, low_inclusive=False, high_inclusive=False)
    gain = check_range(as_batched(gain_db, batch, like, "gain_db"), "gain_db", *GAIN_DB_RANGE)
    qf = check_range(as_batched(q, batch, like, "q"), "q", 0.0, low_inclusive=False)

    w0 = 2 * math.pi * freq / sample_rate
    cos_w0, alpha = torch.cos(w0), torch.sin(w0) / (2 * qf)
    amp = _db_to_gain(gain / 2)  # 10^(gain/40)
    one = torch.ones_like(w0)
    if kind == "peak":
        b = [1 + alpha * amp, -2 * cos_w0, 1 - alpha * amp]
        a = [1 + alpha / amp, -2 * cos_w0, 1 - alpha / amp]
    elif kind in ("low_shelf", "high_shelf"):
        sign = 1 if kind == "low_shelf" else -1
        two_sqrt_a_alpha = 2 * torch.sqrt(amp) * alpha
        ap1, am1 = amp + 1, amp - 1
        b = [amp * (ap1 - sign * am1 * cos_w0 + two_sqrt_a_alpha),
             sign * 2 * amp * (am1 - sign * ap1 * cos_w0),
             amp * (ap1 - sign * am1 * cos_w0 - two_sqrt_a_alpha)]
        a = [ap1 + sign * am1 * cos_w0 + two_sqrt_a_alpha,
             -sign * 2 * (am1 + sign * ap1 * cos_w0),
             ap1 + sign * am1 * cos_w0 - two_sqrt_a_alpha]
    elif kind == "lowpass":
        b = [(1 - cos_w0) / 2, 1 - cos_w0, (1 - cos_w0) / 2]
        a = [1 + alpha, -2 * cos_w0, 1 - alpha]
    else:  # highpass
        b = [(1 + cos_w0) / 2, -(1 + cos_w0), (1 + cos_w0) / 2]
        a = [1 + alpha, -2 * cos_w0, 1 - alpha]
    b_t = torch.stack(b, dim=-1)
    a_t = torch.stack([a[0] * one, a[1], a[2]], dim=-1)
    a0 = a_t[:, :1]
    return b_t / a0, a_t / a0


def biquads_to_sos(sections: list[tuple[Tensor, Tensor]]) -> Tensor:
    """Stack ``[(b, a), ...]`` (each ``(batch, 3)``) into ``sos`` of shape ``(batch, n, 6)``."""
    if not isinstance(sections, (list, tuple)) or not sections:
        raise ValueError(f"sections must be a non-empty list of (b, a) pairs, got {sections!r}")
    shapes = set()
    for k, pair in enumerate(sections):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ValueError(f"sections[{k}] must be a pair (b, a), got {type(pair).__name__}")
        for t in pair:
            check_tensor(t, f"sections[{k}]", "(batch, 3)")
            if t.dim() != 2 or t.shape[1] != 3:
                raise ValueError(f"sections[{k}] must hold b and a of shape (batch, 3), "
                                 f"got {tuple(t.shape)}")
            shapes.add(tuple(t.shape))
    if len(shapes) > 1:
        raise ValueError(f"sections must all have the same shape (batch, 3), got {sorted(shapes)}")
    return torch.stack([torch.cat([b, a], dim=-1) for b, a in sections], dim=1)


def check_sos(sos: Tensor, batch: int | None = None, name: str = "sos") -> Tensor:
    """Check that ``sos`` is a finite float tensor of shape ``(batch or 1, n_sections, 6)``
    (any batch when ``batch`` is None) with ``n_sections >= 1`` and ``a0 != 0``."""
    if not isinstance(sos, Tensor) or sos.dim() != 3 or sos.shape[-1] != 6 or sos.shape[1] < 1:
        shape = tuple(sos.shape) if isinstance(sos, Tensor) else type(sos).__name__
        raise ValueError(f"{name} must have shape (batch, n_sections, 6), got {shape}")
    if batch is not None and sos.shape[0] not in (1, batch):
        raise ValueError(f"{name} has batch size {sos.shape[0]} but the audio has batch size "
                         f"{batch}")
    check_tensor(sos, name, "(batch, n_sections, 6)")
    if bool((sos[..., 3] == 0).any()):
        raise ValueError(f"{name} has a section with a0 == 0")
    return sos


def sos_frequency_response(sos: Tensor, freqs_hz: Tensor, sample_rate: float) -> Tensor:
    """Complex response of a cascade at the given frequencies.

    Args:
        sos: ``(batch, n_sections, 6)``.
        freqs_hz: ``(n_freqs,)`` frequencies in Hz (any finite values; the response is periodic
            in ``sample_rate``).
        sample_rate: sample rate in Hz.

    Returns:
        Complex tensor ``(batch, n_freqs)``.
    """
    check_sos(sos)
    sample_rate = check_sample_rate(sample_rate)
    check_tensor(freqs_hz, "freqs_hz", "(n_freqs,)")
    if freqs_hz.dim() != 1:
        raise ValueError(f"freqs_hz must have shape (n_freqs,), got {tuple(freqs_hz.shape)}")
    w = 2 * math.pi * freqs_hz.to(device=sos.device, dtype=sos.dtype) / sample_rate
    return _cascade_response(_section_polynomials(to_delta_form(sos), _delta_basis(w)))


def _pole_radius(sos: Tensor) -> float:
    """Largest pole radius of the cascade over the batch (computed in float64)."""
    a = (sos[..., 3:] / sos[..., 3:4]).detach().to(torch.float64)
    a1, a2 = a[..., 1], a[..., 2]
    disc = torch.sqrt((a1 * a1 - 4 * a2).to(torch.complex128))
    return float(torch.maximum(((-a1 + disc) / 2).abs(), ((-a1 - disc) / 2).abs()).max())


def decay_length(sos: Tensor, tolerance: float = 1e-6, max_length: int | None = None) -> int:
    """Samples after which the slowest pole of the cascade has decayed below ``tolerance``.

    Uses the largest pole radius ``r`` over the batch: ``ceil(log(tolerance) / log(r)) + 2``,
    capped at ``max_length`` when one is given.

    Args:
        sos: ``(batch, n_sections, 6)``.
        tolerance: decay to reach, in ``(0, 1)`` (``1e-6``: 120 dB).
        max_length: cap in samples (integer ``>= 1``), or None for no cap.

    Raises:
        ValueError: on bad arguments, or a pole on or outside the unit circle (which never
            decays) when ``max_length`` is None.
    """
    check_sos(sos)
    tol = check_number(tolerance, "tolerance")
    if not 0.0 < tol < 1.0:
        raise ValueError(f"tolerance must lie in (0, 1), got {tolerance!r}")
    if max_length is not None:
        max_length = check_int(max_length, "max_length", low=1)
    return _decay_length(sos, tol, max_length)


def _decay_length(sos: Tensor, tolerance: float, max_length: int | None) -> int:
    """Unchecked core of :func:`decay_length`."""
    r = _pole_radius(sos)
    if r <= 0:
        return 2
    if r >= 1:
        if max_length is None:
            raise ValueError(f"sos has a pole of radius {r:g} >= 1, whose response never decays")
        return max_length
    length = math.ceil(math.log(tolerance) / math.log(r)) + 2
    return length if max_length is None else min(max_length, length)


def fft_size(num_samples: int, tail: int) -> int:
    """Next power of two ``>= num_samples + tail``."""
    return 1 << max(1, math.ceil(math.log2(num_samples + tail)))


@half_as_float32
def fft_sosfilt(x: Tensor, sos: Tensor, tail: int | None = None) -> Tensor:
    """Filter with a biquad cascade using one FFT pair for the whole cascade.

    ``n_fft`` is the next power of two ``>= T + tail``; ``tail`` defaults to the length after which
    the slowest pole has decayed below the dtype's resolution, ``finfo(x.dtype).eps`` (138 dB in
    float32, 313 dB in float64; :func:`decay_length`), so what wraps around is below rounding
    and the result is that of the causal filter. When that tail is longer than
    :data:`MAX_FFT_TAIL` samples, the exact recursion :func:`sosfilt` runs instead (on the CPU).
    Pass ``sos`` in float64 for
    accurate low-frequency sections: it is converted to :func:`to_delta_form` in its own dtype;
    on the CPU the response is then evaluated in float64, on CUDA after a cast to the dtype of
    ``x``. The product of the sections'
    responses is evaluated directly at the rfft bins (no FFT of the coefficients; on the CPU by a
    compiled kernel in float64), and the backward pass is written by hand (two FFTs and one pass
    over the bins for the coefficients).

    Args:
        x: audio ``(batch, channels, samples)``.
        sos: ``(batch, n_sections, 6)`` (or batch 1, broadcast).
        tail: zero padding in samples reserved for the impulse-response tail, an integer
            ``>= 0``; None (default) sizes it from the slowest pole, which must then lie inside
            the unit circle (a ``ValueError`` names ``sos`` otherwise).

    Returns:
        Filtered audio, same shape, dtype and device as ``x``.
    """
    check_audio(x)
    check_sos(sos, x.shape[0])
    if tail is None:
        tail = _decay_length(sos, torch.finfo(x.dtype).eps, None)
        if tail > MAX_FFT_TAIL:
            return sosfilt(x, sos)
    else:
        tail = check_int(tail, "tail", low=0)
    n_fft = fft_size(x.shape[-1], tail)
    delta = to_delta_form(sos)
    if delta.is_cuda:  # the CPU kernels evaluate the response in float64 themselves
        delta = delta.to(x.dtype)
    return _FFTCascade.apply(x, delta.expand(x.shape[0], -1, -1), n_fft)


def _bin_basis(n_fft: int, like: Tensor) -> Tensor:
    """Basis of :func:`_section_polynomials` at the ``F = n_fft // 2 + 1`` rfft bins."""
    w = torch.linspace(0, math.pi, n_fft // 2 + 1, device=like.device, dtype=like.dtype)
    return _delta_basis(w)


def _delta_basis(w: Tensor) -> Tensor:
    """Real basis ``(3, F, 2)``: ``(Re, Im)`` of ``[1, e^{−jw} − 1, e^{−2jw} − 1]``.

    ``cos(kw) − 1`` is computed as ``−2·sin²(kw/2)``, which keeps its relative accuracy at low
    frequencies, where the biquad polynomials nearly cancel.
    """
    taps = torch.arange(1, 3, device=w.device, dtype=w.dtype).unsqueeze(1) * w  # (2, F)
    re = torch.cat([torch.ones_like(w).unsqueeze(0), -2 * torch.sin(taps / 2) ** 2])
    im = torch.cat([torch.zeros_like(w).unsqueeze(0), -torch.sin(taps)])
    return torch.stack([re, im], dim=-1)


def to_delta_form(sos: Tensor) -> Tensor:
    """``[b0,b1,b2,a0,a1,a2]`` -> ``[B(1), b1, b2, A(1), a1, a2]`` (same shape).

    In this form ``B(e^{jw}) = B(1) + b1·(e^{−jw} − 1) + b2·(e^{−2jw} − 1)``, which evaluates
    accurately in float32 even for poles and zeros close to ``z = 1``. Convert in float64 first.
    """
    b, a = sos[..., :3], sos[..., 3:]
    return torch.cat([b.sum(-1, keepdim=True), b[..., 1:], a.sum(-1, keepdim=True), a[..., 1:]],
                     dim=-1)


def _section_polynomials(delta_sos: Tensor, basis: Tensor) -> Tensor:
    """``B_k(e^{jw})`` and ``A_k(e^{jw})`` of every section: complex ``(B, n, 2, F)``.

    ``delta_sos`` is in the form of :func:`to_delta_form`; ``basis`` from :func:`_delta_basis`.
    One real matrix product, viewed as complex.
    """
    batch, n_sections, _ = delta_sos.shape
    coef = delta_sos.reshape(batch, n_sections, 2, 3)
    values = coef @ basis.reshape(3, -1)  # (B, n, 2, 2F)
    return torch.view_as_complex(values.reshape(batch, n_sections, 2, -1, 2))


def _cascade_response(polys: Tensor) -> Tensor:
    """``Π_k B_k / Π_k A_k`` from :func:`_section_polynomials`: complex ``(B, F)``."""
    num_den = polys.prod(dim=1)
    return num_den[:, 0] / num_den[:, 1]


def rfft_response(sos: Tensor, n_fft: int) -> Tensor:
    """Complex response of a cascade at the ``n_fft // 2 + 1`` bins of an rfft: ``(batch, F)``.

    Args:
        sos: ``(batch, n_sections, 6)``.
        n_fft: FFT size, an integer ``>= 1``.
    """
    check_sos(sos)
    n_fft = check_int(n_fft, "n_fft", low=1)
    return _response_torch(to_delta_form(sos), n_fft)


@lru_cache(maxsize=4)
def _kernel_basis(n_fft: int) -> np.ndarray:
    """``Re φ1, Im φ1, Re φ2, Im φ2`` of :func:`_delta_basis` at the rfft bins, ``(4, F)``
    float64, for the compiled kernels."""
    w = torch.linspace(0, math.pi, n_fft // 2 + 1, dtype=torch.float64)
    return np.ascontiguousarray(_delta_basis(w)[1:].permute(0, 2, 1).reshape(4, -1).numpy())


def _response(delta: Tensor, n_fft: int, dtype: torch.dtype) -> Tensor:
    """``H`` of the cascade at the rfft bins, complex of ``dtype``'s precision ``(B, F)``: the
    compiled kernel in float64 on the CPU, :func:`_response_torch` elsewhere."""
    if delta.is_cuda:
        return _response_torch(delta.to(dtype), n_fft)
    out = torch.empty(delta.shape[0], n_fft // 2 + 1, 2, dtype=dtype)
    cascade_kernels.cascade_response(_float64_numpy(delta), _kernel_basis(n_fft), out.numpy())
    return torch.view_as_complex(out)


def _response_torch(delta: Tensor, n_fft: int) -> Tensor:
    """:func:`_response` as torch operations in ``delta``'s dtype (the CUDA path)."""
    return _cascade_response(_section_polynomials(delta, _bin_basis(n_fft, delta)))


def _float64_numpy(t: Tensor) -> np.ndarray:
    return t.detach().to(torch.float64).contiguous().numpy()


def _coefficient_gradient(delta: Tensor, g: Tensor, n_fft: int) -> Tensor:
    """``dL/d delta`` ``(B, n, 6)`` from ``g = conj(dL/dH)`` ``(B, F)``: the compiled kernel
    on the CPU, :func:`_coefficient_gradient_torch` elsewhere."""
    if delta.is_cuda:
        return _coefficient_gradient_torch(delta, g, n_fft).to(delta.dtype)
    grad = np.empty(delta.shape)
    cascade_kernels.cascade_coefficient_gradient(
        _float64_numpy(delta), _kernel_basis(n_fft),
        torch.view_as_real(g.resolve_conj()).contiguous().numpy(), grad)
    return torch.from_numpy(grad).to(delta.dtype)


def _coefficient_gradient_torch(delta: Tensor, g: Tensor, n_fft: int) -> Tensor:
    """:func:`_coefficient_gradient` as torch operations in ``g``'s precision (the CUDA path):
    ``Re Σ g·φ_j·Π_{i≠k} B_i / Π A`` for the numerators (products of the other sections, so
    that a zero of ``B_k`` on the unit circle divides nothing) and ``−Re Σ g·H·φ_j / A_k`` for
    the denominators."""
    basis = _bin_basis(n_fft, g.real)
    polys = _section_polynomials(delta.to(g.real.dtype), basis)  # (B, n, 2, F)
    numerators, denominators = polys[:, :, 0], polys[:, :, 1]
    ones = torch.ones_like(numerators[:, :1])
    before = torch.cat([ones, numerators[:, :-1]], dim=1).cumprod(dim=1)
    after = torch.cat([ones, numerators.flip(1)[:, :-1]], dim=1).cumprod(dim=1).flip(1)
    weight = g / denominators.prod(dim=1)  # (B, F)
    powers = torch.view_as_complex(basis.transpose(0, 1).contiguous())  # (F, 3)
    grad_num = ((weight[:, None] * before * after) @ powers).real
    grad_den = -((weight * numerators.prod(dim=1))[:, None] / denominators @ powers).real
    return torch.cat([grad_num, grad_den], dim=-1)


class _FFTCascade(torch.autograd.Function):
    """``y = crop(irfft(rfft(x, N) · H))`` with a hand-written backward; ``H`` from sections in
    the form of :func:`to_delta_form` (``c_j`` below are those coefficients, with basis
    ``φ_j(ω)`` = ``1, e^{−jω} − 1, e^{−2jω} − 1``). On the CPU ``H`` and the coefficients'
    gradient come from compiled kernels (:mod:`._cascade_kernels`) in float64, whatever the
    audio's dtype; on CUDA from torch operations in the audio's dtype.

    With ``G = rfft(g, N)`` for the output gradient ``g``:
    ``dL/dx = crop(irfft(G · conj(H)))``; ``dL/dH = Σ_c (w/N) · G · conj(X)`` (``w = 2`` on the
    interior bins, 1 at DC and Nyquist); and since ``∂H/∂c^B_kj = φ_j·Π_{i≠k} B_i / Π A`` and
    ``∂H/∂c^A_kj = −H·φ_j/A_k``, ``dL/dc = Re Σ_ω conj(dL/dH)·∂H/∂c``
    (:func:`_coefficient_gradient`).
    """

    @staticmethod
    def forward(ctx, x: Tensor, sos: Tensor, n_fft: int) -> Tensor:
        response = _response(sos, n_fft, x.dtype)
        spectrum = torch.fft.rfft(x, n=n_fft)
        ctx.save_for_backward(sos, spectrum if ctx.needs_input_grad[1] else None, response)
        ctx.n_fft = n_fft
        ctx.num_samples = x.shape[-1]
        return torch.fft.irfft(spectrum * response.unsqueeze(1), n=n_fft)[..., : x.shape[-1]]

    @staticmethod
    def backward(ctx, grad_y: Tensor):
        sos, spectrum, response = ctx.saved_tensors
        n_fft = ctx.n_fft
        grad_spec = torch.fft.rfft(grad_y, n=n_fft)  # (B, C, F)
        grad_x = grad_sos = None
        if ctx.needs_input_grad[0]:
            grad_x = torch.fft.irfft(grad_spec * response.conj().unsqueeze(1),
                                     n=n_fft)[..., : ctx.num_samples]
        if ctx.needs_input_grad[1]:
            weight = torch.full((n_fft // 2 + 1,), 2.0 / n_fft, device=sos.device,
                                dtype=spectrum.real.dtype)
            weight[0] = weight[-1] = 1.0 / n_fft
            grad_h = (grad_spec * spectrum.conj()).sum(dim=1) * weight  # (B, F)
            grad_sos = _coefficient_gradient(sos, grad_h.conj(), n_fft)
        return grad_x, grad_sos, None


# --- exact time-domain filtering ------------------------------------------------------------

def _lfilter_np(b: np.ndarray, a: np.ndarray, x: np.ndarray, reverse: bool = False) -> np.ndarray:
    """``scipy.signal.lfilter`` along the last axis of ``x`` (optionally in reverse time)."""
    if reverse:
        return scipy.signal.lfilter(b, a, x[..., ::-1], axis=-1)[..., ::-1]
    return scipy.signal.lfilter(b, a, x, axis=-1)


def _to_np(t: Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float64).numpy()


def _lag_products(u: np.ndarray, v: np.ndarray, lags: int) -> np.ndarray:
    """``[Σ_{c,n} u[c,n]·v[c,n−k] for k in range(lags)]``."""
    n = u.shape[-1]
    return np.array([np.sum(u[..., k:] * v[..., : n - k]) for k in range(lags)])


class _Biquad(torch.autograd.Function):
    """One second-order section ``y = B/A · x`` with per-item coefficients (``a0 = 1``).

    Backward: with the all-pole state ``v = x / A`` (so ``y = B·v``) and ``g = dL/dy``,
    ``dL/dx = flip(lfilter(b, a, flip(g)))``, ``dL/db_k = Σ g[n]·v[n−k]`` and
    ``dL/da_k = −Σ dL/dx[n]·v[n−k]``.
    """

    @staticmethod
    def forward(ctx, x: Tensor, b: Tensor, a: Tensor) -> Tensor:
        x_np, b_np, a_np = _to_np(x), _to_np(b), _to_np(a)
        v = np.stack([_lfilter_np([1.0], a_np[i], x_np[i]) for i in range(x_np.shape[0])])
        y = np.stack([_lfilter_np(b_np[i], [1.0], v[i]) for i in range(x_np.shape[0])])
        ctx.save_for_backward(b, a)
        ctx.v = v
        return torch.from_numpy(y).to(device=x.device, dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad_y: Tensor):
        b, a = ctx.saved_tensors
        b_np, a_np, g = _to_np(b), _to_np(a), _to_np(grad_y)
        v = ctx.v
        batch = g.shape[0]
        grad_x = np.stack([_lfilter_np(b_np[i], a_np[i], g[i], reverse=True)
                           for i in range(batch)])
        grad_b = np.stack([_lag_products(g[i], v[i], 3) for i in range(batch)])
        grad_a = np.stack([-_lag_products(grad_x[i], v[i], 3) for i in range(batch)])
        grad_a[:, 0] = 0.0  # a0 is fixed to 1 by construction

        def as_t(arr, like):
            return torch.from_numpy(np.ascontiguousarray(arr)).to(device=like.device,
                                                                  dtype=like.dtype)

        return as_t(grad_x, grad_y), as_t(grad_b, b), as_t(grad_a, a)


@half_as_float32
def sosfilt(x: Tensor, sos: Tensor) -> Tensor:
    """Exact time-domain biquad cascade, like ``scipy.signal.sosfilt``, with zero initial state.

    Computed in float64 by scipy's compiled ``lfilter``, one call per batch item and section;
    differentiable w.r.t. ``x`` and ``sos`` through a custom backward that runs the same filter
    backwards in time. CUDA tensors are processed on the host.

    Args:
        x: audio ``(batch, channels, samples)``.
        sos: ``(batch, n_sections, 6)`` (or batch 1, broadcast); sections need not be normalised.

    Returns:
        Filtered audio, same shape, dtype and device as ``x``.
    """
    check_audio(x)
    check_sos(sos, x.shape[0])
    sos = sos.double().expand(x.shape[0], -1, -1)
    sos = sos / sos[..., 3:4]
    y = x.double()  # the whole cascade runs in float64; one rounding at the end
    for k in range(sos.shape[1]):
        y = _Biquad.apply(y, sos[:, k, :3], sos[:, k, 3:])
    return y.to(x.dtype)
