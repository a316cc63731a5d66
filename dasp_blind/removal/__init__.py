"""Distortion removal (Imort et al., ISMIR 2022): degradations, models and declipping.

* :mod:`~dasp_blind.removal.degradations` — the paper's degradations (SoX overdrive, hard
  clipping by gain or to a target input SDR, tanh soft clipping, the wet / dry blend) and a
  seeded sampler of them for training data.
* :class:`Demucs` — Demucs v2 for one source, about 1 M parameters by default (the paper's
  best model for overdrive removal), with its differentiable ×2 resampler :func:`resample_2x`.
* :func:`aspade` — A-SPADE declipping (Kitić et al., 2015, with the declipping survey's
  settings), batched over blocks in torch; :func:`detect_clipping` finds the clipping levels.
"""

from .declipping import aspade, detect_clipping, window_length
from .degradations import (
    EVAL_SDR_DB,
    KINDS,
    PAPER_GAIN_DB,
    PAPER_GAIN_LEVELS_DB,
    PAPER_SDR_DB,
    Degradation,
    clip_to_sdr,
    hard_clip,
    mix,
    overdrive,
    tanh_clip,
)
from .demucs import Demucs, resample_2x

__all__ = ["EVAL_SDR_DB", "KINDS", "PAPER_GAIN_DB", "PAPER_GAIN_LEVELS_DB", "PAPER_SDR_DB",
           "Degradation", "Demucs", "aspade", "clip_to_sdr", "detect_clipping", "hard_clip", "mix",
           "overdrive", "resample_2x", "tanh_clip", "window_length"]
