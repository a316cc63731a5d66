"""Real-time, block-by-block processing with a causal effect model.

A :class:`Streamer` holds a causal model (:class:`~dasp_blind.modelling.rnn.RNNModel`,
:class:`~dasp_blind.modelling.tcn.TCN`, or their TorchScript compilations) and its state, and
processes a stream one block at a time, as an audio callback does: each block's output is the
output the model gives for the whole stream so far, whatever the block sizes, with no added
latency (output sample ``n`` is ready once input sample ``n`` has arrived).

The state a stream starts from is the model's initial state (``state=None``): zero for a
GRU / LSTM, the rest state (the caches after an endless silence) for a TCN. The zero state of a
recurrent network is **not its rest state**: fed silence, the state drifts to a fixed point set
by the biases and the output moves with it, an audible pop or thump at the start of the stream
and after every :meth:`Streamer.reset` (RTNeural issue #167). :meth:`Streamer.warm_up` runs
silence through the model so that the state settles before the first real block; for a TCN the
initial state already is the rest state and warming up changes nothing.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._checks import check_audio, check_int

#: Samples of silence :meth:`Streamer.warm_up` runs through the model per call.
WARM_UP_CHUNK = 4096


class Streamer:
    """Process a stream block by block with a causal model, its state carried.

    The model is put in eval mode and every block runs under ``torch.no_grad()``. Blocks may
    have any length, including one sample and zero samples (an empty block returns an empty
    block and leaves the state alone), and the knob settings may change from block to block:
    a block's ``controls`` hold for its samples, so the stream's output is the model's output
    for the whole signal with those per-sample controls (the knob steps at the block edge).

    Args:
        model: an ``nn.Module`` with ``forward_with_state(x, controls, state) -> (y, state)``
            (``x`` and ``y`` ``(batch, 1, samples)``, ``state=None`` for the initial state), such
            as :class:`~dasp_blind.modelling.rnn.RNNModel` or
            :class:`~dasp_blind.modelling.tcn.TCN`, or a TorchScript module compiled from one.
        batch: streams processed side by side (``>= 1``).

    Raises:
        ValueError: naming ``model`` for a model without ``forward_with_state`` (a non-causal
            model: process whole clips offline instead), naming ``batch`` for ``batch < 1``.
    """

    def __init__(self, model: nn.Module, batch: int = 1) -> None:
        if not isinstance(model, nn.Module) or not callable(
                getattr(model, "forward_with_state", None)):
            raise ValueError(
                "model must be a causal nn.Module with forward_with_state(x, controls, state) "
                f"-> (y, state), such as RNNModel or TCN; got {type(model).__name__}, which has "
                "none (a non-causal model processes whole clips: run it offline)")
        self.model = model.eval()
        self.batch = check_int(batch, "batch", low=1)
        self._state: Tensor | None = None

    @property
    def state(self) -> Tensor | None:
        """The model's state after the last block (``None`` before the first block and after
        :meth:`reset`: the model's initial state)."""
        return self._state

    def reset(self) -> None:
        """Forget the stream: the next block starts from the model's initial state (zero for a
        GRU / LSTM, which is not its rest state: see :meth:`warm_up`)."""
        self._state = None

    def warm_up(self, samples: int, controls: Tensor | None = None) -> None:
        """Run ``samples`` samples of silence through the model, discarding the output, so that
        its state settles towards the rest state (call it after :meth:`reset`, before the first
        block, to avoid the start-up pop of a recurrent model; half a second to a second is
        typical).

        Args:
            samples: samples of silence (``>= 0``).
            controls: the knob settings to warm up with, ``(batch, num_controls)``; ``None``
                for a model without controls.

        Raises:
            ValueError: naming ``samples``, or ``controls`` (from the model).
        """
        samples = check_int(samples, "samples", low=0)
        like = self._parameter()
        for start in range(0, samples, WARM_UP_CHUNK):
            silence = like.new_zeros(self.batch, 1, min(WARM_UP_CHUNK, samples - start))
            self.process(silence, controls)

    def process(self, block: Tensor, controls: Tensor | None = None) -> Tensor:
        """Process the next block of the stream.

        Args:
            block: ``(batch, 1, samples)`` in the model's dtype and on its device, or
                ``(samples,)`` for a mono stream (``batch == 1``).
            controls: normalised knob settings in ``[0, 1]`` for this block:
                ``(batch, num_controls)``, or ``(batch, num_controls, samples)`` for automation
                within the block; for a ``(samples,)`` block, the same without the batch axis.
                ``None`` for a model without controls.

        Returns:
            The output block, with the shape of ``block``.

        Raises:
            ValueError: naming ``block`` (shape, batch, dtype, NaN / Inf) or ``controls``.
        """
        mono = isinstance(block, Tensor) and block.dim() == 1
        x = self._as_batch(block)
        if x.shape[-1] == 0:
            return block.detach().clone()
        if mono and isinstance(controls, Tensor):
            controls = controls.unsqueeze(0)
        with torch.no_grad():
            y, self._state = self.model.forward_with_state(x, controls, self._state)
        return y.reshape(-1) if mono else y

    __call__ = process

    def _as_batch(self, block: Tensor) -> Tensor:
        """``block`` as ``(batch, 1, samples)``, checked."""
        allowed = f"(batch={self.batch}, 1, samples)" + (
            " or (samples,)" if self.batch == 1 else "")
        if not isinstance(block, Tensor) or block.dim() not in (1, 3):
            shown = (f"shape {tuple(block.shape)}" if isinstance(block, Tensor)
                     else type(block).__name__)
            raise ValueError(f"block must be a tensor of shape {allowed}, got {shown}")
        x = block.reshape(1, 1, -1) if block.dim() == 1 else block
        if x.shape[0] != self.batch or x.shape[1] != 1:
            raise ValueError(f"block must have shape {allowed} (this Streamer has "
                             f"batch={self.batch}), got {tuple(block.shape)}")
        if x.shape[-1] > 0:
            check_audio(x, "block")
            dtype = self._parameter().dtype
            if x.dtype != dtype:
                raise ValueError(f"block must have the model's dtype {dtype}, got {x.dtype}")
        return x

    def _parameter(self) -> Tensor:
        """A parameter of the model: its dtype and device."""
        first = next(iter(self.model.parameters()), None)
        return torch.zeros(()) if first is None else first.detach()


__all__ = ["WARM_UP_CHUNK", "Streamer"]
