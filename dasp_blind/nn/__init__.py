"""Reusable network blocks: the MLP head of the estimators, the TCN of the compressor proxy, and
the blocks the distortion-removal and effect-modelling networks share (:class:`BLSTM`,
:class:`GLUConv1d`, :class:`SAAF`, :class:`SqueezeExcitation`)."""

from .glu import GLUConv1d
from .init import init_weights_
from .mlp import MLPHead, mlp_stack
from .recurrent import BLSTM
from .saaf import SAAF
from .squeeze_excitation import SqueezeExcitation
from .tcn import (
    PROXY_CONTROLS,
    FiLM,
    TCNBlock,
    TCNCompressorProxy,
    conditioning_mlp,
    receptive_field,
)

__all__ = ["BLSTM", "PROXY_CONTROLS", "SAAF", "FiLM", "GLUConv1d", "MLPHead", "SqueezeExcitation",
           "TCNBlock", "TCNCompressorProxy", "conditioning_mlp", "init_weights_", "mlp_stack",
           "receptive_field"]
