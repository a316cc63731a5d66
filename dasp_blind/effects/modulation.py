"""Modulation effects (tremolo, chorus) and a plain gain stage."""

from __future__ import annotations

from torch import Tensor

from .._checks import check_choice
from ..functional.modulation import LFO_SHAPES, chorus, tremolo
from ..functional.units import _db_to_gain
from ..params import ParamSpace, ParamSpec
from .base import Effect, unsqueeze_param


class Tremolo(Effect):
    """Tremolo (see :func:`~dasp_blind.functional.modulation.tremolo`), 2 controls.

    ``rate_hz`` log ``[0.5, 20]`` Hz (default 5), ``depth`` lin ``[0, 1]`` (default 0.5).

    Args:
        sample_rate: sample rate in Hz.
        shape: LFO shape, ``"sine"``, ``"triangle"`` or ``"square"``.
    """

    def __init__(self, sample_rate: float = 44100.0, shape: str = "sine"):
        super().__init__(sample_rate)
        self.shape = check_choice(shape, "shape", LFO_SHAPES)
        self.param_space = ParamSpace([
            ParamSpec("rate_hz", 0.5, 20.0, "log", "Hz", 5.0),
            ParamSpec("depth", 0.0, 1.0, "lin", "", 0.5),
        ])

    def process_validated(self, x: Tensor, params: dict[str, Tensor]) -> Tensor:
        return tremolo(x, self.sample_rate, params["rate_hz"], params["depth"],
                       shape=self.shape)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, shape={self.shape!r}"


class Chorus(Effect):
    """Chorus (see :func:`~dasp_blind.functional.modulation.chorus`), 4 controls.

    ``rate_hz`` log ``[0.1, 5]`` Hz (default 1), ``depth_ms`` lin ``[0, 5]`` ms (default 2),
    ``delay_ms`` lin ``[5, 30]`` ms (default 10), ``mix`` lin ``[0, 1]`` (default 0.5). The ranges
    keep ``depth_ms <= delay_ms``.

    Args:
        sample_rate: sample rate in Hz.
    """

    def __init__(self, sample_rate: float = 44100.0):
        super().__init__(sample_rate)
        self.param_space = ParamSpace([
            ParamSpec("rate_hz", 0.1, 5.0, "log", "Hz", 1.0),
            ParamSpec("depth_ms", 0.0, 5.0, "lin", "ms", 2.0),
            ParamSpec("delay_ms", 5.0, 30.0, "lin", "ms", 10.0),
            ParamSpec("mix", 0.0, 1.0, "lin", "", 0.5),
        ])

    def process_validated(self, x: Tensor, params: dict[str, Tensor]) -> Tensor:
        return chorus(x, self.sample_rate, rate_hz=params["rate_hz"],
                      depth_ms=params["depth_ms"], delay_ms=params["delay_ms"], mix=params["mix"])


class Gain(Effect):
    """Gain stage ``y = 10^(gain_db/20)·x``.

    1 control: ``gain_db`` lin ``[−24, 24]`` dB (default 0).

    Args:
        sample_rate: sample rate in Hz (unused; kept so that every effect is built alike).
    """

    def __init__(self, sample_rate: float = 44100.0):
        super().__init__(sample_rate)
        self.param_space = ParamSpace([ParamSpec("gain_db", -24.0, 24.0, "lin", "dB", 0.0)])

    def process_validated(self, x: Tensor, params: dict[str, Tensor]) -> Tensor:
        return x * _db_to_gain(unsqueeze_param(params["gain_db"]))


__all__ = ["Chorus", "Gain", "Tremolo"]
