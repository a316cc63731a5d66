r"""Smooth adaptive activation function (SAAF; Hou, Samaras, Kurc, Gao and Saltz, AISTATS 2017),
as the CAFx / CRAFx models of Martínez Ramírez et al. (DAFx 2019) use it.

A learnable, per-channel activation made of a linear term and quadratic-spline "ramps":

.. math::

    \operatorname{SAAF}_c(x) = w^{\text{lin}}_c\,x + \sum_{k=0}^{S-1} w_{c,k}\,B(x; s_k, e_k),

    B(x; s, e) = m \cdot \begin{cases}
        0 & x < s \\
        \tfrac12 (x - s)^2 & s \le x < e \\
        (e - s)(x - e) + \tfrac12 (e - s)^2 & x \ge e
    \end{cases}

with magnitude ``m``. ``B`` is the order-2 basis of Hou et al.: zero below the segment, a
parabola across it and a straight line of slope ``(e − s)`` above it, continuous with a
continuous first derivative everywhere (the second derivative jumps at ``s`` and ``e``).

Segments: ``breakpoints`` values equally spaced over ``[low, high]`` (``numpy.linspace``), taken
as consecutive **pairs** ``(b₀, b₁), (b₂, b₃), …``: ``S = breakpoints // 2`` segments, with gaps
between them, and with an odd count the last breakpoint unused — exactly as the released Keras
layer (``mchijmma/DL-AFx``, ``Layers.SAAF``) does it. The paper's defaults (25 breakpoints over
``±0.2``, magnitude 100) give 12 segments of width 1/60, centred ``1/30`` apart.

Evaluation: above the end of segment ``k`` its basis is a straight line, so on each interval
between two segment ends the whole sum is a line plus one parabola. :meth:`SAAF.forward` looks up
the coefficients of that interval per element (a sorted search and a gather) instead of
evaluating the ``S`` basis functions: a few passes over the input in place of ``7·S``, and far
less memory kept for the backward pass.

The weights are tied over time: one linear weight and ``S`` segment weights per channel,
``channels·(S + 1)`` parameters, drawn from ``N(0, 0.05²)`` (Keras' ``random_normal``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._checks import check_int, check_number, check_positive


class SAAF(nn.Module):
    """Smooth adaptive activation function with weights per channel, tied over time.

    Args:
        channels: size of the channel axis (axis 1 of the input); each channel has its own
            weights.
        breakpoints: equally spaced breakpoints over ``[low, high]``, ``>= 2``; consecutive
            pairs of them form the ``breakpoints // 2`` segments.
        low: the first breakpoint.
        high: the last breakpoint, ``> low``.
        magnitude: scale ``m`` of every basis function, ``> 0``.

    Shape:
        input ``(batch, channels, *)`` (CRAFx: ``(batch, features, time)``), output the same.
    """

    def __init__(self, channels: int, breakpoints: int = 25, low: float = -0.2,
                 high: float = 0.2, magnitude: float = 100.0) -> None:
        super().__init__()
        self.channels = check_int(channels, "channels", low=1)
        self.breakpoints = check_int(breakpoints, "breakpoints", low=2)
        self.low = check_number(low, "low")
        self.high = check_number(high, "high")
        if self.high <= self.low:
            raise ValueError(f"high must be greater than low={low!r}, got {high!r}")
        self.magnitude = check_positive(magnitude, "magnitude")
        self.segments = self.breakpoints // 2
        self.linear = nn.Parameter(torch.empty(self.channels))
        self.weight = nn.Parameter(torch.empty(self.channels, self.segments))
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Draw every weight from ``N(0, 0.05²)`` (Keras' ``random_normal``) with
        ``generator`` (PyTorch's global generator when ``None``)."""
        with torch.no_grad():
            for p in (self.linear, self.weight):
                nn.init.normal_(p, 0.0, 0.05, generator=generator)

    def _tables(self, dtype: torch.dtype, device: torch.device) -> tuple[Tensor, ...]:
        """Per-channel coefficients of the activation on each interval between segment ends.

        With ``j`` the number of segments whose end ``e_k <= x``, the sum of the basis
        functions is ``x·A_j + C_j + q_j·relu(x − s_j)²``: the ``j`` passed segments are
        straight lines (``A_j = m·Σ_{k<j} w_k·d_k``, ``C_j = m·Σ_{k<j} w_k·(d_k²/2 − d_k·e_k)``,
        ``d_k = e_k − s_k``) and segment ``j`` is a parabola from its start (``q_j = m·w_j/2``;
        0 for ``j = S``).

        Returns:
            ``slope`` ``(channels, S + 1)`` (the linear weight included), ``offset`` and
            ``quad`` (same shape), ``starts`` ``(S + 1,)`` and ``ends`` ``(S,)``.
        """
        points = torch.linspace(self.low, self.high, self.breakpoints, dtype=dtype,
                                device=device)
        starts = points[0:2 * self.segments:2]
        ends = points[1:2 * self.segments:2]
        widths = ends - starts
        w = self.weight
        zero = w.new_zeros(self.channels, 1)
        passed = self.magnitude * w * widths
        slope = torch.cat([zero, passed.cumsum(1)], 1) + self.linear.unsqueeze(1)
        offset = torch.cat([zero, (passed * (0.5 * widths - ends)).cumsum(1)], 1)
        quad = torch.cat([0.5 * self.magnitude * w, zero], 1)
        return slope, offset, quad, torch.cat([starts, ends[-1:]]), ends

    def forward(self, x: Tensor) -> Tensor:
        """``x``: ``(batch, channels, *)`` -> the activation, same shape."""
        if x.dim() < 2 or x.shape[1] != self.channels:
            raise ValueError(f"x must have shape (batch, channels={self.channels}, ...), "
                             f"got {tuple(x.shape)}")
        slope, offset, quad, starts, ends = self._tables(x.dtype, x.device)
        with torch.no_grad():  # j = number of segment ends <= x (equally spaced ends)
            spacing = 2 * (self.high - self.low) / (self.breakpoints - 1)
            index = (x - ends[0]).div_(spacing).floor_().add_(1).clamp_(0, self.segments).long()
        flat = index.flatten(2) if x.dim() > 2 else index.unsqueeze(-1)
        batch = x.shape[0]

        def pick(table: Tensor) -> Tensor:
            return table.unsqueeze(0).expand(batch, -1, -1).gather(2, flat).view(x.shape)

        ramp = torch.relu(x - starts[index])
        return x * pick(slope) + pick(offset) + pick(quad) * ramp * ramp


__all__ = ["SAAF"]
