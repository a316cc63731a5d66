"""Training losses for effect modelling: whole-batch ESR and DC losses, and a weighted sum of
named terms.

* :func:`esr_loss` — the error-to-signal ratio over the whole batch, after the pre-emphasis
  filter ``1 − 0.85 z⁻¹`` (Wright, Damskägg & Välimäki's amp-modelling loss).
* :func:`dc_loss` — their DC term: the squared difference of the signals' means, relative to
  the target's energy.
* :class:`ModellingLoss` — ``Σ weight · term`` over named terms (``"esr"``, ``"esr_raw"``,
  ``"dc"``, ``"l1"``, ``"mrstft"``, ``"spectrogram_mse"``), with each term available for
  logging through :meth:`ModellingLoss.components`.

Every loss takes the estimate first and the target second, audio ``(batch, channels,
samples)`` of one shape, and returns a 0-d tensor in the target's dtype.
"""

from __future__ import annotations

from collections.abc import Mapping

import auraloss
import torch
from torch import Tensor, nn

from .._checks import check_audio_pair, check_in_interval, check_non_negative, half_as_float32
from ..metrics.distances import esr
from ..metrics.effects import spectrogram_mse

#: The term names :class:`ModellingLoss` accepts.
LOSS_TERMS = ("esr", "esr_raw", "dc", "l1", "mrstft", "spectrogram_mse")
#: Wright et al.'s default loss: 0.75 · pre-emphasised ESR + 0.25 · DC.
DEFAULT_TERMS = {"esr": 0.75, "dc": 0.25}
#: The pre-emphasis coefficient ``c`` of ``1 − c·z⁻¹`` in the amp-modelling papers.
PRE_EMPHASIS = 0.85


def esr_loss(estimate: Tensor, target: Tensor, pre_emphasis: float | None = PRE_EMPHASIS
             ) -> Tensor:
    """Error-to-signal ratio ``Σ(y − ŷ)² / Σy²`` over the whole batch (Wright et al., 2019).

    Both signals first pass the pre-emphasis FIR ``1 − c·z⁻¹`` along time, starting from rest
    (``scipy.signal.lfilter([1, −c], 1, ·)``), unless ``pre_emphasis`` is ``None``. The sums
    run over every item, channel and sample at once, as in CoreAudioML's ``ESRLoss``: loud
    items weigh more than quiet ones. This is :func:`dasp_blind.metrics.distances.esr` of the
    batch seen as one item with ``batch · channels`` channels; the mean of the per-item
    ``esr`` (Neural Amp Modeler's ESR) instead weighs every item equally.

    Difference from CoreAudioML: it floors the mean target energy at ``1e-5``
    (``mean((y − ŷ)²) / (mean(y²) + 1e-5)``), which biases quiet batches; here the summed
    energy is floored at the dtype's eps, which only matters for silence.

    Args:
        estimate: ``ŷ``, audio ``(batch, channels, samples)``.
        target: ``y``, audio of the same shape.
        pre_emphasis: ``c`` in ``[0, 1]``, default 0.85, or ``None`` for no filter.

    Returns:
        0-d tensor, ``>= 0`` (1 for a silent estimate), in the dtype of ``target``; finite for
        a silent target; differentiable.
    """
    check_audio_pair(estimate, target)
    samples = target.shape[-1]
    return esr(estimate.reshape(1, -1, samples), target.reshape(1, -1, samples),
               pre_emphasis=pre_emphasis)[0]


@half_as_float32("target")
def dc_loss(estimate: Tensor, target: Tensor) -> Tensor:
    """DC loss of Wright et al. (CoreAudioML ``DCLoss``): the squared difference of the
    time-averages, relative to the target's energy, over the whole batch.

    ``mean_{b,c} (mean_t y − mean_t ŷ)² / mean_{b,c,t} y²``

    It penalises an offset that the ESR, dominated by the signal's AC part, hardly sees.

    Args:
        estimate: ``ŷ``, audio ``(batch, channels, samples)``.
        target: ``y``, audio of the same shape.

    Returns:
        0-d tensor, ``>= 0``, in the dtype of ``target``. The target energy is floored as in
        :func:`esr_loss` (the summed energy at the dtype's eps; CoreAudioML adds ``1e-5`` to
        the mean), so a silent target stays finite; differentiable.
    """
    check_audio_pair(estimate, target)
    estimate = estimate.to(target.dtype)
    offsets = (target.mean(-1) - estimate.mean(-1)).square().sum()
    energy = target.square().sum()
    # mean over (b, c) of the offsets / mean over (b, c, t) of y² = samples · Σ offsets / Σ y²
    return target.shape[-1] * offsets / (energy + torch.finfo(target.dtype).eps)


