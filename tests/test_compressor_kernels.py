"""The blocked, lane-interleaved compressor kernels against a per-sample autograd loop.

The kernels work on blocks of ``BLOCK`` samples and groups of ``LANES`` batch items; these tests
use lengths that cross block boundaries and batch sizes that leave idle lanes, and compare values
and every gradient with torch's autograd through a plain loop (float64).
"""

import numpy as np
import pytest
import torch

from dasp_blind.functional import _compressor_kernels as kernels
from dasp_blind.functional.dynamics import compressor

FS = 44100.0


def autograd_loop(x, threshold, ratio, attack_ms, release_ms, knee, makeup, detector):
    """The compressor as per-sample torch operations (autograd gives the reference gradient)."""
    level = 20 * torch.log10(detector.abs().amax(dim=1).clamp_min(kernels.LEVEL_FLOOR))
    t, r, w = threshold[:, None], ratio[:, None], knee[:, None]
    d = level - t
    slope = 1 - 1 / r
    safe_w = torch.where(w > 0, w, torch.ones_like(w))
    in_knee = slope * (d + w / 2) ** 2 / (2 * safe_w)
    reduction = torch.where(2 * d > w, slope * d,
                            torch.where((2 * d < -w) | (w <= 0), torch.zeros_like(d), in_knee))
    a_att = torch.exp(-1 / (attack_ms * 1e-3 * FS))
    a_rel = torch.exp(-1 / (release_ms * 1e-3 * FS))
    prev = torch.zeros_like(threshold)
    smoothed = []
    for n in range(reduction.shape[1]):
        alpha = torch.where(reduction[:, n] > prev, a_att, a_rel)
        prev = alpha * prev + (1 - alpha) * reduction[:, n]
        smoothed.append(prev)
    gain = 10 ** ((makeup[:, None] - torch.stack(smoothed, dim=1)) / 20)
    return x * gain[:, None]


def settings(gen, batch):
    def uniform(lo, hi):
        return lo + (hi - lo) * torch.rand(batch, generator=gen, dtype=torch.float64)

    return [uniform(-40, -10), uniform(2, 10), uniform(1, 20), uniform(10, 200),
            uniform(0, 12), uniform(0, 12)]


@pytest.mark.parametrize(("batch", "channels", "sidechain_channels"),
                         [(1, 1, None), (5, 2, None), (6, 1, 2)])
def test_values_and_gradients_match_autograd_across_blocks(batch, channels, sidechain_channels):
    gen = torch.Generator().manual_seed(11)
    length = 2 * kernels.BLOCK + 37
    envelope = torch.linspace(0.0, 1.0, length, dtype=torch.float64) ** 3
    x = 0.5 * torch.randn(batch, channels, length, generator=gen, dtype=torch.float64) * envelope
    x[..., :50] = 0.0  # silence below the level floor
    side = (None if sidechain_channels is None else
            torch.randn(batch, sidechain_channels, length, generator=gen, dtype=torch.float64))
    params = settings(gen, batch)
    weights = torch.randn(batch, channels, length, generator=gen, dtype=torch.float64)

    def run(fn):
        leaves = [p.clone().requires_grad_(True) for p in (x, *params)]
        side_leaf = None if side is None else side.clone().requires_grad_(True)
        y = fn(leaves, side_leaf)
        (y * weights).sum().backward()
        grads = [leaf.grad for leaf in leaves]
        return y.detach(), grads + ([] if side_leaf is None else [side_leaf.grad])

    def ours(leaves, side_leaf):
        xx, t, r, a, rel, w, m = leaves
        return compressor(xx, FS, t, r, a, rel, knee_db=w, makeup_db=m, sidechain=side_leaf)

    def reference(leaves, side_leaf):
        xx, t, r, a, rel, w, m = leaves
        return autograd_loop(xx, t, r, a, rel, w, m, xx if side_leaf is None else side_leaf)

    y, grads = run(ours)
    y_ref, grads_ref = run(reference)
    torch.testing.assert_close(y, y_ref, rtol=1e-10, atol=1e-12)
    names = ["x", "threshold", "ratio", "attack", "release", "knee", "makeup", "sidechain"]
    for name, got, want in zip(names, grads, grads_ref, strict=False):
        scale = want.abs().max().item()
        assert (got - want).abs().max().item() <= 1e-9 * max(scale, 1.0), name


