"""Demucs v2: parameter count against the per-layer formulas, shapes for any length, batch
independence, gradients, argument checks, the resampler against scipy and the exact band-limited
signal, the init rescaling against numpy, the receptive field against measured gradients, and
a traced copy."""

import io

import numpy as np
import pytest
import torch
from _models import count
from _signals import seeded
from scipy.signal import resample_poly

from dasp_blind.removal.demucs import Demucs, resample_2x
from tests._tolerances import assert_items_match_single_calls


def expected_parameters(channels, depth, audio_channels, kernel_size, stride, growth, context,
                        lstm_layers):
    """Parameter count summed from the layer definitions (weights + biases)."""
    def conv(c_in, c_out, k):  # Conv1d and ConvTranspose1d alike
        return c_in * c_out * k + c_out

    total, c_in, c_out = 0, audio_channels, channels
    for _ in range(depth):
        total += conv(c_in, c_out, kernel_size) + conv(c_out, 2 * c_out, 1)  # encoder
        total += conv(c_out, 2 * c_out, context) + conv(c_out, c_in, kernel_size)  # decoder
        c_in, c_out = c_out, growth * c_out
    dim = c_in
    for layer in range(lstm_layers):  # per direction: 4 gates, W_ih, W_hh, b_ih, b_hh
        inputs = dim if layer == 0 else 2 * dim
        total += 2 * 4 * (dim * inputs + dim * dim + 2 * dim)
    if lstm_layers:
        total += 2 * dim * dim + dim  # Linear(2·dim → dim)
    return total


def band_limited(t, max_frequency, seed):
    """Sum of 8 unit cosines at frequencies (cycles per unit of ``t``) below ``max_frequency``,
    evaluated exactly at the times ``t``; the same seed gives the same signal."""
    rng = np.random.default_rng(seed)
    frequencies = rng.uniform(0.01, max_frequency, 8)
    phases = rng.uniform(0, 2 * np.pi, 8)
    return sum(np.cos(2 * np.pi * f * t + p) for f, p in zip(frequencies, phases, strict=True)) / 8


def as_audio(x):
    return torch.as_tensor(x, dtype=torch.float64).view(1, 1, -1)


def test_parameter_count_default_is_the_reference_figure():
    args = dict(channels=4, depth=6, audio_channels=1, kernel_size=8, stride=4, growth=2,
                context=3, lstm_layers=2)
    assert expected_parameters(**args) == 1_043_113
    assert count(Demucs()) == 1_043_113


def test_parameter_count_other_settings():
    args = dict(channels=3, depth=2, audio_channels=2, kernel_size=6, stride=3, growth=3,
                context=2, lstm_layers=1)
    assert count(Demucs(**args)) == expected_parameters(**args)
    args.update(lstm_layers=0)
    assert count(Demucs(**args)) == expected_parameters(**args)


@pytest.mark.parametrize("kwargs", [{}, dict(resample=False), dict(context=2, depth=3),
                                    dict(kernel_size=5, stride=3, depth=3, audio_channels=2)])
