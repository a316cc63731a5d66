"""Sources of mono music clips: synthetic music, a folder of audio files, or MUSDB18.

Every source is a :class:`torch.utils.data.Dataset` of fixed length whose item ``i`` is a float32
tensor ``(1, num_samples)`` with ``num_samples = round(duration_s·sample_rate)``, prepared the
way the BE-AFX training data is (``reference/blind_estimation_reference.md`` §4 "Data"):

1. draw a clip (a synthetic render, or a uniform random window of a random file / track);
2. mix it to mono by the channel mean;
3. redraw (the next seed, file or offset) while its peak is below ``1e-5`` (silence), at most
   :data:`MAX_TRIES` times;
4. peak-normalise it to 1;
5. flip its polarity with probability 1/2.

All randomness of item ``i`` comes from ``numpy.random.default_rng([seed, i])``, so an item is
the same in every process (DataLoader workers included) and on every access, and different
items (or different seeds) give different clips. A dataset is a fixed set of clips; the index
``(epoch, i)`` draws item ``i`` of another set, from ``[seed, i, epoch]`` (``(0, i)`` is item
``i``), which is how :class:`~dasp_blind.data.pairs.EpochSampler` gives new clips every epoch,
as the reference's ``__getitem__`` does on every pass.

Files are read with ``soundfile`` (only the window that is needed) and resampled with ``soxr``;
MUSDB goes through the ``musdb`` package (an optional dependency, imported when used).

A file that cannot be read raises a ``ValueError`` naming it (:class:`UnreadableFileError`);
with ``skip_bad_files=True`` a warning names it instead and the item is drawn again.
``num_items=None`` gives ``passes`` clips per file or track ("one epoch = 5 passes" over the
86 MUSDB training tracks is ``MusdbClips(root, None, passes=5)``, 430 clips).
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from torch import Tensor
from torch.utils.data import Dataset

from .._checks import (
    check_bool,
    check_choice,
    check_int,
    check_integer_rate,
    check_positive,
    check_seed,
)
from .synthetic import STYLES, synthetic_music

#: Below this peak a drawn clip counts as silence and is drawn again.
SILENCE_PEAK = 1e-5
#: Number of draws of one item before giving up on finding a non-silent clip.
MAX_TRIES = 20

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".aiff", ".aif")

#: The splits of a folder and the share of the hash range ``[0, 1)`` that each takes (in this
#: order: train ``[0, 0.8)``, valid ``[0.8, 0.9)``, test ``[0.9, 1)``).
FOLDER_SPLITS = {"train": 0.8, "valid": 0.1, "test": 0.1}


class UnreadableFileError(ValueError):
    """An audio file of a clip source that cannot be read (``path`` names it)."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = Path(path)
        super().__init__(f"cannot read audio file {str(path)!r}: {reason}")


def epoch_and_item(index: object, num_items: int) -> tuple[int, int]:
    """``(epoch, i)`` of a dataset index: an integer ``i`` (epoch 0; negative ``i`` counts from
    the end) or a pair ``(epoch, i)`` (what :class:`~dasp_blind.data.pairs.EpochSampler`
    yields).

    Raises:
        TypeError: if ``index`` is neither.
        IndexError: if ``i`` is out of range or ``epoch`` is negative.
    """
    epoch, i = (index if isinstance(index, tuple) and len(index) == 2 else (0, index))
    for value in (epoch, i):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"index must be an integer or a pair (epoch, index) of integers, "
                            f"got {index!r}")
    item = int(i) + (num_items if i < 0 else 0)
    if not 0 <= item < num_items or epoch < 0:
        raise IndexError(f"index {index!r} out of range for a dataset of {num_items} items")
    return int(epoch), item


def _check_num_items(num_items: object) -> int:
    if isinstance(num_items, bool) or not isinstance(num_items, (int, np.integer)) \
            or num_items < 1:
        raise ValueError(f"num_items must be a positive integer, got {num_items!r}")
    return int(num_items)


