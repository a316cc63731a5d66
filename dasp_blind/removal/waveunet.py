"""Wave-U-Net (Stoller, Ewert & Dixon, ISMIR 2018), the waveform U-Net that Imort et al. (ISMIR
2022) use for distortion removal, reduced from 12 to 8 levels (about 1 M parameters) and to one
source.

The layers follow the original TensorFlow Wave-U-Net (``f90/Wave-U-Net``, re-written here, not
copied), with ``C_i = features·i`` channels at level ``i`` (its additive growth; ``C_0 =
audio_channels``):

* ``levels`` down blocks ``Conv1d(C_{i-1} → C_i, down_kernel_size) → LeakyReLU`` whose output is
  kept as the skip of level ``i``, then decimated by 2 (every other sample, the first kept);
* a bottleneck ``Conv1d(C_levels → C_{levels+1}, down_kernel_size) → LeakyReLU``;
* ``levels`` up blocks, deepest first: ×2 up-sampling by **linear interpolation** (``m`` samples
  become ``2m − 1``: the originals and the midpoints between them, as the original's
  ``align_corners`` bilinear resize; no learned up-sampling) → concatenation with the skip of
  the same level, centre-cropped to the same length (the skip's channels first) →
  ``Conv1d(C_{i+1} + C_i → C_i, up_kernel_size) → LeakyReLU``;
* the output layer: the input, centre-cropped, concatenated with the last up block's features
  (the input's channels first) → ``Conv1d(audio_channels + C_1 → audio_channels, 1)``, linear.
  The original ends in ``tanh``; this model leaves the output unbounded, as
  Wave-U-Net-Pytorch does while training, so that targets near ±1 are not pushed into the
  saturated, vanishing-gradient part of a ``tanh``.

LeakyReLU has slope 0.2 below zero, the original's. Every convolution is valid (unpadded), as in
the original's "context" mode.

Parameter count with the defaults (``levels=8, features=13``, mono, ``down_kernel_size=15,
up_kernel_size=5``): **984,843**, checked in ``tests/test_waveunet.py`` against a sum of the
per-layer formulas (``c_in·c_out·k + c_out`` per convolution):

=====================================  ==========
down blocks (8: 13, 26, …, 104 ch.)       426,543
bottleneck (104 → 117, k = 15)            182,637
up blocks (8: 104, 91, …, 13 ch.)         375,648
output (1 + 13 → 1, k = 1)                     15
total                                     984,843
=====================================  ==========

Imort et al. give "about 1 M" for their 8 levels without the channel counts; ``features=13`` is
the additive growth that lands there (12 gives 839,246, 14 gives 1,142,080). The original's 12
levels of 24 features give 10,263,002 parameters for one mono source.

Any length, and alignment. With every feature map of odd length, decimation keeps both ends and
up-sampling restores the length it had before decimation, so every map is centred on the
network's input and the centre crops drop an even number of samples: no rounding shift at any
level. A network whose bottleneck has ``b`` samples turns ``2^L·(b + 2·k_d − 3) − k_d + 2`` input
samples into ``2^L·(b − k_u) + k_u`` output samples (``L`` levels, kernels ``k_d`` and ``k_u``);
both odd, their difference ``2^L·(2·k_d + k_u − 3) − k_d − k_u + 2`` (8,174 with the defaults) is
the valid convolutions' loss. :meth:`WaveUNet.forward` therefore picks the smallest ``b`` whose
output covers the input, pads the input with zeros, half of that loss at the **start** (4,087
samples, 0.255 s at 16 kHz, with the defaults) and the rest at the **end** (up to
:meth:`WaveUNet.valid_length`), and cuts the output to the input's samples. Output sample ``t``
is the estimate of input sample ``t``, exactly; the first and last samples are computed like any
other, from the input continued with zeros.

Receptive field: :attr:`WaveUNet.receptive_field` input samples, 8,435 with the defaults (0.53 s
at 16 kHz). That is the span at the widest phase of the network's period ``2^L``: the midpoint of
a linear interpolation depends on the deeper samples on both sides of it, so the support changes
with the output sample's position on the decimation grids (from 8,179 to 8,435 samples with the
defaults) and its centre can lie off the output sample (by up to 125 samples with the defaults),
although an identity set through any path maps input sample ``t`` onto output sample ``t``.
"""

