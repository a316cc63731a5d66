"""Input rules and range edges found by fuzzing (issue 7, item 2): half precision, empty audio,
silence through a normalising chain, long time constants, long LFOs, the polynomial shapers'
domain, bool sample rates, seeds and the precision of biquad design."""

import inspect
import math

import numpy as np
import pytest
import scipy.signal
import torch

import dasp_blind.effects as fx
import dasp_blind.functional as F
from dasp_blind._checks import check_audio, check_integer_rate, check_sample_rate
from dasp_blind.data.clips import SyntheticClips
from dasp_blind.data.pairs import EffectPairDataset
from dasp_blind.data.synthetic import synthetic_music
from dasp_blind.effects.chain import PEAK_FLOOR
from dasp_blind.functional.filters import MAX_FFT_TAIL

FS = 44100
F32, F64 = torch.float32, torch.float64
EPS32 = torch.finfo(F32).eps


def audio(batch=2, channels=2, samples=2048, seed=0, dtype=F32, scale=0.5):
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(batch, channels, samples, generator=g, dtype=dtype)


def peak_sos():
    return F.biquads_to_sos([F.biquad("peak", 1000.0, 6.0, 1.0, FS),
                             F.biquad("low_shelf", 100.0, -4.0, 0.7, FS)])


# Every public functional op that takes audio, called on x with valid parameters.
AUDIO_OPS = {
    "chebyshev": lambda x: F.chebyshev(x, torch.full((1, 6), 0.3)),
    "taylor": lambda x: F.taylor(x, torch.full((1, 6), 0.3)),
    "chorus": lambda x: F.chorus(x, FS, 1.5, 2.0, 10.0, 0.5),
    "clip_threshold_for_sdr": lambda x: F.clip_threshold_for_sdr(x, 10.0),
    "clip_to_sdr": lambda x: F.clip_to_sdr(x, 10.0),
    "compressor": lambda x: F.compressor(x, FS, -20.0, 4.0, 5.0, 50.0, 6.0, 3.0),
    "simple_compressor": lambda x: F.simple_compressor(x, FS, -20.0, 4.0, 20.0, 6.0, 3.0),
    "fft_sosfilt": lambda x: F.fft_sosfilt(x, peak_sos()),
    "sosfilt": lambda x: F.sosfilt(x, peak_sos()),
    "fractional_delay": lambda x: F.fractional_delay(x, 3.25),
    "hard_clip": lambda x: F.hard_clip(x, 6.0, 0.8),
    "soft_clip": lambda x: F.soft_clip(x, 6.0, 0.8),
    "parametric_clipper": lambda x: F.parametric_clipper(x, 12.0, 0.2, 0.5),
    "sox_overdrive": lambda x: F.sox_overdrive(x, 20.0, 20.0),
    "tremolo": lambda x: F.tremolo(x, FS, 5.0, 0.7),
    "remove_dc_and_peak_normalize": fx.remove_dc_and_peak_normalize,
}


def test_audio_ops_table_covers_the_functional_api():
    """Every public function whose first argument is the audio ``x`` is in the table."""
    takes_audio = {name for name in F.__all__ if callable(getattr(F, name))
                   and next(iter(inspect.signature(getattr(F, name)).parameters), None) == "x"}
    assert takes_audio == set(AUDIO_OPS) - {"remove_dc_and_peak_normalize"}


def effects_with_defaults():
    """Every effect of ``dasp_blind.effects.__all__``, built with its defaults (a Chain of three
    for ``Chain``)."""
    out = {}
    for name in fx.__all__:
        cls = getattr(fx, name)
        if not (isinstance(cls, type) and issubclass(cls, fx.Effect)) or cls is fx.Effect:
            continue
        if cls is fx.Chain:
            out[name] = fx.Chain({"eq": fx.ParametricEQ(FS), "comp": fx.Compressor(FS),
                                  "clip": fx.ChebyshevClipper(FS)}, normalize="peak")
        else:
            out[name] = cls(FS)
    return out


EFFECTS = effects_with_defaults()


# --- half precision ---------------------------------------------------------------------------

def assert_half_matches_float32(y_half, y_ref, dtype):
    """``y_half`` is in ``dtype``, finite, and equals the float32 result rounded to ``dtype``
    (to within one rounding: the computation itself runs in float32)."""
    assert y_half.dtype == dtype
    assert bool(torch.isfinite(y_half).all())
    eps = torch.finfo(dtype).eps
    scale = float(y_ref.abs().max()) + 1e-30
    assert torch.allclose(y_half.float(), y_ref, rtol=eps, atol=eps * scale)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", sorted(AUDIO_OPS))
