"""Pure, batched, differentiable audio operations in physical units.

Audio is ``(batch, channels, samples)``; parameters are floats or ``(batch,)`` tensors.
"""

from .dynamics import (
    compressor,
    simple_compressor,
    static_gain_reduction_db,
    time_constant_to_alpha,
)
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
from .modulation import chorus, fractional_delay, lfo, tremolo
from .nonlinear import (
    chebyshev,
    clip_threshold_for_sdr,
    clip_to_sdr,
    hard_clip,
    parametric_clipper,
    soft_clip,
    sox_overdrive,
    taylor,
)

__all__ = [
    "BIQUAD_KINDS",
    "biquad",
    "biquads_to_sos",
    "chebyshev",
    "chorus",
    "clip_threshold_for_sdr",
    "clip_to_sdr",
    "compressor",
    "decay_length",
    "fft_sosfilt",
    "fractional_delay",
    "hard_clip",
    "lfo",
    "parametric_clipper",
    "rfft_response",
    "simple_compressor",
    "soft_clip",
    "sos_frequency_response",
    "sosfilt",
    "sox_overdrive",
    "static_gain_reduction_db",
    "taylor",
    "time_constant_to_alpha",
    "tremolo",
]
