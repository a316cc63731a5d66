"""Datasets of dry / wet pairs for effect modelling.

Each dataset is a :class:`torch.utils.data.Dataset` whose item is a dict of float32 tensors

* ``"input"``: ``(channels, T)``, what the model reads (the dry signal when emulating an effect);
* ``"target"``: ``(channels, T)``, what it should output (the wet signal);
* ``"controls"``: ``(num_controls,)`` normalised knob values in ``[0, 1]``, only where the pairs
  carry them (``num_controls`` is an attribute of every dataset; 0 means no ``"controls"``).

The default collate stacks them into ``(batch, channels, T)`` and ``(batch, num_controls)``.

Three sources:

* :class:`PairFolder` / :class:`PairFiles`: recorded pairs, in the layout of
  Automated-GuitarAmpModelling (``NAME-input.wav`` / ``NAME-target.wav``, optionally under
  ``train/``, ``val/``, ``test/``) or any explicit list of (input, target) files, e.g. one long
  DI recording and its re-amped version, cut into consecutive segments.
* :class:`IDMTPairs`: the IDMT-SMT-Audio-Effects dataset (Stein, zenodo 7544032), each
  processed note paired with its unprocessed original through the file-name code.
* :class:`SyntheticPairs`: clean audio of the library's clip sources (synthetic guitar,
  synthetic music or a folder) through one of the library's effects
  (:data:`SYNTHETIC_EFFECTS`), with seeded random or fixed controls.

``direction="removal"`` (IDMT and synthetic pairs) swaps the roles: the wet signal is the
input and the dry signal the target, the data of distortion removal.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.signal
import torch
from torch import Tensor
from torch.utils.data import Dataset

from .._checks import (
    check_bool,
    check_choice,
    check_in_interval,
    check_int,
    check_integer_rate,
    check_positive,
    check_seed,
)
from ..data.audio import load_audio
from ..data.clips import AUDIO_EXTENSIONS, build_clips, epoch_and_item, find_audio_files
from ..data.pairs import _item_seed, clip_of
from ..effects import Chorus, Compressor, HardClip, SoxOverdrive, Tremolo
from ..effects.base import Effect
from ..functional.units import db_to_gain

#: Sub-folders of an Automated-GuitarAmpModelling data folder that ``split`` selects.
PAIR_SPLITS = ("train", "val", "test")
#: The roles of the files of a pair, as their names end: ``NAME-input`` and ``NAME-target``.
PAIR_ROLES = ("input", "target")
#: Half-width in seconds of the lag range :func:`estimate_lag` searches for the alignment check.
ALIGNMENT_SEARCH_S = 0.1
#: ``"emulation"``: input dry, target wet; ``"removal"``: input wet, target dry.
DIRECTIONS = ("emulation", "removal")

#: IDMT-SMT-Audio-Effects effect codes ``HH`` of the file names, by name (``"11"`` is the dry,
#: unprocessed note; ``"12"``, "no effect, amp simulation", counts as an effect).
IDMT_EFFECTS = {
    "amp_simulation": "12",
    "feedback_delay": "21",
    "slapback_delay": "22",
    "reverb": "23",
    "chorus": "31",
    "flanger": "32",
    "phaser": "33",
    "tremolo": "34",
    "vibrato": "35",
    "distortion": "41",
    "overdrive": "42",
}
#: IDMT-SMT-Audio-Effects instrument letters ``A`` of the file names, by name.
IDMT_INSTRUMENTS = {"bass": "B", "guitar": "G", "polyphonic_guitar": "P"}
#: The effect part ``GHHI`` of the name of an unprocessed (dry) IDMT note.
IDMT_DRY_CODE = "1111"
# ABC-DDEFF-GHHI-KKKKK: instrument, setting, technique - pitch, string / polyphony, fret -
# effect group, effect, effect setting - running id.
_IDMT_NAME = re.compile(r"^(?P<key>(?P<instrument>[A-Z])\d\d-\d{5})-"
                        r"(?P<code>\d(?P<effect>\d\d)(?P<setting>[1-3]))-(?P<id>\d{5})$")

#: Effects of :class:`SyntheticPairs` by name, each the library's effect class that renders it.
SYNTHETIC_EFFECTS: dict[str, type[Effect]] = {
    "overdrive": SoxOverdrive,  # the SoX overdrive of Imort et al. (gain_db, colour)
    "distortion": HardClip,  # gain, then hard clipping at +-1 (gain_db)
    "chorus": Chorus,
    "tremolo": Tremolo,
    "compressor": Compressor,
}
#: Clip sources of :class:`SyntheticPairs` and the :func:`~dasp_blind.data.clips.build_clips`
#: source each one builds.
SYNTHETIC_SOURCES = {"guitar": "guitar", "music": "synthetic", "mixed": "mixed",
                     "folder": "folder"}


# ------------------------------------------------------------------------------- helpers

def _resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample ``(channels, samples)`` float32 audio with ``soxr`` (high quality)."""
    if rate_in == rate_out or audio.shape[1] == 0:
        return audio
    import soxr

    out = soxr.resample(np.ascontiguousarray(audio.T), rate_in, rate_out, quality="HQ")
    return np.ascontiguousarray(out.T, dtype=np.float32)


