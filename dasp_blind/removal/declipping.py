"""A-SPADE declipping (Kitić, Bertin & Gribonval, 2015) with the settings of the declipping
survey of Záviška, Rajmic, Ozerov & Rencker (2021), the baseline of Imort et al. (ISMIR 2022).

A clipped signal ``y`` is cut into overlapping blocks; in each block the algorithm looks for the
signal that is *sparsest* in a redundant DFT among those *consistent* with the clipping: equal
to ``y`` where ``y`` was not clipped, at or above the threshold where ``y`` was clipped at
``+θ``, at or below where it was clipped at ``−θ``. Sparsity is relaxed step by step (ADMM on
the analysis model, the "A" of A-SPADE): with ``A`` the DFT of the block zero-padded to
``redundancy·w`` samples (unitary), ``A*`` its adjoint (inverse DFT truncated to ``w``) and
``x̂ ← y_w`` (the windowed block), ``z ← A x̂``, ``u ← 0``, ``k ← s``, each iteration does

1. ``z̄ = H_k(z + u)``: keep the ``k`` largest-magnitude coefficients of the half spectrum (DC
   ranked at half its magnitude), with their complex conjugates;
2. ``obj = ‖z − z̄‖₂``; remember the ``x̂`` of the smallest ``obj``; stop when ``obj ≤ ε``;
3. ``x̂ = P_Γ(A*(z̄ − u))``, the projection onto the consistent set;
4. ``z = A x̂``, ``u = u + z − z̄``; every ``r``-th iteration ``k ← k + s``.

The result of a block is the remembered ``x̂``. Blocks are windowed by a peak-normalised
periodic Hann window of ``w`` samples with a hop of ``w/4`` (75 % overlap) and put back by the
canonical dual window and overlap-add; the signal is zero-padded to
``L = ceil(n/a)·a + 3a`` samples and framed circularly, as ``spade_segmentation.m`` of the
survey's code does. Blocks without a clipped sample are left as they are (every iterate is then
``y_w`` itself), so unclipped passages cost nothing.

Implementation: every clipped block of every item and channel is a row of one batch; all rows
iterate together (batched ``rfft`` / ``irfft``, ``topk`` on magnitudes). A row that converges
leaves the batch and a waiting block takes its place (each row keeps its own iteration count and
``k``), so memory stays bounded and no converged block costs an FFT.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from .._checks import (
    check_audio,
    check_bool,
    check_int,
    check_non_negative,
    check_positive,
    check_sample_rate,
    half_as_float32,
)

#: Window length of the survey, 8192 samples at 44.1 kHz, in seconds.
DEFAULT_WINDOW_S = 8192 / 44100
#: Relative tolerance, in units of the dtype's eps, within which a sample counts as sitting at
#: the clipping level: ``y ≥ θ·(1 − CLIP_TOLERANCE_EPS·eps)`` is clipped at ``+θ``.
CLIP_TOLERANCE_EPS = 4
#: Inputs longer than this (in seconds) show a progress bar when ``progress`` is ``None``.
PROGRESS_AUTO_S = 30.0
#: Window samples held by the batch of iterating blocks (``_POOL_SAMPLES // w`` rows, 512 at
#: 44.1 kHz): about 300 MB of working memory in float32, 600 MB in float64.
_POOL_SAMPLES = 1 << 22


# --- clipping masks ---------------------------------------------------------------------------

def _tolerance(dtype: torch.dtype) -> float:
    return CLIP_TOLERANCE_EPS * torch.finfo(dtype).eps


def _detected_masks(y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Clipping levels ``(batch, channels, 2)`` and high / low masks of :func:`detect_clipping`."""
    tol = _tolerance(y.dtype)
    upper = y.amax(dim=-1, keepdim=True)
    lower = y.amin(dim=-1, keepdim=True)
    high = (y >= upper * (1 - tol)) & (upper > 0)
    low = (y <= lower * (1 - tol)) & (lower < 0)
    # a single sample at the extreme is an ordinary peak, not a clipped run
    high &= high.sum(dim=-1, keepdim=True) >= 2
    low &= low.sum(dim=-1, keepdim=True) >= 2
    inf = torch.full_like(upper, math.inf)
    levels = torch.cat([torch.where(high.any(-1, keepdim=True), upper, inf),
                        torch.where(low.any(-1, keepdim=True), lower, -inf)], dim=-1)
    return levels, high, low


