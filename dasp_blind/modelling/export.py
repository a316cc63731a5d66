"""Export an effect model to files that run without dasp_blind: TorchScript, ONNX and the plugin
JSONs.

* :func:`export_torchscript` — any effect model (:class:`~dasp_blind.modelling.rnn.RNNModel`,
  :class:`~dasp_blind.modelling.tcn.TCN`,
  :class:`~dasp_blind.modelling.transformer.SpectrogramTransformer`,
  :class:`~dasp_blind.removal.crafx.CRAFx`) as a TorchScript file, loaded back with
  ``torch.jit.load`` (C++: ``torch::jit::load``). ``RNNModel`` and ``TCN`` are compiled with
  ``torch.jit.script`` and keep ``forward_with_state`` and ``initial_state`` (a
  :class:`~dasp_blind.modelling.streaming.Streamer` runs the loaded module). The other two do
  not script (their argument checks and helpers use Python that TorchScript does not compile);
  they are traced with ``torch.jit.trace`` on a seeded example of :data:`TRACE_SAMPLES` samples,
  which records the size arithmetic of the framing, so the trace runs at every length. Every
  export is checked before it is written: the module loaded back from the bytes must give the
  model's output to :data:`VERIFY_TOL` at :data:`CHECK_SAMPLES` lengths other than the example's
  (a trace tied to its example length is refused with a ``ValueError``).
* :func:`export_onnx` — a causal model (``RNNModel``, ``TCN``) as a streaming ONNX graph whose
  state is an explicit input and output (see :func:`export_onnx` for the names and shapes).
  Made with PyTorch's TorchScript-based exporter (``torch.onnx.export(..., dynamo=False)``,
  opset :data:`ONNX_OPSET`): the ``dynamo=True`` default of torch 2.13 fails on these models,
  first on the eager argument checks (``bool`` of a tensor is a data-dependent guard for
  ``torch.export``) and, with the checks out of the way, by unrolling ``nn.GRU`` / ``nn.LSTM``
  over the example's length, so the graph would not take other block lengths. The
  TorchScript-based exporter maps them to the ONNX ``GRU`` / ``LSTM`` operators with a dynamic
  time axis.
* :func:`export_model` — one of :data:`EXPORT_FORMATS` by name, including the plugin JSONs
  ``json`` (GuitarML, :func:`~dasp_blind.modelling.plugin.save_guitarml`) and ``aidax``
  (RTNeural / AIDA-X, :func:`~dasp_blind.modelling.plugin.save_rtneural`);
  :func:`export_formats` says which formats a model supports.

Every function writes through a temporary file renamed onto ``path`` and never replaces an
existing file unless ``overwrite``; the model itself is left as it was (a copy is put in eval
mode and exported from the CPU).
"""

from __future__ import annotations

import copy
import io
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from .._checks import check_bool, check_choice, check_int, check_integer_rate
from .._outputs import write_bytes
from ..removal.crafx import CRAFx
from .plugin import save_guitarml, save_rtneural
from .rnn import RNNModel
from .tcn import TCN
from .transformer import SpectrogramTransformer

#: Formats of :func:`export_model`: TorchScript, streaming ONNX, GuitarML JSON, RTNeural /
#: AIDA-X JSON.
EXPORT_FORMATS = ("torchscript", "onnx", "json", "aidax")
#: Models :func:`export_torchscript` exports (the first two scripted, the others traced).
TORCHSCRIPT_MODELS = (RNNModel, TCN, SpectrogramTransformer, CRAFx)
#: Causal models :func:`export_onnx` exports, with their state.
ONNX_MODELS = (RNNModel, TCN)
#: Samples of the seeded example a model is traced on when it does not script.
TRACE_SAMPLES = 16384
#: ``(batch, samples)`` of the checks an exported TorchScript module must pass: lengths other
#: than :data:`TRACE_SAMPLES`, shorter and longer, and a batch of two.
CHECK_SAMPLES = ((1, 1021), (2, 20011))
#: Largest difference allowed between the exported module and the model, relative to the
#: output's peak (or absolute, for outputs below 1).
VERIFY_TOL = 1e-5
#: Samples of the example a streaming ONNX graph is traced on (its samples axis is dynamic
#: unless ``block_size`` fixes it).
ONNX_EXAMPLE_SAMPLES = 512
#: ONNX opset of :func:`export_onnx` (ONNX 1.12; its GRU with ``linear_before_reset`` and its
#: LSTM hold PyTorch's layers as they are).
ONNX_OPSET = 17
_ONNX_EXTRA = 'pip install "dasp_blind[export]"'


