"""The :class:`Effect` base class: an ``nn.Module`` with a parameter space."""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor, nn

from .._checks import ParamLike, as_batched, check_audio, check_sample_rate, half_as_float32
from ..params import ParamSpace


class Effect(nn.Module):
    """Base class of every effect.

    Subclasses set ``self.param_space`` in ``__init__`` and implement :meth:`_process`, which
    receives audio ``(batch, channels, samples)`` and a complete dict of ``(batch,)`` tensors in
    physical units that have already been validated.

    * ``forward(x, q)`` takes normalised controls ``q`` of shape ``(batch, num_params)`` in
      ``[0, 1]`` (what a network outputs).
    * ``process(x, params)`` takes physical parameters, a dict ``name -> (batch,) tensor or
      float``; missing names take their defaults.

    Both run float16 / bfloat16 audio in float32 and return it in its own dtype.
    """

    param_space: ParamSpace

    def __init__(self, sample_rate: float = 44100.0):
        super().__init__()
        self.sample_rate = check_sample_rate(sample_rate)

    @property
    def num_params(self) -> int:
        """Number of controls (columns of ``q``)."""
        return len(self.param_space)

    @half_as_float32
    def forward(self, x: Tensor, q: Tensor) -> Tensor:
        """Apply the effect with normalised controls.

        Args:
            x: audio ``(batch, channels, samples)``.
            q: controls ``(batch, num_params)`` in ``[0, 1]``, columns in ``param_space.names``
                order.

        Returns:
            Processed audio ``(batch, channels, samples)``.
        """
        check_audio(x)
        if isinstance(q, Tensor) and q.dim() == 2 and q.shape[0] != x.shape[0]:
            raise ValueError(f"q has batch size {q.shape[0]} but x has batch size {x.shape[0]}")
        params = self.param_space.denormalize(q.to(x.dtype) if isinstance(q, Tensor) else q)
        return self._process(x, self._bounded(params))

    @half_as_float32
    def process(self, x: Tensor, params: Mapping[str, ParamLike] | None = None) -> Tensor:
        """Apply the effect with physical parameters.

        Args:
            x: audio ``(batch, channels, samples)``.
            params: ``name -> (batch,) tensor or float`` in physical units; missing names use
                their defaults.

        Returns:
            Processed audio ``(batch, channels, samples)``.
        """
        check_audio(x)
        return self._process(x, self.physical_params(params or {}, x))

    def physical_params(self, params: Mapping[str, ParamLike], x: Tensor) -> dict[str, Tensor]:
        """Complete, batch and range-check physical parameters for audio ``x``."""
        complete = self.param_space.complete(params)
        out = {}
        for spec in self.param_space:
            value = as_batched(complete[spec.name], x.shape[0], x, spec.name)
            spec.check_physical(value)
            out[spec.name] = value
        return self._bounded(out)

    def _bounded(self, params: dict[str, Tensor]) -> dict[str, Tensor]:
        """Clamp each parameter to its ``[min, max]``.

        The range checks allow a relative slack of 1e-5 (so that float32 round trips pass) and
        ``q = 1`` can land a rounding error above ``max``; the functions check strictly.
        """
        return {s.name: params[s.name].clamp(s.min, s.max) for s in self.param_space}

    def _process(self, x: Tensor, params: dict[str, Tensor]) -> Tensor:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"sample_rate={self.sample_rate:g}, params={self.param_space.names}"


def unsqueeze_param(p: Tensor) -> Tensor:
    """``(batch,)`` -> ``(batch, 1, 1)`` so that it broadcasts against audio."""
    return p.reshape(-1, 1, 1)


__all__ = ["Effect", "unsqueeze_param"]
