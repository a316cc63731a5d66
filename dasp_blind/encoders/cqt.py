"""The log-CQT front end of the TE and TFE encoders: nnAudio's CQT1992v2, evaluated faster.

BE-AFX computes ``ln(|CQT| + 1e-6)`` with ``nnAudio.features.CQT1992v2(sr=44100, n_bins=113)``:
113 bins from 32.70 Hz, 12 per octave (top bin 21.09 kHz), hop 512, Hann-windowed kernels with
L1 norm, centred frames with reflect padding, 'librosa' normalisation (reference §2.3).
CQT1992v2 convolves the audio with all 113 kernels zero-padded to one width (32768 samples at
44.1 kHz), although a kernel at ``f`` Hz spans only ``Q·sr/f`` samples (22681 for the lowest bin,
36 for the highest). :class:`LogCQT` builds the same kernels with nnAudio and trims each
octave's group of 12 to the span where they are non-zero: the same sums without the zeros,
6.7 times faster on a CPU, and equal to CQT1992v2 to float rounding. The other nnAudio CQTs
(CQT2010, CQT2010v2, VQT) resample by octaves: on a CPU they are slower than CQT1992v2, and they
differ from it by 1.5 % in the median cell and by up to 77 % of the peak magnitude at the edges
of a clip, far from the 1e-3 agreement required; CQT1992 would need 2 × 16385 × 32768 Fourier
kernels (4.3 GB). ``benchmarks/bench_cqt.py`` measures them side by side.

Other sample rates: by default every frequency is scaled by ``sample_rate / 44100`` (fmin
``32.70·sr/44100`` Hz), so the kernels, the hop and the frame count are the same in samples as
at 44.1 kHz, the top bin stays at 0.478·sr below Nyquist, and an encoder has the same shapes and
parameters at every rate. Pass ``fmin`` to fix the bins in Hz instead; a top bin at or above
Nyquist is then a ``ValueError``.
"""

from __future__ import annotations

import nnAudio.features
import torch
from torch import Tensor, nn

from .._checks import check_audio, check_int, check_min_length, check_positive, check_sample_rate

#: The reference's sample rate, lowest bin and log floor.
REFERENCE_SAMPLE_RATE = 44100.0
REFERENCE_FMIN_HZ = 32.70
LOG_EPS = 1e-6
#: Added to ``re² + im²`` before the square root so that the magnitude has a gradient (of at
#: most 1 in magnitude) at 0; it moves ``|CQT|`` by at most 1e-12, ``ln(|CQT| + 1e-6)`` by 1e-6.
MAGNITUDE_EPS = 1e-24


def reference_fmin(sample_rate: float) -> float:
    """The lowest bin's frequency in Hz at ``sample_rate``: 32.70 Hz scaled by ``sr/44100``."""
    return REFERENCE_FMIN_HZ * sample_rate / REFERENCE_SAMPLE_RATE


def _nonzero_span(kernels: Tensor) -> tuple[int, int]:
    """First and one-past-last column where any of ``kernels`` ``(n, 1, width)`` is non-zero."""
    columns = torch.nonzero(kernels.abs().sum(dim=(0, 1))).flatten()
    return int(columns[0]), int(columns[-1]) + 1


