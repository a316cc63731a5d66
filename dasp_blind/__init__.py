"""dasp_blind: differentiable audio effects in PyTorch and the models built from them."""

from . import effects, functional, params

__version__ = "0.1.0"

__all__ = ["effects", "functional", "params", "__version__"]
