"""The losses and metrics of blind estimation, on level-normalised signals.

Every comparison first removes each item's mean and divides by its RMS
(:func:`normalize_rms`), as the BE-AFX reference does: the losses are then invariant to the
output level, so a makeup gain or a clipper's drive compensation is unobservable by design.

* :func:`mel_loss` — the proposed training loss: auraloss ``MelSTFTLoss`` with FFT 4096, hop
  1024, 128 mel bands and no spectral-convergence term, i.e. the mean
  ``|ln Mel(ŷ) − ln Mel(y)|``.
* :func:`mrstft_loss` — auraloss ``MultiResolutionSTFTLoss`` with FFT sizes 256 / 1024 / 4096
  (hops a quarter of that), spectral convergence plus log magnitude, averaged over resolutions.
* :func:`mse_y` — waveform MSE.
* :func:`mse_q` — MSE of normalised controls (the ``params`` loss is ``10·mse_q``).
"""

from __future__ import annotations

from functools import lru_cache

import auraloss
import torch
from torch import Tensor, nn

from .._checks import check_audio, check_sample_rate

#: Mel loss settings of the reference (fft, hop, mel bands).
MEL_FFT, MEL_HOP, MEL_BANDS = 4096, 1024, 128
#: MR-STFT resolutions of the reference's evaluation.
MRSTFT_FFTS = (256, 1024, 4096)
#: Floor of the RMS in :func:`normalize_rms` (silence is not amplified beyond 1e8).
RMS_FLOOR = 1e-8


def normalize_rms(x: Tensor, floor: float = RMS_FLOOR) -> Tensor:
    """Remove each item's mean and divide by its RMS over channels and time.

    Args:
        x: audio ``(batch, channels, samples)``.
        floor: RMS below which an item is divided by ``floor`` instead (silence stays finite
            and keeps a finite gradient).

    Returns:
        Audio of the same shape with zero mean and unit RMS per item (above the floor).
    """
    centred = x - x.mean(dim=(1, 2), keepdim=True)
    rms = centred.square().mean(dim=(1, 2), keepdim=True).add(floor * floor).sqrt()
    return centred / rms


def _check_pair(y_hat: Tensor, y: Tensor, min_samples: int = 1) -> None:
    check_audio(y_hat, "y_hat")
    check_audio(y, "y")
    if y_hat.shape != y.shape:
        raise ValueError(f"y_hat and y must have the same shape, got {tuple(y_hat.shape)} and "
                         f"{tuple(y.shape)}")
    if y.shape[-1] < min_samples:
        raise ValueError(f"y has {y.shape[-1]} samples; this loss needs more than "
                         f"{min_samples - 1} (half its largest FFT)")


def _in_dtype(module: nn.Module, dtype: torch.dtype) -> nn.Module:
    """``module`` with its STFT windows and filterbanks in ``dtype`` (auraloss keeps its window
    as a plain attribute, which ``.to(dtype)`` would miss); auraloss moves them to the input's
    device itself."""
    for sub in module.modules():
        for name in ("window", "fb"):
            value = getattr(sub, name, None)
            if isinstance(value, Tensor):
                setattr(sub, name, value.to(dtype))
    return module


@lru_cache(maxsize=8)
def _mel_module(sample_rate: float, dtype: torch.dtype) -> nn.Module:
    return _in_dtype(auraloss.freq.MelSTFTLoss(sample_rate, fft_size=MEL_FFT, hop_size=MEL_HOP,
                                               win_length=MEL_FFT, n_mels=MEL_BANDS, w_sc=0.0),
                     dtype)


@lru_cache(maxsize=4)
def _mrstft_module(dtype: torch.dtype) -> nn.Module:
    return _in_dtype(auraloss.freq.MultiResolutionSTFTLoss(
        fft_sizes=list(MRSTFT_FFTS), hop_sizes=[n // 4 for n in MRSTFT_FFTS],
        win_lengths=list(MRSTFT_FFTS)), dtype)


def mel_loss(y_hat: Tensor, y: Tensor, sample_rate: float = 44100.0) -> Tensor:
    """Mel-spectrogram loss of the BE-AFX paper on RMS-normalised signals (a scalar).

    Args:
        y_hat: estimate ``(batch, channels, samples)``.
        y: target of the same shape; more than 2048 samples (half the FFT size).
        sample_rate: sample rate in Hz (places the mel bands).

    Returns:
        The mean absolute difference of the log mel magnitudes, averaged over the batch.
    """
    _check_pair(y_hat, y, MEL_FFT // 2 + 1)
    module = _mel_module(check_sample_rate(sample_rate), y.dtype)
    return module(normalize_rms(y_hat.to(y.dtype)), normalize_rms(y))


def mel_loss_per_item(y_hat: Tensor, y: Tensor, sample_rate: float = 44100.0) -> Tensor:
    """:func:`mel_loss` of each item on its own, ``(batch,)``."""
    return torch.stack([mel_loss(y_hat[i:i + 1], y[i:i + 1], sample_rate)
                        for i in range(y.shape[0])])


def mrstft_loss(y_hat: Tensor, y: Tensor) -> Tensor:
    """Multi-resolution STFT loss (FFT 256 / 1024 / 4096) on RMS-normalised signals."""
    _check_pair(y_hat, y, max(MRSTFT_FFTS) // 2 + 1)
    return _mrstft_module(y.dtype)(normalize_rms(y_hat.to(y.dtype)), normalize_rms(y))


def mse_y(y_hat: Tensor, y: Tensor) -> Tensor:
    """Waveform MSE of the RMS-normalised signals."""
    _check_pair(y_hat, y)
    return torch.mean((normalize_rms(y_hat) - normalize_rms(y)) ** 2)


def mse_q(q_hat: Tensor, q: Tensor) -> Tensor:
    """MSE of normalised controls ``(batch, num_params)`` (log-scaled ones in log space)."""
    if q_hat.shape != q.shape:
        raise ValueError(f"q_hat and q must have the same shape, got {tuple(q_hat.shape)} and "
                         f"{tuple(q.shape)}")
    return torch.mean((q_hat - q) ** 2)


__all__ = ["MEL_BANDS", "MEL_FFT", "MEL_HOP", "MRSTFT_FFTS", "mel_loss", "mel_loss_per_item",
           "mrstft_loss", "mse_q", "mse_y", "normalize_rms"]