def _fit(audio: np.ndarray, start: int, length: int) -> np.ndarray:
    """``audio[:, start:start + length]``, zero-padded at the end to ``length`` samples."""
    part = audio[:, start:start + length]
    if part.shape[1] < length:
        part = np.pad(part, [(0, 0), (0, length - part.shape[1])])
    return np.ascontiguousarray(part, dtype=np.float32)


def _samples(seconds: float, rate: int, name: str) -> int:
    """``round(seconds · rate)``, which must be at least one sample."""
    n = int(round(seconds * rate))
    if n < 1:
        raise ValueError(f"{name}={seconds!r} s at {rate} Hz gives no samples")
    return n


def _check_pair(input_path: Path, target_path: Path, x: np.ndarray, rate_x: int, y: np.ndarray,
                rate_y: int, check_length: bool = True) -> None:
    """Raise a ValueError naming both files if a pair differs in rate, channels or length."""
    pair = f"input {str(input_path)!r} and target {str(target_path)!r}"
    if rate_x != rate_y:
        raise ValueError(f"{pair} have different sample rates ({rate_x} Hz and {rate_y} Hz); "
                         f"both files of a pair must share one rate")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{pair} have different channel counts ({x.shape[0]} and "
                         f"{y.shape[0]}); both files of a pair must have the same channels")
    if check_length and x.shape[1] != y.shape[1]:
        raise ValueError(f"{pair} have different lengths ({x.shape[1]} and {y.shape[1]} "
                         f"samples at {rate_x} Hz); both files of a pair must have the same "
                         f"length (tolerance 0 samples): they are misaligned or do not belong "
                         f"together")


def estimate_lag(input: np.ndarray | Tensor, target: np.ndarray | Tensor,
                 max_lag: int) -> int:
    """The delay of ``target`` against ``input`` in samples, by cross-correlation.

    The channels of each signal are averaged; the lag ``k`` in ``[-max_lag, max_lag]`` that
    maximises ``|sum_n target[n]·input[n - k]|`` is returned (the absolute value, so an effect
    that flips the polarity still aligns). A target delayed by ``d`` samples gives ``d``; 0 when
    either signal is silent.

    Args:
        input: ``(channels, samples)`` or ``(samples,)``.
        target: ``(channels, samples)`` or ``(samples,)``.
        max_lag: largest lag searched, an integer ``>= 0``.
    """
    max_lag = check_int(max_lag, "max_lag", low=0)
    x, y = (np.asarray(s, dtype=np.float64) for s in (input, target))
    x, y = (s.mean(axis=0) if s.ndim == 2 else s for s in (x, y))
    corr = scipy.signal.correlate(y, x, mode="full", method="fft")
    lags = scipy.signal.correlation_lags(y.size, x.size, mode="full")
    window = np.abs(lags) <= max_lag
    corr, lags = np.abs(corr[window]), lags[window]
    if corr.size == 0 or not corr.max() > 0:
        return 0
    return int(lags[np.argmax(corr)])


def _segment_starts(num_samples: int, length: int, hop: int, pad_last: bool) -> list[int]:
    """Starts of the segments of ``length`` samples, ``hop`` apart, of ``num_samples`` samples:
    every full segment, and with ``pad_last`` one more partial segment when samples are left
    over at the end (or when the signal is shorter than one segment)."""
    starts = list(range(0, num_samples - length + 1, hop))
    covered = starts[-1] + length if starts else 0
    if pad_last and covered < num_samples:
        starts.append(starts[-1] + hop if starts else 0)
    return starts


# ----------------------------------------------------------------------------- recorded pairs