def test_float32_audio_runs_the_float32_kernels_and_keeps_the_dtype():
    gen = torch.Generator().manual_seed(12)
    x64 = 0.5 * torch.randn(3, 2, kernels.BLOCK + 5, generator=gen, dtype=torch.float64)
    x32 = x64.float().requires_grad_(True)
    y32 = compressor(x32, FS, -25.0, 4.0, 5.0, 50.0, knee_db=6.0)
    y32.square().sum().backward()
    x64 = x32.detach().double().requires_grad_(True)
    y64 = compressor(x64, FS, -25.0, 4.0, 5.0, 50.0, knee_db=6.0)
    y64.square().sum().backward()
    assert y32.dtype == x32.grad.dtype == torch.float32
    eps = torch.finfo(torch.float32).eps
    # level, static curve and smoother run in float64; the rounding comes from float32 storage
    # of the level, gain and audio: a few eps relative to the signal's scale
    assert (y32.double() - y64).abs().max() <= 64 * eps * x64.abs().max()
    assert (x32.grad.double() - x64.grad).abs().max() <= 1e-4 * x64.grad.abs().max()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sidechain_channels", [1, 2])
def test_sidechain_gradient_buffer_is_overwritten_not_read(dtype, sidechain_channels):
    """The caller allocates the sidechain's gradient with ``np.empty``: whatever it holds (here
    NaN) must not leak into the gradient."""
    rng = np.random.default_rng(13)
    batch, length = 2, kernels.BLOCK + 11
    x = (0.3 * rng.standard_normal((batch, 1, length))).astype(dtype)
    side = rng.standard_normal((batch, sidechain_channels, length)).astype(dtype)
    log2_peak = np.log2(np.abs(side).max(axis=1)).astype(dtype)
    ones = np.ones(batch)
    threshold, ratio, knee, makeup = -20 * ones, 4 * ones, 0 * ones, 0 * ones
    a_att, a_rel = 0.9 * ones, 0.999 * ones
    log2_gain, y_l = (np.empty_like(log2_peak) for _ in range(2))
    attack = np.empty(log2_peak.shape, dtype=np.bool_)
    kernels.compressor_forward(log2_peak, threshold, ratio, knee, makeup, a_att, a_rel,
                               log2_gain, y_l, attack)
    grad_x = np.empty_like(x)
    grad_side = np.full(side.shape, np.nan, dtype=dtype)
    grad_params = np.empty((batch, 6))
    kernels.compressor_backward(np.ones_like(x), x, side, np.exp2(log2_gain), threshold, ratio,
                                knee, a_att, a_rel, log2_peak, y_l, attack, True, grad_x,
                                grad_side, grad_params)
    assert np.isfinite(grad_side).all() and np.abs(grad_side).sum() > 0
    assert np.isfinite(grad_x).all() and np.isfinite(grad_params).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_openmp_team_python_threads_and_one_thread_give_identical_results(monkeypatch, dtype):
    """The batch split over torch's OpenMP team (where torch ships libgomp), over Python threads,
    and no split at all: each item runs the same kernel, so results are bit-identical."""
    gen = torch.Generator().manual_seed(14)
    batch, length = 5, kernels.BLOCK + 301  # an uneven split over 2 threads, idle lanes
    x = (0.4 * torch.randn(batch, 2, length, generator=gen, dtype=torch.float64)).to(dtype)
    side = torch.randn(batch, 1, length, generator=gen, dtype=torch.float64).to(dtype)
    params = settings(gen, batch)

    def run():
        leaves = [x.clone().requires_grad_(True), side.clone().requires_grad_(True),
                  *(p.clone().requires_grad_(True) for p in params)]
        xx, ss, t, r, a, rel, w, m = leaves
        y = compressor(xx, FS, t, r, a, rel, knee_db=w, makeup_db=m, sidechain=ss)
        (y.square().sum() + y.sum()).backward()
        return [y.detach(), *(leaf.grad for leaf in leaves)]

    team_runs = []
    team_run = kernels._openmp.run
    monkeypatch.setattr(kernels._openmp, "run",
                        lambda *args: team_runs.append(args[-1]) or team_run(*args))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        split = run()
        # forward and backward each ran on a team of 2 threads, where there is one
        assert team_runs == ([2, 2] if kernels._openmp.AVAILABLE else [])
        monkeypatch.setattr(kernels._openmp, "AVAILABLE", False)
        python_threads = run()
        torch.set_num_threads(1)
        serial = run()
    finally:
        torch.set_num_threads(threads)
    for a, b, c in zip(split, python_threads, serial, strict=True):
        assert torch.equal(a, b) and torch.equal(a, c)


def test_openmp_team_is_torchs_libgomp_when_torch_uses_it():
    """Where torch's parallel backend is OpenMP through a libgomp in its package (the Linux
    wheels), the kernels run on that team; the path exists and exports the entry points."""
    import glob
    import os

    shipped = glob.glob(os.path.join(os.path.dirname(torch.__file__), "lib", "libgomp*.so*"))
    openmp = "ATen parallel backend: OpenMP" in torch.__config__.parallel_info()
    assert kernels._openmp.AVAILABLE == (openmp and bool(shipped))
