"""Checks of the compressor's CUDA path, run on the CPU in Triton's interpreter.

Run by ``tests/test_compressor_triton.py`` in a subprocess with ``TRITON_INTERPRET=1`` (the
variable must be set before Triton compiles anything, so it cannot share the test process).
``_uses_triton`` is patched to send CPU tensors down the path CUDA tensors take: the public
``compressor`` then runs the Triton kernels, whose values and gradients are compared with the
numba path (itself checked against a plain loop in ``test_compressor.py``).
"""

from __future__ import annotations

import os

import torch
from _signals import randn, seeded

from dasp_blind.functional import dynamics

FS = 44100.0


def run_both(x: torch.Tensor, params: list[torch.Tensor], knee: torch.Tensor):
    """Output and gradients (audio, threshold, ratio, attack, release, makeup, knee) per path."""
    results = {}
    for uses_triton in (False, True):
        dynamics._uses_triton = lambda _x, flag=uses_triton: flag
        leaves = [t.detach().clone().requires_grad_(True) for t in (x, *params, knee)]
        y = dynamics.compressor(leaves[0], FS, *leaves[1:5], knee_db=leaves[6],
                                makeup_db=leaves[5])
        (y.square().sum() + y.sum()).backward()
        results[uses_triton] = (y.detach(), [t.grad for t in leaves])
    return results


def check_matches_numba_path() -> None:
    gen = seeded(0)
    for channels, knee_value in ((1, 0.0), (2, 6.0)):
        env = torch.linspace(0.02, 1.0, 300, dtype=torch.float64) ** 2
        x = torch.randn(2, channels, 300, generator=gen, dtype=torch.float64) * env
        x[..., :20] = 0.0  # silence below the level floor
        params = [torch.tensor(v, dtype=torch.float64) for v in
                  ([-20.0, -30.0], [4.0, 8.0], [2.0, 0.5], [20.0, 5.0], [3.0, 0.0])]
        knee = torch.tensor([knee_value, knee_value / 2], dtype=torch.float64)
        results = run_both(x, params, knee)
        (y_ref, grads_ref), (y, grads) = results[False], results[True]
        assert torch.allclose(y, y_ref, rtol=0, atol=1e-12), (y - y_ref).abs().max()
        for name, g, g_ref in zip(("x", "threshold", "ratio", "attack", "release", "makeup",
                                   "knee"), grads, grads_ref, strict=True):
            assert torch.allclose(g, g_ref, rtol=1e-9, atol=1e-9), (name, g, g_ref)
        print(f"channels={channels} knee={knee_value}: output and gradients match the numba path")


def check_sidechain_and_lookahead() -> None:
    gen = seeded(2)
    x = 0.3 * torch.randn(2, 1, 200, generator=gen, dtype=torch.float64)
    sidechain = torch.randn(2, 2, 200, generator=gen, dtype=torch.float64)
    results = {}
    for uses_triton in (False, True):
        dynamics._uses_triton = lambda _x, flag=uses_triton: flag
        leaves = [t.clone().requires_grad_(True) for t in (x, sidechain)]
        y = dynamics.compressor(leaves[0], FS, -20.0, 4.0, 1.0, 20.0, 6.0, 1.0,
                                sidechain=leaves[1], lookahead_ms=0.5)
        y.square().sum().backward()
        results[uses_triton] = [y.detach()] + [t.grad for t in leaves]
    for value, reference in zip(results[True], results[False], strict=True):
        assert torch.allclose(value, reference, rtol=1e-9, atol=1e-12), (value - reference)
    print("sidechain with look-ahead: output and gradients match the numba path")


def check_float32_and_gradcheck() -> None:
    dynamics._uses_triton = lambda _x: True
    x32 = randn(1, 2, 100, seed=1, scale=0.5)
    y32 = dynamics.compressor(x32, FS, -20.0, 4.0, 1.0, 10.0, 6.0, 2.0)
    assert y32.dtype == torch.float32 and torch.isfinite(y32).all()
    x = x32.double().requires_grad_(True)
    params = [torch.tensor([v], dtype=torch.float64, requires_grad=True)
              for v in (-20.0, 4.0, 1.0, 10.0, 6.0, 2.0)]
    assert torch.autograd.gradcheck(
        lambda *a: dynamics.compressor(a[0], FS, *a[1:5], knee_db=a[5], makeup_db=a[6]),
        (x, *params), fast_mode=True, atol=1e-6, rtol=1e-4)
    print("float32 output and float64 gradcheck (fast mode) pass")


if __name__ == "__main__":
    assert os.environ.get("TRITON_INTERPRET") == "1", "run with TRITON_INTERPRET=1"
    check_matches_numba_path()
    check_sidechain_and_lookahead()
    check_float32_and_gradcheck()
