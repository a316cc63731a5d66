"""Quality metrics of restored or modelled audio.

* :func:`sdr` and :func:`si_sdr` — signal-to-distortion ratio and its scale-invariant form
  (Le Roux et al., 2019), in dB, over the last (time) axis.
* :func:`mrstft_distance` and :func:`esr` — multi-resolution STFT distance and error-to-signal
  ratio, per item.
* :func:`energy_normalised_mae`, :func:`crest_factor_error`, :func:`rms_energy_error`,
  :func:`spectral_centroid_error`, :func:`spectrogram_mse` — the effect-modelling metrics of
  CRAFx and of the Audio-MAE effect model, per item.
* :func:`r_nonlin` — an approximate re-implementation of Tan et al.'s R-nonlin (2004).
* :func:`frechet_distance`, :func:`frechet_audio_distance`, :func:`embedding_statistics` — FAD
  with an embedding model the user supplies (nothing is downloaded).
"""

from .distances import esr, mrstft_distance
from .effects import (
    crest_factor_error,
    energy_normalised_mae,
    rms_energy_error,
    spectral_centroid_error,
    spectrogram_mse,
)
from .fad import embedding_statistics, frechet_audio_distance, frechet_distance
from .rnonlin import r_nonlin
from .sdr import sdr, si_sdr

__all__ = ["crest_factor_error", "embedding_statistics", "energy_normalised_mae", "esr",
           "frechet_audio_distance", "frechet_distance", "mrstft_distance", "r_nonlin",
           "rms_energy_error", "sdr", "si_sdr", "spectral_centroid_error", "spectrogram_mse"]