def detect_clipping(y: Tensor) -> tuple[Tensor, Tensor]:
    """Find the clipping levels and the clipped samples of each item and channel.

    A hard clipper leaves runs of samples at exactly its level, so the clipped samples are those
    at the channel's maximum (positive side) or minimum (negative side), each side on its own
    (asymmetric clipping is found too). A sample counts as sitting at the level when it is within
    a relative :data:`CLIP_TOLERANCE_EPS` eps of the dtype (4 eps: float rounding of a gain
    applied after the clipper), and a side counts as clipped only when at least two samples sit
    there and its level has the side's sign: a single sample at the maximum is an ordinary peak.

    Args:
        y: audio ``(batch, channels, samples)``.

    Returns:
        ``levels`` ``(batch, channels, 2)``: the positive level (the maximum) and the negative
        level (the minimum) of each channel, ``+inf`` / ``−inf`` for a side that is not clipped;
        ``clipped`` ``(batch, channels, samples)``, bool: the clipped samples (those ``> 0`` at the
        positive level, those ``< 0`` at the negative level).

    Raises:
        ValueError: if ``y`` is not finite float audio of that shape.
    """
    check_audio(y, "y")
    with torch.no_grad():
        levels, high, low = _detected_masks(y.detach())
    return levels, high | low


def _threshold_masks(y: Tensor, threshold: float | Tensor) -> tuple[Tensor, Tensor]:
    """High / low masks for a given clipping threshold: ``y ≥ θ`` and ``y ≤ −θ`` (within the
    relative tolerance)."""
    batch, channels = y.shape[:2]
    if isinstance(threshold, Tensor):
        if not threshold.is_floating_point() or threshold.is_complex():
            raise ValueError(f"threshold must be a float or a real floating-point tensor, got a "
                             f"{threshold.dtype} tensor")
        shapes = ((), (1,), (batch,), (batch, channels))
        if tuple(threshold.shape) not in shapes:
            raise ValueError(f"threshold must be a float or a tensor of shape (), (batch,) or "
                             f"(batch, channels) = {(batch,)} or {(batch, channels)}, got shape "
                             f"{tuple(threshold.shape)}")
        theta = threshold.detach().to(device=y.device, dtype=y.dtype)
        theta = theta.reshape(-1, 1, 1) if theta.dim() < 2 else theta[..., None]
        if not bool(torch.isfinite(theta).all()) or bool((theta <= 0).any()):
            raise ValueError("threshold must hold finite positive values (in "
                             f"{y.dtype}), got {threshold.flatten()[:4].tolist()}")
    else:
        theta = torch.tensor(check_positive(threshold, "threshold"), device=y.device,
                             dtype=y.dtype)
    bound = theta * (1 - _tolerance(y.dtype))
    return y >= bound, y <= -bound


# --- framing ----------------------------------------------------------------------------------

