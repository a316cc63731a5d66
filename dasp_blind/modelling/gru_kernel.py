"""A fused GRU layer for the CPU: compiled (numba) forward and backward kernels of one
``nn.GRU`` layer, with autograd, and the dispatcher :class:`~dasp_blind.modelling.rnn.RNNModel`
runs its GRU through.

Why: PyTorch's CPU ``nn.GRU`` has no fused kernel. Each time step makes 44 calls of small ATen
operators (counted with ``torch.profiler``, nested calls included), and builds autograd nodes
for them in training, so a model that steps once per audio sample spends nearly all its time in
per-operation overhead
(GRU-48: milliseconds per 512-sample block of real-time audio, seconds per training batch of
16 × 0.5 s at 44.1 kHz). Here one compiled loop runs the whole sequence.

The layer is PyTorch's GRU (the rows of the weights hold the gates r, z, n in that order)::

    r = σ(W_ir x + b_ir + W_hr h + b_hr)
    z = σ(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
    h' = (1 − z) ⊙ n + z ⊙ h          (computed as n + z ⊙ (h − n), as ATen does)

Forward (:func:`gru_forward`): per batch item and time step, the two affine maps
``g_i = W_ih x + b_ih`` and ``g_h = W_hh h + b_hh`` (each accumulated over the input index with
the output index innermost, so that the loops vectorise without reassociating any sum), then the
gates. For the backward pass it keeps ``r, z, n`` and ``W_hn h + b_hn`` of every step.

Backward (:func:`gru_backward`), backpropagation through time over the sequence: with
``d = dL/dh'`` (from the output at this step plus the next step's recurrence),
``dL/dn̂ = d (1 − z)(1 − n²)`` (``n̂`` the argument of tanh), ``dL/dẑ = d (h − n) z (1 − z)``,
``dL/dr̂ = dL/dn̂ ⊙ (W_hn h + b_hn) ⊙ r (1 − r)``; the pre-activation gradients are
``dL/dg_i = [dL/dr̂, dL/dẑ, dL/dn̂]`` and ``dL/dg_h = [dL/dr̂, dL/dẑ, r ⊙ dL/dn̂]``, and
``dL/dh = d ⊙ z + W_hhᵀ dL/dg_h`` is carried to the previous step. Only this recursion runs in
the kernel; the weight, bias and input gradients are then sums over all steps, done by torch as
matrix products: ``dL/dW_ih = Σ dL/dg_i xᵀ``, ``dL/dW_hh = Σ dL/dg_h hᵀ`` (``h`` the state
before the step), ``dL/dx = W_ihᵀ dL/dg_i``, the biases the sums of ``dL/dg_i`` / ``dL/dg_h``.

Precision: float64 uses libm's ``exp`` and ``tanh``. float32 uses a vectorisable ``exp`` of its
own (:func:`_exp32`, within a relative ``eps``) for ``σ(v) = 1 / (1 + e^{−v})`` and
``tanh u = 1 − 2 / (e^{2u} + 1)`` (measured over ``[−60, 60]`` against float64: σ within 1.3 eps
relative, tanh within 1.5 eps absolute): libm's scalar calls took about half of a step. The
kernels compile without fast-math (``fastmath=False``): no sum is reassociated and no
multiply-add contracted, and NaN propagates as in ``nn.GRU``.

The batch items run one after the other, on the calling thread. Splitting them over two threads
(numba's ``prange``, Python threads, or torch's OpenMP team as the compressor's kernels do) did
not pay on the 2-core development machine, busy with a training run: forward + backward kernels
at batch 16 × 1000 steps of GRU-48 took 32 ms (median) on one thread and 27–29 ms on two.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from .._checks import check_bool

try:
    from numba import njit
except ImportError:  # numba is a dependency; a broken install falls back to nn.GRU
    njit = None

#: Whether the compiled kernels can run (numba imports).
NUMBA_AVAILABLE = njit is not None


def _compiled(**options):
    """numba's ``njit`` with ``options``, or the plain Python function without numba (never
    called then: :func:`gru_layer` falls back to ``nn.GRU``)."""
    return njit(**options) if njit is not None else (lambda function: function)


#: Compiled, cached on disk, GIL-free, IEEE division (no ZeroDivisionError check, which keeps
#: loops scalar), no fast-math.
_kernel = _compiled(cache=True, nogil=True, fastmath=False, error_model="numpy")
#: Helpers inlined into the kernels.
_inline = _compiled(cache=True, nogil=True, fastmath=False, error_model="numpy",
                    inline="always")

#: ``log2(e)``, and ``ln 2`` split into a part with 16 significant bits (``n·LN2_HI`` is exact
#: in float32 for ``|n| < 2^8``) and the rest, for the range reduction of :func:`_exp32`.
LOG2E = 1.0 / math.log(2.0)
LN2_HI = 0.693145751953125
LN2_LO = math.log(2.0) - LN2_HI
#: ``1.5·2^23``: adding and subtracting it rounds a float32 of magnitude < 2^22 to an integer.
ROUNDING_SHIFT = 12582912.0
#: The float32 ``exp`` clamps its argument to this range: ``e^{-87}`` is above the smallest
#: normal float32 and ``e^{88}`` below the largest.
EXP32_LOW, EXP32_HIGH = -87.0, 88.0


@_inline
def _exp32(v):
    """``e^v`` for a float32 ``v``, within a relative ``eps = 2^-23`` (measured: 0.84 eps), in
    arithmetic LLVM can vectorise (no libm call): ``v = n ln 2 + f`` with ``n`` an integer and
    ``|f| <= ln(2)/2``, ``e^f`` by its degree-7 Taylor polynomial (truncation error below
    1.1e-8, a tenth of eps), and ``2^n`` built from its exponent bits. ``v`` is clamped to
    ``[−87, 88]`` (NaN passes through)."""
    v = np.float32(EXP32_LOW) if v < np.float32(EXP32_LOW) else v
    v = np.float32(EXP32_HIGH) if v > np.float32(EXP32_HIGH) else v
    n = (v * np.float32(LOG2E) + np.float32(ROUNDING_SHIFT)) - np.float32(ROUNDING_SHIFT)
    f = (v - n * np.float32(LN2_HI)) - n * np.float32(LN2_LO)
    p = np.float32(1.0 / 5040.0)
    p = p * f + np.float32(1.0 / 720.0)
    p = p * f + np.float32(1.0 / 120.0)
    p = p * f + np.float32(1.0 / 24.0)
    p = p * f + np.float32(1.0 / 6.0)
    p = p * f + np.float32(0.5)
    p = p * f + np.float32(1.0)
    p = p * f + np.float32(1.0)
    return p * np.int32((np.int32(n) + 127) << 23).view(np.float32)


@_inline
def _accumulate(acc, rows, v):
    """``acc += Σ_k v[k]·rows[k]`` (``rows`` ``(len(v), len(acc))``), in the order ``k = 0, 1,
    …`` for every entry: the inner loop runs over the entries of ``acc`` (vectorised, no sum
    reassociated), eight rows at a time so that ``acc`` is loaded and stored once per eight
    (``((acc + a_0) + a_1) + …`` rounds exactly as eight separate passes)."""
    size, count = acc.shape[0], v.shape[0]
    k = 0
    while k + 8 <= count:
        v0, v1, v2, v3, v4, v5, v6, v7 = (v[k], v[k + 1], v[k + 2], v[k + 3], v[k + 4],
                                          v[k + 5], v[k + 6], v[k + 7])
        r0, r1, r2, r3, r4, r5, r6, r7 = (rows[k], rows[k + 1], rows[k + 2], rows[k + 3],
                                          rows[k + 4], rows[k + 5], rows[k + 6], rows[k + 7])
        for j in range(size):
            acc[j] = (acc[j] + r0[j] * v0 + r1[j] * v1 + r2[j] * v2 + r3[j] * v3
                      + r4[j] * v4 + r5[j] * v5 + r6[j] * v6 + r7[j] * v7)
        k += 8
    while k < count:
        vk, row = v[k], rows[k]
        for j in range(size):
            acc[j] += row[j] * vk
        k += 1


@_inline
def _affine(v, weight_t, bias, acc):
    """``acc = Wv + bias`` with ``weight_t = Wᵀ`` ``(len(v), len(acc))``."""
    for j in range(acc.shape[0]):
        acc[j] = bias[j]
    _accumulate(acc, weight_t, v)


@_inline
def _cell(gi, gh, h, gates):
    """The gates of one step from ``gi = W_ih x + b_ih`` and ``gh = W_hh h + b_hh`` (``3H``):
    updates ``h`` (``H``) to ``h'`` in place and writes ``r, z, n, W_hn h + b_hn`` to
    ``gates`` (``4H``)."""
    hidden = h.shape[0]
    one = h.dtype.type(1)
    two = h.dtype.type(2)
    if h.itemsize == 4:  # float32: the vectorised exp
        for j in range(hidden):
            hn = gh[2 * hidden + j]
            r = one / (one + _exp32(-(gi[j] + gh[j])))
            z = one / (one + _exp32(-(gi[hidden + j] + gh[hidden + j])))
            n = one - two / (_exp32(two * (gi[2 * hidden + j] + r * hn)) + one)
            h[j] = n + z * (h[j] - n)
            gates[j], gates[hidden + j], gates[2 * hidden + j], gates[3 * hidden + j] = r, z, n, hn
    else:
        for j in range(hidden):
            hn = gh[2 * hidden + j]
            r = one / (one + np.exp(-(gi[j] + gh[j])))
            z = one / (one + np.exp(-(gi[hidden + j] + gh[hidden + j])))
            n = np.tanh(gi[2 * hidden + j] + r * hn)
            h[j] = n + z * (h[j] - n)
            gates[j], gates[hidden + j], gates[2 * hidden + j], gates[3 * hidden + j] = r, z, n, hn


@_kernel
def gru_forward(x, h0, weight_ih_t, weight_hh_t, bias_ih, bias_hh, out, h_last, gates):
    """One GRU layer over every item and step.

    Args:
        x: ``(B, T, I)`` input.
        h0: ``(B, H)`` initial state.
        weight_ih_t: ``(I, 3H)``, ``weight_ih_l0`` transposed.
        weight_hh_t: ``(H, 3H)``, ``weight_hh_l0`` transposed.
        bias_ih, bias_hh: ``(3H,)``.
        out: ``(B, T, H)`` output, written.
        h_last: ``(B, H)`` state after the last step, written.
        gates: ``(B, T, 4H)``, written with ``r, z, n, W_hn h + b_hn`` of every step; or
            ``(0, 0, 0)`` not to keep them (inference).

    All arrays C-contiguous, of one dtype (float32 or float64).
    """
    batch, steps = x.shape[0], x.shape[1]
    hidden = h0.shape[1]
    keep = gates.shape[0] > 0
    gi = np.empty(3 * hidden, x.dtype)
    gh = np.empty(3 * hidden, x.dtype)
    h = np.empty(hidden, x.dtype)
    scratch = np.empty(4 * hidden, x.dtype)
    for b in range(batch):
        h[:] = h0[b]
        for t in range(steps):
            _affine(x[b, t], weight_ih_t, bias_ih, gi)
            _affine(h, weight_hh_t, bias_hh, gh)
            _cell(gi, gh, h, gates[b, t] if keep else scratch)
            out[b, t] = h
        h_last[b] = h


@_inline
def _cell_adjoint(dh, grad_out, gates, h_prev, grad_gi, grad_gh):
    """The adjoint of :func:`_cell` at one step: ``dh`` (``H``) holds ``dL/dh'`` from the next
    step on entry and ``d ⊙ z`` (its direct path to ``h``) on exit, ``d = dh + grad_out``;
    writes ``dL/dg_i`` and ``dL/dg_h`` (``3H`` each)."""
    hidden = dh.shape[0]
    one = dh.dtype.type(1)
    for j in range(hidden):
        d = dh[j] + grad_out[j]
        r, z, n, hn = gates[j], gates[hidden + j], gates[2 * hidden + j], gates[3 * hidden + j]
        dn = d * (one - z) * (one - n * n)
        dz = d * (h_prev[j] - n) * z * (one - z)
        dr = dn * hn * r * (one - r)
        grad_gi[j], grad_gi[hidden + j], grad_gi[2 * hidden + j] = dr, dz, dn
        grad_gh[j], grad_gh[hidden + j], grad_gh[2 * hidden + j] = dr, dz, dn * r
        dh[j] = d * z


@_kernel
def gru_backward(grad_out, grad_h_last, h0, out, gates, weight_hh, grad_gi, grad_gh, grad_h0):
    """Backpropagation through time of :func:`gru_forward`.

    Args:
        grad_out: ``(B, T, H)``, ``dL/d out``.
        grad_h_last: ``(B, H)``, ``dL/d h_last``.
        h0: ``(B, H)``; ``out``: ``(B, T, H)``; ``gates``: ``(B, T, 4H)``, as the forward
            kernel wrote them.
        weight_hh: ``(3H, H)``, ``weight_hh_l0`` (not transposed).
        grad_gi: ``(B, T, 3H)``, written with ``dL/dg_i`` of every step.
        grad_gh: ``(B, T, 3H)``, written with ``dL/dg_h`` of every step.
        grad_h0: ``(B, H)``, written with ``dL/dh0``.
    """
    batch, steps, hidden = out.shape
    dh = np.empty(hidden, out.dtype)
    for b in range(batch):
        dh[:] = grad_h_last[b]
        for t in range(steps - 1, -1, -1):
            h_prev = out[b, t - 1] if t > 0 else h0[b]
            g = grad_gh[b, t]
            _cell_adjoint(dh, grad_out[b, t], gates[b, t], h_prev, grad_gi[b, t], g)
            _accumulate(dh, weight_hh, g)  # dh += W_hhᵀ dL/dg_h
        grad_h0[b] = dh


def _array(t: Tensor) -> np.ndarray:
    """A C-contiguous numpy view (or copy) of ``t``'s data."""
    return t.detach().contiguous().numpy()


