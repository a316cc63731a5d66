"""The :class:`Effect` base class: an ``nn.Module`` with a parameter space."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from torch import Tensor, nn

from .._checks import ParamLike, as_batched, check_audio, check_sample_rate, half_as_float32
from ..params import ParamSpace


class Effect(nn.Module):
    """Base class of every effect.

    Subclasses set ``self.param_space`` in ``__init__`` and implement :meth:`process_validated`.

    * ``forward(x, q)`` takes normalised controls ``q`` of shape ``(batch, num_params)`` in
      ``[0, 1]`` (what a network outputs).
    * ``process(x, params)`` takes physical parameters, a dict ``name -> (batch,) tensor or
      float``; missing names take their defaults.
    * ``process_validated(x, params)`` takes physical parameters that were already checked and
      completed (what :class:`~dasp_blind.effects.Chain` passes to its effects).

    **Side inputs.** An effect that reads signals besides ``x`` (the compressor's ``sidechain``)
    names them in :attr:`side_inputs`; they are keyword-only arguments of all three methods.
    Passing a side input that an effect does not take raises a ``ValueError`` naming it;
    ``None`` means "not given".

    ``forward`` and ``process`` run float16 / bfloat16 audio in float32 and return it in its own
    dtype.
    """

    param_space: ParamSpace
    #: Keyword names of the side inputs this effect takes (none by default).
    side_inputs: ClassVar[tuple[str, ...]] = ()

    def __init__(self, sample_rate: float = 44100.0):
        super().__init__()
        self.sample_rate = check_sample_rate(sample_rate)

    @property
    def num_params(self) -> int:
        """Number of controls (columns of ``q``)."""
        return len(self.param_space)

    @half_as_float32
    def forward(self, x: Tensor, q: Tensor, **side_inputs: Any) -> Tensor:
        """Apply the effect with normalised controls.

        Args:
            x: audio ``(batch, channels, samples)``.
            q: controls ``(batch, num_params)`` in ``[0, 1]``, columns in ``param_space.names``
                order.
            **side_inputs: the side inputs named in :attr:`side_inputs`, e.g. ``sidechain=s``.

        Returns:
            Processed audio ``(batch, channels, samples)``.
        """
        check_audio(x)
        side = self._given_side_inputs(side_inputs)
        if isinstance(q, Tensor) and q.dim() == 2 and q.shape[0] != x.shape[0]:
            raise ValueError(f"q has batch size {q.shape[0]} but x has batch size {x.shape[0]}")
        params = self.param_space.denormalize(q.to(x.dtype) if isinstance(q, Tensor) else q)
        return self.process_validated(x, self._bounded(params), **side)

    @half_as_float32
    def process(self, x: Tensor, params: Mapping[str, ParamLike] | None = None,
                **side_inputs: Any) -> Tensor:
        """Apply the effect with physical parameters.

        Args:
            x: audio ``(batch, channels, samples)``.
            params: ``name -> (batch,) tensor or float`` in physical units; missing names use
                their defaults.
            **side_inputs: the side inputs named in :attr:`side_inputs`, e.g. ``sidechain=s``.

        Returns:
            Processed audio ``(batch, channels, samples)``.
        """
        check_audio(x)
        side = self._given_side_inputs(side_inputs)
        return self.process_validated(x, self.physical_params(params or {}, x), **side)

    def process_validated(self, x: Tensor, params: dict[str, Tensor]) -> Tensor:
        """Apply the effect to physical parameters that are already validated and complete.

        Nothing is checked here: ``x`` must be audio ``(batch, channels, samples)`` and
        ``params`` must hold every name of ``param_space`` as a ``(batch,)`` tensor on ``x``'s
        device, inside its range (as :meth:`physical_params` returns them). This is the entry
        point for composing effects — check once at the boundary, then call it — e.g.
        :class:`~dasp_blind.effects.Chain` calls it on each of its effects. Effects with side
        inputs take them here as keyword-only arguments.

        Args:
            x: audio ``(batch, channels, samples)``.
            params: ``name -> (batch,) tensor`` in physical units, complete and in range.

        Returns:
            Processed audio ``(batch, channels, samples)``.
        """
        raise NotImplementedError

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

    def _given_side_inputs(self, side_inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The side inputs that are not ``None``; a ``ValueError`` for one this effect lacks."""
        given = {name: value for name, value in side_inputs.items() if value is not None}
        for name in given:
            if name not in self.side_inputs:
                takes = (f"it takes {', '.join(self.side_inputs)}" if self.side_inputs
                         else "it takes none")
                raise ValueError(f"{name}: {type(self).__name__} has no side input {name!r} "
                                 f"({takes})")
        return given

    def extra_repr(self) -> str:
        return f"sample_rate={self.sample_rate:g}, params={self.param_space.names}"


def unsqueeze_param(p: Tensor) -> Tensor:
    """``(batch,)`` -> ``(batch, 1, 1)`` so that it broadcasts against audio."""
    return p.reshape(-1, 1, 1)


__all__ = ["Effect", "unsqueeze_param"]
