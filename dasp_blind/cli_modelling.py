"""``dasp-blind export`` (an effect model to a TorchScript, ONNX or plugin JSON file) and
``dasp-blind process`` (an effect model run on an audio file).

Both take the model as ``--model`` (a shipped name or the path of a ``.pt`` written by
:func:`dasp_blind.pretrained.save`, e.g. ``modelling_rnn.pt`` from ``dasp-blind fit``) or
``--checkpoint`` (a Lightning checkpoint of
:class:`~dasp_blind.modelling.module.ModellingModule`, needs the train extra); the model's
sample rate comes from the sidecar or the checkpoint's ``sample_rate``.

Knobs (``process --knob``) are **normalised** controls in ``[0, 1]``, one per control of the
model, either all as plain values in the model's control order (``--knob 0.7 --knob 0.2``) or
all as ``NAME=VALUE`` (``--knob gain_db=0.7 --knob colour=0.2``). Names are known only for a
``.pt`` whose sidecar recipe says how the controls were made: synthetic pairs with random
controls (the names of that effect's parameters, ``dasp-blind effects NAME``) or IDMT pairs
(``setting``).
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from .cli_common import (
    CLIError,
    check_files,
    check_output,
    checked,
    load_checkpoint,
    os_message,
    progress,
    read_input,
    resample_audio,
    write_output,
)

#: Samples per block (at the model's rate) of a causal model in ``process``.
DEFAULT_BLOCK = 4096
#: Files longer than this (in seconds) get a progress bar while a causal model streams them.
PROGRESS_S = 10.0


def add_export(sub: argparse._SubParsersAction) -> None:
    """``dasp-blind export``."""
    from .modelling.export import EXPORT_FORMATS

    p = sub.add_parser(
        "export", help="export an effect model to TorchScript, ONNX or a plugin JSON file",
        description="Write an effect model (RNNModel, TCN, SpectrogramTransformer, CRAFx) to "
                    "a file that runs without dasp_blind. torchscript: any of them "
                    "(torch.jit.load); onnx: RNNModel and TCN, a streaming graph with the state "
                    "as input and output (needs the export extra); json: the GuitarML layout "
                    "(Proteus, NeuralPi, BYOD); aidax: the RTNeural / AIDA-X layout; both JSONs "
                    "for an RNNModel without pre-net only.")
    _add_source(p)
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS,
                   help="torchscript, onnx, json (GuitarML) or aidax (RTNeural / AIDA-X)")
    p.add_argument("output", help="the file to write")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.set_defaults(func=run_export)


def add_process(sub: argparse._SubParsersAction) -> None:
    """``dasp-blind process``."""
    p = sub.add_parser(
        "process", help="run an effect model on an audio file",
        description="Run an effect model on an audio file: each channel is resampled to the "
                    "model's rate, processed (a causal model, RNNModel or TCN, streamed block "
                    "by block with its state carried, with a progress bar for long files; an "
                    "offline model in one pass) and resampled back to the file's rate.")
    _add_source(p)
    p.add_argument("input", help="the audio file to read")
    p.add_argument("output", help="the audio file to write (its extension picks the format)")
    p.add_argument("--knob", action="append", default=[], metavar="VALUE|NAME=VALUE",
                   help="a normalised control in [0, 1], repeatable: one per control of the "
                        "model, all in the model's control order (--knob 0.7 --knob 0.2) or "
                        "all named (--knob gain_db=0.7 --knob colour=0.2; names from the "
                        "sidecar's recipe)")
    p.add_argument("--block-size", type=int, default=None,
                   help=f"samples per block at the model's rate, causal models only "
                        f"(default: {DEFAULT_BLOCK})")
    p.add_argument("--subtype", default=None,
                   help="libsndfile subtype of the output (FLOAT, PCM_16, PCM_24, ...)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.set_defaults(func=run_process)


def _add_source(p: argparse.ArgumentParser) -> None:
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", default=None,
                        help="a shipped name or the path of a .pt with its .json sidecar "
                             "(e.g. modelling_rnn.pt written by dasp-blind fit)")
    source.add_argument("--checkpoint", default=None,
                        help="a Lightning checkpoint of ModellingModule (needs the train extra)")


def load_effect_model(args: argparse.Namespace) -> tuple[Any, int, dict | None, str, str]:
    """``(model in eval mode, sample rate in Hz, sidecar or None, how it was named, option)``
    of ``--model`` / ``--checkpoint``; a CLIError naming the option for anything but an effect
    model."""
    from .modelling.export import TORCHSCRIPT_MODELS

    if args.checkpoint is not None:
        option, name, sidecar = "--checkpoint", args.checkpoint, None
        module = load_checkpoint(".modelling.module", "ModellingModule", args.checkpoint)
        model, rate = module.model, module.hparams.sample_rate
    else:
        from . import pretrained

        option, name = "--model", args.model
        try:
            model = pretrained.load(name)
            sidecar = pretrained.info(name)
        except (OSError, ValueError) as err:
            raise CLIError(option, str(err)) from None
        rate = sidecar["sample_rate"]
    if not isinstance(model, TORCHSCRIPT_MODELS):
        kinds = ", ".join(cls.__name__ for cls in TORCHSCRIPT_MODELS)
        raise CLIError(option, f"{name!r} is a {type(model).__name__}, not an effect model "
                               f"({kinds})")
    if not float(rate).is_integer():
        raise CLIError(option, f"{name!r} records the sample rate {rate!r} Hz; an integer "
                               f"rate is needed")
    return model.eval(), int(rate), sidecar, name, option


# --- export -----------------------------------------------------------------------------------

#: What each format needs, for the error of a model that lacks it.
_NEEDS = {"onnx": "a causal model (RNNModel or TCN)",
          "json": "an RNNModel without the pre-processing net (pre_hidden=0)",
          "aidax": "an RNNModel without the pre-processing net (pre_hidden=0)"}


def run_export(args: argparse.Namespace) -> int:
    """Load the model, check that it supports the format, write the file."""
    from .modelling.export import export_formats, export_model

    check_output(args.checkpoint or args.model, args.output, args.overwrite)
    model, rate, _, name, option = load_effect_model(args)
    supported = export_formats(model)
    if args.format not in supported:
        raise CLIError("--format", f"{args.format} needs {_NEEDS[args.format]}; {name!r} is a "
                                   f"{type(model).__name__}{_pre_net(model)}, which exports to "
                                   f"{', '.join(supported)}")
    try:
        export_model(model, args.output, args.format, sample_rate=rate, overwrite=args.overwrite)
    except ImportError as err:
        raise CLIError("--format", str(err)) from None
    except OSError as err:
        raise CLIError("output", os_message(err)) from None
    except ValueError as err:  # weights a format cannot hold, an export that does not match
        raise CLIError(option, str(err)) from None
    print(f"wrote {args.output}: {args.format} of the {type(model).__name__} {name!r} "
          f"({rate} Hz)")
    return 0


def _pre_net(model: Any) -> str:
    pre_hidden = getattr(model, "pre_hidden", 0)
    return f" with pre_hidden={pre_hidden}" if pre_hidden else ""


# --- process ----------------------------------------------------------------------------------

def run_process(args: argparse.Namespace) -> int:
    """Read, resample to the model's rate, process every channel, resample back, write."""
    import torch

    from ._checks import check_int

    check_files(args)
    block = None if args.block_size is None else checked(
        "--block-size", lambda b: check_int(b, "--block-size", low=1), args.block_size)
    model, rate, sidecar, name, _ = load_effect_model(args)
    num_controls = int(getattr(model, "num_controls", 0))
    controls = parse_knobs(args.knob, num_controls, knob_names(sidecar, rate, num_controls))
    causal = callable(getattr(model, "forward_with_state", None))
    if block is not None and not causal:
        raise CLIError("--block-size", f"{name!r} is a {type(model).__name__}, an offline model "
                                       f"that processes the whole file in one pass; leave out "
                                       f"--block-size")
    audio, file_rate = read_input(args.input)
    x = resample_audio(audio, file_rate, rate)  # (channels, samples) at the model's rate
    how = f"streamed in blocks of {block or DEFAULT_BLOCK}" if causal else "in one pass"
    progress(f"{name}: {type(model).__name__}, {x.shape[0]} channel(s), "
             f"{x.shape[-1] / rate:.1f} s at {rate} Hz, {how}")
    knobs = None if controls is None else controls.expand(x.shape[0], -1)
    if causal:
        y = _stream(model, x, knobs, block or DEFAULT_BLOCK, long=x.shape[-1] > PROGRESS_S * rate)
    else:
        with torch.no_grad():
            y = (model(x[:, None]) if knobs is None else model(x[:, None], knobs))[:, 0]
    out = resample_audio(y, rate, file_rate)[..., :audio.shape[-1]]
    out = torch.nn.functional.pad(out, (0, audio.shape[-1] - out.shape[-1]))
    write_output(args, out, file_rate)
    return 0


