"""Equalisers: the 5-band parametric EQ and the 10-band graphic EQ of BE-AFX.

All bands of an EQ run as one biquad cascade. The coefficients are always designed in float64
(in float32, the coefficients of a 30 Hz shelf are off by about 0.1 dB) and the audio keeps
its own dtype. The default ``method="fft"`` filters the whole
cascade with one FFT pair (:func:`~dasp_blind.functional.fft_sosfilt`); ``method="sosfilt"`` runs
the exact time-domain recursion (:func:`~dasp_blind.functional.sosfilt`).
"""

from __future__ import annotations

import math

from torch import Tensor

from ..functional.filters import biquad, biquads_to_sos, fft_sosfilt, sosfilt
from ..params import ParamSpace, ParamSpec
from .base import Effect

FILTER_METHODS = ("fft", "sosfilt")

# (band name, biquad kind, f0 range in Hz) of the parametric EQ, reference §1.2.
PEQ_BANDS: tuple[tuple[str, str, float, float], ...] = (
    ("low_shelf", "low_shelf", 30.0, 160.0),
    ("peak1", "peak", 100.0, 2000.0),
    ("peak2", "peak", 500.0, 6000.0),
    ("peak3", "peak", 2000.0, 16000.0),
    ("high_shelf", "high_shelf", 5000.0, 20000.0),
)
PEQ_GAIN_DB = (-15.0, 15.0)
PEQ_Q = (0.1, 2.0)

# Centre frequencies of the 10-band graphic EQ (octave spaced, 31.25 Hz ... 16 kHz).
GEQ_FREQS_HZ: tuple[float, ...] = tuple(31.25 * 2**k for k in range(10))
GEQ_GAIN_DB = (-15.0, 15.0)
GEQ_BANDWIDTH_OCTAVES = 2.0


def _check_method(method: str) -> str:
    if method not in FILTER_METHODS:
        raise ValueError(f"method must be one of {FILTER_METHODS}, got {method!r}")
    return method


def _filter(x: Tensor, sos: Tensor, method: str) -> Tensor:
    return fft_sosfilt(x, sos) if method == "fft" else sosfilt(x, sos)


def q_from_bandwidth(freq_hz: float, sample_rate: float, octaves: float) -> float:
    """RBJ cookbook Q of a band ``octaves`` wide at ``freq_hz``:
    ``1/Q = 2·sinh(ln(2)/2 · BW · w0/sin(w0))`` (digital bandwidth, warped near Nyquist)."""
    w0 = 2 * math.pi * freq_hz / sample_rate
    return 1.0 / (2 * math.sinh(math.log(2) / 2 * octaves * w0 / math.sin(w0)))


class ParametricEQ(Effect):
    """Five-band parametric EQ: low shelf, three peaks, high shelf (15 controls).

    Parameters are ``<band>.freq_hz`` (log scale), ``<band>.gain_db`` and ``<band>.q`` (linear)
    for bands ``low_shelf, peak1, peak2, peak3, high_shelf``, with the BE-AFX ranges. Frequency
    ranges reaching above ``0.45·sample_rate`` are capped there, so that low sample rates work.

    Args:
        sample_rate: sample rate in Hz.
        method: ``"fft"`` (one FFT pair for the whole cascade, default) or ``"sosfilt"`` (exact
            time-domain recursion on the CPU).
    """

    def __init__(self, sample_rate: float = 44100.0, method: str = "fft"):
        super().__init__(sample_rate)
        self.method = _check_method(method)
        cap = 0.45 * self.sample_rate
        specs = []
        for band, _, f_min, f_max in PEQ_BANDS:
            if f_min >= cap:
                raise ValueError(f"sample_rate={sample_rate:g} Hz is too low for band {band!r} "
                                 f"({f_min:g} Hz needs sample_rate > {f_min / 0.45:g} Hz)")
            specs += [ParamSpec(f"{band}.freq_hz", f_min, min(f_max, cap), "log", "Hz"),
                      ParamSpec(f"{band}.gain_db", *PEQ_GAIN_DB, "lin", "dB", 0.0),
                      ParamSpec(f"{band}.q", *PEQ_Q, "lin", "", 0.707)]
        self.param_space = ParamSpace(specs)

    def sos(self, params: dict[str, Tensor]) -> Tensor:
        """Second-order sections ``(batch, 5, 6)``, float64, from physical parameters."""
        p = {k: v.double() for k, v in params.items()}
        return biquads_to_sos([
            biquad(kind, p[f"{band}.freq_hz"], p[f"{band}.gain_db"], p[f"{band}.q"],
                   self.sample_rate)
            for band, kind, _, _ in PEQ_BANDS])

    def process_validated(self, x: Tensor, params: dict[str, Tensor]) -> Tensor:
        return _filter(x, self.sos(params), self.method)


class GraphicEQ(Effect):
    """Ten-band graphic EQ with fixed octave-spaced bands from 31.25 Hz to 16 kHz.

    Band 0 is a low shelf, bands 1–8 are peaks, band 9 is a high shelf; each has a fixed Q from
    the RBJ 2-octave bandwidth relation (:func:`q_from_bandwidth`). Controls ``band0.gain_db`` …
    ``band9.gain_db``, linear in [−15, 15] dB.

    Args:
        sample_rate: sample rate in Hz; must exceed 32 kHz so that the 16 kHz band is below Nyquist.
        method: ``"fft"`` (default) or ``"sosfilt"``.
    """

    def __init__(self, sample_rate: float = 44100.0, method: str = "fft"):
        super().__init__(sample_rate)
        self.method = _check_method(method)
        if GEQ_FREQS_HZ[-1] >= self.sample_rate / 2:
            raise ValueError(f"sample_rate must be above {2 * GEQ_FREQS_HZ[-1]:g} Hz for the "
                             f"16 kHz band, got {sample_rate:g}")
        self.freqs_hz = GEQ_FREQS_HZ
        self.qs = tuple(q_from_bandwidth(f, self.sample_rate, GEQ_BANDWIDTH_OCTAVES)
                        for f in GEQ_FREQS_HZ)
        self.kinds = ("low_shelf",) + ("peak",) * (len(GEQ_FREQS_HZ) - 2) + ("high_shelf",)
        self.param_space = ParamSpace(ParamSpec(f"band{i}.gain_db", *GEQ_GAIN_DB, "lin", "dB", 0.0)
                                      for i in range(len(GEQ_FREQS_HZ)))

    def sos(self, params: dict[str, Tensor]) -> Tensor:
        """Second-order sections ``(batch, 10, 6)``, float64, from physical parameters."""
        return biquads_to_sos([
            biquad(kind, freq, params[f"band{i}.gain_db"].double(), q, self.sample_rate)
            for i, (kind, freq, q) in enumerate(zip(self.kinds, self.freqs_hz, self.qs,
                                                    strict=True))])

    def process_validated(self, x: Tensor, params: dict[str, Tensor]) -> Tensor:
        return _filter(x, self.sos(params), self.method)


__all__ = ["ParametricEQ", "GraphicEQ", "q_from_bandwidth"]
