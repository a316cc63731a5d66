"""Pure, batched, differentiable audio operations in physical units.

Audio is ``(batch, channels, samples)``; parameters are floats or ``(batch,)`` tensors.
float16 / bfloat16 audio is computed in float32 and returned in its own dtype; empty audio
(no item, channel or sample) raises :class:`ValueError`.
"""

from .dynamics import compressor, simple_compressor, static_gain_reduction_db
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
from .units import db_to_gain, gain_to_db, ms_to_alpha, time_constant_to_alpha

__all__ = [
    "BIQUAD_KINDS",
    "biquad",
    "biquads_to_sos",
    "chebyshev",
    "chorus",
    "clip_threshold_for_sdr",
    "clip_to_sdr",
    "compressor",
    "db_to_gain",
    "decay_length",
    "fft_sosfilt",
    "fractional_delay",
    "gain_to_db",
    "hard_clip",
    "lfo",
    "ms_to_alpha",
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
