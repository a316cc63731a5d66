"""The encoders (MEE, TE, TFE), their log-CQT front end and the MLP head.

The full 81 M-parameter MEE is built once (a module fixture) and only run on tiny batches at its
minimum length; parameter counts of full-size networks are taken on the ``meta`` device, which
allocates nothing. Shapes, tightness of the minimum lengths and the padding variants are checked
on MEEs with 2 channels per block, which run the same code.
"""

from __future__ import annotations

import math

import nnAudio.features
import pytest
import torch
import torch.nn.functional as F
from _signals import randn, seeded
from _tolerances import assert_items_match_single_calls, assert_within_rounding, rounding_tol

import dasp_blind as db
from dasp_blind.encoders import MEE, TE, TFE, LogCQT, build, peak_normalize
from dasp_blind.encoders.cqt import LOG_EPS
from dasp_blind.encoders.mee import CHANNELS, KERNELS, STRIDES, ResBlock1d
from dasp_blind.encoders.te import BRANCHES, TimbreBranch
from dasp_blind.nn import MLPHead, init_weights_

SR = 44100
#: MEE sizes with 2 channels per block: the reference's kernels and strides, cheap to run.
NARROW = dict(channels=(2,) * 12)
#: Roundings of one MEE output in float32: 24 convolutions in sequence, each a dot product of at
#: most 2048 channels × 5 taps (pass as ``**MEE_GROWTH``).
MEE_GROWTH = dict(ops=2 * len(KERNELS), terms=2048 * 5)


def seeded_encoder(encoder: db.encoders.Encoder, seed: int = 0) -> db.encoders.Encoder:
    """``encoder`` re-initialised from ``seed``, in eval mode."""
    encoder.reset_parameters(generator=seeded(seed))
    return encoder.eval()


@pytest.fixture(scope="module")
def mee() -> MEE:
    """The full BE-AFX MEE, seeded, in eval mode (built once: 81 M parameters)."""
    return seeded_encoder(MEE())


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def cqt_growth(encoder: TE | TFE, x: torch.Tensor) -> dict:
    """Rounding growth of a float64 TE / TFE output on ``x``: the CQT's sums over a kernel's
    width, amplified by the log's condition ``max|C| / (min|C| + 1e-6)``, through 5 layers."""
    with torch.no_grad():
        magnitude = encoder.cqt.magnitude(peak_normalize(x.mean(dim=1, keepdim=True)))
    condition = float(magnitude.max() / (magnitude.min() + LOG_EPS))
    return dict(dtype=torch.float64, ops=5 * condition, terms=encoder.cqt.kernel_width)


# ---------------------------------------------------------------- sizes and parameter counts

def mee_formula(channels_in: int, prelu: bool) -> int:
    """Parameters of the reference-size MEE counted by hand: per block two biased convolutions,
    two batch norms (2 parameters per channel) and, for BE-AFX, two PReLU slopes."""
    total, c_in = 0, channels_in
    for kernel, c_out in zip(KERNELS, CHANNELS, strict=True):
        total += c_in * c_in * kernel + c_in + 2 * c_in          # conv1 + BN
        total += c_in * c_out * kernel + c_out + 2 * c_out       # conv2 + BN
        total += 2 if prelu else 0
        c_in = c_out
    return total


def test_mee_parameter_count():
    with torch.device("meta"):
        beafx, koo = MEE(), MEE(variant="koo")
    assert n_params(beafx) == 81_392_228 == mee_formula(1, prelu=True)
    assert n_params(koo) == 81_392_682 == mee_formula(2, prelu=False)
    assert beafx.out_dim == koo.out_dim == 2048


def test_tfe_parameter_count_excludes_the_cqt_kernels():
    tfe = TFE()
    assert n_params(tfe) == 453_700
    assert [n_params(m) for m in (tfe.time.conv2d, tfe.time.conv1d, tfe.frequency.conv2d,
                                  tfe.frequency.conv1d)] == [8_385, 127_169, 2_561, 315_585]
    assert not any("cqt" in name for name in tfe.state_dict())
    assert n_params(tfe.cqt) == 0 and len(list(tfe.cqt.buffers())) > 0


