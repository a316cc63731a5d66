"""Distortion removal (Imort et al., ISMIR 2022): degradations of clean audio and declipping.

* :mod:`~dasp_blind.removal.degradations` — the paper's degradations (SoX overdrive, hard
  clipping by gain or to a target input SDR, tanh soft clipping, the wet / dry blend) and a
  seeded sampler of them for training data.
"""

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

__all__ = ["EVAL_SDR_DB", "KINDS", "PAPER_GAIN_DB", "PAPER_GAIN_LEVELS_DB", "PAPER_SDR_DB",
           "Degradation", "clip_to_sdr", "hard_clip", "mix", "overdrive", "tanh_clip"]
