"""What every encoder shares: input checks, mono mixing, peak normalisation, initialisation.

An encoder maps audio ``(batch, channels, samples)`` to an embedding ``(batch, out_dim)``. As in
the BE-AFX reference (``encoder_normalization = max_norm``), the input is peak-normalised inside
the encoder, so an embedding does not depend on the level of the audio; the convolutions get
Kaiming-normal weights (fan-in, gain of a ReLU) and zero biases
(:func:`~dasp_blind.nn.init_weights_`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._checks import (
    check_audio,
    check_batchnorm_batch,
    check_min_length,
    check_positive,
    check_sample_rate,
)
from ..nn.init import init_weights_

#: Peak below which :func:`peak_normalize` treats an item as silence and no longer brings it to
#: peak 1: 1e-5, −100 dB below full scale (the level under which the data pipeline redraws a
#: clip, and the floor of the effect chain's normalisation).
PEAK_FLOOR = 1e-5


def peak_normalize(x: Tensor, floor: float = PEAK_FLOOR) -> Tensor:
    """Divide each item by its peak magnitude (over channels and time), without removing DC.

    With ``p = max|x|`` and ``m = max(p, floor)`` per item the output is ``x·p/m²``: ``x/p``
    (peak exactly 1, the reference's ``max_norm``) for any real signal, and for an item quieter
    than ``floor`` a gain ``p/floor²`` that falls to 0 with the signal, so silence gives 0 and a
    zero gradient instead of a division by zero (the effect chain's
    :func:`~dasp_blind.effects.chain.remove_dc_and_peak_normalize` uses the same rule after
    removing DC; the encoders keep DC, which a clipper's offset leaves in the wet signal).

    Args:
        x: audio ``(batch, channels, samples)``.
        floor: peak below which an item counts as silence, ``> 0``.

    Returns:
        ``x`` rescaled per item: same shape, dtype and device.
    """
    check_audio(x)
    return _peak_normalize(x, check_positive(floor, "floor"))


def _peak_normalize(x: Tensor, floor: float = PEAK_FLOOR) -> Tensor:
    """Unchecked core of :func:`peak_normalize`."""
    peak = x.abs().amax(dim=(1, 2), keepdim=True)
    safe = peak.clamp_min(floor)
    return x * (peak / safe) / safe  # peak / safe == 1 exactly above the floor


class Encoder(nn.Module):
    """Base class of the encoders: audio ``(batch, channels, samples)`` -> ``(batch, out_dim)``.

    Subclasses set :attr:`out_dim` and :attr:`min_length`, call :meth:`reset_parameters` at the
    end of their constructor and start their ``forward`` with :meth:`prepare`.

    Args:
        sample_rate: sample rate of the audio in Hz (``> 0``).
        channels: channels the network reads: 1 mixes any input to mono (its mean), 2 takes
            stereo (a mono input is duplicated).
    """

    #: Size of the embedding.
    out_dim: int
    #: Fewest samples an input may hold.
    min_length: int

    def __init__(self, sample_rate: float, channels: int = 1):
        super().__init__()
        self.sample_rate = check_sample_rate(sample_rate)
        self.channels = channels

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Re-initialise every parameter and batch-norm statistic as BE-AFX does (see
        :func:`~dasp_blind.nn.init_weights_`); a seeded ``generator`` makes the weights
        reproducible."""
        init_weights_(self, generator)

    def prepare(self, x: Tensor) -> Tensor:
        """Check ``x`` and return what the network reads: ``(batch, self.channels, samples)``,
        peak-normalised per item, in the dtype of the encoder's parameters.

        Raises:
            ValueError: if ``x`` is not finite float audio ``(batch, channels, samples)``, is
                shorter than :attr:`min_length`, has more than 2 channels for a stereo encoder,
                or holds one item in training mode.
        """
        check_audio(x)
        check_min_length(x, self.min_length, "x", f" for {type(self).__name__}")
        check_batchnorm_batch(self.training, x.shape[0], "x")
        x = x.to(next(self.parameters()).dtype)
        if self.channels == 1:
            x = x.mean(dim=1, keepdim=True)
        elif x.shape[1] == 1:
            x = x.expand(-1, self.channels, -1)
        elif x.shape[1] != self.channels:
            raise ValueError(f"x must have 1 or {self.channels} channels for "
                             f"{type(self).__name__}, got {x.shape[1]}")
        return _peak_normalize(x)