def test_te_parameter_count():
    te = TE()
    assert sum(n_params(b.conv) for b in te.branches) == 10_370
    assert n_params(te) == 10_370 + 2 * 66 + 1  # + BatchNorm1d(66) + one PReLU slope
    assert te.out_dim == sum(c for _, _, c in BRANCHES) == 66


def test_mlp_head_parameter_count():
    head = MLPHead(2048, 15)
    hidden = 2048 * 2048 + 2048 * 1024 + 1024 * 512 + 3 * (2048 + 1024 + 512) + 3
    assert n_params(head) == hidden + 513 * 15
    # the reference's torchinfo count for TFE + head with 15 controls
    assert n_params(TFE()) + n_params(MLPHead(128, 15)) == 3_355_734


def time_lengths(encoder: MEE, samples: int) -> list[int]:
    """Time length after each block of ``encoder`` for one input of ``samples`` samples."""
    lengths = []
    hooks = [b.register_forward_hook(lambda _m, _i, out: lengths.append(out.shape[-1]))
             for b in encoder.blocks]
    with torch.no_grad():
        encoder(randn(1, 1, samples, seed=1))
    for hook in hooks:
        hook.remove()
    return lengths


def test_mee_time_lengths_match_the_reference():
    """Reference §2.1: 441000 samples -> 110244 -> ... -> 95 frames."""
    assert time_lengths(seeded_encoder(MEE(**NARROW)), 441_000) == [
        110244, 27555, 13771, 6879, 3435, 1713, 852, 422, 209, 103, 99, 95]
    koo = seeded_encoder(MEE(variant="koo", **NARROW))
    assert time_lengths(koo, 441_000) == [110250, 27563, 13782, 6891, 3446, 1723, 862, 431,
                                          216, 108, 108, 108]  # ⌈n/stride⌉


@pytest.mark.parametrize("variant, expected", [("beafx", 54_489), ("koo", 8_193)])
def test_mee_minimum_length_is_tight(variant, expected):
    encoder = seeded_encoder(MEE(variant=variant, **NARROW))
    assert encoder.min_length == expected
    assert encoder(randn(2, 1, expected, seed=2)).shape == (2, 2)
    with pytest.raises(ValueError, match=r"x must hold at least 54489|x must hold at least 8193"):
        encoder(randn(2, 1, expected - 1, seed=2))
    with pytest.raises(RuntimeError):  # the layers themselves cannot take one sample less
        encoder.blocks(randn(2, encoder.channels, expected - 1, seed=2))


def test_te_and_tfe_minimum_lengths():
    te, tfe = TE(), TFE()
    assert te.min_length == te.cqt.min_length == 11_341   # reflect padding of 11340 samples
    assert tfe.min_length == 157 * 512                     # 158 frames for the time branch
    for encoder in (seeded_encoder(te), seeded_encoder(tfe)):
        assert encoder(randn(2, 1, encoder.min_length, seed=3)).shape == (2, encoder.out_dim)
        with pytest.raises(ValueError, match="x must hold at least"):
            encoder(randn(2, 1, encoder.min_length - 1, seed=3))


