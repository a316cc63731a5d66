"""Spectrogram transformer: an Audio-MAE-style encoder–decoder that maps the log-power STFT of
the dry signal to the log-power STFT of the wet one and resynthesises with the dry phase.

The effect model of Kazakov (2024, ``seeds/effect_creation_cafx_audiomae.txt`` §3.2): Audio-MAE
(Huang et al., NeurIPS 2022) with a mask ratio of 0, trained from scratch to predict the wet
spectrogram, re-written here (no code copied) with small defaults that train on a CPU:

1. **Front end** (:func:`log_power_stft`): STFT with a periodic Hann window of
   :data:`N_FFT` = 254 samples, hop :data:`HOP` = 127 (50 % overlap), so
   ``254 // 2 + 1 =`` :data:`BINS` = 128 frequency bins (the seed's 128-bin "image" height);
   frames centred on samples ``0, hop, 2·hop, …`` with zeros padded at both ends; log power
   ``L = ln(|X|² + eps)`` with ``eps = 1e-7``
   (:data:`~dasp_blind.metrics.effects.SPECTROGRAM_FLOOR`: the seed code's floor, and that of
   :func:`~dasp_blind.metrics.effects.spectrogram_mse`): 13 times the power of a bin of 16-bit
   quantisation noise (7.4e-9) and 106 dB below the peak bin of a full-scale sine
   (``63.5² = 4032``), so the logarithm and its gradient (at most ``1/sqrt(eps)`` per unit of
   ``|X|``) stay finite on silence.
2. **Normalisation**: ``z = (L − log_mean) / log_std`` with two fixed constants, as Audio-MAE
   standardises its filter banks with dataset statistics. Fixed (not per item) on purpose: the
   network then sees the input level, which a distortion or a compressor depends on. The
   defaults ``−8`` and ``5`` lie between the statistics of the library's synthetic guitar at DI
   level (mean −12.7, std 4.9 at 16 kHz) and of its peak-normalised synthetic music (−5.6, 5.1);
   :meth:`SpectrogramTransformer.normalise_from` sets them from training audio.
3. **Patches** (:func:`patchify`): the ``(frames, 128)`` time × frequency image is cut into
   non-overlapping ``patch_frames × patch_bins`` patches (default 16 × 16, Audio-MAE's; 16
   frames = 2,032 samples = 127 ms at 16 kHz), in time-major order (token ``t·(128 /
   patch_bins) + f``), each flattened time-major. The frame count is padded to a multiple of
   ``patch_frames`` by padding the *audio* with zeros at its end, and the output is cut back.
4. **Encoder**: a linear patch embedding (``patch_frames·patch_bins → embed_dim``) plus fixed
   2-D sin-cos positional embeddings (:func:`sincos_positions`, recomputed for any number of
   time patches), ``depth`` pre-norm transformer layers (multi-head self-attention, then an MLP
   of ``mlp_ratio·embed_dim`` units with GELU; LayerNorm eps 1e-6 as Audio-MAE), a final
   LayerNorm.
5. **Decoder** (lighter, its own width): ``Linear(embed_dim → decoder_dim)``, its own sin-cos
   positional embeddings, ``decoder_depth`` pre-norm layers, LayerNorm, and the linear head
   ``decoder_dim → patch_frames·patch_bins`` back to patch pixels (:func:`unpatchify`): the
   predicted **normalised output log-power**. With ``skip`` (the default) it is added to the
   input's (the network predicts the change of the log-power, a log-domain gain per
   time-frequency bin, and its head starts at zero so that training starts from the
   identity); without, it is the output itself (Audio-MAE's plain pixel prediction). With
   ``ẑ`` the head's output (plus ``z`` with ``skip``), the predicted log-power is
   ``L̂ = log_mean + log_std · ẑ``.
6. **Resynthesis** (:func:`resynthesise`): magnitude ``sqrt(exp(L̂)) = exp(L̂ / 2)`` with the
   **input phase** ``X / |X|``, inverse STFT (least-squares overlap-add with the same window)
   cut to the input length, as the seed does. The phase is computed as
   ``X / sqrt(|X|² + δ)`` with ``δ = eps(dtype)²`` (1.4e-14 in float32): its direction is
   exact in every bin, its length within 1 % of 1 wherever ``|X| > 7·eps(dtype)`` (8.3e-7 in
   float32, far below the STFT's rounding noise of any audible signal), 0 in a bin of exact
   silence (whose phase is undefined), and its gradient finite everywhere.

No masking: the seed fine-tunes with a mask ratio of 0, which is the only mode here (no mask
token, no class token; with ``num_controls > 0`` the knob token takes the class token's place).
Audio-MAE's decoder can use local (Swin) window attention; the seed's code runs it with global
attention (``decoder_mode=0``), as here.

Sizes: the seed uses ViT-B (768 wide, 12 layers, 12 heads) and a 512-wide, 8-layer, 16-head
decoder on 1024 × 128 spectrograms, about 111 M parameters. The defaults here (192 wide, 4
layers, 4 heads; decoder 128 wide, 2 layers, 4 heads) have **2,283,712** parameters, checked in
``tests/test_modelling_transformer.py`` against this per-layer count (``P = 256`` pixels per
patch; a pre-norm layer of width ``w`` with MLP ratio 4 has ``12w² + 13w`` parameters:
``3w² + 3w`` for q, k, v, ``w² + w`` for the attention's output, ``8w² + 5w`` for the MLP, ``4w``
for its two LayerNorms):

==========================================  ==========
patch embedding (256 → 192)                      49,344
encoder layers (4 × (12·192² + 13·192))       1,779,456
encoder LayerNorm                                   384
decoder embedding (192 → 128)                    24,704
decoder layers (2 × (12·128² + 13·128))         396,544
decoder LayerNorm                                   256
head (128 → 256)                                 33,024
total                                         2,283,712
==========================================  ==========

Knobs (``num_controls = C > 0``, :class:`~dasp_blind.modelling.rnn.RNNModel`'s vocabulary):
the normalised controls ``(batch, C)`` in ``[0, 1]`` are embedded by ``Linear(C → embed_dim)``
(``C·embed_dim + embed_dim`` more parameters) as one extra token at the front of the encoder's
sequence, without a positional embedding; it passes through the decoder and is dropped before
the head, so every patch can attend to it.

Receptive field: the **whole input**. Attention is global, so every output sample depends on
every input sample (offline, not streamable; there is no causal version). The cost of attention
grows with the square of the number of patches, ``(128 / patch_bins) · ceil(frames /
patch_frames)``: 1,016 patches for 16 s at 16 kHz with the defaults. The sin-cos positions
are defined for any length, but positions past the training length are ones the model never
saw: process longer recordings in chunks of about the training length, cross-faded (as
:meth:`dasp_blind.removal.Restorer.restore` does for the removal networks).

Differences from the seed's code: zeros instead of reflected samples pad the ends of the STFT
(so any length works, and the first frame sees silence before the signal, as an effect would),
the log power is normalised, and inputs of any length are padded to whole patches instead of
cropped or padded to 1,024 frames.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .._checks import (
    check_bool,
    check_in_interval,
    check_int,
    check_network_input,
    check_number,
    check_positive,
    check_range,
    check_tensor,
)
from ..metrics.effects import SPECTROGRAM_FLOOR

#: STFT frame (and Hann window) length in samples (the seed's 254).
N_FFT = 254
#: Hop between STFT frames in samples (the seed's 127, 50 % overlap).
HOP = 127
#: Frequency bins of the one-sided STFT, ``N_FFT // 2 + 1``.
BINS = N_FFT // 2 + 1
#: LayerNorm epsilon of every transformer layer (Audio-MAE's).
LAYER_NORM_EPS = 1e-6
#: Smallest log-power standard deviation :meth:`SpectrogramTransformer.normalise_from` accepts.
MIN_LOG_STD = 1e-3


def frames_for(samples: int) -> int:
    """Frames :func:`log_power_stft` gives ``samples`` samples by default:
    ``1 + ceil(samples / HOP)``."""
    return 1 + -(-samples // HOP)


def log_power_stft(x: Tensor, frames: int | None = None,
                   eps: float = SPECTROGRAM_FLOOR) -> tuple[Tensor, Tensor]:
    """Log-power STFT of audio, and the complex STFT it came from (unchecked).

    Periodic Hann window of :data:`N_FFT` samples, hop :data:`HOP`, frames centred on samples
    ``0, HOP, 2·HOP, …``: the audio is padded with zeros to ``(frames − 1)·HOP`` samples, then
    by ``N_FFT // 2`` zeros at both ends (``scipy.signal.stft``'s ``boundary="zeros",
    padded=True`` for the default ``frames``). No scaling.

    Args:
        x: real audio ``(batch, channels, samples)``, float32 or float64.
        frames: frames to compute, at least :func:`frames_for` ``(samples)`` (the default).
        eps: floor added to the power before the logarithm.

    Returns:
        ``(ln(|X|² + eps), X)``, real and complex, each ``(batch, channels, BINS, frames)``.
    """
    batch, channels, samples = x.shape
    frames = frames_for(samples) if frames is None else frames
    window = torch.hann_window(N_FFT, periodic=True, dtype=x.dtype, device=x.device)
    padded = F.pad(x.reshape(batch * channels, samples), (0, (frames - 1) * HOP - samples))
    spectrum = torch.stft(padded, N_FFT, HOP, window=window, center=True, pad_mode="constant",
                          return_complex=True)
    spectrum = spectrum.reshape(batch, channels, BINS, frames)
    power = torch.view_as_real(spectrum).square().sum(-1)  # smooth at 0, unlike |X|²
    return torch.log(power + eps), spectrum


def resynthesise(log_power: Tensor, spectrum: Tensor, length: int) -> Tensor:
    """Audio from a log-power spectrogram and the phase of ``spectrum`` (unchecked).

    The magnitude is ``exp(log_power / 2) = sqrt(exp(log_power))``, the phase that of
    ``spectrum`` as ``X / sqrt(|X|² + δ)``, ``δ = eps(dtype)²`` (0 where ``X = 0``); the inverse
    STFT is the least-squares overlap-add with :func:`log_power_stft`'s window, cut to
    ``length``.

    Args:
        log_power: ``(batch, channels, BINS, frames)``, natural log of power.
        spectrum: complex ``(batch, channels, BINS, frames)`` giving the phase.
        length: samples to return, at most ``(frames − 1)·HOP``.

    Returns:
        real ``(batch, channels, length)``.
    """
    batch, channels, bins, frames = spectrum.shape
    tiny = torch.finfo(log_power.dtype).eps ** 2
    power = torch.view_as_real(spectrum).square().sum(-1)
    phase = spectrum * torch.rsqrt(power + tiny)
    estimate = torch.exp(0.5 * log_power) * phase
    window = torch.hann_window(N_FFT, periodic=True, dtype=log_power.dtype,
                               device=log_power.device)
    y = torch.istft(estimate.reshape(batch * channels, bins, frames), N_FFT, HOP,
                    window=window, center=True, length=length)
    return y.reshape(batch, channels, length)


def patchify(image: Tensor, patch_frames: int, patch_bins: int) -> Tensor:
    """Cut ``(batch, frames, bins)`` into non-overlapping patches (unchecked).

    Args:
        image: ``(batch, frames, bins)``, ``frames`` a multiple of ``patch_frames`` and
            ``bins`` of ``patch_bins``.
        patch_frames: frames per patch.
        patch_bins: bins per patch.

    Returns:
        ``(batch, (frames / patch_frames)·(bins / patch_bins), patch_frames·patch_bins)``:
        token ``t·(bins / patch_bins) + f`` is the patch of frames ``t·patch_frames …`` and
        bins ``f·patch_bins …``, flattened time-major (pixel ``i·patch_bins + j`` is frame
        ``i``, bin ``j`` of the patch).
    """
    batch, frames, bins = image.shape
    t, f = frames // patch_frames, bins // patch_bins
    x = image.reshape(batch, t, patch_frames, f, patch_bins)
    return x.permute(0, 1, 3, 2, 4).reshape(batch, t * f, patch_frames * patch_bins)


def unpatchify(patches: Tensor, bins: int, patch_frames: int, patch_bins: int) -> Tensor:
    """Inverse of :func:`patchify`: ``(batch, tokens, patch_frames·patch_bins)`` →
    ``(batch, frames, bins)``, ``frames = tokens / (bins / patch_bins) · patch_frames``."""
    batch, tokens, _ = patches.shape
    f = bins // patch_bins
    t = tokens // f
    x = patches.reshape(batch, t, f, patch_frames, patch_bins)
    return x.permute(0, 1, 3, 2, 4).reshape(batch, t * patch_frames, bins)


def sincos_positions(time_patches: int, freq_patches: int, dim: int,
                     dtype: torch.dtype = torch.float32,
                     device: torch.device | None = None) -> Tensor:
    """Fixed 2-D sine-cosine positional embeddings (MAE / Audio-MAE), one row per token of
    :func:`patchify`'s order.

    For token ``(t, f)`` and ``k = 0 … dim/4 − 1``, ``ω_k = 10000^(−k / (dim/4))``: channels
    ``[0, dim/4)`` hold ``sin(t·ω_k)``, ``[dim/4, dim/2)`` ``cos(t·ω_k)``, ``[dim/2, 3·dim/4)``
    ``sin(f·ω_k)`` and ``[3·dim/4, dim)`` ``cos(f·ω_k)``: the first half encodes the time
    index, the second the frequency index.

    Args:
        time_patches: patches along time.
        freq_patches: patches along frequency.
        dim: embedding width, a multiple of 4.
        dtype: dtype of the result.
        device: device of the result.

    Returns:
        ``(time_patches·freq_patches, dim)``.
    """
    quarter = dim // 4
    omega = 10000.0 ** (-torch.arange(quarter, dtype=torch.float64) / quarter)
    t = torch.arange(time_patches, dtype=torch.float64).repeat_interleave(freq_patches)
    f = torch.arange(freq_patches, dtype=torch.float64).repeat(time_patches)
    angles = [t[:, None] * omega, f[:, None] * omega]
    table = torch.cat([angles[0].sin(), angles[0].cos(), angles[1].sin(), angles[1].cos()], 1)
    return table.to(dtype=dtype, device=device)


def _layers(width: int, heads: int, depth: int, mlp_ratio: int, dropout: float) -> nn.ModuleList:
    """``depth`` pre-norm transformer layers (attention, then a GELU MLP), batch first."""
    return nn.ModuleList(
        nn.TransformerEncoderLayer(width, heads, dim_feedforward=mlp_ratio * width,
                                   dropout=dropout, activation="gelu",
                                   layer_norm_eps=LAYER_NORM_EPS, batch_first=True,
                                   norm_first=True)
        for _ in range(depth))


class SpectrogramTransformer(nn.Module):
    """Audio-MAE-style effect model on log-power STFT patches,
    ``(batch, 1, samples) -> (batch, 1, samples)``.

    The layers, defaults, parameter count (2,283,712 with the defaults), knob token and
    receptive field (the whole input) are described in the module docstring of
    :mod:`dasp_blind.modelling.transformer`.

    Args:
        embed_dim: encoder width, a multiple of 4 and of ``num_heads`` (Audio-MAE: 768).
        depth: encoder layers (Audio-MAE: 12).
        num_heads: encoder attention heads (Audio-MAE: 12).
        decoder_dim: decoder width, a multiple of 4 and of ``decoder_heads`` (Audio-MAE: 512).
        decoder_depth: decoder layers (Audio-MAE: 8).
        decoder_heads: decoder attention heads (Audio-MAE: 16).
        mlp_ratio: MLP width over layer width, an integer ``>= 1`` (Audio-MAE: 4).
        patch_frames: STFT frames per patch (Audio-MAE: 16).
        patch_bins: frequency bins per patch, a divisor of 128 (Audio-MAE: 16).
        num_controls: knob settings (normalised controls in ``[0, 1]``) embedded as one extra
            token; 0 for none.
        skip: predict the change of the normalised log-power (added to the input's), with the
            head initialised to zero so that the model starts as the identity; ``False``:
            predict the output log-power itself, as Audio-MAE predicts pixels.
        log_mean: the constant subtracted from the log-power (natural log of power).
        log_std: the constant the log-power is then divided by, ``> 0``.
        dropout: dropout in the transformer layers, in ``[0, 1)`` (Audio-MAE: 0).

    Attributes:
        patch_embed: ``nn.Linear(patch_frames·patch_bins, embed_dim)``.
        control_embed: ``nn.Linear(num_controls, embed_dim)``, or ``None`` without knobs.
        encoder, decoder: ``nn.ModuleList`` of ``nn.TransformerEncoderLayer``
            (``norm_first``, GELU, ``batch_first``).
        encoder_norm, decoder_norm: the final ``nn.LayerNorm`` of each.
        decoder_embed: ``nn.Linear(embed_dim, decoder_dim)``.
        head: ``nn.Linear(decoder_dim, patch_frames·patch_bins)``.
        log_mean, log_std: 0-d buffers (saved in the state dict).

    Shape:
        ``x``: ``(batch, 1, samples)``, any ``samples >= 1``; ``controls``:
        ``(batch, num_controls)``; output: like ``x``.

    Raises:
        ValueError: naming the argument, for a size out of range, a width that is not a
            multiple of 4 and of its head count, ``patch_bins`` not dividing 128,
            ``log_std <= 0`` or ``dropout`` outside ``[0, 1)``.
    """

    def __init__(self, embed_dim: int = 192, depth: int = 4, num_heads: int = 4,
                 decoder_dim: int = 128, decoder_depth: int = 2, decoder_heads: int = 4,
                 mlp_ratio: int = 4, patch_frames: int = 16, patch_bins: int = 16,
                 num_controls: int = 0, skip: bool = True, log_mean: float = -8.0,
                 log_std: float = 5.0, dropout: float = 0.0) -> None:
        super().__init__()
        self.embed_dim = _check_width(embed_dim, "embed_dim", num_heads, "num_heads")
        self.num_heads = int(num_heads)
        self.depth = check_int(depth, "depth", low=1)
        self.decoder_dim = _check_width(decoder_dim, "decoder_dim", decoder_heads,
                                        "decoder_heads")
        self.decoder_heads = int(decoder_heads)
        self.decoder_depth = check_int(decoder_depth, "decoder_depth", low=1)
        self.mlp_ratio = check_int(mlp_ratio, "mlp_ratio", low=1)
        self.patch_frames = check_int(patch_frames, "patch_frames", low=1)
        self.patch_bins = check_int(patch_bins, "patch_bins", low=1, high=BINS)
        if BINS % self.patch_bins:
            raise ValueError(f"patch_bins must divide the {BINS} frequency bins, got "
                             f"{patch_bins!r}")
        self.num_controls = check_int(num_controls, "num_controls", low=0)
        self.skip = check_bool(skip, "skip")
        self.dropout = check_in_interval(dropout, "dropout", 0.0, 1.0)
        if self.dropout == 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout!r}")
        self.register_buffer("log_mean", torch.tensor(check_number(log_mean, "log_mean")))
        self.register_buffer("log_std", torch.tensor(check_positive(log_std, "log_std")))

        pixels = self.patch_frames * self.patch_bins
        self.patch_embed = nn.Linear(pixels, self.embed_dim)
        self.control_embed = (nn.Linear(self.num_controls, self.embed_dim)
                              if self.num_controls else None)
        self.encoder = _layers(self.embed_dim, self.num_heads, self.depth, self.mlp_ratio,
                               self.dropout)
        self.encoder_norm = nn.LayerNorm(self.embed_dim, eps=LAYER_NORM_EPS)
        self.decoder_embed = nn.Linear(self.embed_dim, self.decoder_dim)
        self.decoder = _layers(self.decoder_dim, self.decoder_heads, self.decoder_depth,
                               self.mlp_ratio, self.dropout)
        self.decoder_norm = nn.LayerNorm(self.decoder_dim, eps=LAYER_NORM_EPS)
        self.head = nn.Linear(self.decoder_dim, pixels)
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None
                         ) -> SpectrogramTransformer:
        """Draw the weights again with MAE's initialisation, from ``generator`` (the global
        generator when ``None``): every linear map (the attention's joint q, k, v projection
        included) Xavier-uniform, in ``±sqrt(6 / (fan_in + fan_out))``, with zero biases;
        LayerNorms weight 1, bias 0. With :attr:`skip`, the head's weight is zero instead, so
        the model starts as the identity. Returns the model."""
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, nn.Linear):
                    nn.init.xavier_uniform_(module.weight, generator=generator)
                    nn.init.zeros_(module.bias)
                elif isinstance(module, nn.MultiheadAttention):
                    nn.init.xavier_uniform_(module.in_proj_weight, generator=generator)
                    nn.init.zeros_(module.in_proj_bias)
                elif isinstance(module, nn.LayerNorm):
                    nn.init.ones_(module.weight)
                    nn.init.zeros_(module.bias)
            if self.skip:
                self.head.weight.zero_()
        return self

    def padded_frames(self, samples: int) -> int:
        """Frames the network runs on for ``samples`` input samples: :func:`frames_for`
        rounded up to a multiple of ``patch_frames``."""
        return -(-frames_for(samples) // self.patch_frames) * self.patch_frames

    def log_power(self, x: Tensor) -> Tensor:
        """The front end: ``ln(|X|² + 1e-7)`` of audio ``x``, unnormalised; the target of the
        seed's spectrogram MSE loss when ``x`` is the wet signal.

        Args:
            x: audio ``(batch, 1, samples)`` in the model's dtype.

        Returns:
            ``(batch, 1, 128, 1 + ceil(samples / 127))``.
        """
        check_network_input(x, 1, self.patch_embed.weight.dtype)
        return log_power_stft(x)[0]

    def predict(self, x: Tensor, controls: Tensor | None = None) -> Tensor:
        """The predicted output log-power spectrogram (what the seed trains with the MSE
        against ``log_power(wet)``).

        Args:
            x: dry audio ``(batch, 1, samples)`` in the model's dtype.
            controls: knob settings ``(batch, num_controls)`` in ``[0, 1]``; required exactly
                when ``num_controls > 0``.

        Returns:
            ``(batch, 1, 128, 1 + ceil(samples / 127))``, natural log of power.
        """
        self._check_inputs(x, controls)
        log_in, _ = log_power_stft(x, self.padded_frames(x.shape[-1]))
        return self._network(log_in, controls)[..., :frames_for(x.shape[-1])]

    def forward(self, x: Tensor, controls: Tensor | None = None) -> Tensor:
        """Process dry audio: predict the wet log-power and resynthesise it with the dry phase.

        Args:
            x: dry audio ``(batch, 1, samples)`` in the model's dtype, any ``samples >= 1``.
            controls: as in :meth:`predict`.

        Returns:
            the wet estimate, ``(batch, 1, samples)``.
        """
        self._check_inputs(x, controls)
        log_in, spectrum = log_power_stft(x, self.padded_frames(x.shape[-1]))
        return resynthesise(self._network(log_in, controls), spectrum, x.shape[-1])

    def normalise_from(self, x: Tensor) -> SpectrogramTransformer:
        """Set :attr:`log_mean` and :attr:`log_std` to the mean and the (population) standard
        deviation, over every bin of every frame of every item, of :meth:`log_power` of ``x``
        (e.g. a batch of training inputs); returns the model.

        Raises:
            ValueError: naming ``x``, for bad audio, or a log-power whose standard deviation
                is below ``MIN_LOG_STD`` (silence, or a signal below the power floor).
        """
        with torch.no_grad():
            values = self.log_power(x)
            std = float(values.std(correction=0))
            if not std >= MIN_LOG_STD:
                raise ValueError(f"x must not be silent: the standard deviation of its "
                                 f"log-power, {std:.3g}, is below {MIN_LOG_STD:g}")
            self.log_mean.fill_(float(values.mean()))
            self.log_std.fill_(std)
        return self

    def _network(self, log_in: Tensor, controls: Tensor | None) -> Tensor:
        """Predicted log-power ``(batch, 1, 128, frames)`` from the input's, ``frames`` a
        multiple of ``patch_frames``."""
        batch, frames = log_in.shape[0], log_in.shape[-1]
        z = (log_in[:, 0].transpose(1, 2) - self.log_mean) / self.log_std  # (batch, frames, 128)
        time_patches, freq_patches = frames // self.patch_frames, BINS // self.patch_bins
        tokens = self.patch_embed(patchify(z, self.patch_frames, self.patch_bins))
        tokens = tokens + sincos_positions(time_patches, freq_patches, self.embed_dim,
                                           tokens.dtype, tokens.device)  # (batch, N, embed_dim)
        knobs = 0
        if self.control_embed is not None and controls is not None:
            knob = self.control_embed(controls.to(tokens.dtype))[:, None]  # (batch, 1, embed)
            tokens = torch.cat([knob, tokens], dim=1)
            knobs = 1
        for layer in self.encoder:
            tokens = layer(tokens)
        tokens = self.decoder_embed(self.encoder_norm(tokens))  # (batch, knobs + N, decoder)
        positions = sincos_positions(time_patches, freq_patches, self.decoder_dim,
                                     tokens.dtype, tokens.device)
        tokens = tokens + F.pad(positions, (0, 0, knobs, 0))  # no position for the knob token
        for layer in self.decoder:
            tokens = layer(tokens)
        pixels = self.head(self.decoder_norm(tokens)[:, knobs:])  # (batch, N, pf·pb)
        out = unpatchify(pixels, BINS, self.patch_frames, self.patch_bins)  # (batch, frames, 128)
        out = out.transpose(1, 2).reshape(batch, 1, BINS, frames)
        return log_in + self.log_std * out if self.skip else self.log_mean + self.log_std * out

    def _check_inputs(self, x: Tensor, controls: Tensor | None) -> None:
        check_network_input(x, 1, self.patch_embed.weight.dtype)
        if self.num_controls == 0:
            if controls is not None:
                raise ValueError("controls must be None for a model without controls "
                                 f"(num_controls=0), got {type(controls).__name__}")
            return
        allowed = f"(batch={x.shape[0]}, num_controls={self.num_controls})"
        if controls is None:
            raise ValueError(f"controls are required (num_controls={self.num_controls}): pass "
                             f"a tensor of shape {allowed}")
        check_tensor(controls, "controls", allowed)
        if tuple(controls.shape) != (x.shape[0], self.num_controls):
            raise ValueError(f"controls must have shape {allowed}, got {tuple(controls.shape)}")
        check_range(controls, "controls", 0.0, 1.0)

    def extra_repr(self) -> str:
        return (f"patch={self.patch_frames}x{self.patch_bins}, num_controls={self.num_controls}, "
                f"skip={self.skip}")


def _check_width(width: object, name: str, heads: object, heads_name: str) -> int:
    """A layer width: an integer ``>= 4``, a multiple of 4 (the sin-cos table) and of
    ``heads`` (an integer ``>= 1``)."""
    width = check_int(width, name, low=4)
    heads = check_int(heads, heads_name, low=1)
    if width % 4 or width % heads:
        raise ValueError(f"{name} must be a multiple of 4 and of {heads_name}={heads}, got "
                         f"{width!r}")
    return width


__all__ = ["BINS", "HOP", "LAYER_NORM_EPS", "MIN_LOG_STD", "N_FFT", "SpectrogramTransformer",
           "frames_for", "log_power_stft", "patchify", "resynthesise", "sincos_positions",
           "unpatchify"]
