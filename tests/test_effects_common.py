"""Properties every effect of the library must have, checked on all of them."""

import pytest
import torch

from dasp_blind import effects as fx

FS = 44100.0
ALL_EFFECTS = {
    "ParametricEQ": lambda: fx.ParametricEQ(FS),
    "GraphicEQ": lambda: fx.GraphicEQ(FS),
    "Compressor": lambda: fx.Compressor(FS),
    "SimplifiedCompressor": lambda: fx.SimplifiedCompressor(FS),
    "ProxyCompressor": lambda: fx.ProxyCompressor(FS),
    "HybridCompressor": lambda: fx.HybridCompressor(FS),
    "ParametricClipper": lambda: fx.ParametricClipper(FS),
    "TaylorClipper": lambda: fx.TaylorClipper(FS),
    "ChebyshevClipper": lambda: fx.ChebyshevClipper(FS),
    "HardClip": lambda: fx.HardClip(FS),
    "SoftClip": lambda: fx.SoftClip(FS),
    "SoxOverdrive": lambda: fx.SoxOverdrive(FS),
    "Tremolo": lambda: fx.Tremolo(FS),
    "Chorus": lambda: fx.Chorus(FS),
    "Gain": lambda: fx.Gain(FS),
    "Chain": lambda: fx.Chain({"eq": fx.ParametricEQ(FS), "comp": fx.Compressor(FS),
                               "clip": fx.ParametricClipper(FS)}, normalize="peak"),
}


def test_every_exported_effect_is_covered():
    exported = {name for name in fx.__all__ if isinstance(getattr(fx, name), type)
                and issubclass(getattr(fx, name), fx.Effect) and name != "Effect"}
    assert exported == set(ALL_EFFECTS)


@pytest.mark.parametrize("name", sorted(ALL_EFFECTS))
def test_finite_outputs_and_gradients_at_range_edges_and_on_silence(name):
    effect = ALL_EFFECTS[name]()
    gen = torch.Generator().manual_seed(0)
    for value in (0.0, 1.0):
        for x in (torch.zeros(2, 2, 2048), 0.5 * torch.randn(2, 2, 2048, generator=gen)):
            x = x.clone().requires_grad_(True)
            q = torch.full((2, effect.num_params), value, requires_grad=True)
            y = effect(x, q)
            assert y.shape == x.shape and torch.isfinite(y).all()
            (y.square().mean() + y.mean()).backward()
            assert torch.isfinite(x.grad).all() and torch.isfinite(q.grad).all()


@pytest.mark.parametrize("name", sorted(ALL_EFFECTS))
def test_batch_items_equal_single_calls_and_float64_kept(name):
    effect = ALL_EFFECTS[name]()
    gen = torch.Generator().manual_seed(1)
    x = 0.5 * torch.randn(3, 1, 3000, generator=gen, dtype=torch.float64)
    q = effect.param_space.sample(3, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        y = effect(x, q)
        assert y.dtype == torch.float64
        for i in range(3):
            assert torch.allclose(y[i:i + 1], effect(x[i:i + 1], q[i:i + 1]), atol=1e-6)


@pytest.mark.parametrize("name", sorted(ALL_EFFECTS))
def test_default_process_equals_forward_with_default_controls(name):
    """Up to the float32 rounding of the defaults' round trip through q (the chorus turns a
    1e-7 relative change of its delay into ~1e-5 at the output)."""
    effect = ALL_EFFECTS[name]()
    x = 0.5 * torch.randn(2, 1, 2000, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.allclose(effect.process(x, {}), effect(x, effect.param_space.default(2)),
                              atol=1e-4)
