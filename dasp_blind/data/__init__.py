"""Data: audio file I/O (soundfile + soxr), the seeded synthetic-music generator, clip sources
(the seeded dataset of synthetic music, a folder, MUSDB18) and dry / wet effect pairs.

The Lightning data module lives in :mod:`dasp_blind.data.modules` (it imports
``pytorch_lightning``, which ``import dasp_blind.data`` does not need).
"""

from .audio import load_audio, save_audio
from .clips import FolderClips, MusdbClips, SyntheticClips, build_clips
from .pairs import EffectPairDataset
from .synthetic import synthetic_music

__all__ = ["EffectPairDataset", "FolderClips", "MusdbClips", "SyntheticClips", "build_clips",
           "load_audio", "save_audio", "synthetic_music"]
