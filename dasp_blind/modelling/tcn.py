"""Causal temporal convolutional network (micro-TCN family) as an effect model.

The model of Steinmetz and Reiss ("Efficient neural networks for real-time modeling of analog
dynamic range compression", AES 152, 2022; ``csteinmetz1/micro-tcn``), re-written here from the
building blocks of :mod:`dasp_blind.nn.tcn` with no code copied. Block ``i`` of ``N`` has
dilation ``d_i = growth**i`` and maps its input ``h_{i−1}`` (``h_{−1} = x``, one channel) to
``channels`` channels::

    c_i[n]  = Σ_{j<k} W_i[j] · h_{i−1}[n − (k−1−j)·d_i]      (causal dilated conv, no bias)
    h_i[n]  = PReLU(γ_i[n] ⊙ c_i[n] + β_i[n]) + r_i ⊙ h_{i−1}[n]   (FiLM, per-channel residual)
    y[n]    = tanh(w · h_{N−1}[n] + b)                         (1×1 mix; ``output="linear"``
                                                                leaves out the tanh)

FiLM conditioning: ``(γ_i, β_i) = Linear_i(e)`` with ``e = MLP(q)`` the embedding of the
normalised knob controls ``q ∈ [0, 1]`` (``Linear → BatchNorm → PReLU`` per width of
``cond_hidden``, micro-TCN's 16 → 32 → 32). Controls may vary per sample: ``γ_i[n], β_i[n]``
come from the controls at sample ``n``. Without controls (``num_controls = 0``) each FiLM reads
the constant ``e = [1]``, so ``γ_i`` and ``β_i`` are learned per-channel constants (an affine
per channel; no knob; the adaptor's weight and bias then act alike, ``2C`` redundant parameters
per block kept so that both variants share one layout). Unlike micro-TCN the blocks hold no
batch norm (whose statistics would differ between training and a stream). In training mode the
MLP's batch norm takes its statistics over the rows it is given: the items for
``(batch, num_controls)`` controls, items × samples for per-sample controls.

Receptive field: ``1 + (k − 1)·Σ_i d_i`` samples (:func:`dasp_blind.nn.tcn.receptive_field`;
micro-TCN writes the same as ``k + Σ_{n≥1} (k − 1)·growth^n``): the default uTCN-300 (kernel 13,
4 blocks, growth 10) sees 13,333 samples, 302 ms at 44.1 kHz.

Parameters, for ``C`` channels, kernel ``k``, ``N`` blocks, conditioning width ``E``
(``cond_hidden[-1]``, or 1 without controls) and MLP widths ``w_0 = num_controls, w_1, …``::

    Σ_i (in_i·C·k + 2C·(E + 1) + 2C)  +  (C + 1)  +  Σ_j (w_{j−1}·w_j + 3·w_j + 1)
    (conv, FiLM, PReLU + residual)       (1×1 mix)  (MLP: Linear, BatchNorm, one PReLU slope)

with ``in_0 = 1`` and ``in_i = C`` otherwise (the MLP term only with controls). Default
(32 channels, no controls): 41,153; with 2 controls: 50,900.

Silence history: the model treats the signal as preceded by silence. :meth:`TCN.forward` is
the output of the stack on ``x`` left-padded with ``receptive_field − 1`` zeros (the controls of
the first sample held over the padding), computed without running the blocks over the padding:
each block's input history is filled with the constant that the blocks before it output for
silence (:meth:`dasp_blind.nn.tcn.TCNBlock.constant_response`).

Streaming: :meth:`TCN.forward_with_state` carries per-block caches: block ``i`` keeps the last
``(k − 1)·d_i`` samples of its input, so a block of ``n`` samples costs ``n`` output samples per
layer, not a re-run over the whole receptive field (the micro-TCN plugin's history buffer). The
caches sit side by side on the time axis of one tensor ``(batch, channels, receptive_field − 1)``
(block 0's single input channel in channel 0, its other channels zero). The initial state is the
*rest* state, the caches after an endless silence, so a stream that starts on silence starts
without a transient. Everything compiles with ``torch.jit.script`` (checks run in eager mode).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .._checks import (
    check_batchnorm_batch,
    check_choice,
    check_controls,
    check_int,
    check_network_input,
)
from ..nn.tcn import TCNBlock, conditioning_mlp, dilated_conv1d, receptive_field

#: Output stages of :class:`TCN`: micro-TCN's ``tanh`` (outputs in ``(−1, 1)``) or ``linear``.
OUTPUTS = ("tanh", "linear")


class _Block(TCNBlock):
    """A :class:`~dasp_blind.nn.tcn.TCNBlock` whose FiLM may vary in time, with a forward that
    compiles with TorchScript (the eager path keeps :func:`dilated_conv1d`'s faster backward)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int,
                 cond_dim: int):
        super().__init__(in_channels, out_channels, kernel_size, dilation, cond_dim)
        self.dilation = dilation
        self.in_channels = in_channels

    def forward(self, x: Tensor, film: Tensor) -> Tensor:
        """``x``: ``(batch, in_channels, crop + n)``, history first; ``film``: ``(batch,
        2·out_channels, n or 1)``, ``γ`` stacked over ``β`` -> ``(batch, out_channels, n)``."""
        gamma, beta = film.chunk(2, dim=1)
        y = self.act(self._conv(x) * gamma + beta)
        return y + self._residual(x[..., self.crop:])

    def _conv(self, x: Tensor) -> Tensor:
        if torch.jit.is_scripting():
            return nn.functional.conv1d(x, self.conv.weight, None, 1, 0, self.dilation)
        return self._eager_conv(x)

    @torch.jit.unused
    def _eager_conv(self, x: Tensor) -> Tensor:
        return dilated_conv1d(x, self.conv.weight, self.dilation)


