"""CRAFx: parameter count against the per-layer formulas, shapes for any length, batch
independence, gradients, argument checks, the framing and Hann overlap-add (an identity network
must give the input back, a frame-shifting one the shifted input), the window against scipy, the
front end and context assembly against a numpy computation, the tied synthesis as the front
end's adjoint, the receptive field against measured gradients, and the seeded Keras init."""

import numpy as np
import pytest
import torch
from _models import count
from _signals import seeded
from scipy.signal import check_COLA, get_window

from dasp_blind.removal.crafx import CRAFx
from tests._tolerances import assert_items_match_single_calls, assert_within_rounding

#: A small model for the tests that run many passes: 64-sample frames, 4 filters, 1 context
#: frame on each side.
SMALL = dict(frame_length=64, hop_length=32, filters=4, kernel_size=4, pool_size=8, context=1,
             dropout=0.0)


def expected_parameters(filters=32, kernel_size=64, context=4, keras=False):
    """Parameter count summed from the layer definitions (weights + biases)."""
    f, frames = filters, 2 * context + 1

    def bilstm(inputs, hidden):  # both directions; 4 gates; PyTorch has two bias vectors
        biases = 1 if keras else 2
        return 2 * 4 * (hidden * inputs + hidden * hidden + biases * hidden)

    def dense(inputs, outputs):
        return inputs * outputs + outputs

    saaf = 13 * f  # 12 segments + the linear term per feature
    front_end = dense(kernel_size, f) + dense(2 * kernel_size, f)  # conv + locally connected
    latent = bilstm(frames * f, 2 * f) + bilstm(4 * f, f) + bilstm(2 * f, f // 2) + saaf
    back_end = (dense(f, f) + dense(f, f // 2) + dense(f // 2, f // 2) + dense(f // 2, f)
                + saaf + dense(f, 16 * f) + dense(16 * f, f))
    return front_end + latent + back_end + 1  # + the synthesis bias


def test_parameter_count_default_and_other_settings():
    assert expected_parameters() == 275_969
    assert count(CRAFx()) == 275_969
    assert expected_parameters(keras=True) == 275_073  # the Keras model's count
    args = dict(filters=6, kernel_size=5, context=2)
    assert count(CRAFx(**args)) == expected_parameters(**args)


@pytest.mark.parametrize("length", [1, 1000, 4096, 16000 + 7])
def test_output_has_input_shape(length):
    model = CRAFx().eval().reset_parameters(seeded(0))
    x = 0.1 * torch.randn(2, 1, length, generator=seeded(100))
    with torch.no_grad():
        y = model(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()


def test_batch_items_are_independent():
    model = CRAFx(frame_length=512, hop_length=256, filters=8, kernel_size=16, pool_size=8,
                  context=2).double().eval().reset_parameters(seeded(1))
    x = 0.1 * torch.randn(3, 1, 3001, generator=seeded(2), dtype=torch.float64)
    with torch.no_grad():
        # the widest sums: 40 LSTM inputs over 64 steps, the 32-tap smoothing, the 16-tap
        # synthesis over 8 channels; a few dozen layers in sequence
        assert_items_match_single_calls(model, x, ops=40, terms=40 * 64)


def test_silence_gives_finite_output_and_gradients():
    model = CRAFx().eval().reset_parameters(seeded(3))
    x = torch.zeros(1, 1, 3000, requires_grad=True)
    y = model(x)
    y.square().sum().backward()
    assert torch.isfinite(y).all() and torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_gradient_reaches_every_parameter():
    model = CRAFx(**SMALL).reset_parameters(seeded(4))
    x = (0.1 * torch.randn(2, 1, 300, generator=seeded(5))).requires_grad_()
    model(x).abs().mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
    assert x.grad.abs().sum() > 0


@pytest.mark.parametrize("name,value", [
    ("frame_length", 0), ("frame_length", 2.5), ("hop_length", 0), ("hop_length", 3),
    ("hop_length", 4096), ("filters", 3), ("filters", 0), ("kernel_size", 0),
    ("pool_size", 0), ("pool_size", 3), ("context", -1), ("dropout", 1.0), ("dropout", -0.1),
    ("dropout", float("nan")), ("context", True)])
def test_bad_constructor_arguments(name, value):
    with pytest.raises(ValueError, match=name):
        CRAFx(**{name: value})


@pytest.mark.parametrize("x", [torch.zeros(1, 100), torch.zeros(1, 2, 100),
                               torch.zeros(1, 1, 0), torch.zeros(1, 1, 100, dtype=torch.float64),
                               torch.full((1, 1, 100), float("nan"))])
def test_bad_input(x):
    with pytest.raises(ValueError, match="x"):
        CRAFx(**SMALL)(x)


def shifted(x, samples):
    """``y[t] = x[t + samples]``, zero where ``t + samples`` is outside ``x``."""
    source = torch.arange(x.shape[-1]) + samples
    inside = (source >= 0) & (source < x.shape[-1])
    y = torch.zeros_like(x)
    y[..., inside] = x[..., source[inside]]
    return y


@pytest.mark.parametrize("kwargs,lengths", [
    ({}, [1, 1000, 4096, 16000 + 7]),
    (dict(frame_length=256, hop_length=64, context=2), [1, 63, 64, 65, 1000]),
    (dict(frame_length=96, hop_length=32, pool_size=32, context=1), [5, 97, 500])])
def test_framing_and_overlap_add_reconstruct_the_input(kwargs, lengths, monkeypatch):
    """The network replaced by one that returns frame ``i + shift`` as the estimate of frame
    ``i``: the output must be the input advanced by ``shift`` hops, exactly (to rounding),
    for every sample, ends included (shift 0: the identity)."""
    model = CRAFx(**kwargs).double()
    c = model.context
    gen = seeded(6)
    for shift in (0, 1, -1):
        def network(frames, shift=shift):
            return frames[:, c + shift:frames.shape[1] - c + shift]
        monkeypatch.setattr(model, "forward_frames", network)
        for length in lengths:
            x = torch.randn(2, 1, length, generator=gen, dtype=torch.float64)
            y = model(x)
            expected = shifted(x, shift * model.hop_length)
            overlap = model.frame_length // model.hop_length
            assert_within_rounding(y, expected, dtype=torch.float64, ops=overlap + 2)


@pytest.mark.parametrize("frame_length,hop_length", [(4096, 2048), (256, 64), (96, 32)])
def test_window_is_periodic_hann_with_a_constant_overlap_add(frame_length, hop_length):
    """The window (torch's periodic Hann) is scipy's; its copies shifted by the hop sum to exactly
    ``frame_length / (2·hop_length)`` away from the ends (scipy's COLA check agrees)."""
    window = get_window("hann", frame_length)  # periodic (fftbins=True)
    torch_window = torch.hann_window(frame_length, periodic=True, dtype=torch.float64)
    np.testing.assert_allclose(torch_window.numpy(), window, rtol=0, atol=1e-15)
    assert check_COLA(window, frame_length, frame_length - hop_length)
    frames = 12
    total = np.zeros((frames - 1) * hop_length + frame_length)
    for i in range(frames):
        total[i * hop_length:i * hop_length + frame_length] += window
    interior = total[frame_length - hop_length:(frames - 1) * hop_length + hop_length]
    np.testing.assert_allclose(interior, frame_length / (2 * hop_length), rtol=0, atol=1e-12)


def same_correlation(x, weight, bias):
    """TensorFlow-"same" correlation of one signal ``x`` (``(time,)``) with ``weight``
    (``(taps,)``): ``(taps − 1) // 2`` zeros before, ``taps // 2`` after."""
    taps = len(weight)
    padded = np.pad(x, ((taps - 1) // 2, taps // 2))
    return np.lib.stride_tricks.sliding_window_view(padded, taps) @ weight + bias


def test_front_end_and_context_against_numpy():
    """The input of the first BLSTM (captured by a hook) against a numpy computation of the
    paper's front end on frames cut by hand: frame ``i`` starts at ``i·hop − (N − hop) −
    context·hop``; features ordered (context frame, filter) as Keras' concatenation."""
    model = CRAFx(**SMALL).double().eval().reset_parameters(seeded(7))
    frame, hop, c, f = 64, 32, 1, 4
    length = 150
    x = torch.randn(1, 1, length, generator=seeded(8), dtype=torch.float64)
    captured = []
    model.lstm_in.register_forward_hook(lambda module, args, out: captured.append(args[0]))
    with torch.no_grad():
        model(x)
    (lstm_input,) = captured

    w1, b1 = model.conv.weight.detach().numpy()[:, 0], model.conv.bias.detach().numpy()
    w2 = model.smoothing.weight.detach().numpy()[:, 0]
    b2 = model.smoothing.bias.detach().numpy()
    n = (length - 1) // hop + frame // hop  # frames holding the signal: 6
    before = frame - hop + c * hop
    padded = np.zeros((n + 2 * c - 1) * hop + frame)
    padded[before:before + length] = x.numpy().ravel()
    pooled = []
    for i in range(n + 2 * c):
        chunk = padded[i * hop:i * hop + frame]
        rows = []
        for k in range(f):
            conv = same_correlation(chunk, w1[k], b1[k])
            smooth = np.logaddexp(0.0, same_correlation(np.abs(conv), w2[k], b2[k]))
            rows.append(smooth.reshape(-1, 8).max(axis=1))  # max-pool 8
        pooled.append(np.stack(rows, axis=1))  # (steps, F)
    expected = np.stack([np.concatenate(pooled[i:i + 2 * c + 1], axis=1) for i in range(n)])
    assert lstm_input.shape == (n, frame // 8, (2 * c + 1) * f)
    np.testing.assert_allclose(lstm_input.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_tied_synthesis_is_the_adjoint_of_the_front_end():
    """``⟨conv(x), Y⟩ = ⟨x, deconv(Y)⟩`` for the bias-free parts, odd and even kernels."""
    for kernel_size in (64, 5):
        model = CRAFx(kernel_size=kernel_size).double().reset_parameters(seeded(9))
        gen = seeded(10)
        x = torch.randn(3, 1, 4096, generator=gen, dtype=torch.float64)
        y = torch.randn(3, 32, 4096, generator=gen, dtype=torch.float64)
        with torch.no_grad():
            forward = model._front_end(x) - model.conv.bias.view(1, -1, 1)
            adjoint = model._tied_deconv(y) - model.deconv_bias
        left, right = (forward * y).sum(), (x * adjoint).sum()
        assert_within_rounding(left, right, dtype=torch.float64, ops=2 * kernel_size,
                               sum_size=32 * 4096 * 3)


def test_receptive_field_from_gradients():
    """The inputs that move one output sample (non-zero gradient) span exactly
    ``receptive_field`` samples, or one hop less where the sample starts a frame (the Hann
    window is zero there)."""
    model = CRAFx(**SMALL).double().eval().reset_parameters(seeded(11))
    assert model.receptive_field == (2 * 1 + 2 - 1) * 32 + 64 == 160
    assert CRAFx().receptive_field == 22_528
    x = torch.randn(1, 1, 600, generator=seeded(12), dtype=torch.float64, requires_grad=True)
    y = model(x)
    spans = {}
    for position in range(288, 288 + 32):
        (grad,) = torch.autograd.grad(y[0, 0, position], x, retain_graph=True)
        support = torch.nonzero(grad[0, 0]).ravel()
        spans[position] = int(support.max()) - int(support.min()) + 1
    assert spans[288] == model.receptive_field - 32  # 288 = 9 hops: a frame starts there
    assert all(span == model.receptive_field for p, span in spans.items() if p != 288)


def test_reset_parameters_is_seeded_and_follows_keras_init():
    a = CRAFx().reset_parameters(seeded(20))
    b = CRAFx().reset_parameters(seeded(20))
    c = CRAFx().reset_parameters(seeded(21))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a.conv.weight, c.conv.weight)
    with torch.no_grad():
        for conv, fan_in in ((a.conv, 64), (a.smoothing, 128)):  # LeCun uniform
            bound = np.sqrt(3 / fan_in)
            assert conv.weight.abs().max() <= bound
            assert abs(float(conv.weight.std()) - bound / np.sqrt(3)) < 0.1 * bound
            assert not conv.bias.any()
        for lstm in (a.lstm_in, a.lstm_hidden, a.lstm_out):
            h = lstm.hidden_size
            for suffix in ("", "_reverse"):
                w_hh = getattr(lstm, f"weight_hh_l0{suffix}")  # orthogonal columns
                torch.testing.assert_close(w_hh.T @ w_hh, torch.eye(h), rtol=0, atol=1e-5)
                bias = getattr(lstm, f"bias_ih_l0{suffix}")
                assert torch.equal(bias[h:2 * h], torch.ones(h))  # unit forget bias
                assert not bias[:h].any() and not bias[2 * h:].any()
                assert not getattr(lstm, f"bias_hh_l0{suffix}").any()
        w_ih = a.lstm_in.weight_ih_l0  # Glorot uniform, fan_in 288, fan_out 4·64
        assert w_ih.abs().max() <= np.sqrt(6 / (288 + 256))
        assert float(a.deconv_bias) == 0.0
