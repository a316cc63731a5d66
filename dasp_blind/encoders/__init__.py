"""Encoders for blind effect estimation: wet audio ``(batch, channels, samples)`` ->
embedding ``(batch, out_dim)``.

* :class:`MEE` (``"mee"``): residual 1-D convolutions on the waveform, 2048-d, 81.4 M parameters;
* :class:`TE` (``"te"``): parallel 2-D convolutions over the log-CQT, 66-d;
* :class:`TFE` (``"tfe"``): a time and a frequency branch over the log-CQT, 128-d, 453,700
  parameters.

Each peak-normalises its input; :class:`~dasp_blind.nn.MLPHead` maps an embedding to the
normalised controls of an effect.
"""

from __future__ import annotations

from .._checks import check_choice
from ..nn.mlp import MLPHead
from .base import PEAK_FLOOR, Encoder, peak_normalize
from .cqt import LogCQT
from .mee import MEE
from .te import TE
from .tfe import TFE

#: The names :func:`build` knows.
ENCODERS: dict[str, type[Encoder]] = {"mee": MEE, "te": TE, "tfe": TFE}


def build(name: str, sample_rate: float = 44100.0, **kwargs) -> Encoder:
    """Build the encoder ``name`` (``"mee"``, ``"te"`` or ``"tfe"``) for audio at
    ``sample_rate`` Hz; ``kwargs`` go to its class (e.g. ``variant="koo"`` for MEE,
    ``reproduce_channel_overwrite_bug=True`` for TE).

    Raises:
        ValueError: for an unknown ``name``.
    """
    return ENCODERS[check_choice(name, "name", tuple(ENCODERS))](sample_rate=sample_rate,
                                                                 **kwargs)


__all__ = ["ENCODERS", "MEE", "MLPHead", "PEAK_FLOOR", "TE", "TFE", "Encoder", "LogCQT", "build",
           "peak_normalize"]
