"""Modelling losses: the whole-batch ESR against scipy.signal.lfilter pre-emphasis in float64
numpy, the DC loss against hand computations, ModellingLoss's weighted terms against numpy and
auraloss."""

import auraloss
import numpy as np
import pytest
import scipy.signal
import torch
from _signals import randn_audio

from dasp_blind.metrics.effects import spectrogram_mse
from dasp_blind.modelling.losses import LOSS_TERMS, ModellingLoss, dc_loss, esr_loss


def _pair(samples=2048, seed=0):
    """Target items at very different levels (so a pooled ESR differs from a per-item mean),
    an estimate with a level error, an offset and noise; float64."""
    scales = torch.tensor([0.05, 1.0, 3.0], dtype=torch.float64).reshape(3, 1, 1)
    target = randn_audio(3, 2, samples, seed=seed, dtype=torch.float64) * scales
    noise = randn_audio(3, 2, samples, seed=seed + 1, dtype=torch.float64, scale=0.2)
    estimate = 0.9 * target + noise + 0.05
    return estimate, target


def _numpy_esr(estimate, target, c=None):
    y, y_hat = target.numpy(), estimate.numpy()
    if c is not None:
        y = scipy.signal.lfilter([1.0, -c], [1.0], y, axis=-1)
        y_hat = scipy.signal.lfilter([1.0, -c], [1.0], y_hat, axis=-1)
    return ((y - y_hat) ** 2).sum() / (y ** 2).sum(), ((y - y_hat) ** 2).sum((1, 2)) / (
        y ** 2).sum((1, 2))


def _numpy_dc(estimate, target):
    y, y_hat = target.numpy(), estimate.numpy()
    return ((y.mean(-1) - y_hat.mean(-1)) ** 2).mean() / (y ** 2).mean()


def test_esr_loss_is_the_pooled_ratio_after_lfilter_pre_emphasis():
    estimate, target = _pair()
    for c in (0.85, 0.95, None):
        pooled, per_item = _numpy_esr(estimate, target, c)
        kwargs = {} if c == 0.85 else {"pre_emphasis": c}  # 0.85 is the default
        value = esr_loss(estimate, target, **kwargs)
        assert value.shape == () and value.dtype == torch.float64
        np.testing.assert_allclose(value.item(), pooled, rtol=1e-12)
        # over the whole batch, not the mean of the items' ratios (the quiet item's is large)
        assert abs(per_item.mean() - pooled) > 0.5 * pooled
    single = esr_loss(estimate.float(), target.float())
    assert single.dtype == torch.float32
    np.testing.assert_allclose(single.item(), _numpy_esr(estimate, target, 0.85)[0], rtol=1e-5)


def test_dc_loss_hand_values_and_batch():
    y = torch.tensor([[[2.0, 0.0, 2.0, 0.0]]], dtype=torch.float64)  # mean 1, mean square 2
    y_hat = torch.tensor([[[1.0, -1.0, 1.0, -1.0]]], dtype=torch.float64)  # mean 0
    assert dc_loss(y_hat, y).item() == pytest.approx(0.5, rel=1e-15)  # (1 - 0)² / 2
    ones = torch.ones(1, 1, 4, dtype=torch.float64)
    assert dc_loss(torch.zeros_like(ones), ones).item() == pytest.approx(1.0, rel=1e-15)
    assert dc_loss(y_hat + 1, y).item() == 0.0  # the same mean: no DC error
    # batch: the squared offsets averaged over items and channels, over the pooled energy
    estimate, target = _pair(500, seed=2)
    value = dc_loss(estimate, target)
    assert value.shape == ()
    np.testing.assert_allclose(value.item(), _numpy_dc(estimate, target), rtol=1e-12)


def test_default_loss_is_wright_s_combination():
    estimate, target = _pair(seed=4)
    loss = ModellingLoss()
    assert loss.terms == {"esr": 0.75, "dc": 0.25} and loss.pre_emphasis == 0.85
    parts = loss.components(estimate, target)
    assert list(parts) == ["esr", "dc"]
    esr_pre = _numpy_esr(estimate, target, 0.85)[0]
    np.testing.assert_allclose(parts["esr"].item(), esr_pre, rtol=1e-12)
    np.testing.assert_allclose(parts["dc"].item(), _numpy_dc(estimate, target), rtol=1e-12)
    np.testing.assert_allclose(loss(estimate, target).item(),
                               0.75 * esr_pre + 0.25 * _numpy_dc(estimate, target), rtol=1e-12)