class PairFiles(Dataset):
    """Consecutive segments of recorded (input, target) pairs of audio files.

    Every pair is read whole when the dataset is built (``soundfile`` through
    :func:`~dasp_blind.data.audio.load_audio`) and kept in memory as float32 (4 bytes per
    sample and channel for each of the two files: a 3-minute stereo pair at 48 kHz takes
    138 MB), so that

    * every mismatch is found at once, as a ``ValueError`` naming the file(s): input and target
      of a pair must have the same sample rate, channel count and length (a tolerance of 0
      samples), all pairs the same channel count and, without ``sample_rate``, the same rate;
    * resampling (``soxr``, high quality, when ``sample_rate`` differs from a pair's rate) runs
      once over the whole files, identically for input and target, with no edge effects at
      segment boundaries;
    * items are cheap slices, the same in every DataLoader worker (forked workers share the
      arrays).

    Each pair is cut into segments of ``segment_s`` seconds whose starts are ``hop_s`` apart
    (``hop_s < segment_s`` overlaps them). The last partial segment of a pair is **dropped** by
    default, as Automated-GuitarAmpModelling frames its data; with ``pad_last=True`` it is kept
    and zero-padded to the segment length (a pair shorter than one segment then gives one
    padded segment instead of none). Item ``i`` is ``{"input": (channels, T), "target":
    (channels, T)}`` with ``T = round(segment_s · sample_rate)``; :attr:`segments` lists
    ``(pair index, start sample)`` of each item, in pair order.

    Args:
        pairs: ``(input path, target path)`` of every pair, at least one.
        segment_s: segment length in seconds, ``> 0``.
        sample_rate: rate of the items in Hz; ``None`` keeps the files' rate (then every pair
            must have the same one).
        hop_s: seconds between segment starts, ``> 0``; ``None`` for ``segment_s`` (no
            overlap).
        pad_last: keep a zero-padded last partial segment instead of dropping it.
        alignment_tolerance: ``None`` (no check) or the largest lag in samples (at the files'
            rate) that :func:`estimate_lag` may find between input and target, searching
            ``±ALIGNMENT_SEARCH_S`` seconds; a larger lag raises a ``ValueError`` naming the
            pair. A check for effects without latency (amps, pedals): an effect that delays its
            output (a 100 % wet chorus) fails it.

    Attributes:
        pairs: the pairs as ``(Path, Path)``.
        sample_rate: rate of the items in Hz.
        num_channels: channels of every item.
        segment_length: ``T``, samples per segment.
        hop: samples between segment starts.
        segments: ``(pair index, start)`` of every item.
        num_controls: 0 (recorded pairs carry no controls).

    Raises:
        ValueError: on a bad argument, an unreadable file or a mismatch (naming the files), or
            when no segment fits in the files.
        FileNotFoundError: if a file does not exist.
    """

    num_controls = 0

    def __init__(self, pairs: Sequence[tuple[str | os.PathLike, str | os.PathLike]],
                 segment_s: float, sample_rate: int | None = None, hop_s: float | None = None,
                 pad_last: bool = False, alignment_tolerance: int | None = None):
        if isinstance(pairs, (str, os.PathLike)) or not isinstance(pairs, Sequence):
            raise ValueError(f"pairs must be a sequence of (input path, target path), got "
                             f"{type(pairs).__name__}")
        if not pairs:
            raise ValueError("pairs must hold at least one (input path, target path) pair, "
                             "got none")
        if any(not isinstance(p, Sequence) or isinstance(p, str) or len(p) != 2 for p in pairs):
            raise ValueError(f"each pair must be (input path, target path), got {pairs!r}")
        segment_s = check_positive(segment_s, "segment_s")
        hop_s = segment_s if hop_s is None else check_positive(hop_s, "hop_s")
        rate = None if sample_rate is None else check_integer_rate(sample_rate)
        self.pad_last = check_bool(pad_last, "pad_last")
        tolerance = (None if alignment_tolerance is None
                     else check_int(alignment_tolerance, "alignment_tolerance", low=0))
        self.pairs = [(Path(i), Path(t)) for i, t in pairs]
        loaded = [self._load(i, t, tolerance) for i, t in self.pairs]
        self.sample_rate = self._common_rate(loaded, rate)
        self.num_channels = self._common_channels(loaded)
        self._inputs = [_resample(x, r, self.sample_rate) for x, _, r in loaded]
        self._targets = [_resample(y, r, self.sample_rate) for _, y, r in loaded]
        self.segment_length = _samples(segment_s, self.sample_rate, "segment_s")
        self.hop = _samples(hop_s, self.sample_rate, "hop_s")
        self.segments = [(p, start) for p, x in enumerate(self._inputs)
                         for start in _segment_starts(x.shape[1], self.segment_length, self.hop,
                                                      self.pad_last)]
        if not self.segments:
            longest = max(range(len(self.pairs)), key=lambda p: self._inputs[p].shape[1])
            raise ValueError(f"no segment of segment_s={segment_s:g} s "
                             f"({self.segment_length} samples at {self.sample_rate} Hz) fits in "
                             f"the files: the longest input, {str(self.pairs[longest][0])!r}, "
                             f"holds {self._inputs[longest].shape[1]} samples; use a shorter "
                             f"segment_s or pad_last=True")

    @staticmethod
    def _load(input_path: Path, target_path: Path,
              tolerance: int | None) -> tuple[np.ndarray, np.ndarray, int]:
        """Read a pair at its own rate and check it; ``(input, target, rate)``."""
        x, rate_x = load_audio(input_path)
        y, rate_y = load_audio(target_path)
        x, y = x.numpy(), y.numpy()
        _check_pair(input_path, target_path, x, rate_x, y, rate_y)
        if tolerance is not None:
            lag = estimate_lag(x, y, int(round(ALIGNMENT_SEARCH_S * rate_x)))
            if abs(lag) > tolerance:
                raise ValueError(f"target {str(target_path)!r} lags its input "
                                 f"{str(input_path)!r} by {lag} samples (cross-correlation "
                                 f"peak), more than alignment_tolerance={tolerance}; align the "
                                 f"files (a positive lag: the target is late)")
        return x, y, rate_x

    def _common_rate(self, loaded: list[tuple[np.ndarray, np.ndarray, int]],
                     rate: int | None) -> int:
        if rate is not None:
            return rate
        for p, (_, _, r) in enumerate(loaded):
            if r != loaded[0][2]:
                raise ValueError(f"input {str(self.pairs[p][0])!r} is at {r} Hz but "
                                 f"{str(self.pairs[0][0])!r} at {loaded[0][2]} Hz; pass "
                                 f"sample_rate to resample every pair to one rate")
        return loaded[0][2]

    def _common_channels(self, loaded: list[tuple[np.ndarray, np.ndarray, int]]) -> int:
        for p, (x, _, _) in enumerate(loaded):
            if x.shape[0] != loaded[0][0].shape[0]:
                raise ValueError(f"input {str(self.pairs[p][0])!r} has {x.shape[0]} channels "
                                 f"but {str(self.pairs[0][0])!r} has {loaded[0][0].shape[0]}; "
                                 f"every pair of a dataset must have the same channel count")
        return loaded[0][0].shape[0]

    def __len__(self) -> int:
        return len(self.segments)

    def __getitem__(self, index: int | tuple[int, int]) -> dict[str, Tensor]:
        _, i = epoch_and_item(index, len(self))
        p, start = self.segments[i]
        return {"input": torch.from_numpy(_fit(self._inputs[p], start, self.segment_length)),
                "target": torch.from_numpy(_fit(self._targets[p], start, self.segment_length))}


