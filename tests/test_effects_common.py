"""Properties every effect of the library must have, checked on all of them."""

import pytest
import torch
from _signals import randn, seeded
from _tolerances import PROXY_GROWTH, assert_items_match_single_calls, assert_within_rounding

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

#: The largest FFT an effect pads to: the slowest pole's decay (at most 2^18) plus the signal.
MAX_FFT = 1 << 19
#: Rounding growth of a float64 effect (for :func:`rounding_tol`): generous for any effect's
#: arithmetic, the longest chain in the library being an FFT of at most MAX_FFT.
FLOAT64_GROWTH = dict(dtype=torch.float64, fft_size=MAX_FFT)
#: Effects whose float64 output is float32-accurate by design: the proxy network runs in its
#: float32 weights; the FFT filters pad to the slowest pole of the batch, so an item alone pads
#: less (the tail left out is 120 dB down).
FLOAT32_GROWTH = {
    "ProxyCompressor": dict(dtype=torch.float32, **PROXY_GROWTH),
    **{name: dict(dtype=torch.float32, fft_size=MAX_FFT)
       for name in ("ParametricEQ", "GraphicEQ", "SimplifiedCompressor", "Chain")},
}


def test_every_exported_effect_is_covered():
    exported = {name for name in fx.__all__ if isinstance(getattr(fx, name), type)
                and issubclass(getattr(fx, name), fx.Effect) and name != "Effect"}
    assert exported == set(ALL_EFFECTS)


@pytest.mark.parametrize("name", sorted(ALL_EFFECTS))
def test_finite_outputs_and_gradients_at_range_edges_and_on_silence(name):
    effect = ALL_EFFECTS[name]()
    gen = seeded(0)
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
    gen = seeded(1)
    x = 0.5 * torch.randn(3, 1, 3000, generator=gen, dtype=torch.float64)
    q = effect.param_space.sample(3, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        y = assert_items_match_single_calls(effect, x, q,
                                            **FLOAT32_GROWTH.get(name, FLOAT64_GROWTH))
    assert y.dtype == torch.float64


@pytest.mark.parametrize("name", sorted(ALL_EFFECTS))
def test_default_process_equals_forward_with_default_controls(name):
    """In float64, up to the rounding of the defaults' round trip through q; the chorus turns a
    relative change of its delay into up to 2·peak per sample of delay (at most 35 ms)."""
    effect = ALL_EFFECTS[name]()
    x = randn(2, 1, 2000, seed=2, dtype=torch.float64, scale=0.5)
    growth = FLOAT32_GROWTH.get(name, FLOAT64_GROWTH)
    if name == "Chorus":
        growth = dict(dtype=torch.float64, ops=2 * 35e-3 * FS)
    with torch.no_grad():
        default_q = effect.param_space.default(2, dtype=torch.float64)
        assert_within_rounding(effect.process(x, {}), effect(x, default_q), **growth)
