"""Shipped weights: one format for every trained network, loaded by name or by path.

An entry is a pair of files side by side:

* ``<name>.pt``: a plain state dict, loaded with ``torch.load(..., weights_only=True)``;
* ``<name>.json``: its sidecar, with

  - ``format``: ``1``;
  - ``class_path``: the ``nn.Module`` class, which must be a public class inside the
    ``dasp_blind`` package (nothing else is ever imported from a sidecar), e.g.
    ``"dasp_blind.nn.tcn.TCNCompressorProxy"``;
  - ``init_args``: the keyword arguments that build it;
  - ``sha256``: the hex digest of the ``.pt`` file, checked on every load;
  - ``sample_rate``: the sample rate in Hz the weights were trained at;
  - ``recipe``: how they were made, with at least ``command``, ``data``, ``steps`` and ``seed``
    (``null`` where unknown);
  - ``metrics``: what was measured on held-out data; when not empty, ``measured_on`` says on
    what.

:func:`names` lists the shipped entries, :func:`info` returns a sidecar, :func:`load` returns the
module in eval mode and :func:`save` writes a module in this format (so a network you train
loads the same way, ``load("runs/.../my_model.pt")``). Every problem with an entry — a missing
or unreadable file, a sidecar with missing or wrong fields, a sha256 mismatch, weights that do
not fit the class — raises a ``ValueError`` naming the file.

Shipped: ``compressor_proxy``, the TCN neural proxy of the compressor (``README.md`` in this
folder says how it was trained).
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import math
import os
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

if TYPE_CHECKING:  # importlib.resources.abc is Python >= 3.11
    from importlib.resources.abc import Traversable

#: Version of the sidecar layout that :func:`save` writes and :func:`load` reads.
FORMAT = 1
#: Fields every sidecar holds.
SIDECAR_KEYS = ("format", "class_path", "init_args", "sha256", "sample_rate", "recipe",
                "metrics")
#: Fields every ``recipe`` holds (``null`` where unknown).
RECIPE_KEYS = ("command", "data", "steps", "seed")
_NAME = re.compile(r"[A-Za-z0-9_\-]+")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def names() -> list[str]:
    """Names of the shipped entries, sorted (``["compressor_proxy", ...]``)."""
    files = resources.files(__name__)
    return sorted(f.name[:-len(".json")] for f in files.iterdir() if f.name.endswith(".json"))


def info(name_or_path: str | os.PathLike) -> dict[str, Any]:
    """The checked sidecar of an entry (the ``.pt`` file is not read).

    Args:
        name_or_path: a name from :func:`names`, or the path of a ``.pt`` (or ``.json``) file
            whose sidecar sits beside it.

    Returns:
        The sidecar as a dict (``class_path``, ``init_args``, ``sha256``, ``sample_rate``,
        ``recipe``, ``metrics``, ...).
    """
    sidecar_file, _ = _entry(name_or_path)
    return _read_sidecar(sidecar_file)


def load(name_or_path: str | os.PathLike) -> nn.Module:
    """Build an entry's module, load its verified weights and put it in eval mode.

    Args:
        name_or_path: a name from :func:`names`, or the path of a ``.pt`` file (written by
            :func:`save`) whose ``.json`` sidecar sits beside it.

    Returns:
        The module on the CPU, in eval mode (``.to(device)`` it as needed).

    Raises:
        ValueError: naming the file, for an unknown name, a missing ``.pt`` or ``.json``, a
            sidecar that is not valid JSON or lacks a field, a sha256 mismatch, a class outside
            ``dasp_blind``, or a state dict that does not match the class.
    """
    sidecar_file, weights_file = _entry(name_or_path)
    if not weights_file.is_file():
        raise ValueError(f"{weights_file}: weights file not found (its sidecar is "
                         f"{sidecar_file})")
    sidecar = _read_sidecar(sidecar_file)
    data = weights_file.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != sidecar["sha256"]:
        raise ValueError(f"{weights_file}: sha256 is {digest}, but {sidecar_file.name} records "
                         f"{sidecar['sha256']}; the file is corrupt or was replaced")
    module = _build(sidecar, sidecar_file)
    state = _read_state(data, weights_file)
    _check_state(state, module, weights_file, sidecar["class_path"])
    module.load_state_dict(state)
    return module.eval()


def save(module: nn.Module, path: str | os.PathLike, *, init_args: Mapping[str, Any],
         sample_rate: float, recipe: Mapping[str, Any], metrics: Mapping[str, Any],
         overwrite: bool = False) -> Path:
    """Write ``module`` as an entry: ``path`` (the state dict) and its ``.json`` sidecar.

    Before anything is written, the sidecar is checked as :func:`load` checks it and
    ``type(module)(**init_args)`` must build a module whose state dict has the same keys and
    shapes, so that what is written loads. Each file is written to a temporary name and
    renamed.

    Args:
        module: an instance of a public ``nn.Module`` class of the ``dasp_blind`` package.
        path: the ``.pt`` file to write; the sidecar gets the same name with ``.json``.
        init_args: JSON-serialisable keyword arguments that build ``module``'s class.
        sample_rate: sample rate in Hz the weights were trained at.
        recipe: how the weights were made: ``command``, ``data``, ``steps``, ``seed`` (``None``
            where unknown) and anything else worth keeping.
        metrics: measurements on held-out data, with ``measured_on`` saying on what (``{}`` if
            none were made).
        overwrite: replace existing files; otherwise an existing ``.pt`` or ``.json`` raises
            ``FileExistsError``.

    Returns:
        The path of the ``.pt`` file.
    """
    weights_file = Path(path)
    if weights_file.suffix != ".pt":
        raise ValueError(f"path must end in .pt, got {str(path)!r}")
    sidecar_file = weights_file.with_suffix(".json")
    if not overwrite:
        for existing in (weights_file, sidecar_file):
            if existing.exists():
                raise FileExistsError(f"{existing} exists; pass overwrite=True to replace it")
    state = {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    data = buffer.getvalue()
    cls = type(module)
    sidecar = {"format": FORMAT, "class_path": f"{cls.__module__}.{cls.__qualname__}",
               "init_args": dict(init_args), "sha256": hashlib.sha256(data).hexdigest(),
               "sample_rate": sample_rate, "recipe": dict(recipe), "metrics": dict(metrics)}
    try:
        text = json.dumps(sidecar, indent=2, allow_nan=False) + "\n"
    except (TypeError, ValueError) as err:
        raise ValueError(f"the sidecar of {weights_file} is not JSON-serialisable: {err}") from None
    _check_sidecar(json.loads(text), sidecar_file)
    _check_state(state, _build(sidecar, sidecar_file), weights_file, sidecar["class_path"])
    weights_file.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(weights_file, data)
    _write_atomic(sidecar_file, text.encode())
    return weights_file


def _entry(name_or_path: str | os.PathLike) -> tuple[Traversable, Traversable]:
    """The ``(sidecar, weights)`` files of a shipped name or of a user's path."""
    if isinstance(name_or_path, str) and _NAME.fullmatch(name_or_path):
        known = names()
        if name_or_path not in known:
            raise ValueError(f"unknown pretrained name {name_or_path!r}; known names: {known} "
                             f"(or give the path of a .pt file)")
        files = resources.files(__name__)
        return files / f"{name_or_path}.json", files / f"{name_or_path}.pt"
    if not isinstance(name_or_path, str | os.PathLike):
        raise ValueError(f"name_or_path must be a name from names() or a path, got "
                         f"{name_or_path!r}")
    path = Path(name_or_path)
    if path.suffix not in (".pt", ".json"):
        raise ValueError(f"{path}: expected a .pt file with its .json sidecar beside it")
    return path.with_suffix(".json"), path.with_suffix(".pt")


