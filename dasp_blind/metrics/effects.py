"""Per-item metrics of modelled audio effects (the CRAFx / CAFx evaluation).

* :func:`energy_normalised_mae` — Martínez Ramírez et al.'s mean absolute error after matching
  the estimate's mean absolute level to the target's (CRAFx, DAFx 2019).
* :func:`crest_factor_error` and :func:`rms_energy_error` — dynamics: absolute differences of
  the crest factor and of the RMS level, in dB (Steinmetz et al.'s style-transfer metrics).
* :func:`spectral_centroid_error` — timbre: absolute difference of the mean frame spectral
  centroids, in Hz (the same source).
* :func:`spectrogram_mse` — mean squared error between log-power spectrograms (the loss and
  metric of the Audio-MAE effect model, ``seeds/effect_creation_cafx_audiomae.txt``).

Every function takes the estimate first and the target second, audio ``(batch, channels,
samples)`` of one shape, and returns ``(batch,)`` in the target's dtype (float16 / bfloat16 are
computed in float32). The level features are computed per channel and their absolute
differences averaged over the item's channels.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .._checks import check_audio_pair, check_int, check_sample_rate, half_as_float32

#: Floor added to the squared peak and the mean square before their dB values: an RMS of
#: ``1e-8`` (−160 dBFS), the clamp of DeepAFx-ST's ``crest_factor`` / ``rms_energy``. Silence is
#: −160 dB and has a crest factor of 0 dB; levels above −140 dBFS are unaffected.
MEAN_SQUARE_FLOOR = 1e-16
#: Floor added to the STFT power before its logarithm in :func:`spectrogram_mse` (the Audio-MAE
#: effect model's ``log(|X|² + 1e-7)``).
SPECTROGRAM_FLOOR = 1e-7


def _check_frames(target: Tensor, n_fft: object, hop: object) -> tuple[int, int]:
    """Validate the STFT sizes; the centred (reflect-padded) frames need more than
    ``n_fft // 2`` samples."""
    n_fft = check_int(n_fft, "n_fft", low=2)
    hop = check_int(hop, "hop", low=1)
    if target.shape[-1] <= n_fft // 2:
        raise ValueError(f"target must hold more than {n_fft // 2} samples (half of n_fft="
                         f"{n_fft}, for the reflect padding), got {target.shape[-1]}")
    return n_fft, hop


def _stft(x: Tensor, n_fft: int, hop: int) -> Tensor:
    """Complex STFT of audio ``(batch, channels, samples)``: centred frames (reflect padding),
    periodic Hann window of ``n_fft`` samples, hop ``hop``, no scaling;
    ``(batch, channels, n_fft // 2 + 1, frames)``."""
    batch, channels, samples = x.shape
    window = torch.hann_window(n_fft, dtype=x.dtype, device=x.device)
    spectrum = torch.stft(x.reshape(batch * channels, samples), n_fft, hop_length=hop,
                          win_length=n_fft, window=window, center=True, pad_mode="reflect",
                          return_complex=True)
    return spectrum.reshape(batch, channels, *spectrum.shape[1:])


def _level_db(energy: Tensor) -> Tensor:
    """``10·log10(energy + MEAN_SQUARE_FLOOR)``: dB of a mean square or a squared peak."""
    return 10 * torch.log10(energy + MEAN_SQUARE_FLOOR)


def _crest_factor_db(x: Tensor) -> Tensor:
    """Crest factor ``20·log10(peak / RMS)`` of each channel, ``(batch, channels)``, in dB."""
    squares = x.square()
    return _level_db(squares.amax(-1)) - _level_db(squares.mean(-1))


def _mean_centroid_hz(x: Tensor, sample_rate: float, n_fft: int, hop: int) -> Tensor:
    """Spectral centroid of each frame, averaged over the frames: ``(batch, channels)`` in Hz."""
    magnitude = _stft(x, n_fft, hop).abs()  # its gradient at 0 is 0, never NaN
    freqs = torch.arange(magnitude.shape[-2], dtype=x.dtype, device=x.device) * (
        sample_rate / n_fft)
    weighted = (freqs[:, None] * magnitude).sum(-2)
    total = magnitude.sum(-2) + torch.finfo(x.dtype).eps
    return (weighted / total).mean(-1)


