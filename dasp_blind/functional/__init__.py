"""Pure, batched, differentiable audio operations in physical units.

Audio is ``(batch, channels, samples)``; parameters are floats or ``(batch,)`` tensors.
"""

from .dynamics import compressor, time_constant_to_alpha
from .filters import (
    BIQUAD_KINDS,
    biquad,
    biquads_to_sos,
    decay_length,
    fft_sosfilt,
    rfft_response,
    sos_frequency_response,
    sosfilt,
)

__all__ = [
    "BIQUAD_KINDS",
    "biquad",
    "biquads_to_sos",
    "compressor",
    "decay_length",
    "fft_sosfilt",
    "rfft_response",
    "sos_frequency_response",
    "sosfilt",
    "time_constant_to_alpha",
]
