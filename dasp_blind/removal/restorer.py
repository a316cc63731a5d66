"""A distortion-removal network with its level handling: what training optimises, what
``dasp_blind.pretrained`` ships and what ``dasp-blind remove`` runs.

:class:`Restorer` builds one of the networks of :data:`NETWORKS` by name and makes it
level-independent: each item is divided by its peak before the network and multiplied back
after, so a clip at −20 dBFS and the same clip at 0 dBFS are restored alike (the degradations
the networks learn from saturate near full scale, and the level of the clean signal cannot be
read off a saturated one). :meth:`Restorer.restore` runs long recordings in overlapping chunks
with a progress bar.
"""

from __future__ import annotations

import importlib
from typing import Any

import torch
from torch import Tensor, nn

from .._checks import (
    check_audio,
    check_bool,
    check_choice,
    check_int,
    check_non_negative,
    check_positive,
)

#: The networks a :class:`Restorer` can build: name → ``"module:Class"`` under
#: :mod:`dasp_blind.removal`.
NETWORKS = {"demucs": "demucs:Demucs", "waveunet": "waveunet:WaveUNet",
            "openunmix": "openunmix:OpenUnmix", "crafx": "crafx:CRAFx"}


def build_network(name: str, args: dict[str, Any] | None = None) -> nn.Module:
    """The network ``name`` (a key of :data:`NETWORKS`) built with keyword ``args``."""
    check_choice(name, "network", tuple(NETWORKS))
    module_name, class_name = NETWORKS[name].split(":")
    cls = getattr(importlib.import_module(f"{__package__}.{module_name}"), class_name)
    if args is not None and not isinstance(args, dict):
        raise ValueError(f"network_args must be a dict of keyword arguments, got {args!r}")
    return cls(**(args or {}))


class Restorer(nn.Module):
    """A removal network between per-item peak normalisation and its inverse.

    Args:
        network: a name of :data:`NETWORKS` (``"demucs"``, ``"waveunet"``, ``"openunmix"``,
            ``"crafx"``).
        network_args: keyword arguments of the network's class (its defaults when ``None``).
        sample_rate: the rate in Hz the network works at (16 kHz in the paper).
        normalize: divide each item by its peak before the network, multiply back after.
        residual: the network estimates the correction, added to its input (``x + f(x)``):
            training starts from the identity, which the networks of the paper have to learn
            first (with the SDR loss, a network whose output starts near zero spends its
            first thousand steps getting back to the input level).

    Shape:
        ``(batch, channels, samples)`` in and out, with the network's channels (1 by default).
    """

    def __init__(self, network: str = "demucs", network_args: dict[str, Any] | None = None,
                 sample_rate: int = 16000, normalize: bool = True,
                 residual: bool = False) -> None:
        super().__init__()
        self.network_name = network
        self.network = build_network(network, network_args)
        self.sample_rate = check_int(sample_rate, "sample_rate", low=1)
        self.normalize = check_bool(normalize, "normalize")
        self.residual = check_bool(residual, "residual")

    def _run(self, x: Tensor) -> Tensor:
        """The network on ``x`` (at the network's level), plus ``x`` when :attr:`residual`."""
        y = self.network(x)
        return x + y if self.residual else y

    def _scale(self, x: Tensor) -> Tensor:
        """Per-item divisor ``(batch, 1, 1)``: the peak of ``x`` (1 for silence, or without
        :attr:`normalize`)."""
        peak = x.detach().abs().amax(dim=(1, 2), keepdim=True)
        return torch.where((peak > 0) & self.normalize, peak, torch.ones_like(peak))

    def forward(self, x: Tensor) -> Tensor:
        """The restored signal ``(batch, channels, samples)`` of distorted ``x`` (same shape);
        a silent item comes back silent."""
        check_audio(x)
        scale = self._scale(x)
        return self._run(x / scale) * scale

    @torch.no_grad()
    def restore(self, x: Tensor, chunk_s: float = 30.0, overlap_s: float = 1.0,
                progress: bool = False) -> Tensor:
        """Restore a long recording at :attr:`sample_rate` in chunks.

        The whole recording is peak-normalised once (so every chunk sees the same level), cut
        into chunks of ``chunk_s`` seconds overlapping by ``overlap_s``, each chunk restored by
        the network, and the chunks cross-faded linearly over the overlaps (the fades sum to
        one). Recordings no longer than one chunk are restored in one call.

        Args:
            x: ``(batch, channels, samples)``.
            chunk_s: chunk length in seconds.
            overlap_s: overlap of consecutive chunks in seconds, in ``[0, chunk_s / 2]``.
            progress: show a ``tqdm`` progress bar over the chunks.

        Returns:
            ``(batch, channels, samples)``.
        """
        check_audio(x)
        chunk_s = check_positive(chunk_s, "chunk_s")
        overlap_s = check_non_negative(overlap_s, "overlap_s")
        if overlap_s > chunk_s / 2:
            raise ValueError(f"overlap_s must be at most half of chunk_s={chunk_s:g}, got "
                             f"{overlap_s:g}")
        chunk = max(2, round(chunk_s * self.sample_rate))
        overlap = min(round(overlap_s * self.sample_rate), chunk // 2)
        length = x.shape[-1]
        scale = self._scale(x)
        y = x / scale
        if length <= chunk:
            return self._run(y) * scale
        hop = chunk - overlap
        starts = list(range(0, length - overlap, hop))
        out = torch.zeros_like(y)
        ramp = torch.linspace(0.0, 1.0, overlap + 2, dtype=y.dtype, device=y.device)[1:-1]
        from tqdm.auto import tqdm

        for start in tqdm(starts, disable=not progress, unit="chunk", desc="restoring"):
            stop = min(start + chunk, length)
            piece = self._run(y[..., start:stop])
            weight = torch.ones(stop - start, dtype=y.dtype, device=y.device)
            if start > 0:
                weight[:overlap] = ramp
            if stop < length and overlap:
                weight[-overlap:] = ramp.flip(0)
            out[..., start:stop] += piece * weight
        return out * scale


__all__ = ["NETWORKS", "Restorer", "build_network"]
