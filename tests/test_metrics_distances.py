"""MR-STFT distance against auraloss item by item; ESR against numpy and scipy.signal.lfilter."""

import auraloss
import numpy as np
import pytest
import scipy.signal
import torch
from _signals import randn_audio
from _tolerances import assert_within_rounding

from dasp_blind.metrics.distances import esr, mrstft_distance


def _auraloss_mrstft(fft_sizes, dtype=torch.float64):
    """auraloss's module with hops a quarter of each size, its (periodic Hann) windows made in
    ``dtype`` (auraloss keeps them as plain float32 attributes)."""
    module = auraloss.freq.MultiResolutionSTFTLoss(
        fft_sizes=list(fft_sizes), hop_sizes=[n // 4 for n in fft_sizes],
        win_lengths=list(fft_sizes))
    for sub in module.modules():
        if isinstance(getattr(sub, "window", None), torch.Tensor):
            sub.window = torch.hann_window(sub.win_length, dtype=dtype)
    return module


@pytest.mark.parametrize("fft_sizes", [(256, 1024, 4096), (64, 512)])
def test_mrstft_matches_auraloss_per_item(fft_sizes):
    target = randn_audio(3, 2, 6000, seed=0, dtype=torch.float64)
    estimate = 0.6 * target + randn_audio(3, 2, 6000, seed=1, dtype=torch.float64, scale=0.3)
    estimate[1] = torch.tanh(3 * target[1])  # items at different distances
    module = _auraloss_mrstft(fft_sizes)
    expected = torch.stack([module(estimate[i:i + 1], target[i:i + 1]) for i in range(3)])
    distance = mrstft_distance(estimate, target, fft_sizes)
    assert distance.shape == (3,)
    torch.testing.assert_close(distance, expected, rtol=1e-12, atol=1e-12)
    assert len(set(distance.tolist())) == 3


def test_mrstft_float32_and_half_within_rounding_of_float64():
    target = randn_audio(2, 1, 5000, seed=2, dtype=torch.float64)
    estimate = target + randn_audio(2, 1, 5000, seed=3, dtype=torch.float64, scale=0.1)
    exact = mrstft_distance(estimate, target)
    single = mrstft_distance(estimate.float(), target.float())
    assert single.dtype == torch.float32
    # the log of each magnitude rounds relative to 1 (|ln m| ~ 10), the spectra through FFTs
    assert_within_rounding(single, exact, ops=10, fft_size=4096, sum_size=5000)
    half = mrstft_distance(estimate.half(), target.half())  # computed in float32
    assert half.dtype == torch.float16 and torch.isfinite(half).all()


def test_mrstft_identical_silence_and_gradients():
    target = randn_audio(2, 2, 3000, seed=4)
    assert torch.equal(mrstft_distance(target, target), torch.zeros(2))
    silence = torch.zeros(2, 1, 3000, requires_grad=True)
    value = mrstft_distance(silence, torch.zeros(2, 1, 3000))
    value.sum().backward()
    assert torch.equal(value.detach(), torch.zeros(2)) and torch.isfinite(silence.grad).all()
    estimate = target.clone().requires_grad_(True)
    mrstft_distance(0.5 * estimate, target).sum().backward()
    assert torch.isfinite(estimate.grad).all() and estimate.grad.abs().sum() > 0


def test_esr_matches_numpy_and_lfilter():
    target = randn_audio(3, 2, 2000, seed=5, dtype=torch.float64)
    estimate = 0.8 * target + randn_audio(3, 2, 2000, seed=6, dtype=torch.float64, scale=0.2)
    y, y_hat = target.numpy(), estimate.numpy()
    plain = ((y - y_hat) ** 2).sum(axis=(1, 2)) / (y ** 2).sum(axis=(1, 2))
    np.testing.assert_allclose(esr(estimate, target).numpy(), plain, rtol=1e-12)
    for c in (0.85, 0.95):
        y_pre = scipy.signal.lfilter([1.0, -c], [1.0], y, axis=-1)
        y_hat_pre = scipy.signal.lfilter([1.0, -c], [1.0], y_hat, axis=-1)
        expected = ((y_pre - y_hat_pre) ** 2).sum(axis=(1, 2)) / (y_pre ** 2).sum(axis=(1, 2))
        np.testing.assert_allclose(esr(estimate, target, pre_emphasis=c).numpy(), expected,
                                   rtol=1e-12)
    # the pre-emphasis weights the error towards high frequencies: a low-frequency error
    # counts less, a high-frequency one more
    t = torch.arange(2000, dtype=torch.float64) / 16000
    tone = torch.sin(2 * torch.pi * 1000 * t).reshape(1, 1, -1)
    low = tone + 0.1 * torch.sin(2 * torch.pi * 50 * t)
    high = tone + 0.1 * torch.sin(2 * torch.pi * 6000 * t)
    assert esr(low, tone, 0.85) < esr(low, tone) and esr(high, tone, 0.85) > esr(high, tone)


def test_esr_edges():
    target = randn_audio(2, 1, 500, seed=7)
    assert torch.equal(esr(target, target), torch.zeros(2))
    torch.testing.assert_close(esr(torch.zeros_like(target), target), torch.ones(2))
    silence = torch.zeros(1, 1, 100, requires_grad=True)
    value = esr(silence, torch.zeros(1, 1, 100), pre_emphasis=0.85)
    value.sum().backward()
    assert value.item() == 0.0 and torch.isfinite(silence.grad).all()
    loud_error = esr(torch.ones(1, 1, 100), torch.zeros(1, 1, 100))
    assert torch.isfinite(loud_error).all() and loud_error.item() > 1e8


def test_bad_input_names_the_argument():
    x = torch.zeros(1, 1, 3000)
    with pytest.raises(ValueError, match="same shape"):
        esr(x, torch.zeros(1, 1, 3001))
    with pytest.raises(ValueError, match="estimate"):
        esr(torch.zeros(1, 3000), x)
    with pytest.raises(ValueError, match="pre_emphasis"):
        esr(x, x, pre_emphasis=1.5)
    with pytest.raises(ValueError, match="target must hold more than 2048"):
        mrstft_distance(x[..., :2048], x[..., :2048])
    with pytest.raises(ValueError, match="fft_sizes"):
        mrstft_distance(x, x, fft_sizes=(256, 2))
    with pytest.raises(ValueError, match="fft_sizes"):
        mrstft_distance(x, x, fft_sizes=())
    with pytest.raises(ValueError, match="target"):
        mrstft_distance(x, torch.full_like(x, float("nan")))
