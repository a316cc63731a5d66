"""Losses of blind estimation against a numpy re-implementation, and gradient refinement."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from dasp_blind.effects import ParametricClipper
from dasp_blind.estimation import mel_loss, mse_q, mse_y, normalize_rms, refine
from dasp_blind.estimation.losses import MEL_BANDS, MEL_FFT, MEL_HOP

SR = 44100


def _numpy_log_mel(x: np.ndarray, sr: int) -> np.ndarray:
    """ln Mel|STFT| of one float64 signal: centred frames (reflect padding), periodic Hann,
    magnitude sqrt(max(|X|², 1e-8)), librosa's Slaney mel filterbank."""
    pad = MEL_FFT // 2
    padded = np.pad(x, pad, mode="reflect")
    frames = 1 + (len(padded) - MEL_FFT) // MEL_HOP
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(MEL_FFT) / MEL_FFT)
    spec = np.stack([np.fft.rfft(padded[i * MEL_HOP:i * MEL_HOP + MEL_FFT] * window)
                     for i in range(frames)], axis=1)
    magnitude = np.sqrt(np.maximum(np.abs(spec) ** 2, 1e-8))
    bank = librosa.filters.mel(sr=sr, n_fft=MEL_FFT, n_mels=MEL_BANDS).astype(np.float64)
    return np.log(bank @ magnitude)


def _numpy_normalize(x: np.ndarray) -> np.ndarray:
    centred = x - x.mean()
    return centred / np.sqrt(np.mean(centred ** 2) + 1e-16)


