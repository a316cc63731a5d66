"""Weight initialisation with an optional seeded generator."""

from __future__ import annotations

import math

import torch
from torch import nn


def init_weights_(module: nn.Module, generator: torch.Generator | None = None) -> None:
    """Re-initialise every layer of ``module`` in place, as BE-AFX initialises its networks.

    * Convolutions (1-D and 2-D): Kaiming-normal weights (fan-in, ``leaky_relu`` with slope 0,
      i.e. standard deviation ``√(2/fan_in)``) and zero biases — the reference's ``init_model``.
    * Linear layers: PyTorch's default, which the reference's MLP keeps: weights Kaiming-uniform
      with ``a = √5`` and biases uniform in ``±1/√fan_in``.
    * Batch norms: weight 1, bias 0, running mean 0, running variance 1.
    * PReLUs: slope 0.25.

    Args:
        module: the network to initialise.
        generator: draws the random weights (``None``: PyTorch's global generator); a seeded one
            makes the weights reproducible.
    """
    for layer in module.modules():
        if isinstance(layer, (nn.Conv1d, nn.Conv2d)):
            nn.init.kaiming_normal_(layer.weight, a=0.0, mode="fan_in",
                                    nonlinearity="leaky_relu", generator=generator)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.Linear):
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
            if layer.bias is not None:
                bound = 1.0 / math.sqrt(layer.in_features)
                nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
        elif isinstance(layer, nn.modules.batchnorm._BatchNorm):
            layer.reset_parameters()
        elif isinstance(layer, nn.PReLU):
            nn.init.constant_(layer.weight, 0.25)


__all__ = ["init_weights_"]
