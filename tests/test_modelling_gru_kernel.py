"""The fused CPU GRU (``dasp_blind.modelling.gru_kernel``): forward and gradients against
``nn.GRU`` in float64 (to 1e-12) and float32 (within float32 rounding of the float64 result,
the bound PyTorch's own float32 GRU meets too), ``torch.autograd.gradcheck`` (finite
differences), the float32 ``exp`` against numpy's float64 ``exp``, the dispatcher's conditions
(fused where they hold, ``nn.GRU`` itself otherwise, TorchScript and tracing) and RNNModel with
the fused path against RNNModel with it switched off."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _signals import seeded
from _tolerances import rounding_tol
from torch import nn
from torch.nn.utils import prune

from dasp_blind.modelling import gru_kernel
from dasp_blind.modelling.gru_kernel import (
    fused_gru,
    fused_gru_enabled,
    gru_layer,
    use_fused_gru,
)
from dasp_blind.modelling.rnn import RNNModel

EPS32 = torch.finfo(torch.float32).eps


def seeded_gru(input_size: int, hidden_size: int, seed: int, dtype=torch.float32,
               **kwargs) -> nn.GRU:
    """``nn.GRU(batch_first=True)`` with its parameters drawn from ``seed`` (uniform in
    ``±2/sqrt(hidden_size)``, twice PyTorch's default, so that the gates saturate at times)."""
    gru = nn.GRU(input_size, hidden_size, batch_first=True, **kwargs).to(dtype)
    bound = 2.0 / hidden_size ** 0.5
    gen = seeded(seed)
    with torch.no_grad():
        for p in gru.parameters():
            p.uniform_(-bound, bound, generator=gen)
    return gru


def inputs(batch: int, steps: int, gru: nn.GRU, seed: int, scale: float = 1.0):
    """Seeded ``x`` ``(batch, steps, input_size)`` and ``h0`` ``(num_layers, batch, hidden)``
    in the GRU's dtype."""
    dtype = gru.weight_hh_l0.dtype
    gen = seeded(seed)
    x = scale * torch.randn(batch, steps, gru.input_size, generator=gen, dtype=dtype)
    h0 = 0.5 * torch.randn(gru.num_layers, batch, gru.hidden_size, generator=gen, dtype=dtype)
    return x, h0


def as_float64(gru: nn.GRU) -> nn.GRU:
    """A float64 copy of ``gru`` (the reference)."""
    copy = nn.GRU(gru.input_size, gru.hidden_size, gru.num_layers, batch_first=gru.batch_first)
    copy.load_state_dict({k: v.double() for k, v in gru.state_dict().items()})
    return copy.double()


def in_graph(tensor: torch.Tensor, name: str) -> bool:
    """Whether an autograd node whose type name contains ``name`` produced ``tensor``."""
    seen, stack = set(), [tensor.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if name in type(node).__name__:
            return True
        stack.extend(next_node for next_node, _ in node.next_functions)
    return False


def fused_used(out: torch.Tensor) -> bool:
    return in_graph(out, "FusedGRUFunction")


def forward_tol(reference: torch.Tensor, gru: nn.GRU) -> float:
    """float32 rounding of a GRU state: per step the pre-activation sums of ``H + I`` products
    (``sqrt`` growth) and two activation roundings; the gates damp older errors, so they do not
    add up over steps (measured: at most 8 eps, over up to 2,000 steps)."""
    return rounding_tol(reference, ops=2, terms=gru.hidden_size + gru.input_size)


def grad_tol(reference: torch.Tensor, gru: nn.GRU) -> float:
    """float32 rounding of a gradient: the forward's roundings and the derivatives of the gates
    (measured: at most 13 eps of the largest entry, for nn.GRU's float32 grads and ours)."""
    return rounding_tol(reference, ops=4, terms=gru.hidden_size + gru.input_size)


SHAPES = [  # batch, steps, input_size, hidden_size
    (1, 1, 1, 48),
    (1, 513, 1, 48),
    (3, 40, 3, 48),
    (2, 25, 3, 5),
    (4, 16, 2, 17),
]


@pytest.mark.parametrize("shape", SHAPES)
def test_forward_equals_nn_gru(shape):
    batch, steps, size_in, hidden = shape
    gru = seeded_gru(size_in, hidden, 1)
    x, h0 = inputs(batch, steps, gru, 2)
    ref64 = as_float64(gru)
    with torch.no_grad():
        want, want_h = ref64(x.double(), h0.double())
        out, h_last = fused_gru(x.double(), h0[0].double(), *ref64.parameters())
        torch.testing.assert_close(out, want, rtol=0, atol=1e-12)
        torch.testing.assert_close(h_last, want_h[0], rtol=0, atol=1e-12)
        out32, h32 = fused_gru(x, h0[0], *gru.parameters())
        torch_out32, _ = gru(x, h0)
    tol = forward_tol(want, gru)
    torch.testing.assert_close(out32.double(), want, rtol=0, atol=tol)
    torch.testing.assert_close(h32.double(), want_h[0], rtol=0, atol=tol)
    torch.testing.assert_close(torch_out32.double(), want, rtol=0, atol=tol)  # PyTorch's own
    assert out32.dtype == torch.float32 and out.shape == (batch, steps, hidden)


def test_forward_saturated_gates_and_large_inputs():
    """Inputs up to ±1000 drive σ and tanh far into saturation (and the float32 exp to its
    clamp): the output stays finite and matches the float64 nn.GRU."""
    gru = seeded_gru(1, 48, 3)
    x, h0 = inputs(2, 300, gru, 4, scale=300.0)
    x[0, ::7] = 1000.0
    x[1, ::5] = -1000.0
    with torch.no_grad():
        want, _ = as_float64(gru)(x.double(), h0.double())
        out, _ = fused_gru(x, h0[0], *gru.parameters())
    assert out.isfinite().all()
    torch.testing.assert_close(out.double(), want, rtol=0, atol=forward_tol(want, gru))


def test_nan_propagates_like_nn_gru():
    gru = seeded_gru(1, 8, 5)
    x, h0 = inputs(1, 10, gru, 6)
    x[0, 4] = float("nan")
    with torch.no_grad():
        out, _ = fused_gru(x, h0[0], *gru.parameters())
        want, _ = gru(x, h0)
    assert torch.equal(out.isnan(), want.isnan())
    assert out[0, :4].isfinite().all() and out[0, 4:].isnan().all()


def test_exp32_within_eps():
    """The float32 exp of the kernels against numpy's float64 exp over its whole range: relative
    error at most eps (the correctly rounded float32 result is within eps/2)."""
    v = np.linspace(-87.0, 88.0, 20001, dtype=np.float32)
    got = np.array([gru_kernel._exp32(value) for value in v], dtype=np.float64)
    want = np.exp(v.astype(np.float64))
    assert np.all(np.abs(got - want) <= EPS32 * want)


def test_gradcheck_float64():
    gen = seeded(7)
    batch, steps, size_in, hidden = 2, 7, 2, 3

    def draw(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float64).requires_grad_()

    args = (draw(batch, steps, size_in), draw(batch, hidden), draw(3 * hidden, size_in),
            draw(3 * hidden, hidden), draw(3 * hidden), draw(3 * hidden))
    assert torch.autograd.gradcheck(fused_gru, args)


def gradients(gru: nn.GRU, x: torch.Tensor, h0: torch.Tensor, seed: int, fused: bool):
    """``(out, grads of x, h0 and every parameter)`` of ``Σ out·w + Σ h_n·v`` (``w``, ``v``
    seeded) through :func:`gru_layer`."""
    x, h0 = x.clone().requires_grad_(), h0.clone().requires_grad_()
    with use_fused_gru(fused):
        out, h_n = gru_layer(gru, x, h0)
    gen = seeded(seed)
    w = torch.randn(out.shape, generator=gen, dtype=torch.float64).to(out.dtype)
    v = torch.randn(h_n.shape, generator=gen, dtype=torch.float64).to(out.dtype)
    loss = (out * w).sum() + (h_n * v).sum()
    assert fused_used(out) == fused
    return out, torch.autograd.grad(loss, [x, h0, *gru.parameters()])


def test_float32_gradients_equal_nn_gru():
    gru = seeded_gru(1, 48, 8)
    x, h0 = inputs(4, 300, gru, 9)
    _, want = gradients(as_float64(gru), x.double(), h0.double(), 10, fused=False)
    _, ours = gradients(gru, x, h0, 10, fused=True)
    _, torch32 = gradients(gru, x, h0, 10, fused=False)
    names = ["x", "h0"] + [name for name, _ in gru.named_parameters()]
    for name, got, theirs, ref in zip(names, ours, torch32, want, strict=True):
        tol = grad_tol(ref, gru)
        torch.testing.assert_close(got.double(), ref, rtol=0, atol=tol, msg=name)
        torch.testing.assert_close(theirs.double(), ref, rtol=0, atol=tol, msg=name)


def test_no_double_backward():
    gru = seeded_gru(1, 4, 11)
    x, h0 = inputs(1, 5, gru, 12)
    x.requires_grad_()
    out, _ = gru_layer(gru, x, h0)
    (grad,) = torch.autograd.grad(out.square().sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable"):
        grad.sum().backward()


def test_multilayer_runs_fused_layer_by_layer():
    gru = seeded_gru(2, 12, 13, dtype=torch.float64, num_layers=3)
    x, h0 = inputs(2, 60, gru, 14)
    out_f, grads_f = gradients(gru, x, h0, 15, fused=True)
    out_t, grads_t = gradients(gru, x, h0, 15, fused=False)
    torch.testing.assert_close(out_f, out_t, rtol=0, atol=1e-12)
    for got, want in zip(grads_f, grads_t, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kwargs,dtype", [
    (dict(batch_first=False), torch.float32),
    (dict(bidirectional=True), torch.float32),
    (dict(bias=False), torch.float32),
    (dict(num_layers=2, dropout=0.5), torch.float32),  # dropout between layers, training mode
    ({}, torch.bfloat16),
])
def test_falls_back_to_nn_gru(kwargs, dtype):
    gru = nn.GRU(2, 6, **{"batch_first": True, **kwargs}).to(dtype)
    gen = seeded(16)
    with torch.no_grad():
        for p in gru.parameters():
            p.uniform_(-0.4, 0.4, generator=gen)
    x = torch.randn(3, 9, 2, generator=gen).to(dtype).requires_grad_()
    with torch.random.fork_rng():  # the dropout masks: both calls draw the same
        out, h_n = gru_layer(gru, x)
    with torch.random.fork_rng():
        want, want_h = gru(x)
    assert not fused_used(out)
    assert torch.equal(out, want) and torch.equal(h_n, want_h)


def test_falls_back_for_hooks_so_that_pruning_applies():
    """Pruning recomputes ``weight_hh_l0`` in a forward pre-hook: nn.GRU's call runs it."""
    gru = seeded_gru(1, 6, 27)
    x, _ = inputs(2, 9, gru, 28)
    prune.l1_unstructured(gru, "weight_hh_l0", amount=0.5)
    gru.weight_hh_l0_orig.data.mul_(3.0)  # the pruned weight is stale until the hook runs
    x.requires_grad_()
    out, _ = gru_layer(gru, x)
    want, _ = gru(x)
    assert not fused_used(out) and torch.equal(out, want)


def test_falls_back_for_unbatched_input_and_mismatched_states():
    gru = seeded_gru(1, 6, 17)
    x, h0 = inputs(2, 9, gru, 18)
    x.requires_grad_()
    out, _ = gru_layer(gru, x[0])  # unbatched (steps, input_size): nn.GRU's own path
    assert not fused_used(out) and torch.equal(out, gru(x[0])[0])
    for state in (h0[:, :1], h0.double()):  # nn.GRU raises its own error
        with pytest.raises(RuntimeError):
            gru_layer(gru, x, state)


def test_switch_and_its_context():
    gru = seeded_gru(1, 6, 19)
    x, _ = inputs(2, 9, gru, 20)
    x.requires_grad_()
    assert fused_gru_enabled()
    with use_fused_gru(False):
        assert not fused_gru_enabled()
        assert not fused_used(gru_layer(gru, x)[0])
        with use_fused_gru(True):
            assert fused_used(gru_layer(gru, x)[0])
        assert not fused_gru_enabled()
    assert fused_gru_enabled() and fused_used(gru_layer(gru, x)[0])
    with pytest.raises(ValueError, match="enabled"):
        use_fused_gru(1)
    assert fused_gru_enabled()


def test_fused_gru_argument_errors_name_the_argument():
    gru = seeded_gru(2, 4, 21)
    x, h0 = inputs(3, 5, gru, 22)
    good = dict(x=x, h0=h0[0], weight_ih=gru.weight_ih_l0, weight_hh=gru.weight_hh_l0,
                bias_ih=gru.bias_ih_l0, bias_hh=gru.bias_hh_l0)
    bad = [
        ("x", x[0]), ("x", x[:, :0]), ("x", x.double()), ("x", x.half()),
        ("h0", h0), ("h0", h0[0, :2]), ("h0", h0[0].double()), ("h0", "state"),
        ("weight_ih", gru.weight_ih_l0[:, :1]), ("weight_hh", gru.weight_hh_l0[:9]),
        ("weight_hh", gru.weight_hh_l0[0, 0]),
        ("bias_ih", gru.bias_ih_l0[:5]), ("bias_hh", gru.bias_hh_l0.double()),
        ("bias_hh", torch.zeros(12, device="meta")),
    ]
    for name, value in bad:
        with pytest.raises(ValueError, match=name):
            fused_gru(**{**good, name: value})


# --- RNNModel: the fused path against nn.GRU (switched off) ---------------------------------

MODELS = [
    dict(hidden_size=16),
    dict(hidden_size=8, num_layers=2, num_controls=2, skip=False),
    dict(hidden_size=8, num_controls=1, pre_hidden=5),
]


@pytest.mark.parametrize("kwargs", MODELS)
def test_rnn_model_outputs_and_gradients_unchanged(kwargs):
    model = RNNModel(**kwargs).reset_parameters(seeded(23)).double()
    gen = seeded(24)
    x = 0.5 * torch.randn(2, 1, 400, generator=gen, dtype=torch.float64)
    c = (torch.rand(2, model.num_controls, 400, generator=gen, dtype=torch.float64)
         if model.num_controls else None)
    state = 0.3 * torch.randn(model.initial_state(2).shape, generator=gen, dtype=torch.float64)
    w = torch.randn(2, 1, 400, generator=gen, dtype=torch.float64)
    results = {}
    for fused in (True, False):
        xs, ss = x.clone().requires_grad_(), state.clone().requires_grad_()
        with use_fused_gru(fused):
            y, new_state = model.forward_with_state(xs, c, ss)
        assert fused_used(y) == fused
        loss = (y * w).sum() + new_state.square().sum()
        results[fused] = (y, new_state, torch.autograd.grad(loss, [xs, ss,
                                                                  *model.parameters()]))
    (y_f, s_f, g_f), (y_t, s_t, g_t) = results[True], results[False]
    torch.testing.assert_close(y_f, y_t, rtol=0, atol=1e-12)
    torch.testing.assert_close(s_f, s_t, rtol=0, atol=1e-12)
    for got, want in zip(g_f, g_t, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


class _Layer(nn.Module):
    """:func:`gru_layer` on a held ``nn.GRU`` (for tracing)."""

    def __init__(self, gru: nn.GRU) -> None:
        super().__init__()
        self.gru = gru

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gru_layer(self.gru, x)[0]


# torch 2.13 marks torch.jit.script / trace deprecated; they still work and are tested
@pytest.mark.filterwarnings("ignore:`torch.jit.* is deprecated:DeprecationWarning")
@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
def test_torchscript_and_trace_use_nn_gru():
    """Scripted RNNModel and a traced gru_layer record nn.GRU's own operation (the kernels
    cannot be compiled into a graph) and give the eager result."""
    model = RNNModel().reset_parameters(seeded(25)).eval()
    x = 0.5 * torch.randn(2, 1, 300, generator=seeded(26))
    scripted = torch.jit.script(model)
    steps = x.transpose(1, 2).contiguous()
    traced = torch.jit.trace(_Layer(model.rec), (steps,))
    assert "aten::gru" in str(scripted.forward_with_state.inlined_graph)
    assert "aten::gru" in str(traced.inlined_graph)
    reference = RNNModel().double()
    reference.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
    with torch.no_grad(), use_fused_gru(False):
        want = reference(x.double())
        want_steps = reference.rec(steps.double())[0]
    with torch.no_grad():
        for y in (scripted(x), model(x)):
            torch.testing.assert_close(y.double(), want, rtol=0,
                                       atol=forward_tol(want, model.rec))
        torch.testing.assert_close(traced(steps).double(), want_steps, rtol=0,
                                   atol=forward_tol(want_steps, model.rec))