def _items_for(num_items: int | None, passes: int, count: int, what: str) -> int:
    """``num_items``, or ``passes × count`` when it is ``None`` (``count`` files or tracks)."""
    passes = check_int(passes, "passes", low=1)
    if num_items is None:
        return passes * count
    if isinstance(num_items, bool) or not isinstance(num_items, (int, np.integer)) \
            or num_items < 1:
        raise ValueError(f"num_items must be a positive integer or None (passes × the number "
                         f"of {what}), got {num_items!r}")
    return int(num_items)


def _fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """Crop or zero-pad the last axis of ``x`` to ``n`` samples."""
    if x.shape[-1] >= n:
        return x[..., :n]
    pad = [(0, 0)] * (x.ndim - 1) + [(0, n - x.shape[-1])]
    return np.pad(x, pad)


def _resample(x: np.ndarray, rate_in: float, rate_out: float) -> np.ndarray:
    """Resample a mono signal ``(samples,)`` with ``soxr`` (high quality)."""
    if rate_in == rate_out or x.size == 0:
        return x
    import soxr

    return soxr.resample(x.astype(np.float64), float(rate_in), float(rate_out), quality="HQ")


class ClipSource(Dataset):
    """Base class of the clip sources: the seeded redraw / mono / normalise / polarity logic.

    Subclasses implement :meth:`_draw`, which returns one candidate clip as a numpy array
    ``(channels, samples)`` or ``(samples,)`` at ``self.sample_rate`` (any length; it is cropped
    or zero-padded to ``num_samples``) using only the given generator.

    Args:
        num_items: number of clips (``len`` of the dataset), >= 1.
        duration_s: length of each clip in seconds, > 0.
        sample_rate: sample rate of the clips in Hz (positive integer).
        seed: integer seed ``>= 0``; item ``i`` uses ``numpy.random.default_rng([seed, i])``.

    A subclass whose :meth:`_draw` raises :class:`UnreadableFileError` gets the error raised,
    or, when its ``skip_bad_files`` is true, a warning naming the file and another draw.
    """

    #: Warn about an unreadable file and draw again instead of raising.
    skip_bad_files: bool = False

    def __init__(self, num_items: int, duration_s: float = 1.0, sample_rate: int = 44100,
                 seed: int = 0):
        self.num_items = _check_num_items(num_items)
        self.duration_s = check_positive(duration_s, "duration_s")
        self.sample_rate = check_integer_rate(sample_rate)
        self.seed = check_seed(seed)
        self.num_samples = int(round(self.duration_s * self.sample_rate))
        if self.num_samples < 1:
            raise ValueError(f"duration_s={duration_s!r} at sample_rate={sample_rate} gives no "
                             f"samples")

    def __len__(self) -> int:
        return self.num_items

    def rng(self, index: int, epoch: int = 0) -> np.random.Generator:
        """The generator that item ``index`` draws from (in ``epoch``: ``[seed, index]`` in
        epoch 0, ``[seed, index, epoch]`` after)."""
        key = [self.seed, int(index)] + ([int(epoch)] if epoch else [])
        return np.random.default_rng(key)

    def _draw(self, rng: np.random.Generator, index: int) -> np.ndarray:
        raise NotImplementedError

    def _describe(self) -> str:
        return type(self).__name__

    def __getitem__(self, index: int | tuple[int, int]) -> Tensor:
        epoch, i = epoch_and_item(index, self.num_items)
        rng = self.rng(i, epoch)
        unreadable = 0
        for _ in range(MAX_TRIES):
            try:
                clip = np.asarray(self._draw(rng, i), dtype=np.float64)
            except UnreadableFileError as err:
                if not self.skip_bad_files:
                    raise
                warnings.warn(f"{self._describe()}: skipping a bad file ({err})", UserWarning,
                              stacklevel=2)
                unreadable += 1
                continue
            if clip.ndim == 2:
                clip = clip.mean(axis=0)
            elif clip.ndim != 1:
                raise RuntimeError(f"{self._describe()}: a drawn clip has shape {clip.shape}, "
                                   f"expected (channels, samples) or (samples,)")
            clip = _fit_length(clip, self.num_samples)
            peak = float(np.abs(clip).max())
            if not math.isfinite(peak):
                raise RuntimeError(f"{self._describe()}: item {i} holds NaN or Inf samples")
            if peak >= SILENCE_PEAK:
                clip = clip / peak
                if rng.random() < 0.5:
                    clip = -clip
                return torch.from_numpy(clip.astype(np.float32)[None, :])
        raise RuntimeError(f"{self._describe()}: all {MAX_TRIES} clips drawn for item {i} were "
                           f"silent (peak < {SILENCE_PEAK:g}) or unreadable ({unreadable} "
                           f"unreadable); the source holds too little readable, non-silent "
                           f"audio")


