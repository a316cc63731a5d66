"""Recurrent amp / pedal model: one GRU or LSTM stack and a linear read-out, sample by sample.

The model of Wright, Damskägg and Välimäki (DAFx 2019; ``SimpleRNN`` in
``Alec-Wright/CoreAudioML``), re-written here: each input sample (and, for a conditioned model,
the knob settings) is one time step of a recurrent network whose hidden state is mapped to one
output sample by a linear layer::

    u[n] = [x[n], q_1[n], …, q_C[n]]          (1 + num_controls inputs, controls in [0, 1])
    u[n] = tanh(W_2 tanh(W_1 u[n] + b_1) + b_2)  only when pre_hidden > 0 ("NN + GRU")
    h[n], state[n] = RNN(u[n], state[n−1])    (GRU or LSTM, num_layers stacked, PyTorch gates)
    y[n] = w · h[n] + b  (+ x[n] when skip)   (skip: the network learns the residual y − x)

Receptive field: infinite. Every output sample depends on every earlier input sample through
the recurrent state (and on no later one: the model is causal), so there is no finite history
length; :attr:`RNNModel.receptive_field` is ``math.inf``.

Parameters (weights + biases) of a GRU with ``L`` layers of ``h`` units, ``i`` inputs to the
first layer (``1 + num_controls``, or ``pre_hidden``) and ``h`` inputs to the others:
``Σ_layers 3·(h·(in + h) + 2h)`` (three gates, each with an input and a recurrent bias, as in
PyTorch) ``+ h + 1`` for the read-out, plus ``p·(1 + C) + p + p·p + p`` for the pre-processing
net of ``p = pre_hidden`` units. An LSTM has four gates instead of three. The default (GRU-48,
one layer, skip, no controls) has ``3·(48·49 + 96) + 49 = 7,393`` parameters.

Streaming: :meth:`RNNModel.forward_with_state` takes and returns the recurrent state as one
tensor, so that consecutive blocks processed with the state carried give exactly the output of
the whole signal at once; :meth:`RNNModel.forward` starts from the zero state. Both compile with
``torch.jit.script`` (the argument checks run in eager mode only).

Speed: in eager mode on the CPU a GRU runs in the fused compiled kernels of
:mod:`~dasp_blind.modelling.gru_kernel` (``nn.GRU``'s own CPU kernels make 44 small operator
calls per sample); a scripted model, other devices and the LSTM run ``rec`` itself.
``use_fused_gru(False)`` switches the kernels off.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .._checks import (
    check_bool,
    check_choice,
    check_controls,
    check_int,
    check_network_input,
    check_tensor,
)
from .gru_kernel import gru_layer

#: Recurrent cells :class:`RNNModel` builds.
CELLS = ("gru", "lstm")


class RNNModel(nn.Module):
    """A GRU / LSTM effect model, ``(batch, 1, samples) -> (batch, 1, samples)``.

    Args:
        cell: ``"gru"`` or ``"lstm"`` (PyTorch's cells: GRU gates r, z, n; LSTM gates i, f, g,
            o).
        hidden_size: units per recurrent layer.
        num_layers: stacked recurrent layers.
        skip: add the input sample to the read-out (the network models ``y − x``, as Wright's
            ``SimpleRNN`` with ``skip=1``).
        num_controls: knob settings fed to the network: the normalised controls in ``[0, 1]``
            are concatenated to the input sample at every time step (``1 + num_controls``
            inputs per step).
        pre_hidden: units of the "NN + GRU" variant's feed-forward pre-processing net, applied
            to each time step's inputs before the recurrent layers:
            ``Linear(1 + num_controls → pre_hidden) → tanh → Linear(pre_hidden → pre_hidden) →
            tanh``; ``0`` (default) leaves it out. Plugin export
            (:mod:`dasp_blind.modelling.plugin`) needs ``pre_hidden == 0``.

    Attributes:
        rec: the ``nn.GRU`` / ``nn.LSTM`` (``batch_first``); its parameter names
            (``rec.weight_ih_l0`` …) are those of the plugin JSON files.
        lin: ``nn.Linear(hidden_size, 1)``, the read-out.
        pre: the pre-processing net (``nn.Sequential``), or ``nn.Identity`` without one.
        input_size: inputs per time step, ``1 + num_controls``.
        receptive_field: ``math.inf`` (recurrent).

    Shape:
        ``x``: ``(batch, 1, samples)``; ``controls``: ``(batch, num_controls)`` (constant) or
        ``(batch, num_controls, samples)`` (per sample, for automation); output: like ``x``.
        The state: ``(num_layers, batch, hidden_size)`` for a GRU,
        ``(2, num_layers, batch, hidden_size)`` for an LSTM (``h`` stacked over ``c``).

    Raises:
        ValueError: naming the argument, for a cell other than ``"gru"`` / ``"lstm"``,
            ``hidden_size < 1``, ``num_layers < 1``, ``num_controls < 0``, ``pre_hidden < 0``
            or a non-bool ``skip``.
    """

    __constants__ = ["lstm", "skip", "num_controls", "num_layers", "hidden_size",
                     "receptive_field"]

    def __init__(self, cell: str = "gru", hidden_size: int = 48, num_layers: int = 1,
                 skip: bool = True, num_controls: int = 0, pre_hidden: int = 0) -> None:
        super().__init__()
        self.cell = check_choice(cell, "cell", CELLS)
        self.hidden_size = check_int(hidden_size, "hidden_size", low=1)
        self.num_layers = check_int(num_layers, "num_layers", low=1)
        self.skip = check_bool(skip, "skip")
        self.num_controls = check_int(num_controls, "num_controls", low=0)
        self.pre_hidden = check_int(pre_hidden, "pre_hidden", low=0)
        self.lstm = self.cell == "lstm"
        self.input_size = 1 + self.num_controls
        self.receptive_field = math.inf
        if self.pre_hidden > 0:
            self.pre = nn.Sequential(nn.Linear(self.input_size, self.pre_hidden), nn.Tanh(),
                                     nn.Linear(self.pre_hidden, self.pre_hidden), nn.Tanh())
        else:
            self.pre = nn.Identity()
        rec_inputs = self.pre_hidden if self.pre_hidden > 0 else self.input_size
        recurrent = nn.LSTM if self.lstm else nn.GRU
        self.rec = recurrent(rec_inputs, self.hidden_size, self.num_layers, batch_first=True)
        self.lin = nn.Linear(self.hidden_size, 1)

    @torch.jit.unused
    def reset_parameters(self, generator: torch.Generator | None = None) -> RNNModel:
        """Draw every parameter again with PyTorch's default initialisation, from ``generator``
        (the global generator when ``None``); returns the model.

        Each weight and bias of a layer with ``fan_in`` inputs is uniform in
        ``±1/sqrt(fan_in)``; ``fan_in`` is ``hidden_size`` for the recurrent layers (as
        ``nn.GRU`` / ``nn.LSTM`` do) and the input width for the linear layers.
        """
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, (nn.GRU, nn.LSTM)):
                    fan_in = module.hidden_size
                elif isinstance(module, nn.Linear):
                    fan_in = module.in_features
                else:
                    continue
                bound = 1.0 / math.sqrt(fan_in)
                for p in module.parameters(recurse=False):
                    p.uniform_(-bound, bound, generator=generator)
        return self

    @torch.jit.export
    def initial_state(self, batch: int, device: torch.device | None = None,
                      dtype: torch.dtype | None = None) -> Tensor:
        """The zero state for ``batch`` items: ``(num_layers, batch, hidden_size)`` for a GRU,
        ``(2, num_layers, batch, hidden_size)`` for an LSTM; on the model's device and in its
        dtype unless ``device`` / ``dtype`` are given."""
        like = self.lin.weight
        device = like.device if device is None else device
        dtype = like.dtype if dtype is None else dtype
        if self.lstm:
            return torch.zeros(2, self.num_layers, batch, self.hidden_size, device=device,
                               dtype=dtype)
        return torch.zeros(self.num_layers, batch, self.hidden_size, device=device, dtype=dtype)

    def forward(self, x: Tensor, controls: Tensor | None = None) -> Tensor:
        """Process ``x`` from the zero state.

        Args:
            x: audio ``(batch, 1, samples)`` in the model's dtype.
            controls: normalised knob settings in ``[0, 1]``, ``(batch, num_controls)`` or
                ``(batch, num_controls, samples)``; required exactly when
                ``num_controls > 0``.

        Returns:
            ``(batch, 1, samples)``.

        Raises:
            ValueError: naming ``x`` or ``controls`` (eager mode).
        """
        return self.forward_with_state(x, controls, None)[0]

    @torch.jit.export
    def forward_with_state(self, x: Tensor, controls: Tensor | None = None,
                           state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Process one block of a stream, starting from ``state``.

        Processing a signal in consecutive blocks, each with the state the previous block
        returned, gives the output of the whole signal processed at once. The returned state
        keeps its autograd history (detach it between blocks for truncated backpropagation).

        Args:
            x: audio ``(batch, 1, samples)`` in the model's dtype.
            controls: as in :meth:`forward`.
            state: the state after the previous block (see the class's ``Shape``), or ``None``
                for the zero state.

        Returns:
            ``(output (batch, 1, samples), state after the block's last sample)``.

        Raises:
            ValueError: naming ``x``, ``controls`` or ``state`` (eager mode).
        """
        if not torch.jit.is_scripting():
            self._check_inputs(x, controls, state)
        steps = x.transpose(1, 2)  # (batch, samples, 1)
        if controls is not None:
            if controls.dim() == 2:  # constant knobs: repeat them at every step
                knobs = controls.to(x.dtype).unsqueeze(1).expand(-1, x.shape[-1], -1)
            else:
                knobs = controls.to(x.dtype).transpose(1, 2)
            steps = torch.cat([steps, knobs], dim=-1)  # (batch, samples, 1 + num_controls)
        steps = self.pre(steps)
        if state is None:
            state = self.initial_state(x.shape[0], x.device, x.dtype)
        hidden, new_state = self._recur(steps, state)  # (batch, samples, hidden_size)
        y = self.lin(hidden).transpose(1, 2)  # (batch, 1, samples)
        if self.skip:
            y = y + x
        return y, new_state

    def _recur(self, steps: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        """Run ``rec`` over ``steps`` ``(batch, samples, inputs)`` from the one-tensor
        ``state``. A GRU runs in the fused CPU kernels where they apply (eager mode only:
        :func:`~dasp_blind.modelling.gru_kernel.gru_layer`)."""
        if self.lstm:
            hidden, (h, c) = self.rec(steps, (state[0].contiguous(), state[1].contiguous()))
            return hidden, torch.stack([h, c])
        if not torch.jit.is_scripting():
            return self._recur_eager(steps, state)
        hidden, h = self.rec(steps, state.contiguous())
        return hidden, h

    @torch.jit.unused
    def _recur_eager(self, steps: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        """The GRU through :func:`~dasp_blind.modelling.gru_kernel.gru_layer` (the fused
        kernels, or ``rec`` itself where they do not apply)."""
        return gru_layer(self.rec, steps, state.contiguous())

    @torch.jit.unused
    def _check_inputs(self, x: Tensor, controls: Tensor | None, state: Tensor | None) -> None:
        check_network_input(x, 1, self.lin.weight.dtype)
        batch, samples = x.shape[0], x.shape[-1]
        check_controls(controls, self.num_controls, batch, samples)
        if state is not None:
            expected = tuple(self.initial_state(batch, device=torch.device("meta")).shape)
            if not isinstance(state, Tensor) or tuple(state.shape) != expected:
                shown = (tuple(state.shape) if isinstance(state, Tensor)
                         else type(state).__name__)
                layout = ("(2, num_layers, batch, hidden_size): h stacked over c" if self.lstm
                          else "(num_layers, batch, hidden_size)")
                raise ValueError(f"state must be None or a tensor of shape {expected} "
                                 f"{layout}, got {shown}")
            check_tensor(state, "state", str(expected))
            if state.dtype != x.dtype:
                raise ValueError(f"state must have the dtype of x ({x.dtype}), got "
                                 f"{state.dtype}")

    def extra_repr(self) -> str:
        return (f"cell={self.cell!r}, hidden_size={self.hidden_size}, "
                f"num_layers={self.num_layers}, skip={self.skip}, "
                f"num_controls={self.num_controls}, pre_hidden={self.pre_hidden}")


__all__ = ["CELLS", "RNNModel"]