def export_torchscript(model: nn.Module, path: str | Path, overwrite: bool = False) -> Path:
    """Write ``model`` as a TorchScript file that ``torch.jit.load`` reads back.

    ``torch.jit.script`` is tried first (``RNNModel``, ``TCN``: the file keeps ``forward``,
    ``forward_with_state`` and ``initial_state``, with ``controls`` optional); a model that does
    not script (``SpectrogramTransformer``, ``CRAFx``) is traced on a seeded example of
    :data:`TRACE_SAMPLES` samples (``forward(x)``, or ``forward(x, controls)`` for a
    conditioned model, both arguments then required). Before anything is written, the module
    loaded back from the serialised bytes must match the model to :data:`VERIFY_TOL` at the
    :data:`CHECK_SAMPLES` shapes.

    Args:
        model: an effect model of :data:`TORCHSCRIPT_MODELS` (left unchanged: a CPU copy in
            eval mode is exported).
        path: the file to write (``.pt`` by convention); folders above it are created.
        overwrite: replace an existing file.

    Returns:
        The path written.

    Raises:
        FileExistsError: if ``path`` exists and ``overwrite`` is false.
        ValueError: naming ``model`` for another class or for an export that does not
            reproduce the model, ``path`` for a folder, ``overwrite`` for a non-bool.
    """
    _check_class(model, TORCHSCRIPT_MODELS, "TorchScript")
    dest = _destination(path, overwrite)
    net = _eval_copy(model)
    with warnings.catch_warnings():
        # torch 2.13 marks TorchScript deprecated (torch.jit still works; see the docs page)
        warnings.simplefilter("ignore", DeprecationWarning)
        compiled, how = _compile(net)
        buffer = io.BytesIO()
        torch.jit.save(compiled, buffer)
        data = buffer.getvalue()
        loaded = torch.jit.load(io.BytesIO(data), map_location="cpu")
        problem = _mismatch(net, loaded)
    if problem:
        raise ValueError(
            f"model: the {how} {type(model).__name__} does not reproduce the model ({problem}); "
            f"TorchScript export supports {_names(TORCHSCRIPT_MODELS)} (RNNModel and TCN "
            f"scripted, the others traced on {TRACE_SAMPLES} samples)")
    return _write_bytes(dest, data, overwrite)


