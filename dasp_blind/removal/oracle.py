"""Magnitude masking with the input phase, and its oracle: the ideal ratio mask.

A magnitude-masking model (such as :class:`~dasp_blind.removal.openunmix.OpenUnmix`) sees the
short-time Fourier transform ``Y`` of the distorted signal, predicts a non-negative real mask
``M`` and returns ``istft(M · Y)``: the estimate keeps ``Y``'s phase. Given the clean signal's
transform ``C``, the **ideal ratio mask** (also called the ideal amplitude mask)

    ``M = clip(|C| / max(|Y|, eps), 0, mask_max)``

gives the estimate whose magnitudes are the clean ones wherever the clip does not act,
``|M · Y| = |C|``; it is the best that a model trained on a magnitude loss (Open-Unmix's MSE on
magnitudes) can reach with the input phase, and so the upper bound to compare such models with.
It needs the clean target, so it is an evaluation tool, not a restoration method. (Judged by
the SDR of the signal instead of a magnitude loss, the real mask that minimises
``|C − M·Y|`` per bin is the phase-sensitive mask ``|C|/|Y| · cos(∠C − ∠Y)``; it does better
where the distortion moved the phase.)

``mask_max`` chooses how far the mask may amplify: ``None`` (the default) leaves it unbounded,
which matches Open-Unmix, whose mask (a ReLU output) is unbounded too, and lets the oracle
restore the energy that clipping takes from the fundamentals (there ``|C| > |Y|``);
``mask_max=1`` is the classic ideal ratio mask of speech enhancement, which can only attenuate,
and so cannot undo that loss. Where ``|Y| < eps`` (``eps`` = the dtype's machine epsilon) the
mask ``|C|/eps`` is applied to a bin smaller than ``eps``, so the estimate's magnitude there is
``|C|·|Y|/eps ≤ |C|``: an unbounded mask cannot blow up.

STFT conventions shared with the models of this package (:func:`stft`, :func:`istft`): periodic
Hann window of ``n_fft`` samples, hop ``hop``, frames centred on samples ``0, hop, 2·hop, …,
ceil(samples / hop)·hop``: the signal is padded with zeros, ``n_fft // 2`` at the start and
``n_fft // 2`` plus up to a whole number of hops at the end (``scipy.signal.stft``'s
``boundary="zeros", padded=True``), so any length ``>= 1`` works, shorter than ``n_fft``
included, and the last sample lies between two frame centres like every other. One-sided
spectrum of ``n_fft // 2 + 1`` bins and ``1 + ceil(samples / hop)`` frames, no normalisation.
The inverse is the least-squares overlap-add (weighted by the window, divided by the sum of the
squared windows), cut to the input's length; ``istft(stft(x)) = x`` to rounding. With
``hop <= n_fft // 2`` the sum of the squared windows is at least 1/2 at every sample kept
(``cos⁴ a + sin⁴ a >= 1/2`` at ``hop = n_fft // 2``), so a mask's changes are never amplified
by the division.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .._checks import check_audio, check_int, check_positive, half_as_float32

#: Default FFT size: 64 ms at 16 kHz, 15.6 Hz per bin (see :mod:`~dasp_blind.removal.openunmix`).
N_FFT = 1024
#: Default hop: 16 ms at 16 kHz, 75 % overlap.
HOP = 256


def check_stft_sizes(n_fft: object, hop: object) -> tuple[int, int]:
    """Check an FFT size (an integer ``>= 2``) and a hop (an integer in ``[1, n_fft // 2]``);
    return them as ints."""
    n_fft = check_int(n_fft, "n_fft", low=2)
    return n_fft, check_int(hop, "hop", low=1, high=n_fft // 2)


def stft(x: Tensor, n_fft: int, hop: int) -> Tensor:
    """Short-time Fourier transform with the conventions of the module docstring (unchecked).

    Args:
        x: real audio ``(batch, channels, samples)``, float32 or float64.
        n_fft: FFT size (and Hann window length).
        hop: hop between frames, in samples.

    Returns:
        complex ``(batch, channels, n_fft // 2 + 1, 1 + ceil(samples / hop))``.
    """
    batch, channels, length = x.shape
    window = torch.hann_window(n_fft, periodic=True, dtype=x.dtype, device=x.device)
    padded = F.pad(x.reshape(batch * channels, length), (0, -length % hop))  # whole hops
    spectrum = torch.stft(padded, n_fft, hop, window=window, center=True, pad_mode="constant",
                          return_complex=True)
    # (batch·channels, bins, frames) -> (batch, channels, bins, frames)
    return spectrum.reshape(batch, channels, *spectrum.shape[-2:])


def istft(spectrum: Tensor, n_fft: int, hop: int, length: int) -> Tensor:
    """Inverse of :func:`stft`: windowed overlap-add divided by the summed squared windows.

    Args:
        spectrum: complex ``(batch, channels, n_fft // 2 + 1, frames)``.
        n_fft: FFT size used by :func:`stft`.
        hop: hop used by :func:`stft`.
        length: samples of the signal to return (the length :func:`stft` was given).

    Returns:
        real ``(batch, channels, length)``.
    """
    batch, channels = spectrum.shape[:2]
    window = torch.hann_window(n_fft, periodic=True, dtype=spectrum.real.dtype,
                               device=spectrum.device)
    y = torch.istft(spectrum.reshape(batch * channels, *spectrum.shape[-2:]), n_fft, hop,
                    window=window, center=True, length=length)
    return y.reshape(batch, channels, length)


def _check_pair(degraded: Tensor, clean: Tensor) -> None:
    check_audio(degraded, "degraded")
    check_audio(clean, "clean")
    if clean.shape != degraded.shape or clean.dtype != degraded.dtype:
        raise ValueError(f"clean must have the shape and dtype of degraded "
                         f"{tuple(degraded.shape)}, {degraded.dtype}; got {tuple(clean.shape)}, "
                         f"{clean.dtype}")


def _check_mask_max(mask_max: float | None) -> float | None:
    return None if mask_max is None else check_positive(mask_max, "mask_max")


def _mask(degraded_spectrum: Tensor, clean_spectrum: Tensor, mask_max: float | None) -> Tensor:
    magnitude = degraded_spectrum.abs()
    eps = torch.finfo(magnitude.dtype).eps
    mask = clean_spectrum.abs() / magnitude.clamp_min(eps)
    return mask if mask_max is None else mask.clamp_max(mask_max)


@half_as_float32("degraded")
def ideal_ratio_mask(degraded: Tensor, clean: Tensor, n_fft: int = N_FFT, hop: int = HOP,
                     mask_max: float | None = None) -> Tensor:
    """The ideal ratio mask ``clip(|C| / max(|Y|, eps), 0, mask_max)`` (module docstring).

    Args:
        degraded: the distorted audio ``y``, ``(batch, channels, samples)``.
        clean: the clean target ``c``, the same shape and dtype.
        n_fft: FFT size, an integer ``>= 2``.
        hop: hop between frames, an integer in ``[1, n_fft // 2]``.
        mask_max: largest mask value, a positive number; ``None`` for no bound (the default),
            ``1.0`` for the classic mask that only attenuates.

    Returns:
        the mask, real and non-negative, ``(batch, channels, n_fft // 2 + 1,
        1 + ceil(samples / hop))``.
    """
    _check_pair(degraded, clean)
    n_fft, hop = check_stft_sizes(n_fft, hop)
    mask_max = _check_mask_max(mask_max)
    return _mask(stft(degraded, n_fft, hop), stft(clean, n_fft, hop), mask_max)


@half_as_float32("degraded")
def oracle_estimate(degraded: Tensor, clean: Tensor, n_fft: int = N_FFT, hop: int = HOP,
                    mask_max: float | None = None) -> Tensor:
    """The oracle estimate ``istft(M · Y)``: the ideal ratio mask ``M`` applied to the distorted
    signal's transform ``Y``, keeping its phase.

    Args:
        degraded: the distorted audio ``y``, ``(batch, channels, samples)``.
        clean: the clean target ``c``, the same shape and dtype.
        n_fft: FFT size, an integer ``>= 2``.
        hop: hop between frames, an integer in ``[1, n_fft // 2]``.
        mask_max: largest mask value (see :func:`ideal_ratio_mask`); ``None`` for no bound.

    Returns:
        the estimate, ``(batch, channels, samples)``; ``degraded`` itself (to rounding) when
        ``clean`` equals it.
    """
    _check_pair(degraded, clean)
    n_fft, hop = check_stft_sizes(n_fft, hop)
    mask_max = _check_mask_max(mask_max)
    spectrum = stft(degraded, n_fft, hop)
    mask = _mask(spectrum, stft(clean, n_fft, hop), mask_max)
    return istft(mask * spectrum, n_fft, hop, degraded.shape[-1])


class IdealRatioMask(nn.Module):
    """The oracle of magnitude masking as a module: ``forward(degraded, clean)`` returns
    :func:`oracle_estimate`. It has no parameters; it needs the clean target, so it is an upper
    bound to evaluate masking models against, not a model.

    Args:
        n_fft: FFT size, an integer ``>= 2``.
        hop: hop between frames, an integer in ``[1, n_fft // 2]``.
        mask_max: largest mask value, a positive number, or ``None`` for no bound.

    Shape:
        ``degraded`` and ``clean`` ``(batch, channels, samples)``, any ``samples >= 1``; output
        the same.
    """

    def __init__(self, n_fft: int = N_FFT, hop: int = HOP, mask_max: float | None = None) -> None:
        super().__init__()
        self.n_fft, self.hop = check_stft_sizes(n_fft, hop)
        self.mask_max = _check_mask_max(mask_max)

    def forward(self, degraded: Tensor, clean: Tensor) -> Tensor:
        """The oracle estimate of ``clean`` from ``degraded`` (both ``(batch, channels,
        samples)``)."""
        return oracle_estimate(degraded, clean, self.n_fft, self.hop, self.mask_max)
