"""``Chain``: named effects in series with one concatenated parameter space."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import Tensor, nn

from .._checks import check_audio, check_positive, half_as_float32
from ..params import ParamSpace
from .base import Effect

NORMALIZE_MODES = ("none", "peak")
#: Peak (after DC removal) below which :func:`remove_dc_and_peak_normalize` treats an item as
#: silence and no longer brings it to peak 1: 1e-5, −100 dB below full scale.
PEAK_FLOOR = 1e-5


@half_as_float32
def remove_dc_and_peak_normalize(x: Tensor, floor: float = PEAK_FLOOR) -> Tensor:
    """Subtract each item's mean and divide by its peak magnitude (over channels and time).

    With ``c = x − mean(x)``, ``p = max|c|`` and ``m = max(p, floor)`` per item, the output is
    ``c·p/m²``:

    * ``p >= floor`` (any real signal): ``c/p``, peak exactly 1 — the BE-AFX reference;
    * ``p < floor`` (silence, near-silence): ``c·p/floor²``, peak ``(p/floor)² < 1``. The gain
      ``p/floor²`` never exceeds ``1/floor`` and falls to 0 with the signal, so silence gives 0
      and a zero gradient instead of amplifying rounding noise (and its gradient) by ``1/eps``
      at every normalisation of a chain.

    Per item, the output moves by at most ``4/max(p, floor) · max|dx|`` (and by
    ``4p/floor² · max|dx|`` below the floor) for an input change ``dx``, so its gradient is
    bounded by ``4/floor`` times that of what follows, in the max norm.

    Args:
        x: audio ``(batch, channels, samples)``.
        floor: peak below which an item counts as silence, ``> 0``, in the audio's scale.

    Returns:
        Audio of the same shape, dtype and device: zero mean per item, peak 1 above the floor.
    """
    check_audio(x)
    return _remove_dc_and_peak_normalize(x, check_positive(floor, "floor"))


def _remove_dc_and_peak_normalize(x: Tensor, floor: float) -> Tensor:
    """Unchecked core of :func:`remove_dc_and_peak_normalize`."""
    centred = x - x.mean(dim=(1, 2), keepdim=True)
    peak = centred.abs().amax(dim=(1, 2), keepdim=True)
    safe = peak.clamp_min(floor)
    return centred * (peak / safe) / safe  # peak / safe == 1 exactly above the floor


class Chain(Effect):
    """Effects applied in series; parameter names are prefixed with the effect's name.

    ``q`` is split column-wise in the order of the effects, so ``chain.param_space.names`` is
    ``["eq.low_shelf.freq_hz", ..., "comp.ratio", ...]``. Effects live in an ``nn.ModuleDict``, so
    ``.to()``, ``state_dict()`` and ``parameters()`` reach them.

    Args:
        effects: mapping (or iterable of pairs) ``name -> Effect``, in processing order. Names
            must not contain a dot.
        normalize: ``"none"``, or ``"peak"``: remove DC and peak-normalise each item before every
            effect, as the BE-AFX reference chain does (not between the bands of an EQ), with
            :func:`remove_dc_and_peak_normalize`: items quieter than :data:`PEAK_FLOOR`
            (−100 dB) are treated as silence, so silent items give finite, bounded gradients.

    Side input: ``sidechains``, a dict ``effect name -> (batch, channels, samples) tensor``
    routed to that effect's ``sidechain`` (``chain(x, q, sidechains={"comp": kick})``); naming
    an unknown effect or one that takes no sidechain raises a ``ValueError``.
    """

    side_inputs = ("sidechains",)

    def __init__(self, effects: Mapping[str, Effect] | Iterable[tuple[str, Effect]],
                 normalize: str = "none"):
        pairs = list(effects.items() if isinstance(effects, Mapping) else effects)
        if not pairs:
            raise ValueError("effects must hold at least one effect")
        for name, effect in pairs:
            if not isinstance(effect, Effect):
                raise ValueError(f"effect {name!r} must be a dasp_blind Effect, got "
                                 f"{type(effect).__name__}")
            if not name or "." in name:
                raise ValueError(f"effect names must be non-empty and contain no '.', got {name!r}")
        rates = {effect.sample_rate for _, effect in pairs}
        if len(rates) > 1:
            raise ValueError("all effects of a chain must share one sample_rate, "
                             f"got {sorted(rates)}")
        if normalize not in NORMALIZE_MODES:
            raise ValueError(f"normalize must be one of {NORMALIZE_MODES}, got {normalize!r}")
        super().__init__(rates.pop())
        self.effects = nn.ModuleDict(pairs)
        self.normalize = normalize
        self.param_space = ParamSpace.concat(e.param_space.prefixed(n) for n, e in pairs)

    def split(self, q: Tensor) -> dict[str, Tensor]:
        """Split ``q`` of shape ``(batch, num_params)`` into one block of columns per effect."""
        self.param_space.check_normalized(q)
        sizes = [effect.num_params for effect in self.effects.values()]
        return dict(zip(self.effects.keys(), torch.split(q, sizes, dim=1), strict=True))

    def process_validated(self, x: Tensor, params: dict[str, Tensor], *,
                          sidechains: Mapping[str, Tensor] | None = None) -> Tensor:
        """Run each effect's :meth:`~Effect.process_validated` in order.

        Args:
            x: audio ``(batch, channels, samples)``.
            params: the chain's complete, validated physical parameters (prefixed names).
            sidechains: side inputs routed by effect name, ``{"comp": s}``: effect ``comp``
                gets ``sidechain=s``. Sidechains are passed as given (``normalize="peak"``
                normalises only the audio in series).

        Returns:
            Processed audio ``(batch, channels, samples)``.
        """
        routed = self._route_sidechains({} if sidechains is None else sidechains)
        for name, effect in self.effects.items():
            prefix = name + "."
            own = {k[len(prefix):]: v for k, v in params.items() if k.startswith(prefix)}
            if self.normalize == "peak":
                x = _remove_dc_and_peak_normalize(x, PEAK_FLOOR)
            side = {"sidechain": routed[name]} if name in routed else {}
            x = effect.process_validated(x, own, **side)
        return x

    def _route_sidechains(self, sidechains: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """Check that every key names an effect that takes a ``sidechain``; drop ``None``s."""
        if not isinstance(sidechains, Mapping):
            raise ValueError(f"sidechains must be a mapping effect name -> tensor, got "
                             f"{type(sidechains).__name__}")
        for name, value in sidechains.items():
            if name not in self.effects:
                raise ValueError(f"sidechains has unknown effect name {name!r}; the chain's "
                                 f"effects are {list(self.effects.keys())}")
            if value is not None and "sidechain" not in self.effects[name].side_inputs:
                raise ValueError(f"sidechains[{name!r}]: effect {name!r} "
                                 f"({type(self.effects[name]).__name__}) takes no sidechain")
        return {name: value for name, value in sidechains.items() if value is not None}

    def extra_repr(self) -> str:
        return f"normalize={self.normalize!r}"
