"""Fréchet distance between Gaussians and the Fréchet Audio Distance (FAD) of Kilgour et al.

FAD fits a Gaussian to the embeddings of each of two sets of audio and measures the Fréchet
(2-Wasserstein) distance between the two:

    FAD = ‖μ_r − μ_t‖² + Tr(Σ_r + Σ_t − 2·(Σ_r Σ_t)^½).

The embedding model is the caller's: :func:`frechet_audio_distance` takes any function that maps
audio to ``(frames, dim)`` embeddings. Nothing is downloaded. The published FAD (and the
distortion-removal paper, Imort et al. 2022) embeds 16 kHz mono audio with VGGish (0.96 s frames,
128 dimensions); values from another model or sample rate are not comparable with theirs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor


def _as_float64(value: object, name: str, ndim: int) -> np.ndarray:
    """A finite real float64 array of rank ``ndim`` from a tensor or an array-like."""
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real array or tensor, got "
                         f"{type(value).__name__}") from None
    if array.ndim != ndim:
        raise ValueError(f"{name} must have rank {ndim}, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or Inf values")
    return array


def _psd_sqrt(sigma: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix; eigenvalues that
    rounding made negative count as 0."""
    values, vectors = np.linalg.eigh((sigma + sigma.T) / 2)
    return (vectors * np.sqrt(values.clip(min=0.0))) @ vectors.T


def frechet_distance(mu1: np.ndarray | Tensor, sigma1: np.ndarray | Tensor,
                     mu2: np.ndarray | Tensor, sigma2: np.ndarray | Tensor) -> float:
    """Fréchet distance ``‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2·(Σ1 Σ2)^½)`` of two Gaussians, in float64.

    The trace of the matrix square root is computed without ``scipy.linalg.sqrtm``:
    ``Σ1 Σ2`` is similar to the symmetric ``A = Σ1^½ Σ2 Σ1^½`` (both square roots by ``eigh``),
    so ``Tr((Σ1 Σ2)^½) = Σ sqrt(eig(A))``. This is real by construction (no imaginary parts to
    discard) and needs no offset on the diagonal for singular covariances (fewer frames than
    dimensions): eigenvalues that rounding pushed below 0 count as 0. The result is clipped at 0.

    Args:
        mu1: mean ``(dim,)`` of the first Gaussian.
        sigma1: its covariance ``(dim, dim)``, symmetric positive semi-definite.
        mu2: mean ``(dim,)`` of the second.
        sigma2: its covariance ``(dim, dim)``.

    Returns:
        The distance (a float ``>= 0``; 0 for equal Gaussians, up to rounding).
    """
    mu1, mu2 = _as_float64(mu1, "mu1", 1), _as_float64(mu2, "mu2", 1)
    sigma1, sigma2 = _as_float64(sigma1, "sigma1", 2), _as_float64(sigma2, "sigma2", 2)
    dim = mu1.shape[0]
    for name, shape, expected in (("mu2", mu2.shape, (dim,)), ("sigma1", sigma1.shape, (dim, dim)),
                                  ("sigma2", sigma2.shape, (dim, dim))):
        if shape != expected:
            raise ValueError(f"{name} must have shape {expected} to match mu1, got {shape}")
    root1 = _psd_sqrt(sigma1)
    cross = np.linalg.eigvalsh(root1 @ ((sigma2 + sigma2.T) / 2) @ root1)
    trace_root = np.sqrt(cross.clip(min=0.0)).sum()
    distance = float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2)
                     - 2 * trace_root)
    return max(distance, 0.0)


def embedding_statistics(embeddings: np.ndarray | Tensor,
                         name: str = "embeddings") -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(dim,)`` and unbiased covariance ``(dim, dim)`` of ``(frames, dim)`` embeddings,
    float64 (store them to compare many test sets with one reference set).

    Raises:
        ValueError: fewer than 2 frames (no covariance), or not a finite 2-D array.
    """
    frames = _as_float64(embeddings, name, 2)
    if frames.shape[0] < 2 or frames.shape[1] < 1:
        raise ValueError(f"{name} must hold at least 2 frames of at least 1 dimension (for a "
                         f"covariance), got shape {frames.shape}")
    return frames.mean(axis=0), np.cov(frames, rowvar=False, ddof=1).reshape(
        frames.shape[1], frames.shape[1])


def _embed_all(audio: Tensor | Sequence[Tensor], embed: Callable[[Tensor], Tensor],
               name: str) -> np.ndarray:
    """``embed`` of a tensor, or of every tensor of a sequence, stacked: ``(frames, dim)``."""
    if isinstance(audio, Tensor):
        clips = [audio]
    elif isinstance(audio, Sequence) and audio and all(isinstance(c, Tensor) for c in audio):
        clips = list(audio)
    else:
        raise ValueError(f"{name} must be a tensor or a non-empty sequence of tensors, got "
                         f"{type(audio).__name__}")
    parts = []
    with torch.no_grad():
        for i, clip in enumerate(clips):
            frames = _as_float64(embed(clip), f"embed({name}[{i}])", 2)
            if parts and frames.shape[1] != parts[0].shape[1]:
                raise ValueError(f"embed({name}[{i}]) has dimension {frames.shape[1]}, the "
                                 f"first clip's has {parts[0].shape[1]}")
            parts.append(frames)
    return np.concatenate(parts)


def frechet_audio_distance(reference_audio: Tensor | Sequence[Tensor],
                           test_audio: Tensor | Sequence[Tensor],
                           embed: Callable[[Tensor], Tensor]) -> float:
    """Fréchet Audio Distance between two sets of audio under the caller's embedding model.

    Each set is a tensor or a sequence of tensors (clips, of any shape ``embed`` takes);
    ``embed`` runs once per tensor, under ``torch.no_grad()``, and must return ``(frames, dim)``
    embeddings. The frames of a set are pooled, their mean and covariance (float64,
    :func:`embedding_statistics`) compared by :func:`frechet_distance`.

    For the paper's FAD, ``embed`` is VGGish on 16 kHz mono audio (weights the caller
    provides; this library downloads nothing). Any other model works the same way; its values
    are comparable only with values from the same model.

    Args:
        reference_audio: the reference (e.g. clean) set.
        test_audio: the set to evaluate (e.g. restored audio).
        embed: audio tensor -> ``(frames, dim)`` tensor or array.

    Returns:
        FAD (a float ``>= 0``; lower is closer to the reference).

    Raises:
        ValueError: a set with fewer than 2 frames in all, embeddings that are not 2-D or not
            finite, or different dimensions.
    """
    if not callable(embed):
        raise ValueError(f"embed must be callable (audio -> (frames, dim)), got "
                         f"{type(embed).__name__}")
    reference = _embed_all(reference_audio, embed, "reference_audio")
    test = _embed_all(test_audio, embed, "test_audio")
    if reference.shape[1] != test.shape[1]:
        raise ValueError(f"the embeddings of test_audio have dimension {test.shape[1]}, those "
                         f"of reference_audio {reference.shape[1]}")
    mu_r, sigma_r = embedding_statistics(reference, "embed(reference_audio)")
    mu_t, sigma_t = embedding_statistics(test, "embed(test_audio)")
    return frechet_distance(mu_r, sigma_r, mu_t, sigma_t)


__all__ = ["embedding_statistics", "frechet_audio_distance", "frechet_distance"]
