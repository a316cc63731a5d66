"""The Giannoulis compressor against a plain per-sample loop, and its custom gradient."""

import math

import numpy as np
import pytest
import torch
from _signals import randn, seeded
from _tolerances import (
    COMPRESSOR_GAIN_OPS,
    assert_items_match_single_calls,
    assert_within_rounding,
)

from dasp_blind.functional.dynamics import compressor

FS = 44100.0


def loop_compressor(x, fs, threshold, ratio, attack_ms, release_ms, knee, makeup, detector=None):
    """Plain per-sample reference, written from the formulas (float64 numpy).

    ``detector`` (batch, any channels, samples) is what the level is read from (``x`` if None).
    """
    batch, _, length = x.shape
    detector = x if detector is None else detector
    y = np.zeros_like(x)
    for b in range(batch):
        a_att = math.exp(-1 / (attack_ms[b] * 1e-3 * fs))
        a_rel = math.exp(-1 / (release_ms[b] * 1e-3 * fs))
        t, r, w, m = threshold[b], ratio[b], knee[b], makeup[b]
        prev = 0.0
        for n in range(length):
            x_g = 20 * math.log10(max(np.abs(detector[b, :, n]).max(), 1e-4))
            if 2 * (x_g - t) < -w:
                y_g = x_g
            elif abs(2 * (x_g - t)) <= w and w > 0:
                y_g = x_g + (1 / r - 1) * (x_g - t + w / 2) ** 2 / (2 * w)
            else:
                y_g = t + (x_g - t) / r if 2 * (x_g - t) > w else x_g
            x_l = x_g - y_g
            alpha = a_att if x_l > prev else a_rel
            prev = alpha * prev + (1 - alpha) * x_l
            y[b, :, n] = x[b, :, n] * 10 ** ((m - prev) / 20)
    return y


def random_settings(gen, batch):
    def u(lo, hi):
        return lo + (hi - lo) * torch.rand(batch, generator=gen, dtype=torch.float64)

    return dict(threshold_db=u(-40, 0), ratio=u(2, 10), attack_ms=u(1, 60),
                release_ms=u(10, 500), knee_db=torch.tensor([0.0, 6.0, 12.0, 3.0][:batch],
                                                              dtype=torch.float64),
                makeup_db=u(0, 20))


@pytest.mark.parametrize("channels", [1, 2])
def test_matches_plain_loop(channels):
    gen = seeded(0)
    env = torch.linspace(0.02, 1.0, 4000, dtype=torch.float64) ** 2
    x = torch.randn(4, channels, 4000, generator=gen, dtype=torch.float64) * env
    settings = random_settings(gen, 4)
    y = compressor(x, FS, **settings)
    ref = loop_compressor(x.numpy(), FS, *[v.numpy() for v in settings.values()])
    assert np.abs(y.numpy() - ref).max() < 1e-5


def test_stereo_channels_share_one_gain():
    left = randn(1, 1, 2000, seed=1, dtype=torch.float64)
    x = torch.cat([left, 0.1 * left], dim=1)
    y = compressor(x, FS, -20.0, 4.0, 5.0, 50.0)
    ratio = y[:, 0] / x[:, 0]
    assert torch.allclose(y[:, 1] / x[:, 1], ratio)
    # the detector follows the louder channel: same as compressing the left channel alone
    assert torch.allclose(y[:, :1], compressor(left, FS, -20.0, 4.0, 5.0, 50.0))


@pytest.mark.parametrize("knee_db", [6.0, 0.0])
def test_gradcheck_all_inputs(knee_db):
    """Gradients w.r.t. audio and every parameter (knee only where it is not 0)."""
    x = randn(2, 2, 200, seed=2, dtype=torch.float64, scale=0.5).requires_grad_(True)
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True)
              for v in ([-20.0, -15.0], [4.0, 3.0], [5.0, 2.0], [50.0, 20.0], [2.0, 1.0],
                        [knee_db, knee_db / 2])]
    if knee_db > 0:
        def fn(x, t, r, a, rel, m, w):
            return compressor(x, FS, t, r, a, rel, knee_db=w, makeup_db=m)
    else:
        params = params[:5]

        def fn(x, t, r, a, rel, m):
            return compressor(x, FS, t, r, a, rel, knee_db=0.0, makeup_db=m)
    assert torch.autograd.gradcheck(fn, (x, *params), atol=1e-5, rtol=1e-3)