def test_mel_loss_matches_numpy_reimplementation():
    gen = torch.Generator().manual_seed(0)
    y = torch.randn(2, 1, SR // 2, generator=gen, dtype=torch.float64) * 0.3
    y_hat = torch.tanh(3 * y) + 0.01 * torch.randn(y.shape, generator=gen, dtype=torch.float64)
    expected = np.mean([np.mean(np.abs(
        _numpy_log_mel(_numpy_normalize(y_hat[i, 0].numpy()), SR)
        - _numpy_log_mel(_numpy_normalize(y[i, 0].numpy()), SR))) for i in range(2)])
    got = float(mel_loss(y_hat, y, SR))
    assert got == pytest.approx(expected, rel=1e-6)


def test_losses_are_gain_invariant_and_zero_on_equal_signals():
    gen = torch.Generator().manual_seed(1)
    y = torch.randn(3, 1, 8192, generator=gen, dtype=torch.float64)
    assert float(mel_loss(y, y)) == 0.0
    assert float(mse_y(3.0 * y + 0.5, y)) < 1e-20
    assert float(mel_loss(0.01 * y, y)) < 1e-9


def test_normalize_rms_silence_is_finite_with_finite_gradient():
    x = torch.zeros(2, 1, 4096, requires_grad=True)
    out = normalize_rms(x)
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(x.grad).all()
    loss = mel_loss(torch.zeros(1, 1, 4096), torch.zeros(1, 1, 4096))
    assert torch.isfinite(loss)


def test_loss_input_errors_name_the_argument():
    y = torch.zeros(1, 1, 8192)
    with pytest.raises(ValueError, match="y_hat and y must have the same shape"):
        mel_loss(torch.zeros(1, 1, 4096), y)
    with pytest.raises(ValueError, match="y has 1000 samples"):
        mel_loss(torch.zeros(1, 1, 1000), torch.zeros(1, 1, 1000))
    with pytest.raises(ValueError, match="y_hat"):
        mse_y(torch.zeros(8192), y)
    with pytest.raises(ValueError, match="q_hat and q"):
        mse_q(torch.zeros(2, 3), torch.zeros(2, 4))


def test_refine_recovers_clipper_controls_from_a_wrong_start():
    """With the dry signal known, refinement moves q towards the truth and lowers the mel loss
    (checked per item against the starting point)."""
    gen = torch.Generator().manual_seed(2)
    t = torch.arange(SR // 4, dtype=torch.float64) / SR
    dry = (0.8 * torch.sin(2 * torch.pi * 220 * t) * (1 + 0.3 * torch.sin(2 * torch.pi * 3 * t))
           ).expand(2, 1, -1).contiguous()
    effect = ParametricClipper(SR)
    q_true = torch.tensor([[0.8, 0.3, 0.7], [0.6, 0.5, 0.2]], dtype=torch.float64)
    wet = effect(dry, q_true)
    q_start = (q_true + 0.25 * (torch.rand(q_true.shape, generator=gen, dtype=torch.float64)
                                - 0.5)).clamp(0, 1)
    start_loss = [float(mel_loss(effect(dry[i:i + 1], q_start[i:i + 1]), wet[i:i + 1]))
                  for i in range(2)]
    q = refine(effect, dry, wet, q_start, steps=60, lr=0.05)
    end_loss = [float(mel_loss(effect(dry[i:i + 1], q[i:i + 1]), wet[i:i + 1]))
                for i in range(2)]
    assert q.shape == q_true.shape and not q.requires_grad
    assert ((q > 0) & (q < 1)).all()
    for before, after in zip(start_loss, end_loss, strict=True):
        assert after < 0.5 * before
    drive = effect.param_space.index("drive_db")
    assert (q[:, drive] - q_true[:, drive]).abs().max() < (q_start[:, drive]
                                                          - q_true[:, drive]).abs().max()


def test_refine_zero_steps_returns_the_start_and_checks_arguments():
    effect = ParametricClipper(SR)
    dry = torch.zeros(1, 1, 8192)
    dry[..., ::100] = 0.5
    q0 = torch.full((1, 3), 0.5)
    wet = effect(dry, q0)
    assert torch.allclose(refine(effect, dry, wet, q0, steps=0), q0, atol=1e-6)
    with pytest.raises(ValueError, match="q_init"):
        refine(effect, dry, wet, torch.full((1, 2), 0.5))
    with pytest.raises(ValueError, match="q_init"):
        refine(effect, dry, wet, torch.full((1, 3), 1.5))
    with pytest.raises(ValueError, match="steps"):
        refine(effect, dry, wet, q0, steps=-1)
    with pytest.raises(ValueError, match="dry and wet"):
        refine(effect, dry, wet[..., :4096], q0)


def test_mel_loss_and_its_gradients_match_auraloss():
    """The written-out mel loss against the peer it replaces, auraloss ``MelSTFTLoss`` with the
    reference's settings, on RMS-normalised float64 signals: values and both gradients."""
    import auraloss

    gen = torch.Generator().manual_seed(3)
    y = torch.randn(3, 2, SR // 4, generator=gen, dtype=torch.float64) * 0.3
    y_hat = torch.tanh(2 * y) + 0.05 * torch.randn(y.shape, generator=gen, dtype=torch.float64)
    peer = auraloss.freq.MelSTFTLoss(SR, fft_size=MEL_FFT, hop_size=MEL_HOP, win_length=MEL_FFT,
                                     n_mels=MEL_BANDS, w_sc=0.0)
    peer.fb = peer.fb.double()
    peer.window = torch.hann_window(MEL_FFT, dtype=torch.float64)
    results = []
    for loss in (lambda a, b: mel_loss(a, b, SR),
                 lambda a, b: peer(normalize_rms(a), normalize_rms(b))):
        a, b = y_hat.clone().requires_grad_(True), y.clone().requires_grad_(True)
        value = loss(a, b)
        value.backward()
        results.append((value.detach(), a.grad, b.grad))
    (ours, ours_a, ours_b), (theirs, theirs_a, theirs_b) = results
    assert float(ours) == pytest.approx(float(theirs), rel=1e-12)
    for got, want in ((ours_a, theirs_a), (ours_b, theirs_b)):
        assert (got - want).abs().max() <= 1e-10 * want.abs().max()
    # the target is treated as a constant unless it asks for a gradient
    assert mel_loss(y_hat.clone().requires_grad_(True), y, SR).grad_fn is not None


def test_log_mel_gradient_equals_autograd_through_torch_stft_with_silent_frames():
    """``log_mel``'s hand-written backward against autograd through ``torch.stft`` and the
    floored magnitude, on a float64 signal with silent stretches (floored bins pass nothing)."""
    from dasp_blind.estimation.losses import log_mel

    gen = torch.Generator().manual_seed(4)
    x = torch.zeros(2, 1, 6 * MEL_FFT + 123, dtype=torch.float64)
    x[..., 2 * MEL_FFT:3 * MEL_FFT] = torch.randn(2, 1, MEL_FFT, generator=gen,
                                                  dtype=torch.float64)
    weights = torch.randn(log_mel(x, SR).shape, generator=gen, dtype=torch.float64)
    bank = torch.from_numpy(librosa.filters.mel(sr=SR, n_fft=MEL_FFT, n_mels=MEL_BANDS)).double()

    def reference(signal):
        spec = torch.stft(signal.reshape(-1, signal.shape[-1]), MEL_FFT, MEL_HOP, MEL_FFT,
                          torch.hann_window(MEL_FFT, dtype=torch.float64), return_complex=True)
        return torch.log(bank @ spec.abs().clamp_min(1e-4))

    grads = []
    for fn in (lambda s: log_mel(s, SR), reference):
        leaf = x.clone().requires_grad_(True)
        (fn(leaf) * weights).sum().backward()
        grads.append(leaf.grad)
    assert torch.isfinite(grads[0]).all()
    assert (grads[0] - grads[1]).abs().max() <= 1e-10 * grads[1].abs().max()
    assert grads[0][..., :MEL_FFT // 2].abs().max() == 0.0  # frames that see only silence
