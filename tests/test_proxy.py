"""The TCN proxy network, the proxy and hybrid compressor effects."""

import pytest
import torch
from _signals import randn, seeded
from _tolerances import (
    COMPRESSOR_GAIN_OPS,
    PROXY_GROWTH,
    assert_within_rounding,
    rounding_tol,
)

from dasp_blind.effects import Compressor, HybridCompressor, ProxyCompressor
from dasp_blind.nn import PROXY_CONTROLS, TCNCompressorProxy
from dasp_blind.nn.tcn import TCNBlock, dilated_conv1d

FS = 44100.0


def random_proxy(seed: int = 0) -> TCNCompressorProxy:
    """A proxy whose parameters are all drawn from N(0, 0.3²) with ``seed``."""
    proxy = TCNCompressorProxy()
    gen = seeded(seed)
    for p in proxy.parameters():
        torch.nn.init.normal_(p, std=0.3, generator=gen)
    return proxy.eval()


def test_reference_architecture():
    proxy = TCNCompressorProxy()
    assert sum(p.numel() for p in proxy.parameters()) == 8004
    assert proxy.receptive_field == 133_333
    assert [b.conv.dilation[0] for b in proxy.blocks] == [1, 10, 100, 1000, 10000]
    assert tuple(proxy.blocks[0].conv.weight.shape) == (8, 1, 13)
    assert tuple(proxy.blocks[0].film.adaptor.weight.shape) == (16, 32)
    assert tuple(proxy.gen[0].weight.shape) == (16, 4)


def test_short_padding_equals_full_zero_padding():
    """Each block padded with the constant it outputs for silence == padding the input with
    receptive_field - 1 zeros."""
    proxy = random_proxy().double()
    x = randn(2, 1, 3000, seed=6, dtype=torch.float64, scale=0.3)
    controls = torch.rand(2, 4, dtype=torch.float64, generator=seeded(7))
    cond = proxy.gen(controls)
    h = torch.nn.functional.pad(x, (proxy.receptive_field - 1, 0))
    for block in proxy.blocks:
        h = block(h, cond)
    expected = torch.sigmoid(proxy.head(h))
    assert torch.allclose(proxy.gain(x, controls), expected, atol=1e-10)


@pytest.mark.parametrize(("in_channels", "dilation"), [(1, 1), (8, 7), (8, 100)])
def test_dilated_conv1d_matches_torch_conv1d_and_its_gradients(in_channels, dilation):
    """The hand-written backward against autograd through torch's conv1d, in float64."""
    x = randn(3, in_channels, 2000, seed=10, dtype=torch.float64).requires_grad_()
    weight = randn(8, in_channels, 13, seed=11, dtype=torch.float64, scale=0.2)
    weight.requires_grad_()
    upstream = randn(3, 8, 2000 - 12 * dilation, seed=12, dtype=torch.float64)
    ours = dilated_conv1d(x, weight, dilation)
    ours_grads = torch.autograd.grad(ours, (x, weight), upstream)
    theirs = torch.nn.functional.conv1d(x, weight, dilation=dilation)
    theirs_grads = torch.autograd.grad(theirs, (x, weight), upstream)
    assert torch.allclose(ours, theirs, rtol=0, atol=1e-12)
    for mine, reference in zip(ours_grads, theirs_grads, strict=True):
        assert torch.allclose(mine, reference, rtol=1e-12, atol=1e-10)


def test_dilated_conv1d_passes_gradcheck():
    x = randn(2, 2, 40, seed=13, dtype=torch.float64).requires_grad_()
    weight = randn(3, 2, 4, seed=14, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, w: dilated_conv1d(a, w, 3), (x, weight))


def test_block_residual_equals_its_grouped_convolution():
    """The residual scale, computed as a broadcast product, is the block's grouped 1×1 conv."""
    for in_channels in (1, 8):
        block = TCNBlock(in_channels, 8, 13, 10, cond_dim=4).double()
        x = randn(2, in_channels, 500, seed=15, dtype=torch.float64)
        assert torch.allclose(block._residual(x), block.residual(x), rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match="in_channels"):
        TCNBlock(2, 8, 13, 10, cond_dim=4)


def test_proxy_is_causal_and_gain_bounded():
    proxy = random_proxy(1)
    x = randn(1, 2, 4000, seed=8, scale=0.3)
    controls = torch.rand(1, 4, generator=seeded(9))
    thr, makeup = torch.tensor([-20.0]), torch.tensor([6.0])
    y = proxy(x, controls, thr, makeup)
    changed = x.clone()
    changed[..., 3000:] = 0.9
    y2 = proxy(changed, controls, thr, makeup)
    assert torch.equal(y[..., :3000], y2[..., :3000])
    assert not torch.equal(y[..., 3000:], y2[..., 3000:])
    gain = y / (x * 10 ** (6 / 20))  # a sigmoid, rounded by the makeup and the two products
    assert gain.min() > 0 and gain.max() <= 1 + rounding_tol(1.0, ops=4)


