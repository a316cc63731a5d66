"""Wave-U-Net: parameter count against the per-layer formulas, padded lengths against the original
Wave-U-Net's shape recipe, shapes for any length, batch independence, the receptive field against
measured gradients, alignment through hand-set pass-through paths, the interpolation against
numpy, gradients, argument checks and seeded initialisation."""

import math

import numpy as np
import pytest
import torch
from _models import count
from _signals import seeded

from dasp_blind.removal.waveunet import WaveUNet, upsample_linear
from tests._tolerances import assert_items_match_single_calls, rounding_tol


def expected_parameters(levels, features, audio_channels, down_kernel_size, up_kernel_size):
    """Parameter count summed from the layer definitions (weights + biases)."""
    def conv(c_in, c_out, k):
        return c_in * c_out * k + c_out

    channels = [audio_channels] + [features * i for i in range(1, levels + 2)]
    total = sum(conv(channels[i - 1], channels[i], down_kernel_size)
                for i in range(1, levels + 1))
    total += conv(channels[levels], channels[levels + 1], down_kernel_size)  # bottleneck
    total += sum(conv(channels[i + 1] + channels[i], channels[i], up_kernel_size)
                 for i in range(1, levels + 1))
    return total + conv(audio_channels + channels[1], audio_channels, 1)  # output layer


def original_shapes(output_length, levels, down_kernel_size, up_kernel_size):
    """Input and output lengths of the original Wave-U-Net for a desired output length (its
    "context" recipe): from the output down to the bottleneck, ``rem ← (rem + k_u − 1 + 1)/2``
    per level, rounded up; from there up, ``2n − 1`` then ``− (k_u − 1)`` on the output side and
    ``2n − 1`` then ``+ (k_d − 1)`` on the input side."""
    rem = float(output_length)
    for _ in range(levels):
        rem = (rem + up_kernel_size) / 2
    bottleneck = math.ceil(rem)
    n_in, n_out = bottleneck + down_kernel_size - 1, bottleneck
    for _ in range(levels):
        n_out = 2 * n_out - 1 - (up_kernel_size - 1)
        n_in = 2 * n_in - 1 + down_kernel_size - 1
    return n_in, n_out


def test_parameter_count_default():
    args = dict(levels=8, features=13, audio_channels=1, down_kernel_size=15, up_kernel_size=5)
    assert expected_parameters(**args) == 984_843
    assert count(WaveUNet()) == 984_843


def test_parameter_count_other_settings():
    args = dict(levels=3, features=5, audio_channels=2, down_kernel_size=7, up_kernel_size=3)
    assert count(WaveUNet(**args)) == expected_parameters(**args)


@pytest.mark.parametrize("kwargs", [{}, dict(levels=3, features=2, down_kernel_size=7,
                                              up_kernel_size=3, audio_channels=2)])
def test_valid_length_follows_the_original_recipe(kwargs):
    model = WaveUNet(**kwargs)
    for length in (1, 2, 5, 6, 255, 256, 257, 1000, 16000 + 7):
        n_in, n_out = original_shapes(length, model.levels, model.down_kernel_size,
                                      model.up_kernel_size)
        assert n_out >= length
        assert model.valid_length(length) == n_in
        assert n_in - n_out == 2 * model.context
    assert model.valid_length(1) >= 1 + 2 * model.context


@pytest.mark.parametrize("kwargs", [{}, dict(levels=1, features=3),
                                    dict(levels=3, features=4, audio_channels=2,
                                         down_kernel_size=7, up_kernel_size=3)])
