"""Audio file I/O without torchaudio: ``soundfile`` to read and write, ``soxr`` to resample.

:func:`save_audio` never overwrites an existing file unless asked to, and writes through a
temporary file in the destination directory that is renamed into place, so an interrupted
write never leaves a half-written file under the final name.
"""

from __future__ import annotations

import errno
import os
import re
import uuid
import warnings
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

    Warns:
        UserWarning: naming the file when its header announces more audio data than the file
            holds (a truncated download or an interrupted copy); the frames that are there are
            returned.

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
        with sf.SoundFile(str(p)) as f:
            data = f.read(dtype="float32", always_2d=True)  # (frames, channels)
            rate, log = f.samplerate, f.extra_info
    except RuntimeError as err:  # sf.LibsndfileError: unreadable or unknown format
        raise ValueError(f"cannot read audio file {str(p)!r}: {err}") from None
    _warn_if_truncated(p, log, data.shape[0])
    if mono and data.shape[1] > 1:
        data = data.mean(axis=1, keepdims=True, dtype=np.float64).astype(np.float32)
    if target is not None and target != rate and data.shape[0] > 0:
        import soxr

        data = soxr.resample(data, rate, target, quality="HQ").astype(np.float32, copy=False)
    rate = rate if target is None else target
    return torch.from_numpy(np.ascontiguousarray(data.T)), int(rate)


