"""Squeeze-and-excitation over channels, as the back end of CRAFx uses it."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._checks import check_int


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation (Hu et al., 2018) in the variant of CRAFx (Martínez Ramírez et
    al., DAFx 2019): each channel is scaled by a gate computed from the mean absolute value of
    all channels over time,

    ``s = σ(W₂·relu(W₁·mean_t|x| + b₁) + b₂)``, ``y[:, c, t] = s_c · x[:, c, t]``.

    CRAFx "amplifies" (``hidden = 16·channels``) where the usual SE block reduces. Weights are
    Glorot-uniform with zero biases (Keras' defaults), drawn again by
    :meth:`reset_parameters`. Parameters: ``2·channels·hidden + hidden + channels``.

    Args:
        channels: size of the channel axis (axis 1).
        hidden: units of the hidden ReLU layer.

    Shape:
        input ``(batch, channels, time)``, output the same.
    """

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.channels = check_int(channels, "channels", low=1)
        self.hidden = check_int(hidden, "hidden", low=1)
        self.squeeze = nn.Linear(self.channels, self.hidden)
        self.excite = nn.Linear(self.hidden, self.channels)
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Glorot-uniform weights (``±sqrt(6 / (fan_in + fan_out))``) drawn from ``generator``
        (PyTorch's global generator when ``None``), zero biases."""
        with torch.no_grad():
            for layer in (self.squeeze, self.excite):
                nn.init.xavier_uniform_(layer.weight, generator=generator)
                nn.init.zeros_(layer.bias)

    def gate(self, x: Tensor) -> Tensor:
        """The per-channel gate ``s``: ``(batch, channels, time)`` -> ``(batch, channels)`` in
        ``(0, 1)``."""
        pooled = x.abs().mean(dim=-1)  # (batch, channels)
        return torch.sigmoid(self.excite(torch.relu(self.squeeze(pooled))))

    def forward(self, x: Tensor) -> Tensor:
        """``x``: ``(batch, channels, time)`` -> ``x`` scaled per channel, same shape."""
        if x.dim() != 3 or x.shape[1] != self.channels:
            raise ValueError(f"x must have shape (batch, channels={self.channels}, time), "
                             f"got {tuple(x.shape)}")
        return x * self.gate(x).unsqueeze(-1)


__all__ = ["SqueezeExcitation"]
