"""Triton kernels of the compressor's branching ballistics, for tensors on a CUDA device.

On the GPU the compressor is a graph of vectorised torch operations (detector, static curve,
gain) around one autograd function, :class:`Ballistics`, whose two recursions run in Triton
kernels with one program per batch item, sequential over time (the design of torchcomp's CUDA
path): the forward recursion records which coefficient (attack or release) each sample used, and
the backward pass runs the same time-varying one-pole filter backwards in time with those
choices. Nothing is copied to the host.

Triton ships with the CUDA builds of PyTorch; this module is imported only for CUDA tensors (and
by the tests, which run the kernels in Triton's CPU interpreter, ``TRITON_INTERPRET=1``, and
compile them for sm_80/sm_90 without a GPU).
"""

from __future__ import annotations

import contextlib

import torch
import triton
import triton.language as tl
from torch import Tensor

#: Launch options of both kernels: one warp per program (the recursion is scalar) and fused
#: multiply-adds (Triton's default, stated so that Triton 3.9+ does not warn about it).
LAUNCH = {"num_warps": 1, "enable_fp_fusion": True}


@triton.jit
def _row(alpha_attack_ptr, alpha_release_ptr, length):
    """This program's batch row: offset of its first sample and its two coefficients."""
    row = tl.program_id(0).to(tl.int64)
    return row * length, tl.load(alpha_attack_ptr + row), tl.load(alpha_release_ptr + row)


@triton.jit
def ballistics_forward_kernel(x_l_ptr, alpha_attack_ptr, alpha_release_ptr, y_l_ptr, attack_ptr,
                              length):
    """``y_L[n] = α·y_L[n−1] + (1−α)·x_L[n]``, ``α = α_attack`` where ``x_L[n] > y_L[n−1]``.

    One program per batch row of the contiguous ``(B, T)`` arrays; ``attack`` (int8) records the
    choice.
    """
    base, alpha_attack, alpha_release = _row(alpha_attack_ptr, alpha_release_ptr, length)
    prev = alpha_attack * 0.0
    for n in range(length):
        x_l = tl.load(x_l_ptr + base + n)
        is_attack = x_l > prev
        alpha = tl.where(is_attack, alpha_attack, alpha_release)
        prev = alpha * prev + (1.0 - alpha) * x_l
        tl.store(y_l_ptr + base + n, prev)
        tl.store(attack_ptr + base + n, is_attack.to(tl.int8))


@triton.jit
def ballistics_backward_kernel(grad_y_l_ptr, attack_ptr, alpha_attack_ptr, alpha_release_ptr,
                               lam_ptr, length):
    """Adjoint ``λ[n] = dL/dy_L[n] + α[n+1]·λ[n+1]`` (``λ[T] = 0``), run from the end."""
    base, alpha_attack, alpha_release = _row(alpha_attack_ptr, alpha_release_ptr, length)
    carry = alpha_attack * 0.0
    for i in range(length):
        n = length - 1 - i
        lam = tl.load(grad_y_l_ptr + base + n) + carry
        alpha = tl.where(tl.load(attack_ptr + base + n) != 0, alpha_attack, alpha_release)
        carry = alpha * lam
        tl.store(lam_ptr + base + n, lam)


def _on_device(x: Tensor):
    """Make ``x``'s CUDA device current while launching (Triton launches on the current one)."""
    return torch.cuda.device(x.device) if x.is_cuda else contextlib.nullcontext()


class Ballistics(torch.autograd.Function):
    """Branching attack/release smoothing of a gain reduction, differentiable.

    ``apply(x_l, alpha_attack, alpha_release)``: ``x_l`` (B, T) gain reduction in dB, the
    coefficients (B,) in ``x_l``'s dtype; returns ``y_l`` (B, T). Gradients flow to all three.
    """

    @staticmethod
    def forward(ctx, x_l: Tensor, alpha_attack: Tensor, alpha_release: Tensor) -> Tensor:
        x_l = x_l.detach().contiguous()
        alpha_attack, alpha_release = (a.detach().contiguous() for a in (alpha_attack,
                                                                          alpha_release))
        y_l = torch.empty_like(x_l)
        attack = torch.empty(x_l.shape, dtype=torch.int8, device=x_l.device)
        with _on_device(x_l):
            ballistics_forward_kernel[(x_l.shape[0],)](x_l, alpha_attack, alpha_release, y_l,
                                                       attack, x_l.shape[1], **LAUNCH)
        ctx.save_for_backward(x_l, y_l, attack, alpha_attack, alpha_release)
        return y_l

    @staticmethod
    def backward(ctx, grad_y_l: Tensor):
        x_l, y_l, attack, alpha_attack, alpha_release = ctx.saved_tensors
        grad_y_l = grad_y_l.to(x_l.dtype).contiguous()
        lam = torch.empty_like(grad_y_l)
        with _on_device(x_l):
            ballistics_backward_kernel[(x_l.shape[0],)](grad_y_l, attack, alpha_attack,
                                                        alpha_release, lam, x_l.shape[1],
                                                        **LAUNCH)
        is_attack = attack.bool()
        alpha = torch.where(is_attack, alpha_attack[:, None], alpha_release[:, None])
        y_prev = torch.nn.functional.pad(y_l[:, :-1], (1, 0))
        grad_alpha = lam * (y_prev - x_l)  # dL/dα[n]
        grad_attack = torch.where(is_attack, grad_alpha, 0.0).sum(dim=1)
        grad_release = grad_alpha.sum(dim=1) - grad_attack
        return (1.0 - alpha) * lam, grad_attack, grad_release
