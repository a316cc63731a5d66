"""ParametricEQ, GraphicEQ and Chain."""

import numpy as np
import pytest
import scipy.signal
import torch
from _signals import impulse, randn, seeded
from _tolerances import assert_items_match_single_calls, assert_within_rounding, rounding_tol

import dasp_blind as db
from dasp_blind.effects import Chain, GraphicEQ, ParametricEQ, remove_dc_and_peak_normalize
from dasp_blind.functional import decay_length
from dasp_blind.functional.filters import fft_size

FS = 44100.0


def eq_fft_size(eq, q: torch.Tensor, samples: int) -> int:
    """The FFT size ``eq`` (method ``"fft"``) filters ``samples`` samples with, for controls
    ``q`` ``(batch, num_params)``."""
    return fft_size(samples, decay_length(eq.sos(eq.param_space.denormalize(q))))


def test_peq_parameter_space_follows_reference():
    eq = ParametricEQ(FS)
    assert eq.num_params == 15
    assert eq.param_space.names[:3] == ["low_shelf.freq_hz", "low_shelf.gain_db", "low_shelf.q"]
    spec = eq.param_space["peak3.freq_hz"]
    assert (spec.min, spec.max, spec.scale) == (2000.0, 16000.0, "log")
    assert eq.param_space["high_shelf.gain_db"].scale == "lin"
    assert (eq.param_space["peak1.q"].min, eq.param_space["peak1.q"].max) == (0.1, 2.0)