def _forward(x: Tensor, h0: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor,
             bias_hh: Tensor, keep_gates: bool) -> tuple[Tensor, Tensor, Tensor]:
    """Run :func:`gru_forward` on checked tensors: ``(out, h_last, gates)`` (``gates`` empty
    unless ``keep_gates``)."""
    batch, steps = x.shape[0], x.shape[1]
    hidden = h0.shape[-1]
    out = torch.empty(batch, steps, hidden, dtype=x.dtype)
    h_last = torch.empty(batch, hidden, dtype=x.dtype)
    gates = torch.empty((batch, steps, 4 * hidden) if keep_gates else (0, 0, 0), dtype=x.dtype)
    gru_forward(_array(x), _array(h0), _array(weight_ih.t()), _array(weight_hh.t()),
                _array(bias_ih), _array(bias_hh), out.numpy(), h_last.numpy(), gates.numpy())
    return out, h_last, gates


class FusedGRUFunction(torch.autograd.Function):
    """One GRU layer as one autograd node: ``apply(x, h0, weight_ih, weight_hh, bias_ih,
    bias_hh) -> (out, h_last, gates)`` (``gates`` ``(B, T, 4H)`` is what the backward pass
    needs: not differentiable). Shapes as :func:`fused_gru`; unchecked (call
    :func:`fused_gru`). Differentiable once (no double backward)."""

    @staticmethod
    def forward(x: Tensor, h0: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor,
                bias_hh: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        return _forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, keep_gates=True)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        x, h0, weight_ih, weight_hh, _, _ = inputs
        out, _, gates = output
        ctx.mark_non_differentiable(gates)
        ctx.save_for_backward(x, h0, weight_ih, weight_hh, out, gates)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor, grad_h_last: Tensor, _grad_gates: Tensor):
        x, h0, weight_ih, weight_hh, out, gates = ctx.saved_tensors
        batch, steps, hidden = out.shape
        grad_gi = torch.empty(batch, steps, 3 * hidden, dtype=out.dtype)
        grad_gh = torch.empty(batch, steps, 3 * hidden, dtype=out.dtype)
        grad_h0 = torch.empty(batch, hidden, dtype=out.dtype)
        gru_backward(_array(grad_out), _array(grad_h_last), _array(h0), _array(out),
                     _array(gates), _array(weight_hh), grad_gi.numpy(), grad_gh.numpy(),
                     grad_h0.numpy())
        need_x, need_h0, need_w_ih, need_w_hh, need_b_ih, need_b_hh = ctx.needs_input_grad
        flat_gi = grad_gi.view(-1, 3 * hidden)  # (B·T, 3H)
        flat_gh = grad_gh.view(-1, 3 * hidden)
        grad_x = grad_w_ih = grad_w_hh = grad_b_ih = grad_b_hh = None
        if need_x:
            grad_x = grad_gi @ weight_ih  # (B, T, I)
        if need_w_ih:
            grad_w_ih = flat_gi.t() @ x.reshape(batch * steps, -1)  # (3H, I)
        if need_w_hh:
            h_prev = torch.cat([h0.unsqueeze(1), out[:, :-1]], dim=1)  # (B, T, H): h before
            grad_w_hh = flat_gh.t() @ h_prev.view(-1, hidden)  # (3H, H)
        if need_b_ih:
            grad_b_ih = flat_gi.sum(dim=0)
        if need_b_hh:
            grad_b_hh = flat_gh.sum(dim=0)
        return (grad_x, grad_h0 if need_h0 else None, grad_w_ih, grad_w_hh, grad_b_ih,
                grad_b_hh)