class SyntheticClips(ClipSource):
    """The seeded dataset of synthetic music: clips of
    :func:`~dasp_blind.data.synthetic.synthetic_music`.

    Item ``i`` renders ``synthetic_music(duration_s, sample_rate, seed=s, dynamics=dynamics,
    style=style)`` (mono) with a seed ``s`` drawn from ``(seed, i)``, peak-normalises it to 1
    and flips its polarity at random. ``style="random"`` gives every item a genre drawn from its
    seed (rock, pop, electronic, jazz, hip-hop, ambient, folk, solo piano): the varied training
    material to use when the model must carry over to real recordings.

    Args:
        num_items: number of clips, >= 1.
        duration_s: length of each clip in seconds.
        sample_rate: sample rate in Hz (integer >= 4000, as ``synthetic_music`` requires).
        seed: integer seed of the dataset.
        dynamics: render with varied part levels and loud and quiet sections (see
            ``synthetic_music``; the drawn peak level is undone by the peak normalisation).
        style: ``"basic"`` (the default), ``"random"`` or a genre (see ``synthetic_music``).
    """

    def __init__(self, num_items: int, duration_s: float = 1.0, sample_rate: int = 44100,
                 seed: int = 0, dynamics: bool = False, style: str = "basic"):
        super().__init__(num_items, duration_s, sample_rate, seed)
        if self.sample_rate < 4000:
            raise ValueError(f"sample_rate must be an integer >= 4000 Hz for synthetic music, "
                             f"got {sample_rate!r}")
        self.dynamics = check_bool(dynamics, "dynamics")
        self.style = check_choice(style, "style", STYLES)

    def _draw(self, rng: np.random.Generator, index: int) -> np.ndarray:
        render_seed = int(rng.integers(0, 2**63 - 1))
        return synthetic_music(self.duration_s, self.sample_rate, seed=render_seed,
                               channels=1, dynamics=self.dynamics, style=self.style).numpy()


def find_audio_files(root: str | os.PathLike,
                     extensions: Sequence[str] = AUDIO_EXTENSIONS) -> list[Path]:
    """All files under ``root`` (recursively) whose extension is in ``extensions``
    (case-insensitive), sorted by path. Hidden files (``.name``) are skipped.

    Raises:
        ValueError: if ``root`` is not an existing directory.
    """
    base = Path(root)
    if not base.is_dir():
        raise ValueError(f"root must be an existing directory, got {str(root)!r}")
    exts = {e.lower() if e.startswith(".") else "." + e.lower() for e in extensions}
    files = [p for p in base.rglob("*")
             if p.suffix.lower() in exts and not p.name.startswith(".") and p.is_file()]
    return sorted(files)