def find_pairs(folder: str | os.PathLike) -> list[tuple[Path, Path]]:
    """The ``NAME-input`` / ``NAME-target`` audio files of a folder (not its sub-folders), as
    ``(input, target)`` sorted by ``NAME``.

    Names are matched case-sensitively; any extension of
    :data:`~dasp_blind.data.clips.AUDIO_EXTENSIONS` counts (``.wav``, ``.flac``, ...), in any
    case. Other files are ignored.

    Raises:
        ValueError: if ``folder`` is not a directory, holds no pair, holds a ``NAME-input``
            without its ``NAME-target`` or the reverse (naming the file), or two files of one
            role and name (``a-input.wav`` and ``a-input.flac``, naming both).
    """
    base = Path(folder)
    if not base.is_dir():
        raise ValueError(f"folder must be an existing directory, got {str(folder)!r}")
    found: dict[tuple[str, str], Path] = {}
    for path in sorted(base.iterdir()):
        name, _, role = path.stem.rpartition("-")
        if (not path.is_file() or path.suffix.lower() not in AUDIO_EXTENSIONS or not name
                or role not in PAIR_ROLES or path.name.startswith(".")):
            continue
        if (name, role) in found:
            raise ValueError(f"two {role} files named {name!r}: {str(found[name, role])!r} and "
                             f"{str(path)!r}; keep one")
        found[name, role] = path
    for (name, role), path in found.items():
        other = "target" if role == "input" else "input"
        if (name, other) not in found:
            raise ValueError(f"{role} file {str(path)!r} has no {other} file: expected "
                             f"{str(base / f'{name}-{other}{path.suffix}')!r}")
    names = sorted({name for name, _ in found})
    if not names:
        raise ValueError(f"folder {str(folder)!r} holds no NAME-input / NAME-target pair of "
                         f"audio files")
    return [(found[n, "input"], found[n, "target"]) for n in names]


class PairFolder(PairFiles):
    """Segments of the ``NAME-input`` / ``NAME-target`` pairs of a folder
    (Automated-GuitarAmpModelling's layout, ``Data/{train,val,test}/NAME-{input,target}.wav``).

    The pairs are :func:`find_pairs` of ``root`` (``split=None``) or of ``root/split``; one
    long pair (a DI recording and the amp's output) or many short ones alike. Everything else
    is :class:`PairFiles`: segments of ``segment_s`` seconds, ``hop_s`` apart, the last partial
    segment dropped (or zero-padded with ``pad_last=True``), files held in memory, resampled
    with ``soxr`` when ``sample_rate`` differs from theirs, and every mismatch a ``ValueError``
    naming the file(s).

    Args:
        root: the data folder.
        segment_s: segment length in seconds.
        sample_rate: rate of the items in Hz, or ``None`` for the files' rate.
        split: ``None`` (the pairs in ``root``) or ``"train"``, ``"val"``, ``"test"`` (the
            pairs in that sub-folder).
        hop_s: seconds between segment starts (``None``: ``segment_s``).
        pad_last: keep a zero-padded last partial segment.
        alignment_tolerance: ``None`` or the largest lag in samples allowed between input and
            target (see :class:`PairFiles`).
    """

    def __init__(self, root: str | os.PathLike, segment_s: float,
                 sample_rate: int | None = None, split: str | None = None,
                 hop_s: float | None = None, pad_last: bool = False,
                 alignment_tolerance: int | None = None):
        self.root = Path(root)
        if not self.root.is_dir():
            raise ValueError(f"root must be an existing directory, got {str(root)!r}")
        self.split = None if split is None else check_choice(split, "split", PAIR_SPLITS)
        folder = self.root if split is None else self.root / split
        if split is not None and not folder.is_dir():
            raise ValueError(f"split={split!r}: root {str(root)!r} has no sub-folder "
                             f"{split!r}")
        if split is None and any((self.root / s).is_dir() for s in PAIR_SPLITS) and not any(
                p.is_file() and p.stem.endswith("-input") for p in self.root.iterdir()):
            raise ValueError(f"root {str(root)!r} holds the sub-folders of a split data set; "
                             f"pass split='train', 'val' or 'test'")
        super().__init__(find_pairs(folder), segment_s, sample_rate, hop_s, pad_last,
                         alignment_tolerance)


