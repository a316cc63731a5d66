"""Quality metrics of restored or modelled audio: signal-to-distortion ratios and more.

* :func:`sdr` and :func:`si_sdr` — signal-to-distortion ratio and its scale-invariant form
  (Le Roux et al., 2019), in dB, over the last (time) axis.
"""

from .sdr import sdr, si_sdr

__all__ = ["sdr", "si_sdr"]