@pytest.mark.parametrize("length", [1, 1000, 16000 + 7])
def test_output_has_input_shape(kwargs, length):
    model = Demucs(**kwargs).reset_parameters(seeded(0))
    x = torch.randn(2, model.audio_channels, length, generator=seeded(100))
    with torch.no_grad():
        y = model(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()
    assert model.valid_length(length) >= length + model._left_pad


def test_silence_gives_finite_output_and_gradients():
    model = Demucs(channels=2, depth=3).reset_parameters(seeded(1))
    x = torch.zeros(1, 1, 777, requires_grad=True)
    model(x).square().sum().backward()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_batch_items_are_independent():
    model = Demucs().double().eval().reset_parameters(seeded(2))
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(3, 1, 4001, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        # the widest sum: 2·128 channels × 3 taps of the innermost context convolution, through
        # 2·depth convolutions and the BLSTM's recursion
        assert_items_match_single_calls(model, x, ops=4 * 6, terms=256 * 8 * 64)


def test_gradient_reaches_every_parameter_and_the_input():
    model = Demucs().reset_parameters(seeded(4))
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(2, 1, 3001, generator=gen, requires_grad=True)
    model(x).abs().mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize("name,value", [
    ("channels", 0), ("channels", 2.5), ("depth", 0), ("audio_channels", 0),
    ("kernel_size", 3), ("stride", 0), ("growth", 0), ("context", 0), ("lstm_layers", -1),
    ("rescale", -0.1), ("rescale", float("nan")), ("resample", 1), ("depth", True)])
def test_bad_constructor_arguments(name, value):
    with pytest.raises(ValueError, match=name):
        Demucs(**{name: value})


@pytest.mark.parametrize("x", [torch.zeros(1, 100), torch.zeros(1, 2, 100),
                               torch.zeros(1, 1, 0), torch.zeros(1, 1, 100, dtype=torch.float64),
                               torch.full((1, 1, 100), float("nan"))])
def test_bad_input(x):
    with pytest.raises(ValueError, match="x"):
        Demucs(channels=2, depth=2)(x)


def test_bad_valid_length_argument():
    with pytest.raises(ValueError, match="length"):
        Demucs(depth=2).valid_length(0)


def test_upsampling_matches_scipy_and_the_exact_signal():
    """A signal below 0.6 of the Nyquist frequency: resample_poly (Kaiser, β 5, 20 taps a side)
    is accurate to about 5e-4 here; resample_2x to the exact half-sample values within 1e-4."""
    n = np.arange(3000)
    x = band_limited(n, 0.3, seed=6)
    y = resample_2x(as_audio(x), up=True).numpy().ravel()
    assert y.shape == (6000,)
    inner = slice(400, -400)
    np.testing.assert_allclose(y[inner], resample_poly(x, 2, 1)[inner], rtol=0, atol=1e-3)
    exact = band_limited(np.arange(6000) / 2, 0.3, seed=6)
    np.testing.assert_allclose(y[inner], exact[inner], rtol=0, atol=1e-4)
    np.testing.assert_array_equal(y[::2], x)  # the original samples stay


def test_downsampling_matches_scipy_and_the_exact_signal():
    n = np.arange(6001)
    x = band_limited(n, 0.15, seed=7)
    y = resample_2x(as_audio(x), up=False).numpy().ravel()
    assert y.shape == (3001,)
    inner = slice(200, -200)
    np.testing.assert_allclose(y[inner], resample_poly(x, 1, 2)[inner], rtol=0, atol=1e-3)
    exact = band_limited(2 * np.arange(3001), 0.15, seed=7)
    np.testing.assert_allclose(y[inner], exact[inner], rtol=0, atol=1e-4)


def test_down_of_up_is_identity_below_nyquist():
    x = band_limited(np.arange(2000), 0.3, seed=8)
    back = resample_2x(resample_2x(as_audio(x), up=True), up=False).numpy().ravel()
    np.testing.assert_allclose(back[100:-100], x[100:-100], rtol=0, atol=1e-4)


def test_resampler_gradients():
    gen = torch.Generator().manual_seed(9)
    x = torch.randn(1, 2, 13, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: resample_2x(v, up=True), (x,))
    assert torch.autograd.gradcheck(lambda v: resample_2x(v, up=False), (x,))


def test_reset_parameters_draws_from_the_generator_with_torch_default_bounds():
    a = Demucs(channels=2, depth=3).reset_parameters(seeded(20))
    b = Demucs(channels=2, depth=3).reset_parameters(seeded(20))
    c = Demucs(channels=2, depth=3, rescale=0).reset_parameters(seeded(21))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    first = c.encoder[0][0]  # Conv1d(1 -> 2, k=8): fan_in 8
    assert first.weight.abs().max() <= 1 / np.sqrt(8) and first.weight.std() > 0.1


def test_init_rescaling_against_numpy():
    """Same seed, same PyTorch init: rescaled weights = original / sqrt(std(w, ddof=1)/0.1)."""
    plain = Demucs(channels=2, depth=3, rescale=0).reset_parameters(seeded(10))
    scaled = Demucs(channels=2, depth=3, rescale=0.1).reset_parameters(seeded(10))
    convolutions = 0
    for (name, a), (_, b) in zip(plain.named_modules(), scaled.named_modules(),
                                    strict=True):
        if isinstance(a, (torch.nn.Conv1d, torch.nn.ConvTranspose1d)):
            w = a.weight.detach().numpy().astype(np.float64)
            scale = np.sqrt(np.std(w, ddof=1) / 0.1)
            np.testing.assert_allclose(b.weight.detach().numpy(), w / scale, rtol=1e-6,
                                       err_msg=name)
            np.testing.assert_allclose(b.bias.detach().numpy(), a.bias.detach().numpy() / scale,
                                       rtol=1e-6, err_msg=name)
            convolutions += 1
    assert convolutions == 4 * 3
    lstm = zip(plain.lstm.parameters(), scaled.lstm.parameters(), strict=True)
    assert all(torch.equal(a, b) for a, b in lstm)


@pytest.mark.parametrize("kwargs", [dict(channels=4, depth=3, lstm_layers=0),
                                    dict(channels=4, depth=2, lstm_layers=0, resample=False)])
def test_receptive_field_from_gradients(kwargs):
    """Without the BLSTM, the inputs that move one output sample (non-zero gradient) span at
    most ``receptive_field`` samples, and reach it at some phase of the network's period."""
    model = Demucs(**kwargs).double().reset_parameters(seeded(11))
    gen = torch.Generator().manual_seed(12)
    x = torch.randn(1, 1, 1500, generator=gen, dtype=torch.float64, requires_grad=True)
    y = model(x)
    period = model.stride**model.depth // (2 if model.resample else 1)
    spans = []
    for position in range(700, 700 + period):
        (grad,) = torch.autograd.grad(y[0, 0, position], x, retain_graph=True)
        support = torch.nonzero(grad[0, 0]).ravel()
        spans.append(int(support.max()) - int(support.min()) + 1)
    assert model.receptive_field - 4 <= max(spans) <= model.receptive_field


def identity_demucs(resample):
    """A depth-2 Demucs set by hand to pass its input through: the first encoder convolution
    splits the signal into its 4 polyphase components (channel ``c`` of frame ``j`` is sample
    ``4j + 2 + c``), every GLU gate is saturated open (bias 40: σ = 1 in float64), the context
    convolution keeps its centre tap, the last transposed convolution interleaves the phases
    back, and the inner decoder block outputs zeros. Its output is the input only if the start
    padding, the skip trimming and the final cut put output ``t`` on input ``t``."""
    model = Demucs(channels=4, depth=2, lstm_layers=0, rescale=0, resample=resample).double()
    split, gate = model.encoder[0][0], model.encoder[0][2]
    context, merge = model.decoder[-1][0], model.decoder[-1][2]
    with torch.no_grad():
        for conv in (split, gate, context, merge, model.decoder[0][2]):
            conv.weight.zero_()
            conv.bias.zero_()
        for c in range(4):
            split.weight[c, 0, 2 + c] = 1.0
            gate.weight[c, c, 0] = 1.0
            context.weight[c, c, 1] = 1.0
            merge.weight[c, 0, 2 + c] = 1.0
        gate.bias[4:] = 40.0
        context.bias[4:] = 40.0
    return model


def test_output_is_aligned_with_input_without_resampling():
    """Exact pass-through except the first and last 2 samples: each is covered by one frame of
    the transposed convolution only, whose hand-set taps (2…5 of 8) miss it."""
    gen = torch.Generator().manual_seed(15)
    for length in (5, 333, 1000):
        x = torch.rand(2, 1, length, generator=gen, dtype=torch.float64)
        with torch.no_grad():
            y = identity_demucs(False)(x)
        torch.testing.assert_close(y[..., 2:-2], x[..., 2:-2], rtol=0, atol=1e-14)


def test_output_is_aligned_with_input_with_resampling():
    """Positive, band-limited input: the output is down(up(x)) ≈ x away from the ends (where the
    up-sampled zero padding rings below zero and the ReLU cuts it), within twice the
    resampler's accuracy of 1e-4 per pass."""
    x = 2.0 + band_limited(np.arange(1001), 0.3, seed=16)
    with torch.no_grad():
        y = identity_demucs(True)(as_audio(x)).numpy().ravel()
    np.testing.assert_allclose(y[100:-100], x[100:-100], rtol=0, atol=2e-4)


def test_traced_model_saves_loads_and_agrees():
    """TorchScript by tracing, at the traced length (the padding is fixed for that length)."""
    model = Demucs(channels=2, depth=4).eval().reset_parameters(seeded(13))
    gen = torch.Generator().manual_seed(14)
    x = torch.randn(2, 1, 5000, generator=gen)
    with torch.no_grad():
        traced = torch.jit.trace(model, x, check_trace=False)
        buffer = io.BytesIO()
        torch.jit.save(traced, buffer)
        buffer.seek(0)
        loaded = torch.jit.load(buffer)
        x2 = torch.randn(2, 1, 5000, generator=gen)
        torch.testing.assert_close(loaded(x2), model(x2), rtol=0, atol=0)
