"""Compressors: the exact DSP compressor and the simplified, vectorised one."""

from __future__ import annotations

from torch import Tensor

from .._checks import check_non_negative
from ..functional.dynamics import compressor, simple_compressor
from ..params import ParamSpace, ParamSpec
from .base import Effect


def compressor_param_specs() -> list[ParamSpec]:
    """The six controls of the Giannoulis compressor with the BE-AFX ranges (reference §1.5):
    attack, release and ratio are log-scaled."""
    return [
        ParamSpec("threshold_db", -40.0, 0.0, "lin", "dB", -20.0),
        ParamSpec("attack_ms", 1.0, 60.0, "log", "ms", 10.0),
        ParamSpec("release_ms", 10.0, 500.0, "log", "ms", 100.0),
        ParamSpec("ratio", 2.0, 10.0, "log", "", 4.0),
        ParamSpec("knee_db", 0.0, 12.0, "lin", "dB", 6.0),
        ParamSpec("makeup_db", 0.0, 20.0, "lin", "dB", 0.0),
    ]


class Compressor(Effect):
    """Feed-forward log-domain compressor (:func:`~dasp_blind.functional.compressor`).

    Controls: ``threshold_db`` [−40, 0], ``attack_ms`` [1, 60] (log), ``release_ms`` [10, 500]
    (log), ``ratio`` [2, 10] (log), ``knee_db`` [0, 12], ``makeup_db`` [0, 20]. Exact branching
    ballistics in a compiled kernel with a custom backward.

    Side input: ``sidechain``, a detector signal ``(batch, any channels, samples)`` with the
    batch size and length of ``x`` (``comp(x, q, sidechain=kick)``); the gain it yields is
    applied to ``x`` and gradients reach it. Without it the detector reads ``x``.

    Args:
        sample_rate: sample rate in Hz.
        lookahead_ms: look-ahead of the detector in ms, ``>= 0`` (a structural setting, not a
            control): the gain reacts to what comes that much later, and the output stays
            aligned with ``x``.
    """

    side_inputs = ("sidechain",)

    def __init__(self, sample_rate: float = 44100.0, lookahead_ms: float = 0.0):
        super().__init__(sample_rate)
        self.lookahead_ms = check_non_negative(lookahead_ms, "lookahead_ms")
        self.param_space = ParamSpace(compressor_param_specs())

    def process_validated(self, x: Tensor, params: dict[str, Tensor], *,
                          sidechain: Tensor | None = None) -> Tensor:
        """See :meth:`Effect.process_validated`; ``sidechain``: optional detector signal
        ``(batch, channels, samples)``."""
        return compressor(x, self.sample_rate, params["threshold_db"], params["ratio"],
                          params["attack_ms"], params["release_ms"], params["knee_db"],
                          params["makeup_db"], sidechain=sidechain,
                          lookahead_ms=self.lookahead_ms)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, lookahead_ms={self.lookahead_ms:g}"


class SimplifiedCompressor(Effect):
    """Compressor with one linked time constant (:func:`~dasp_blind.functional.simple_compressor`).

    Controls: ``threshold_db`` [−40, 0], ``time_constant_ms`` [1, 500] (log), ``ratio`` [2, 10]
    (linear, as in the reference), ``knee_db`` [0, 12], ``makeup_db`` [0, 20]. Unlike the BE-AFX
    code, whose denormaliser reads the threshold column for the time constant, the smoothing here
    follows its own control.
    """

    def __init__(self, sample_rate: float = 44100.0):
        super().__init__(sample_rate)
        self.param_space = ParamSpace([
            ParamSpec("threshold_db", -40.0, 0.0, "lin", "dB", -20.0),
            ParamSpec("time_constant_ms", 1.0, 500.0, "log", "ms", 50.0),
            ParamSpec("ratio", 2.0, 10.0, "lin", "", 4.0),
            ParamSpec("knee_db", 0.0, 12.0, "lin", "dB", 6.0),
            ParamSpec("makeup_db", 0.0, 20.0, "lin", "dB", 0.0),
        ])

    def process_validated(self, x: Tensor, params: dict[str, Tensor]) -> Tensor:
        return simple_compressor(x, self.sample_rate, params["threshold_db"], params["ratio"],
                                 params["time_constant_ms"], params["knee_db"],
                                 params["makeup_db"])