def export_onnx(model: nn.Module, path: str | Path, sample_rate: int | None = None,
                overwrite: bool = False, block_size: int | None = None) -> Path:
    """Write a causal model as a streaming ONNX graph with its state as an input and an output.

    The graph computes one block of a stream, ``forward_with_state`` of the model:

    * inputs ``x`` ``(batch, 1, samples)``, ``controls`` ``(batch, num_controls)`` (only for
      a model with ``num_controls > 0``: normalised knob settings in ``[0, 1]``, constant over
      the block) and ``state_in``;
    * outputs ``y`` ``(batch, 1, samples)`` and ``state_out``, the ``state_in`` of the next
      block.

    The state has the model's layout: ``(num_layers, batch, hidden_size)`` for a GRU,
    ``(2, num_layers, batch, hidden_size)`` (``h`` over ``c``) for an LSTM, ``(batch, channels,
    receptive_field − 1)`` for a TCN. The first block of a stream takes zeros for a GRU / LSTM
    (:meth:`RNNModel.initial_state <dasp_blind.modelling.rnn.RNNModel.initial_state>`). A
    TCN starts from its rest state, :meth:`TCN.initial_state
    <dasp_blind.modelling.tcn.TCN.initial_state>` (the caches after an endless silence); a host
    without PyTorch gets the same state by running ``receptive_field − 1`` samples of silence
    through the graph from a zero state. The batch axis is dynamic, and so is the samples axis
    unless ``block_size`` fixes it. The graph's metadata (``metadata_props``) records
    ``model``, ``num_controls``, ``state_shape``, ``initial_state``, ``receptive_field`` and,
    when given, ``sample_rate``. Float32 models give float32 graphs. Needs the ``export`` extra
    (``onnx``).

    Args:
        model: an :class:`~dasp_blind.modelling.rnn.RNNModel` or
            :class:`~dasp_blind.modelling.tcn.TCN` (left unchanged: a CPU copy in eval mode is
            exported).
        path: the file to write (``.onnx``); folders above it are created.
        sample_rate: the rate the model was trained at, in Hz (a positive integer), recorded
            in the metadata; ``None`` records none.
        overwrite: replace an existing file.
        block_size: samples per block when the host's block length is fixed (a static samples
            axis, which some runtimes prefer); ``None`` (default): any length.

    Returns:
        The path written.

    Raises:
        FileExistsError: if ``path`` exists and ``overwrite`` is false.
        ValueError: naming ``model`` (not causal: ONNX export supports RNNModel and TCN),
            ``sample_rate``, ``block_size``, ``path`` (a folder) or ``overwrite``.
        ImportError: without the ``onnx`` package.
    """
    _check_class(model, ONNX_MODELS, "streaming ONNX")
    rate = None if sample_rate is None else check_integer_rate(sample_rate)
    samples = (ONNX_EXAMPLE_SAMPLES if block_size is None
               else check_int(block_size, "block_size", low=1))
    dest = _destination(path, overwrite)
    try:
        import onnx
    except ImportError:
        raise ImportError(f"ONNX export needs the onnx package: {_ONNX_EXTRA}") from None
    net = _eval_copy(model)
    conditioned = net.num_controls > 0
    x = torch.zeros(1, 1, samples, dtype=_dtype(net))
    controls = torch.full((1, net.num_controls), 0.5, dtype=x.dtype) if conditioned else None
    with torch.no_grad():
        state = _initial_state(net, 1, controls)
        state_axis = _batch_axis(state, _initial_state(net, 2, _repeat(controls, 2)))
    names = ["x", "controls", "state_in"] if conditioned else ["x", "state_in"]
    args = (x, controls, state) if conditioned else (x, state)
    audio_axes = {0: "batch", 2: "samples"} if block_size is None else {0: "batch"}
    axes = {"x": audio_axes, "y": audio_axes, "state_in": {state_axis: "batch"},
            "state_out": {state_axis: "batch"}}
    if conditioned:
        axes["controls"] = {0: "batch"}
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        # the eager argument checks read tensor values while tracing (recorded as constants:
        # they only raise or pass), and the exporter warns about every one of them; it also
        # warns that it is the legacy exporter, chosen on purpose (see the module docstring)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.onnx")
        torch.onnx.export(_StreamGraph(net).eval(), args, buffer, input_names=names,
                          output_names=["y", "state_out"], dynamic_axes=axes,
                          opset_version=ONNX_OPSET, dynamo=False)
    graph = onnx.load_model_from_string(buffer.getvalue())
    onnx.helper.set_model_props(graph, _onnx_metadata(net, tuple(state.shape), state_axis, rate))
    onnx.checker.check_model(graph)
    return _write_bytes(dest, graph.SerializeToString(), overwrite)


def export_formats(model: nn.Module) -> tuple[str, ...]:
    """The formats of :data:`EXPORT_FORMATS` that ``model`` can be exported to: TorchScript for
    every effect model, ONNX for the causal ones, the plugin JSONs for an ``RNNModel`` without
    the pre-processing net; ``()`` for any other module."""
    formats = []
    if isinstance(model, TORCHSCRIPT_MODELS):
        formats.append("torchscript")
    if isinstance(model, ONNX_MODELS):
        formats.append("onnx")
    if isinstance(model, RNNModel) and model.pre_hidden == 0:
        formats += ["json", "aidax"]
    return tuple(formats)


