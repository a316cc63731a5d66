"""CRAFx (Martínez Ramírez, Benetos and Reiss, DAFx 2019), the convolutional-recurrent audio
effects model that Imort et al. (ISMIR 2022) train in reverse (distorted → clean).

Re-written in PyTorch from the layer description of the released Keras code
(``mchijmma/DL-AFx``, ``src/Models.py::CRAFx``, ``src/Layers.py``); nothing is copied. With the
defaults (``F = filters = 32``, frames of ``N = 4096`` samples at 16 kHz, ``pool_size = 64``,
so ``S = N / 64 = 64`` steps per frame, ``context = 4``):

==========================  ==========================================================  ========
stage                       layers                                                      params
==========================  ==========================================================  ========
adaptive front end          ``Conv1d(1 → F, k=64, same)`` = X (kept as P);                 6,208
                            ``|X|`` → locally connected ``Conv1d(F → F, k=128, groups=F,
                            same)`` → softplus → ``MaxPool(64)`` = Z, ``(F, S)`` per frame
latent                      the Z of 9 frames (4 past, current, 4 future) concatenated    233,632
                            on the feature axis ``(S, 9·F)`` → BLSTM ``2F`` → BLSTM ``F``
                            → BLSTM ``F/2`` (both directions concatenated: ``4F, 2F, F``
                            features) → SAAF over the ``F`` features
unpooling                   the latent repeated ×64 in time, times P of the current frame       0
back end "DNN-SAAF-SE"      ``Dense F → F/2 → F/2`` (tanh) ``→ F`` (linear) → SAAF →         36,128
                            squeeze-excitation (``|·|`` → mean over time → Dense ``16F``
                            ReLU → Dense ``F`` sigmoid → channel scale); added to the
                            unpooled signal (residual)
synthesis                   tied transposed convolution (the front end's kernel) + one          1
                            bias → ``(1, N)``
total                                                                                     275,969
==========================  ==========================================================  ========

(The SAAFs count 416 parameters each, within the latent and back-end rows;
``tests/test_crafx.py`` checks the total against a per-layer formula for several settings.)

Framing: :meth:`CRAFx.forward` cuts the input into frames of ``frame_length`` samples every
``hop_length`` samples, after ``frame_length − hop_length`` zeros at the start (Keras centres
its frames with ``N/2`` zeros: the same for a 50 % hop) and zeros at the end, so that every input
sample lies in exactly ``K = frame_length / hop_length`` frames. Input frames are not windowed
(as the Keras generator feeds them). The ``context`` frames before the first and after the last
one are frames of zeros, as Keras pads them. All frames run through the network as one batch;
each output frame is multiplied by a periodic Hann window and overlap-added. The shifted copies
of a periodic Hann window sum to exactly ``K/2`` when ``K`` is an integer ``>= 2`` (hence that
requirement), so the sum is divided by ``K/2`` — Keras' evaluation (``Utils.overlap`` with
``rate=2``) does the same for ``K = 2``. Output sample ``t`` is thus the window-weighted average
of the ``K`` frame estimates of sample ``t``, and the output has the input's length.

Receptive field: each output frame depends on every sample of its ``2·context + 1`` context
frames (the BLSTM and the SE's global pooling reach across the whole frame), a span of
``2·context·hop_length + frame_length`` samples (20,480 with the defaults, 1.28 s at 16 kHz);
output sample ``t`` mixes the ``K`` frames that contain it, so it depends on at most
:attr:`CRAFx.receptive_field` ``= (2·context + K − 1)·hop_length + frame_length`` input samples
(22,528 with the defaults, 1.41 s at 16 kHz; ``hop_length`` fewer where ``t`` falls on a frame
start, whose window weight is zero).

Choices where this implementation departs from, or had to read into, the Keras code:

* **LSTM cells** are PyTorch's (``sigmoid`` gates, ``tanh`` cell and output activations) in all
  three BLSTMs. Keras uses ``hard_sigmoid`` gates and, in the last BLSTM, a linear
  activation. PyTorch's LSTM also has two bias vectors per layer and direction, so the count
  is ``4·hidden`` higher per layer and direction than Keras' (896 in all: Keras counts
  275,073).
* **Dropout**: ``dropout`` (Keras: 0.1) on the input of each BLSTM while training; Keras' extra
  recurrent dropout is left out (it would rule out the fused LSTM kernels).
* **Tied synthesis**: the exact transpose (adjoint) of the front-end convolution,
  ``⟨conv(x), Y⟩ = ⟨x, deconv(Y)⟩``; the Keras layer correlates with the unflipped kernel
  (the adjoint's time reverse).
* **"same" padding** of even kernels as TensorFlow: ``(k − 1) // 2`` zeros before,
  ``k // 2`` after.
* **Initialisation** as Keras (:meth:`CRAFx.reset_parameters`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .._checks import check_audio, check_int, check_number
from ..nn.saaf import SAAF
from ..nn.squeeze_excitation import SqueezeExcitation

#: Hidden units of the squeeze-excitation block per channel (Keras' ``amplifying_ratio``).
SE_RATIO = 16


def _same_padding(kernel_size: int) -> tuple[int, int]:
    """Zeros before and after a signal for a stride-1 "same" convolution (TensorFlow's split)."""
    return (kernel_size - 1) // 2, kernel_size // 2


class CRAFx(nn.Module):
    """CRAFx for one source: distorted audio in, clean estimate out.

    Layers, parameter count (275,969 with the defaults), framing, receptive field and the
    choices made where the Keras reference is silent or differs are described in the module
    docstring of :mod:`dasp_blind.removal.crafx`. The defaults are the paper's, for 16 kHz.

    Args:
        frame_length: samples per frame ``N``; a multiple of ``pool_size`` and of
            ``hop_length``.
        hop_length: samples between frame starts; ``frame_length / hop_length`` must be an
            integer ``>= 2`` (the Hann overlap-add is then exact).
        filters: channels ``F`` of the front end (the BLSTMs have ``2F``, ``F`` and ``F/2``
            units per direction, the back end ``F``, ``F/2``, ``F/2``, ``F``); even.
        kernel_size: taps of the front-end convolution (the locally connected one has twice as
            many).
        pool_size: max-pooling size; the latent has ``frame_length / pool_size`` steps per
            frame.
        context: frames on each side of the current one that the latent sees (``2·context + 1``
            in all).
        dropout: dropout probability on the input of each BLSTM while training, in ``[0, 1)``.

    Shape:
        input ``(batch, 1, samples)``, any ``samples >= 1``; output the same.
    """

    def __init__(self, frame_length: int = 4096, hop_length: int = 2048, filters: int = 32,
                 kernel_size: int = 64, pool_size: int = 64, context: int = 4,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.frame_length = check_int(frame_length, "frame_length", low=2)
        self.hop_length = check_int(hop_length, "hop_length", low=1)
        if self.frame_length % self.hop_length or self.frame_length // self.hop_length < 2:
            raise ValueError(f"hop_length must divide frame_length={frame_length} into 2 or "
                             f"more equal parts (a 50 % or larger overlap), got {hop_length!r}")
        self.filters = check_int(filters, "filters", low=2)
        if self.filters % 2:
            raise ValueError(f"filters must be an even integer >= 2, got {filters!r}")
        self.kernel_size = check_int(kernel_size, "kernel_size", low=1)
        self.pool_size = check_int(pool_size, "pool_size", low=1)
        if self.frame_length % self.pool_size:
            raise ValueError(f"pool_size must divide frame_length={frame_length}, "
                             f"got {pool_size!r}")
        self.context = check_int(context, "context", low=0)
        self.dropout = check_number(dropout, "dropout")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout!r}")

        f, frames = self.filters, 2 * self.context + 1
        self.conv = nn.Conv1d(1, f, self.kernel_size)
        self.smoothing = nn.Conv1d(f, f, 2 * self.kernel_size, groups=f)
        self.lstm_in = nn.LSTM(frames * f, 2 * f, bidirectional=True, batch_first=True)
        self.lstm_hidden = nn.LSTM(4 * f, f, bidirectional=True, batch_first=True)
        self.lstm_out = nn.LSTM(2 * f, f // 2, bidirectional=True, batch_first=True)
        self.lstm_dropout = nn.Dropout(self.dropout)
        self.saaf_latent = SAAF(f)
        self.back_end = nn.Sequential(
            nn.Linear(f, f), nn.Tanh(), nn.Linear(f, f // 2), nn.Tanh(),
            nn.Linear(f // 2, f // 2), nn.Tanh(), nn.Linear(f // 2, f))
        self.saaf_out = SAAF(f)
        self.se = SqueezeExcitation(f, SE_RATIO * f)
        self.deconv_bias = nn.Parameter(torch.zeros(1))
        self.reset_parameters()

    @property
    def receptive_field(self) -> int:
        """Most input samples one output sample depends on:
        ``(2·context + K − 1)·hop_length + frame_length`` with ``K = frame_length /
        hop_length``."""
        overlap = self.frame_length // self.hop_length
        return (2 * self.context + overlap - 1) * self.hop_length + self.frame_length

    def reset_parameters(self, generator: torch.Generator | None = None) -> CRAFx:
        """Draw every parameter again as Keras initialises the reference, from ``generator``
        (the global generator when ``None``); returns the model.

        * both front-end convolutions: LeCun-uniform, ``±sqrt(3 / fan_in)`` (``fan_in`` 64 and
          128 with the defaults), zero biases;
        * LSTMs: input weights Glorot-uniform, recurrent weights orthogonal, biases zero but
          the forget gate's input bias 1 (Keras' ``unit_forget_bias``);
        * dense layers and the SE block: Glorot-uniform, zero biases;
        * SAAFs: ``N(0, 0.05²)``; synthesis bias 0.
        """
        with torch.no_grad():
            for conv in (self.conv, self.smoothing):
                fan_in = conv.weight[0].numel()  # in_channels / groups · kernel_size
                bound = (3.0 / fan_in) ** 0.5
                nn.init.uniform_(conv.weight, -bound, bound, generator=generator)
                nn.init.zeros_(conv.bias)
            for lstm in (self.lstm_in, self.lstm_hidden, self.lstm_out):
                hidden = lstm.hidden_size
                for name, p in lstm.named_parameters():
                    if name.startswith("weight_ih"):
                        nn.init.xavier_uniform_(p, generator=generator)
                    elif name.startswith("weight_hh"):
                        nn.init.orthogonal_(p, generator=generator)
                    else:
                        nn.init.zeros_(p)
                        if name.startswith("bias_ih"):
                            p[hidden:2 * hidden] = 1.0  # gates i, f, g, o: the forget gate
            for layer in self.back_end:
                if isinstance(layer, nn.Linear):
                    nn.init.xavier_uniform_(layer.weight, generator=generator)
                    nn.init.zeros_(layer.bias)
            self.saaf_latent.reset_parameters(generator)
            self.saaf_out.reset_parameters(generator)
            self.se.reset_parameters(generator)
            nn.init.zeros_(self.deconv_bias)
        return self

    def _front_end(self, frames: Tensor) -> Tensor:
        """The front-end convolution X: ``(frames, 1, N)`` -> ``(frames, F, N)``."""
        return self.conv(F.pad(frames, _same_padding(self.kernel_size)))

    def _smooth(self, magnitude: Tensor) -> Tensor:
        """The locally connected convolution (one kernel per channel, "same" padding):
        ``(frames, F, N)`` -> ``(frames, F, N)``.

        Run as a 2-D depthwise convolution in channels-last layout: the same sums, about ten
        times faster on a CPU than ``conv1d`` with groups (oneDNN's depthwise kernel)."""
        image = F.pad(magnitude, _same_padding(2 * self.kernel_size)).unsqueeze(2)
        image = image.contiguous(memory_format=torch.channels_last)  # (frames, F, 1, N + k − 1)
        weight = self.smoothing.weight.unsqueeze(2)  # (F, 1, 1, 2·kernel_size)
        return F.conv2d(image, weight, self.smoothing.bias, groups=self.filters).squeeze(2)

    def _tied_deconv(self, y: Tensor) -> Tensor:
        """The transpose of :meth:`_front_end`'s convolution plus the synthesis bias:
        ``(frames, F, N)`` -> ``(frames, 1, N)``."""
        before, _ = _same_padding(self.kernel_size)
        full = F.conv_transpose1d(y, self.conv.weight)  # N + kernel_size − 1 samples
        return full[..., before:before + y.shape[-1]] + self.deconv_bias

    def _bilstm(self, lstm: nn.LSTM, x: Tensor) -> Tensor:
        """``lstm`` over ``(frames, steps, features)`` after dropout; the directions
        concatenated."""
        return lstm(self.lstm_dropout(x))[0]

    def forward_frames(self, frames: Tensor) -> Tensor:
        """The network on whole frames: the estimates of the frames that have ``context``
        frames on each side.

        Args:
            frames: ``(batch, frames, frame_length)``, consecutive frames (``hop_length`` apart)
                with ``frames > 2·context``.

        Returns:
            ``(batch, frames − 2·context, frame_length)``: the estimate of frame
            ``i + context`` from frames ``i … i + 2·context``, not windowed.
        """
        batch, count, length = frames.shape
        c, f, steps = self.context, self.filters, self.frame_length // self.pool_size
        centre = count - 2 * c
        x = self._front_end(frames.reshape(batch * count, 1, length))  # (B·count, F, N)
        m = F.softplus(self._smooth(x.abs()))
        z = F.max_pool1d(m, self.pool_size).view(batch, count, f, steps)
        # each centre frame's 2c+1 neighbours, features ordered (frame, filter) as Keras'
        # concatenation of the frames' feature maps: (B·centre, steps, (2c+1)·F)
        z = z.unfold(1, 2 * c + 1, 1).permute(0, 1, 3, 4, 2).reshape(batch * centre, steps, -1)
        for lstm in (self.lstm_in, self.lstm_hidden, self.lstm_out):
            z = self._bilstm(lstm, z)
        latent = self.saaf_latent(z.transpose(1, 2))  # (B·centre, F, steps)
        phase = x.view(batch, count, f, length)[:, c:c + centre]
        phase = phase.reshape(batch * centre, f, steps, self.pool_size)
        unpooled = (phase * latent.unsqueeze(-1)).view(batch * centre, f, length)
        y = self.back_end(unpooled.transpose(1, 2)).transpose(1, 2)  # (B·centre, F, N)
        y = unpooled + self.se(self.saaf_out(y))
        return self._tied_deconv(y).view(batch, centre, length)

    def _frame(self, x: Tensor) -> Tensor:
        """Frames of ``x`` (``(batch, 1, samples)``) zero-padded so that each sample lies in
        ``K`` frames, plus ``context`` frames of zeros on each side: ``(batch, n + 2·context,
        frame_length)`` with ``n = ⌊(samples − 1) / hop_length⌋ + K``."""
        hop, length = self.hop_length, x.shape[-1]
        count = (length - 1) // hop + self.frame_length // hop + 2 * self.context
        before = self.frame_length - hop + self.context * hop
        after = (count - 1) * hop + self.frame_length - before - length
        return F.pad(x[:, 0], (before, after)).unfold(-1, self.frame_length, hop)

    def _overlap_add(self, frames: Tensor, length: int) -> Tensor:
        """Hann-windowed overlap-add of ``(batch, n, frame_length)`` frame estimates (the first
        starting ``frame_length − hop_length`` samples before the signal), divided by the
        window's constant shifted sum ``K/2``: ``(batch, 1, length)``."""
        batch, count, _ = frames.shape
        hop, size = self.hop_length, self.frame_length
        window = torch.hann_window(size, periodic=True, dtype=frames.dtype, device=frames.device)
        windowed = (frames * window).transpose(1, 2)  # (B, N, n)
        total = (count - 1) * hop + size
        y = F.fold(windowed, output_size=(1, total), kernel_size=(1, size), stride=(1, hop))
        start = size - hop
        return y.view(batch, 1, total)[..., start:start + length] * (2 * hop / size)

    def forward(self, x: Tensor) -> Tensor:
        """Estimate the clean signal.

        Args:
            x: distorted audio ``(batch, 1, samples)``, the model's dtype.

        Returns:
            the estimate, ``(batch, 1, samples)``.
        """
        check_audio(x)
        if x.shape[1] != 1:
            raise ValueError(f"x must have shape (batch, 1, samples), got {tuple(x.shape)}")
        if x.dtype != self.conv.weight.dtype:
            raise ValueError(f"x must have the model's dtype {self.conv.weight.dtype}, "
                             f"got {x.dtype}")
        return self._overlap_add(self.forward_frames(self._frame(x)), x.shape[-1])


__all__ = ["CRAFx"]
