"""Open-Unmix: parameter count against the per-layer formula, the bandwidth's bins against numpy's
rfftfreq, the whole network against a float64 numpy re-implementation (scipy STFT, plain-loop
BLSTM), a unit mask giving the input back, shapes for any length, batch independence,
gradients, the whole-input receptive field, reset_parameters and argument checks."""

import math

import numpy as np
import pytest
import scipy.signal
import torch
from _models import count
from _signals import seeded

from dasp_blind.removal.openunmix import OpenUnmix
from tests._tolerances import assert_items_match_single_calls, assert_within_rounding


def expected_parameters(n_fft, hidden_size, lstm_layers, audio_channels, max_bin):
    """Parameter count summed from the layer definitions."""
    bins, h, c = n_fft // 2 + 1, hidden_size // 2, audio_channels
    total = 2 * max_bin  # input mean and scale
    total += c * max_bin * hidden_size + 2 * hidden_size  # fc1 (no bias) + BatchNorm
    for _ in range(lstm_layers):  # 2 directions × 4 gates: W_ih, W_hh, b_ih, b_hh
        total += 2 * 4 * (h * hidden_size + h * h + 2 * h)  # every layer's input is 2h wide
    total += 2 * hidden_size * hidden_size + 2 * hidden_size  # fc2 + BatchNorm
    total += hidden_size * c * bins + 2 * c * bins  # fc3 + BatchNorm
    return total + 2 * bins  # output scale and mean


def numpy_max_bin(sample_rate, n_fft, bandwidth_hz):
    return int(np.sum(np.fft.rfftfreq(n_fft, 1 / sample_rate) <= bandwidth_hz))


def small(**kwargs):
    """A small float64 model in eval mode, drawn from a seeded generator."""
    args = dict(n_fft=64, hop=16, hidden_size=8, **kwargs)
    return OpenUnmix(**args).double().reset_parameters(seeded(0)).eval()


def test_parameter_count_default():
    assert expected_parameters(1024, 128, 3, 1, 513) == 465_670
    assert count(OpenUnmix()) == 465_670


@pytest.mark.parametrize("kwargs", [
    dict(n_fft=256, hop=64, hidden_size=6, lstm_layers=1, audio_channels=2,
         bandwidth_hz=3000),
    dict(sample_rate=44100, n_fft=4096, hop=1024, hidden_size=512, bandwidth_hz=16000,
         audio_channels=2)])  # Open-Unmix's own configuration
def test_parameter_count_other_settings(kwargs):
    model = OpenUnmix(**kwargs)
    max_bin = numpy_max_bin(model.sample_rate, model.n_fft, model.bandwidth_hz)
    assert model.max_bin == max_bin
    assert count(model) == expected_parameters(model.n_fft, model.hidden_size,
                                               model.lstm_layers, model.audio_channels, max_bin)


