"""Compressors driven by the neural proxy: the proxy alone, and the DSP/proxy hybrid."""

from __future__ import annotations

from torch import Tensor

from ..functional.dynamics import compressor
from ..nn.tcn import TCNCompressorProxy
from ..params import ParamSpace
from .base import Effect
from .dynamics import compressor_param_specs

HYBRID_MODES = ("straight_through", "reference")


class ProxyCompressor(Effect):
    """The TCN neural proxy of the compressor, frozen, with the controls of
    :class:`~dasp_blind.effects.Compressor`.

    The proxy sees the normalised attack, release, ratio and knee; threshold and makeup are
    applied explicitly. It stays in eval mode (BatchNorm uses its running statistics) and its
    weights are not trained, whatever mode the effect is in. Channels are processed
    independently.

    Args:
        sample_rate: must equal the rate the proxy was trained at.
        proxy: a trained proxy; default: the weights shipped in ``dasp_blind/pretrained``.
        proxy_sample_rate: training rate of a given ``proxy`` (default 44.1 kHz).
    """

    def __init__(self, sample_rate: float = 44100.0, proxy: TCNCompressorProxy | None = None,
                 proxy_sample_rate: float = 44100.0):
        super().__init__(sample_rate)
        if proxy is None:
            from ..pretrained import load_compressor_proxy

            proxy, meta = load_compressor_proxy()
            proxy_sample_rate = meta["sample_rate"]
        if self.sample_rate != float(proxy_sample_rate):
            raise ValueError(f"sample_rate must equal the proxy's training rate "
                             f"{proxy_sample_rate:g} Hz, got {sample_rate:g}")
        self.param_space = ParamSpace(compressor_param_specs())
        self.proxy = proxy.eval().requires_grad_(False)
        self._controls = ["attack_ms", "release_ms", "ratio", "knee_db"]

    def train(self, mode: bool = True) -> ProxyCompressor:
        """Set the effect's mode; the frozen proxy always stays in eval mode."""
        super().train(mode)
        self.proxy.eval()
        return self

    def _process(self, x: Tensor, params: dict[str, Tensor]) -> Tensor:
        controls = self.param_space.normalize({n: params[n] for n in self.param_space.names})
        index = [self.param_space.index(n) for n in self._controls]
        dtype = next(self.proxy.parameters()).dtype  # the proxy runs in its weights' dtype
        y = self.proxy(x.to(dtype), controls[:, index].to(dtype), params["threshold_db"],
                       params["makeup_db"])
        return y.to(x.dtype)


class HybridCompressor(Effect):
    """Exact DSP compressor forward, neural-proxy gradient.

    ``mode="straight_through"`` (default): ``y = dsp.detach() + proxy − proxy.detach()`` — the
    value is the exact compressor's, the gradient w.r.t. audio and controls is the proxy's
    (which is smooth where the DSP's ballistics switch).

    ``mode="reference"``: the BE-AFX behaviour — the proxy alone in ``train()`` mode, the DSP
    compressor alone in ``eval()`` mode.

    Args:
        sample_rate: sample rate in Hz (the proxy's training rate).
        proxy: a trained proxy; default: the shipped weights.
        mode: ``"straight_through"`` or ``"reference"``.
    """

    def __init__(self, sample_rate: float = 44100.0, proxy: TCNCompressorProxy | None = None,
                 mode: str = "straight_through"):
        super().__init__(sample_rate)
        if mode not in HYBRID_MODES:
            raise ValueError(f"mode must be one of {HYBRID_MODES}, got {mode!r}")
        self.mode = mode
        self.neural = ProxyCompressor(sample_rate, proxy)
        self.param_space = self.neural.param_space

    def _dsp(self, x: Tensor, params: dict[str, Tensor]) -> Tensor:
        return compressor(x, self.sample_rate, params["threshold_db"], params["ratio"],
                          params["attack_ms"], params["release_ms"], params["knee_db"],
                          params["makeup_db"])

    def _process(self, x: Tensor, params: dict[str, Tensor]) -> Tensor:
        if self.mode == "reference":
            return self.neural._process(x, params) if self.training else self._dsp(x, params)
        proxy = self.neural._process(x, params)
        return self._dsp(x, params).detach() + proxy - proxy.detach()

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, mode={self.mode!r}"


__all__ = ["HybridCompressor", "ProxyCompressor"]
