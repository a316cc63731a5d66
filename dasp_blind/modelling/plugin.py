"""Export an :class:`~dasp_blind.modelling.rnn.RNNModel` to the JSON files that real-time
plugins load.

Two formats, each as a ``dict`` (``to_*``) or written to a file (``save_*``):

**GuitarML / Automated-GuitarAmpModelling** (:func:`to_guitarml`): the layout of
``SimpleRNN.save_model`` in ``Alec-Wright/CoreAudioML`` (``networks.py``)::

    {"model_data": {"model": "SimpleRNN", "input_size": 1 + C, "skip": 0 | 1,
                    "output_size": 1, "unit_type": "GRU" | "LSTM", "num_layers": L,
                    "hidden_size": H, "bias_fl": true, "sample_rate": fs},
     "state_dict": {"rec.weight_ih_l0": [[...]], "rec.weight_hh_l0": ..., "rec.bias_ih_l0": ...,
                    "rec.bias_hh_l0": ..., (the same for l1, l2, …), "lin.weight": [[...]],
                    "lin.bias": [...]}}

The state dict is PyTorch's own, as nested lists of floats (gate order r, z, n for a GRU;
i, f, g, o for an LSTM). ``skip`` is an int as CoreAudioML writes it (the number of input
features added to the output; 1 adds the audio sample), ``bias_fl`` a bool. ``sample_rate`` is
not written by CoreAudioML; BYOD reads it (``model_data.sample_rate``, default 44100).

Verified in the loaders' source:

* ``GuitarML/Proteus`` ``src/RTNeuralLSTM.cpp`` / ``.h``: reads ``model_data.input_size``
  (1, 2 or 3) and ``state_dict`` ``rec.*_l0``, ``lin.weight``, ``lin.bias``; builds an
  RTNeural LSTM with 40 units (``PluginEditor.cpp`` accepts only ``unit_type == "LSTM"`` and
  ``hidden_size == 40``), adds ``bias_ih + bias_hh``, and always adds the input sample to the
  output (``skip`` is not read).
* ``GuitarML/NeuralPi`` ``Source/RTNeuralLSTM.cpp`` / ``.h``: the same reader with LSTM-20;
  ``GuitarML/Chameleon`` ``Source/RTNeuralLSTM.*``: LSTM-32, input size 1.
* ``Chowdhury-DSP/BYOD`` ``src/processors/drive/GuitarMLAmp.cpp``: LSTM-40 with
  ``input_size`` 1 or 2, ``sample_rate``; weights through RTNeural's ``torch_helpers``.

All of them read the first layer only (``_l0``): export ``num_layers=1`` for them.

**RTNeural / AIDA-X** (:func:`to_rtneural`): RTNeural's Keras-style model JSON::

    {"in_shape": [null, null, 1 + C], "in_skip": 0 | 1,
     "layers": [{"type": "gru" | "lstm", "activation": "", "shape": [null, null, H],
                 "weights": [kernel, recurrent_kernel, bias]},  (one per recurrent layer)
                {"type": "dense", "activation": "", "shape": [null, null, 1],
                 "weights": [kernel, bias]}],
     "metadata": {"samplerate": "fs"}}

Verified in ``jatinchowdhury18/RTNeural`` ``RTNeural/model_loader.h`` (``parseJson``,
``loadGRU``, ``loadLSTM``, ``loadDense``), ``RTNeural/ModelT.h`` (``modelt_detail::parseJson``),
``RTNeural/gru/gru.tpp`` / ``gru.h`` and ``RTNeural/lstm/lstm.tpp`` / ``lstm.h``:

* the input width is ``in_shape``'s last entry; each layer's width is its ``shape``'s last
  entry; the layers are read in order (stacked recurrent layers are expressible);
* GRU: ``weights[0]`` is the kernel ``(inputs, 3H)``, ``weights[1]`` the recurrent kernel
  ``(H, 3H)``, columns in Keras' gate order z, r, h; ``weights[2]`` the bias ``(2, 3H)``: row 0
  is added to the input term, row 1 to the recurrent term *inside* the reset gate's product
  (``c = tanh(W_c x + b0_c + r ⊙ (U_c h + b1_c))``, Keras' ``reset_after=True``), and
  ``h' = (1 − z) ⊙ c + z ⊙ h``: PyTorch's GRU with r and z swapped, ``bias_ih`` in row 0 and
  ``bias_hh`` in row 1;
* LSTM: kernel ``(inputs, 4H)``, recurrent kernel ``(H, 4H)``, gate order i, f, c, o (PyTorch's
  i, f, g, o), one bias ``(4H,)`` = ``bias_ih + bias_hh``;
* dense: ``weights[0]`` is the kernel ``(inputs, outputs)``, ``weights[1]`` the bias; an empty
  ``activation`` adds none (a recurrent layer's ``activation`` is not read).

``in_skip`` is AIDA-X's key (``AidaDSP/AIDA-X`` ``src/aidadsp-plugin.cpp``,
``loadModelFromStream``: an int, 0 or 1, absent means 0; with 1 the plugin adds the input sample
to the model's output); the plugin also reads optional ``in_gain`` / ``out_gain`` in dB (not
written here). AIDA-X's ``src/model_variant.hpp`` loads exactly one GRU or LSTM layer of 8, 12,
16, 20, 24, 32, 40, 64 or 80 units with 1 to 3 inputs followed by a dense layer of 1 output:
export ``num_layers=1`` for it. ``metadata.samplerate`` (a string) follows the model shipped in
AIDA-X's ``files/`` folder; no loader reads it.

Only models without the pre-processing net (``pre_hidden == 0``) are exported: neither
format's plugins run one before the recurrent layer.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import Tensor

from .._checks import check_bool, check_integer_rate
from .._outputs import write_text
from .rnn import RNNModel


def to_guitarml(model: RNNModel, sample_rate: int) -> dict:
    """The GuitarML / Automated-GuitarAmpModelling (CoreAudioML ``SimpleRNN``) JSON of
    ``model`` as a ``dict`` (see the module's docstring for the layout).

    Args:
        model: an :class:`RNNModel` with ``pre_hidden == 0``.
        sample_rate: the sample rate the model was trained at, in Hz (a positive integer).

    Raises:
        ValueError: naming ``model``, ``pre_hidden`` or ``sample_rate``.
    """
    _check_model(model)
    rate = check_integer_rate(sample_rate)
    state = {name: _as_lists(value) for name, value in model.state_dict().items()
             if name.startswith(("rec.", "lin."))}
    return {
        "model_data": {
            "model": "SimpleRNN",
            "input_size": model.input_size,
            "skip": int(model.skip),
            "output_size": 1,
            "unit_type": model.cell.upper(),
            "num_layers": model.num_layers,
            "hidden_size": model.hidden_size,
            "bias_fl": True,
            "sample_rate": rate,
        },
        "state_dict": state,
    }


def to_rtneural(model: RNNModel, sample_rate: int) -> dict:
    """The RTNeural / AIDA-X (Keras-style) JSON of ``model`` as a ``dict`` (see the module's
    docstring for the layout and the weight conversion).

    Args:
        model: an :class:`RNNModel` with ``pre_hidden == 0``.
        sample_rate: the sample rate the model was trained at, in Hz (a positive integer);
            written as ``metadata.samplerate``.

    Raises:
        ValueError: naming ``model``, ``pre_hidden`` or ``sample_rate``.
    """
    _check_model(model)
    rate = check_integer_rate(sample_rate)
    h = model.hidden_size
    layers = []
    for k in range(model.num_layers):
        # float64, so that the summed LSTM biases are exact sums of the float32 weights
        w_ih, w_hh, b_ih, b_hh = (getattr(model.rec, f"{name}_l{k}").detach().double()
                                  for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
        if model.lstm:  # PyTorch i, f, g, o = RTNeural i, f, c, o
            weights = [w_ih.T, w_hh.T, b_ih + b_hh]
        else:  # PyTorch rows r, z, n -> RTNeural columns z, r, h
            order = torch.cat([torch.arange(h, 2 * h), torch.arange(h), torch.arange(2 * h, 3 * h)])
            weights = [w_ih[order].T, w_hh[order].T, torch.stack([b_ih[order], b_hh[order]])]
        layers.append({"type": model.cell, "activation": "", "shape": [None, None, h],
                       "weights": [_as_lists(w) for w in weights]})
    layers.append({"type": "dense", "activation": "", "shape": [None, None, 1],
                   "weights": [_as_lists(model.lin.weight.T), _as_lists(model.lin.bias)]})
    return {
        "in_shape": [None, None, model.input_size],
        "in_skip": int(model.skip),
        "layers": layers,
        "metadata": {"samplerate": str(rate)},
    }


def save_guitarml(model: RNNModel, path: str | Path, sample_rate: int,
                  overwrite: bool = False) -> Path:
    """Write :func:`to_guitarml` to ``path`` (a temporary file renamed onto it).

    Returns:
        The path written (folders above it are created).

    Raises:
        FileExistsError: if ``path`` exists and ``overwrite`` is false.
        ValueError: as :func:`to_guitarml`, or naming ``path`` (a folder) or ``overwrite``.
    """
    return _save(to_guitarml(model, sample_rate), path, overwrite)


def save_rtneural(model: RNNModel, path: str | Path, sample_rate: int,
                  overwrite: bool = False) -> Path:
    """Write :func:`to_rtneural` to ``path`` (a temporary file renamed onto it).

    Returns:
        The path written (folders above it are created).

    Raises:
        FileExistsError: if ``path`` exists and ``overwrite`` is false.
        ValueError: as :func:`to_rtneural`, or naming ``path`` (a folder) or ``overwrite``.
    """
    return _save(to_rtneural(model, sample_rate), path, overwrite)


def _check_model(model: object) -> None:
    if not isinstance(model, RNNModel):
        raise ValueError(f"model must be an RNNModel, got {type(model).__name__}")
    if model.pre_hidden != 0:
        raise ValueError(f"pre_hidden must be 0 to export a plugin file (the plugins run no "
                         f"pre-processing net), got a model with pre_hidden={model.pre_hidden}")
    for name, value in model.state_dict().items():
        if not bool(torch.isfinite(value).all()):
            raise ValueError(f"model has NaN or Inf values in {name}")


def _as_lists(value: Tensor) -> list:
    """A tensor as nested lists of Python floats (exactly its values)."""
    return value.detach().cpu().double().tolist()


def _save(data: dict, path: str | Path, overwrite: bool) -> Path:
    """Write ``data`` as JSON to ``path`` (a temporary file renamed onto it), creating the
    folders above it."""
    overwrite = check_bool(overwrite, "overwrite")
    dest = Path(path)
    if dest.is_dir():
        raise ValueError(f"path must be a file name, got the folder {str(dest)!r}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    return write_text(dest, json.dumps(data, allow_nan=False), overwrite=overwrite)


__all__ = ["save_guitarml", "save_rtneural", "to_guitarml", "to_rtneural"]
