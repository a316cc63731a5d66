"""Data: audio file I/O (soundfile + soxr), the seeded synthetic-music and synthetic-guitar
generators, clip sources (the seeded datasets of synthetic music and guitar, the two in turn, a
folder, MUSDB18)
and dry / wet effect pairs.

The Lightning data module lives in :mod:`dasp_blind.data.modules` (it imports
``pytorch_lightning``, which ``import dasp_blind.data`` does not need).
"""

from .audio import load_audio, save_audio
from .clips import FolderClips, InterleavedClips, MusdbClips, SyntheticClips, build_clips
from .guitar import SyntheticGuitarClips, synthetic_guitar
from .pairs import EffectPairDataset
from .synthetic import synthetic_music

__all__ = ["EffectPairDataset", "FolderClips", "InterleavedClips", "MusdbClips", "SyntheticClips",
           "SyntheticGuitarClips", "build_clips", "load_audio", "save_audio", "synthetic_guitar",
           "synthetic_music"]
