"""Compressors driven by the neural proxy: the proxy alone, and the DSP/proxy hybrid."""

from __future__ import annotations

import os
from pathlib import Path

from torch import Tensor, nn

from .. import pretrained
from ..nn.tcn import PROXY_CONTROLS, TCNCompressorProxy
from ..params import ParamSpace
from .base import Effect
from .dynamics import Compressor, compressor_param_specs

HYBRID_MODES = ("straight_through", "reference")
#: The shipped proxy weights (:mod:`dasp_blind.pretrained`) that the effects load by default.
DEFAULT_PROXY = "compressor_proxy"


class ProxyCompressor(Effect):
    """The TCN neural proxy of the compressor, frozen, with the controls of
    :class:`~dasp_blind.effects.Compressor`.

    The proxy sees the normalised attack, release, ratio and knee; threshold and makeup are
    applied explicitly. It stays in eval mode (BatchNorm uses its running statistics) and its
    weights are not trained, whatever mode the effect is in. Channels are processed
    independently. It takes no side input (the network detects on ``x``).

    Args:
        sample_rate: must equal the rate the proxy was trained at.
        proxy: a :class:`~dasp_blind.nn.TCNCompressorProxy`, or weights to load with
            :func:`dasp_blind.pretrained.load` — a name or the path of a ``.pt`` with its
            sidecar. Default: the shipped ``"compressor_proxy"``.
        proxy_sample_rate: training rate of a ``proxy`` given as a module (default 44.1 kHz);
            loaded weights carry their own.

    Raises:
        ValueError: if the rates differ, or the proxy is conditioned on other controls than
            :data:`~dasp_blind.nn.tcn.PROXY_CONTROLS` (naming the weights file).
    """

    def __init__(self, sample_rate: float = 44100.0,
                 proxy: TCNCompressorProxy | str | os.PathLike | None = None,
                 proxy_sample_rate: float | None = None):
        super().__init__(sample_rate)
        if proxy is None or isinstance(proxy, str | os.PathLike):
            source = DEFAULT_PROXY if proxy is None else proxy
            if proxy_sample_rate is not None:
                raise ValueError(f"proxy_sample_rate applies to a proxy module only; the weights "
                                 f"{str(source)!r} record their own sample rate")
            proxy, proxy_sample_rate = _load_proxy(source)
        else:
            proxy_sample_rate = 44100.0 if proxy_sample_rate is None else proxy_sample_rate
            _check_controls(proxy, "proxy")
        if self.sample_rate != float(proxy_sample_rate):
            raise ValueError(f"sample_rate must equal the proxy's training rate "
                             f"{proxy_sample_rate:g} Hz, got {sample_rate:g}")
        self.param_space = ParamSpace(compressor_param_specs())
        self.proxy = proxy.eval().requires_grad_(False)
        self._control_index = [self.param_space.index(n) for n in PROXY_CONTROLS]

    def train(self, mode: bool = True) -> ProxyCompressor:
        """Set the effect's mode; the frozen proxy always stays in eval mode."""
        super().train(mode)
        self.proxy.eval()
        return self

    def process_validated(self, x: Tensor, params: dict[str, Tensor]) -> Tensor:
        """See :meth:`Effect.process_validated`."""
        controls = self.param_space.normalize({n: params[n] for n in self.param_space.names})
        dtype = next(self.proxy.parameters()).dtype  # the proxy runs in its weights' dtype
        y = self.proxy(x.to(dtype), controls[:, self._control_index].to(dtype),
                       params["threshold_db"], params["makeup_db"])
        return y.to(x.dtype)


def _check_controls(proxy: nn.Module, source: str) -> None:
    """Raise a ``ValueError`` naming ``source`` unless the proxy's controls are
    :data:`PROXY_CONTROLS`."""
    controls = tuple(getattr(proxy, "controls", ()))
    if controls != PROXY_CONTROLS:
        raise ValueError(f"{source}: the proxy is conditioned on controls {list(controls)}, "
                         f"ProxyCompressor needs {list(PROXY_CONTROLS)}")


def _load_proxy(source: str | os.PathLike) -> tuple[nn.Module, float]:
    """Load weights with :func:`dasp_blind.pretrained.load`; return them and their rate."""
    proxy = pretrained.load(source)
    _check_controls(proxy, str(Path(source).with_suffix(".json")))
    return proxy, pretrained.info(source)["sample_rate"]


class HybridCompressor(Effect):
    """Exact DSP compressor forward, neural-proxy gradient.

    ``mode="straight_through"`` (default): ``y = dsp.detach() + proxy − proxy.detach()`` — the
    value is the exact compressor's, the gradient w.r.t. audio and controls is the proxy's
    (which is smooth where the DSP's ballistics switch).

    ``mode="reference"``: the BE-AFX behaviour — the proxy alone in ``train()`` mode, the DSP
    compressor alone in ``eval()`` mode.

    It takes no side input: the proxy could not follow a sidechain or a look-ahead, so the
    gradient would belong to another effect than the value.

    Args:
        sample_rate: sample rate in Hz (the proxy's training rate).
        proxy: as for :class:`ProxyCompressor` (a module, a pretrained name or a path);
            default: the shipped weights.
        mode: ``"straight_through"`` or ``"reference"``.
    """

    def __init__(self, sample_rate: float = 44100.0,
                 proxy: TCNCompressorProxy | str | os.PathLike | None = None,
                 mode: str = "straight_through"):
        super().__init__(sample_rate)
        if mode not in HYBRID_MODES:
            raise ValueError(f"mode must be one of {HYBRID_MODES}, got {mode!r}")
        self.mode = mode
        self.neural = ProxyCompressor(sample_rate, proxy)
        self.dsp = Compressor(sample_rate)
        self.param_space = self.neural.param_space

    def process_validated(self, x: Tensor, params: dict[str, Tensor]) -> Tensor:
        """See :meth:`Effect.process_validated`."""
        if self.mode == "reference":
            return (self.neural.process_validated(x, params) if self.training
                    else self.dsp.process_validated(x, params))
        proxy = self.neural.process_validated(x, params)
        return self.dsp.process_validated(x, params).detach() + proxy - proxy.detach()

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, mode={self.mode!r}"


__all__ = ["HybridCompressor", "ProxyCompressor"]
