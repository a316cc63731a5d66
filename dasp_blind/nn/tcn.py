"""Causal temporal convolutional networks with FiLM conditioning.

:class:`TCNCompressorProxy` is the neural proxy of the compressor used by BE-AFX (reference §1.7):
5 blocks of dilated causal convolutions (kernel 13, dilations 1 … 10⁴, 8 channels), each
modulated by FiLM from an MLP over the normalised controls, a sigmoid gain head, and the
threshold and makeup applied explicitly. 8,004 parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..functional.units import _db_to_gain
from .mlp import mlp_stack


def receptive_field(kernel_size: int, dilations: list[int]) -> int:
    """Samples seen by a stack of dilated convolutions: ``k + (k − 1)·Σ(d) − (k − 1)``."""
    return 1 + (kernel_size - 1) * sum(dilations)


class FiLM(nn.Module):
    """Feature-wise linear modulation: ``x·γ + β`` with ``(γ, β) = Linear(cond)``.

    Args:
        cond_dim: size of the conditioning vector.
        channels: channels of the modulated features.
    """

    def __init__(self, cond_dim: int, channels: int):
        super().__init__()
        self.adaptor = nn.Linear(cond_dim, 2 * channels)

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        """``x``: ``(batch, channels, time)``; ``cond``: ``(batch, cond_dim)``."""
        gamma, beta = self.adaptor(cond).unsqueeze(-1).chunk(2, dim=1)
        return x * gamma + beta


class _DilatedConv(torch.autograd.Function):
    """Valid dilated 1-D convolution without bias, with a backward written as one forward
    convolution (input gradient) and ``kernel_size`` matrix products (weight gradient).

    On a CPU, torch's own convolution backward for these long, narrow, dilated inputs takes
    about five times the forward; this takes about 2.5 times (``benchmarks/bench_proxy.py``).
    """

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, dilation: int) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.dilation = dilation
        return nn.functional.conv1d(x, weight, dilation=dilation)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None]:
        x, weight = ctx.saved_tensors
        d, taps = ctx.dilation, weight.shape[-1]
        crop = (taps - 1) * d
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            flipped = weight.flip(-1).transpose(0, 1)
            grad_x = nn.functional.conv1d(nn.functional.pad(grad, (crop, crop)), flipped,
                                          dilation=d)
        if ctx.needs_input_grad[1]:
            length = grad.shape[-1]
            grad_w = torch.stack([torch.matmul(grad, x[..., k * d:k * d + length].transpose(1, 2))
                                  .sum(0) for k in range(taps)], dim=-1)
        return grad_x, grad_w, None


def dilated_conv1d(x: Tensor, weight: Tensor, dilation: int) -> Tensor:
    """``conv1d(x, weight, dilation=dilation)`` (valid, no bias): ``x`` ``(batch, in, time)``,
    ``weight`` ``(out, in, k)`` -> ``(batch, out, time − (k − 1)·dilation)``, with a faster
    CPU backward (:class:`_DilatedConv`)."""
    return _DilatedConv.apply(x, weight, dilation)


class TCNBlock(nn.Module):
    """Dilated causal conv (no bias, valid) → FiLM → PReLU, plus a per-channel residual scale.

    The input is expected to be left-padded already; the output is ``(k − 1)·d`` samples
    shorter, and the residual is cropped from the left to match.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int,
                 cond_dim: int):
        super().__init__()
        if in_channels not in (1, out_channels):
            raise ValueError(f"in_channels must be 1 or out_channels ({out_channels}), got "
                             f"{in_channels}")
        self.crop = (kernel_size - 1) * dilation
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, dilation=dilation,
                              bias=False)
        self.film = FiLM(cond_dim, out_channels)
        self.act = nn.PReLU(out_channels)
        self.residual = nn.Conv1d(in_channels, out_channels, 1, groups=in_channels, bias=False)

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        """``x``: ``(batch, in_channels, time)`` -> ``(batch, out_channels, time − crop)``."""
        conv = dilated_conv1d(x, self.conv.weight, self.conv.dilation[0])
        y = self.act(self.film(conv, cond))
        return y + self._residual(x[..., self.crop:])

    def _residual(self, x: Tensor) -> Tensor:
        """The 1×1 per-channel residual scale as a broadcast product (a grouped ``conv1d`` has
        a slow CPU backward): ``(batch, in_channels, time)`` -> ``(batch, out_channels, time)``,
        ``in_channels`` being 1 or ``out_channels``."""
        return x * self.residual.weight.reshape(1, -1, 1)

    def constant_response(self, value: Tensor, cond: Tensor) -> Tensor:
        """Output for an input that is constant in time: ``(batch, in_channels, 1)`` ->
        ``(batch, out_channels, 1)`` (the convolution reduces to its summed taps)."""
        summed = nn.functional.conv1d(value, self.conv.weight.sum(dim=-1, keepdim=True))
        return self.act(self.film(summed, cond)) + self._residual(value)


