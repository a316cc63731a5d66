"""Parameter specifications: the map between normalised controls and physical units.

Networks predict normalised controls ``q ∈ [0, 1]``; effects run in physical units (dB, Hz, ms,
ratio). A :class:`ParamSpec` maps one control either linearly,
``p = min + q·(max − min)``, or logarithmically, ``p = min·(max/min)^q``. A :class:`ParamSpace`
is an ordered list of specs: column ``i`` of a ``(batch, len(space))`` tensor of controls is the
parameter ``space.names[i]``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace

import torch
from torch import Tensor

from ._checks import ParamLike, check_int, check_number

_SCALES = ("lin", "log")
# Relative slack allowed when checking ranges, so that q -> p -> q round trips in float32 pass.
_RANGE_SLACK = 1e-5


@dataclass(frozen=True)
class ParamSpec:
    """One control of an effect.

    Args:
        name: ``snake_case`` name with the unit as suffix where there is one (``gain_db``).
        min: smallest physical value.
        max: largest physical value.
        scale: ``"lin"`` or ``"log"`` (log needs ``0 < min``).
        unit: unit for display (``"dB"``, ``"Hz"``, ``"ms"``, ``""``).
        default: physical default; ``None`` means the value at ``q = 0.5``.
    """

    name: str
    min: float
    max: float
    scale: str = "lin"
    unit: str = ""
    default: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.scale, str) or self.scale not in _SCALES:
            raise ValueError(f"scale of {self.name!r} must be one of {_SCALES}, got {self.scale!r}")
        if not isinstance(self.unit, str):
            raise ValueError(f"unit of {self.name!r} must be a string, got {self.unit!r}")
        # Numbers only (no bools, tensors or strings), stored as floats.
        for field in ("min", "max") + (("default",) if self.default is not None else ()):
            value = check_number(getattr(self, field), f"{field} of {self.name!r}")
            object.__setattr__(self, field, value)
        if self.min >= self.max:
            raise ValueError(f"range of {self.name!r} must satisfy min < max (both finite), "
                             f"got [{self.min}, {self.max}]")
        if self.scale == "log" and self.min <= 0:
            raise ValueError(f"log-scaled {self.name!r} needs min > 0, got min={self.min}")
        if self.default is not None and not (self.min <= self.default <= self.max):
            raise ValueError(f"default of {self.name!r} must lie in [{self.min}, {self.max}], "
                             f"got {self.default}")

    @property
    def default_value(self) -> float:
        """Physical default (the value at ``q = 0.5`` when no default was given)."""
        if self.default is not None:
            return float(self.default)
        return float(self.denormalize(torch.tensor(0.5, dtype=torch.float64)))

    def denormalize(self, q: Tensor) -> Tensor:
        """Map normalised ``q ∈ [0,1]`` (any shape) to physical units."""
        if self.scale == "log":
            return self.min * (self.max / self.min) ** q
        return self.min + q * (self.max - self.min)

    def normalize(self, p: Tensor) -> Tensor:
        """Map physical values (any shape) to ``q ∈ [0,1]``."""
        if self.scale == "log":
            return torch.log(p / self.min) / math.log(self.max / self.min)
        return (p - self.min) / (self.max - self.min)

    def check_physical(self, p: Tensor, name: str | None = None) -> None:
        """Raise ValueError if any physical value lies outside ``[min, max]``."""
        slack = _RANGE_SLACK * (self.max - self.min)
        d = p.detach()
        bad = (d < self.min - slack) | (d > self.max + slack) | ~torch.isfinite(d)
        if bool(bad.any()):
            raise ValueError(f"parameter {name or self.name!r} must lie in "
                             f"[{self.min:g}, {self.max:g}] {self.unit}".rstrip()
                             + f", got {d[bad].flatten()[0].item():g}")

    def prefixed(self, prefix: str) -> ParamSpec:
        """Copy of this spec named ``prefix.name``."""
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"prefix must be a non-empty string, got {prefix!r}")
        return replace(self, name=f"{prefix}.{self.name}")


class ParamSpace:
    """An ordered collection of :class:`ParamSpec`.

    ``denormalize`` turns ``q`` of shape ``(batch, len(space))`` into a dict of ``(batch,)``
    tensors in physical units; ``normalize`` does the reverse.
    """

    def __init__(self, specs: Iterable[ParamSpec]):
        if isinstance(specs, (str, bytes)):
            raise ValueError(f"specs must be an iterable of ParamSpec, got {specs!r}")
        self.specs: tuple[ParamSpec, ...] = tuple(specs)
        wrong = [s for s in self.specs if not isinstance(s, ParamSpec)]
        if wrong:
            raise ValueError(f"specs must be ParamSpec instances, got {type(wrong[0]).__name__}")
        names = [s.name for s in self.specs]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"parameter names must be unique, repeated: {duplicates}")
        self._index = {n: i for i, n in enumerate(names)}

    # --- container protocol -----------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """Parameter names in column order."""
        return [s.name for s in self.specs]

    def __len__(self) -> int:
        return len(self.specs)

    def __iter__(self) -> Iterator[ParamSpec]:
        return iter(self.specs)

    def __getitem__(self, name: str) -> ParamSpec:
        return self.specs[self.index(name)]

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __repr__(self) -> str:
        rows = ", ".join(f"{s.name}[{s.min:g}..{s.max:g} {s.scale}]" for s in self.specs)
        return f"ParamSpace({rows})"

    def index(self, name: str) -> int:
        """Column of ``name``; raises ValueError listing the known names if it is unknown."""
        try:
            return self._index[name]
        except KeyError:
            raise ValueError(f"unknown parameter name {name!r}; "
                             f"known names: {self.names}") from None

    def prefixed(self, prefix: str) -> ParamSpace:
        """Copy with every name prefixed by ``prefix.``."""
        return ParamSpace(s.prefixed(prefix) for s in self.specs)

    @staticmethod
    def concat(spaces: Iterable[ParamSpace]) -> ParamSpace:
        """Concatenate spaces column-wise."""
        return ParamSpace(s for space in spaces for s in space.specs)

    # --- conversions --------------------------------------------------------------------------
    def check_normalized(self, q: Tensor, name: str = "q") -> Tensor:
        """Check that ``q`` is a float tensor of shape ``(batch, len(self))`` with ``batch >= 1``,
        finite and in ``[0, 1]``."""
        if not isinstance(q, Tensor) or q.dim() != 2 or q.shape[1] != len(self) \
                or q.shape[0] < 1:
            shape = tuple(q.shape) if isinstance(q, Tensor) else type(q).__name__
            raise ValueError(f"{name} must have shape (batch, {len(self)}) with batch >= 1 for "
                             f"parameters {self.names}, got {shape}")
        if not q.is_floating_point():
            raise ValueError(f"{name} must be a floating-point tensor, got {q.dtype}")
        d = q.detach()
        bad = (d < -_RANGE_SLACK) | (d > 1 + _RANGE_SLACK) | ~torch.isfinite(d)
        if bool(bad.any()):
            col = int(bad.any(dim=0).nonzero()[0, 0])
            value = d[:, col][bad[:, col]][0].item()
            raise ValueError(f"{name} must lie in [0, 1]; column {col} "
                             f"({self.specs[col].name!r}) holds {value:g}")
        return q

    def denormalize(self, q: Tensor) -> dict[str, Tensor]:
        """Map ``q`` ``(batch, len(self))`` in ``[0, 1]`` to physical ``(batch,)`` tensors."""
        self.check_normalized(q)
        q = q.clamp(0.0, 1.0)
        return {s.name: s.denormalize(q[:, i]) for i, s in enumerate(self.specs)}

    def normalize(self, params: Mapping[str, ParamLike]) -> Tensor:
        """Map physical parameters to ``q`` of shape ``(batch, len(self))``.

        Every name of the space must be given; a float counts as batch size 1 and is broadcast.
        Values are numbers (not bools) or real tensors of shape ``()``, ``(1,)`` or ``(batch,)``.
        """
        _check_mapping(params)
        unknown = [k for k in params if k not in self._index]
        if unknown:
            raise ValueError(f"unknown parameter names {unknown}; known names: {self.names}")
        missing = [n for n in self.names if n not in params]
        if missing:
            raise ValueError(f"missing parameters {missing} for space {self.names}")
        tensors = [_as_param_tensor(params[n], n) for n in self.names]
        ref = next((t for t in tensors if t.is_floating_point()), None)
        dtype = ref.dtype if ref is not None else torch.get_default_dtype()
        device = ref.device if ref is not None else None
        tensors = [t.to(device=device, dtype=dtype).reshape(-1) for t in tensors]
        batch = max(t.shape[0] for t in tensors)
        columns = []
        for spec, t in zip(self.specs, tensors, strict=True):
            if t.shape[0] not in (1, batch):
                raise ValueError(f"parameter {spec.name!r} has batch size {t.shape[0]}, "
                                 f"others have {batch}")
            spec.check_physical(t)
            columns.append(spec.normalize(t).expand(batch))
        return torch.stack(columns, dim=1).clamp(0.0, 1.0)

    def complete(self, params: Mapping[str, ParamLike]) -> dict[str, ParamLike]:
        """Return ``params`` with every missing name filled in with its default.

        Raises:
            ValueError: on an unknown name.
        """
        _check_mapping(params)
        unknown = [k for k in params if k not in self._index]
        if unknown:
            raise ValueError(f"unknown parameter names {unknown}; known names: {self.names}")
        return {s.name: params.get(s.name, s.default_value) for s in self.specs}

    def default(self, batch_size: int = 1, device: torch.device | str | None = None,
                dtype: torch.dtype | None = None) -> Tensor:
        """Normalised defaults, shape ``(batch_size, len(self))``, ``batch_size >= 1``."""
        batch_size = check_int(batch_size, "batch_size", low=1)
        q = torch.tensor([[float(s.normalize(torch.tensor(s.default_value, dtype=torch.float64)))
                           for s in self.specs]], dtype=dtype or torch.get_default_dtype(),
                         device=device)
        return q.expand(batch_size, len(self)).clone()

    def sample(self, batch_size: int, generator: torch.Generator | None = None,
               device: torch.device | str | None = None,
               dtype: torch.dtype | None = None) -> Tensor:
        """Uniform random controls ``q ~ U[0,1]``, shape ``(batch_size, len(self))``.

        Uniform in ``q`` means log-uniform in physical units for log-scaled parameters.
        """
        batch_size = check_int(batch_size, "batch_size", low=1)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise ValueError(f"generator must be a torch.Generator or None, got "
                             f"{type(generator).__name__}")
        gen_device = generator.device if generator is not None else device
        q = torch.rand(batch_size, len(self), generator=generator, device=gen_device,
                       dtype=dtype or torch.get_default_dtype())
        return q.to(device) if device is not None else q


def _check_mapping(params: object) -> None:
    if not isinstance(params, Mapping):
        raise ValueError(f"params must be a mapping name -> value, got {type(params).__name__}")


def _as_param_tensor(value: ParamLike, name: str) -> Tensor:
    """A physical value as a tensor of rank <= 1; numbers (not bools) or real tensors."""
    if isinstance(value, Tensor):
        if value.dtype == torch.bool or value.is_complex():
            raise ValueError(f"parameter {name!r} must be real, got a {value.dtype} tensor")
        if value.dim() > 1:
            raise ValueError(f"parameter {name!r} must be a float or a tensor of shape (batch,), "
                             f"got shape {tuple(value.shape)}")
        return value
    return torch.as_tensor(check_number(value, f"parameter {name!r}"))