@half_as_float32("target")
def energy_normalised_mae(estimate: Tensor, target: Tensor) -> Tensor:
    """Energy-normalised mean absolute error of each item (Martínez Ramírez, Benetos & Reiss,
    DAFx 2019; the CRAFx / CAFx metric).

    The estimate is scaled so that its mean absolute value matches the target's, then the mean
    absolute error is taken over the item's channels and samples:

    ``r = mean|y| / mean|ŷ|``,  ``ENMAE = mean|y − r·ŷ|``.

    This is ``getMAEnormalized(ytrue, ypred)`` of the authors' code (``mchijmma/DL-AFx``,
    ``src/Utils.py``; the same as ``calc_energy_normalized_mae`` of the Audio-MAE report's
    code, ``ylxsbn/creation_of_audio_effects``). The "energy" is the mean *absolute* value, not
    the RMS. A gain on the estimate does not change the value; the target's level does (the
    error is in the target's units).

    Args:
        estimate: ``ŷ``, audio ``(batch, channels, samples)``.
        target: ``y``, audio of the same shape.

    Returns:
        ``(batch,)``, ``>= 0``, in the dtype of ``target``. Both mean absolute values are
        floored at the dtype's eps (``r = (mean|y| + eps) / (mean|ŷ| + eps)``), so a silent
        estimate gives ``mean|y|`` and two silent signals give 0; differentiable (the
        subgradient 0 at the kinks of ``|·|``).
    """
    check_audio_pair(estimate, target)
    estimate = estimate.to(target.dtype)
    eps = torch.finfo(target.dtype).eps
    ratio = (target.abs().mean((1, 2)) + eps) / (estimate.abs().mean((1, 2)) + eps)
    return (target - ratio[:, None, None] * estimate).abs().mean((1, 2))


@half_as_float32("target")
def crest_factor_error(estimate: Tensor, target: Tensor) -> Tensor:
    """Absolute difference of crest factors, in dB, averaged over channels.

    The crest factor of a channel is ``20·log10(max|x| / RMS(x))`` (0 dB for a square wave,
    ``20·log10 √2 = 3.01 dB`` for a sine, ``10·log10 N`` for one impulse in ``N`` samples);
    the metric is ``mean_c |CF_c(ŷ) − CF_c(y)|``. It measures how well the dynamics (e.g. a
    compressor's or a clipper's flattening of peaks) are reproduced, independently of the
    overall level.

    Units: decibels with ``log10``. DeepAFx-ST (Steinmetz et al., 2022) and the Audio-MAE
    report's code compute ``20·ln(peak / RMS)`` (natural log); their numbers are this one's
    times ``ln 10 ≈ 2.303``.

    Args:
        estimate: ``ŷ``, audio ``(batch, channels, samples)``.
        target: ``y``, audio of the same shape.

    Returns:
        ``(batch,)``, ``>= 0`` dB, in the dtype of ``target``. The squared peak and the mean
        square are floored at :data:`MEAN_SQUARE_FLOOR` (silence has a crest factor of 0 dB);
        differentiable almost everywhere (through the peak sample and the RMS).
    """
    check_audio_pair(estimate, target)
    estimate = estimate.to(target.dtype)
    return (_crest_factor_db(estimate) - _crest_factor_db(target)).abs().mean(-1)


@half_as_float32("target")
def rms_energy_error(estimate: Tensor, target: Tensor) -> Tensor:
    """Absolute difference of RMS levels, in dB, averaged over channels.

    The RMS level of a channel is ``20·log10 sqrt(mean x²)`` over the whole signal (one number
    per channel, no frames); the metric is ``mean_c |L_c(ŷ) − L_c(y)|`` (6.02 dB for an
    estimate at half the target's amplitude).

    Units: decibels with ``log10``; DeepAFx-ST's ``rms_energy`` and the Audio-MAE report's
    code use ``20·ln(RMS)``, ``ln 10 ≈ 2.303`` times larger.

    Args:
        estimate: ``ŷ``, audio ``(batch, channels, samples)``.
        target: ``y``, audio of the same shape.

    Returns:
        ``(batch,)``, ``>= 0`` dB, in the dtype of ``target``. The mean squares are floored at
        :data:`MEAN_SQUARE_FLOOR` (silence is −160 dB, so a silent estimate of a full-scale
        target gives about 160 dB, finite); differentiable.
    """
    check_audio_pair(estimate, target)
    estimate = estimate.to(target.dtype)
    levels = [_level_db(x.square().mean(-1)) for x in (estimate, target)]
    return (levels[0] - levels[1]).abs().mean(-1)


