"""SDR and SI-SDR against the published test vector, torchmetrics and a numpy formula."""

import numpy as np
import pytest
import torch
from torchmetrics.functional.audio import (
    scale_invariant_signal_distortion_ratio,
    signal_noise_ratio,
)

from dasp_blind.metrics import sdr, si_sdr


def test_si_sdr_published_vector():
    """torchmetrics' docstring vector (Le Roux et al.'s definition): 18.4030 dB, 15.0918 with
    zero mean."""
    target = torch.tensor([3.0, -0.5, 2.0, 7.0], dtype=torch.float64)
    estimate = torch.tensor([2.5, 0.0, 2.0, 8.0], dtype=torch.float64)
    assert si_sdr(estimate, target).item() == pytest.approx(18.4030, abs=5e-5)
    assert si_sdr(estimate, target, zero_mean=True).item() == pytest.approx(15.0918, abs=5e-5)


def test_against_torchmetrics_and_numpy():
    gen = torch.Generator().manual_seed(0)
    target = torch.randn(3, 2, 4000, generator=gen, dtype=torch.float64)
    estimate = 0.7 * target + 0.2 * torch.randn(3, 2, 4000, generator=gen, dtype=torch.float64)
    for zero_mean in (False, True):
        expected = scale_invariant_signal_distortion_ratio(estimate, target, zero_mean=zero_mean)
        assert torch.allclose(si_sdr(estimate, target, zero_mean), expected, atol=1e-9)
    assert torch.allclose(sdr(estimate, target), signal_noise_ratio(estimate, target),
                          atol=1e-9)
    s, e = target.numpy(), estimate.numpy()
    by_formula = 20 * np.log10(np.linalg.norm(s, axis=-1) / np.linalg.norm(s - e, axis=-1))
    np.testing.assert_allclose(sdr(estimate, target).numpy(), by_formula, atol=1e-9)
    assert sdr(estimate, target).shape == (3, 2)


def test_scale_invariance_and_known_sdr():
    gen = torch.Generator().manual_seed(1)
    target = torch.randn(1, 1, 8000, generator=gen, dtype=torch.float64)
    noise = torch.randn(1, 1, 8000, generator=gen, dtype=torch.float64)
    noise = noise - (noise * target).sum() / target.square().sum() * target  # orthogonal
    noise = noise * target.norm() / noise.norm() * 10 ** (-12 / 20)  # 12 dB below
    assert sdr(target + noise, target).item() == pytest.approx(12.0, abs=1e-9)
    assert si_sdr(3.0 * (target + noise), target).item() == pytest.approx(12.0, abs=1e-9)


def test_silence_and_perfect_estimate_are_finite_with_finite_gradients():
    silence = torch.zeros(2, 1, 100, requires_grad=True)
    values = torch.stack([sdr(silence, torch.zeros(2, 1, 100)),
                          si_sdr(silence, torch.zeros(2, 1, 100))])
    values.sum().backward()
    assert torch.isfinite(values).all() and torch.isfinite(silence.grad).all()
    x = torch.linspace(-1, 1, 100).reshape(1, 1, 100)  # perfect: ‖s‖² / eps, 84.6 dB in float32
    assert torch.isfinite(sdr(x, x)).all() and sdr(x, x).item() > 80


def test_bad_input_names_the_argument():
    x = torch.zeros(1, 1, 10)
    with pytest.raises(ValueError, match="same shape"):
        sdr(x, torch.zeros(1, 1, 11))
    with pytest.raises(ValueError, match="estimate"):
        si_sdr(torch.zeros(1, 1, 10, dtype=torch.int32), x)
    with pytest.raises(ValueError, match="target must have a non-empty"):
        sdr(x, x[..., :0])