def _stream(model: Any, x: Any, knobs: Any, block: int, long: bool) -> Any:
    """``x`` ``(channels, samples)`` through a :class:`~dasp_blind.modelling.Streamer`, one
    batch item per channel, ``block`` samples at a time."""
    import torch
    from tqdm.auto import tqdm

    from .modelling.streaming import Streamer

    streamer = Streamer(model, batch=x.shape[0])
    starts = range(0, x.shape[-1], block)
    blocks = [streamer.process(x[:, None, start:start + block], knobs)
              for start in tqdm(starts, disable=not long, unit="block", desc="processing")]
    return torch.cat(blocks, dim=-1)[:, 0]


def knob_names(sidecar: dict | None, sample_rate: int, num_controls: int
               ) -> tuple[str, ...] | None:
    """The names of a model's controls, in order, from its sidecar's ``recipe.data``: the
    parameters of the synthetic-pairs effect for random controls, ``("setting",)`` for IDMT
    pairs; ``None`` when the recipe does not say (or disagrees with ``num_controls``)."""
    from .modelling.data import SYNTHETIC_EFFECTS

    data = (sidecar or {}).get("recipe", {}).get("data")
    if not isinstance(data, dict) or num_controls == 0:
        return None
    names: tuple[str, ...] | None = None
    effect = data.get("effect")
    if (data.get("source") == "synthetic" and data.get("controls") == "random"
            and isinstance(effect, str) and effect in SYNTHETIC_EFFECTS):
        try:
            names = tuple(SYNTHETIC_EFFECTS[effect](sample_rate).param_space.names)
        except ValueError:  # the effect cannot be built at this rate: no names
            return None
    elif data.get("source") == "idmt":
        names = ("setting",)
    return names if names is not None and len(names) == num_controls else None