# ------------------------------------------------------------------------ IDMT-SMT-Audio-Effects

@dataclass(frozen=True)
class IDMTPair:
    """One processed IDMT note and its unprocessed original.

    Attributes:
        dry: path of the unprocessed note (effect code ``1111``).
        wet: path of the processed note.
        effect: name of the effect (a key of :data:`IDMT_EFFECTS`, or the two-digit code of an
            effect the table lacks).
        setting: the effect setting, 1, 2 or 3.
    """

    dry: Path
    wet: Path
    effect: str
    setting: int


def _names_to_codes(value: object, name: str, table: dict[str, str]) -> set[str] | None:
    """``None``, one name or a sequence of names of ``table`` -> the set of their codes."""
    if value is None:
        return None
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, Sequence) or not names:
        raise ValueError(f"{name} must be None, a name or a non-empty sequence of names from "
                         f"{sorted(table)}, got {value!r}")
    for n in names:
        if n not in table:
            raise ValueError(f"{name} must be None or names from {sorted(table)}, got {n!r}")
    return {table[n] for n in names}


class IDMTPairs(Dataset):
    """Dry / wet pairs of the IDMT-SMT-Audio-Effects dataset (Stein, zenodo 7544032).

    The dataset (55,044 mono WAV files, 44.1 kHz, 16 bit) holds single guitar and bass notes
    and polyphonic guitar sounds, each unprocessed and through 10 effects in 3 settings. Every
    file name codes its content as ``ABC-DDEFF-GHHI-KKKKK`` (the dataset's ``ReadMe.txt``):
    instrument ``A`` (``B`` bass, ``G`` guitar, ``P`` polyphonic guitar), instrument setting
    ``B``, playing technique ``C``, MIDI pitch ``DD``, string ``E`` and fret ``FF`` (polyphonic:
    polyphony type ``EE`` and ``F = 0``), effect group ``G``, effect ``HH``
    (:data:`IDMT_EFFECTS`; ``11`` none), effect setting ``I`` (1 to 3), and a running id
    ``KKKKK`` that differs between a note's versions. The pairing rule: a processed file's
    unprocessed original is the file with the same ``ABC-DDEFF`` and ``GHHI = 1111``, e.g.
    ``Gitarre monophon/Samples/Distortion/G73-64505-4411-37732.wav`` pairs with
    ``G73-64505-1111-*.wav`` in a ``NoFX`` folder.

    The files are found anywhere under ``root`` (``Bass monophon/``, ``Gitarre monophon2/``,
    ... with ``Samples/<Effect>/``): a processed note in one folder pairs with its original in
    another. WAV files whose names do not follow the scheme are ignored, and so is a second
    file of the same name (a copy in another folder, e.g. an archive extracted twice).
    Unprocessed files with ``GHHI`` other than ``1111`` are neither dry nor wet.

    Files are read when an item is asked for (``soundfile``), whole: item ``i`` is
    ``{"input": (1, T), "target": (1, T), "controls": (1,)}`` with the dry note as input and
    the wet one as target (``direction="removal"`` swaps them), and ``controls`` the effect
    setting normalised to ``(I − 1) / 2`` (0, 0.5 or 1). Both files are checked then: a
    different sample rate or channel count, or, without ``duration_s``, a different length,
    raises a ``ValueError`` naming both. With ``duration_s`` both are cropped or zero-padded to
    ``round(duration_s · sample_rate)`` samples (notes of different lengths then batch
    together). With ``sample_rate`` both are resampled with ``soxr``.

    Args:
        root: the dataset's folder (anything above the ``Samples`` folders).
        effect: ``None`` (every effect), a name of :data:`IDMT_EFFECTS` or a sequence of names.
        setting: ``None`` (every setting), 1, 2, 3 or a sequence of them.
        instrument: ``None`` (all), a name of :data:`IDMT_INSTRUMENTS` or a sequence of names.
        sample_rate: rate of the items in Hz; ``None`` keeps the files' rate (44.1 kHz).
        duration_s: crop / zero-pad both files to this length in seconds; ``None`` keeps
            whole files (which must then have equal lengths).
        direction: ``"emulation"`` (input dry, target wet) or ``"removal"`` (the reverse).
        skip_unpaired: warn about and leave out processed files without an original, instead
            of raising.

    Attributes:
        pairs: the :class:`IDMTPair` of every item, sorted by the wet file's path.
        num_controls: 1 (the setting).

    Raises:
        ValueError: on a bad argument, if ``root`` holds no matching processed file, on a
            processed file without its original (naming it, unless ``skip_unpaired``), or on
            two different originals of one note (naming both).
    """

    num_controls = 1

    def __init__(self, root: str | os.PathLike, effect: str | Sequence[str] | None = None,
                 setting: int | Sequence[int] | None = None,
                 instrument: str | Sequence[str] | None = None, sample_rate: int | None = None,
                 duration_s: float | None = None, direction: str = "emulation",
                 skip_unpaired: bool = False):
        self.root = Path(root)
        effects = _names_to_codes(effect, "effect", IDMT_EFFECTS)
        instruments = _names_to_codes(instrument, "instrument", IDMT_INSTRUMENTS)
        settings = self._settings(setting)
        self.sample_rate = None if sample_rate is None else check_integer_rate(sample_rate)
        self.duration_s = None if duration_s is None else check_positive(duration_s,
                                                                         "duration_s")
        self.direction = check_choice(direction, "direction", DIRECTIONS)
        skip = check_bool(skip_unpaired, "skip_unpaired")
        dry: dict[str, Path] = {}
        wet: list[tuple[Path, re.Match]] = []
        seen: set[str] = set()
        for path in find_audio_files(root, (".wav",)):
            match = _IDMT_NAME.match(path.stem)
            if match is None or path.name in seen:
                continue
            seen.add(path.name)
            if match["code"] == IDMT_DRY_CODE:
                if match["key"] in dry:
                    raise ValueError(f"two unprocessed files of note {match['key']!r}: "
                                     f"{str(dry[match['key']])!r} and {str(path)!r}")
                dry[match["key"]] = path
            elif (match["effect"] != "11" and (effects is None or match["effect"] in effects)
                  and (settings is None or int(match["setting"]) in settings)
                  and (instruments is None or match["instrument"] in instruments)):
                wet.append((path, match))
        names = {code: n for n, code in IDMT_EFFECTS.items()}
        self.pairs: list[IDMTPair] = []
        for path, match in wet:
            original = dry.get(match["key"])
            if original is None:
                message = (f"processed file {str(path)!r} has no unprocessed original "
                           f"{match['key']}-{IDMT_DRY_CODE}-*.wav under root {str(root)!r}")
                if not skip:
                    raise ValueError(message)
                warnings.warn(f"IDMTPairs: skipping it: {message}", UserWarning, stacklevel=2)
                continue
            self.pairs.append(IDMTPair(original, path, names.get(match["effect"],
                                                                 match["effect"]),
                                       int(match["setting"])))
        if not self.pairs:
            raise ValueError(f"root {str(root)!r} holds no IDMT-SMT-Audio-Effects processed "
                             f"file with an original for effect={effect!r}, "
                             f"setting={setting!r}, instrument={instrument!r}")

    @staticmethod
    def _settings(setting: object) -> set[int] | None:
        if setting is None:
            return None
        values = setting if isinstance(setting, Sequence) and not isinstance(setting, str) \
            else [setting]
        if not values:
            raise ValueError("setting must be None, 1, 2, 3 or a non-empty sequence of them, "
                             "got an empty sequence")
        return {check_int(v, "setting", 1, 3) for v in values}

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int | tuple[int, int]) -> dict[str, Tensor]:
        _, i = epoch_and_item(index, len(self))
        pair = self.pairs[i]
        x, rate_x = load_audio(pair.dry)
        y, rate_y = load_audio(pair.wet)
        x, y = x.numpy(), y.numpy()
        _check_pair(pair.dry, pair.wet, x, rate_x, y, rate_y,
                    check_length=self.duration_s is None)
        rate = rate_x if self.sample_rate is None else self.sample_rate
        x, y = _resample(x, rate_x, rate), _resample(y, rate_x, rate)
        if self.duration_s is not None:
            n = _samples(self.duration_s, rate, "duration_s")
            x, y = _fit(x, 0, n), _fit(y, 0, n)
        dry, wet = torch.from_numpy(x), torch.from_numpy(y)
        source, target = (dry, wet) if self.direction == "emulation" else (wet, dry)
        controls = torch.tensor([(pair.setting - 1) / 2], dtype=torch.float32)
        return {"input": source, "target": target, "controls": controls}


