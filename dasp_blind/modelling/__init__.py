"""Neural effect modelling: networks that learn an audio effect from dry / wet pairs.

* :class:`RNNModel` — the GRU / LSTM amp model of Wright et al. (optionally knob-conditioned),
  streamable with its state carried, exported to the plugin JSON formats by
  :func:`save_guitarml` and :func:`save_rtneural`.
* :class:`TCN` — the causal micro-TCN with FiLM knob conditioning; :class:`Streamer` runs a
  causal model (RNN or TCN) block by block with its state carried.
* :class:`SpectrogramTransformer` — an Audio-MAE-style encoder-decoder over log-power STFT
  patches, resynthesised with the input phase (offline).
* Export: :func:`export_torchscript`, :func:`export_onnx` (state in and out, for streaming
  hosts), the plugin JSONs, or any of :data:`EXPORT_FORMATS` with :func:`export_model`.
* Losses: :class:`ModellingLoss` (pre-emphasised ESR + DC by default, and L1, MR-STFT,
  spectrogram MSE), :func:`esr_loss`, :func:`dc_loss`.
* Pair datasets: :class:`PairFolder` / :class:`PairFiles` (recorded dry / wet files),
  :class:`IDMTPairs` (IDMT-SMT-Audio-Effects), :class:`SyntheticPairs` (the library's effects on
  its clip sources).
"""

from .data import (
    IDMT_EFFECTS,
    IDMT_INSTRUMENTS,
    SYNTHETIC_EFFECTS,
    IDMTPair,
    IDMTPairs,
    PairFiles,
    PairFolder,
    SyntheticPairs,
    estimate_lag,
    find_pairs,
)
from .export import (
    EXPORT_FORMATS,
    export_formats,
    export_model,
    export_onnx,
    export_torchscript,
)
from .gru_kernel import use_fused_gru
from .losses import DEFAULT_TERMS, LOSS_TERMS, ModellingLoss, dc_loss, esr_loss
from .plugin import save_guitarml, save_rtneural, to_guitarml, to_rtneural
from .rnn import CELLS, RNNModel
from .streaming import Streamer
from .tcn import TCN
from .transformer import SpectrogramTransformer

__all__ = ["CELLS", "DEFAULT_TERMS", "EXPORT_FORMATS", "IDMT_EFFECTS", "IDMT_INSTRUMENTS",
           "LOSS_TERMS", "SYNTHETIC_EFFECTS", "IDMTPair", "IDMTPairs", "ModellingLoss", "PairFiles",
           "PairFolder", "RNNModel", "SpectrogramTransformer", "Streamer", "SyntheticPairs", "TCN",
           "dc_loss", "esr_loss", "estimate_lag", "export_formats", "export_model", "export_onnx",
           "export_torchscript", "find_pairs", "save_guitarml", "save_rtneural", "to_guitarml",
           "to_rtneural", "use_fused_gru"]