def _check_terms(terms: object) -> dict[str, float]:
    """Validate ``terms``: a non-empty mapping of known names to finite weights ``>= 0``."""
    if not isinstance(terms, Mapping) or not terms:
        raise ValueError(f"terms must be a non-empty mapping of term names {LOSS_TERMS} to "
                         f"weights >= 0, got {terms!r}")
    checked = {}
    for name, weight in terms.items():
        if name not in LOSS_TERMS:
            raise ValueError(f"terms has an unknown term {name!r}; the terms are {LOSS_TERMS}")
        checked[name] = check_non_negative(weight, f"terms[{name!r}] (the term's weight)")
    return checked


class ModellingLoss(nn.Module):
    """Weighted sum of named loss terms for effect modelling.

    ``loss(ŷ, y) = Σ_name weight_name · term_name(ŷ, y)`` with the terms

    ========================  ==========================================================
    ``"esr"``                 :func:`esr_loss` with the pre-emphasis ``pre_emphasis``
    ``"esr_raw"``             :func:`esr_loss` without a filter
    ``"dc"``                  :func:`dc_loss`
    ``"l1"``                  mean absolute error over every sample
    ``"mrstft"``              auraloss ``MultiResolutionSTFTLoss()`` with its defaults
                              (FFT sizes 1024 / 2048 / 512, hops 120 / 240 / 50, windows
                              600 / 1200 / 240; spectral convergence + log magnitude),
                              pooled over the batch; needs more than 1024 samples
    ``"spectrogram_mse"``     :func:`dasp_blind.metrics.effects.spectrogram_mse` (log-power,
                              ``n_fft`` 254, hop 127), averaged over the batch
    ========================  ==========================================================

    The default, ``{"esr": 0.75, "dc": 0.25}``, is Wright et al.'s (CoreAudioML's default
    ``ESRPre`` 0.75 + ``DC`` 0.25). A weight of 0 keeps a term in :meth:`components` (to log
    it) without training on it.

    Args:
        terms: term name -> weight (a finite number ``>= 0``); ``None`` for the default.
        pre_emphasis: ``c`` of the ``"esr"`` term's filter ``1 − c·z⁻¹``, in ``[0, 1]``.

    Shape:
        estimate, target: ``(batch, channels, samples)``; output: 0-d.
    """

    def __init__(self, terms: Mapping[str, float] | None = None,
                 pre_emphasis: float = PRE_EMPHASIS) -> None:
        super().__init__()
        self.terms = _check_terms(DEFAULT_TERMS if terms is None else terms)
        self.pre_emphasis = check_in_interval(pre_emphasis, "pre_emphasis", 0.0, 1.0)
        self.mrstft = (auraloss.freq.MultiResolutionSTFTLoss() if "mrstft" in self.terms
                       else None)

    def extra_repr(self) -> str:
        return f"terms={self.terms}, pre_emphasis={self.pre_emphasis}"

    def components(self, estimate: Tensor, target: Tensor) -> dict[str, Tensor]:
        """Each term, unweighted, in the order of ``terms``.

        Args:
            estimate: ``ŷ``, audio ``(batch, channels, samples)``.
            target: ``y``, audio of the same shape.

        Returns:
            term name -> 0-d tensor in the dtype of ``target``.
        """
        check_audio_pair(estimate, target)
        if self.mrstft is not None:
            longest = max(self.mrstft.fft_sizes) // 2
            if target.shape[-1] <= longest:
                raise ValueError(f"target must hold more than {longest} samples for the "
                                 f"'mrstft' term (its reflect padding), got {target.shape[-1]}")
        return {name: self._term(name, estimate, target) for name in self.terms}

    def _term(self, name: str, estimate: Tensor, target: Tensor) -> Tensor:
        if name == "esr":
            return esr_loss(estimate, target, self.pre_emphasis)
        if name == "esr_raw":
            return esr_loss(estimate, target, None)
        if name == "dc":
            return dc_loss(estimate, target)
        if name == "l1":
            return (estimate.to(target.dtype) - target).abs().mean()
        if name == "mrstft":
            return self.mrstft(estimate.to(target.dtype), target).to(target.dtype)
        return spectrogram_mse(estimate, target).mean()

    def forward(self, estimate: Tensor, target: Tensor) -> Tensor:
        """``Σ weight · term`` (see :meth:`components`): a 0-d tensor."""
        parts = self.components(estimate, target)
        return sum(self.terms[name] * value for name, value in parts.items())


__all__ = ["DEFAULT_TERMS", "LOSS_TERMS", "PRE_EMPHASIS", "ModellingLoss", "dc_loss",
           "esr_loss"]
