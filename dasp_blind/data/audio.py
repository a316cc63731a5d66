"""Audio file I/O without torchaudio: ``soundfile`` to read and write, ``soxr`` to resample.

:func:`save_audio` never overwrites an existing file unless asked to, and writes through a
temporary file in the destination directory that is renamed into place, so an interrupted
write never leaves a half-written file under the final name.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from torch import Tensor

from .._checks import check_integer_rate

# libsndfile refuses more channels than this (SF_MAX_CHANNELS).
MAX_CHANNELS = 1024


def load_audio(path: str | os.PathLike, sample_rate: int | None = None,
               mono: bool = False) -> tuple[Tensor, int]:
    """Read an audio file (any format libsndfile reads: WAV, FLAC, OGG, AIFF, ...).

    Args:
        path: file to read.
        sample_rate: resample to this rate in Hz with ``soxr`` (high quality) when given and
            different from the file's rate; ``None`` keeps the file's rate.
        mono: average the channels into one.

    Returns:
        ``(audio, sample_rate)``: a float32 tensor ``(channels, samples)`` (``channels = 1`` when
        ``mono``) and its sample rate in Hz.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: on a bad ``sample_rate`` or a file that libsndfile cannot read.
    """
    target = None if sample_rate is None else check_integer_rate(sample_rate)
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"path {str(p)!r} does not exist")
    if p.is_dir():
        raise ValueError(f"path must be an audio file, got the directory {str(p)!r}")
    try:
        data, rate = sf.read(str(p), dtype="float32", always_2d=True)  # (frames, channels)
    except RuntimeError as err:  # sf.LibsndfileError: unreadable or unknown format
        raise ValueError(f"cannot read audio file {str(p)!r}: {err}") from None
    if mono and data.shape[1] > 1:
        data = data.mean(axis=1, keepdims=True, dtype=np.float64).astype(np.float32)
    if target is not None and target != rate and data.shape[0] > 0:
        import soxr

        data = soxr.resample(data, rate, target, quality="HQ").astype(np.float32, copy=False)
    rate = rate if target is None else target
    return torch.from_numpy(np.ascontiguousarray(data.T)), int(rate)


def _as_array(audio: Tensor | np.ndarray) -> np.ndarray:
    if isinstance(audio, Tensor):
        if not audio.is_floating_point():
            raise ValueError(f"audio must be a floating-point tensor, got {audio.dtype}")
        arr = audio.detach().cpu().numpy()
    elif isinstance(audio, np.ndarray):
        if not np.issubdtype(audio.dtype, np.floating):
            raise ValueError(f"audio must be a floating-point array, got {audio.dtype}")
        arr = audio
    else:
        raise ValueError(f"audio must be a torch.Tensor or numpy.ndarray of shape "
                         f"(channels, samples), got {type(audio).__name__}")
    if arr.ndim != 2:
        raise ValueError(f"audio must have shape (channels, samples), got shape {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[0] > MAX_CHANNELS:
        raise ValueError(f"audio must have shape (channels, samples) with 1 to {MAX_CHANNELS} "
                         f"channels, got shape {arr.shape} (pass (channels, samples), not "
                         f"(samples, channels))")
    if not np.isfinite(arr).all():
        raise ValueError("audio contains NaN or Inf values")
    return np.ascontiguousarray(arr.T)


def _format_for(path: Path, subtype: str) -> str:
    ext = path.suffix.lower().lstrip(".")
    formats = sf.available_formats()
    fmt = {"aif": "AIFF", "aifc": "AIFF", "oga": "OGG"}.get(ext, ext.upper())
    if fmt not in formats:
        raise ValueError(f"cannot tell the audio format from the extension of {str(path)!r}; "
                         f"use one of {sorted(f.lower() for f in formats)}")
    if not isinstance(subtype, str) or not sf.check_format(fmt, subtype.upper()):
        raise ValueError(f"subtype {subtype!r} is not available for {fmt}; available: "
                         f"{sorted(sf.available_subtypes(fmt))}")
    return fmt


def save_audio(path: str | os.PathLike, audio: Tensor | np.ndarray, sample_rate: int,
               overwrite: bool = False, subtype: str = "FLOAT") -> Path:
    """Write audio to a file, atomically.

    The audio goes to a temporary file next to ``path`` (a hidden ``.<name>.<random>.tmp``),
    which is then renamed onto ``path``; if anything fails, the temporary file is removed and
    no file (or the untouched original) is left under ``path``. Parent directories are created.

    Args:
        path: destination; its extension picks the format (``.wav``, ``.flac``, ``.ogg``,
            ``.aiff``, ...).
        audio: float tensor or array ``(channels, samples)``.
        sample_rate: sample rate in Hz (positive integer).
        overwrite: replace an existing file; without it an existing file raises.
        subtype: libsndfile subtype, e.g. ``"FLOAT"`` (32-bit float, lossless for float32
            audio), ``"PCM_16"``, ``"PCM_24"``; must suit the format (FLAC has no ``"FLOAT"``).

    Returns:
        The path written.

    Raises:
        FileExistsError: if ``path`` exists and ``overwrite`` is false.
        ValueError: on a bad shape, dtype, non-finite audio, sample rate, extension or subtype.
    """
    rate = check_integer_rate(sample_rate)
    dest = Path(path)
    data = _as_array(audio)
    fmt = _format_for(dest, subtype)
    if dest.is_dir():
        raise ValueError(f"path must be a file name, got the directory {str(dest)!r}")
    if dest.exists() and not overwrite:
        raise FileExistsError(f"{str(dest)!r} exists; pass overwrite=True to replace it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.{uuid.uuid4().hex}.tmp"
    try:
        sf.write(str(tmp), data, rate, subtype=subtype.upper(), format=fmt)
        if overwrite:
            os.replace(tmp, dest)
        else:
            _link_new(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest


def _link_new(tmp: Path, dest: Path) -> None:
    """Move ``tmp`` to ``dest`` failing with FileExistsError if ``dest`` appeared meanwhile.

    A hard link fails atomically on an existing name; where the file system has no hard links,
    fall back to a rename after the existence check done by the caller.
    """
    try:
        os.link(tmp, dest)
    except FileExistsError:
        raise FileExistsError(f"{str(dest)!r} exists; pass overwrite=True to replace it") from None
    except OSError:
        os.replace(tmp, dest)
        return
    tmp.unlink()


__all__ = ["load_audio", "save_audio"]