def test_finite_on_silence_and_range_edges():
    for x in (torch.zeros(2, 2, 512), randn(2, 2, 512, seed=8, scale=0.5)):
        x = x.clone().requires_grad_(True)
        params = [torch.tensor(v, requires_grad=True) for v in
                  ([-40.0, 0.0], [2.0, 10.0], [1.0, 60.0], [10.0, 500.0], [0.0, 12.0],
                   [0.0, 20.0])]
        y = compressor(x, FS, *params)
        assert torch.isfinite(y).all()
        (y.square().sum() + y.sum()).backward()
        assert torch.isfinite(x.grad).all()
        assert all(torch.isfinite(p.grad).all() for p in params)
    silent = compressor(torch.zeros(1, 1, 64), FS, -20.0, 4.0, 5.0, 50.0, makeup_db=6.0)
    assert torch.all(silent == 0)


def test_threshold_below_level_floor_gives_finite_zero_detector_gradient():
    """At threshold −100 dB silence (floored at −80 dB) is compressed; the floor has no slope."""
    x = torch.zeros(1, 2, 256, dtype=torch.float64)
    x[..., 128:] = randn(1, 2, 128, seed=5, scale=0.3)
    x.requires_grad_(True)
    threshold = torch.tensor([-100.0], dtype=torch.float64, requires_grad=True)
    y = compressor(x, FS, threshold, 4.0, 5.0, 50.0)
    y.square().sum().backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(threshold.grad).all()
    assert torch.all(x.grad[..., :128] == 0)  # y = 0·gain there and the level is floored
    assert threshold.grad.abs() > 0


def test_ratio_one_and_quiet_signal_are_identity_up_to_makeup():
    x = randn(1, 1, 1000, seed=3, scale=0.5)
    # ratio 1: no reduction, the gain is exp(0); below the threshold it is exp(makeup) alone
    assert_within_rounding(compressor(x, FS, -30.0, 1.0, 5.0, 50.0), x)
    quiet = 1e-3 * x
    assert_within_rounding(compressor(quiet, FS, -20.0, 8.0, 5.0, 50.0, makeup_db=6.0),
                           quiet.double() * 10 ** (6 / 20), ops=2)


def test_steady_state_gain_follows_static_curve():
    t = torch.arange(int(FS)) / FS
    tone = 0.5 * torch.sin(2 * math.pi * 1000 * t).reshape(1, 1, -1)  # peak -6 dB
    y = compressor(tone.double(), FS, -20.0, 4.0, 1.0, 10.0)
    # the detector is the instantaneous |x|: at the peaks, y_G = T + (x_G - T)/R
    out_peak_db = 20 * math.log10(float(y[..., -4410:].abs().max()))
    assert out_peak_db < -6.0 - 0.5 * (14 - 14 / 4)  # at least half the static reduction


def test_batch_items_equal_single_calls_dtype_preserved():
    x = randn(3, 2, 3000, seed=4)
    thr = torch.tensor([-10.0, -20.0, -30.0])

    def run(audio, threshold):
        return compressor(audio, FS, threshold, 4.0, 5.0, 50.0, 6.0, 3.0)

    y = assert_items_match_single_calls(run, x, thr, ops=COMPRESSOR_GAIN_OPS)
    assert y.dtype == torch.float32 and y.shape == x.shape
    y64 = run(x.double(), thr.double())
    assert y64.dtype == torch.float64
    assert_within_rounding(y, y64, ops=COMPRESSOR_GAIN_OPS)