def export_model(model: nn.Module, path: str | Path, fmt: str, sample_rate: int | None = None,
                 overwrite: bool = False) -> Path:
    """Write ``model`` to ``path`` in the format ``fmt`` of :data:`EXPORT_FORMATS`.

    ``"torchscript"``: :func:`export_torchscript`; ``"onnx"``: :func:`export_onnx`;
    ``"json"``: the GuitarML / CoreAudioML layout
    (:func:`~dasp_blind.modelling.plugin.save_guitarml`); ``"aidax"``: the RTNeural / AIDA-X
    layout (:func:`~dasp_blind.modelling.plugin.save_rtneural`).

    Args:
        model: the effect model.
        path: the file to write.
        fmt: a name of :data:`EXPORT_FORMATS`.
        sample_rate: the model's rate in Hz; required by ``"json"`` and ``"aidax"``, recorded
            by ``"onnx"``, unused by ``"torchscript"``.
        overwrite: replace an existing file.

    Returns:
        The path written.

    Raises:
        FileExistsError: if ``path`` exists and ``overwrite`` is false.
        ValueError: naming ``fmt`` for an unknown format or one ``model`` does not support
            (see :func:`export_formats`), else as the format's writer.
    """
    check_choice(fmt, "fmt", EXPORT_FORMATS)
    supported = export_formats(model)
    if fmt not in supported:
        listed = ", ".join(supported) if supported else "none (not an effect model)"
        raise ValueError(f"fmt {fmt!r} does not support a {type(model).__name__}; its formats: "
                         f"{listed}")
    if fmt == "torchscript":
        return export_torchscript(model, path, overwrite=overwrite)
    if fmt == "onnx":
        return export_onnx(model, path, sample_rate=sample_rate, overwrite=overwrite)
    if sample_rate is None:
        raise ValueError(f"sample_rate is required for the {fmt} plugin file, got None")
    save = save_guitarml if fmt == "json" else save_rtneural
    return save(model, path, sample_rate, overwrite=overwrite)


