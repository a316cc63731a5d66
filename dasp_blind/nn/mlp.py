"""Multilayer perceptrons: Linear → BatchNorm1d → PReLU stacks and the estimation head."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .._checks import check_batchnorm_batch, check_int, check_tensor
from .init import init_weights_


def mlp_stack(in_dim: int, hidden: Sequence[int]) -> nn.Sequential:
    """``Linear → BatchNorm1d → PReLU`` for each width of ``hidden`` (one shared PReLU slope per
    layer): ``(batch, in_dim)`` -> ``(batch, hidden[-1])``."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_dim, width), nn.BatchNorm1d(width), nn.PReLU()]
        in_dim = width
    return nn.Sequential(*layers)


def _check_widths(hidden: Sequence[int]) -> tuple[int, ...]:
    """A sequence of integers ``>= 1`` (possibly empty), as a tuple."""
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
        raise ValueError(f"hidden must be a sequence of integers >= 1, got {hidden!r}")
    return tuple(check_int(width, f"hidden[{i}]", low=1) for i, width in enumerate(hidden))


class MLPHead(nn.Module):
    """The BE-AFX controller head: an embedding -> normalised controls in ``[0, 1]``.

    ``Linear → BatchNorm1d → PReLU`` for each hidden width, then ``Linear → Sigmoid``
    (reference §3: widths 2048, 1024, 512; 6.83 M parameters after the 2048-d MEE, plus
    ``513·num_params``).

    Args:
        in_dim: size of the embedding (the encoder's ``out_dim``).
        num_params: number of controls to estimate (the effect's ``num_params``).
        hidden: widths of the hidden layers, possibly empty.
    """

    def __init__(self, in_dim: int, num_params: int, hidden: Sequence[int] = (2048, 1024, 512)):
        super().__init__()
        self.in_dim = check_int(in_dim, "in_dim", low=1)
        self.num_params = check_int(num_params, "num_params", low=1)
        self.hidden = _check_widths(hidden)
        self.layers = mlp_stack(self.in_dim, self.hidden)
        self.out = nn.Linear(self.hidden[-1] if self.hidden else self.in_dim, self.num_params)
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """PyTorch's default initialisation, drawn from ``generator`` when given."""
        init_weights_(self, generator)

    def forward(self, z: Tensor) -> Tensor:
        """``z``: embedding ``(batch, in_dim)`` -> controls ``(batch, num_params)`` in
        ``[0, 1]`` (a sigmoid).

        Raises:
            ValueError: if ``z`` is not a finite float tensor ``(batch, in_dim)``, or holds one
                item in training mode with hidden layers (batch norm).
        """
        check_tensor(z, "z", "(batch, in_dim)")
        if z.dim() != 2 or z.shape[1] != self.in_dim:
            raise ValueError(f"z must have shape (batch, {self.in_dim}), got {tuple(z.shape)}")
        if self.hidden:
            check_batchnorm_batch(self.training, z.shape[0], "z")
        return torch.sigmoid(self.out(self.layers(z)))


__all__ = ["MLPHead", "mlp_stack"]
