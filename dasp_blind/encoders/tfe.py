"""TFE, the time-frequency encoder: a time branch and a frequency branch over the log-CQT.

Reference §2.5 (BE-AFX's ``TimeFrequencyCQT_Encoder``); each branch gives 64 dimensions:

* time: Conv2d 1 → 64 with a 1 × 128-frame kernel → BatchNorm2d → PReLU, max over frequency,
  Conv1d 64 → 64 over 31 frames → BatchNorm1d → PReLU, mean over time;
* frequency: Conv2d 1 → 64 with a 37-bin × 1 kernel → BatchNorm2d → PReLU, max over time,
  Conv1d 64 → 64 spanning all 77 remaining bins → BatchNorm1d → PReLU.

453,700 parameters (8,385 + 127,169 + 2,561 + 315,585).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._checks import check_int
from .base import Encoder
from .cqt import LogCQT

#: Channels of each branch.
WIDTH = 64
#: Frames of the time branch's 2-D and 1-D kernels.
TIME_KERNELS = (128, 31)
#: Bins of the frequency branch's 2-D kernel.
FREQ_KERNEL = 37


def _conv_bn_prelu(conv: nn.Module, channels: int, dims: int) -> nn.Sequential:
    """``conv`` → BatchNorm (1-D or 2-D) → PReLU (one shared slope)."""
    norm = nn.BatchNorm2d(channels) if dims == 2 else nn.BatchNorm1d(channels)
    return nn.Sequential(conv, norm, nn.PReLU())


class TimeBranch(nn.Module):
    """Log-CQT ``(batch, 1, n_bins, frames)`` -> ``(batch, 64)``: temporal patterns in each bin,
    the loudest bin's, a longer temporal convolution, the time average."""

    def __init__(self):
        super().__init__()
        self.conv2d = _conv_bn_prelu(nn.Conv2d(1, WIDTH, (1, TIME_KERNELS[0])), WIDTH, 2)
        self.conv1d = _conv_bn_prelu(nn.Conv1d(WIDTH, WIDTH, TIME_KERNELS[1]), WIDTH, 1)

    def forward(self, feature: Tensor) -> Tensor:
        h = self.conv2d(feature).amax(dim=2)  # (batch, 64, frames − 127)
        return self.conv1d(h).mean(dim=-1)    # (batch, 64, frames − 157) -> (batch, 64)


class FrequencyBranch(nn.Module):
    """Log-CQT ``(batch, 1, n_bins, frames)`` -> ``(batch, 64)``: spectral patterns in each
    frame, the loudest frame's, one convolution over all the remaining bins."""

    def __init__(self, n_bins: int):
        super().__init__()
        self.conv2d = _conv_bn_prelu(nn.Conv2d(1, WIDTH, (FREQ_KERNEL, 1)), WIDTH, 2)
        self.conv1d = _conv_bn_prelu(nn.Conv1d(WIDTH, WIDTH, n_bins - FREQ_KERNEL + 1), WIDTH, 1)

    def forward(self, feature: Tensor) -> Tensor:
        h = self.conv2d(feature).amax(dim=3)  # (batch, 64, n_bins − 36)
        return self.conv1d(h).squeeze(-1)     # (batch, 64, 1) -> (batch, 64)


class TFE(Encoder):
    """Time-frequency encoder: audio ``(batch, channels, samples)`` -> ``(batch, 128)``.

    Mono mix, peak normalisation, log-CQT (:class:`~dasp_blind.encoders.cqt.LogCQT`), then
    :class:`TimeBranch` and :class:`FrequencyBranch` side by side (time first). The time branch
    needs 158 frames: inputs of at least :attr:`min_length` samples (80,384 = 157 hops at the
    reference sizes, 1.82 s at 44.1 kHz).

    Args:
        sample_rate: sample rate of the audio in Hz.
        n_bins: CQT bins (113; at least 37, the frequency kernel).
        fmin: lowest CQT bin in Hz (default: 32.70 Hz scaled by ``sample_rate/44100``; see
            :class:`~dasp_blind.encoders.cqt.LogCQT`).
    """

    def __init__(self, sample_rate: float = 44100.0, n_bins: int = 113,
                 fmin: float | None = None):
        super().__init__(sample_rate)
        n_bins = check_int(n_bins, "n_bins", low=FREQ_KERNEL)
        self.cqt = LogCQT(self.sample_rate, n_bins, fmin=fmin)
        self.time = TimeBranch()
        self.frequency = FrequencyBranch(n_bins)
        self.out_dim = 2 * WIDTH
        frames = sum(TIME_KERNELS) - 1
        self.min_length = max(self.cqt.min_length, (frames - 1) * self.cqt.hop_length)
        self.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        """Embed ``x`` ``(batch, channels, samples)`` -> ``(batch, 128)``.

        Raises:
            ValueError: if ``x`` is not finite float audio ``(batch, channels, samples)``, is
                shorter than :attr:`min_length`, or holds one item in training mode.
        """
        feature = self.cqt.transform(self.prepare(x))
        return torch.cat([self.time(feature), self.frequency(feature)], dim=1)


__all__ = ["FREQ_KERNEL", "FrequencyBranch", "TFE", "TIME_KERNELS", "TimeBranch", "WIDTH"]
