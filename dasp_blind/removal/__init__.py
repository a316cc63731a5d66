"""Distortion removal (Imort et al., ISMIR 2022): degradations, models and declipping.

* :mod:`~dasp_blind.removal.degradations` — the paper's degradations (SoX overdrive, hard
  clipping by gain or to a target input SDR, tanh soft clipping, the wet / dry blend) and a
  seeded sampler of them for training data.
* :class:`Demucs` — Demucs v2 for one source, about 1 M parameters by default (the paper's
  best model for overdrive removal), with its differentiable ×2 resampler :func:`resample_2x`.
* :class:`WaveUNet` (about 1 M parameters, 8 levels), :class:`CRAFx` (Martínez Ramírez et al.,
  2019) and :class:`OpenUnmix` (a magnitude mask), the paper's other networks, and
  :class:`IdealRatioMask`, the oracle bound of magnitude masking.
* :class:`Restorer` — a network with its level handling (what is trained, shipped and run by
  ``dasp-blind remove``); :class:`~dasp_blind.removal.module.RemovalModule` and
  :class:`~dasp_blind.removal.data.RemovalDataModule` train it (they import
  ``pytorch_lightning`` and are not imported here); :mod:`~dasp_blind.removal.evaluate` makes
  the paper's tables and box plots.
* :func:`aspade` — A-SPADE declipping (Kitić et al., 2015, with the declipping survey's
  settings), batched over blocks in torch; :func:`detect_clipping` finds the clipping levels.
"""

from .crafx import CRAFx
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
from .losses import removal_loss
from .openunmix import OpenUnmix
from .oracle import IdealRatioMask
from .restorer import NETWORKS, Restorer, build_network
from .waveunet import WaveUNet

__all__ = ["EVAL_SDR_DB", "KINDS", "NETWORKS", "PAPER_GAIN_DB", "PAPER_GAIN_LEVELS_DB",
           "PAPER_SDR_DB", "CRAFx", "Degradation", "Demucs", "IdealRatioMask", "OpenUnmix",
           "Restorer", "WaveUNet", "aspade", "build_network", "clip_to_sdr", "detect_clipping",
           "hard_clip", "mix", "overdrive", "removal_loss", "resample_2x", "tanh_clip",
           "window_length"]