def test_proxy_effect_is_frozen_and_stays_in_eval():
    effect = ProxyCompressor(FS, proxy=random_proxy())
    effect.train()
    assert not effect.proxy.training
    assert all(not p.requires_grad for p in effect.proxy.parameters())
    x = randn(2, 1, 2000, seed=10, scale=0.3).requires_grad_(True)
    q = torch.rand(2, 6, generator=seeded(11)).requires_grad_(True)
    y = effect(x, q)
    y.square().mean().backward()
    assert torch.isfinite(x.grad).all() and q.grad.abs().sum() > 0
    assert effect.param_space.names == Compressor(FS).param_space.names
    with pytest.raises(ValueError, match="sample_rate"):
        ProxyCompressor(48000.0, proxy=random_proxy())


def test_hybrid_forward_is_dsp_gradient_is_proxy():
    proxy = random_proxy(2)
    hybrid = HybridCompressor(FS, proxy=proxy)
    neural, dsp = ProxyCompressor(FS, proxy=proxy), Compressor(FS)
    x = randn(2, 1, 2000, seed=3, scale=0.3)
    q = torch.rand(2, 6, generator=seeded(4))
    weights = randn(2, 1, 2000, seed=12)

    def value_and_grads(effect):
        xx, qq = x.clone().requires_grad_(True), q.clone().requires_grad_(True)
        y = effect(xx, qq)
        (y * weights).sum().backward()
        return y.detach(), xx.grad, qq.grad

    y_h, gx_h, gq_h = value_and_grads(hybrid)
    y_n, gx_n, gq_n = value_and_grads(neural)
    y_d, _, _ = value_and_grads(dsp)
    # (dsp + proxy) − proxy: two roundings relative to |dsp| + |proxy|
    assert (y_h - y_d).abs().max() <= rounding_tol(y_d.abs() + y_n.abs(), ops=2)
    for grad, grad_proxy in ((gx_h, gx_n), (gq_h, gq_n)):  # the same graph, both rounded
        assert_within_rounding(grad, grad_proxy, ops=2 * PROXY_GROWTH["ops"],
                               terms=PROXY_GROWTH["terms"])
    assert not torch.allclose(y_h, y_n, atol=1e-3)


def test_hybrid_reference_mode_switches_with_train_and_eval():
    proxy = random_proxy(5)
    hybrid = HybridCompressor(FS, proxy=proxy, mode="reference")
    x = randn(1, 1, 1500, seed=13, scale=0.3)
    q = torch.rand(1, 6, generator=seeded(14))
    neural = ProxyCompressor(FS, proxy=proxy)(x, q)
    dsp = Compressor(FS)(x, q)
    assert_within_rounding(hybrid.train()(x, q), neural, ops=2 * PROXY_GROWTH["ops"],
                           terms=PROXY_GROWTH["terms"])
    assert_within_rounding(hybrid.eval()(x, q), dsp, ops=2 * COMPRESSOR_GAIN_OPS)
    with pytest.raises(ValueError, match="mode"):
        HybridCompressor(FS, proxy=proxy, mode="fast")


def test_proxy_declares_its_controls_and_the_effect_checks_them():
    assert TCNCompressorProxy().controls == PROXY_CONTROLS
    assert PROXY_CONTROLS == ("attack_ms", "release_ms", "ratio", "knee_db")
    assert all(n in Compressor(FS).param_space.names for n in PROXY_CONTROLS)
    three = TCNCompressorProxy(controls=["attack_ms", "release_ms", "ratio"])
    assert three.num_controls == 3 and tuple(three.gen[0].weight.shape) == (16, 3)
    with pytest.raises(ValueError, match=r"proxy: the proxy is conditioned on controls "
                                         r"\['attack_ms', 'release_ms', 'ratio'\]"):
        ProxyCompressor(FS, proxy=three)
    with pytest.raises(ValueError, match="proxy"):
        HybridCompressor(FS, proxy=three)
    for bad in ("attack_ms", [], ["ratio", "ratio"], ["ratio", ""]):
        with pytest.raises(ValueError, match="controls"):
            TCNCompressorProxy(controls=bad)


def test_hybrid_dsp_branch_is_a_compressor_effect_without_weights():
    """Adding the Compressor submodule left the state dict (the checkpoints) unchanged."""
    hybrid = HybridCompressor(FS, proxy=random_proxy(6))
    assert isinstance(hybrid.dsp, Compressor)
    assert hybrid.state_dict().keys() == {f"neural.{k}" for k in
                                          hybrid.neural.state_dict().keys()}