def test_functional_ops_compute_half_in_float32(name, dtype):
    x = audio().to(dtype)
    op = AUDIO_OPS[name]
    assert_half_matches_float32(op(x), op(x.float()), dtype)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", sorted(EFFECTS))
def test_effects_compute_half_in_float32(name, dtype):
    effect = EFFECTS[name]
    x = audio(batch=2, channels=1).to(dtype)
    q = effect.param_space.sample(2, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        y, ref = effect(x, q), effect(x.float(), q)
    assert_half_matches_float32(y, ref, dtype)


def test_half_gradients_reach_the_half_input():
    x = audio(batch=1, channels=1).to(torch.bfloat16).requires_grad_(True)
    fx.ChebyshevClipper(FS)(x, torch.full((1, 24), 0.5)).square().sum().backward()
    assert x.grad.dtype == torch.bfloat16 and bool(torch.isfinite(x.grad).all())


def test_lfo_like_half_is_computed_in_float32():
    y = F.lfo(1000, FS, 3.0, like=torch.empty(0, dtype=torch.float16))
    ref = F.lfo(1000, FS, 3.0)
    assert_half_matches_float32(y, ref, torch.float16)


# --- empty audio ------------------------------------------------------------------------------

EMPTY_SHAPES = [(0, 1, 256), (2, 0, 256), (2, 1, 0)]
EMPTY_MESSAGE = r"x must hold at least one item, one channel and one sample, got shape"


@pytest.mark.parametrize("shape", EMPTY_SHAPES)
@pytest.mark.parametrize("name", sorted(AUDIO_OPS))
def test_functional_ops_reject_empty_audio(name, shape):
    with pytest.raises(ValueError, match=EMPTY_MESSAGE):
        AUDIO_OPS[name](torch.zeros(shape))


@pytest.mark.parametrize("shape", EMPTY_SHAPES)
@pytest.mark.parametrize("name", sorted(EFFECTS))
def test_effects_reject_empty_audio(name, shape):
    effect = EFFECTS[name]
    q = effect.param_space.default(max(shape[0], 1))[: shape[0]]
    with pytest.raises(ValueError, match=EMPTY_MESSAGE):
        effect(torch.zeros(shape), q)
    with pytest.raises(ValueError, match=EMPTY_MESSAGE):
        effect.process(torch.zeros(shape))


# --- Chain(normalize="peak") on silence -------------------------------------------------------

def normalising_chain():
    """Five effects whose small-signal gain (max norm) is known, with fixed parameters."""
    chain = fx.Chain({"eq": fx.ParametricEQ(FS), "comp": fx.Compressor(FS),
                      "clip": fx.ParametricClipper(FS), "chorus": fx.Chorus(FS),
                      "gain": fx.Gain(FS)}, normalize="peak")
    params = {"eq.peak1.gain_db": 6.0, "eq.peak1.freq_hz": 500.0, "eq.high_shelf.gain_db": 4.0,
              "comp.makeup_db": 3.0, "clip.drive_db": 12.0, "clip.offset": 0.2,
              "chorus.mix": 0.7, "gain.gain_db": 6.0}
    return chain, params


def small_signal_gain(chain, params):
    """Upper bound ``G`` of the max-norm gain (and Lipschitz constant) of every effect of the
    chain on signals below the compressor's level floor (1e-4):

    * EQ: a linear filter, gain <= ``Σ|h|`` (impulse response by the exact recursion, with
      1 % margin for the part past 65536 samples, which has decayed by far more);
    * compressor: below its level floor and threshold the gain is the makeup, exactly;
    * parametric clipper: slope ``f'(g·x + o) <= 1`` for tanh, cubic and hard shapes;
    * chorus: ``(1 − mix) + mix = 1``;
    * gain: ``10^(gain_db/20)``.
    """
    eq = chain.effects["eq"]
    eq_params = eq.physical_params({k[3:]: v for k, v in params.items() if k.startswith("eq.")},
                                   torch.zeros(1, 1, 1, dtype=F64))
    impulse = torch.zeros(1, 1, 1 << 16, dtype=F64)
    impulse[..., 0] = 1.0
    h = F.sosfilt(impulse, eq.sos(eq_params))
    return max(1.01 * float(h.abs().sum()), F.db_to_gain(3.0), 1.0, F.db_to_gain(6.0))


def chain_grad(chain, params, x, w):
    x = x.clone().requires_grad_(True)
    y = chain.process(x, params)
    (y * w).sum().backward()
    return y, x.grad


@pytest.mark.parametrize("dtype", [F32, F64])
def test_chain_peak_normalisation_gives_silence_a_zero_gradient(dtype):
    chain, params = normalising_chain()
    w = torch.sign(audio(batch=1, channels=2, seed=5, dtype=dtype))
    y, grad = chain_grad(chain, params, torch.zeros(1, 2, 2048, dtype=dtype), w)
    # c·p/max(p, floor)² has a zero Jacobian at c = 0: silence stays silent, x.grad is 0
    # (it was 1e25, or NaN in float32, with centred/(peak + 1e-8)).
    assert torch.equal(y, torch.zeros_like(y))
    assert torch.equal(grad, torch.zeros_like(grad))


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("peak", [1e-14, 1e-13, 1e-12])
def test_chain_gradient_of_near_silence_is_bounded(dtype, peak):
    """Derived bound. Below the floor f each normaliser has max-norm Lipschitz constant
    ``4·p_k/f²`` (``p_k``: peak of its centred input) and output peak ``(p_k/f)²``; with ``G``
    the effects' small-signal gain, ``p_{k+1} <= 2·G·(p_k/f)²``. So ``r_k = 2·G·p_k/f²``
    satisfies ``r_{k+1} <= r_k²`` and, for ``r_1 < 1``, the chain's Lipschitz constant is at
    most ``Π_k 2·r_k <= 2^K·r_1``: ``‖x.grad‖₁ <= ‖w‖₁·2^K·r_1`` for the loss ``Σ w·y``."""
    chain, params = normalising_chain()
    g = small_signal_gain(chain, params)
    x = audio(batch=1, channels=2, seed=6, dtype=dtype)
    x = x - x.mean()
    x = x * (peak / x.abs().max())
    p1 = float(x.abs().max())
    r1 = 2 * g * p1 / PEAK_FLOOR**2
    assert r1 < 1 and (p1 / PEAK_FLOOR) ** 2 < 1e-4  # the regime of the bound
    w = torch.sign(audio(batch=1, channels=2, seed=7, dtype=dtype))
    y, grad = chain_grad(chain, params, x, w)
    bound = float(w.abs().sum()) * 2 ** len(chain.effects) * r1
    assert bool(torch.isfinite(grad).all())
    assert float(grad.abs().sum()) <= bound


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("peak", [0.0, 1e-30, 1e-9, 1e-7, 1e-6, 1e-5, 3e-5, 1e-3, 1.0])
def test_chain_gradients_stay_finite_from_silence_to_full_scale(dtype, peak):
    chain, params = normalising_chain()
    x = audio(batch=1, channels=2, seed=8, dtype=dtype)
    x = x * (peak / x.abs().max())
    w = torch.sign(audio(batch=1, channels=2, seed=9, dtype=dtype))
    y, grad = chain_grad(chain, params, x, w)
    assert bool(torch.isfinite(y).all()) and bool(torch.isfinite(grad).all())


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("peak", [1.01 * PEAK_FLOOR, 1e-4, 0.01, 1.0, 30.0])
def test_peak_normalisation_of_real_signals_is_the_reference(dtype, peak):
    x = audio(batch=3, dtype=dtype) + 0.1
    centred = x - x.mean(dim=(1, 2), keepdim=True)
    x = x * (peak / centred.abs().amax(dim=(1, 2), keepdim=True))  # centred peak: ``peak``
    y = fx.remove_dc_and_peak_normalize(x)
    centred = x - x.mean(dim=(1, 2), keepdim=True)
    reference = centred / centred.abs().amax(dim=(1, 2), keepdim=True)
    eps = torch.finfo(dtype).eps
    assert torch.allclose(y, reference, rtol=2 * eps, atol=2 * eps)
    assert torch.allclose(y.abs().amax(dim=(1, 2)), torch.ones(3, dtype=dtype), rtol=0,
                          atol=eps)


def test_peak_normalisation_below_the_floor_attenuates():
    x = audio(batch=1, dtype=F64)
    x = x - x.mean()
    x = x * (1e-7 / x.abs().max())
    y = fx.remove_dc_and_peak_normalize(x)
    assert math.isclose(float(y.abs().max()), (1e-7 / PEAK_FLOOR) ** 2, rel_tol=1e-12)
    with pytest.raises(ValueError, match="floor"):
        fx.remove_dc_and_peak_normalize(x, floor=0.0)


# --- simple_compressor: long time constants at high sample rates ------------------------------

def smoother_reference(x, sample_rate, threshold_db, ratio, time_constant_ms):
    """The simplified compressor (knee 0, makeup 0) with scipy's lfilter for the one-pole."""
    level = 20 * np.log10(np.abs(x).max(axis=0) + 1e-6)
    reduction = np.maximum(0.0, (1 - 1 / ratio) * (level - threshold_db))
    alpha = math.exp(-1.0 / (time_constant_ms * 1e-3 * sample_rate))
    smoothed = scipy.signal.lfilter([1 - alpha], [1.0, -alpha], reduction)
    return x * 10 ** (-smoothed / 20), smoothed


def test_simple_compressor_does_not_act_before_a_burst_at_192khz():
    fs, tau = 192000, 500.0
    n, start = 3 * fs, 3 * fs // 2  # quiet for 1.5 s, then a loud burst
    t = np.arange(n) / fs
    x = np.where(np.arange(n) < start, 1e-3, 0.9) * np.sin(2 * np.pi * 440.0 * t)
    y = F.simple_compressor(torch.from_numpy(x)[None, None], fs, -20.0, 4.0, tau, 0.0, 0.0)
    y = y[0, 0].numpy()
    ref, smoothed = smoother_reference(x[None], fs, -20.0, 4.0, tau)
    assert smoothed[:start].max() == 0.0 and smoothed[start:].max() > 5.0
    # Before the burst the output is the input (a wrapped tail reduced it by ~0.1 dB).
    assert np.abs(y[:start] - x[:start]).max() <= 1e-12 * np.abs(x[:start]).max()
    assert np.allclose(y, ref[0], rtol=1e-9, atol=1e-12)


def test_fft_sosfilt_runs_the_recursion_when_the_tail_is_too_long():
    alpha = math.exp(-1.0 / (5.0 * 192000))  # 5 s at 192 kHz: 13 M samples to decay 120 dB
    sos = torch.tensor([[[1 - alpha, 0, 0, 1.0, -alpha, 0]]], dtype=F64)
    assert F.decay_length(sos) > MAX_FFT_TAIL
    x = audio(batch=1, channels=1, samples=4096, dtype=F64)
    assert torch.allclose(F.fft_sosfilt(x, sos), F.sosfilt(x, sos), rtol=0, atol=1e-15)


# --- LFO phase over long signals --------------------------------------------------------------

def test_lfo_phase_stays_exact_in_float32_over_ten_minutes():
    fs, n = 8000, 10 * 60 * 8000
    y32 = F.lfo(n, fs, 4.3)
    y64 = F.lfo(n, fs, 4.3, like=torch.empty(0, dtype=F64))
    # Phase formed in float64 and wrapped: error = rounding of the wrapped phase (eps/2 · 2π)
    # plus float32 sin (1 ulp): a few eps. It was 2e4 eps (rate·t in float32).
    assert float((y32.double() - y64).abs().max()) <= 8 * EPS32


def test_long_float32_tremolo_and_chorus_agree_with_float64():
    fs, n = 2000, 10 * 60 * 2000
    x = torch.randn(1, 1, n, generator=torch.Generator().manual_seed(11))
    for op in (lambda v: F.tremolo(v, fs, 4.3, 0.8),
               lambda v: F.chorus(v, fs, 3.7, 5.0, 30.0, 0.5)):
        y32, y64 = op(x).double(), op(x.double())
        snr = 10 * math.log10(float(y64.square().sum() / (y32 - y64).square().sum()))
        # Sample-wise errors of a few float32 eps: an SNR of about 20·log10(1/(8·eps)) ≈ 120 dB.
        assert snr >= 20 * math.log10(1 / (8 * EPS32))


# --- polynomial shapers: domain [-1, 1] -------------------------------------------------------

@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("shaper", [F.taylor, F.chebyshev])
def test_polynomial_shapers_stay_finite_for_huge_inputs(shaper, dtype):
    levels = torch.tensor([-1e6, -1e3, -40.0, -1.0, -0.5, 0.0, 0.5, 1.0, 40.0, 1e3, 1e6],
                          dtype=dtype)
    x = levels.reshape(1, 1, -1).requires_grad_(True)
    c = torch.linspace(-1, 1, 24, dtype=dtype).reshape(1, -1).requires_grad_(True)
    y = shaper(x, c)
    y.sum().backward()
    y = y.detach()
    assert bool(torch.isfinite(y).all()) and float(y.abs().max()) <= float(c.detach().abs().sum())
    assert bool(torch.isfinite(x.grad).all()) and bool(torch.isfinite(c.grad).all())
    # Outside [-1, 1] the input is clamped: the output is that of ±1, the gradient 0.
    inside = shaper(levels.clamp(-1, 1).reshape(1, 1, -1), c.detach())
    assert torch.equal(y, inside)
    assert torch.equal(x.grad[0, 0, levels.abs() > 1], torch.zeros_like(levels[levels.abs() > 1]))


@pytest.mark.parametrize("effect_cls", [fx.TaylorClipper, fx.ChebyshevClipper])
def test_polynomial_effects_stay_finite_for_loud_input(effect_cls):
    effect = effect_cls(FS)
    x = audio(batch=2, channels=1, scale=1e5).requires_grad_(True)
    q = effect.param_space.sample(2, generator=torch.Generator().manual_seed(4))
    y = effect(x, q)
    y.sum().backward()
    assert bool(torch.isfinite(y).all()) and bool(torch.isfinite(x.grad).all())


# --- sample rates, seeds ----------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: check_sample_rate(True), lambda: check_integer_rate(True),
    lambda: fx.Compressor(sample_rate=True), lambda: F.lfo(10, True, 0.1),
    lambda: F.tremolo(audio(), True, 0.1, 0.5), lambda: F.biquad("peak", 0.1, 1.0, 1.0, True),
    lambda: check_sample_rate(torch.tensor(44100.0)),
])
def test_bool_and_tensor_sample_rates_are_rejected(make):
    with pytest.raises(ValueError, match="sample_rate"):
        make()