@pytest.mark.parametrize("bandwidth_hz", [None, 8000, 7999.9, 4000, 3000, 15.625, 15.6, 1.0])
def test_bandwidth_bins_against_rfftfreq(bandwidth_hz):
    model = OpenUnmix(bandwidth_hz=bandwidth_hz)
    assert model.max_bin == numpy_max_bin(16000, 1024, bandwidth_hz or 8000)
    assert model.fc1.in_features == model.max_bin


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def numpy_lstm(x, lstm):
    """Bidirectional multi-layer LSTM over ``x`` ``(frames, features)``, written as the LSTM
    equations with PyTorch's gate order (input, forget, cell, output); eval mode (no
    dropout)."""
    h = lstm.hidden_size
    for layer in range(lstm.num_layers):
        outputs = []
        for suffix, order in (("", range(len(x))), ("_reverse", reversed(range(len(x))))):
            w_ih, w_hh, b_ih, b_hh = (getattr(lstm, f"{name}_l{layer}{suffix}").detach().numpy()
                                      for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
            bias = b_ih + b_hh
            state, cell = np.zeros(h), np.zeros(h)
            out = np.zeros((len(x), h))
            for t in order:
                gates = w_ih @ x[t] + w_hh @ state + bias
                i, f, g, o = (gates[k * h:(k + 1) * h] for k in range(4))
                cell = sigmoid(f) * cell + sigmoid(i) * np.tanh(g)
                state = sigmoid(o) * np.tanh(cell)
                out[t] = state
            outputs.append(out)
        x = np.concatenate(outputs, axis=1)
    return x


def numpy_batchnorm(x, norm):
    """Eval-mode BatchNorm over the features (last axis) of ``x``."""
    p = {k: v.detach().numpy() for k, v in norm.state_dict().items() if v.dtype.is_floating_point}
    return (x - p["running_mean"]) / np.sqrt(p["running_var"] + norm.eps) * p["weight"] + p["bias"]


def numpy_openunmix(model, y):
    """The mask and estimate of ``model`` (eval mode) for one item ``y`` ``(channels, samples)``
    whose length is a multiple of the hop, from scipy's STFT (scaled back by Σw to the
    unnormalised transform) and the layers of the module docstring."""
    n_fft, hop, max_bin = model.n_fft, model.hop, model.max_bin
    weights = {k: v.detach().numpy() for k, v in model.named_parameters()}
    window_sum = np.sum(scipy.signal.get_window("hann", n_fft))
    kwargs = dict(window="hann", nperseg=n_fft, noverlap=n_fft - hop)
    _, _, Y = scipy.signal.stft(y, boundary="zeros", padded=True, **kwargs)
    Y = Y * window_sum  # (channels, bins, frames)
    z = (np.abs(Y[:, :max_bin]) - weights["input_mean"][:, None]) * weights["input_scale"][:, None]
    z = z.transpose(2, 0, 1).reshape(Y.shape[-1], -1)  # (frames, channels·max_bin)
    z = np.tanh(numpy_batchnorm(z @ weights["fc1.weight"].T, model.bn1))
    z = np.concatenate([z, numpy_lstm(z, model.lstm)], axis=1)
    z = np.maximum(numpy_batchnorm(z @ weights["fc2.weight"].T, model.bn2), 0)
    z = numpy_batchnorm(z @ weights["fc3.weight"].T, model.bn3)  # (frames, channels·bins)
    z = z.reshape(Y.shape[-1], *Y.shape[:2]).transpose(1, 2, 0)  # (channels, bins, frames)
    mask = np.maximum(z * weights["output_scale"][:, None] + weights["output_mean"][:, None], 0)
    _, estimate = scipy.signal.istft(mask * Y / window_sum, boundary=True, **kwargs)
    return mask, estimate[:, :y.shape[-1]]


def randomise_statistics(model, seed):
    """Non-trivial BatchNorm statistics and affine weights, input and output scalings."""
    gen = seeded(seed)
    with torch.no_grad():
        for norm in (model.bn1, model.bn2, model.bn3):
            norm.running_mean.normal_(0.0, 0.3, generator=gen)
            norm.running_var.uniform_(0.5, 2.0, generator=gen)
            norm.weight.uniform_(0.5, 1.5, generator=gen)
            norm.bias.normal_(0.0, 0.2, generator=gen)
        model.input_mean.uniform_(0.0, 1.0, generator=gen)
        model.input_scale.uniform_(0.5, 2.0, generator=gen)
        model.output_scale.uniform_(0.5, 1.5, generator=gen)
        model.output_mean.normal_(0.5, 0.5, generator=gen)  # some mask values cut by the ReLU


@pytest.mark.parametrize("kwargs", [dict(), dict(lstm_layers=2, audio_channels=2,
                                                 bandwidth_hz=3000)])
def test_network_against_numpy(kwargs):
    model = small(**kwargs)
    randomise_statistics(model, seed=1)
    x = torch.randn(2, model.audio_channels, 16 * 40, generator=seeded(2), dtype=torch.float64)
    with torch.no_grad():
        magnitude, estimate = model.magnitude(x), model(x)
    for i in range(2):
        mask, expected = numpy_openunmix(model, x[i].numpy())
        spectrum = np.abs(scipy.signal.stft(x[i].numpy(), window="hann", nperseg=64,
                                            noverlap=48, boundary="zeros")[2]) * 32
        np.testing.assert_allclose(magnitude[i].numpy(), mask * spectrum, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(estimate[i].numpy(), expected, rtol=1e-9, atol=1e-9)
    assert 0 < float((magnitude == 0).double().mean()) < 0.9  # the ReLU cut some bins


def unit_mask(model, level=1.0):
    """fc3 set to zero: in eval mode the last BatchNorm outputs 0, so the mask is ``level``."""
    with torch.no_grad():
        model.fc3.weight.zero_()
        model.output_mean.fill_(level)
    return model


@pytest.mark.parametrize("length", [1, 1000, 16000 + 7])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_unit_mask_returns_the_input(length, dtype):
    model = unit_mask(OpenUnmix().reset_parameters(seeded(3)).eval().to(dtype))
    x = torch.randn(2, 1, length, generator=seeded(4), dtype=dtype)
    with torch.no_grad():
        assert_within_rounding(model(x), x, dtype=dtype, ops=4, fft_size=1024)
        unit_mask(model, 0.5)
        assert_within_rounding(model(x), 0.5 * x, dtype=dtype, ops=4, fft_size=1024)


@pytest.mark.parametrize("length", [1, 1000, 16000 + 7])
def test_output_has_input_shape(length):
    model = OpenUnmix().reset_parameters(seeded(5)).eval()
    x = torch.randn(2, 1, length, generator=seeded(6))
    with torch.no_grad():
        y, magnitude = model(x), model.magnitude(x)
    assert y.shape == x.shape and torch.isfinite(y).all()
    assert magnitude.shape == (2, 1, 513, 1 + -(-length // 256)) and bool((magnitude >= 0).all())


def test_training_mode_shapes_and_stereo():
    model = OpenUnmix(audio_channels=2, bandwidth_hz=4000).reset_parameters(seeded(7)).train()
    x = torch.randn(2, 2, 3001, generator=seeded(8))
    assert model(x).shape == x.shape


def test_batch_items_are_independent_in_eval_mode():
    model = OpenUnmix().double().reset_parameters(seeded(9)).eval()
    randomise_statistics(model, seed=10)
    x = torch.randn(3, 1, 4001, generator=seeded(11), dtype=torch.float64)
    with torch.no_grad():
        # the widest sum: fc1 over 513 bins; the LSTM's recursion over 16 frames
        assert_items_match_single_calls(model, x, ops=16, terms=513 * 16, fft_size=1024)


@pytest.mark.parametrize("train", [True, False])
def test_silence_gives_finite_output_and_gradients(train):
    model = OpenUnmix(dropout=0.0).reset_parameters(seeded(12)).train(train)
    x = torch.zeros(2, 1, 2000, requires_grad=True)
    y = model(x)
    assert torch.equal(y, torch.zeros_like(y))
    model.magnitude(x).sum().backward()
    assert torch.isfinite(x.grad).all()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())


def test_gradient_reaches_every_parameter_and_the_input():
    model = OpenUnmix(dropout=0.0, bandwidth_hz=6000).reset_parameters(seeded(13)).train()
    x = torch.randn(2, 1, 3001, generator=seeded(14), requires_grad=True)
    model(x).abs().mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_receptive_field_is_the_whole_input():
    """The first output sample moves with the last input sample and the other way round,
    4,000 samples apart (the STFT alone spans 64): only the BLSTM connects them."""
    model = small()
    randomise_statistics(model, seed=15)
    x = torch.randn(1, 1, 4000, generator=seeded(16), dtype=torch.float64, requires_grad=True)
    y = model(x)
    (first,) = torch.autograd.grad(y[0, 0, 0], x, retain_graph=True)
    (last,) = torch.autograd.grad(y[0, 0, -1], x)
    assert float(first[0, 0, -1].abs()) > 0 and float(last[0, 0, 0].abs()) > 0


def test_reset_parameters_draws_from_the_generator_with_torch_default_bounds():
    a = OpenUnmix().reset_parameters(seeded(20))
    b = OpenUnmix()
    randomise_statistics(b, seed=21)
    b.reset_parameters(seeded(20))
    c = OpenUnmix().reset_parameters(seeded(22))
    for (name, p), q, r in zip(a.named_parameters(), b.parameters(), c.parameters(),
                               strict=True):
        assert torch.equal(p, q), name
        if name.startswith(("fc", "lstm")):
            assert not torch.equal(p, r), name
    for (name, p), q in zip(a.named_buffers(), b.buffers(), strict=True):
        assert torch.equal(p, q), name
    assert float(a.fc1.weight.detach().abs().max()) <= 1 / math.sqrt(513)
    assert float(a.fc1.weight.detach().std()) > 0.9 / math.sqrt(3 * 513)  # uniform: std = bound/√3
    assert float(a.lstm.weight_hh_l2.detach().abs().max()) <= 1 / 8  # hidden 64 per direction
    assert torch.equal(a.bn3.running_var, torch.ones(513))
    assert torch.equal(a.output_mean, torch.ones(513))
    assert torch.equal(a.input_mean, torch.zeros(513))


@pytest.mark.parametrize("name,value", [
    ("sample_rate", 0), ("n_fft", 1), ("hop", 0), ("hop", 513), ("hidden_size", 7),
    ("hidden_size", 0), ("hidden_size", 64.5), ("lstm_layers", 0), ("bandwidth_hz", 0.0),
    ("bandwidth_hz", 8000.5), ("bandwidth_hz", True), ("audio_channels", 0), ("dropout", 1.0),
    ("dropout", -0.1)])
def test_bad_constructor_arguments(name, value):
    with pytest.raises(ValueError, match=name):
        OpenUnmix(**{name: value})


@pytest.mark.parametrize("x", [
    torch.zeros(1, 2, 100), torch.zeros(1, 1, 100, dtype=torch.float64), torch.zeros(1, 100),
    torch.full((1, 1, 100), float("nan"))])
def test_bad_inputs_name_x(x):
    model = OpenUnmix().eval()
    with pytest.raises(ValueError, match="x"):
        model(x)
    with pytest.raises(ValueError, match="x"):
        model.magnitude(x)
