"""The compressor on a CUDA device: runs only where one is present (CI has none).

Without a GPU the same Triton path is checked in ``test_compressor_triton.py`` (interpreter and
ahead-of-time compilation); these tests run the compiled kernels on the device.
"""

import pytest
import torch
from _signals import randn, seeded

from dasp_blind.effects import Compressor
from dasp_blind.functional import dynamics

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

FS = 44100.0


def _leaves(device: str, dtype: torch.dtype):
    x = randn(3, 2, 20000, seed=0, dtype=torch.float64, scale=0.5)
    params = [torch.tensor(v, dtype=torch.float64) for v in
              ([-20.0, -30.0, -10.0], [4.0, 8.0, 2.0], [2.0, 0.5, 30.0], [20.0, 5.0, 300.0],
               [6.0, 0.0, 12.0], [3.0, 0.0, 10.0])]
    return [t.to(device=device, dtype=dtype).requires_grad_(True) for t in (x, *params)]


def _run(leaves):
    x, threshold, ratio, attack, release, knee, makeup = leaves
    y = dynamics.compressor(x, FS, threshold, ratio, attack, release, knee, makeup)
    (y.square().sum() + y.sum()).backward()
    return y.detach(), [t.grad for t in leaves]


def test_cuda_matches_cpu_without_leaving_the_device(monkeypatch):
    y_cpu, grads_cpu = _run(_leaves("cpu", torch.float64))

    def host_kernel(*_args):
        raise AssertionError("the CPU kernel ran for CUDA tensors")

    monkeypatch.setattr(dynamics.kernels, "run_over_batch", host_kernel)
    y_gpu, grads_gpu = _run(_leaves("cuda", torch.float64))
    assert y_gpu.is_cuda and all(g.is_cuda for g in grads_gpu)
    assert torch.allclose(y_gpu.cpu(), y_cpu, atol=1e-9)
    for g, g_ref in zip(grads_gpu, grads_cpu, strict=True):
        assert torch.allclose(g.cpu(), g_ref, rtol=1e-6, atol=1e-8)


def test_effect_float32_on_cuda():
    effect = Compressor(sample_rate=44100).cuda()
    x = randn(4, 2, 44100, seed=1, scale=0.5).cuda()
    q = torch.rand(4, 6, generator=seeded(2)).cuda().requires_grad_(True)
    y = effect(x, q)
    y.square().mean().backward()
    assert y.dtype == torch.float32 and y.is_cuda and torch.isfinite(y).all()
    assert torch.isfinite(q.grad).all()
