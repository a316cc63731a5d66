"""Data: audio file I/O (soundfile + soxr) and the seeded synthetic-music generator."""

from .audio import load_audio, save_audio
from .synthetic import SyntheticMusicDataset, synthetic_music

__all__ = ["SyntheticMusicDataset", "load_audio", "save_audio", "synthetic_music"]