def _split_position(relative: str) -> float:
    """A number in ``[0, 1)`` drawn from the SHA-256 of ``relative`` (stable everywhere)."""
    digest = hashlib.sha256(relative.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def _distance(position: float, low: float, high: float) -> float:
    """How far ``position`` lies outside ``[low, high)``."""
    return max(low - position, position - high, 0.0)


def split_files(files: Sequence[str | os.PathLike],
                root: str | os.PathLike) -> dict[str, list[Path]]:
    """Assign each file to the ``"train"``, ``"valid"`` or ``"test"`` split of a folder.

    A file's split depends only on its path relative to ``root`` (as a POSIX string): its
    SHA-256 gives a position in ``[0, 1)``, and train takes ``[0, 0.8)``, valid ``[0.8, 0.9)``
    and test ``[0.9, 1)`` (:data:`FOLDER_SPLITS`), so about 80 / 10 / 10 % of a large folder,
    the same on every machine and in every process, and adding or removing files never moves
    another file to another split. In a small folder a split can come out empty; then, with at
    least 3 files, the empty split takes from the largest split the file whose position lies
    nearest to its own range (so each split holds at least one file).

    Args:
        files: paths under ``root``.
        root: the folder the paths are taken relative to.

    Returns:
        ``{"train": [...], "valid": [...], "test": [...]}``, each sorted by path.

    Raises:
        ValueError: with fewer than 3 files, or a file that is not under ``root``.
    """
    base = Path(root)
    if len(files) < 3:
        raise ValueError(f"splitting a folder into train / valid / test needs at least 3 audio "
                         f"files, root {str(root)!r} holds {len(files)}")
    bounds, low = {}, 0.0
    for name, share in FOLDER_SPLITS.items():
        bounds[name] = (low, low + share)
        low += share
    position = {}
    for f in files:
        try:
            relative = Path(f).relative_to(base).as_posix()
        except ValueError:
            raise ValueError(f"file {str(f)!r} is not under root {str(root)!r}") from None
        position[Path(f)] = _split_position(relative)
    splits: dict[str, list[Path]] = {name: [] for name in FOLDER_SPLITS}
    for path, u in position.items():
        name = next((n for n, (lo, hi) in bounds.items() if lo <= u < hi), "test")
        splits[name].append(path)
    for name in FOLDER_SPLITS:
        if splits[name]:
            continue
        donor = max(FOLDER_SPLITS, key=lambda n: len(splits[n]))
        nearest = min(splits[donor], key=lambda p: (_distance(position[p], *bounds[name]), p))
        splits[donor].remove(nearest)
        splits[name].append(nearest)
    return {name: sorted(paths) for name, paths in splits.items()}


class FolderClips(ClipSource):
    """Random windows of the audio files under a folder.

    Item ``i`` picks one of the files (uniformly) and a uniform random start, reads only that
    window with ``soundfile`` (``duration_s`` seconds at the file's own rate), mixes it to mono
    and resamples it with ``soxr`` when the file's rate differs from ``sample_rate``. Files
    shorter than the window are read whole and zero-padded. Silent windows are drawn again
    (another file and start).

    With ``split`` the clips come only from that split's files (:func:`split_files`: a stable
    hash of each file's path relative to ``root`` sends about 80 % of the files to ``"train"``,
    10 % to ``"valid"`` and 10 % to ``"test"``; every split gets at least one file).

    Files are opened only when drawn: an unreadable file (not audio, corrupt, or holding NaN /
    Inf samples) raises :class:`UnreadableFileError` (a ``ValueError`` naming it) from the item
    that drew it, or, with ``skip_bad_files=True``, gives a ``UserWarning`` naming it (once per
    file and process) and the item is drawn again from the same generator, so items stay
    reproducible.

    Args:
        root: folder searched recursively; files are sorted by path, so the same folder always
            gives the same clips.
        num_items: number of clips, >= 1, or ``None`` for ``passes`` clips per file (of the
            split).
        duration_s: length of each clip in seconds.
        sample_rate: sample rate of the clips in Hz.
        seed: integer seed of the dataset.
        extensions: file extensions to include (case-insensitive).
        split: ``None`` (every file), ``"train"``, ``"valid"`` or ``"test"``.
        passes: clips per file when ``num_items`` is ``None`` (a positive integer).
        skip_bad_files: warn about and skip unreadable files instead of raising.
        pattern: only files whose name matches this shell pattern (``fnmatch``, e.g.
            ``"input_*"``); ``None`` for all.

    Raises:
        ValueError: if ``root`` does not exist or holds no audio file (matching ``pattern``),
            on a bad ``split``, or with ``split`` and fewer than 3 files.
    """

    def __init__(self, root: str | os.PathLike, num_items: int | None, duration_s: float = 1.0,
                 sample_rate: int = 44100, seed: int = 0,
                 extensions: Sequence[str] = AUDIO_EXTENSIONS, split: str | None = None,
                 passes: int = 1, skip_bad_files: bool = False, pattern: str | None = None):
        if split is not None and split not in FOLDER_SPLITS:
            raise ValueError(f"split must be None or one of {list(FOLDER_SPLITS)}, got "
                             f"{split!r}")
        if isinstance(extensions, str):
            extensions = (extensions,)
        self.root = Path(root)
        self.extensions = tuple(extensions)
        self.split = split
        self.skip_bad_files = check_bool(skip_bad_files, "skip_bad_files")
        files = find_audio_files(root, self.extensions)
        if pattern is not None:
            files = [f for f in files if fnmatch.fnmatch(f.name, pattern)]
        if not files:
            matching = "" if pattern is None else f" named like {pattern!r}"
            raise ValueError(f"root {str(root)!r} holds no audio file{matching} with an "
                             f"extension in {list(self.extensions)}")
        self.files = files if split is None else split_files(files, root)[split]
        super().__init__(_items_for(num_items, passes, len(self.files), "files"), duration_s,
                         sample_rate, seed)

    def _describe(self) -> str:
        return f"FolderClips(root={str(self.root)!r}, split={self.split!r})"

    def _draw(self, rng: np.random.Generator, index: int) -> np.ndarray:
        path = self.files[int(rng.integers(0, len(self.files)))]
        try:
            info = sf.info(str(path))
            rate = int(info.samplerate)
            # frames needed at the file's rate (one more so the resampler has the whole window)
            needed = int(math.ceil(self.duration_s * rate))
            if rate != self.sample_rate:
                needed += 1
            start = int(rng.integers(0, max(0, info.frames - needed) + 1))
            data, rate = sf.read(str(path), start=start, frames=needed, dtype="float32",
                                 always_2d=True)
        except (RuntimeError, OSError) as err:  # sf.LibsndfileError: not audio, corrupt
            raise UnreadableFileError(path, str(err)) from None
        if not np.isfinite(data).all():
            raise UnreadableFileError(path, "it holds NaN or Inf samples")
        mono = data.mean(axis=1, dtype=np.float64)
        return _resample(mono, rate, self.sample_rate)


class MusdbClips(ClipSource):
    """Random windows of MUSDB18 mixtures, read through the ``musdb`` package.

    ``musdb.DB(root=root, subsets=subset, split=split, is_wav=is_wav)`` lists the tracks once;
    item ``i`` picks a track (uniformly), sets ``track.chunk_duration = duration_s`` and
    ``track.chunk_start`` uniform in ``[0, track.duration − duration_s]``, reads the mixture
    (``track.audio``, ``(samples, 2)``), mixes it to mono and resamples it with ``soxr`` when
    ``track.rate`` differs from ``sample_rate``. The BE-AFX splits are ``subset="train",
    split="train"`` (86 tracks), ``subset="train", split="valid"`` (14) and ``subset="test"`` (50).

    ``musdb`` reads every mixture's header (with ffprobe) when it lists the tracks, and one bad
    file stops it with an error that does not name the file. The tracks are then listed one by
    one with ``musdb.MultiTrack`` (the package's own class, with the package's validation split)
    to find the bad files: :class:`UnreadableFileError` names the first, or, with
    ``skip_bad_files=True``, a warning names each and the other tracks are used. A mixture that
    fails to decode when an item reads it is handled the same way (error, or warning and a new
    draw).

    Args:
        root: MUSDB18 root (``train/`` and ``test/`` with ``.stem.mp4`` files, or with one folder
            of WAV stems per track when ``is_wav``, as in MUSDB18-HQ).
        num_items: number of clips, >= 1, or ``None`` for ``passes`` clips per track.
        subset: ``"train"`` or ``"test"``.
        split: ``None``, ``"train"`` or ``"valid"`` (only with ``subset="train"``).
        duration_s: length of each clip in seconds.
        sample_rate: sample rate of the clips in Hz.
        seed: integer seed of the dataset.
        is_wav: read the MUSDB18-HQ WAV layout instead of stems.
        passes: clips per track when ``num_items`` is ``None`` (5 in BE-AFX for train and
            valid, 10 for test).
        skip_bad_files: warn about and skip unreadable mixtures instead of raising.

    Raises:
        ValueError: on a bad ``subset`` / ``split``, if the database holds no track, or on an
            unreadable mixture (unless ``skip_bad_files``).
        ImportError: if ``musdb`` is not installed (``pip install dasp_blind[musdb]``).
    """

    def __init__(self, root: str | os.PathLike, num_items: int | None, subset: str = "train",
                 split: str | None = None, duration_s: float = 1.0, sample_rate: int = 44100,
                 seed: int = 0, is_wav: bool = False, passes: int = 1,
                 skip_bad_files: bool = False):
        if subset not in ("train", "test"):
            raise ValueError(f"subset must be 'train' or 'test', got {subset!r}")
        if split not in (None, "train", "valid"):
            raise ValueError(f"split must be None, 'train' or 'valid', got {split!r}")
        if split is not None and subset != "train":
            raise ValueError(f"split={split!r} needs subset='train', got subset={subset!r}")
        if not Path(root).is_dir():
            raise ValueError(f"root must be an existing MUSDB18 directory, got {str(root)!r}")
        try:
            import musdb
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError("MusdbClips needs the musdb package: "
                              "pip install 'dasp_blind[musdb]'") from err
        self.root = Path(root)
        self.subset = subset
        self.split = split
        self.is_wav = bool(is_wav)
        self.skip_bad_files = check_bool(skip_bad_files, "skip_bad_files")
        self.tracks = self._list_tracks(musdb)
        if not self.tracks:
            layout = "<track>/mixture.wav folders" if self.is_wav else ".stem.mp4 files"
            raise ValueError(f"root {str(root)!r} holds no MUSDB track for subset={subset!r}, "
                             f"split={split!r} (expected {layout} under {subset}/; "
                             f"is_wav={self.is_wav})")
        super().__init__(_items_for(num_items, passes, len(self.tracks), "tracks"),
                         duration_s, sample_rate, seed)

    def _list_tracks(self, musdb) -> list:
        """The tracks of the subset / split, as ``musdb.DB`` lists them when every file reads."""
        try:
            return list(musdb.DB(root=str(self.root), subsets=self.subset, split=self.split,
                                 is_wav=self.is_wav).tracks)
        except Exception as err:  # ffprobe's errors come as several types
            failure = err
        tracks, bad = self._list_tracks_one_by_one(musdb)
        if not bad:
            raise failure
        if not self.skip_bad_files:
            path, reason = bad[0]
            raise UnreadableFileError(path, reason) from failure
        for path, reason in bad:
            warnings.warn(f"{self._describe()}: skipping a bad file "
                          f"({UnreadableFileError(path, reason)})", UserWarning, stacklevel=3)
        return tracks

    def _list_tracks_one_by_one(self, musdb) -> tuple[list, list[tuple[Path, str]]]:
        """``(tracks, [(path, reason) of each mixture that musdb cannot open])``, listing the
        subset folder as ``musdb.DB`` does (sorted names, the package's validation tracks)."""
        setup = musdb.DB(root=str(self.root), subsets=[], is_wav=self.is_wav).setup
        folder = self.root / self.subset
        if self.is_wav:
            entries = sorted((d.name, d / setup["mixture"]) for d in folder.iterdir()
                             if d.is_dir())
        else:
            entries = sorted((f.name[: -len(".stem.mp4")], f) for f in folder.iterdir()
                             if f.name.endswith(".stem.mp4"))
        valid = set(setup["validation_tracks"])
        if self.split is not None:
            entries = [(n, p) for n, p in entries if (n in valid) == (self.split == "valid")]
        tracks, bad = [], []
        for name, path in entries:
            try:
                tracks.append(musdb.MultiTrack(name=name, path=str(path), subset=self.subset,
                                               is_wav=self.is_wav,
                                               stem_id=setup["stem_ids"]["mixture"]))
            except Exception as err:  # ffprobe's errors come as several types
                bad.append((path, _describe_error(err)))
        return tracks, bad

    def _describe(self) -> str:
        return (f"MusdbClips(root={str(self.root)!r}, subset={self.subset!r}, "
                f"split={self.split!r})")

    def _draw(self, rng: np.random.Generator, index: int) -> np.ndarray:
        track = self.tracks[int(rng.integers(0, len(self.tracks)))]
        longest_start = max(0.0, float(track.duration) - self.duration_s)
        track.chunk_duration = self.duration_s
        track.chunk_start = float(rng.uniform(0.0, longest_start))
        try:
            audio = np.asarray(track.audio, dtype=np.float64)  # (samples, channels)
        except Exception as err:  # ffmpeg's errors come as several types
            raise UnreadableFileError(track.path, _describe_error(err)) from None
        if not np.isfinite(audio).all():
            raise UnreadableFileError(track.path, "it holds NaN or Inf samples")
        rate = float(track.rate)
        mono = audio.mean(axis=1) if audio.ndim == 2 else audio
        mono = _fit_length(mono, int(round(self.duration_s * rate)))
        return _resample(mono, rate, self.sample_rate)


def _describe_error(err: Exception) -> str:
    """A one-line description of a decoder's exception: its type and the last line of ffmpeg's
    stderr (``ffmpeg.Error`` says only "see stderr output for detail") or of its message
    (stempeg's warnings hold ffprobe's whole output; the last line says what went wrong)."""
    stderr = getattr(err, "stderr", None)
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else ""
    lines = [line.strip() for line in (text or str(err)).splitlines() if line.strip()]
    return f"{type(err).__name__}: {lines[-1] if lines else ''}"


class InterleavedClips(ClipSource):
    """Clips taken in turn from several clip sources of the same length and rate.

    Item ``i`` is item ``i // k`` of ``sources[i % k]`` (``k = len(sources)``), in every epoch:
    the index ``(epoch, i)`` asks that source for ``(epoch, i // k)``, so each part still draws
    new clips every epoch. Every clip keeps its source's level (synthetic guitar at DI levels,
    the others peak-normalised). ``build_clips("mixed", ...)`` interleaves the synthetic guitar
    with synthetic music, so that a model sees single instruments and dense mixes alike.

    Args:
        sources: two or more clip sources with one ``sample_rate`` and ``num_samples``; source
            ``j`` holds ``ceil((n - j) / k)`` items, where ``n`` is their total (what a
            round-robin deal of ``n`` items gives).

    Raises:
        ValueError: if ``sources`` are fewer than two, not clip sources, of different rates or
            lengths, or not sized for a round-robin deal.
    """

    def __init__(self, sources: Sequence[ClipSource]):
        sources = list(sources) if isinstance(sources, Sequence) else []
        if len(sources) < 2 or not all(isinstance(s, ClipSource) for s in sources):
            raise ValueError("sources must be a sequence of two or more ClipSource datasets")
        first = sources[0]
        for source in sources[1:]:
            if (source.sample_rate, source.num_samples) != (first.sample_rate,
                                                            first.num_samples):
                raise ValueError(f"sources must share sample_rate and num_samples, got "
                                 f"{first.sample_rate} Hz x {first.num_samples} and "
                                 f"{source.sample_rate} Hz x {source.num_samples}")
        total, k = sum(len(s) for s in sources), len(sources)
        dealt = [-(-(total - j) // k) for j in range(k)]
        if [len(s) for s in sources] != dealt:
            raise ValueError(f"sources must hold {dealt} items (a round-robin deal of {total}), "
                             f"got {[len(s) for s in sources]}")
        super().__init__(total, first.duration_s, first.sample_rate, first.seed)
        self.sources = sources

    def _describe(self) -> str:
        return f"InterleavedClips({', '.join(s._describe() for s in self.sources)})"

    def __getitem__(self, index: int | tuple[int, int]) -> Tensor:
        epoch, i = epoch_and_item(index, self.num_items)
        k = len(self.sources)
        return self.sources[i % k][(epoch, i // k)]


def build_clips(source: str, num_items: int | None, duration_s: float = 1.0,
                sample_rate: int = 44100, seed: int = 0, root: str | os.PathLike | None = None,
                subset: str = "train", split: str | None = None, is_wav: bool = False,
                dynamics: bool = False, passes: int = 1, skip_bad_files: bool = False,
                style: str = "basic") -> ClipSource:
    """Build a clip source by name.

    Args:
        source: ``"synthetic"`` (:class:`SyntheticClips`), ``"guitar"``
            (:class:`~dasp_blind.data.guitar.SyntheticGuitarClips`: clean guitar at DI
            levels, not peak-normalised), ``"folder"`` (:class:`FolderClips` over ``root`` with
            ``split``), ``"musdb"`` (:class:`MusdbClips` over ``root`` with ``subset``,
            ``split`` and ``is_wav``) or ``"mixed"`` (:class:`InterleavedClips`: the synthetic
            guitar at even items, synthetic music with ``style`` and ``dynamics`` at odd ones;
            ``num_items >= 2``).
        num_items: number of clips, >= 1; ``None`` (folder and MUSDB only) for ``passes`` clips
            per file or track.
        duration_s: length of each clip in seconds.
        sample_rate: sample rate of the clips in Hz.
        seed: integer seed of the dataset.
        root: folder of audio files or MUSDB18 root; required for ``"folder"`` and ``"musdb"``.
        subset: MUSDB subset, ``"train"`` or ``"test"`` (ignored by the other sources).
        split: ``None`` or, for a folder, ``"train"``, ``"valid"`` or ``"test"``; for MUSDB,
            ``"train"`` or ``"valid"`` (ignored by the synthetic source).
        is_wav: read the MUSDB18-HQ WAV layout (ignored by the other sources).
        dynamics: render synthetic music with varied levels (see :class:`SyntheticClips`;
            ignored by the other sources).
        passes: clips per file or track when ``num_items`` is ``None``.
        skip_bad_files: warn about and skip unreadable files (folder and MUSDB).
        style: style of the synthetic music (``"basic"``, ``"random"`` or a genre; ignored by
            the other sources).

    Raises:
        ValueError: on an unknown ``source`` or a missing ``root``.
    """
    name = source.lower() if isinstance(source, str) else source
    if name == "synthetic":
        return SyntheticClips(num_items, duration_s, sample_rate, seed, dynamics=dynamics,
                              style=style)
    if name == "guitar":
        from .guitar import SyntheticGuitarClips  # guitar.py builds on this module

        return SyntheticGuitarClips(num_items, duration_s, sample_rate, seed)
    if name == "mixed":
        from .guitar import SyntheticGuitarClips

        count = _check_num_items(num_items)
        if count < 2:
            raise ValueError(f"source='mixed' needs num_items >= 2 (guitar and music), got "
                             f"{num_items!r}")
        return InterleavedClips([
            SyntheticGuitarClips(count - count // 2, duration_s, sample_rate, seed),
            SyntheticClips(count // 2, duration_s, sample_rate, seed, dynamics=dynamics,
                           style=style)])
    if name in ("folder", "musdb"):
        if root is None:
            raise ValueError(f"source={source!r} needs root (a directory), got root=None")
        if name == "folder":
            return FolderClips(root, num_items, duration_s, sample_rate, seed, split=split,
                               passes=passes, skip_bad_files=skip_bad_files)
        return MusdbClips(root, num_items, subset=subset, split=split, duration_s=duration_s,
                          sample_rate=sample_rate, seed=seed, is_wav=is_wav, passes=passes,
                          skip_bad_files=skip_bad_files)
    raise ValueError(f"source must be 'synthetic', 'guitar', 'mixed', 'folder' or 'musdb', "
                     f"got {source!r}")


__all__ = ["AUDIO_EXTENSIONS", "FOLDER_SPLITS", "MAX_TRIES", "SILENCE_PEAK", "ClipSource",
           "FolderClips", "InterleavedClips", "MusdbClips", "SyntheticClips",
           "UnreadableFileError", "build_clips", "epoch_and_item", "find_audio_files",
           "split_files"]
