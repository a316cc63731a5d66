"""dasp_blind: differentiable audio effects in PyTorch and the models built from them."""

from . import (
    data,
    effects,
    encoders,
    estimation,
    functional,
    metrics,
    modelling,
    nn,
    params,
    pretrained,
    removal,
)

__version__ = "0.1.0"

__all__ = ["data", "effects", "encoders", "estimation", "functional", "metrics", "modelling",
           "nn", "params", "pretrained", "removal", "__version__"]