# libsndfile's log names a chunk whose header size exceeds the bytes present as
# "data : 8000 (should be 6999)" (WAV, RF64) or "SSND : 4008 (should be 3007)" (AIFF).
_SHORT_DATA_CHUNK = re.compile(r"^\s*(data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


def _warn_if_truncated(path: Path, log: str, frames: int) -> None:
    """Warn when libsndfile's header log reports a data chunk longer than the file holds.

    libsndfile then silently returns the frames that are present; a warning names the file.
    """
    match = _SHORT_DATA_CHUNK.search(log)
    if match is None:
        return
    announced, present = int(match.group(2)), int(match.group(3))
    if present < announced:
        warnings.warn(f"audio file {str(path)!r} looks truncated: its {match.group(1)!r} chunk "
                      f"announces {announced} bytes of audio but the file holds {present}; "
                      f"read the {frames} frames present", UserWarning, stacklevel=3)


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
    if arr.ndim == 0:
        raise ValueError("audio must have shape (samples,), (channels, samples) or "
                         "(1, channels, samples), got a scalar")
    if arr.ndim == 1:
        arr = arr[None, :]
    elif arr.ndim == 3:
        if arr.shape[0] != 1:
            raise ValueError(f"audio of shape (batch, channels, samples) must hold one item "
                             f"(batch 1) to be saved as one file, got shape {arr.shape}; save "
                             f"each item separately")
        arr = arr[0]
    elif arr.ndim != 2:
        raise ValueError(f"audio must have shape (samples,), (channels, samples) or "
                         f"(1, channels, samples), got shape {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[0] > MAX_CHANNELS:
        raise ValueError(f"audio must have shape (channels, samples) with 1 to {MAX_CHANNELS} "
                         f"channels, got shape {arr.shape} (pass (channels, samples), not "
                         f"(samples, channels))")
    if not np.isfinite(arr).all():
        raise ValueError("audio contains NaN or Inf values")
    return np.ascontiguousarray(arr.T)


def _format_for(path: Path) -> str:
    """libsndfile format named by the extension of ``path``."""
    ext = path.suffix.lower().lstrip(".")
    formats = sf.available_formats()
    fmt = {"aif": "AIFF", "aifc": "AIFF", "oga": "OGG"}.get(ext, ext.upper())
    if fmt not in formats:
        raise ValueError(f"cannot tell the audio format from the extension of {str(path)!r}; "
                         f"use one of {sorted(f.lower() for f in formats)}")
    return fmt


def default_subtype(fmt: str) -> str:
    """The subtype :func:`save_audio` writes when none is given.

    ``"FLOAT"`` where the format stores it (WAV, AIFF, ...: lossless for float32 audio), else
    ``"PCM_24"`` (FLAC), else libsndfile's default for the format (``"VORBIS"`` for OGG).
    """
    for subtype in ("FLOAT", "PCM_24"):
        if sf.check_format(fmt, subtype):
            return subtype
    return sf.default_subtype(fmt)


def _check_subtype(fmt: str, subtype: str | None) -> str:
    if subtype is None:
        return default_subtype(fmt)
    if not isinstance(subtype, str) or not sf.check_format(fmt, subtype.upper()):
        raise ValueError(f"subtype {subtype!r} is not available for {fmt}; available: "
                         f"{sorted(sf.available_subtypes(fmt))}")
    return subtype.upper()


def audio_format(path: str | os.PathLike, subtype: str | None = None) -> tuple[str, str]:
    """The libsndfile ``(format, subtype)`` :func:`save_audio` writes ``path`` with.

    Lets a caller reject a bad extension or subtype before long work that ends in a save.

    Raises:
        ValueError: if the extension names no format libsndfile writes, or ``subtype`` does not
            suit the format.
    """
    fmt = _format_for(Path(path))
    return fmt, _check_subtype(fmt, subtype)


def save_audio(path: str | os.PathLike, audio: Tensor | np.ndarray, sample_rate: int,
               overwrite: bool = False, subtype: str | None = None) -> Path:
    """Write audio to a file, atomically.

    The audio goes to a temporary file next to ``path`` (a hidden ``.<name>.<random>.tmp``),
    which is then renamed onto ``path``; if anything fails, the temporary file is removed and
    no file (or the untouched original) is left under ``path``. Parent directories are created.

    Args:
        path: destination; its extension picks the format (``.wav``, ``.flac``, ``.ogg``,
            ``.aiff``, ...).
        audio: float tensor or array ``(channels, samples)``, ``(samples,)`` (mono) or
            ``(1, channels, samples)`` (one item of a batch, what an effect returns).
        sample_rate: sample rate in Hz (positive integer).
        overwrite: replace an existing file; without it an existing file raises.
        subtype: libsndfile subtype, e.g. ``"FLOAT"`` (32-bit float, lossless for float32
            audio), ``"PCM_16"``, ``"PCM_24"``; must suit the format. ``None`` picks
            :func:`default_subtype`: ``"FLOAT"`` for WAV and AIFF, ``"PCM_24"`` for FLAC (which
            stores no floats), ``"VORBIS"`` for OGG. Integer subtypes clip samples outside
            ``[-1, 1]``.

    Returns:
        The path written.

    Raises:
        FileExistsError: if ``path`` exists and ``overwrite`` is false.
        PermissionError: naming ``path`` if its folder is not writable.
        NotADirectoryError: if a parent of ``path`` is a file.
        ValueError: on a bad shape, dtype, non-finite audio, sample rate, extension or subtype.
    """
    rate = check_integer_rate(sample_rate)
    dest = Path(path)
    data = _as_array(audio)
    fmt, subtype = audio_format(dest, subtype)
    if dest.is_dir():
        raise ValueError(f"path must be a file name, got the directory {str(dest)!r}")
    if dest.exists() and not overwrite:
        raise FileExistsError(f"{str(dest)!r} exists; pass overwrite=True to replace it")
    _make_parent(dest)
    tmp = dest.parent / f".{dest.name}.{uuid.uuid4().hex}.tmp"
    fd = _create_temporary(tmp, dest)
    try:
        with os.fdopen(fd, "wb") as file:
            sf.write(file, data, rate, subtype=subtype, format=fmt)
        if overwrite:
            os.replace(tmp, dest)
        else:
            _link_new(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest


def _make_parent(dest: Path) -> None:
    """Create the folders above ``dest``; an error names ``dest``, not an internal name."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise NotADirectoryError(errno.ENOTDIR, "Not a directory (a parent folder of the file "
                                 "is a file)", str(dest)) from None


def _create_temporary(tmp: Path, dest: Path) -> int:
    """Open ``tmp`` for writing (new file, mode 0o666 less the umask) and return its descriptor.

    The hidden temporary name is an implementation detail: a failure (a read-only folder, a
    full disk) is reported as an error of the same kind that names ``dest``.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        return os.open(tmp, flags, 0o666)
    except OSError as err:
        raise type(err)(err.errno, f"{err.strerror} (no file can be created in the folder "
                        f"{str(dest.parent)!r})", str(dest)) from None


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


__all__ = ["audio_format", "default_subtype", "load_audio", "save_audio"]
