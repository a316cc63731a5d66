"""Open-Unmix (Stöter et al., 2019) for one target, the restored signal: a BLSTM that predicts a
magnitude mask, one of the separation networks Imort et al. (ISMIR 2022) train to remove
distortion.

The layers follow ``openunmix/model.py`` of sigsep/open-unmix-pytorch (re-written here, not
copied), per frame unless stated:

* STFT of the input (:func:`~dasp_blind.removal.oracle.stft`: periodic Hann window, centred
  frames, zero padding at the ends) and its magnitude ``|Y|``, ``F = n_fft // 2 + 1`` bins;
* the ``K`` bins up to ``bandwidth_hz`` (``K = floor(bandwidth_hz · n_fft / sample_rate) + 1``,
  every bin by default) → ``(|Y| − input_mean) · input_scale``, both learnable per bin (shared
  by the channels; initialised to 0 and 1, to be set from the training data's statistics);
* ``fc1 = Linear(channels·K → hidden_size, no bias) → BatchNorm → tanh``;
* a bidirectional LSTM of ``lstm_layers`` layers, ``hidden_size / 2`` units per direction, over
  the frames (dropout ``dropout`` between layers), its output concatenated with its input (the
  skip connection, ``2·hidden_size`` features);
* ``fc2 = Linear(2·hidden_size → hidden_size, no bias) → BatchNorm → ReLU``;
* ``fc3 = Linear(hidden_size → channels·F, no bias) → BatchNorm`` → ``· output_scale +
  output_mean`` (learnable per bin, initialised to 1, so the mask starts near 1) → ReLU: the
  mask ``M``, non-negative and unbounded, over **all** ``F`` bins (the bins above the bandwidth
  get a mask predicted from those below);
* the estimate ``istft(M · Y)``: magnitude ``M·|Y|`` with the **input phase**, cut to the
  input's length. (``M · Y`` is Open-Unmix's ``ReLU(·) × |Y|`` magnitude put back on ``Y``'s
  phase, without dividing by ``|Y|``.) :meth:`OpenUnmix.magnitude` returns ``M·|Y|``, the
  quantity Open-Unmix is trained on (MSE against the clean magnitude).

The fully connected layers have no bias because a BatchNorm follows each. Open-Unmix adds an
optional multichannel Wiener filter after the network; it is left out here (one target, mono).

STFT size: Open-Unmix uses ``n_fft=4096, hop=1024`` at 44.1 kHz (93 ms frames) and RemFx, the
paper's code, ``2048 / 512`` at 48 kHz (43 ms). At 16 kHz the defaults here are ``n_fft=1024,
hop=256``: 64 ms frames, 16 ms hop, the same 75 % overlap, and 15.6 Hz bins whose Hann main lobe
(62.5 Hz wide) separates the 82 Hz harmonics of a guitar's low E string; 2048 would double the
frequency resolution at the cost of 128 ms of time smearing around each clipped transient.

Parameter count with the defaults (``n_fft=1024`` → 513 bins, every bin, ``hidden_size=128``,
3 layers, mono): **465,670**, checked in ``tests/test_openunmix.py`` against a per-layer
formula:

==================================  ==========
input mean + scale (2·513)               1,026
fc1 (513 → 128) + BatchNorm             65,920
BLSTM (3 layers, 64 per direction)     297,984
fc2 (256 → 128) + BatchNorm             33,024
fc3 (128 → 513) + BatchNorm             66,690
output scale + mean (2·513)              1,026
total                                  465,670
==================================  ==========

(Open-Unmix itself, ``hidden_size=512`` and 2,049 bins cropped to 1,487, has about 8.9 M.)

Receptive field: the **whole input**. The bidirectional LSTM runs over every frame in both
directions, so each output sample depends on every input sample, and BatchNorm in training mode
also mixes the items of a batch (in ``eval()`` mode the items are independent).

Any length: the STFT pads the input with zeros (``n_fft // 2`` at the start, ``n_fft // 2``
plus up to a whole number of hops at the end), so any ``samples >= 1`` gives
``1 + ceil(samples / hop)`` frames (two for inputs up to ``hop`` samples long), and the inverse
is cut to the input's length. In training mode BatchNorm needs more than one frame in the batch.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .._checks import (
    check_in_interval,
    check_int,
    check_network_input,
    check_positive,
    check_sample_rate,
)
from .oracle import HOP, N_FFT, check_stft_sizes, istft, stft


class OpenUnmix(nn.Module):
    """Open-Unmix for one target: distorted audio in, clean estimate out, by a non-negative
    magnitude mask applied with the input phase.

    Layers, defaults, parameter count (465,670 with the defaults) and receptive field (the
    whole input) are described in the module docstring of :mod:`dasp_blind.removal.openunmix`.

    Args:
        sample_rate: sample rate of the audio in Hz (only maps ``bandwidth_hz`` to bins).
        n_fft: FFT size, an integer ``>= 2``.
        hop: hop between frames, an integer in ``[1, n_fft // 2]``.
        hidden_size: width of the fully connected layers, an even integer ``>= 2``; the LSTM
            has ``hidden_size / 2`` units per direction (Open-Unmix: 512).
        lstm_layers: layers of the bidirectional LSTM, ``>= 1``.
        bandwidth_hz: highest frequency the network sees, in ``(0, sample_rate / 2]`` Hz;
            ``None`` for every bin (Open-Unmix: 16 kHz at 44.1 kHz).
        audio_channels: channels of the input and of the output.
        dropout: dropout between LSTM layers, in ``[0, 1)`` (Open-Unmix: 0.4; none with one
            layer).

    Shape:
        input ``(batch, audio_channels, samples)``, any ``samples >= 1``; output the same.
    """

    def __init__(self, sample_rate: float = 16000, n_fft: int = N_FFT, hop: int = HOP,
                 hidden_size: int = 128, lstm_layers: int = 3, bandwidth_hz: float | None = None,
                 audio_channels: int = 1, dropout: float = 0.4) -> None:
        super().__init__()
        self.sample_rate = check_sample_rate(sample_rate)
        self.n_fft, self.hop = check_stft_sizes(n_fft, hop)
        self.hidden_size = check_int(hidden_size, "hidden_size", low=2)
        if self.hidden_size % 2:
            raise ValueError(f"hidden_size must be an even integer >= 2, got {hidden_size!r}")
        self.lstm_layers = check_int(lstm_layers, "lstm_layers", low=1)
        self.audio_channels = check_int(audio_channels, "audio_channels", low=1)
        self.dropout = check_in_interval(dropout, "dropout", 0.0, 1.0)
        if self.dropout == 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout!r}")
        self.bins = self.n_fft // 2 + 1
        if bandwidth_hz is None:
            self.bandwidth_hz = self.sample_rate / 2
        else:
            self.bandwidth_hz = check_positive(bandwidth_hz, "bandwidth_hz")
            if self.bandwidth_hz > self.sample_rate / 2:
                raise ValueError(f"bandwidth_hz must lie in (0, sample_rate / 2 = "
                                 f"{self.sample_rate / 2:g}] Hz, got {bandwidth_hz!r}")
        self.max_bin = min(self.bins, math.floor(self.bandwidth_hz * self.n_fft
                                                 / self.sample_rate) + 1)

        hidden, channels = self.hidden_size, self.audio_channels
        self.input_mean = nn.Parameter(torch.zeros(self.max_bin))
        self.input_scale = nn.Parameter(torch.ones(self.max_bin))
        self.fc1 = nn.Linear(channels * self.max_bin, hidden, bias=False)
        self.bn1 = nn.BatchNorm1d(hidden)
        self.lstm = nn.LSTM(hidden, hidden // 2, num_layers=self.lstm_layers, batch_first=True,
                            bidirectional=True,
                            dropout=self.dropout if self.lstm_layers > 1 else 0.0)
        self.fc2 = nn.Linear(2 * hidden, hidden, bias=False)
        self.bn2 = nn.BatchNorm1d(hidden)
        self.fc3 = nn.Linear(hidden, channels * self.bins, bias=False)
        self.bn3 = nn.BatchNorm1d(channels * self.bins)
        self.output_scale = nn.Parameter(torch.ones(self.bins))
        self.output_mean = nn.Parameter(torch.ones(self.bins))

    def reset_parameters(self, generator: torch.Generator | None = None) -> OpenUnmix:
        """Draw the weights again with PyTorch's default initialisation (linear layers uniform in
        ``±1/sqrt(fan_in)``, the LSTM uniform in ``±1/sqrt(hidden_size / 2)``) from
        ``generator`` (the global generator when ``None``); reset the BatchNorms (weight 1,
        bias 0, running statistics 0 and 1), the input mean and scale (0, 1) and the output
        scale and mean (1, 1). Returns the model."""
        with torch.no_grad():
            for linear in (self.fc1, self.fc2, self.fc3):
                bound = 1 / math.sqrt(linear.in_features)
                nn.init.uniform_(linear.weight, -bound, bound, generator=generator)
            bound = 1 / math.sqrt(self.lstm.hidden_size)
            for p in self.lstm.parameters():
                nn.init.uniform_(p, -bound, bound, generator=generator)
            for norm in (self.bn1, self.bn2, self.bn3):
                norm.reset_parameters()
            self.input_mean.zero_()
            for p in (self.input_scale, self.output_scale, self.output_mean):
                p.fill_(1.0)
        return self

    def _check_input(self, x: Tensor) -> None:
        check_network_input(x, self.audio_channels, self.fc1.weight.dtype)

    def _mask(self, spectrum: Tensor) -> Tensor:
        """The mask ``M`` ``(batch, channels, bins, frames)`` from the input's complex STFT of
        the same shape."""
        batch, channels, bins, frames = spectrum.shape
        z = spectrum.abs()[:, :, :self.max_bin]  # (batch, channels, max_bin, frames)
        z = (z - self.input_mean[:, None]) * self.input_scale[:, None]
        z = z.permute(0, 3, 1, 2).reshape(batch, frames, channels * self.max_bin)
        z = self.fc1(z)  # (batch, frames, hidden)
        z = torch.tanh(self.bn1(z.transpose(1, 2)).transpose(1, 2))
        recurrent, _ = self.lstm(z)  # (batch, frames, hidden): both directions
        z = torch.cat([z, recurrent], dim=-1)  # (batch, frames, 2·hidden)
        z = F.relu(self.bn2(self.fc2(z).transpose(1, 2)).transpose(1, 2))
        z = self.bn3(self.fc3(z).transpose(1, 2))  # (batch, channels·bins, frames)
        z = z.reshape(batch, channels, bins, frames)
        return F.relu(z * self.output_scale[:, None] + self.output_mean[:, None])

    def magnitude(self, x: Tensor) -> Tensor:
        """The estimated magnitude spectrogram ``M·|Y|`` (what Open-Unmix is trained on, against
        ``stft(clean, n_fft, hop).abs()``).

        Args:
            x: distorted audio ``(batch, audio_channels, samples)``, the model's dtype.

        Returns:
            ``(batch, audio_channels, n_fft // 2 + 1, 1 + ceil(samples / hop))``,
            non-negative.
        """
        self._check_input(x)
        spectrum = stft(x, self.n_fft, self.hop)
        return self._mask(spectrum) * spectrum.abs()

    def forward(self, x: Tensor) -> Tensor:
        """Estimate the clean signal: the masked magnitude with the input phase, inverted.

        Args:
            x: distorted audio ``(batch, audio_channels, samples)``, the model's dtype.

        Returns:
            the estimate, ``(batch, audio_channels, samples)``.
        """
        self._check_input(x)
        spectrum = stft(x, self.n_fft, self.hop)
        return istft(self._mask(spectrum) * spectrum, self.n_fft, self.hop, x.shape[-1])