def project_consistent(estimate: Tensor, y: Tensor,
                       threshold: float | Tensor | None = None) -> Tensor:
    """Make a declipped estimate consistent with the hard-clipped signal ``y`` it came from.

    The consistent set of ``y`` (the signals a hard clipper would turn into ``y``) is convex
    and holds the true unclipped signal: equal to ``y`` where ``y`` is not clipped, at or above
    the level where ``y`` sits at ``+θ``, at or below where it sits at ``−θ``. The estimate is
    first scaled per item by the least-squares gain that fits it to ``y`` on the unclipped
    samples (a restoration network may return a quieter signal than the clipper's input; 1
    when no sample is unclipped or the estimate is silent there), then projected onto the set
    sample by sample: unclipped samples are replaced by ``y``, clipped ones raised to the level
    (or lowered to ``−θ``) where they fall short of it. A projection onto a convex set that
    holds the truth never moves the scaled estimate away from it: its distance to the true
    signal at ``y``'s level does not grow.

    Only for hard clipping (where the unclipped samples are exact); soft clipping and overdrive
    change every sample.

    Args:
        estimate: the restored signal ``(batch, channels, samples)``.
        y: the clipped signal, the same shape.
        threshold: the clipping level ``θ > 0`` (float or a tensor of shape ``()``,
            ``(batch,)`` or ``(batch, channels)``), or ``None`` to detect each channel's levels
            with :func:`detect_clipping`.

    Returns:
        ``(batch, channels, samples)`` in the dtype of ``estimate``; differentiable with respect
        to ``estimate``.

    Raises:
        ValueError: naming the argument, for audio that is not finite float audio of one shape
            or a bad threshold.
    """
    check_audio(estimate, "estimate")
    check_audio(y, "y")
    if estimate.shape != y.shape:
        raise ValueError(f"estimate and y must have the same shape, got "
                         f"{tuple(estimate.shape)} and {tuple(y.shape)}")
    y = y.detach().to(estimate.dtype)
    if threshold is None:
        levels, high, low = _detected_masks(y)
        upper, lower = levels[..., :1], levels[..., 1:]
    else:
        high, low = _threshold_masks(y, threshold)
        upper = torch.where(high, y, torch.full_like(y, math.inf)).amin(-1, keepdim=True)
        lower = torch.where(low, y, torch.full_like(y, -math.inf)).amax(-1, keepdim=True)
    reliable = ~(high | low)
    dims = tuple(range(1, y.dim()))
    fit = (estimate * y * reliable).sum(dims, keepdim=True)
    energy = (estimate.square() * reliable).sum(dims, keepdim=True)
    usable = energy > torch.finfo(estimate.dtype).tiny
    gain = torch.where(usable, fit / torch.where(usable, energy, torch.ones_like(energy)),
                       torch.ones_like(energy))
    scaled = gain * estimate
    out = torch.where(reliable, y, scaled)
    out = torch.where(high, torch.maximum(out, upper.expand_as(out)), out)
    return torch.where(low, torch.minimum(out, lower.expand_as(out)), out)


def window_length(sample_rate: float, window_s: float | None = None) -> int:
    """Window length in samples: ``window_s·sample_rate`` rounded to a multiple of 4 (the hop is
    a quarter window), 8192 at 44.1 kHz by default (:data:`DEFAULT_WINDOW_S`).

    Raises:
        ValueError: if the window would be shorter than 4 samples.
    """
    sample_rate = check_sample_rate(sample_rate)
    name = "sample_rate" if window_s is None else "window_s"
    seconds = DEFAULT_WINDOW_S if window_s is None else check_positive(window_s, "window_s")
    w = 4 * round(seconds * sample_rate / 4)
    if w < 4:
        raise ValueError(f"{name} gives a window of {seconds * sample_rate:.3g} samples "
                         f"(window_s={seconds:g} s at sample_rate={sample_rate:g} Hz); A-SPADE "
                         f"needs at least 4")
    return w