def _fused(x: Tensor, h0: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor,
           bias_hh: Tensor) -> tuple[Tensor, Tensor]:
    """:func:`fused_gru` without its checks: through autograd when a gradient is wanted,
    straight to the kernel (keeping no gates) otherwise."""
    tensors = (x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        out, h_last, _ = FusedGRUFunction.apply(*tensors)
        return out, h_last
    out, h_last, _ = _forward(*tensors, keep_gates=False)
    return out, h_last


def _argument_problem(x: Tensor, h0: Tensor, weight_ih: Tensor, weight_hh: Tensor,
                   bias_ih: Tensor, bias_hh: Tensor) -> str | None:
    """Why the tensors cannot run in the kernels, naming the argument, or ``None``."""
    tensors = {"x": x, "h0": h0, "weight_ih": weight_ih, "weight_hh": weight_hh,
               "bias_ih": bias_ih, "bias_hh": bias_hh}
    for name, t in tensors.items():
        if not isinstance(t, Tensor):
            return f"{name} must be a tensor, got {type(t).__name__}"
        if t.device.type != "cpu":
            return f"{name} must be on the CPU, got {t.device}"
        if t.dtype not in (torch.float32, torch.float64):
            return f"{name} must be float32 or float64, got {t.dtype}"
        if t.dtype != x.dtype:
            return f"{name} must have the dtype of x ({x.dtype}), got {t.dtype}"
    if x.dim() != 3 or 0 in x.shape:
        return f"x must be a non-empty (batch, steps, input_size) tensor, got {tuple(x.shape)}"
    if weight_hh.dim() != 2:
        return ("weight_hh must be a (3·hidden_size, hidden_size) tensor, got "
                f"{tuple(weight_hh.shape)}")
    batch, _, inputs = x.shape
    hidden = weight_hh.shape[-1]
    expected = {"h0": (batch, hidden), "weight_ih": (3 * hidden, inputs),
                "weight_hh": (3 * hidden, hidden), "bias_ih": (3 * hidden,),
                "bias_hh": (3 * hidden,)}
    for name, shape in expected.items():
        if tuple(tensors[name].shape) != shape:
            return (f"{name} must have shape {shape} (batch={batch}, input_size={inputs}, "
                    f"hidden_size={hidden} from x and weight_hh), got "
                    f"{tuple(tensors[name].shape)}")
    return None


def fused_gru(x: Tensor, h0: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor,
              bias_hh: Tensor) -> tuple[Tensor, Tensor]:
    """One GRU layer (PyTorch's formulation) over a batch of sequences, in the compiled CPU
    kernels, differentiable with respect to every argument.

    Equal to ``nn.GRU(input_size, hidden_size, batch_first=True)`` with these weights, up to
    rounding (float64: libm's ``exp`` and ``tanh``; float32: within a few ``eps`` of the float64
    result per step, see the module's notes).

    Args:
        x: ``(batch, steps, input_size)`` input, float32 or float64, on the CPU.
        h0: ``(batch, hidden_size)`` initial state.
        weight_ih: ``(3·hidden_size, input_size)``, PyTorch's ``weight_ih_l0`` (gates r, z, n).
        weight_hh: ``(3·hidden_size, hidden_size)``, ``weight_hh_l0``.
        bias_ih: ``(3·hidden_size,)``, ``bias_ih_l0``.
        bias_hh: ``(3·hidden_size,)``, ``bias_hh_l0``.

    Returns:
        ``(out (batch, steps, hidden_size), h_last (batch, hidden_size))``: the state after
        every step, and after the last one.

    Raises:
        ValueError: naming the argument, for a tensor that is not on the CPU, not float32 /
            float64, of another dtype than ``x``, or of the wrong shape; or when numba is not
            installed.
    """
    if not NUMBA_AVAILABLE:
        raise ValueError("fused_gru needs numba, which is not importable: use nn.GRU")
    problem = _argument_problem(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    if problem is not None:
        raise ValueError(problem)
    return _fused(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)


class _Switch:
    """The dispatcher's module-level on/off switch."""

    enabled = True


class use_fused_gru:
    """Switch the fused GRU path of :func:`gru_layer` (and so of ``RNNModel``) on or off.

    Takes effect at once, for the whole process; used as a context manager it restores the
    previous setting on exit::

        with use_fused_gru(False):
            y = model(x)  # nn.GRU's own kernels

    Args:
        enabled: ``True`` (the default setting) to use the fused kernels where they apply.

    Raises:
        ValueError: naming ``enabled`` for a value that is not a bool.
    """

    def __init__(self, enabled: bool) -> None:
        self.previous = _Switch.enabled
        _Switch.enabled = check_bool(enabled, "enabled")

    def __enter__(self) -> use_fused_gru:
        return self

    def __exit__(self, *exc_info: object) -> None:
        _Switch.enabled = self.previous


def fused_gru_enabled() -> bool:
    """Whether :func:`gru_layer` may use the fused kernels (the switch of
    :class:`use_fused_gru`; on by default)."""
    return _Switch.enabled


#: The parameters of one ``nn.GRU`` layer, in :func:`fused_gru`'s order (``_l{k}`` appended).
_LAYER_PARAMETERS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _layer_fits(rec: nn.GRU, layer: int, inputs: int, dtype: torch.dtype) -> bool:
    """Whether layer ``layer`` of ``rec`` has the shapes of ``inputs`` inputs and its hidden
    size, and ``dtype``, on the CPU."""
    size = 3 * rec.hidden_size
    shapes = ((size, inputs), (size, rec.hidden_size), (size,), (size,))
    for name, shape in zip(_LAYER_PARAMETERS, shapes, strict=True):
        weight = getattr(rec, f"{name}_l{layer}")
        if tuple(weight.shape) != shape or weight.dtype != dtype or weight.device.type != "cpu":
            return False
    return True


def _compiling() -> bool:
    """Whether ``torch.compile`` is tracing the caller (False on torch before 2.3, which has no
    ``torch.compiler.is_compiling``)."""
    is_compiling = getattr(torch.compiler, "is_compiling", None)
    return bool(is_compiling is not None and is_compiling())


def _applies(rec: nn.GRU, x: Tensor, h0: Tensor | None) -> bool:
    """Whether :func:`gru_layer` runs ``rec`` in the fused kernels (its docstring lists the
    conditions)."""
    if not (_Switch.enabled and NUMBA_AVAILABLE and type(rec) is nn.GRU):
        return False
    if rec._forward_pre_hooks or rec._forward_hooks:  # e.g. pruning, weight norm: rec() runs them
        return False
    if torch.jit.is_scripting() or torch.jit.is_tracing() or _compiling():
        return False
    if not rec.batch_first or rec.bidirectional or not rec.bias:
        return False
    if rec.num_layers > 1 and rec.dropout > 0 and rec.training:
        return False
    if (not isinstance(x, Tensor) or x.dim() != 3 or 0 in x.shape or x.device.type != "cpu"
            or x.dtype not in (torch.float32, torch.float64)):
        return False
    if h0 is not None and (not isinstance(h0, Tensor) or h0.dtype != x.dtype
                           or h0.device.type != "cpu"
                           or tuple(h0.shape) != (rec.num_layers, x.shape[0], rec.hidden_size)):
        return False
    return all(_layer_fits(rec, layer, x.shape[2] if layer == 0 else rec.hidden_size, x.dtype)
               for layer in range(rec.num_layers))


def gru_layer(rec: nn.GRU, x: Tensor, h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Run ``rec(x, h0)``, in the fused CPU kernels where they apply.

    The fused path runs when all of these hold, and ``rec(x, h0)`` runs otherwise (same result
    up to rounding, same shapes):

    * the switch is on (:class:`use_fused_gru`; on by default) and numba imports;
    * not under ``torch.jit.script`` / ``torch.jit.trace`` / ``torch.compile`` (their graphs
      need ``nn.GRU``'s own operations);
    * ``rec`` is an ``nn.GRU`` (not a subclass, no forward hooks: pruning and weight norm
      recompute the weights in a hook) with ``batch_first=True``, one direction and biases,
      and, when it has several layers, no dropout between them in training mode (each layer
      then runs in the kernels in turn);
    * ``x`` ``(batch, steps, input_size)`` with no empty dimension (no unbatched input),
      ``h0`` ``None`` or ``(num_layers, batch, hidden_size)``, and ``x``, ``h0`` and every
      weight on the CPU, float32 or float64, all of one dtype, of the shapes ``rec`` implies.

    Not supported on the fused path: double backward, forward-mode AD and ``torch.func``
    transforms (switch it off for those with ``use_fused_gru(False)``).

    Args:
        rec: the ``nn.GRU``.
        x: ``(batch, steps, input_size)``.
        h0: ``(num_layers, batch, hidden_size)`` initial state, or ``None`` for zeros.

    Returns:
        ``(output (batch, steps, hidden_size), h_n (num_layers, batch, hidden_size))``, as
        ``nn.GRU`` returns them.
    """
    if not _applies(rec, x, h0):
        return rec(x, h0)
    if h0 is None:
        h0 = x.new_zeros(rec.num_layers, x.shape[0], rec.hidden_size)
    finals = []
    for layer in range(rec.num_layers):
        weights = (getattr(rec, f"{name}_l{layer}") for name in _LAYER_PARAMETERS)
        x, h_last = _fused(x, h0[layer], *weights)
        finals.append(h_last)
    return x, torch.stack(finals)


__all__ = ["NUMBA_AVAILABLE", "FusedGRUFunction", "fused_gru", "fused_gru_enabled", "gru_layer",
           "use_fused_gru"]