class LogCQT(nn.Module):
    """``ln(|CQT| + 1e-6)`` of nnAudio's CQT1992v2, each octave's kernels trimmed to their span.

    Audio ``(batch, channels, samples)`` -> ``(batch, channels, n_bins, frames)`` with
    ``frames = samples // hop_length + 1`` (frame ``n`` centred on sample ``n·hop_length``, the
    audio reflected at both ends as CQT1992v2 does). The kernels are buffers that are rebuilt
    at construction and kept out of the ``state_dict`` and of ``parameters()``.

    Args:
        sample_rate: sample rate of the audio in Hz.
        n_bins: number of bins (113).
        bins_per_octave: bins per octave (12).
        hop_length: samples between frames (512).
        fmin: lowest bin in Hz; ``None`` (default): ``32.70·sample_rate/44100``.

    Raises:
        ValueError: on a non-positive argument, or a top bin
            ``fmin·2^((n_bins−1)/bins_per_octave)`` at or above ``sample_rate/2``.
    """

    def __init__(self, sample_rate: float = REFERENCE_SAMPLE_RATE, n_bins: int = 113,
                 bins_per_octave: int = 12, hop_length: int = 512, fmin: float | None = None):
        super().__init__()
        self.sample_rate = check_sample_rate(sample_rate)
        self.n_bins = check_int(n_bins, "n_bins", low=1)
        self.bins_per_octave = check_int(bins_per_octave, "bins_per_octave", low=1)
        self.hop_length = check_int(hop_length, "hop_length", low=1)
        self.fmin = (reference_fmin(self.sample_rate) if fmin is None
                     else check_positive(fmin, "fmin"))
        top = self.fmin * 2.0 ** ((self.n_bins - 1) / self.bins_per_octave)
        if top >= self.sample_rate / 2:
            raise ValueError(f"fmin={self.fmin:g} Hz with n_bins={self.n_bins} and "
                             f"bins_per_octave={self.bins_per_octave} puts the top bin at "
                             f"{top:g} Hz, which must be below the Nyquist frequency "
                             f"{self.sample_rate / 2:g} Hz; lower fmin or n_bins")
        self.frequencies = self.fmin * 2.0 ** (torch.arange(self.n_bins, dtype=torch.float64)
                                               / self.bins_per_octave)
        self._build_kernels()

    def _build_kernels(self) -> None:
        """Build CQT1992v2's kernels and trim each octave's group to its non-zero span."""
        reference = nnAudio.features.CQT1992v2(
            sr=self.sample_rate, hop_length=self.hop_length, fmin=self.fmin, n_bins=self.n_bins,
            bins_per_octave=self.bins_per_octave, verbose=False)
        real, imag = reference.cqt_kernels_real, reference.cqt_kernels_imag
        width = reference.kernel_width
        # kernel lengths in samples, for the 'librosa' normalisation √length of CQT1992v2
        self.register_buffer("lengths", reference.lenghts.reshape(-1, 1), persistent=False)
        self.kernel_width = width
        #: Per group of bins: (first column of its kernels in the full width, their width).
        self._spans: list[tuple[int, int]] = []
        for i, first in enumerate(range(0, self.n_bins, self.bins_per_octave)):
            rows = slice(first, first + self.bins_per_octave)
            start, stop = _nonzero_span(real[rows].abs() + imag[rows].abs())
            # real parts then imaginary parts, the sign of CQT1992v2's imaginary output
            kernel = torch.cat([real[rows, :, start:stop], -imag[rows, :, start:stop]])
            self.register_buffer(f"kernel{i}", kernel, persistent=False)
            self._spans.append((start, stop - start))
        starts = [start for start, _ in self._spans]
        stops = [start + w for start, w in self._spans]
        # samples read before frame 0's centre and after the last frame's centre
        self.pad_left = width // 2 - min(starts)
        self.pad_right = max(stops) - width // 2
        #: Fewest samples an input may hold: reflect padding needs more samples than it pads.
        self.min_length = max(self.pad_left, self.pad_right) + 1

    def num_frames(self, samples: int) -> int:
        """Frames of the CQT of ``samples`` samples: ``samples // hop_length + 1``."""
        return samples // self.hop_length + 1

    def magnitude(self, x: Tensor) -> Tensor:
        """``|CQT|`` of ``x`` ``(batch, channels, samples)`` -> ``(batch, channels, n_bins,
        frames)``, as CQT1992v2 computes it (its 'librosa' normalisation).

        Raises:
            ValueError: if ``x`` is not finite float audio of at least :attr:`min_length`
                samples.
        """
        return self._magnitude(self._check(x))

    def forward(self, x: Tensor) -> Tensor:
        """``ln(|CQT(x)| + 1e-6)``: ``(batch, channels, samples)`` -> ``(batch, channels,
        n_bins, frames)``.

        Raises:
            ValueError: if ``x`` is not finite float audio of at least :attr:`min_length`
                samples.
        """
        return self.transform(self._check(x))

    def transform(self, x: Tensor) -> Tensor:
        """:meth:`forward` without the input checks, for callers that have checked ``x`` (the
        encoders) or need no host synchronisation."""
        return torch.log(self._magnitude(x) + LOG_EPS)

    def _check(self, x: Tensor) -> Tensor:
        check_audio(x)
        return check_min_length(x, self.min_length, "x", " (the CQT's reflect padding)")

    def _magnitude(self, x: Tensor) -> Tensor:
        """Unchecked core of :meth:`magnitude`."""
        batch, channels, samples = x.shape
        frames = self.num_frames(samples)
        padded = nn.functional.pad(x.reshape(batch * channels, 1, samples),
                                   (self.pad_left, self.pad_right), mode="reflect")
        offset = self.kernel_width // 2 - self.pad_left  # padded sample 0 in the full width
        parts = []
        for i, (start, width) in enumerate(self._spans):
            kernel = getattr(self, f"kernel{i}").to(x.dtype)
            begin = start - offset
            segment = padded[..., begin:begin + (frames - 1) * self.hop_length + width]
            parts.append(nn.functional.conv1d(segment, kernel, stride=self.hop_length)
                         .unflatten(1, (2, -1)))
        scaled = torch.cat(parts, dim=2) * self.lengths.to(x.dtype).sqrt()
        real, imag = scaled.unbind(1)  # (batch·channels, n_bins, frames)
        magnitude = (real.square() + imag.square() + MAGNITUDE_EPS).sqrt()
        return magnitude.reshape(batch, channels, self.n_bins, frames)

    def extra_repr(self) -> str:
        return (f"sample_rate={self.sample_rate:g}, n_bins={self.n_bins}, "
                f"bins_per_octave={self.bins_per_octave}, hop_length={self.hop_length}, "
                f"fmin={self.fmin:.4g}")


__all__ = ["LOG_EPS", "LogCQT", "REFERENCE_FMIN_HZ", "REFERENCE_SAMPLE_RATE", "reference_fmin"]