@half_as_float32("target")
def spectral_centroid_error(estimate: Tensor, target: Tensor, sample_rate: float,
                            n_fft: int = 2048, hop: int = 512) -> Tensor:
    """Absolute difference of the mean spectral centroids, in Hz, averaged over channels.

    Each channel's STFT (periodic Hann window of ``n_fft`` samples, hop ``hop``, centred
    frames with reflect padding) gives one centroid per frame,
    ``Σ_k f_k |X_k| / Σ_k |X_k|`` with ``f_k = k · sample_rate / n_fft``; the centroids are
    averaged over frames and the metric is ``mean_c |C_c(ŷ) − C_c(y)|``. A pure tone at a bin
    frequency has its frequency as centroid (up to the edge frames' reflect padding).

    This is DeepAFx-ST's ``SpectralCentroidError`` (Steinmetz, Bryan & Reiss, 2022: torchaudio's
    ``SpectralCentroid`` with ``n_fft=2048, hop_length=512``, the frame centroids averaged).
    The Audio-MAE report's code instead takes one centroid of the whole signal's spectrum, as
    a fraction of Nyquist and pooled over the batch: its SCE values (about 0.001) are on that
    scale and not comparable with these.

    Args:
        estimate: ``ŷ``, audio ``(batch, channels, samples)``.
        target: ``y``, audio of the same shape, more than ``n_fft // 2`` samples.
        sample_rate: in Hz, ``> 0``.
        n_fft: FFT size and window length, an integer ``>= 2``.
        hop: hop between frames, an integer ``>= 1``.

    Returns:
        ``(batch,)``, ``>= 0`` Hz, in the dtype of ``target``. The magnitude sum of each frame
        is floored at the dtype's eps, so a silent frame has centroid 0 Hz; differentiable.
    """
    check_audio_pair(estimate, target)
    sample_rate = check_sample_rate(sample_rate)
    n_fft, hop = _check_frames(target, n_fft, hop)
    estimate = estimate.to(target.dtype)
    centroids = [_mean_centroid_hz(x, sample_rate, n_fft, hop) for x in (estimate, target)]
    return (centroids[0] - centroids[1]).abs().mean(-1)


@half_as_float32("target")
def spectrogram_mse(estimate: Tensor, target: Tensor, n_fft: int = 254,
                    hop: int = 127) -> Tensor:
    """Mean squared error between log-power spectrograms of each item.

    With ``P = |STFT(x)|²`` (periodic Hann window of ``n_fft`` samples, hop ``hop``, centred
    frames with reflect padding, no scaling), the metric is
    ``mean (ln(P̂ + 1e-7) − ln(P + 1e-7))²`` over the item's channels, bins and frames. A gain
    ``g`` on the estimate adds ``ln g²`` to every well-above-floor bin: ``2·target`` gives
    about ``(ln 4)² = 1.92``.

    The defaults are the spectrogram of the Audio-MAE effect model (Kazakov, 2024,
    ``seeds/effect_creation_cafx_audiomae.txt``; its code's torchaudio ``Spectrogram(n_fft=254)``
    and ``log(spec + 1e-7)``), where this MSE is both the training loss and the "MSE" of its
    table 5.2 (that code also crops or pads the spectrogram to 1024 frames; this does not).

    Args:
        estimate: ``ŷ``, audio ``(batch, channels, samples)``.
        target: ``y``, audio of the same shape, more than ``n_fft // 2`` samples.
        n_fft: FFT size and window length, an integer ``>= 2``.
        hop: hop between frames, an integer ``>= 1``.

    Returns:
        ``(batch,)``, ``>= 0``, in the dtype of ``target``; 0 for identical signals, finite for
        silence (the :data:`SPECTROGRAM_FLOOR`), differentiable.
    """
    check_audio_pair(estimate, target)
    n_fft, hop = _check_frames(target, n_fft, hop)
    estimate = estimate.to(target.dtype)
    logs = [torch.log(torch.view_as_real(_stft(x, n_fft, hop)).square().sum(-1)
                      + SPECTROGRAM_FLOOR) for x in (estimate, target)]
    return (logs[0] - logs[1]).square().mean((1, 2, 3))


__all__ = ["MEAN_SQUARE_FLOOR", "SPECTROGRAM_FLOOR", "crest_factor_error",
           "energy_normalised_mae", "rms_energy_error", "spectral_centroid_error",
           "spectrogram_mse"]
