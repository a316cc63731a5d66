"""Bidirectional LSTM over the time axis of a ``(batch, features, frames)`` tensor."""

from __future__ import annotations

from torch import Tensor, nn

from .._checks import check_int


class BLSTM(nn.Module):
    """Bidirectional LSTM over time followed by a linear map of the two directions back to
    ``dim``: ``(batch, dim, frames) → (batch, dim, frames)``.

    The bottleneck of Demucs v2 (:class:`dasp_blind.removal.demucs.Demucs`). Its submodules are
    ``lstm`` (:class:`torch.nn.LSTM`, ``batch_first``, bidirectional) and ``linear``
    (``Linear(2·hidden → dim)``), so a state dict has the keys ``lstm.weight_ih_l0``, …,
    ``linear.weight``, ``linear.bias``. Parameters:
    ``Σ_layers 2·4·(hidden·(inputs + hidden) + 2·hidden) + 2·hidden·dim + dim`` with
    ``inputs = dim`` for the first layer and ``2·hidden`` after it.

    Args:
        dim: features of the input and of the output.
        layers: stacked LSTM layers, ``>= 1``.
        hidden: hidden units per direction; ``None`` for ``dim``.

    Shape:
        input ``(batch, dim, frames)``, output ``(batch, dim, frames)``.
    """

    def __init__(self, dim: int, layers: int, hidden: int | None = None) -> None:
        super().__init__()
        self.dim = check_int(dim, "dim", low=1)
        self.layers = check_int(layers, "layers", low=1)
        self.hidden = self.dim if hidden is None else check_int(hidden, "hidden", low=1)
        self.lstm = nn.LSTM(input_size=self.dim, hidden_size=self.hidden, num_layers=self.layers,
                            bidirectional=True, batch_first=True)
        self.linear = nn.Linear(2 * self.hidden, self.dim)

    def forward(self, x: Tensor) -> Tensor:
        """``x``: ``(batch, dim, frames)`` -> ``(batch, dim, frames)``."""
        y, _ = self.lstm(x.transpose(1, 2))  # (batch, frames, 2·hidden)
        return self.linear(y).transpose(1, 2)  # (batch, dim, frames)


__all__ = ["BLSTM"]