@pytest.mark.parametrize("seed", [-1, 1.5, True, "3", None, np.float64(2.0)])
@pytest.mark.parametrize("make", [
    lambda s: synthetic_music(0.1, 8000, seed=s),
    lambda s: SyntheticClips(2, 0.1, 8000, seed=s),
    lambda s: EffectPairDataset(SyntheticClips(2, 0.1, 8000), fx.Gain(8000), seed=s),
])
def test_bad_seeds_raise_naming_seed(make, seed):
    with pytest.raises(ValueError, match=r"seed must be an integer >= 0"):
        make(seed)


def test_numpy_integer_seeds_are_accepted():
    a = synthetic_music(0.1, 8000, seed=np.int64(3))
    assert torch.equal(a, synthetic_music(0.1, 8000, seed=3))


# --- biquad design precision ------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "freq", "at_hz"), [
    ("peak", 10.0, 10.0),        # |H(f0)| = 10^(gain/20) exactly
    ("low_shelf", 10.0, 0.0),    # |H(0)| = 10^(gain/20)
    ("high_shelf", 20.0, 24000.0),  # |H(fs/2)| = 10^(gain/20)
])
def test_biquad_with_python_floats_designs_in_float64(kind, freq, at_hz):
    fs, gain_db = 48000, 6.0
    b, a = F.biquad(kind, freq, gain_db, 0.7, fs)
    assert b.dtype == a.dtype == F64
    sos = np.concatenate([b.numpy(), a.numpy()], axis=1)
    _, h = scipy.signal.sosfreqz(sos, worN=[at_hz], fs=fs)
    # RBJ shelves and peaks reach exactly the gain at these frequencies; the float32 design
    # was 0.009 dB off for a 10 Hz peak.
    assert abs(20 * np.log10(abs(h[0])) - gain_db) < 1e-4