def _windows(w: int, dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor]:
    """Peak-normalised periodic Hann analysis window ``(w,)`` and its canonical dual for a hop
    of ``w/4`` (``g / Σ_m g²(t − m·w/4)``, exact because the window fits in one DFT frame), in
    block order (the block starts ``w/2`` samples before its centre)."""
    t = torch.arange(w, dtype=torch.float64)
    g = 0.5 - 0.5 * torch.cos(2 * math.pi * t / w)
    g = g / g.max()
    energy = g.square().reshape(4, w // 4).sum(0).repeat(4)
    return g.to(device=device, dtype=dtype), (g / energy).to(device=device, dtype=dtype)


class _Blocks:
    """The circular blocks of ``spade_segmentation.m`` over rows of audio ``(rows, n)``.

    The signal is zero-padded to ``L = N·a`` samples, ``N = ceil(n/a) + 3``, and block ``m``
    (``0 <= m < N``) covers samples ``m·a − 2a … m·a + 2a − 1`` modulo ``L``, i.e. it is centred
    on ``m·a``. Every sample lies in four blocks. Blocks are read from, and overlap-added into,
    the *extended* signal ``[last 2a samples | padded | first a samples]`` of ``(N + 3)·a``
    samples, where block ``m`` starts at ``m·a``: no copy of all blocks is ever made.
    """

    def __init__(self, n: int, w: int) -> None:
        self.n, self.w, self.a = n, w, w // 4
        self.count = math.ceil(n / self.a) + 3                      # N
        self.length = self.count * self.a                           # L

    def extend(self, x: Tensor) -> Tensor:
        """``(rows, n)`` -> the extended signal ``(rows, (N + 3)·a)``."""
        padded = torch.nn.functional.pad(x, (0, self.length - self.n))
        return torch.cat([padded[:, -2 * self.a:], padded, padded[:, :self.a]], dim=1)

    def touched(self, mask: Tensor) -> tuple[Tensor, Tensor]:
        """``(row, block)`` indices of the blocks holding a ``True`` of ``mask`` ``(rows, n)``."""
        quarters = self.extend(mask).reshape(mask.shape[0], self.count + 3, self.a).any(-1)
        hit = quarters[:, :-3] | quarters[:, 1:-2] | quarters[:, 2:-1] | quarters[:, 3:]
        return hit.nonzero(as_tuple=True)

    def gather(self, x: Tensor, rows: Tensor, blocks: Tensor) -> Tensor:
        """Blocks ``(rows[i], blocks[i])`` of ``x`` ``(rows, n)``: ``(len(rows), w)``."""
        return self.extend(x).unfold(1, self.w, self.a)[rows, blocks]

    def overlap_add(self, values: Tensor, rows: Tensor, blocks: Tensor, total: int) -> Tensor:
        """Sum blocks ``values`` ``(len(rows), w)`` at ``(rows, blocks)`` into ``(total, n)``."""
        a = self.a
        out = values.new_zeros(total, self.count + 3, a)
        quarter = blocks[:, None] + torch.arange(4, device=blocks.device)
        out.index_put_((rows[:, None], quarter), values.reshape(-1, 4, a), accumulate=True)
        out = out.reshape(total, -1)
        signal = out[:, 2 * a:2 * a + self.n].clone()
        head = min(a, self.n)                       # the last blocks wrap onto the start
        signal[:, :head] += out[:, self.length + 2 * a:self.length + 2 * a + head]
        return signal


# --- the solver -------------------------------------------------------------------------------

#: The per-row state of a :class:`_Pool`, as tensors with one row per block.
_STATE = ("lower", "upper", "ids", "padded", "z", "u", "best_x", "best_obj")


class _Pool:
    """The rows of blocks iterating together, and their state: ``x̂`` (held zero-padded to the
    DFT size, so that ``A x̂`` needs no new padding), ``z = A x̂``, the dual ``u``, the best
    iterate and its objective, MATLAB's counter ``cnt`` and the sparsity ``k`` of each row."""

    def __init__(self, yw: Tensor, lower: Tensor, upper: Tensor, ids: Tensor,
                 red: int, s: int) -> None:
        rows, self.w = yw.shape
        self.lower, self.upper, self.ids = lower, upper, ids
        self.padded = yw.new_zeros(rows, red * self.w)
        self.x.copy_(yw)
        self.z = self.analysis()
        self.u = torch.zeros_like(self.z)
        self.best_x = yw.clone()
        self.best_obj = torch.full((rows,), math.inf, dtype=yw.dtype, device=yw.device)
        self.count = np.ones(rows, dtype=np.int64)
        self.k = np.full(rows, s, dtype=np.int64)

    @property
    def x(self) -> Tensor:
        """The current iterate ``x̂`` ``(rows, w)``, a view of :attr:`padded`."""
        return self.padded[:, :self.w]

    def analysis(self) -> Tensor:
        """``A x̂``: the unitary DFT of the blocks zero-padded to ``redundancy·w``."""
        return torch.fft.rfft(self.padded, norm="ortho")

    def __len__(self) -> int:
        return self.padded.shape[0]

    def replace(self, slots: Tensor, other: _Pool, take: Tensor) -> None:
        """Put rows ``take`` of ``other`` into rows ``slots``."""
        for name in _STATE:
            getattr(self, name)[slots] = getattr(other, name)[take]
        slots_np, take_np = slots.cpu().numpy(), take.cpu().numpy()
        self.count[slots_np] = other.count[take_np]
        self.k[slots_np] = other.k[take_np]

    def keep(self, rows: Tensor) -> None:
        """Keep only rows ``rows``."""
        for name in _STATE:
            setattr(self, name, getattr(self, name)[rows])
        rows_np = rows.cpu().numpy()
        self.count, self.k = self.count[rows_np], self.k[rows_np]


def _power(v: Tensor) -> Tensor:
    """``|v|²`` of a complex tensor (the magnitudes' ranking without square roots)."""
    parts = torch.view_as_real(v)
    real, imag = parts[..., 0], parts[..., 1]
    return torch.addcmul(real * real, imag, imag)


def _hard_threshold(v: Tensor, k: np.ndarray) -> tuple[Tensor, Tensor]:
    """``H_k`` on half spectra ``v`` ``(rows, F)``: each row's ``k`` coefficients of largest
    magnitude (the DC one ranked at half its magnitude), as ``(index, values)`` of shape
    ``(rows, max k)``; ``z̄`` is ``values`` scattered at ``index`` into zeros (rows with a
    smaller ``k`` have zeros among their values)."""
    bins = v.shape[1]
    k_max, k_min = min(int(k.max()), bins), min(int(k.min()), bins)
    if k_min == bins:
        index = torch.arange(bins, device=v.device).expand(v.shape[0], bins)
        return index, v
    power = _power(v)
    power[:, 0] *= 0.25
    index = power.topk(k_max, dim=1, sorted=k_min != k_max).indices  # (rows, k_max)
    values = v.gather(1, index)
    if k_min != k_max:  # rows at different k: the sorted first k of each row
        rank = torch.arange(k_max, device=v.device)
        values.masked_fill_(rank >= torch.as_tensor(k, device=v.device)[:, None], 0)
    return index, values


def _full_spectrum_norm(d: Tensor) -> Tensor:
    """``‖·‖₂`` of the full (conjugate-symmetric, even-length) spectrum whose half spectrum is
    ``d`` ``(rows, F)``: every bin but DC and Nyquist counts twice."""
    parts = torch.view_as_real(d)
    total = torch.linalg.vector_norm(parts, dim=(1, 2)).square()
    edges = parts[:, ::parts.shape[1] - 1].square().sum(dim=(1, 2))
    return (2 * total - edges).clamp_min(0).sqrt()


def _solve(yw: Tensor, lower: Tensor, upper: Tensor, red: int, s: int, r: int, eps: float,
           max_iterations: int, bar) -> Tensor:
    """Run A-SPADE on the windowed blocks ``yw`` ``(blocks, w)`` with projection bounds
    ``lower`` / ``upper``; return the chosen ``x̂`` of each block, ``(blocks, w)``."""
    blocks, w = yw.shape
    result = torch.empty_like(yw)
    ids = torch.arange(blocks, device=yw.device)

    def pool_of(start: int, stop: int) -> _Pool:
        return _Pool(yw[start:stop], lower[start:stop].clone(), upper[start:stop].clone(),
                     ids[start:stop].clone(), red, s)

    queued = min(blocks, max(1, _POOL_SAMPLES // w))
    pool = pool_of(0, queued)
    while len(pool):
        index, values = _hard_threshold(pool.z + pool.u, pool.k)
        # ‖z − z̄‖: z̄ is zero but at ``index``, where z − z̄ = z − (z + u)
        obj = _full_spectrum_norm(pool.z.scatter(1, index, pool.z.gather(1, index) - values))
        better = obj <= pool.best_obj
        pool.best_obj = torch.where(better, obj, pool.best_obj)
        pool.best_x = torch.where(better[:, None], pool.x, pool.best_x)

        # projection onto the consistent set, then the dual update (wasted on finished rows)
        b = pool.u.neg_()                                                 # z̄ − u, in u's place
        b.scatter_(1, index, values + b.gather(1, index))
        synthesis = torch.fft.irfft(b, n=pool.padded.shape[1], norm="ortho")[:, :w]
        torch.clamp(synthesis, min=pool.lower, max=pool.upper, out=pool.x)
        pool.z = pool.analysis()
        pool.u = torch.sub(pool.z, b, out=b)                              # u + z − z̄
        pool.count += 1
        pool.k += s * (pool.count % r == 0)

        finished = (obj <= eps).cpu().numpy() | (pool.count > max_iterations)
        if finished.any():
            rows = torch.from_numpy(np.flatnonzero(finished)).to(yw.device)
            result[pool.ids[rows]] = pool.best_x[rows]
            bar.update(len(rows))
            fresh = min(len(rows), blocks - queued)
            if fresh:
                pool.replace(rows[:fresh], pool_of(queued, queued + fresh),
                             torch.arange(fresh, device=yw.device))
                queued += fresh
            if fresh < len(rows):
                stay = torch.ones(len(pool), dtype=torch.bool, device=yw.device)
                stay[rows[fresh:]] = False
                pool.keep(stay.nonzero().squeeze(1))
    return result


# --- public entry point -----------------------------------------------------------------------

def _progress_bar(show: bool, total: int):
    """A tqdm bar over finished blocks, or a stand-in that ignores updates."""
    if show:
        return tqdm(total=total, desc="A-SPADE", unit="block")
    return _NoBar()


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


@half_as_float32("y")
def aspade(y: Tensor, sample_rate: float, threshold: float | Tensor | None = None, *,
           window_s: float | None = None, redundancy: int = 2, s: int = 1, r: int = 2,
           eps: float = 0.1, max_iterations: int | None = None,
           progress: bool | None = None) -> Tensor:
    """Declip audio with A-SPADE (Kitić et al., 2015) in the settings of the declipping survey.

    Settings (the survey's defaults): a peak-normalised periodic Hann window of ``w`` samples,
    ``w`` = 8192 at 44.1 kHz scaled with the sample rate (:func:`window_length`), hop ``w/4``;
    the DFT of each block zero-padded to ``redundancy·w``; sparsity ``k`` starting at ``s`` and
    growing by ``s`` every ``r``-th iteration; a block stops when ``‖z − z̄‖₂ ≤ eps`` (the
    coefficients are those of the unitary DFT, so ``eps`` is in the signal's units: the same
    audio at a tenth of the level converges sooner) or after
    ``ceil(floor(w·redundancy/2 + 1)·r/s)`` iterations, returning its iterate of smallest
    objective. See the module docstring for the algorithm.

    What the output guarantees: samples that were not clipped come back bit for bit; samples
    clipped at ``+θ`` come back at or above their input value (``θ``), those clipped at ``−θ``
    at or below it (each block's estimate meets these bounds and the dual window is
    non-negative, so the overlap-added correction keeps them). Channels without a clipped
    sample, and silence, come back unchanged.

    As in the survey's code the signal is zero-padded: an input that starts or ends inside a
    clipped run has a step from 0 there, and the estimate can overshoot at that edge. The
    function is not differentiable (it runs without gradients; the output is detached).

    Args:
        y: clipped audio ``(batch, channels, samples)``, any device; float16 / bfloat16 are
            computed in float32.
        sample_rate: sample rate in Hz (sets the window length).
        threshold: the clipping level ``θ > 0`` (samples at ``≥ θ`` or ``≤ −θ`` are clipped): a
            float, or a tensor of shape ``()``, ``(batch,)`` or ``(batch, channels)``. ``None``
            (the default) detects each channel's levels, positive and negative separately, with
            :func:`detect_clipping`.
        window_s: window length in seconds; ``None`` for 8192 samples at 44.1 kHz
            (:data:`DEFAULT_WINDOW_S`). Rounded to a multiple of 4 samples.
        redundancy: DFT size over window length (``>= 1``; 2 in the survey).
        s: sparsity increment (``>= 1``).
        r: increment ``k`` every ``r``-th iteration (``>= 1``).
        eps: stopping threshold on ``‖z − z̄‖₂`` (``>= 0``).
        max_iterations: iterations per block at most (``>= 1``); ``None`` for the survey's
            ``ceil(floor(w·redundancy/2 + 1)·r/s)``.
        progress: show a tqdm bar of the finished blocks; ``None`` shows it for inputs
            longer than :data:`PROGRESS_AUTO_S` seconds.

    Returns:
        The declipped audio ``(batch, channels, samples)``, same dtype and device as ``y``.

    Raises:
        ValueError: naming the argument, for audio that is not finite float
            ``(batch, channels, samples)``, a non-positive sample rate, threshold or window,
            a window shorter than 4 samples, or a setting outside its range.
    """
    check_audio(y, "y")
    w = window_length(sample_rate, window_s)
    red = check_int(redundancy, "redundancy", low=1)
    s = check_int(s, "s", low=1)
    r = check_int(r, "r", low=1)
    eps = check_non_negative(eps, "eps")
    if max_iterations is None:
        max_iterations = math.ceil((w * red // 2 + 1) * r / s)
    max_iterations = check_int(max_iterations, "max_iterations", low=1)
    if progress is None:
        progress = y.shape[-1] > PROGRESS_AUTO_S * sample_rate
    progress = check_bool(progress, "progress")
    if threshold is not None and not isinstance(threshold, (Tensor, numbers.Real)):
        raise ValueError(f"threshold must be None, a float or a tensor, got {threshold!r}")

    with torch.no_grad():
        y = y.detach()
        if threshold is None:
            _, high, low = _detected_masks(y)
        else:
            high, low = _threshold_masks(y, threshold)
        batch, channels, n = y.shape
        rows = batch * channels
        high, low = high.reshape(rows, n), low.reshape(rows, n)
        framing = _Blocks(n, w)
        row, block = framing.touched(high | low)
        if len(row) == 0:
            return y.clone()
        g_ana, g_syn = _windows(w, y.dtype, y.device)
        yw = framing.gather(y.reshape(rows, n), row, block) * g_ana        # (blocks, w)
        upper = torch.where(framing.gather(high, row, block), math.inf, yw)
        lower = torch.where(framing.gather(low, row, block), -math.inf, yw)
        bar = _progress_bar(progress, len(row))
        try:
            x_hat = _solve(yw, lower, upper, red, s, r, eps, max_iterations, bar)
        finally:
            bar.close()
        # only the correction is overlap-added: the unclipped samples get exactly 0
        added = framing.overlap_add((x_hat - yw) * g_syn, row, block, rows)
        return y + added.reshape(batch, channels, n)


__all__ = ["CLIP_TOLERANCE_EPS", "DEFAULT_WINDOW_S", "aspade", "detect_clipping",
           "project_consistent", "window_length"]
