"""Reusable network blocks."""

from .tcn import (
    PROXY_CONTROLS,
    FiLM,
    TCNBlock,
    TCNCompressorProxy,
    conditioning_mlp,
    receptive_field,
)

__all__ = ["PROXY_CONTROLS", "FiLM", "TCNBlock", "TCNCompressorProxy", "conditioning_mlp",
           "receptive_field"]
