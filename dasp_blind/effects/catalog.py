"""The catalog of effects: a name for each effect class, and its parameter table.

``names()`` maps the ``snake_case`` name of every effect of :mod:`dasp_blind.effects` to its class
(``"parametric_eq" -> ParametricEQ``); ``dasp-blind effects`` and ``dasp-blind apply`` find
effects by these names. :func:`parameter_table` reads an effect's parameters (name, range,
scale, unit, default) from its :class:`~dasp_blind.params.ParamSpace`, so the tables that the
command prints and the documentation shows are never copied by hand.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .base import Effect
from .dynamics import Compressor, SimplifiedCompressor
from .eq import GraphicEQ, ParametricEQ
from .modulation import Chorus, Gain, Tremolo
from .nonlinear import (
    ChebyshevClipper,
    HardClip,
    ParametricClipper,
    SoftClip,
    SoxOverdrive,
    TaylorClipper,
)
from .proxy import HybridCompressor, ProxyCompressor

# The sample rate the tables are made at (ranges of some effects depend on it: the parametric
# EQ caps its frequency ranges at 0.45 * sample_rate).
TABLE_SAMPLE_RATE = 44100

_EFFECTS: dict[str, type[Effect]] = {
    "parametric_eq": ParametricEQ,
    "graphic_eq": GraphicEQ,
    "compressor": Compressor,
    "simplified_compressor": SimplifiedCompressor,
    "proxy_compressor": ProxyCompressor,
    "hybrid_compressor": HybridCompressor,
    "parametric_clipper": ParametricClipper,
    "taylor_clipper": TaylorClipper,
    "chebyshev_clipper": ChebyshevClipper,
    "hard_clip": HardClip,
    "soft_clip": SoftClip,
    "sox_overdrive": SoxOverdrive,
    "tremolo": Tremolo,
    "chorus": Chorus,
    "gain": Gain,
}

# Short names accepted wherever a catalog name is (``dasp-blind apply --effect eq``).
ALIASES: dict[str, str] = {"eq": "parametric_eq"}


@dataclass(frozen=True)
class ParamRow:
    """One row of a parameter table: a :class:`~dasp_blind.params.ParamSpec` in plain values."""

    name: str
    min: float
    max: float
    scale: str
    unit: str
    default: float


def names() -> dict[str, type[Effect]]:
    """Every effect of :mod:`dasp_blind.effects` by its ``snake_case`` name, in catalog order."""
    return dict(_EFFECTS)


def resolve(name: str) -> str:
    """The catalog name of ``name`` (a catalog name or an alias such as ``"eq"``).

    Raises:
        ValueError: naming ``name`` and listing the known names if it is unknown.
    """
    if isinstance(name, str) and name in _EFFECTS:
        return name
    if isinstance(name, str) and name in ALIASES:
        return ALIASES[name]
    raise ValueError(f"unknown effect {name!r}; known effects: {', '.join(_EFFECTS)} "
                     f"(aliases: {', '.join(f'{a}={n}' for a, n in ALIASES.items())})")


def build(name: str, sample_rate: float = TABLE_SAMPLE_RATE) -> Effect:
    """The effect called ``name`` (catalog name or alias), built at ``sample_rate`` Hz."""
    return _EFFECTS[resolve(name)](sample_rate)


#: What :func:`from_spec` accepts: a catalog name, ``{"name": ..., **kwargs}`` or a mapping of
#: chain names to either.
EffectSpec = str | Mapping[str, Any]


def from_spec(spec: EffectSpec, sample_rate: float = TABLE_SAMPLE_RATE) -> Effect:
    """Build an effect or a chain from a plain (JSON / YAML) description.

    * ``"parametric_clipper"`` (a catalog name or alias): that effect;
    * ``{"name": "hybrid_compressor", "mode": "reference"}``: that effect with keyword arguments;
    * ``{"eq": "parametric_eq", "comp": "compressor", "dist": "parametric_clipper"}`` (a mapping
      without a ``"name"`` key): a :class:`~dasp_blind.effects.Chain` of those effects in that
      order, with ``normalize="peak"`` as the BE-AFX chains (DC removed and peak normalised
      before each effect).

    Because the description is plain data it travels in configs, checkpoints and the sidecars
    of shipped weights.

    Args:
        spec: the description.
        sample_rate: rate in Hz every effect is built at.

    Raises:
        ValueError: naming the unknown effect or the argument that does not build it.
    """
    from .chain import Chain

    if isinstance(spec, str):
        return build(spec, sample_rate)
    if not isinstance(spec, Mapping) or not spec:
        raise ValueError(f"effect spec must be a catalog name, a {{'name': ...}} mapping or a "
                         f"non-empty mapping of chain names to specs, got {spec!r}")
    if "name" in spec:
        kwargs = {k: v for k, v in spec.items() if k != "name"}
        cls = _EFFECTS[resolve(spec["name"])]
        try:
            return cls(sample_rate, **kwargs)
        except TypeError as err:
            raise ValueError(f"effect spec {dict(spec)!r} does not build {cls.__name__}: "
                             f"{err}") from None
    return Chain({str(key): from_spec(value, sample_rate) for key, value in spec.items()},
                 normalize="peak")


def parameter_table(effect: str | Effect, sample_rate: float = TABLE_SAMPLE_RATE
                    ) -> list[ParamRow]:
    """The parameters of an effect, in column order of its ``param_space``.

    Args:
        effect: a catalog name (or alias), or an effect instance (then ``sample_rate`` is unused).
        sample_rate: rate in Hz the named effect is built at.

    Returns:
        One :class:`ParamRow` per parameter; ``default`` is the physical default (the value at
        ``q = 0.5`` when the spec gives none).
    """
    instance = build(effect, sample_rate) if isinstance(effect, str) else effect
    return [ParamRow(s.name, float(s.min), float(s.max), s.scale, s.unit, s.default_value)
            for s in instance.param_space]


def summary(cls: type[Effect]) -> str:
    """First sentence of the class docstring, without reStructuredText markup."""
    doc = inspect.getdoc(cls) or ""
    paragraph = " ".join(doc.split("\n\n")[0].split())
    paragraph = re.sub(r":\w+:`~?([^`]+)`", r"\1", paragraph).replace("``", "")
    sentence = re.split(r"(?<=[.)])\s+(?=[A-Z])", paragraph)[0]
    return sentence.rstrip(".") + "."


def _number(value: float) -> str:
    return f"{value:.6g}"


_HEADER = ("parameter", "min", "max", "scale", "unit", "default")


def _cells(row: ParamRow) -> tuple[str, ...]:
    return (row.name, _number(row.min), _number(row.max), row.scale, row.unit or "-",
            _number(row.default))


def format_table(rows: list[ParamRow]) -> str:
    """Plain-text table of ``rows`` with aligned columns (what ``dasp-blind effects`` prints)."""
    cells = [_HEADER, *(_cells(r) for r in rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(_HEADER))]
    lines = []
    for c in cells:
        left = [c[0].ljust(widths[0])]
        numbers = [c[i].rjust(widths[i]) for i in (1, 2)]
        rest = [c[i].ljust(widths[i]) for i in (3, 4)] + [c[5].rjust(widths[5])]
        lines.append("  ".join(left + numbers + rest).rstrip())
    return "\n".join(lines)


def markdown_table(rows: list[ParamRow]) -> str:
    """Markdown table of ``rows`` (what the documentation shows)."""
    lines = ["| " + " | ".join(_HEADER) + " |", "|---|--:|--:|---|---|--:|"]
    for row in rows:
        name, *rest = _cells(row)
        lines.append("| " + " | ".join([f"`{name}`", *rest]) + " |")
    return "\n".join(lines)


def describe(name: str, sample_rate: float = TABLE_SAMPLE_RATE) -> str:
    """Plain-text description of one effect: name, class, summary and parameter table."""
    key = resolve(name)
    cls = _EFFECTS[key]
    aliases = [a for a, n in ALIASES.items() if n == key]
    title = f"{key} ({cls.__name__}" + (f"; alias {', '.join(aliases)}" if aliases else "") + ")"
    return f"{title}: {summary(cls)}\n{format_table(parameter_table(key, sample_rate))}"


__all__ = ["ALIASES", "TABLE_SAMPLE_RATE", "EffectSpec", "ParamRow", "build", "describe",
           "format_table", "from_spec", "markdown_table", "names", "parameter_table", "resolve",
           "summary"]