class TCN(nn.Module):
    """A causal TCN effect model, ``(batch, 1, samples) -> (batch, 1, samples)``.

    The defaults are micro-TCN's real-time uTCN-300 (reference §B3): kernel 13, 4 blocks,
    dilations 1, 10, 100, 1000 (receptive field 13,333 samples, 302 ms at 44.1 kHz),
    32 channels, a 16 → 32 → 32 conditioning MLP and a tanh output; 41,153 parameters without
    controls, 50,900 with two (formula in the module docstring).

    Args:
        num_controls: knobs the model is conditioned on (normalised controls in ``[0, 1]``,
            through the conditioning MLP and FiLM); ``0``: no conditioning.
        kernel_size: taps of every dilated convolution (``>= 1``).
        num_blocks: convolution blocks (``>= 1``).
        dilation_growth: dilation of block ``i`` is ``dilation_growth**i`` (``>= 1``).
        channels: channels of every block.
        cond_hidden: widths of the conditioning MLP (used only when ``num_controls > 0``).
        output: ``"tanh"`` (micro-TCN; outputs in ``(−1, 1)``) or ``"linear"``.

    Attributes:
        receptive_field: input samples each output sample depends on.
        cond: the conditioning MLP (``nn.Identity`` without controls).
        blocks: the blocks (``nn.ModuleList`` of :class:`~dasp_blind.nn.tcn.TCNBlock`).
        head: the 1×1 output mix ``nn.Conv1d(channels, 1, 1)``.

    Shape:
        ``x``: ``(batch, 1, samples)``; ``controls``: ``(batch, num_controls)`` (constant) or
        ``(batch, num_controls, samples)`` (per sample); output: like ``x``; state:
        ``(batch, channels, receptive_field − 1)``.

    Raises:
        ValueError: naming the argument, for a count out of its range, an empty or
            non-integer ``cond_hidden`` or an unknown ``output``.
    """

    def __init__(self, num_controls: int = 0, kernel_size: int = 13, num_blocks: int = 4,
                 dilation_growth: int = 10, channels: int = 32,
                 cond_hidden: Sequence[int] = (16, 32, 32), output: str = "tanh") -> None:
        super().__init__()
        self.num_controls = check_int(num_controls, "num_controls", low=0)
        self.kernel_size = check_int(kernel_size, "kernel_size", low=1)
        self.num_blocks = check_int(num_blocks, "num_blocks", low=1)
        self.dilation_growth = check_int(dilation_growth, "dilation_growth", low=1)
        self.channels = check_int(channels, "channels", low=1)
        self.cond_hidden = _check_widths(cond_hidden)
        self.output = check_choice(output, "output", OUTPUTS)
        self.tanh_output = self.output == "tanh"
        dilations = [self.dilation_growth**i for i in range(self.num_blocks)]
        self.receptive_field = receptive_field(self.kernel_size, dilations)
        if self.num_controls > 0:
            self.cond = conditioning_mlp(self.num_controls, self.cond_hidden)
            cond_dim = self.cond_hidden[-1]
        else:
            self.cond = nn.Identity()
            cond_dim = 1
        self.blocks = nn.ModuleList(
            _Block(1 if i == 0 else self.channels, self.channels, self.kernel_size, d, cond_dim)
            for i, d in enumerate(dilations))
        self.head = nn.Conv1d(self.channels, 1, 1)

    @torch.jit.unused
    def reset_parameters(self, generator: torch.Generator | None = None) -> TCN:
        """Draw every parameter again with PyTorch's default initialisation, from ``generator``
        (the global generator when ``None``); returns the model.

        Weights and biases of every convolution and linear layer with ``fan_in`` inputs per
        output (``in_channels · kernel_size``, ``in_features``) are uniform in
        ``±1/sqrt(fan_in)``; batch norms are reset (weight 1, bias 0, running mean 0,
        variance 1) and PReLU slopes set to 0.25.
        """
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, (nn.Conv1d, nn.Linear)):
                    bound = 1.0 / math.sqrt(module.weight[0].numel())
                    for p in module.parameters(recurse=False):
                        p.uniform_(-bound, bound, generator=generator)
                elif isinstance(module, nn.BatchNorm1d):
                    module.reset_parameters()
                elif isinstance(module, nn.PReLU):
                    module.weight.fill_(0.25)
        return self

    def forward(self, x: Tensor, controls: Tensor | None = None) -> Tensor:
        """Process ``x``, preceded by silence.

        Args:
            x: audio ``(batch, 1, samples)`` in the model's dtype.
            controls: normalised knob settings in ``[0, 1]``, ``(batch, num_controls)`` or
                ``(batch, num_controls, samples)``; required exactly when ``num_controls > 0``.

        Returns:
            ``(batch, 1, samples)``.

        Raises:
            ValueError: naming ``x`` or ``controls`` (eager mode).
        """
        return self.forward_with_state(x, controls, None)[0]

    @torch.jit.export
    def initial_state(self, batch: int, device: torch.device | None = None,
                      dtype: torch.dtype | None = None,
                      controls: Tensor | None = None) -> Tensor:
        """The rest state: every block's input history after an endless silence.

        Args:
            batch: items.
            device: of the state (default: the model's).
            dtype: of the state (default: the model's).
            controls: ``(batch, num_controls)``, the knobs the silence was heard with;
                required exactly when ``num_controls > 0`` (the rest state depends on them).

        Returns:
            ``(batch, channels, receptive_field − 1)``.
        """
        like = self.head.weight
        device = like.device if device is None else device
        dtype = like.dtype if dtype is None else dtype
        if not torch.jit.is_scripting():
            self._check_controls(controls, batch, 1, constant=True)
        silence = like.new_zeros(batch, 1, 1)  # computed in the model's dtype, then cast
        state = self._rest_state(self._conditioning(controls, silence)[:, 0], silence)
        return state.to(device=device, dtype=dtype)

    @torch.jit.export
    def forward_with_state(self, x: Tensor, controls: Tensor | None = None,
                           state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Process one block of a stream, starting from ``state``.

        Consecutive blocks, each given the state the previous one returned, give the output of
        the whole signal at once (with per-sample controls, those of each block in turn). The
        returned state keeps its autograd history.

        Args:
            x: audio ``(batch, 1, samples)`` in the model's dtype.
            controls: as in :meth:`forward`.
            state: ``(batch, channels, receptive_field − 1)`` from the previous block, or
                ``None`` for the rest state under the controls of the block's first sample.

        Returns:
            ``(output (batch, 1, samples), state after the block)``.

        Raises:
            ValueError: naming ``x``, ``controls`` or ``state`` (eager mode).
        """
        if not torch.jit.is_scripting():
            self._check_inputs(x, controls, state)
        cond = self._conditioning(controls, x)  # (batch, samples or 1, cond_dim)
        if state is None:
            state = self._rest_state(cond[:, 0], x)
        h = x
        offset = 0
        caches: list[Tensor] = []
        for block in self.blocks:
            crop = block.crop
            history = state[:, :block.in_channels, offset:offset + crop]
            h_in = torch.cat([history, h], dim=-1)  # (batch, in, crop + samples)
            kept = h_in[..., h_in.shape[-1] - crop:]
            caches.append(nn.functional.pad(kept, [0, 0, 0, self.channels - block.in_channels]))
            film = block.film.adaptor(cond).transpose(1, 2)  # (batch, 2·channels, samples or 1)
            h = block(h_in, film)
            offset += crop
        y = self.head(h)
        if self.tanh_output:
            y = torch.tanh(y)
        return y, torch.cat(caches, dim=-1)

    def _conditioning(self, controls: Tensor | None, like: Tensor) -> Tensor:
        """The FiLM input ``(batch, samples or 1, cond_dim)``: the MLP embedding of the controls
        (per sample for ``(batch, num_controls, samples)``), or the constant 1 without
        controls."""
        if controls is None:
            return like.new_ones(like.shape[0], 1, 1)
        knobs = controls.to(like.dtype)
        if knobs.dim() == 2:
            return self.cond(knobs).unsqueeze(1)
        batch, count, samples = knobs.shape
        flat = knobs.transpose(1, 2).reshape(batch * samples, count)
        return self.cond(flat).reshape(batch, samples, -1)

    def _rest_state(self, cond: Tensor, like: Tensor) -> Tensor:
        """The caches after an endless silence heard with the conditioning ``cond``
        ``(batch, cond_dim)``: each block's input history is the constant the blocks before it
        output for silence."""
        value = like.new_zeros(like.shape[0], 1, 1)  # the first block's input: silence
        segments: list[Tensor] = []
        for block in self.blocks:
            segment = value.expand(-1, -1, block.crop)
            segments.append(nn.functional.pad(segment, [0, 0, 0, self.channels - value.shape[1]]))
            value = block.constant_response(value, cond)
        return torch.cat(segments, dim=-1)

    @torch.jit.unused
    def _check_inputs(self, x: Tensor, controls: Tensor | None, state: Tensor | None) -> None:
        check_network_input(x, 1, self.head.weight.dtype)
        batch = x.shape[0]
        self._check_controls(controls, batch, x.shape[-1], constant=False)
        if state is not None:
            expected = (batch, self.channels, self.receptive_field - 1)
            if not isinstance(state, Tensor) or tuple(state.shape) != expected:
                shown = (tuple(state.shape) if isinstance(state, Tensor)
                         else type(state).__name__)
                raise ValueError(f"state must be None or a tensor of shape (batch, channels, "
                                 f"receptive_field - 1) = {expected}, got {shown}")
            if state.dtype != x.dtype:
                raise ValueError(f"state must have the dtype of x ({x.dtype}), got "
                                 f"{state.dtype}")
            # one reduction, not an elementwise test of the whole (long) state on every block:
            # a finite sum proves every value finite; only an overflowing sum needs the full test
            if (not bool(torch.isfinite(state.detach().sum()))
                    and not bool(torch.isfinite(state).all())):
                raise ValueError("state contains NaN or Inf values")

    @torch.jit.unused
    def _check_controls(self, controls: Tensor | None, batch: int, samples: int,
                        constant: bool) -> None:
        """``controls`` as the model needs them: ``None`` without knobs, else finite values in
        ``[0, 1]`` of shape ``(batch, num_controls)`` or (unless ``constant``)
        ``(batch, num_controls, samples)``."""
        check_controls(controls, self.num_controls, batch, samples, per_sample=not constant)
        if controls is None:
            return
        rows = batch if controls.dim() == 2 else batch * samples
        check_batchnorm_batch(self.training, rows, "controls")

    def extra_repr(self) -> str:
        return (f"num_controls={self.num_controls}, kernel_size={self.kernel_size}, "
                f"num_blocks={self.num_blocks}, dilation_growth={self.dilation_growth}, "
                f"channels={self.channels}, cond_hidden={self.cond_hidden}, "
                f"output={self.output!r}, receptive_field={self.receptive_field}")


def _check_widths(hidden: Sequence[int]) -> tuple[int, ...]:
    """A non-empty sequence of integers ``>= 1``, as a tuple."""
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence) or not hidden:
        raise ValueError(f"cond_hidden must be a non-empty sequence of integers >= 1, got "
                         f"{hidden!r}")
    return tuple(check_int(width, f"cond_hidden[{i}]", low=1) for i, width in enumerate(hidden))


__all__ = ["OUTPUTS", "TCN"]