def parse_knobs(items: list[str], num_controls: int, names: tuple[str, ...] | None) -> Any:
    """``--knob`` strings -> the controls ``(1, num_controls)`` (float32), or ``None`` for a
    model without controls; a CLIError naming ``--knob`` for a wrong count, a value outside
    ``[0, 1]``, a mix of named and plain values, or an unknown or repeated name."""
    import torch

    if num_controls == 0:
        if items:
            raise CLIError("--knob", "this model has no controls; leave out --knob")
        return None
    named = ["=" in item for item in items]
    if any(named) and not all(named):
        raise CLIError("--knob", "give every --knob as NAME=VALUE or every one as a plain "
                                 "VALUE, not both")
    known = f" ({', '.join(names)})" if names else ""
    if len(items) != num_controls:
        raise CLIError("--knob", f"the model has {num_controls} control(s){known}; got "
                                 f"{len(items)} --knob value(s): give one per control")
    if not all(named):
        return torch.tensor([[_knob_value(item, item) for item in items]])
    if names is None:
        raise CLIError("--knob", "this model records no control names; give the values in "
                                 "order as plain numbers (--knob 0.5 ...)")
    values: dict[str, float] = {}
    for item in items:
        key, _, text = item.partition("=")
        key = key.strip()
        if key not in names:
            raise CLIError("--knob", f"unknown control {key!r}; the model's controls: "
                                     f"{', '.join(names)}")
        if key in values:
            raise CLIError("--knob", f"{key!r} is given twice")
        values[key] = _knob_value(text, item)
    return torch.tensor([[values[key] for key in names]])


def _knob_value(text: str, item: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CLIError("--knob", f"{item!r}: a control must be a number in [0, 1]") from None
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise CLIError("--knob", f"{item!r}: a control is a normalised value in [0, 1], got "
                                 f"{text.strip()}")
    return value


__all__ = ["DEFAULT_BLOCK", "PROGRESS_S", "add_export", "add_process", "knob_names",
           "load_effect_model", "parse_knobs", "run_export", "run_process"]