from __future__ import annotations

import functools
import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .._checks import check_in_interval, check_int, check_network_input


def _check_odd(value: object, name: str) -> int:
    """A positive odd integer (a centred valid convolution needs an odd kernel)."""
    number = check_int(value, name, low=1)
    if number % 2 == 0:
        raise ValueError(f"{name} must be an odd integer >= 1, got {value!r}")
    return number


def _centre_crop(x: Tensor, length: int) -> Tensor:
    """The ``length`` middle samples of ``x`` (``(…, samples)``); the excess is always even here."""
    start = (x.shape[-1] - length) // 2
    return x[..., start:start + length]


def upsample_linear(x: Tensor) -> Tensor:
    """×2 up-sampling by linear interpolation: ``m`` samples become ``2m − 1``, the originals at
    the even indices and the mean of each neighbouring pair at the odd ones.

    Args:
        x: ``(batch, channels, m)``, ``m >= 1``.

    Returns:
        ``(batch, channels, 2m − 1)``.
    """
    midpoints = 0.5 * (x[..., :-1] + x[..., 1:])
    pairs = torch.stack([x[..., :-1], midpoints], dim=-1)  # (batch, channels, m − 1, 2)
    return torch.cat([pairs.flatten(-2), x[..., -1:]], dim=-1)


