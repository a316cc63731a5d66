"""Reusable network blocks."""

from .tcn import FiLM, TCNBlock, TCNCompressorProxy, conditioning_mlp, receptive_field

__all__ = ["FiLM", "TCNBlock", "TCNCompressorProxy", "conditioning_mlp", "receptive_field"]
