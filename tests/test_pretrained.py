"""The shipped compressor-proxy weights."""

import json
from importlib import resources

import torch
from _signals import randn
from _tolerances import rounding_tol

from dasp_blind.data import EffectPairDataset, SyntheticClips
from dasp_blind.effects import Compressor, HybridCompressor, ProxyCompressor
from dasp_blind.pretrained import load_compressor_proxy


def test_shipped_weights_load_with_weights_only():
    files = resources.files("dasp_blind.pretrained")
    state = torch.load(files / "compressor_proxy.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    meta = json.loads((files / "compressor_proxy.json").read_text())
    assert meta["sample_rate"] == 44100 and meta["steps"] > 1000
    proxy, loaded = load_compressor_proxy()
    assert loaded == meta and not proxy.training
    assert sum(p.numel() for p in proxy.parameters()) == 8004
    assert (files / "compressor_proxy.pt").stat().st_size < 100_000


def test_shipped_proxy_follows_the_dsp_compressor_on_unseen_clips():
    """Held-out synthetic clips (a seed training never used), random controls."""
    pairs = EffectPairDataset(SyntheticClips(16, 1.0, 44100, seed=4242), Compressor(), seed=4242)
    batch = next(iter(torch.utils.data.DataLoader(pairs, batch_size=16)))
    with torch.no_grad():
        estimate = ProxyCompressor()(batch["dry"], batch["q"])
    mae = (estimate - batch["wet"]).abs().mean().item()
    untrained = (batch["dry"] - batch["wet"]).abs().mean().item()
    assert mae < 0.05
    assert mae < 0.25 * untrained


def test_default_effects_use_the_shipped_proxy():
    x = randn(1, 1, 4410, seed=0, scale=0.3)
    q = torch.full((1, 6), 0.5)
    proxy, _ = load_compressor_proxy()
    neural = ProxyCompressor()(x, q)
    assert torch.equal(neural, ProxyCompressor(proxy=proxy)(x, q))
    dsp = Compressor()(x, q)
    # the hybrid's value is (dsp + proxy) − proxy: two roundings relative to |dsp| + |proxy|
    assert (HybridCompressor()(x, q) - dsp).abs().max() <= rounding_tol(
        dsp.abs() + neural.abs(), ops=2)