def conditioning_mlp(in_dim: int, hidden: tuple[int, ...] = (16, 32, 32)) -> nn.Sequential:
    """Linear → BatchNorm → PReLU layers mapping controls to a conditioning vector."""
    return mlp_stack(in_dim, hidden)


#: The compressor controls the proxy is conditioned on (normalised, in this order); threshold
#: and makeup are applied explicitly. The one declaration: the effect, the trainer and the
#: shipped weights' ``init_args`` use it.
PROXY_CONTROLS = ("attack_ms", "release_ms", "ratio", "knee_db")


def _check_controls(controls: Sequence[str]) -> tuple[str, ...]:
    """A non-empty sequence of distinct, non-empty names, as a tuple."""
    names = () if isinstance(controls, str) else tuple(controls)
    if (not names or not all(isinstance(n, str) and n for n in names)
            or len(set(names)) != len(names)):
        raise ValueError(f"controls must be a non-empty sequence of distinct names, got "
                         f"{controls!r}")
    return names


class TCNCompressorProxy(nn.Module):
    """Neural proxy of the compressor (reference §1.7).

    ``y = x · sigmoid(head(TCN(x / 10^(T/20), c))) · 10^(M/20)`` where the TCN is conditioned by
    ``c = MLP(q_attack, q_release, q_ratio, q_knee)``, the normalised controls. Channels are
    processed independently (folded into the batch).

    Args:
        kernel_size: convolution kernel (13).
        num_blocks: number of blocks (5).
        dilation_growth: dilation of block ``i`` is ``growth**i`` (10).
        channels: channels of every block (8).
        controls: names of the normalised compressor controls the network is conditioned on,
            in column order (default :data:`PROXY_CONTROLS`: attack, release, ratio, knee);
            kept as ``self.controls`` so that an effect can check what a trained proxy expects.
    """

    def __init__(self, kernel_size: int = 13, num_blocks: int = 5, dilation_growth: int = 10,
                 channels: int = 8, controls: Sequence[str] = PROXY_CONTROLS):
        super().__init__()
        dilations = [dilation_growth**i for i in range(num_blocks)]
        self.receptive_field = receptive_field(kernel_size, dilations)
        self.controls = _check_controls(controls)
        self.num_controls = len(self.controls)
        self.gen = conditioning_mlp(self.num_controls)
        cond_dim = self.gen[-3].out_features
        self.blocks = nn.ModuleList(
            TCNBlock(1 if i == 0 else channels, channels, kernel_size, d, cond_dim)
            for i, d in enumerate(dilations))
        self.head = nn.Conv1d(channels, 1, 1)

    def gain(self, x: Tensor, controls: Tensor) -> Tensor:
        """Gain mask in ``(0, 1)``: ``x`` ``(batch, 1, time)`` already divided by the threshold,
        ``controls`` ``(batch, num_controls)`` -> ``(batch, 1, time)``.

        The network sees the signal preceded by silence. Rather than padding the input with
        ``receptive_field − 1`` zeros and running every block over them, each block's input is
        padded with just the ``(k − 1)·d`` samples it consumes, filled with the constant that the
        previous blocks output for silence: the same result, with the long padding paid only by
        the last, most dilated block.
        """
        cond = self.gen(controls)
        h = x
        silence = x.new_zeros(x.shape[0], 1, 1)  # each block's input before the signal starts
        for block in self.blocks:
            h = block(torch.cat([silence.expand(-1, -1, block.crop), h], dim=-1), cond)
            silence = block.constant_response(silence, cond)
        return torch.sigmoid(self.head(h))

    def forward(self, x: Tensor, controls: Tensor, threshold_db: Tensor,
                makeup_db: Tensor) -> Tensor:
        """Compress ``x``.

        Args:
            x: audio ``(batch, channels, samples)``.
            controls: the normalised :attr:`controls` ``(batch, num_controls)`` in ``[0, 1]``.
            threshold_db: ``(batch,)`` in dB.
            makeup_db: ``(batch,)`` in dB.

        Returns:
            Compressed audio ``(batch, channels, samples)``.
        """
        batch, channels, length = x.shape
        folded = x.reshape(batch * channels, 1, length)
        scale = _db_to_gain(threshold_db.to(x.dtype))
        scale = scale.repeat_interleave(channels).reshape(-1, 1, 1)
        cond = controls.to(x.dtype).repeat_interleave(channels, dim=0)
        mask = self.gain(folded / scale, cond)
        makeup = _db_to_gain(makeup_db.to(x.dtype))
        return (folded * mask).reshape(batch, channels, length) * makeup.reshape(-1, 1, 1)


__all__ = ["PROXY_CONTROLS", "FiLM", "TCNBlock", "TCNCompressorProxy", "conditioning_mlp",
           "dilated_conv1d", "receptive_field"]
