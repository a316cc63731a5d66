"""Reusable network blocks."""

from .init import init_weights_
from .mlp import MLPHead, mlp_stack
from .tcn import (
    PROXY_CONTROLS,
    FiLM,
    TCNBlock,
    TCNCompressorProxy,
    conditioning_mlp,
    receptive_field,
)

__all__ = ["PROXY_CONTROLS", "FiLM", "MLPHead", "TCNBlock", "TCNCompressorProxy",
           "conditioning_mlp", "init_weights_", "mlp_stack", "receptive_field"]
