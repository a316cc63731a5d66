"""Differentiable effects as ``nn.Module`` s with a :class:`~dasp_blind.params.ParamSpace`."""

from .base import Effect
from .catalog import names
from .chain import Chain, remove_dc_and_peak_normalize
from .dynamics import Compressor, SimplifiedCompressor
from .eq import GraphicEQ, ParametricEQ
from .modulation import Chorus, Gain, Tremolo
from .nonlinear import (
    ChebyshevClipper,
    HardClip,
    ParametricClipper,
    SoftClip,
    SoxOverdrive,
    TaylorClipper,
)
from .proxy import HybridCompressor, ProxyCompressor

__all__ = [
    "Chain",
    "ChebyshevClipper",
    "Chorus",
    "Compressor",
    "Effect",
    "Gain",
    "GraphicEQ",
    "HardClip",
    "HybridCompressor",
    "ParametricClipper",
    "ParametricEQ",
    "ProxyCompressor",
    "SimplifiedCompressor",
    "SoftClip",
    "SoxOverdrive",
    "TaylorClipper",
    "Tremolo",
    "names",
    "remove_dc_and_peak_normalize",
]