def test_bad_input():
    x = torch.zeros(2, 1, 100)
    with pytest.raises(ValueError, match="ratio"):
        compressor(x, FS, -20.0, 0.5, 5.0, 50.0)
    with pytest.raises(ValueError, match="attack_ms"):
        compressor(x, FS, -20.0, 4.0, 0.0, 50.0)
    with pytest.raises(ValueError, match="knee_db"):
        compressor(x, FS, -20.0, 4.0, 5.0, 50.0, knee_db=-1.0)
    with pytest.raises(ValueError, match="batch size"):
        compressor(x, FS, torch.zeros(3), 4.0, 5.0, 50.0)
    with pytest.raises(ValueError, match="sample_rate"):
        compressor(x, 0, -20.0, 4.0, 5.0, 50.0)
    with pytest.raises(ValueError, match="NaN"):
        compressor(torch.full((1, 1, 8), float("nan")), FS, -20.0, 4.0, 5.0, 50.0)
    with pytest.raises(ValueError, match="rank"):
        compressor(torch.zeros(1, 8), FS, -20.0, 4.0, 5.0, 50.0)
    with pytest.raises(ValueError, match="sidechain"):
        compressor(x, FS, -20.0, 4.0, 5.0, 50.0, sidechain=torch.zeros(2, 1, 99))
    with pytest.raises(ValueError, match="sidechain"):
        compressor(x, FS, -20.0, 4.0, 5.0, 50.0, sidechain=torch.zeros(2, 99))
    with pytest.raises(ValueError, match="lookahead_ms"):
        compressor(x, FS, -20.0, 4.0, 5.0, 50.0, lookahead_ms=-1.0)


def test_sidechain_matches_plain_loop_and_gets_gradients():
    gen = seeded(6)
    x = torch.randn(4, 1, 3000, generator=gen, dtype=torch.float64) * 0.3
    kick = torch.randn(4, 2, 3000, generator=gen, dtype=torch.float64)
    kick *= (torch.arange(3000) % 1000 >= 800).double()  # silent, then bursts
    settings = random_settings(gen, 4)
    y = compressor(x, FS, **settings, sidechain=kick)
    ref = loop_compressor(x.numpy(), FS, *[v.numpy() for v in settings.values()],
                          detector=kick.numpy())
    assert np.abs(y.numpy() - ref).max() < 1e-5
    # x is not compressed before the first burst, only after it starts
    gain = (y / x)[:, 0]
    makeup = 10 ** (settings["makeup_db"][:, None] / 20)
    assert torch.allclose(gain[:, :800], makeup.expand(-1, 800))
    assert torch.all(gain[:, 850:1000] < makeup)
    small = [t[:1, :, :120].clone().requires_grad_(True) for t in (x, kick)]
    assert torch.autograd.gradcheck(
        lambda a, s: compressor(a, FS, -25.0, 4.0, 1.0, 10.0, 6.0, sidechain=s), small,
        atol=1e-5, rtol=1e-3)


def test_sidechain_equal_to_input_is_the_plain_compressor():
    base = randn(2, 2, 1000, seed=7, dtype=torch.float64, scale=0.5)
    grads = []
    for use_sidechain in (False, True):
        x = base.clone().requires_grad_(True)
        y = compressor(x, FS, -20.0, 4.0, 2.0, 30.0, 6.0, sidechain=x if use_sidechain else None)
        y.square().sum().backward()
        grads.append((y.detach(), x.grad))
    assert torch.allclose(grads[0][0], grads[1][0], rtol=0, atol=1e-14)
    assert torch.allclose(grads[0][1], grads[1][1], rtol=1e-12, atol=1e-12)


def test_lookahead_reads_the_detector_early():
    length, shift = 2000, 44  # 1 ms at 44.1 kHz
    x = torch.zeros(1, 1, length, dtype=torch.float64)
    x[..., 1000:] = 0.9  # a step: the gain reduction starts at the onset...
    y_plain = compressor(x + 0.01, FS, -20.0, 4.0, 1.0, 50.0)
    y_ahead = compressor(x + 0.01, FS, -20.0, 4.0, 1.0, 50.0, lookahead_ms=1.0)

    def reduced(y):
        return ((y / (x + 0.01))[0, 0] < 0.99).nonzero()[0, 0].item()

    assert reduced(y_plain) == 1000
    assert reduced(y_ahead) == 1000 - shift  # ...or 1 ms earlier
    shifted = torch.nn.functional.pad((x + 0.01)[..., shift:], (0, shift))
    assert torch.equal(y_ahead, compressor(x + 0.01, FS, -20.0, 4.0, 1.0, 50.0,
                                           sidechain=shifted))