def test_weighted_terms_against_numpy_and_auraloss():
    estimate, target = _pair(seed=6)
    loss = ModellingLoss({"l1": 2.0, "esr_raw": 0.5, "esr": 1.5, "mrstft": 0.3,
                          "spectrogram_mse": 0.0}, pre_emphasis=0.95)
    parts = loss.components(estimate, target)
    assert list(parts) == ["l1", "esr_raw", "esr", "mrstft", "spectrogram_mse"]
    l1 = np.abs(estimate.numpy() - target.numpy()).mean()
    raw = _numpy_esr(estimate, target)[0]
    pre = _numpy_esr(estimate, target, 0.95)[0]
    mrstft = auraloss.freq.MultiResolutionSTFTLoss()(estimate, target).item()
    np.testing.assert_allclose(parts["l1"].item(), l1, rtol=1e-12)
    np.testing.assert_allclose(parts["esr_raw"].item(), raw, rtol=1e-12)
    np.testing.assert_allclose(parts["esr"].item(), pre, rtol=1e-12)
    np.testing.assert_allclose(parts["mrstft"].item(), mrstft, rtol=1e-12)
    # weight 0: logged, not trained on
    spec = spectrogram_mse(estimate, target).mean().item()
    np.testing.assert_allclose(parts["spectrogram_mse"].item(), spec, rtol=1e-12)
    assert spec > 0.01
    np.testing.assert_allclose(loss(estimate, target).item(),
                               2.0 * l1 + 0.5 * raw + 1.5 * pre + 0.3 * mrstft, rtol=1e-12)


def test_silence_gives_finite_values_and_gradients():
    loss = ModellingLoss({name: 1.0 for name in LOSS_TERMS})
    noise = randn_audio(2, 1, 2048, seed=8)
    for estimate, target in ((torch.zeros(2, 1, 2048), torch.zeros(2, 1, 2048)),
                             (noise, torch.zeros(2, 1, 2048)),
                             (torch.zeros(2, 1, 2048), noise)):
        estimate = estimate.clone().requires_grad_(True)
        parts = loss.components(estimate, target)
        total = loss(estimate, target)
        total.backward()
        assert all(torch.isfinite(value) for value in parts.values()), parts
        assert torch.isfinite(total) and torch.isfinite(estimate.grad).all()
    silent = torch.zeros(2, 1, 2048)
    assert esr_loss(silent, silent).item() == 0.0 and dc_loss(silent, silent).item() == 0.0
    assert esr_loss(silent, noise).item() == pytest.approx(1.0, rel=1e-6)


def test_esr_and_dc_gradcheck():
    estimate = randn_audio(2, 2, 20, seed=9, dtype=torch.float64).requires_grad_(True)
    target = randn_audio(2, 2, 20, seed=10, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda e: esr_loss(e, target), (estimate,))
    assert torch.autograd.gradcheck(lambda e: dc_loss(e, target), (estimate,))


@pytest.mark.parametrize("terms", [
    {"esr": 1.0, "mse": 1.0}, {"esr": -0.5}, {"dc": True}, {"dc": "1"}, {"l1": float("nan")},
    {"l1": float("inf")}, {}, ["esr"], "esr"])
def test_bad_terms_name_the_argument(terms):
    with pytest.raises(ValueError, match="terms"):
        ModellingLoss(terms)


def test_bad_input_names_the_argument():
    x = torch.zeros(1, 1, 2048)
    with pytest.raises(ValueError, match="pre_emphasis"):
        ModellingLoss(pre_emphasis=1.5)
    with pytest.raises(ValueError, match="pre_emphasis"):
        esr_loss(x, x, pre_emphasis=-0.1)
    for fn in (esr_loss, dc_loss, ModellingLoss()):
        with pytest.raises(ValueError, match="same shape"):
            fn(x, torch.zeros(1, 1, 2047))
        with pytest.raises(ValueError, match="estimate"):
            fn(torch.zeros(1, 2048), x)
        with pytest.raises(ValueError, match="target"):
            fn(x, torch.full_like(x, float("nan")))
    with pytest.raises(ValueError, match="target must hold more than 1024"):
        ModellingLoss({"mrstft": 1.0})(x[..., :1024], x[..., :1024])
