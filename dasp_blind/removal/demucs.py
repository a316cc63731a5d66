"""Demucs v2 (Défossez et al., 2019), the waveform U-Net that Imort et al. (ISMIR 2022) use for
distortion removal, reduced to one source and mono.

The layers follow the ``v2`` model of facebookresearch/demucs (re-written here, not copied):

* input resampled ×2 up (:func:`resample_2x`) before the encoder, ×2 down after the decoder;
* ``depth`` encoder blocks ``Conv1d(C_{i-1} → C_i, kernel_size, stride) → ReLU →
  Conv1d(C_i → 2·C_i, 1) → GLU``, with ``C_0 = audio_channels``, ``C_1 = channels`` and
  ``C_{i+1} = growth·C_i``;
* a bottleneck ``LSTM(C_depth → C_depth, lstm_layers, bidirectional) → Linear(2·C_depth →
  C_depth)`` (skipped when ``lstm_layers = 0``);
* ``depth`` decoder blocks, mirror images of the encoder: ``x + centre-trimmed skip →
  Conv1d(C_i → 2·C_i, context) → GLU → ConvTranspose1d(C_i → C_{i-1}, kernel_size, stride) →
  ReLU``, without the ReLU on the last (outermost) block, whose output is the estimate;
* every convolution and transposed convolution is unpadded; the ``context`` convolutions shorten
  the signal by ``context − 1`` samples per level, so the network's output is shorter than its
  input and centred in it.

Parameter count with the defaults (``channels=4, depth=6``, mono, one source, ``kernel_size=8,
stride=4, context=3``, 2-layer BLSTM): **1,043,113**, the figure of the reference notes,
checked in ``tests/test_demucs.py`` against a sum of the per-layer formulas:

=========================  ==========
encoder (6 blocks)           131,764
BLSTM (2 layers, 128)        659,456
Linear 256 → 128              32,896
decoder (6 blocks)           218,997
total                      1,043,113
=========================  ==========

Alignment and padding: :meth:`Demucs.forward` takes any length. The network loses
``(context − 1)·(stride + stride² + … + stride^depth)`` samples at the upsampled rate (10,920 with
the defaults), half on each side, so the input is padded with zeros at the **start** by that half
(2,730 samples at the input rate with the defaults) and at the **end** up to
:meth:`Demucs.valid_length`; the output is then cut to the input's samples. Output sample ``t``
is therefore the estimate of input sample ``t`` (exactly, for odd ``context``; within half a
sample at the upsampled rate for even ``context``). Demucs v2 pads both sides and centre-trims
instead, to the same effect. As in Demucs v2, samples near the ends are estimated from a
truncated support (a transposed convolution's first and last ``kernel_size − stride`` outputs
get one frame instead of two, at every level), not as if the input continued with zeros.

Receptive field: every output sample depends on the **whole** input through the bidirectional
LSTM. :attr:`Demucs.receptive_field` is the span through the convolutions alone (what it is
when ``lstm_layers = 0``): 13,035 input samples (0.81 s at 16 kHz) with the defaults.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .._checks import check_bool, check_int, check_network_input, check_non_negative
from ..nn.recurrent import BLSTM

#: Zero crossings of the resampling filter on each side of its centre, in input-rate samples
#: (the filter has ``4·RESAMPLE_ZEROS + 1`` taps at the doubled rate).
RESAMPLE_ZEROS = 16
#: Kaiser window shape of the resampling filter (at least 83 dB stop-band attenuation).
RESAMPLE_BETA = 8.0


def _halfband_filter(dtype: torch.dtype, device: torch.device) -> Tensor:
    """Kaiser-windowed sinc ``h[m] = sinc(m/2)·w[m]``, ``|m| ≤ 2·RESAMPLE_ZEROS``: a low-pass at
    half the Nyquist frequency of the doubled rate; ``h[0] = 1``, ``h[even m ≠ 0] = 0`` and the
    odd taps normalised to sum to 1 (a DC gain of exactly 2)."""
    half = 2 * RESAMPLE_ZEROS  # m = −half … half: odd m at odd indices
    m = torch.arange(-half, half + 1, dtype=torch.float64)
    ratio = (m / (half + 1)).clamp(-1.0, 1.0)
    window = torch.special.i0(RESAMPLE_BETA * torch.sqrt(1.0 - ratio**2))
    window = window / torch.special.i0(torch.tensor(RESAMPLE_BETA, dtype=torch.float64))
    h = torch.sinc(m / 2) * window
    h[0::2] = 0.0  # sinc(m/2) is zero at even m ≠ 0; exactly, not to rounding
    h[half] = 1.0
    h[1::2] /= h[1::2].sum()  # odd taps sum to 1: constants pass both ways unchanged
    return h.to(dtype=dtype, device=device)


def resample_2x(x: Tensor, up: bool) -> Tensor:
    """Differentiable ×2 up- or down-sampling with a windowed-sinc half-band filter.

    Zero-phase: up-sampled sample ``2t`` is ``x[t]``, down-sampled sample ``t`` is centred on
    ``x[2t]``. The signal is taken as zero outside its ends. The filter (``4·RESAMPLE_ZEROS + 1``
    taps at the doubled rate, Kaiser window, β = ``RESAMPLE_BETA``) passes up to 0.84 of the
    lower rate's Nyquist frequency with a ripple below 1e-4, attenuates by at least 83 dB above
    1.16 of it, and passes constants exactly (gain 1 both ways).

    Args:
        x: ``(batch, channels, samples)``, any float dtype.
        up: ``True`` to double the rate, ``False`` to halve it.

    Returns:
        ``(batch, channels, 2·samples)`` when ``up``, else ``(batch, channels,
        ceil(samples / 2))``.
    """
    batch, channels, length = x.shape
    h = _halfband_filter(x.dtype, x.device)
    flat = x.reshape(batch * channels, 1, length)
    half = 2 * RESAMPLE_ZEROS
    if up:
        # odd phase: y[2t+1] = Σ_j x[t−j]·h[2j+1]; as a correlation: taps h[odd] reversed in j
        odd_taps = h[1::2].flip(0).view(1, 1, -1)  # h[m] for m = 2j+1, j = Z−1 … −Z
        odd = F.conv1d(F.pad(flat, (RESAMPLE_ZEROS - 1, RESAMPLE_ZEROS)), odd_taps)
        y = torch.stack([flat, odd], dim=-1)  # (batch·channels, 1, samples, 2)
        return y.reshape(batch, channels, 2 * length)
    # y[t] = ½·Σ_m h[m]·x[2t − m]; h is symmetric, so a strided correlation
    out_length = (length + 1) // 2
    padded = F.pad(flat, (half, half + 2 * out_length - length))
    y = F.conv1d(padded, 0.5 * h.view(1, 1, -1), stride=2)
    return y.reshape(batch, channels, out_length)


def _centre_trim(x: Tensor, length: int) -> Tensor:
    """The ``length`` middle samples of ``x`` (``(…, samples)``); one more dropped at the end
    when the excess is odd."""
    start = (x.shape[-1] - length) // 2
    return x[..., start:start + length]


class Demucs(nn.Module):
    """Demucs v2 for one source (the restored signal): distorted audio in, clean estimate out.

    Layers, parameter count (1,043,113 with the defaults), padding and receptive field are
    described in the module docstring of :mod:`dasp_blind.removal.demucs`.

    Args:
        channels: output channels of the first encoder block ``C_1`` (Demucs v2: 64).
        depth: encoder (and decoder) blocks.
        audio_channels: channels of the input and of the output.
        kernel_size: kernel of the encoder convolutions and decoder transposed convolutions;
            ``>= stride``.
        stride: their stride (the down-sampling factor per block).
        growth: channel multiplier from one block to the next.
        context: kernel of the decoder's first convolution.
        lstm_layers: layers of the bottleneck BLSTM; 0 for none.
        rescale: at init, every (transposed) convolution's weight and bias are divided by
            ``sqrt(std(weight) / rescale)`` (``std`` unbiased), which brings the weights'
            standard deviation to about ``sqrt(rescale·std)``; 0 leaves PyTorch's init.
        resample: up-sample ×2 before the encoder and down-sample after the decoder.

    Shape:
        input ``(batch, audio_channels, samples)``, any ``samples >= 1``; output the same.
    """

    def __init__(self, channels: int = 4, depth: int = 6, audio_channels: int = 1,
                 kernel_size: int = 8, stride: int = 4, growth: int = 2, context: int = 3,
                 lstm_layers: int = 2, rescale: float = 0.1, resample: bool = True) -> None:
        super().__init__()
        self.channels = check_int(channels, "channels", low=1)
        self.depth = check_int(depth, "depth", low=1)
        self.audio_channels = check_int(audio_channels, "audio_channels", low=1)
        self.stride = check_int(stride, "stride", low=1)
        self.kernel_size = check_int(kernel_size, "kernel_size", low=self.stride)
        self.growth = check_int(growth, "growth", low=1)
        self.context = check_int(context, "context", low=1)
        self.lstm_layers = check_int(lstm_layers, "lstm_layers", low=0)
        self.rescale = check_non_negative(rescale, "rescale")
        self.resample = check_bool(resample, "resample")

        self.encoder = nn.ModuleList()
        decoder: list[nn.Module] = []
        in_channels, out_channels = self.audio_channels, self.channels
        for index in range(self.depth):
            self.encoder.append(nn.Sequential(
                nn.Conv1d(in_channels, out_channels, self.kernel_size, self.stride), nn.ReLU(),
                nn.Conv1d(out_channels, 2 * out_channels, 1), nn.GLU(dim=1)))
            block: list[nn.Module] = [
                nn.Conv1d(out_channels, 2 * out_channels, self.context), nn.GLU(dim=1),
                nn.ConvTranspose1d(out_channels, in_channels, self.kernel_size, self.stride)]
            if index > 0:
                block.append(nn.ReLU())
            decoder.insert(0, nn.Sequential(*block))
            in_channels, out_channels = out_channels, self.growth * out_channels
        self.decoder = nn.ModuleList(decoder)
        self.lstm = BLSTM(in_channels, self.lstm_layers) if self.lstm_layers else nn.Identity()
        if self.rescale > 0:
            self._rescale_convolutions()

    def reset_parameters(self, generator: torch.Generator | None = None) -> Demucs:
        """Draw every parameter again with PyTorch's default initialisation (convolutions and
        linear layers uniform in ``±1/sqrt(fan_in)``, the LSTM uniform in ``±1/sqrt(hidden)``)
        from ``generator`` (the global generator when ``None``), then apply the ``rescale``
        trick. Returns the model."""
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d, nn.Linear)):
                    fan_in = nn.init._calculate_fan_in_and_fan_out(module.weight)[0]
                    bound = 1 / math.sqrt(fan_in)
                    for p in (module.weight, module.bias):
                        if p is not None:
                            nn.init.uniform_(p, -bound, bound, generator=generator)
                elif isinstance(module, nn.LSTM):
                    bound = 1 / math.sqrt(module.hidden_size)
                    for p in module.parameters():
                        nn.init.uniform_(p, -bound, bound, generator=generator)
        if self.rescale > 0:
            self._rescale_convolutions()
        return self

    def _rescale_convolutions(self) -> None:
        """Divide each (transposed) convolution's weight and bias by ``sqrt(std(w)/rescale)``."""
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)):
                    scale = math.sqrt(float(module.weight.std()) / self.rescale)
                    module.weight.div_(scale)
                    if module.bias is not None:
                        module.bias.div_(scale)

    @property
    def _context_loss(self) -> int:
        """Samples the decoder's context convolutions remove, at the network's rate."""
        return (self.context - 1) * sum(self.stride**i for i in range(1, self.depth + 1))

    @property
    def _left_pad(self) -> int:
        """Zeros put before the input (input rate) so that output ``t`` estimates input ``t``."""
        shift = self._context_loss // 2
        return (shift + 1) // 2 if self.resample else shift

    def _network_length(self, needed: int) -> int:
        """Shortest input length (network rate) the encoder divides exactly and whose output
        has at least ``needed`` samples."""
        frames = self.context  # frames at the bottleneck; the context convolutions need them
        while True:
            length = frames
            for _ in range(self.depth):
                length = (length - 1) * self.stride + self.kernel_size
            if length - self._context_loss >= needed:
                return length
            frames += max(1, math.ceil((needed + self._context_loss - length)
                                       / self.stride**self.depth))

    def _plan(self, length: int) -> tuple[int, int, int, int]:
        """Padding plan for ``length`` input samples: ``(start zeros, padded length, network
        input length, output samples to drop at the start)``; the last two at the network's
        rate."""
        factor = 2 if self.resample else 1
        left = self._left_pad
        offset = factor * left - self._context_loss // 2
        network_length = self._network_length(factor * length + offset)
        return left, math.ceil(network_length / factor), network_length, offset

    def valid_length(self, length: int) -> int:
        """Length, at the input rate, to which :meth:`forward` zero-pads an input of ``length``
        samples (start padding included) before running the network.

        Args:
            length: input samples, ``>= 1``.

        Returns:
            the padded length, at least ``length`` plus the start padding.
        """
        return self._plan(check_int(length, "length", low=1))[1]

    @property
    def receptive_field(self) -> int:
        """Input samples (input rate) that one output sample sees through the convolutions and
        the resampler: an upper bound on the span, reached at some phases of the network's
        period ``stride^depth``. With
        ``lstm_layers > 0`` the BLSTM makes every output depend on the whole input."""
        width = 1  # output samples of the decoder block being traced back, at its output rate
        for _ in range(self.depth):
            width = math.ceil((width + self.kernel_size - 1) / self.stride) + self.context - 1
        encoder_span = 1 + (self.kernel_size - 1) * sum(self.stride**i for i in range(self.depth))
        span = (width - 1) * self.stride**self.depth + encoder_span
        if not self.resample:
            return span
        # down-sampler: 4Z+1 network samples; up-sampler: Z input samples on each side
        network_span = span + 4 * RESAMPLE_ZEROS
        return math.ceil((network_span - 1) / 2) + 1 + 2 * RESAMPLE_ZEROS

    def forward(self, x: Tensor) -> Tensor:
        """Estimate the clean signal.

        Args:
            x: distorted audio ``(batch, audio_channels, samples)``, the model's dtype.

        Returns:
            the estimate, ``(batch, audio_channels, samples)``.
        """
        check_network_input(x, self.audio_channels, self.encoder[0][0].weight.dtype)
        length = x.shape[-1]
        left, padded_length, network_length, offset = self._plan(length)
        y = F.pad(x, (left, padded_length - left - length))
        if self.resample:
            y = resample_2x(y, up=True)
        y = y[..., :network_length]  # drops one sample when network_length is odd

        skips = []
        for encode in self.encoder:
            y = encode(y)
            skips.append(y)
        y = self.lstm(y)
        for decode in self.decoder:
            y = decode(y + _centre_trim(skips.pop(), y.shape[-1]))

        y = y[..., offset:]
        if self.resample:
            y = resample_2x(y, up=False)
        return y[..., :length]