class _StreamGraph(nn.Module):
    """``forward_with_state`` with positional inputs, what the ONNX exporter traces:
    ``(x, controls, state)`` for a conditioned model, ``(x, state)`` otherwise."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.conditioned = model.num_controls > 0

    def forward(self, x: Tensor, first: Tensor, second: Tensor | None = None
                ) -> tuple[Tensor, Tensor]:
        if self.conditioned:
            return self.model.forward_with_state(x, first, second)
        return self.model.forward_with_state(x, None, first)


def _check_class(model: object, classes: tuple[type, ...], what: str) -> None:
    if not isinstance(model, classes):
        raise ValueError(f"model must be one of {_names(classes)} for {what} export, got "
                         f"{type(model).__name__}")


def _names(classes: tuple[type, ...]) -> str:
    return ", ".join(cls.__name__ for cls in classes)


def _destination(path: str | Path, overwrite: bool) -> Path:
    """``path`` checked before any work: not a folder, not an existing file unless
    ``overwrite``."""
    overwrite = check_bool(overwrite, "overwrite")
    dest = Path(path)
    if dest.is_dir():
        raise ValueError(f"path must be a file name, got the folder {str(dest)!r}")
    if dest.exists() and not overwrite:
        raise FileExistsError(f"{str(dest)!r} exists; pass overwrite to replace it")
    return dest


def _write_bytes(dest: Path, data: bytes, overwrite: bool) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    return write_bytes(dest, data, overwrite)


def _eval_copy(model: nn.Module) -> nn.Module:
    return copy.deepcopy(model).cpu().eval()


def _dtype(model: nn.Module) -> torch.dtype:
    return next(model.parameters()).dtype


def _compile(net: nn.Module) -> tuple[torch.jit.ScriptModule, str]:
    """``(torch.jit.script(net), "scripted")``, or the trace of ``net`` on the seeded example
    when it does not script."""
    try:
        return torch.jit.script(net), "scripted"
    except Exception:  # the compiler raises several types for code it does not support
        pass
    x, controls = _example(net, 1, TRACE_SAMPLES, seed=0)
    inputs = (x,) if controls is None else (x, controls)
    with torch.no_grad(), warnings.catch_warnings():
        # shape arithmetic is recorded by the tracer; whether the trace is general is checked
        # on other lengths by _mismatch, so its warnings add nothing
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        return torch.jit.trace(net, inputs, check_trace=False), "traced"


def _example(net: nn.Module, batch: int, samples: int, seed: int
             ) -> tuple[Tensor, Tensor | None]:
    """Seeded audio ``(batch, 1, samples)`` at 0.5 of full scale and, for a conditioned model,
    uniform controls ``(batch, num_controls)``."""
    generator = torch.Generator().manual_seed(seed)
    x = 0.5 * torch.randn(batch, 1, samples, generator=generator, dtype=_dtype(net))
    count = int(getattr(net, "num_controls", 0))
    controls = (torch.rand(batch, count, generator=generator, dtype=x.dtype) if count
                else None)
    return x, controls


def _mismatch(net: nn.Module, compiled: torch.jit.ScriptModule) -> str:
    """``""`` when ``compiled`` gives ``net``'s output at every :data:`CHECK_SAMPLES` shape,
    else what differs."""
    for seed, (batch, samples) in enumerate(CHECK_SAMPLES, start=1):
        x, controls = _example(net, batch, samples, seed)
        inputs = (x,) if controls is None else (x, controls)
        with torch.no_grad():
            expected = net(*inputs)
            try:
                got = compiled(*inputs)
            except RuntimeError as err:
                return f"it fails on {samples} samples: {str(err).strip().splitlines()[-1]}"
        if got.shape != expected.shape:
            return (f"on {samples} samples it returns shape {tuple(got.shape)}, not "
                    f"{tuple(expected.shape)}")
        error = float((got - expected).abs().max())
        bound = VERIFY_TOL * max(1.0, float(expected.abs().max()))
        if not error <= bound:
            return f"on {samples} samples it differs by {error:.3g} > {bound:.3g}"
    return ""


def _initial_state(net: nn.Module, batch: int, controls: Tensor | None) -> Tensor:
    if isinstance(net, TCN):
        return net.initial_state(batch, controls=controls)
    return net.initial_state(batch)


def _repeat(controls: Tensor | None, batch: int) -> Tensor | None:
    return None if controls is None else controls.expand(batch, -1)


def _batch_axis(one: Tensor, two: Tensor) -> int:
    """The axis of the state that grows with the batch."""
    return next(i for i, (a, b) in enumerate(zip(one.shape, two.shape, strict=True)) if a != b)


def _onnx_metadata(net: nn.Module, shape: tuple[int, ...], axis: int,
                   rate: int | None) -> dict[str, str]:
    dims = [str(n) for n in shape]
    dims[axis] = "batch"
    if isinstance(net, TCN):
        start = (f"rest state: TCN.initial_state, or the state after receptive_field - 1 = "
                 f"{net.receptive_field - 1} samples of silence from zeros")
        receptive = str(net.receptive_field)
    else:
        start = "zeros"
        receptive = "inf"
    props = {"model": type(net).__name__, "num_controls": str(net.num_controls),
             "state_shape": f"({', '.join(dims)})", "initial_state": start,
             "receptive_field": receptive}
    if rate is not None:
        props["sample_rate"] = str(rate)
    return props


__all__ = ["CHECK_SAMPLES", "EXPORT_FORMATS", "ONNX_EXAMPLE_SAMPLES", "ONNX_MODELS",
           "ONNX_OPSET", "TORCHSCRIPT_MODELS", "TRACE_SAMPLES", "VERIFY_TOL", "export_formats",
           "export_model", "export_onnx", "export_torchscript"]