def test_peq_low_sample_rate_caps_frequency_ranges():
    eq = ParametricEQ(16000.0)
    assert eq.param_space["high_shelf.freq_hz"].max == pytest.approx(7200.0)
    with pytest.raises(ValueError, match="sample_rate"):
        ParametricEQ(8000.0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("method", ["fft", "sosfilt"])
def test_peq_matches_scipy_sosfilt(method, dtype):
    """Both dtypes within float32 rounding (float64 rounds 2^29 times finer): one final rounding
    of the float64 recursion, or the FFTs plus the float32 cast of the coefficients."""
    eq = ParametricEQ(FS, method=method)
    gen = seeded(0)
    q = eq.param_space.sample(2, generator=gen, dtype=dtype)
    x = torch.randn(2, 2, 22050, generator=gen, dtype=dtype) * 0.25
    y = eq(x, q)
    assert y.dtype == dtype and y.shape == x.shape
    sos = eq.sos(eq.param_space.denormalize(q)).numpy()
    n_fft = eq_fft_size(eq, q, x.shape[-1]) if method == "fft" else None
    for i in range(2):
        ref = scipy.signal.sosfilt(sos[i], x[i].double().numpy(), axis=-1)
        assert_within_rounding(y[i], ref, fft_size=n_fft)


def test_peq_zero_gain_is_identity():
    eq = ParametricEQ(FS)
    x = randn(1, 1, 4096, seed=1)
    n_fft = eq_fft_size(eq, eq.param_space.default(1), x.shape[-1])
    assert_within_rounding(eq.process(x, {}), x, fft_size=n_fft)  # an FFT round trip


def test_peq_boost_raises_level_at_band_centre():
    eq = ParametricEQ(FS)
    t = torch.arange(44100) / FS
    tone = torch.sin(2 * torch.pi * 1000 * t).reshape(1, 1, -1)
    y = eq.process(tone, {"peak1.freq_hz": 1000.0, "peak1.gain_db": 12.0, "peak1.q": 1.0})
    gain_db = 20 * torch.log10(y[..., 4410:].abs().max() / tone[..., 4410:].abs().max())
    assert gain_db.item() == pytest.approx(12.0, abs=0.05)


def test_geq_bands_and_q_follow_reference():
    geq = GraphicEQ(FS)
    assert geq.num_params == 10
    assert geq.freqs_hz[0] == 31.25 and geq.freqs_hz[-1] == 16000.0
    assert geq.qs[0] == pytest.approx(0.667, abs=1e-3)
    assert geq.qs[-2] == pytest.approx(0.508, abs=1e-3)
    assert geq.qs[-1] == pytest.approx(0.127, abs=1e-3)
    with pytest.raises(ValueError, match="sample_rate"):
        GraphicEQ(22050.0)


def test_geq_band_gain_shows_at_its_frequency():
    geq = GraphicEQ(FS)
    n = 1 << 15
    h = np.fft.rfft(geq.process(impulse(n), {"band5.gain_db": -12.0})[0, 0].numpy())
    freqs = np.fft.rfftfreq(n, 1 / FS)
    at_1k = 20 * np.log10(np.abs(h[np.argmin(np.abs(freqs - 1000))]))
    assert at_1k == pytest.approx(-12.0, abs=0.1)
    at_100 = 20 * np.log10(np.abs(h[np.argmin(np.abs(freqs - 60))]))
    assert abs(at_100) < 1.0


def test_gradcheck_through_normalised_controls():
    eq = ParametricEQ(FS)
    x = randn(2, 1, 64, seed=2, dtype=torch.float64)
    q = torch.rand(2, 15, dtype=torch.float64, generator=seeded(3))
    q = (0.2 + 0.6 * q).requires_grad_(True)
    # the FFT size depends on the pole radii; pin it by filtering with the exact recursion
    exact = ParametricEQ(FS, method="sosfilt")
    assert torch.autograd.gradcheck(lambda qq: exact(x, qq), (q,))
    assert eq(x, q).shape == x.shape


def test_batch_items_equal_single_calls():
    """In float32: the batch pads to its slowest pole, single items less; the 120 dB of decay
    the padding allows for leaves the difference at float32 rounding."""
    eq = ParametricEQ(FS)
    gen = seeded(5)
    x = torch.randn(3, 2, 8192, generator=gen)
    q = eq.param_space.sample(3, generator=gen)
    assert_items_match_single_calls(eq, x, q, fft_size=eq_fft_size(eq, q, x.shape[-1]))


def test_effect_bad_input():
    eq = ParametricEQ(FS)
    x = torch.zeros(2, 1, 256)
    with pytest.raises(ValueError, match="batch size"):
        eq(x, torch.full((3, 15), 0.5))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        eq(x, torch.full((2, 15), 1.5))
    with pytest.raises(ValueError, match="unknown parameter"):
        eq.process(x, {"peak1.gain": 3.0})
    with pytest.raises(ValueError, match="peak2.freq_hz"):
        eq.process(x, {"peak2.freq_hz": 100.0})
    with pytest.raises(ValueError, match="NaN"):
        eq.process(torch.full((1, 1, 16), float("inf")), {})
    with pytest.raises(ValueError, match="batch size"):
        eq.process(x, {"peak1.gain_db": torch.zeros(3)})
    with pytest.raises(ValueError, match="method"):
        ParametricEQ(FS, method="fir")
    with pytest.raises(ValueError, match="sample_rate"):
        ParametricEQ(-1.0)


def test_chain_prefixes_names_and_splits_q_in_order():
    chain = Chain({"peq": ParametricEQ(FS), "geq": GraphicEQ(FS)})
    assert chain.num_params == 25
    assert chain.param_space.names[0] == "peq.low_shelf.freq_hz"
    assert chain.param_space.names[15] == "geq.band0.gain_db"
    gen = seeded(6)
    x = torch.randn(2, 1, 4096, generator=gen, dtype=torch.float64)
    q = chain.param_space.sample(2, generator=gen, dtype=torch.float64)
    expected = chain.effects["geq"](chain.effects["peq"](x, q[:, :15]), q[:, 15:])
    n_fft = max(eq_fft_size(chain.effects[name], block, x.shape[-1])
                for name, block in chain.split(q).items())
    assert_within_rounding(chain(x, q), expected, dtype=torch.float64, ops=2, fft_size=n_fft)
    blocks = chain.split(q)
    assert blocks["geq"].shape == (2, 10)


def test_chain_peak_normalisation_before_each_effect():
    peq, geq = ParametricEQ(FS), GraphicEQ(FS)
    chain = Chain([("peq", peq), ("geq", geq)], normalize="peak")
    gen = seeded(7)
    x = 3.0 + 0.2 * torch.randn(2, 1, 4096, generator=gen)
    q = chain.param_space.sample(2, generator=gen)
    mid = peq(remove_dc_and_peak_normalize(x), q[:, :15])
    expected = geq(remove_dc_and_peak_normalize(mid), q[:, 15:])
    n_fft = max(eq_fft_size(peq, q[:, :15], 4096), eq_fft_size(geq, q[:, 15:], 4096))
    assert_within_rounding(chain(x, q), expected, ops=2, fft_size=n_fft)
    normed = remove_dc_and_peak_normalize(x)
    assert_within_rounding(normed.abs().amax(dim=(1, 2)), torch.ones(2))
    # the mean of x (about 3) is rounded relative to |x|: what is left, over the peak of x − mean
    centred_peak = (x - x.double().mean(dim=(1, 2), keepdim=True)).abs().max()
    assert normed.mean(dim=(1, 2)).abs().max() <= rounding_tol(
        x, ops=2, sum_size=x[0].numel()) / centred_peak


def test_chain_process_with_physical_names_and_module_registration():
    chain = db.effects.Chain({"eq": ParametricEQ(FS)})
    x = randn(1, 1, 1024, seed=8)
    y = chain.process(x, {"eq.peak2.gain_db": 6.0})
    eq = chain.effects["eq"]
    params = {**{s.name: s.default_value for s in eq.param_space}, "peak2.gain_db": 6.0}
    n_fft = eq_fft_size(eq, eq.param_space.normalize(params), x.shape[-1])
    assert_within_rounding(y, eq.process(x, {"peak2.gain_db": 6.0}), ops=2, fft_size=n_fft)
    assert "eq" in dict(chain.named_children())["effects"]
    with pytest.raises(ValueError, match="normalize"):
        Chain({"eq": ParametricEQ(FS)}, normalize="rms")
    with pytest.raises(ValueError, match="sample_rate"):
        Chain({"a": ParametricEQ(FS), "b": ParametricEQ(48000.0)})
    with pytest.raises(ValueError, match="'.'"):
        Chain({"a.b": ParametricEQ(FS)})


# --- the public validated-parameters entry point and side inputs ------------------------------

class _Recorder(db.effects.Effect):
    """An effect outside the library that implements only the public hook."""

    def __init__(self):
        super().__init__(FS)
        self.param_space = db.params.ParamSpace([db.params.ParamSpec("gain", 0.0, 2.0,
                                                                     default=1.0)])
        self.calls = 0

    def process_validated(self, x, params):
        self.calls += 1
        return x * params["gain"].reshape(-1, 1, 1)


def test_every_effect_implements_the_public_hook_and_none_keeps_a_private_one():
    base = db.effects.Effect
    for name in db.effects.__all__:
        obj = getattr(db.effects, name)
        if isinstance(obj, type) and issubclass(obj, base) and obj is not base:
            assert not hasattr(obj, "_process"), name
            assert obj.process_validated is not base.process_validated, name


def test_process_validated_equals_process_on_checked_params_and_chain_uses_it():
    eq = ParametricEQ(FS)
    x = torch.randn(2, 1, 1024, generator=torch.Generator().manual_seed(20))
    params = {"peak1.gain_db": torch.tensor([3.0, -6.0]), "peak1.freq_hz": 500.0}
    full = eq.physical_params(params, x)
    assert set(full) == set(eq.param_space.names) and full["peak1.q"].shape == (2,)
    assert torch.equal(eq.process_validated(x, full), eq.process(x, params))
    recorder = _Recorder()
    chain = Chain({"eq": eq, "rec": recorder})
    y = chain.process(x, {"rec.gain": 0.5, **{f"eq.{k}": v for k, v in params.items()}})
    assert recorder.calls == 1
    assert torch.allclose(y, 0.5 * eq.process(x, params), rtol=0,
                          atol=4 * torch.finfo(torch.float32).eps * x.abs().max().item())


def chain_with_compressor(normalize: str = "none") -> Chain:
    return Chain({"eq": ParametricEQ(FS), "comp": db.effects.Compressor(FS, lookahead_ms=1.0)},
                 normalize=normalize)


@pytest.mark.parametrize("normalize", ["none", "peak"])
def test_chain_routes_sidechains_by_effect_name(normalize):
    chain = chain_with_compressor(normalize)
    gen = torch.Generator().manual_seed(21)
    x = 0.3 * torch.randn(2, 2, 3000, generator=gen, dtype=torch.float64)
    kick = torch.randn(2, 1, 3000, generator=gen, dtype=torch.float64).requires_grad_(True)
    q = chain.param_space.sample(2, generator=gen, dtype=torch.float64)
    eq, comp = chain.effects["eq"], chain.effects["comp"]
    prepare = remove_dc_and_peak_normalize if normalize == "peak" else (lambda a: a)
    mid = eq(prepare(x), q[:, :15])
    expected = comp(prepare(mid), q[:, 15:], sidechain=kick)  # the sidechain is not normalised
    y = chain(x, q, sidechains={"comp": kick})
    assert torch.allclose(y, expected, rtol=0, atol=1e-12)
    assert not torch.allclose(y, chain(x, q), rtol=0, atol=1e-6)
    y.square().sum().backward()
    assert torch.isfinite(kick.grad).all() and kick.grad.abs().sum() > 0
    params = chain.param_space.denormalize(q)
    assert torch.allclose(chain.process(x, params, sidechains={"comp": kick}), expected,
                          rtol=0, atol=1e-12)
    assert torch.equal(chain(x, q, sidechains={"comp": None}), chain(x, q))


def test_chain_sidechain_errors_name_the_problem():
    chain = chain_with_compressor()
    x = torch.zeros(1, 1, 256)
    q = chain.param_space.default(1)
    with pytest.raises(ValueError, match=r"sidechains has unknown effect name 'kick'.*'comp'"):
        chain(x, q, sidechains={"kick": x})
    with pytest.raises(ValueError, match=r"sidechains\['eq'\]: effect 'eq' \(ParametricEQ\) "
                                         r"takes no sidechain"):
        chain.process(x, {}, sidechains={"eq": x})
    with pytest.raises(ValueError, match="sidechains must be a mapping"):
        chain(x, q, sidechains=x)
    with pytest.raises(ValueError, match=r"sidechain: Chain has no side input 'sidechain' "
                                         r"\(it takes sidechains\)"):
        chain(x, q, sidechain=x)