@pytest.mark.parametrize("length", [1, 1000, 16000 + 7])
def test_output_has_input_shape(kwargs, length):
    model = WaveUNet(**kwargs).reset_parameters(seeded(0))
    x = torch.randn(2, model.audio_channels, length, generator=seeded(100))
    with torch.no_grad():
        y = model(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()


def test_batch_items_are_independent():
    model = WaveUNet().double().eval().reset_parameters(seeded(2))
    x = torch.randn(3, 1, 3001, generator=seeded(3), dtype=torch.float64)
    with torch.no_grad():
        # the widest sum: the bottleneck's 104 channels × 15 taps; 18 layers in sequence
        assert_items_match_single_calls(model, x, ops=2 * 8 + 2, terms=104 * 15)


@pytest.mark.parametrize("kwargs", [dict(levels=3, features=2), dict(features=1),
                                    dict(levels=4, features=1, down_kernel_size=5,
                                         up_kernel_size=3)])
def test_receptive_field_from_gradients(kwargs):
    """The inputs that move one output sample (non-zero gradient) span at most
    ``receptive_field`` samples, exactly that at the widest phase of the period ``2^levels``,
    and always include the aligned input sample."""
    model = WaveUNet(**kwargs).double().reset_parameters(seeded(11))
    period = 2**model.levels
    length = model.receptive_field + period + 100
    x = torch.randn(1, 1, length, generator=seeded(12), dtype=torch.float64,
                    requires_grad=True)
    y = model(x)
    spans = []
    for position in range(length // 2 - period // 2, length // 2 + period // 2):
        (grad,) = torch.autograd.grad(y[0, 0, position], x, retain_graph=True)
        support = torch.nonzero(grad[0, 0]).ravel()
        low, high = int(support.min()), int(support.max())
        assert 0 < low <= position <= high < length - 1  # not cut by the input's ends
        spans.append(high - low + 1)
    assert max(spans) == model.receptive_field
    assert min(spans) >= 2 * model.context + 1


def pass_through(model, skip_level):
    """Set ``model`` (all parameters zeroed) to carry channel 0 from the input to the output
    along one path: centre taps down to level ``skip_level`` (the bottleneck when ``None``),
    through that level's skip, then centre taps on the up-sampled channel 0 back up. Positive
    input passes every LeakyReLU unchanged; decimation then linear interpolation reproduce a
    ramp exactly, and reproduce any signal when the path stays at level 1."""
    levels = model.levels
    deepest = levels + 1 if skip_level is None else skip_level
    centre_down, centre_up = model.down_kernel_size // 2, model.up_kernel_size // 2
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        for level in range(1, min(deepest, levels) + 1):
            model.down[level - 1].weight[0, 0, centre_down] = 1.0
        if skip_level is None:
            model.bottleneck.weight[0, 0, centre_down] = 1.0
        for level in range(1, min(deepest, levels) + 1):
            up = model.up[levels - level]  # deepest first
            skip_channels = model.features * level
            channel = 0 if level == skip_level else skip_channels  # skip first, then up-sampled
            up.weight[0, channel, centre_up] = 1.0
        model.output.weight[0, model.audio_channels, 0] = 1.0  # input first, then features
    return model


@pytest.mark.parametrize("length", [1, 2, 5, 333, 1000])
def test_level_one_skip_passes_any_signal_through_exactly(length):
    """Output sample ``t`` is input sample ``t``, the first and last ones included: the start
    padding, the level-1 skip crop and the final cut line up."""
    model = pass_through(WaveUNet(features=2).double(), skip_level=1)
    x = 1.0 + torch.rand(2, 1, length, generator=seeded(15), dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), x, rtol=0, atol=0)


@pytest.mark.parametrize("skip_level", [2, 3, 4, None])
def test_every_level_is_aligned(skip_level):
    """A ramp through the skip of each level (or the bottleneck) comes out unchanged away from
    the ends, where the interpolation reaches the zero padding (``2^levels − 1`` samples): a
    shift of one sample at any level would move it by the slope, 1e-3."""
    model = pass_through(WaveUNet(levels=4, features=2).double(), skip_level)
    x = (1.0 + 1e-3 * torch.arange(1000, dtype=torch.float64)).view(1, 1, -1)
    with torch.no_grad():
        y = model(x)
    edge = 2**model.levels
    torch.testing.assert_close(y[..., edge:-edge], x[..., edge:-edge], rtol=0,
                               atol=rounding_tol(x, dtype=torch.float64, ops=2 * model.levels))
    assert (y[..., edge:-edge] - x[..., edge:-edge]).abs().max() < 1e-4


def test_default_bottleneck_path_is_aligned():
    model = pass_through(WaveUNet(features=1).double(), None)
    x = (1.0 + 1e-3 * torch.arange(2000, dtype=torch.float64)).view(1, 1, -1)
    with torch.no_grad():
        y = model(x)
    torch.testing.assert_close(y[..., 256:-256], x[..., 256:-256], rtol=0,
                               atol=rounding_tol(x, dtype=torch.float64, ops=16))


def test_upsampling_matches_numpy_interp():
    x = torch.randn(2, 3, 17, generator=seeded(30), dtype=torch.float64)
    y = upsample_linear(x)
    assert y.shape == (2, 3, 33)
    positions = np.arange(33) / 2
    for b in range(2):
        for c in range(3):
            np.testing.assert_allclose(y[b, c].numpy(), np.interp(positions, np.arange(17),
                                                                  x[b, c].numpy()),
                                       rtol=0, atol=rounding_tol(x, dtype=torch.float64))
    one = torch.ones(1, 1, 1)
    assert torch.equal(upsample_linear(one), one)


def test_silence_gives_finite_output_and_gradients():
    model = WaveUNet().reset_parameters(seeded(1))
    x = torch.zeros(1, 1, 777, requires_grad=True)
    y = model(x)
    assert torch.isfinite(y).all()
    y.square().sum().backward()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_gradient_reaches_every_parameter_and_the_input():
    model = WaveUNet().reset_parameters(seeded(4))
    x = torch.randn(2, 1, 3001, generator=seeded(5), requires_grad=True)
    model(x).abs().mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize("name,value", [
    ("levels", 0), ("levels", True), ("features", 0), ("features", 2.5), ("audio_channels", 0),
    ("down_kernel_size", 4), ("down_kernel_size", 0), ("up_kernel_size", 2),
    ("negative_slope", -0.1), ("negative_slope", 1.5), ("negative_slope", float("nan"))])
def test_bad_constructor_arguments(name, value):
    with pytest.raises(ValueError, match=name):
        WaveUNet(**{name: value})


@pytest.mark.parametrize("x", [torch.zeros(1, 100), torch.zeros(1, 2, 100),
                               torch.zeros(1, 1, 0), torch.zeros(1, 1, 100, dtype=torch.float64),
                               torch.full((1, 1, 100), float("nan"))])
def test_bad_input(x):
    with pytest.raises(ValueError, match="x"):
        WaveUNet(levels=2, features=2)(x)


def test_bad_valid_length_argument():
    with pytest.raises(ValueError, match="length"):
        WaveUNet(levels=2).valid_length(0)


def test_reset_parameters_draws_from_the_generator_with_torch_default_bounds():
    a = WaveUNet().reset_parameters(seeded(20))
    b = WaveUNet().reset_parameters(seeded(20))
    c = WaveUNet().reset_parameters(seeded(21))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a.bottleneck.weight, c.bottleneck.weight)
    for module in a.modules():
        if isinstance(module, torch.nn.Conv1d):
            bound = 1 / math.sqrt(module.in_channels * module.kernel_size[0])
            assert module.weight.abs().max() <= bound and module.bias.abs().max() <= bound
    # uniform in ±bound: standard deviation bound/√3; 182,520 draws give it within 1 %
    weight = a.bottleneck.weight
    bound = 1 / math.sqrt(104 * 15)
    assert abs(float(weight.detach().std()) / (bound / math.sqrt(3)) - 1) < 0.01
