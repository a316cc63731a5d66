"""Per-item distances between an estimate and its target: multi-resolution STFT and ESR.

* :func:`mrstft_distance` — the multi-resolution STFT distance (spectral convergence plus
  log-magnitude L1, averaged over resolutions): what auraloss ``MultiResolutionSTFTLoss``
  computes for one item, for every item of a batch at once.
* :func:`esr` — the error-to-signal ratio ``Σ(y − ŷ)² / Σy²`` of Wright et al. (the
  amp-modelling loss), optionally after the pre-emphasis filter ``1 − c·z⁻¹``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .._checks import check_audio_pair, check_in_interval, check_int, half_as_float32

#: The MR-STFT resolutions of the BE-AFX evaluation (hops a quarter of each size).
MRSTFT_FFT_SIZES = (256, 1024, 4096)
#: Floor of the squared STFT magnitude (auraloss's ``eps``): silence stays finite in the log.
POWER_FLOOR = 1e-8


def _check_fft_sizes(fft_sizes: object) -> tuple[int, ...]:
    if isinstance(fft_sizes, (str, bytes)) or not hasattr(fft_sizes, "__iter__"):
        raise ValueError(f"fft_sizes must be a sequence of integers >= 4, got {fft_sizes!r}")
    sizes = tuple(check_int(n, "fft_sizes", low=4) for n in fft_sizes)
    if not sizes:
        raise ValueError("fft_sizes must hold at least one FFT size, got an empty sequence")
    return sizes


def _magnitude(x: Tensor, n_fft: int) -> Tensor:
    """``sqrt(max(|STFT|², POWER_FLOOR))`` of ``x`` ``(signals, samples)``: centred frames
    (reflect padding) every ``n_fft // 4`` samples, periodic Hann window of ``n_fft`` samples;
    ``(signals, n_fft // 2 + 1, frames)``."""
    window = torch.hann_window(n_fft, dtype=x.dtype, device=x.device)
    spectrum = torch.stft(x, n_fft, hop_length=n_fft // 4, win_length=n_fft, window=window,
                          center=True, pad_mode="reflect", return_complex=True)
    power = torch.view_as_real(spectrum).square().sum(-1)  # smooth at 0, unlike abs
    return power.clamp_min(POWER_FLOOR).sqrt()


@half_as_float32("target")
def mrstft_distance(estimate: Tensor, target: Tensor,
                    fft_sizes: tuple[int, ...] = MRSTFT_FFT_SIZES) -> Tensor:
    """Multi-resolution STFT distance of each item (Yamamoto et al., 2019; auraloss defaults).

    At each resolution ``n`` (Hann window of ``n`` samples, hop ``n // 4``, centred frames with
    reflect padding) the magnitudes ``|Ŷ|``, ``|Y|`` (floored at ``sqrt(1e-8)``) of all channels
    of an item give

    * spectral convergence ``‖|Y| − |Ŷ|‖_F / ‖|Y|‖_F``,
    * log-magnitude L1 ``mean |ln|Y| − ln|Ŷ||`` (over channels, bins and frames);

    the distance is their sum, averaged over the resolutions. For a batch of one item this is
    ``auraloss.freq.MultiResolutionSTFTLoss(fft_sizes, [n // 4 ...], fft_sizes)`` exactly; for
    a batch, auraloss would pool all items into one number, this returns one per item. No level
    normalisation: a gain on the estimate changes the distance.

    Args:
        estimate: audio ``(batch, channels, samples)``.
        target: audio of the same shape, more than ``max(fft_sizes) // 2`` samples (the reflect
            padding).
        fft_sizes: FFT sizes (integers ``>= 4``), default 256 / 1024 / 4096.

    Returns:
        ``(batch,)``, ``>= 0``, in the dtype of ``target``; 0 for identical signals, finite for
        silence (the magnitude floor), differentiable w.r.t. both inputs.
    """
    check_audio_pair(estimate, target)
    sizes = _check_fft_sizes(fft_sizes)
    if target.shape[-1] <= max(sizes) // 2:
        raise ValueError(f"target must hold more than {max(sizes) // 2} samples (half the "
                         f"largest FFT size, for the reflect padding), got {target.shape[-1]}")
    batch, samples = target.shape[0], target.shape[-1]
    estimate = estimate.to(target.dtype)
    total = target.new_zeros(batch)
    for n_fft in sizes:
        est_mag = _magnitude(estimate.reshape(-1, samples), n_fft).reshape(batch, -1)
        tgt_mag = _magnitude(target.reshape(-1, samples), n_fft).reshape(batch, -1)
        convergence = (tgt_mag - est_mag).norm(dim=1) / tgt_mag.norm(dim=1)
        log_l1 = (tgt_mag.log() - est_mag.log()).abs().mean(dim=1)
        total = total + convergence + log_l1
    return total / len(sizes)


@half_as_float32("target")
def esr(estimate: Tensor, target: Tensor, pre_emphasis: float | None = None) -> Tensor:
    """Error-to-signal ratio ``Σ(y − ŷ)² / Σy²`` of each item (Wright et al., 2019/2020).

    The sums run over the item's channels and samples. With ``pre_emphasis = c`` both signals
    first pass the first-order FIR ``1 − c·z⁻¹`` (``y[n] − c·y[n − 1]``, starting from rest:
    ``y[−1] = 0``, as ``scipy.signal.lfilter([1, −c], 1, y)``), which weights the error towards
    high frequencies; ``c = 0.85`` is the amp-modelling papers' choice.

    Args:
        estimate: ``ŷ``, audio ``(batch, channels, samples)``.
        target: ``y``, audio of the same shape.
        pre_emphasis: ``c`` in ``[0, 1]``, or ``None`` for no filter.

    Returns:
        ``(batch,)``, ``>= 0`` (0 for a perfect estimate, 1 for a silent one), in the dtype of
        ``target``. The target energy is floored at the dtype's eps, so a silent target gives
        0 for a silent estimate and a large finite value otherwise; differentiable.
    """
    check_audio_pair(estimate, target)
    estimate = estimate.to(target.dtype)
    if pre_emphasis is not None:
        c = check_in_interval(pre_emphasis, "pre_emphasis", 0.0, 1.0)
        estimate = torch.cat([estimate[..., :1], estimate[..., 1:] - c * estimate[..., :-1]], -1)
        target = torch.cat([target[..., :1], target[..., 1:] - c * target[..., :-1]], -1)
    error = (target - estimate).square().sum(dim=(1, 2))
    energy = target.square().sum(dim=(1, 2))
    return error / (energy + torch.finfo(target.dtype).eps)


__all__ = ["MRSTFT_FFT_SIZES", "POWER_FLOOR", "esr", "mrstft_distance"]
