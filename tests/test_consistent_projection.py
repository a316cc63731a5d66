"""Projection of a declipped estimate onto the set of signals consistent with hard clipping,
against a per-sample numpy reference, with the distance guarantee of a convex projection."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _signals import randn_audio

from dasp_blind.removal.declipping import project_consistent


def numpy_projection(estimate: np.ndarray, y: np.ndarray, theta: float) -> np.ndarray:
    """One item and channel at a time: the least-squares gain on the unclipped samples, then
    each sample clamped to the consistent set of a symmetric clipper at ``theta``."""
    out = np.empty_like(estimate)
    for b in range(y.shape[0]):
        reliable = np.abs(y[b]) < theta * (1 - 1e-6)
        e, v = estimate[b][reliable], y[b][reliable]
        gain = float(e @ v / (e @ e)) if e @ e > 0 else 1.0
        for c in range(y.shape[1]):
            for t in range(y.shape[2]):
                value = gain * estimate[b, c, t]
                if y[b, c, t] >= theta * (1 - 1e-6):
                    out[b, c, t] = max(value, theta)
                elif y[b, c, t] <= -theta * (1 - 1e-6):
                    out[b, c, t] = min(value, -theta)
                else:
                    out[b, c, t] = y[b, c, t]
    return out


def clipped_case(seed: int, theta: float = 0.6):
    clean = randn_audio(3, 2, 400, seed=seed, dtype=torch.float64, scale=0.5)
    y = clean.clamp(-theta, theta)
    # a restoration that is 0.7 times too quiet and noisy
    estimate = 0.7 * clean + randn_audio(3, 2, 400, seed=seed + 1, dtype=torch.float64,
                                         scale=0.1)
    return clean, y, estimate


@pytest.mark.parametrize("threshold", [0.6, None])
def test_matches_a_per_sample_numpy_loop(threshold):
    clean, y, estimate = clipped_case(seed=1)
    got = project_consistent(estimate, y, threshold)
    want = numpy_projection(estimate.numpy(), y.numpy(), 0.6)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)


def test_never_moves_the_scaled_estimate_away_from_the_truth():
    clean, y, estimate = clipped_case(seed=3)
    got = project_consistent(estimate, y, 0.6)
    reliable = y.abs() < 0.6
    gain = ((estimate * y * reliable).sum((1, 2), keepdim=True)
            / (estimate.square() * reliable).sum((1, 2), keepdim=True))
    before = (gain * estimate - clean).square().sum((1, 2))
    after = (got - clean).square().sum((1, 2))
    assert bool((after <= before).all())
    assert bool((after < 0.5 * before).all())  # most samples are exact afterwards
    assert torch.equal(got[reliable], y[reliable])
    assert bool((got[y >= 0.6] >= 0.6).all()) and bool((got[y <= -0.6] <= -0.6).all())


def test_tensor_threshold_per_item_and_float32():
    clean = randn_audio(2, 1, 300, seed=5, scale=0.5)
    theta = torch.tensor([0.3, 0.8])
    y = torch.minimum(torch.maximum(clean, -theta[:, None, None]), theta[:, None, None])
    got = project_consistent(clean * 0.5, y, theta)
    for b in range(2):
        want = numpy_projection((clean[b:b + 1] * 0.5).double().numpy(),
                                y[b:b + 1].double().numpy(), float(theta[b]))
        np.testing.assert_allclose(got[b:b + 1].numpy(), want, rtol=1e-5, atol=1e-6)
    assert got.dtype == torch.float32


def test_silence_and_unclipped_input_give_finite_output_and_gradients():
    silent = torch.zeros(1, 1, 64, requires_grad=True)
    out = project_consistent(silent, torch.zeros(1, 1, 64))
    out.sum().backward()
    assert torch.equal(out, torch.zeros(1, 1, 64)) and torch.isfinite(silent.grad).all()
    x = randn_audio(1, 1, 64, seed=7, scale=0.1)
    estimate = (x + 0.01).requires_grad_()
    out = project_consistent(estimate, x)  # no clipped run is detected: y comes back
    out.sum().backward()
    assert torch.equal(out, x) and torch.isfinite(estimate.grad).all()


def test_bad_input_names_the_argument():
    y = torch.zeros(1, 1, 8)
    with pytest.raises(ValueError, match="same shape"):
        project_consistent(torch.zeros(1, 1, 9), y)
    with pytest.raises(ValueError, match="estimate"):
        project_consistent(torch.full((1, 1, 8), float("nan")), y)
    with pytest.raises(ValueError, match="threshold"):
        project_consistent(y, y, -1.0)
