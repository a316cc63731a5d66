"""``Estimator``: encoder + MLP head + the analysis effect, and inference on audio of any length.

The plain ``nn.Module`` behind :class:`~dasp_blind.estimation.BlindEstimator` (which trains it)
and behind the shipped estimators (``dasp_blind.pretrained.load("..._estimator")`` returns one;
no Lightning needed to use it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

from .._checks import check_audio, check_positive, check_sample_rate
from ..effects.base import Effect
from ..effects.catalog import EffectSpec, from_spec

#: What ``encoder`` accepts: a name of :func:`dasp_blind.encoders.build` or
#: ``{"name": ..., **kwargs}``.
EncoderSpec = str | Mapping[str, Any]
#: Hidden layer sizes of the reference's MLP head.
HEAD_HIDDEN = (2048, 1024, 512)
#: Windows quieter than this fraction of the loudest window's energy (−60 dB) get no weight
#: when the estimates of a long input are combined.
SILENT_WINDOW_ENERGY = 1e-6
#: Windows the encoder sees at once when a long input is analysed (bounds the memory).
WINDOWS_PER_PASS = 16


def build_encoder(spec: EncoderSpec | nn.Module, sample_rate: float) -> nn.Module:
    """The encoder described by ``spec`` (``"tfe"`` or ``{"name": "tfe", ...}``), or ``spec``
    itself when it is a module (which must have an integer ``out_dim``)."""
    from ..encoders import build

    if isinstance(spec, nn.Module):
        if not isinstance(getattr(spec, "out_dim", None), int):
            raise ValueError(f"encoder {type(spec).__name__} must have an integer out_dim "
                             f"(the size of its embedding)")
        return spec
    if isinstance(spec, str):
        return build(spec, sample_rate=sample_rate)
    if isinstance(spec, Mapping) and "name" in spec:
        kwargs = {k: v for k, v in spec.items() if k != "name"}
        return build(spec["name"], sample_rate=sample_rate, **kwargs)
    raise ValueError(f"encoder must be an encoder name or a {{'name': ...}} mapping, got "
                     f"{spec!r}")


class Estimator(nn.Module):
    """Estimates an effect's normalised controls from wet audio alone.

    ``forward(wet)`` runs the encoder and the MLP head on one window, ``(B, C, T) -> (B, P)``
    in ``[0, 1]``; :meth:`estimate_q` and :meth:`estimate` take audio of any length and
    combine the estimates of its windows (see :meth:`estimate_q`); :attr:`analysis` renders
    audio with the estimate.

    Args:
        analysis: the effect whose controls are estimated, as a spec of
            :func:`dasp_blind.effects.catalog.from_spec` (``"parametric_clipper"``, or a chain
            ``{"eq": "parametric_eq", "comp": "compressor", "dist": "parametric_clipper"}``),
            or an :class:`~dasp_blind.effects.Effect`.
        encoder: ``"mee"``, ``"te"``, ``"tfe"`` or ``{"name": ..., **kwargs}``
            (:func:`dasp_blind.encoders.build`), or any module mapping ``(B, C, T)`` audio to
            ``(B, out_dim)`` with an ``out_dim`` attribute.

    Shipped weights (:mod:`dasp_blind.pretrained`) need ``analysis`` and ``encoder`` as specs
    (plain data the sidecar records).
        sample_rate: sample rate of the audio in Hz.
        hidden: hidden layer sizes of the MLP head (reference: 2048, 1024, 512).
        window_s: length in seconds of the windows long inputs are analysed in (the length of
            the training clips).
    """

    def __init__(self, analysis: EffectSpec | Effect, encoder: EncoderSpec | nn.Module = "tfe",
                 sample_rate: float = 44100.0, hidden: Sequence[int] = HEAD_HIDDEN,
                 window_s: float = 10.0):
        super().__init__()
        from ..nn import MLPHead

        self.sample_rate = check_sample_rate(sample_rate)
        self.window_s = check_positive(window_s, "window_s")
        self.analysis: Effect = (analysis if isinstance(analysis, Effect)
                                 else from_spec(analysis, self.sample_rate))
        self.encoder = build_encoder(encoder, self.sample_rate)
        self.head = MLPHead(self.encoder.out_dim, self.analysis.num_params, tuple(hidden))

    @property
    def param_names(self) -> list[str]:
        """Names of the estimated controls, in column order."""
        return list(self.analysis.param_space.names)

    def forward(self, wet: Tensor) -> Tensor:
        """Normalised controls ``(B, P)`` of one window of wet audio ``(B, C, T)``."""
        return self.head(self.encoder(wet))

    def estimate_q(self, wet: Tensor, window_s: float | None = None) -> Tensor:
        """Normalised controls ``(B, P)`` of wet audio ``(B, C, T)`` of any length.

        Runs in eval mode (restored afterwards) and without gradients. An input shorter than
        the encoder can read (its ``min_length``, e.g. 1.82 s for TFE) is repeated up to that
        length; one no longer than ``window_s`` is analysed whole. A longer one is cut into
        windows of ``window_s`` seconds with half a window of hop (the last one ends at the
        last sample); the windows' estimates are averaged in the normalised space, each
        weighted by the window's energy, so quiet passages count less and windows 60 dB below
        the loudest do not count at all.

        Args:
            wet: audio ``(batch, channels, samples)`` at :attr:`sample_rate`.
            window_s: window length in seconds; default :attr:`window_s`.
        """
        check_audio(wet, "wet")
        length = round(check_positive(window_s or self.window_s, "window_s") * self.sample_rate)
        minimum = getattr(self.encoder, "min_length", 1)
        length = max(length, minimum)
        if wet.shape[-1] < minimum:  # shorter than the encoder can read: repeat it
            wet = wet.repeat(1, 1, -(-minimum // wet.shape[-1]))[..., :minimum]
        with _inference(self):
            if wet.shape[-1] <= length:
                return self(wet)
            starts = window_starts(wet.shape[-1], length)
            windows = torch.stack([wet[..., s:s + length] for s in starts], dim=1)
            batch, count = windows.shape[:2]
            flat = windows.flatten(0, 1)
            q = torch.cat([self(flat[i:i + WINDOWS_PER_PASS])
                           for i in range(0, len(flat), WINDOWS_PER_PASS)]).unflatten(
                0, (batch, count))
            energy = windows.square().mean(dim=(2, 3))
            weight = torch.where(energy >= SILENT_WINDOW_ENERGY * energy.amax(1, keepdim=True),
                                 energy, torch.zeros_like(energy))
            weight = weight / weight.sum(1, keepdim=True).clamp_min(torch.finfo(wet.dtype).tiny)
            uniform = torch.full_like(weight, 1.0 / count)
            weight = torch.where(energy.amax(1, keepdim=True) > 0, weight, uniform)
            return (weight.unsqueeze(-1) * q).sum(dim=1)

    def estimate(self, wet: Tensor, window_s: float | None = None) -> dict[str, Tensor]:
        """Estimated parameters in physical units, ``name -> (B,)`` (see :meth:`estimate_q`)."""
        return self.analysis.param_space.denormalize(self.estimate_q(wet, window_s))

    def render(self, dry: Tensor, q: Tensor) -> Tensor:
        """``analysis(dry, q)``: dry audio ``(B, C, T)`` through the effect with controls ``q``."""
        return self.analysis(dry, q)


def window_starts(length: int, window: int) -> list[int]:
    """Starts of windows of ``window`` samples, hop ``window // 2``, the last ending at
    ``length``."""
    hop = max(1, window // 2)
    starts = list(range(0, length - window + 1, hop))
    if starts[-1] != length - window:
        starts.append(length - window)
    return starts


@contextmanager
def _inference(module: nn.Module):
    """Eval mode and no gradients inside; the module's mode restored afterwards."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        module.train(was_training)


__all__ = ["HEAD_HIDDEN", "SILENT_WINDOW_ENERGY", "WINDOWS_PER_PASS", "EncoderSpec", "Estimator",
           "build_encoder", "window_starts"]
