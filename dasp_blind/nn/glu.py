"""Gated linear unit convolution."""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F

from .._checks import check_int


class GLUConv1d(nn.Module):
    """Unpadded ``Conv1d(in_channels → 2·out_channels, kernel_size)`` followed by a gated linear
    unit over channels: ``a · σ(b)`` where ``a`` is the first ``out_channels`` channels of the
    convolution and ``b`` the last (Dauphin et al., 2017).

    Parameters: ``2·out_channels·(in_channels·kernel_size + 1)``.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        kernel_size: taps of the convolution; the output is ``kernel_size − 1`` samples shorter
            than the input.

    Shape:
        input ``(batch, in_channels, time)`` with ``time >= kernel_size``, output ``(batch,
        out_channels, time − kernel_size + 1)``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.in_channels = check_int(in_channels, "in_channels", low=1)
        self.out_channels = check_int(out_channels, "out_channels", low=1)
        self.kernel_size = check_int(kernel_size, "kernel_size", low=1)
        self.conv = nn.Conv1d(self.in_channels, 2 * self.out_channels, self.kernel_size)

    def forward(self, x: Tensor) -> Tensor:
        """``x``: ``(batch, in_channels, time)`` -> ``(batch, out_channels, time − kernel_size
        + 1)``."""
        return F.glu(self.conv(x), dim=1)


__all__ = ["GLUConv1d"]