# ------------------------------------------------------------------------------ synthetic pairs

#: Mixed into an item's seed for its level, so that level and controls are independent draws.
_LEVEL_SALT = 0x1E7E1
#: The highest peak ``peak_db`` may ask for, in dBFS.
MAX_PEAK_DB = 20.0


def check_peak_db(peak_db: object) -> tuple[float, float] | None:
    """``peak_db`` as ``(low, high)`` floats, checked (``None`` passes)."""
    if peak_db is None:
        return None
    if (isinstance(peak_db, str) or not isinstance(peak_db, Sequence) or len(peak_db) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool)
                       and np.isfinite(v) for v in peak_db)
            or not peak_db[0] <= peak_db[1] <= MAX_PEAK_DB):
        raise ValueError(f"peak_db must be None or (low, high) in dBFS with low <= high <= "
                         f"{MAX_PEAK_DB:g}, got {peak_db!r}")
    return float(peak_db[0]), float(peak_db[1])


def check_edge_probability(value: object) -> float:
    """``edge_probability`` checked: a number in ``[0, 1)``."""
    probability = check_in_interval(value, "edge_probability", 0.0, 1.0)
    if probability >= 1.0:
        raise ValueError(f"edge_probability must be below 1, got {value!r}")
    return probability


class SyntheticPairs(Dataset):
    """Clean clips of a library source through one of the library's effects.

    Item ``i`` takes clip ``i`` of ``build_clips(source, num_items, duration_s, sample_rate,
    seed)`` (:data:`SYNTHETIC_SOURCES`: ``"guitar"`` synthetic DI guitar, peaks in
    ``[-18, -1]`` dBFS; ``"music"`` synthetic music, peak-normalised to 1; ``"mixed"`` the two
    in turn, guitar at even items and music of random genres with dynamics at odd ones
    (:class:`~dasp_blind.data.clips.InterleavedClips`), the source to train on when the model
    must hold for single instruments and full mixes alike; ``"folder"`` random windows of the
    audio files under ``root``, peak-normalised), and renders
    ``wet = effect(dry[None], q[None])[0]`` under ``torch.no_grad()`` with the effect of
    :data:`SYNTHETIC_EFFECTS` built at ``sample_rate``. The controls ``q`` are

    * ``controls="random"``: drawn uniformly in ``[0, 1]`` (``effect.param_space.sample``)
      from a seed derived from ``(seed, i)``, as in
      :class:`~dasp_blind.data.pairs.EffectPairDataset`; the item then holds them as
      ``"controls"`` (``(num_controls,)``, columns in ``control_names`` order), so that a
      conditioned model can learn the knobs;
    * a dict ``{name: normalised value in [0, 1]}``: the same for every item (names missing
      from it take the effect's default); the item holds no ``"controls"``.

    Item ``i`` depends only on ``(seed, i)``: the same in every process, DataLoader workers
    included, and on every access; items differ from each other. The index may also be
    ``(epoch, i)`` (:class:`~dasp_blind.data.pairs.EpochSampler`): a new clip and new random
    controls for every epoch after the first.

    Args:
        effect: a name of :data:`SYNTHETIC_EFFECTS` (``"overdrive"``, ``"distortion"``,
            ``"chorus"``, ``"tremolo"``, ``"compressor"``).
        source: ``"guitar"``, ``"music"``, ``"mixed"`` or ``"folder"``.
        num_items: number of items, ``>= 1`` (``>= 2`` for ``"mixed"``).
        duration_s: length of each item in seconds.
        sample_rate: sample rate in Hz.
        seed: integer seed ``>= 0``.
        direction: ``"emulation"`` (input dry, target wet) or ``"removal"`` (input wet, target
            dry).
        controls: ``"random"`` or a dict of fixed normalised values.
        root: folder of audio files, for ``source="folder"``.
        peak_db: ``None`` (the clips' own levels), or ``(low, high)``: each item's clean clip
            is scaled to a peak drawn uniformly in ``[low, high]`` dBFS (from a seed derived
            from ``(seed, i, epoch)``) before the effect, so that a model learns the effect at
            every input level (a distortion changes with its input's level: DI guitar peaks at
            −18 to −1 dBFS, a mastered mix at 0). Silent clips stay silent.
        edge_probability: random controls only: the probability that a control is set to an
            end of its range (0 or 1, each half as likely) instead of a uniform draw, so that a
            conditioned model sees the ends, where effects can change behaviour abruptly (the
            SoX overdrive bypasses at a gain of exactly 0 dB). In ``[0, 1)``; 0 by default.
        split: ``None`` or ``"train"``, ``"valid"``, ``"test"``: the files of that split of the
            folder (:func:`~dasp_blind.data.clips.split_files`; ``source="folder"`` only).

    Attributes:
        effect: the effect module.
        clips: the clip source.
        control_names: names of the controls (the effect's parameters, in column order).
        num_controls: ``len(control_names)`` with random controls, else 0.

    Raises:
        ValueError: on a bad argument (an unknown effect, source, direction, control name or a
            control outside ``[0, 1]``, a missing ``root``).
    """

    def __init__(self, effect: str, source: str = "guitar", num_items: int = 100,
                 duration_s: float = 1.0, sample_rate: int = 44100, seed: int = 0,
                 direction: str = "emulation", controls: str | Mapping[str, float] = "random",
                 root: str | os.PathLike | None = None, split: str | None = None,
                 peak_db: Sequence[float] | None = None, edge_probability: float = 0.0):
        check_choice(effect, "effect", tuple(SYNTHETIC_EFFECTS))
        self.peak_db = check_peak_db(peak_db)
        self.edge_probability = check_edge_probability(edge_probability)
        check_choice(source, "source", tuple(SYNTHETIC_SOURCES))
        self.direction = check_choice(direction, "direction", DIRECTIONS)
        self.seed = check_seed(seed)
        if source != "folder" and (root is not None or split is not None):
            raise ValueError(f"root and split are for source='folder', got source={source!r} "
                             f"with root={root!r}, split={split!r}")
        music = {"style": "random", "dynamics": True} if source == "mixed" else {}
        self.clips = build_clips(SYNTHETIC_SOURCES[source], num_items, duration_s,
                                 sample_rate, self.seed, root=root, split=split, **music)
        self.sample_rate = self.clips.sample_rate
        self.effect = SYNTHETIC_EFFECTS[effect](self.sample_rate).eval()
        self.control_names = self.effect.param_space.names
        self._fixed = self._fixed_controls(controls)
        self.num_controls = 0 if self._fixed is not None else len(self.control_names)

    def _fixed_controls(self, controls: object) -> Tensor | None:
        """``None`` for random controls, else the fixed ``q`` ``(num_params,)``."""
        if isinstance(controls, str):
            if controls != "random":
                raise ValueError(f"controls must be 'random' or a dict of normalised values "
                                 f"for {self.control_names}, got {controls!r}")
            return None
        if not isinstance(controls, Mapping):
            raise ValueError(f"controls must be 'random' or a dict of normalised values for "
                             f"{self.control_names}, got {type(controls).__name__}")
        q = self.effect.param_space.default(1, dtype=torch.float32)[0]
        for name, value in controls.items():
            if name not in self.control_names:
                raise ValueError(f"controls: unknown control {name!r}; the "
                                 f"{type(self.effect).__name__} has {self.control_names}")
            q[self.control_names.index(name)] = check_in_interval(value, f"controls[{name!r}]",
                                                                  0.0, 1.0)
        return q

    def __len__(self) -> int:
        return len(self.clips)

    def controls_of(self, index: int, epoch: int = 0) -> Tensor:
        """The normalised controls ``(num_params,)`` of item ``index`` in ``epoch``."""
        if self._fixed is not None:
            return self._fixed.clone()
        generator = torch.Generator().manual_seed(_item_seed(self.seed, index, epoch))
        q = self.effect.param_space.sample(1, generator=generator, dtype=torch.float32)[0]
        if self.edge_probability > 0:
            at_edge = torch.rand(q.shape, generator=generator) < self.edge_probability
            ends = (torch.rand(q.shape, generator=generator) < 0.5).to(q.dtype)
            q = torch.where(at_edge, ends, q)
        return q

    def level_of(self, index: int, epoch: int = 0) -> float | None:
        """The peak in dBFS item ``index`` is scaled to in ``epoch`` (``None`` without
        ``peak_db``)."""
        if self.peak_db is None:
            return None
        generator = torch.Generator().manual_seed(_item_seed(self.seed, index, epoch) ^ _LEVEL_SALT)
        low, high = self.peak_db
        return low + (high - low) * float(torch.rand((), generator=generator, dtype=torch.float64))

    def __getitem__(self, index: int | tuple[int, int]) -> dict[str, Tensor]:
        epoch, i = epoch_and_item(index, len(self))
        dry = clip_of(self.clips, epoch, i)
        level = self.level_of(i, epoch)
        if level is not None:
            peak = dry.abs().max()
            if peak > 0:
                dry = dry * (db_to_gain(level) / peak)
        q = self.controls_of(i, epoch)
        with torch.no_grad():
            wet = self.effect(dry[None], q[None])[0]
        source, target = (dry, wet) if self.direction == "emulation" else (wet, dry)
        item = {"input": source, "target": target}
        if self._fixed is None:
            item["controls"] = q
        return item


__all__ = ["ALIGNMENT_SEARCH_S", "DIRECTIONS", "IDMT_DRY_CODE", "IDMT_EFFECTS",
           "IDMT_INSTRUMENTS", "PAIR_ROLES", "PAIR_SPLITS", "SYNTHETIC_EFFECTS",
           "SYNTHETIC_SOURCES", "IDMTPair", "IDMTPairs", "PairFiles", "PairFolder",
           "SyntheticPairs", "check_edge_probability", "check_peak_db", "estimate_lag",
           "find_pairs"]