class WaveUNet(nn.Module):
    """Wave-U-Net for one source (the restored signal): distorted audio in, clean estimate out.

    Layers, parameter count (984,843 with the defaults), padding and receptive field are described
    in the module docstring of :mod:`dasp_blind.removal.waveunet`.

    Args:
        levels: down (and up) blocks; the original has 12, Imort et al. 8.
        features: channels added per level: level ``i`` has ``features·i`` channels, the
            bottleneck ``features·(levels + 1)`` (the original: 24).
        audio_channels: channels of the input and of the output.
        down_kernel_size: kernel of the down blocks' and the bottleneck's convolutions; odd.
        up_kernel_size: kernel of the up blocks' convolutions; odd.
        negative_slope: slope of every LeakyReLU below zero, in ``[0, 1]``.

    Shape:
        input ``(batch, audio_channels, samples)``, any ``samples >= 1``; output the same.
    """

    def __init__(self, levels: int = 8, features: int = 13, audio_channels: int = 1,
                 down_kernel_size: int = 15, up_kernel_size: int = 5,
                 negative_slope: float = 0.2) -> None:
        super().__init__()
        self.levels = check_int(levels, "levels", low=1)
        self.features = check_int(features, "features", low=1)
        self.audio_channels = check_int(audio_channels, "audio_channels", low=1)
        self.down_kernel_size = _check_odd(down_kernel_size, "down_kernel_size")
        self.up_kernel_size = _check_odd(up_kernel_size, "up_kernel_size")
        self.negative_slope = check_in_interval(negative_slope, "negative_slope", 0.0, 1.0)

        channels = [self.audio_channels] + [self.features * i for i in range(1, self.levels + 2)]
        self.down = nn.ModuleList(
            nn.Conv1d(channels[i - 1], channels[i], self.down_kernel_size)
            for i in range(1, self.levels + 1))
        self.bottleneck = nn.Conv1d(channels[-2], channels[-1], self.down_kernel_size)
        self.up = nn.ModuleList(  # deepest level first
            nn.Conv1d(channels[i] + channels[i + 1], channels[i], self.up_kernel_size)
            for i in range(self.levels, 0, -1))
        self.output = nn.Conv1d(self.audio_channels + channels[1], self.audio_channels, 1)

    def reset_parameters(self, generator: torch.Generator | None = None) -> WaveUNet:
        """Draw every weight and bias again with PyTorch's default initialisation for
        convolutions (uniform in ``±1/sqrt(fan_in)``) from ``generator`` (the global generator
        when ``None``). Returns the model."""
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, nn.Conv1d):
                    fan_in = nn.init._calculate_fan_in_and_fan_out(module.weight)[0]
                    bound = 1 / math.sqrt(fan_in)
                    nn.init.uniform_(module.weight, -bound, bound, generator=generator)
                    nn.init.uniform_(module.bias, -bound, bound, generator=generator)
        return self

    @property
    def context(self) -> int:
        """Zeros put before the input: half the samples the valid convolutions remove."""
        scale = 2**self.levels
        loss = (scale * (2 * self.down_kernel_size + self.up_kernel_size - 3)
                - self.down_kernel_size - self.up_kernel_size + 2)
        return loss // 2

    def _bottleneck_samples(self, length: int) -> int:
        """Smallest bottleneck length ``b >= 1`` whose output ``2^L·(b − k_u) + k_u`` has at
        least ``length`` samples (every map along the way then has at least one)."""
        scale = 2**self.levels
        return max(1, self.up_kernel_size + math.ceil((length - self.up_kernel_size) / scale))

    def valid_length(self, length: int) -> int:
        """Length to which :meth:`forward` zero-pads an input of ``length`` samples (start
        padding included) before running the network.

        Args:
            length: input samples, ``>= 1``.

        Returns:
            the padded length, at least ``length + 2·context``.
        """
        length = check_int(length, "length", low=1)
        bottleneck = self._bottleneck_samples(length)
        return (2**self.levels * (bottleneck + 2 * self.down_kernel_size - 3)
                - self.down_kernel_size + 2)

    @property
    def receptive_field(self) -> int:
        """Input samples one output sample depends on, at the widest phase of the network's
        period ``2^levels``.

        Traced in input samples relative to the centre of the maps, which every map has as a
        sample: maps of level ``i`` have a sample every ``2^(i−1)``. A skip map sample at ``p``
        sees ``p ± r_i`` (``r_i`` the down path's half-width); an up block's sample sees its
        convolution's taps on the skip and on the up-sampled map, whose samples off the deeper
        grid are midpoints of the two deeper samples beside them.
        """
        half_down, half_up = (self.down_kernel_size - 1) // 2, (self.up_kernel_size - 1) // 2
        # radius[i]: half-width of the support of a level-i skip sample (i = levels + 1: of a
        # bottleneck output sample)
        radius = [0]
        for level in range(1, self.levels + 2):
            radius.append(radius[-1] + half_down * 2 ** (level - 1))

        @functools.cache
        def up_support(level: int, p: int) -> tuple[int, int]:
            """Support of the level's up block output sample at ``p``."""
            step = 2 ** (level - 1)
            lo, hi = p - half_up * step - radius[level], p + half_up * step + radius[level]
            for q in range(p - half_up * step, p + half_up * step + 1, step):
                for source in ((q,) if q % (2 * step) == 0 else (q - step, q + step)):
                    if level == self.levels:
                        deep = (source - radius[-1], source + radius[-1])
                    else:
                        deep = up_support(level + 1, source)
                    lo, hi = min(lo, deep[0]), max(hi, deep[1])
            return lo, hi

        spans = (up_support(1, p) for p in range(2**self.levels))
        return max(hi - lo + 1 for lo, hi in spans)

    def forward(self, x: Tensor) -> Tensor:
        """Estimate the clean signal.

        Args:
            x: distorted audio ``(batch, audio_channels, samples)``, the model's dtype.

        Returns:
            the estimate, ``(batch, audio_channels, samples)``.
        """
        check_network_input(x, self.audio_channels, self.output.weight.dtype)
        length = x.shape[-1]
        padded_length = self.valid_length(length)
        padded = F.pad(x, (self.context, padded_length - self.context - length))

        y, skips = padded, []
        for conv in self.down:
            y = F.leaky_relu(conv(y), self.negative_slope)
            skips.append(y)
            y = y[..., ::2]  # odd lengths: both ends kept
        y = F.leaky_relu(self.bottleneck(y), self.negative_slope)
        for conv in self.up:
            y = upsample_linear(y)
            y = torch.cat([_centre_crop(skips.pop(), y.shape[-1]), y], dim=1)
            y = F.leaky_relu(conv(y), self.negative_slope)
        y = torch.cat([_centre_crop(padded, y.shape[-1]), y], dim=1)
        return self.output(y)[..., :length]
