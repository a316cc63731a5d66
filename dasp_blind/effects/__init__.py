"""Differentiable effects as ``nn.Module`` s with a :class:`~dasp_blind.params.ParamSpace`."""

from .base import Effect
from .chain import Chain, remove_dc_and_peak_normalize
from .eq import GraphicEQ, ParametricEQ

__all__ = ["Chain", "Effect", "GraphicEQ", "ParametricEQ", "remove_dc_and_peak_normalize"]