def test_biquad_keeps_the_dtype_of_its_tensors():
    b, _ = F.biquad("peak", torch.tensor([1000.0]), 3.0, 1.0, FS)
    assert b.dtype == F32
    b, _ = F.biquad("peak", torch.tensor([1000.0], dtype=torch.float16), 3.0, 1.0, FS)
    assert b.dtype == F32  # half precision designs are raised to float32


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
def test_check_audio_finite_test_survives_an_overflowing_sum(dtype):
    """check_audio tests finiteness with one sum; large finite audio whose sum overflows is
    still accepted, and every kind of non-finite sample (including +inf and −inf together,
    whose sum is NaN) is refused."""
    big = torch.finfo(dtype).max / 2
    loud = torch.full((1, 1, 8), big, dtype=dtype)
    assert not torch.isfinite(loud.sum())
    assert check_audio(loud) is loud
    for bad in (float("nan"), float("inf"), -float("inf")):
        x = torch.zeros(1, 2, 8, dtype=dtype)
        x[0, 1, 3] = bad
        with pytest.raises(ValueError, match="x contains NaN or Inf"):
            check_audio(x)
    both = torch.zeros(1, 1, 8, dtype=dtype)
    both[0, 0, :2] = torch.tensor([float("inf"), -float("inf")])
    with pytest.raises(ValueError, match="NaN or Inf"):
        check_audio(both)
