"""MEE, the music effects encoder: 12 residual 1-D convolution blocks on the waveform.

Koo et al. (ICASSP 2023, "Music mixing style transfer") built it to embed the effects of a mix;
BE-AFX (reference §2.1) uses it as its largest encoder, with three changes from Koo's code
(§2.2), which ``variant="koo"`` keeps:

============  ==============================  ==============================
              ``variant="beafx"`` (default)    ``variant="koo"``
============  ==============================  ==============================
input         mono (the channels' mean)        stereo (mono duplicated)
conv1 pad     zeros, ``'same'``                reflection, ``'same'``
conv2 pad     none (``'valid'``)               reflection, ``'same'``
activation    PReLU (one shared slope)         ReLU
============  ==============================  ==============================

Kernels ``[25,25,15,15,10,10,10,10,5,5,5,5]``, channels ``16 … 2048``, strides
``[4,4,2,2,2,2,2,2,2,2,1,1]``, batch norms, global average pooling to 2048 dimensions; no final
linear layer (Koo's optional 2048 → 512 projection for contrastive training is left out, as in
BE-AFX). 81,392,228 parameters for ``"beafx"``.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from .._checks import check_choice, check_int
from .base import Encoder

KERNELS = (25, 25, 15, 15, 10, 10, 10, 10, 5, 5, 5, 5)
CHANNELS = (16, 32, 64, 128, 256, 256, 512, 512, 1024, 1024, 2048, 2048)
STRIDES = (4, 4, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1)
VARIANTS = ("beafx", "koo")


def _same_padding(kernel_size: int) -> tuple[int, int]:
    """Left and right padding that keep the length at stride 1 (the extra sample on the right,
    as PyTorch's ``padding='same'`` and Koo's code put it)."""
    total = kernel_size - 1
    return total // 2, total - total // 2


def _conv(in_channels: int, out_channels: int, kernel_size: int, stride: int,
          padding: str, variant: str) -> nn.Sequential:
    """Padding → Conv1d (with bias) → BatchNorm1d → activation. ``padding`` is ``"same"`` (zeros
    for ``"beafx"``, a reflection for ``"koo"``) or ``"valid"`` (none: an identity)."""
    if padding == "valid":
        pad: nn.Module = nn.Identity()
    elif variant == "koo":
        pad = nn.ReflectionPad1d(_same_padding(kernel_size))
    else:  # explicit zeros, as padding='same' but without its even-kernel warning
        pad = nn.ConstantPad1d(_same_padding(kernel_size), 0.0)
    return nn.Sequential(pad, nn.Conv1d(in_channels, out_channels, kernel_size, stride=stride),
                         nn.BatchNorm1d(out_channels),
                         nn.ReLU() if variant == "koo" else nn.PReLU())


class ResBlock1d(nn.Module):
    """``conv2(conv1(x) + x)``: conv1 keeps the channels and the length (stride 1, 'same'),
    conv2 changes the channels and strides; each conv is followed by BatchNorm1d and the
    activation.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        kernel_size: kernel of both convolutions.
        stride: stride of conv2.
        variant: ``"beafx"`` (zero 'same' padding for conv1, none for conv2, PReLU) or
            ``"koo"`` (reflection 'same' padding for both, ReLU).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int,
                 variant: str = "beafx"):
        super().__init__()
        self.conv1 = _conv(in_channels, in_channels, kernel_size, 1, "same", variant)
        self.conv2 = _conv(in_channels, out_channels, kernel_size, stride,
                           "same" if variant == "koo" else "valid", variant)

    def forward(self, x: Tensor) -> Tensor:
        """``(batch, in_channels, time)`` -> ``(batch, out_channels, time')`` with ``time' =
        ⌊(time − kernel)/stride⌋ + 1`` ('valid') or ``⌈time/stride⌉`` ('same')."""
        return self.conv2(self.conv1(x) + x)


def min_length(kernels: Sequence[int], strides: Sequence[int], variant: str = "beafx") -> int:
    """Fewest input samples the blocks take.

    ``"beafx"``: every conv2 is 'valid', so working back from one output sample, a block needs
    ``(n − 1)·stride + kernel`` inputs for ``n`` outputs — 54,489 samples (1.24 s at 44.1 kHz)
    for the reference sizes. ``"koo"``: each block outputs ``⌈n/stride⌉`` samples, and its
    reflection padding needs more samples than it pads — 8,193 for the reference sizes.
    """
    need = 1
    for kernel, stride in zip(reversed(kernels), reversed(strides), strict=True):
        if variant == "koo":
            need = max((need - 1) * stride + 1, _same_padding(kernel)[1] + 1)
        else:
            need = (need - 1) * stride + kernel
    return need


class MEE(Encoder):
    """Music effects encoder: audio ``(batch, channels, samples)`` -> ``(batch, 2048)``.

    The input is mixed to mono (``"beafx"``) or taken as stereo (``"koo"``), peak-normalised
    per item, and run through the residual blocks (:class:`ResBlock1d`); the embedding is the
    time average of the last block's output. Inputs need at least :attr:`min_length` samples:
    54,489 for ``"beafx"`` (the 'valid' convolutions), 8,193 for ``"koo"``. The output does
    not depend on the sample rate, which is kept only as metadata.

    Args:
        sample_rate: sample rate of the audio in Hz.
        variant: ``"beafx"`` (the BE-AFX encoder) or ``"koo"`` (Koo et al.'s original); see the
            module docstring.
        kernels: kernel size of each block.
        channels: output channels of each block (the last is :attr:`out_dim`).
        strides: stride of each block's conv2.
    """

    def __init__(self, sample_rate: float = 44100.0, variant: str = "beafx",
                 kernels: Sequence[int] = KERNELS, channels: Sequence[int] = CHANNELS,
                 strides: Sequence[int] = STRIDES):
        self.variant = check_choice(variant, "variant", VARIANTS)
        super().__init__(sample_rate, channels=2 if variant == "koo" else 1)
        sizes = {name: tuple(check_int(v, f"{name}[{i}]", low=1) for i, v in enumerate(values))
                 for name, values in (("kernels", kernels), ("channels", channels),
                                      ("strides", strides))}
        if not sizes["kernels"] or len(set(map(len, sizes.values()))) != 1:
            raise ValueError(f"kernels, channels and strides must be non-empty and of one "
                             f"length, got lengths {[len(v) for v in sizes.values()]}")
        widths = (self.channels, *sizes["channels"])
        self.blocks = nn.Sequential(*(
            ResBlock1d(widths[i], widths[i + 1], kernel, stride, variant)
            for i, (kernel, stride) in enumerate(zip(sizes["kernels"], sizes["strides"],
                                                     strict=True))))
        self.out_dim = widths[-1]
        self.min_length = min_length(sizes["kernels"], sizes["strides"], variant)
        self.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        """Embed ``x`` ``(batch, channels, samples)`` -> ``(batch, out_dim)``.

        Raises:
            ValueError: if ``x`` is not finite float audio ``(batch, channels, samples)``, is
                shorter than :attr:`min_length`, has more than 2 channels for ``"koo"``, or
                holds one item in training mode.
        """
        return self.blocks(self.prepare(x)).mean(dim=-1)


__all__ = ["CHANNELS", "KERNELS", "MEE", "ResBlock1d", "STRIDES", "VARIANTS", "min_length"]