def functional_block(block: ResBlock1d, x: torch.Tensor, variant: str) -> torch.Tensor:
    """A residual block written out with torch.nn.functional: PyTorch's own ``padding='same'``
    (zeros) for BE-AFX's conv1, explicit reflection padding for Koo's convolutions."""
    def layer(seq: torch.nn.Sequential, h: torch.Tensor, stride: int, same: bool):
        conv, bn = seq[1], seq[2]
        k = conv.kernel_size[0]
        if same and variant == "koo":
            h = F.pad(h, ((k - 1) // 2, k // 2), mode="reflect")
        h = F.conv1d(h, conv.weight, conv.bias, stride=stride,
                     padding="same" if same and variant == "beafx" else 0)
        h = F.batch_norm(h, bn.running_mean, bn.running_var, bn.weight, bn.bias, eps=bn.eps)
        return F.relu(h) if variant == "koo" else F.prelu(h, seq[3].weight)
    stride = block.conv2[1].stride[0]
    return layer(block.conv2, layer(block.conv1, x, 1, True) + x, stride, variant == "koo")


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("variant", ["beafx", "koo"])
@pytest.mark.parametrize("kernel, stride", [(10, 2), (5, 1), (25, 4)])
def test_res_block_matches_a_functional_reference(variant, kernel, stride):
    block = ResBlock1d(3, 4, kernel, stride, variant).double()
    init_weights_(block, generator=seeded(23))
    for bn in (block.conv1[2], block.conv2[2]):   # non-trivial running statistics
        bn.running_mean.uniform_(-0.5, 0.5, generator=seeded(24))
        bn.running_var.uniform_(0.5, 2.0, generator=seeded(25))
    block.eval()
    x = randn(2, 3, 101, seed=26, dtype=torch.float64)
    with torch.no_grad():
        expected = functional_block(block, x, variant)
        assert_within_rounding(block(x), expected, dtype=torch.float64, ops=4,
                               terms=3 * kernel)


def test_timbre_branch_matches_a_functional_reference():
    """Pad time with 1e-6 ('same'), convolve, max over the remaining rows and 4-frame groups."""
    branch = TimbreBranch(n_bins=40, freq_kernel=25, time_kernel=4, channels=3).double()
    init_weights_(branch, generator=seeded(27))
    feature = randn(2, 1, 40, 23, seed=28, dtype=torch.float64)
    padded = F.pad(feature, (2, 1), value=1e-6)
    conv = F.conv2d(padded, branch.conv.weight, branch.conv.bias)     # (2, 3, 16, 23)
    expected = conv.amax(dim=2)[..., :20].unflatten(-1, (5, 4)).amax(dim=-1)
    with torch.no_grad():
        torch.testing.assert_close(branch(feature), expected, rtol=0.0, atol=0.0)


# ---------------------------------------------------------------- shapes, batches, silence

def test_mee_output_shapes(mee):
    for length, channels in ((mee.min_length, 1), (mee.min_length + 777, 2)):
        with torch.no_grad():
            out = mee(randn(2, channels, length, seed=length))
        assert out.shape == (2, 2048) and bool(torch.isfinite(out).all())


@pytest.mark.parametrize("name", ["te", "tfe"])
@pytest.mark.parametrize("sample_rate", [44100, 22050])
def test_cqt_encoder_output_shapes(name, sample_rate):
    encoder = seeded_encoder(build(name, sample_rate=sample_rate))
    lengths = torch.randint(encoder.min_length, 3 * encoder.min_length, (2,),
                            generator=seeded(4)).tolist()
    for length in (encoder.min_length, *lengths):
        with torch.no_grad():
            out = encoder(randn(3, 2, length, seed=length))
        assert out.shape == (3, encoder.out_dim) and bool(torch.isfinite(out).all())


@pytest.mark.parametrize("variant", ["beafx", "koo"])
def test_narrow_mee_takes_any_length_above_the_minimum(variant):
    encoder = seeded_encoder(MEE(variant=variant, **NARROW))
    lengths = torch.randint(encoder.min_length, 2 * encoder.min_length, (3,),
                            generator=seeded(5)).tolist()
    for length in lengths:
        assert encoder(randn(2, 2, length, seed=length)).shape == (2, 2)


def test_mee_items_are_independent_in_eval_mode(mee):
    x = randn(3, 1, mee.min_length + 100, seed=6)
    with torch.no_grad():
        assert_items_match_single_calls(mee, x, **MEE_GROWTH)


@pytest.mark.parametrize("cls", [TE, TFE])
def test_cqt_encoder_items_are_independent_in_eval_mode(cls):
    encoder = seeded_encoder(cls()).double()
    x = randn(3, 2, 90_000, seed=7, dtype=torch.float64)
    with torch.no_grad():
        assert_items_match_single_calls(encoder, x, **cqt_growth(encoder, x))


def test_training_mode_mixes_the_batch_through_batch_norm():
    """The counterpart of the eval-mode tests: they would catch a batch norm left in
    training mode."""
    encoder = seeded_encoder(TFE()).train()
    x = randn(3, 1, 90_000, seed=8)
    with torch.no_grad():
        assert not torch.allclose(encoder(x)[:2], encoder(x[:2]), atol=1e-3)


def assert_finite_gradients(encoder: torch.nn.Module, x: torch.Tensor) -> None:
    x = x.clone().requires_grad_(True)
    out = encoder(x)
    assert bool(torch.isfinite(out).all())
    out.square().sum().backward()
    assert bool(torch.isfinite(x.grad).all())
    for name, p in encoder.named_parameters():
        assert p.grad is not None and bool(torch.isfinite(p.grad).all()), name
    encoder.zero_grad(set_to_none=True)


@pytest.mark.parametrize("make", [lambda: TE(), lambda: TFE(), lambda: MEE(**NARROW),
                                  lambda: MEE(variant="koo", **NARROW)],
                         ids=["te", "tfe", "mee", "mee-koo"])
def test_silence_gives_finite_outputs_and_gradients(make):
    encoder = seeded_encoder(make()).train()
    length = max(encoder.min_length, 90_000)
    for x in (torch.zeros(2, 1, length),
              torch.cat([torch.zeros(1, 1, length), randn(1, 1, length, seed=9)])):
        assert_finite_gradients(encoder, x)


def test_full_mee_silence_gives_finite_outputs_and_gradients(mee):
    assert_finite_gradients(mee, torch.zeros(1, 1, mee.min_length))


# ---------------------------------------------------------------- peak normalisation

def test_peak_normalize():
    x = randn(3, 2, 500, seed=10) * torch.tensor([2.0, 1e-6, 0.0]).reshape(3, 1, 1)
    x.requires_grad_(True)
    y = peak_normalize(x)
    peaks = y.detach().abs().amax(dim=(1, 2))
    assert peaks[0] == 1.0                                   # x / max|x|
    p = float(x[1].detach().abs().max())                     # below the 1e-5 floor
    assert_within_rounding(peaks[1], (p / 1e-5) ** 2, ops=3)
    assert peaks[2] == 0.0
    y.sum().backward()
    assert bool(torch.isfinite(x.grad).all()) and bool((x.grad[2] == 0).all())


def test_mee_output_does_not_depend_on_the_input_level(mee):
    x = randn(2, 1, mee.min_length, seed=11)
    with torch.no_grad():
        loud, quiet = mee(x), mee(0.3 * x)
    torch.testing.assert_close(quiet, loud, rtol=0.0,
                               atol=2 * rounding_tol(loud, **MEE_GROWTH))
    assert not torch.allclose(quiet, 0.3 * loud, atol=1e-3)  # not merely homogeneous


@pytest.mark.parametrize("cls", [TE, TFE])
def test_cqt_encoder_output_does_not_depend_on_the_input_level(cls):
    encoder = seeded_encoder(cls()).double()
    x = randn(2, 1, 90_000, seed=12, dtype=torch.float64)
    with torch.no_grad():
        loud, quiet = encoder(x), encoder(0.3 * x)
    torch.testing.assert_close(quiet, loud, rtol=0.0,
                               atol=rounding_tol(loud, **cqt_growth(encoder, x)))


def test_input_dtype_follows_the_encoder():
    encoder = seeded_encoder(TE())
    x = randn(2, 1, 20_000, seed=13, dtype=torch.float64)
    assert encoder(x).dtype == torch.float32
    assert encoder.double()(x).dtype == torch.float64


# ---------------------------------------------------------------- TE's channel overwrite bug

def reference_assembly(outputs: list[torch.Tensor], channels: int) -> torch.Tensor:
    """BE-AFX's ParallelTimbre_Conv2d.forward as written: the write index never advances."""
    batch, _, time = outputs[0].shape
    y = torch.zeros(batch, channels, time, dtype=outputs[0].dtype)
    channel_idx = 0
    for out in outputs:
        y[:, channel_idx:channel_idx + out.shape[1]] = out
    return y


def test_te_bug_flag_reproduces_the_reference_overwrite():
    buggy = seeded_encoder(TE(reproduce_channel_overwrite_bug=True))
    fixed = seeded_encoder(TE())
    x = randn(2, 1, 30_000, seed=14)
    with torch.no_grad():
        feature = fixed.cqt(peak_normalize(x))
        outputs = [branch(feature) for branch in fixed.branches]
        torch.testing.assert_close(buggy.branch_features(feature),
                                   reference_assembly(outputs, 66), rtol=0.0, atol=0.0)
        torch.testing.assert_close(fixed.branch_features(feature), torch.cat(outputs, dim=1),
                                   rtol=0.0, atol=0.0)
        with_bug, without = buggy(x), fixed(x)
    assert bool((with_bug[:, 10:] == 0).all()) and bool((with_bug[:, :10] != 0).all())
    assert bool((without[:, 10:] != 0).any(dim=0).all())


@pytest.mark.parametrize("bug", [True, False])
def test_te_bug_leaves_the_tall_branches_without_gradient(bug):
    encoder = seeded_encoder(TE(reproduce_channel_overwrite_bug=bug)).train()
    encoder(randn(2, 1, 30_000, seed=15)).square().sum().backward()
    silent = [b.conv.weight.grad is None or float(b.conv.weight.grad.abs().max()) == 0.0
              for b in encoder.branches]
    # with the bug, the 85- and 51-bin branches and 25×5 (overwritten by 25×7) are unused
    assert silent == ([True] * 8 + [False, False, True, False] if bug else [False] * 12)


# ---------------------------------------------------------------- the log-CQT front end

def music_like(samples: int, sample_rate: float, seed: int) -> torch.Tensor:
    """``(2, 1, samples)`` float64: two tones with harmonics over quiet noise."""
    t = torch.arange(samples, dtype=torch.float64) / sample_rate
    tones = [sum(torch.sin(2 * math.pi * f * h * t) / h for h in range(1, 5)) for f in (110, 440)]
    noise = randn(2, 1, samples, seed=seed, dtype=torch.float64, scale=0.01)
    return torch.stack(tones).unsqueeze(1) * 0.2 + noise


@pytest.mark.parametrize("sample_rate, kwargs", [
    (44100, {}), (22050, {}), (48000, dict(fmin=60.0, n_bins=180, bins_per_octave=24))])
def test_cqt_equals_nnaudio_cqt1992v2(sample_rate, kwargs):
    """In float64 the trimmed kernels give CQT1992v2's sums to rounding; in float32 the two
    agree within float32 rounding, far inside the 1e-3 (relative to the peak) criterion."""
    ours = LogCQT(sample_rate, **kwargs)
    reference = nnAudio.features.CQT1992v2(
        sr=sample_rate, fmin=ours.fmin, n_bins=ours.n_bins,
        bins_per_octave=ours.bins_per_octave, verbose=False)
    x = music_like(30_000, sample_rate, seed=16)
    expected = reference.double()(x.double())                       # (2, n_bins, frames)
    assert ours.magnitude(x).shape == (2, 1, ours.n_bins, 30_000 // 512 + 1)
    growth = dict(terms=ours.kernel_width, ops=3)
    assert_within_rounding(ours.double().magnitude(x)[:, 0], expected, dtype=torch.float64,
                           **growth)
    ours32 = ours.float().magnitude(x.float())[:, 0]
    assert_within_rounding(ours32, expected, **growth)
    assert float((ours32 - reference.float()(x.float())).abs().max() / expected.max()) < 1e-3
    torch.testing.assert_close(ours.double()(x)[:, 0], torch.log(expected + LOG_EPS),
                               rtol=0.0, atol=1e-6)  # MAGNITUDE_EPS moves ln(|C| + 1e-6) ≤ 1e-6


@pytest.mark.parametrize("sample_rate", [44100, 22050])
@pytest.mark.parametrize("k", [12, 50, 100])
def test_a_sine_peaks_in_its_bin(sample_rate, k):
    """Bin k is at 32.70·2^(k/12) Hz scaled by sample_rate/44100."""
    freq = 32.70 * sample_rate / 44100 * 2 ** (k / 12)
    t = torch.arange(2 * sample_rate, dtype=torch.float64) / sample_rate
    x = torch.sin(2 * math.pi * freq * t).reshape(1, 1, -1)
    feature = LogCQT(sample_rate).double()(x)[0, 0]
    assert int(feature[:, 40:-40].mean(dim=1).argmax()) == k


def test_cqt_checks_its_arguments():
    with pytest.raises(ValueError, match=r"fmin=32\.7 Hz .* below the Nyquist frequency 11025"):
        LogCQT(22050, fmin=32.7)
    for kwargs, name in ((dict(n_bins=0), "n_bins"), (dict(hop_length=0), "hop_length"),
                         (dict(fmin=-1.0), "fmin"), (dict(sample_rate=0), "sample_rate"),
                         (dict(bins_per_octave=1.5), "bins_per_octave")):
        with pytest.raises(ValueError, match=name):
            LogCQT(**kwargs)
    cqt = LogCQT()
    with pytest.raises(ValueError, match=r"x must hold at least 11341 samples \(the CQT"):
        cqt(torch.zeros(1, 1, 11_340))


def test_cqt_kernels_are_rebuilt_not_saved():
    cqt = LogCQT()
    assert cqt.state_dict() == {} and n_params(cqt) == 0
    assert LogCQT().load_state_dict(cqt.state_dict()) is not None


# ---------------------------------------------------------------- initialisation

def test_reset_parameters_is_reproducible_and_kaiming(mee):
    first, second = TFE(), TFE()
    first.reset_parameters(generator=seeded(17))
    second.reset_parameters(generator=seeded(17))
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values(),
                            strict=True):
        assert torch.equal(a, b), name
    conv = mee.blocks[11].conv1[1]                  # 2048 × 2048 × 5 weights
    std = float(conv.weight.detach().std())
    assert abs(std / math.sqrt(2 / (2048 * 5)) - 1) < 0.01
    assert bool((conv.bias == 0).all())
    assert all(float(m.weight.detach()) == 0.25 for m in mee.modules()
               if isinstance(m, torch.nn.PReLU))


# ---------------------------------------------------------------- the MLP head

def test_mlp_head_shapes_range_and_layers():
    head = MLPHead(128, 7)
    head.reset_parameters(generator=seeded(18))
    kinds = [type(m).__name__ for m in head.layers]
    assert kinds == ["Linear", "BatchNorm1d", "PReLU"] * 3
    assert [m.num_parameters for m in head.layers if isinstance(m, torch.nn.PReLU)] == [1] * 3
    z = randn(5, 128, seed=19, scale=30.0)
    q = head(z)
    assert q.shape == (5, 7) and bool(((q >= 0) & (q <= 1)).all())
    bare = MLPHead(4, 2, hidden=())
    z4 = randn(3, 4, seed=20)
    torch.testing.assert_close(bare(z4), torch.sigmoid(z4 @ bare.out.weight.T + bare.out.bias))


def test_mlp_head_batch_norm_uses_batch_statistics_in_training_only():
    head = MLPHead(16, 3, hidden=(32,))
    head.reset_parameters(generator=seeded(21))
    z = randn(6, 16, seed=22, scale=5.0) + 3.0
    normalised = head.layers[1](head.layers[0](z))       # training mode: batch statistics
    torch.testing.assert_close(normalised.mean(dim=0), torch.zeros(32), rtol=0.0, atol=1e-5)
    assert float(head.layers[1].running_mean.abs().max()) > 0  # running statistics updated
    head.eval()
    with torch.no_grad():
        assert_items_match_single_calls(head, z, terms=32)
        assert head(z[:1]).shape == (1, 3)


def test_mlp_head_checks_its_arguments():
    for kwargs, name in ((dict(in_dim=0, num_params=3), "in_dim"),
                         (dict(in_dim=4, num_params=0), "num_params"),
                         (dict(in_dim=4, num_params=3, hidden=(8, 0)), r"hidden\[1\]"),
                         (dict(in_dim=4, num_params=3, hidden="8"), "hidden")):
        with pytest.raises(ValueError, match=name):
            MLPHead(**kwargs)
    head = MLPHead(4, 3, hidden=(8,))
    with pytest.raises(ValueError, match=r"z must have shape \(batch, 4\), got \(2, 5\)"):
        head(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="z contains NaN"):
        head(torch.full((2, 4), math.nan))
    with pytest.raises(ValueError, match="z must hold at least 2 items in training mode"):
        head(torch.zeros(1, 4))


# ---------------------------------------------------------------- build() and bad input

def test_build_names_and_dims():
    assert db.encoders.MLPHead is MLPHead
    with torch.device("meta"):
        koo = build("mee", sample_rate=48000, variant="koo")
    assert isinstance(koo, MEE) and koo.variant == "koo" and koo.out_dim == 2048
    assert koo.sample_rate == 48000
    te = build("te", reproduce_channel_overwrite_bug=True)
    assert isinstance(te, TE) and te.reproduce_channel_overwrite_bug and te.out_dim == 66
    tfe = build("tfe", sample_rate=22050)
    assert isinstance(tfe, TFE) and tfe.out_dim == 128 and tfe.cqt.fmin == 32.70 / 2
    with pytest.raises(ValueError, match=r"name must be one of \('mee', 'te', 'tfe'\), got 'cnn'"):
        build("cnn")
    with pytest.raises(ValueError, match="sample_rate"):
        build("tfe", sample_rate=-1)


def test_bad_input_names_the_argument():
    te = seeded_encoder(TE())
    cases = [(torch.zeros(20_000), "x must have shape"),
             (torch.full((2, 1, 20_000), math.nan), "x contains NaN"),
             (torch.zeros(2, 1, 20_000, dtype=torch.int32), "x must be float")]
    for x, message in cases:
        with pytest.raises(ValueError, match=message):
            te(x)
    with pytest.raises(ValueError, match="x must hold at least 2 items in training mode"):
        te.train()(torch.zeros(1, 1, 20_000))
    koo = seeded_encoder(MEE(variant="koo", **NARROW))
    with pytest.raises(ValueError, match="x must have 1 or 2 channels for MEE, got 3"):
        koo(torch.zeros(2, 3, 10_000))


def test_bad_constructor_arguments_name_the_argument():
    for make, name in ((lambda: MEE(variant="stereo"), "variant"),
                       (lambda: MEE(kernels=(5, 5), channels=(2,), strides=(1,)), "kernels"),
                       (lambda: MEE(channels=(2,) * 11 + (0,)), r"channels\[11\]"),
                       (lambda: TE(n_bins=84), "n_bins"),
                       (lambda: TFE(n_bins=36), "n_bins"),
                       (lambda: TFE(sample_rate=True), "sample_rate")):
        with pytest.raises(ValueError, match=name):
            make()
    assert STRIDES == (4, 4, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1)