def _read_sidecar(sidecar_file: Traversable) -> dict[str, Any]:
    """Parse and check a sidecar file."""
    if not sidecar_file.is_file():
        raise ValueError(f"{sidecar_file}: sidecar not found (every .pt needs its .json "
                         f"beside it)")
    try:
        sidecar = json.loads(sidecar_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{sidecar_file}: not valid JSON ({err})") from None
    return _check_sidecar(sidecar, sidecar_file)


def _check_sidecar(sidecar: Any, sidecar_file: Traversable | Path) -> dict[str, Any]:
    """Check the fields of a parsed sidecar; return it."""
    if not isinstance(sidecar, dict):
        raise ValueError(f"{sidecar_file}: the sidecar must be a JSON object, got "
                         f"{type(sidecar).__name__}")
    missing = [key for key in SIDECAR_KEYS if key not in sidecar]
    if missing:
        raise ValueError(f"{sidecar_file}: missing field(s) {missing}; a sidecar holds "
                         f"{list(SIDECAR_KEYS)}")
    problems = {
        "format": sidecar["format"] != FORMAT,
        "class_path": not isinstance(sidecar["class_path"], str),
        "init_args": not isinstance(sidecar["init_args"], dict),
        "sha256": not (isinstance(sidecar["sha256"], str)
                       and _SHA256.fullmatch(sidecar["sha256"])),
        "sample_rate": not _is_positive_number(sidecar["sample_rate"]),
        "recipe": not (isinstance(sidecar["recipe"], dict)
                       and all(key in sidecar["recipe"] for key in RECIPE_KEYS)),
        "metrics": not (isinstance(sidecar["metrics"], dict)
                        and (not sidecar["metrics"]
                             or isinstance(sidecar["metrics"].get("measured_on"), str))),
    }
    allowed = {
        "format": f"{FORMAT}",
        "class_path": "a string",
        "init_args": "an object",
        "sha256": "64 lowercase hex digits",
        "sample_rate": "a positive number",
        "recipe": f"an object with {list(RECIPE_KEYS)} (null where unknown)",
        "metrics": "an object, with a string 'measured_on' unless empty",
    }
    for key, bad in problems.items():
        if bad:
            raise ValueError(f"{sidecar_file}: field {key!r} must be {allowed[key]}, got "
                             f"{sidecar[key]!r}")
    return sidecar


def _is_positive_number(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)


def _import_class(class_path: str, sidecar_file: Traversable | Path) -> type[nn.Module]:
    """The ``nn.Module`` class named by ``class_path``, imported only from inside dasp_blind."""
    parts = class_path.split(".")
    if (len(parts) < 2 or parts[0] != "dasp_blind"
            or not all(p.isidentifier() and not p.startswith("_") for p in parts)):
        raise ValueError(f"{sidecar_file}: class_path must name a public class inside the "
                         f"dasp_blind package, got {class_path!r}")
    module_name = ".".join(parts[:-1])
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name is None or not err.name.startswith("dasp_blind"):
            raise  # a missing dependency (an extra), not a bad sidecar
        raise ValueError(f"{sidecar_file}: class_path {class_path!r}: no module "
                         f"{module_name!r}") from None
    cls = getattr(module, parts[-1], None)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ValueError(f"{sidecar_file}: class_path {class_path!r} is not an nn.Module class")
    return cls


def _build(sidecar: dict[str, Any], sidecar_file: Traversable | Path) -> nn.Module:
    """``cls(**init_args)`` for the sidecar's class."""
    cls = _import_class(sidecar["class_path"], sidecar_file)
    try:
        return cls(**sidecar["init_args"])
    except (TypeError, ValueError) as err:
        raise ValueError(f"{sidecar_file}: init_args {sidecar['init_args']} do not build "
                         f"{sidecar['class_path']}: {err}") from None


def _read_state(data: bytes, weights_file: Traversable) -> dict[str, Tensor]:
    """The state dict in ``data``, unpickled with ``weights_only=True``."""
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for a damaged or foreign file
        raise ValueError(f"{weights_file}: not a loadable state dict "
                         f"({type(err).__name__}: {err})") from None
    if not (isinstance(state, dict)
            and all(isinstance(k, str) and isinstance(v, Tensor) for k, v in state.items())):
        raise ValueError(f"{weights_file}: must hold a state dict (names -> tensors), got "
                         f"{type(state).__name__}")
    return state


def _check_state(state: Mapping[str, Tensor], module: nn.Module, weights_file: Any,
                 class_path: str) -> None:
    """Raise a ``ValueError`` naming ``weights_file`` unless ``state`` fits ``module``."""
    expected = module.state_dict()
    missing = sorted(expected.keys() - state.keys())
    unexpected = sorted(state.keys() - expected.keys())
    shapes = [f"{k}: file {tuple(state[k].shape)}, model {tuple(v.shape)}"
              for k, v in expected.items() if k in state and state[k].shape != v.shape]
    if missing or unexpected or shapes:
        details = "; ".join(f"{label} {items[:5]}{' ...' if len(items) > 5 else ''}"
                            for label, items in (("missing keys", missing),
                                                 ("unexpected keys", unexpected),
                                                 ("shape mismatches", shapes)) if items)
        raise ValueError(f"{weights_file}: the state dict does not match {class_path} built "
                         f"from its init_args: {details}")


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it to ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


__all__ = ["FORMAT", "RECIPE_KEYS", "SIDECAR_KEYS", "info", "load", "names", "save"]
