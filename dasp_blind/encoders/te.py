"""TE, the timbre encoder: Pons-style parallel Conv2d branches over the log-CQT (reference §2.4).

Twelve branches with kernels (frequency × time) 85, 51 or 25 bins × 1, 3, 5 or 7 frames and 10,
6, 3, 3 channels per time size: 66 channels in all (the reference's ``channels_list`` sums to 66
and its batch norm has 66 features; the notes and the issue say 64). Each branch pads time to
keep the frame count, convolves ('valid' in frequency), and max-pools over all its remaining
frequency rows and 4 frames. The 66 channels are averaged over time, batch-normalised and go
through a PReLU: a 66-d embedding. The branch convolutions hold 10,370 parameters.

**Deviation from the reference.** BE-AFX's ``ParallelTimbre_Conv2d`` never advances its write
index, so every branch writes from channel 0 and later branches overwrite earlier ones: of the 66
features, only 0–2 (the 25×7 branch), 3–5 (channels 3–5 of 25×3) and 6–9 (channels 6–9 of 25×1)
carry information, 10–65 are 0 before the batch norm (so a constant after it: 0 at
initialisation), and the 85- and 51-bin branches get no gradient. Here each branch writes its
own channels (in the order above); ``reproduce_channel_overwrite_bug=True`` rebuilds the
reference's output for comparison.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._checks import check_int
from .base import Encoder
from .cqt import LogCQT

#: (frequency kernel in bins, time kernel in frames, channels) of the 12 branches, in the
#: reference's order.
BRANCHES = tuple((freq, time, channels) for freq in (85, 51, 25)
                 for time, channels in ((1, 10), (3, 6), (5, 3), (7, 3)))
#: Frames pooled together after each branch's convolution.
POOL_FRAMES = 4
#: Value the branches pad time with: the reference pads with its log floor's argument 1e-6
#: (≈ 0 in the log-CQT, |CQT| ≈ 1, not silence), which only touches the first and last 3 frames.
PAD_VALUE = 1e-6


class TimbreBranch(nn.Module):
    """Pad time ('same') → Conv2d ('valid' in frequency) → max over all remaining rows × 4 frames.

    Args:
        n_bins: frequency bins of the input.
        freq_kernel: kernel height in bins.
        time_kernel: kernel width in frames.
        channels: output channels.
    """

    def __init__(self, n_bins: int, freq_kernel: int, time_kernel: int, channels: int):
        super().__init__()
        self.time_padding = (time_kernel // 2, time_kernel - time_kernel // 2 - 1)
        self.conv = nn.Conv2d(1, channels, (freq_kernel, time_kernel))
        self.pool = nn.MaxPool2d((n_bins - freq_kernel + 1, POOL_FRAMES))

    def forward(self, feature: Tensor) -> Tensor:
        """``(batch, 1, n_bins, frames)`` -> ``(batch, channels, frames // 4)``."""
        padded = nn.functional.pad(feature, self.time_padding, value=PAD_VALUE)
        return self.pool(self.conv(padded)).squeeze(2)


def overwrite_channels(outputs: list[Tensor], channels: int) -> Tensor:
    """The reference's buggy assembly: each output ``(batch, c_i, time)`` written in turn to
    channels ``0 … c_i − 1`` of a zero tensor ``(batch, channels, time)``, later outputs
    overwriting earlier ones."""
    assembled = outputs[-1]
    for out in reversed(outputs[:-1]):  # the latest writer of each channel wins
        if out.shape[1] > assembled.shape[1]:
            assembled = torch.cat([assembled, out[:, assembled.shape[1]:]], dim=1)
    return nn.functional.pad(assembled, (0, 0, 0, channels - assembled.shape[1]))


class TE(Encoder):
    """Timbre encoder: audio ``(batch, channels, samples)`` -> ``(batch, 66)``.

    Mono mix, peak normalisation, log-CQT (:class:`~dasp_blind.encoders.cqt.LogCQT`), the 12
    :class:`TimbreBranch` es, mean over time, BatchNorm1d(66), PReLU. Inputs need at least
    :attr:`min_length` samples (11,341 at the reference sizes: the CQT's reflect padding).

    Args:
        sample_rate: sample rate of the audio in Hz.
        n_bins: CQT bins (113; at least 85, the tallest kernel).
        fmin: lowest CQT bin in Hz (default: 32.70 Hz scaled by ``sample_rate/44100``; see
            :class:`~dasp_blind.encoders.cqt.LogCQT`).
        reproduce_channel_overwrite_bug: assemble the branches as the reference does (features
            10–65 constant, see the module docstring) instead of side by side.
    """

    def __init__(self, sample_rate: float = 44100.0, n_bins: int = 113,
                 fmin: float | None = None, reproduce_channel_overwrite_bug: bool = False):
        super().__init__(sample_rate)
        n_bins = check_int(n_bins, "n_bins", low=max(f for f, _, _ in BRANCHES))
        self.cqt = LogCQT(self.sample_rate, n_bins, fmin=fmin)
        self.branches = nn.ModuleList(TimbreBranch(n_bins, freq, time, channels)
                                      for freq, time, channels in BRANCHES)
        self.out_dim = sum(channels for _, _, channels in BRANCHES)
        self.reproduce_channel_overwrite_bug = bool(reproduce_channel_overwrite_bug)
        self.norm = nn.BatchNorm1d(self.out_dim)
        self.activation = nn.PReLU()
        self.min_length = max(self.cqt.min_length, (POOL_FRAMES - 1) * self.cqt.hop_length)
        self.reset_parameters()

    def branch_features(self, feature: Tensor) -> Tensor:
        """The branches' pooled outputs side by side (or overwritten, with the bug flag):
        log-CQT ``(batch, 1, n_bins, frames)`` -> ``(batch, 66, frames // 4)``."""
        outputs = [branch(feature) for branch in self.branches]
        if self.reproduce_channel_overwrite_bug:
            return overwrite_channels(outputs, self.out_dim)
        return torch.cat(outputs, dim=1)

    def forward(self, x: Tensor) -> Tensor:
        """Embed ``x`` ``(batch, channels, samples)`` -> ``(batch, 66)``.

        Raises:
            ValueError: if ``x`` is not finite float audio ``(batch, channels, samples)``, is
                shorter than :attr:`min_length`, or holds one item in training mode.
        """
        features = self.branch_features(self.cqt.transform(self.prepare(x))).mean(dim=-1)
        return self.activation(self.norm(features))


__all__ = ["BRANCHES", "PAD_VALUE", "POOL_FRAMES", "TE", "TimbreBranch", "overwrite_channels"]
