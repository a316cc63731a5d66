"""Every argument of every public function of ``dasp_blind.functional``: a bad value raises a
``ValueError`` whose message names the argument (issue 7, item 2)."""

import math

import pytest
import torch

import dasp_blind.functional as F

FS = 8000
NAN, INF = math.nan, math.inf


def audio(batch=2, channels=1, samples=256, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return 0.5 * torch.randn(batch, channels, samples, generator=g, dtype=dtype)


def sos(batch=2):
    return F.biquads_to_sos([F.biquad("peak", 1000.0, 6.0, 1.0, FS)]).expand(batch, -1, -1)


def coeffs(batch=2, k=4):
    return torch.full((batch, k), 0.25)


# Valid keyword arguments of each function; each case below replaces one of them.
VALID = {
    F.biquad: lambda: dict(kind="peak", freq_hz=1000.0, gain_db=6.0, q=1.0, sample_rate=FS),
    F.biquads_to_sos: lambda: dict(sections=[F.biquad("peak", 1000.0, 6.0, 1.0, FS)]),
    F.chebyshev: lambda: dict(x=audio(), coeffs=coeffs()),
    F.taylor: lambda: dict(x=audio(), coeffs=coeffs()),
    F.chorus: lambda: dict(x=audio(), sample_rate=FS, rate_hz=1.0, depth_ms=2.0, delay_ms=10.0,
                           mix=0.5),
    F.clip_threshold_for_sdr: lambda: dict(x=audio(), sdr_db=10.0, max_iter=60),
    F.clip_to_sdr: lambda: dict(x=audio(), sdr_db=10.0, max_iter=60),
    F.compressor: lambda: dict(x=audio(), sample_rate=FS, threshold_db=-20.0, ratio=4.0,
                               attack_ms=5.0, release_ms=50.0, knee_db=6.0, makeup_db=0.0,
                               sidechain=None, lookahead_ms=0.0),
    F.simple_compressor: lambda: dict(x=audio(), sample_rate=FS, threshold_db=-20.0, ratio=4.0,
                                      time_constant_ms=20.0, knee_db=6.0, makeup_db=0.0),
    F.db_to_gain: lambda: dict(db=6.0),
    F.gain_to_db: lambda: dict(gain=2.0, floor=0.0),
    F.time_constant_to_alpha: lambda: dict(time_ms=10.0, sample_rate=FS),
    F.decay_length: lambda: dict(sos=sos(), tolerance=1e-6, max_length=None),
    F.fft_sosfilt: lambda: dict(x=audio(), sos=sos(), tail=None),
    F.sosfilt: lambda: dict(x=audio(), sos=sos()),
    F.rfft_response: lambda: dict(sos=sos(), n_fft=512),
    F.sos_frequency_response: lambda: dict(sos=sos(), freqs_hz=torch.tensor([100.0, 1000.0]),
                                           sample_rate=FS),
    F.fractional_delay: lambda: dict(x=audio(), delay_samples=3.5),
    F.hard_clip: lambda: dict(x=audio(), gain_db=6.0, threshold=1.0),
    F.soft_clip: lambda: dict(x=audio(), gain_db=6.0, threshold=1.0),
    F.lfo: lambda: dict(num_samples=256, sample_rate=FS, rate_hz=2.0, shape="sine", phase=0.0,
                        like=None, batch=None),
    F.parametric_clipper: lambda: dict(x=audio(), drive_db=6.0, offset=0.1, hardness=1.0),
    F.sox_overdrive: lambda: dict(x=audio(), gain_db=20.0, colour=20.0),
    F.tremolo: lambda: dict(x=audio(), sample_rate=FS, rate_hz=5.0, depth=0.5, shape="sine",
                            phase=0.0),
}

# Bad values shared by every argument of a kind.
BAD_AUDIO = [None, [[[0.0]]], torch.zeros(2, 256), torch.zeros(2, 1, 0), torch.zeros(0, 1, 256),
             torch.zeros(2, 0, 256), torch.zeros(2, 1, 256, dtype=torch.int64),
             torch.full((2, 1, 256), NAN), torch.zeros(2, 1, 256, dtype=torch.complex64)]
BAD_NUMBER = [NAN, INF, -INF, True, "1", None, torch.tensor(1.0), [1.0]]
BAD_PARAM = [NAN, INF, True, "1", None, [1.0], torch.ones(3), torch.ones(2, 2),
             torch.tensor(True), torch.tensor(NAN), torch.ones(2, dtype=torch.complex64)]
BAD_BIQUAD = [v for v in BAD_PARAM if not (isinstance(v, torch.Tensor) and v.shape == (3,))]
BAD_INT = [NAN, INF, True, "8", 2.5, torch.tensor(8)]  # plus None where None is not allowed
BAD_CHOICE = ["x", None, 3, ["sine"], ""]
BAD_SOS = [None, torch.zeros(2, 1, 5), torch.zeros(1, 6), torch.zeros(2, 0, 6),
           torch.full((2, 1, 6), NAN), torch.zeros(2, 1, 6),  # a0 == 0
           torch.zeros(2, 1, 6, dtype=torch.int64)]
BAD_COEFFS = [None, torch.zeros(4), torch.zeros(2, 0), torch.zeros(3, 4),
              torch.full((2, 4), INF), torch.zeros(2, 4, dtype=torch.int64), [[0.0, 1.0]]]

# Argument -> bad values beyond the shared ones (range and domain violations).
AUDIO_ARGS = {"x"}
CASES = {
    # biquad takes its batch size from its tensors, so (3,) is not a mismatch there.
    F.biquad: {"kind": BAD_CHOICE, "freq_hz": BAD_BIQUAD + [0.0, -1.0, FS / 2, FS],
               "gain_db": BAD_BIQUAD + [1e4, -1e4], "q": BAD_BIQUAD + [0.0, -1.0],
               "sample_rate": BAD_NUMBER + [0.0, -FS]},
    F.biquads_to_sos: {"sections": [None, [], [(torch.zeros(2, 3),)], [torch.zeros(2, 3)],
                                    [(torch.zeros(2, 2), torch.zeros(2, 2))],
                                    [(torch.zeros(2, 3), torch.full((2, 3), NAN))],
                                    [(torch.zeros(2, 3), torch.zeros(2, 3)),
                                     (torch.zeros(3, 3), torch.zeros(3, 3))], "ab"]},
    F.chebyshev: {"x": BAD_AUDIO, "coeffs": BAD_COEFFS},
    F.taylor: {"x": BAD_AUDIO, "coeffs": BAD_COEFFS},
    F.chorus: {"x": BAD_AUDIO, "sample_rate": BAD_NUMBER + [0.0, -1.0],
               "rate_hz": BAD_PARAM + [0.0, -1.0, FS / 2], "depth_ms": BAD_PARAM + [-1.0, 11.0],
               "delay_ms": BAD_PARAM + [-1.0], "mix": BAD_PARAM + [-0.1, 1.1]},
    F.clip_threshold_for_sdr: {"x": BAD_AUDIO, "sdr_db": BAD_PARAM + [0.0, -3.0],
                               "max_iter": BAD_INT + [None, 0, -1]},
    F.clip_to_sdr: {"x": BAD_AUDIO, "sdr_db": BAD_PARAM + [0.0, -3.0],
                    "max_iter": BAD_INT + [None, 0, -1]},
    F.compressor: {"x": BAD_AUDIO, "sample_rate": BAD_NUMBER + [0.0, -1.0],
                   "threshold_db": BAD_PARAM, "ratio": BAD_PARAM + [0.5],
                   "attack_ms": BAD_PARAM + [0.0, -1.0], "release_ms": BAD_PARAM + [0.0, -1.0],
                   "knee_db": BAD_PARAM + [-1.0], "makeup_db": BAD_PARAM + [1e4],
                   "sidechain": BAD_AUDIO[1:] + [torch.zeros(3, 1, 256), torch.zeros(2, 1, 100)],
                   "lookahead_ms": BAD_NUMBER + [-1.0, torch.tensor(2.0)]},
    F.simple_compressor: {"x": BAD_AUDIO, "sample_rate": BAD_NUMBER + [0.0, -1.0],
                          "threshold_db": BAD_PARAM, "ratio": BAD_PARAM + [0.5],
                          "time_constant_ms": BAD_PARAM + [0.0, -1.0, 1e30],
                          "knee_db": BAD_PARAM + [-1.0, 1e30], "makeup_db": BAD_PARAM + [1e4]},
    F.db_to_gain: {"db": BAD_NUMBER[:-3] + ["1", None, [1.0], 1e6, torch.tensor([1e6]),
                                           torch.tensor([NAN]),
                                           torch.tensor([1], dtype=torch.int64)]},
    F.gain_to_db: {"gain": BAD_NUMBER[:-3] + ["1", None, [1.0], -1.0, torch.tensor([-1.0]),
                                             torch.tensor([NAN])],
                   "floor": BAD_NUMBER + [-1.0]},
    F.time_constant_to_alpha: {"time_ms": [NAN, INF, True, "1", None, 0.0, -1.0,
                                           torch.tensor([0.0]), torch.tensor([NAN])],
                               "sample_rate": BAD_NUMBER + [0.0, -1.0]},
    F.decay_length: {"sos": BAD_SOS + [torch.tensor([[[1.0, 0, 0, 1.0, -1.5, 0.5]]])],
                     "tolerance": BAD_NUMBER + [0.0, -1.0, 1.0, 2.0],
                     "max_length": BAD_INT + [0, -5]},
    F.fft_sosfilt: {"x": BAD_AUDIO, "sos": BAD_SOS + [torch.zeros(3, 1, 6)],
                    "tail": BAD_INT + [-5]},
    F.sosfilt: {"x": BAD_AUDIO, "sos": BAD_SOS + [torch.zeros(3, 1, 6)]},
    F.rfft_response: {"sos": BAD_SOS, "n_fft": BAD_INT + [None, 0, -4]},
    F.sos_frequency_response: {"sos": BAD_SOS,
                               "freqs_hz": [None, 100.0, [100.0], torch.ones(2, 2),
                                            torch.tensor([NAN]),
                                            torch.tensor([1, 2], dtype=torch.int64)],
                               "sample_rate": BAD_NUMBER + [0.0, -1.0]},
    F.fractional_delay: {"x": BAD_AUDIO,
                         "delay_samples": BAD_PARAM + [-1.0, torch.tensor([-1.0, 2.0]),
                                                       torch.ones(2, 100), torch.ones(2, 1, 256),
                                                       torch.ones(2, 256, dtype=torch.bool)]},
    F.hard_clip: {"x": BAD_AUDIO, "gain_db": BAD_PARAM + [1e4],
                  "threshold": BAD_PARAM + [0.0, -1.0]},
    F.soft_clip: {"x": BAD_AUDIO, "gain_db": BAD_PARAM + [1e4],
                  "threshold": BAD_PARAM + [0.0, -1.0]},
    F.lfo: {"num_samples": BAD_INT + [None, 0, -1], "sample_rate": BAD_NUMBER + [0.0, -1.0],
            "rate_hz": BAD_PARAM[:6] + [torch.ones(2, 2), 0.0, -1.0, FS / 2],
            "shape": BAD_CHOICE, "phase": BAD_PARAM[:6] + [torch.ones(2, 2)],
            "like": [3.0, "x", torch.zeros(2, dtype=torch.int64), [0.0]],
            "batch": BAD_INT + [0, -1]},
    F.parametric_clipper: {"x": BAD_AUDIO, "drive_db": BAD_PARAM + [200.0],
                           "offset": BAD_PARAM + [-0.1, 1.1],
                           "hardness": BAD_PARAM + [-0.1, 2.1]},
    F.sox_overdrive: {"x": BAD_AUDIO, "gain_db": BAD_PARAM + [-1.0, 101.0],
                      "colour": BAD_PARAM + [-1.0, 101.0]},
    F.tremolo: {"x": BAD_AUDIO, "sample_rate": BAD_NUMBER + [0.0, -1.0],
                "rate_hz": BAD_PARAM + [0.0, -1.0, FS / 2], "depth": BAD_PARAM + [-0.1, 1.1],
                "shape": BAD_CHOICE, "phase": BAD_PARAM},
}


def _label(value):
    if isinstance(value, torch.Tensor):
        return f"tensor{tuple(value.shape)}-{str(value.dtype)[6:]}"
    return repr(value)[:20]


TABLE = [pytest.param(fn, arg, value, id=f"{fn.__name__}-{arg}-{_label(value)}")
         for fn, args in CASES.items() for arg, values in args.items() for value in values]


def test_every_public_function_is_covered():
    public = {getattr(F, name) for name in F.__all__ if callable(getattr(F, name))}
    # static_gain_reduction_db is the compressor's vectorised static curve on tensors it has
    # validated (the lead's area); every other callable must have its bad-argument cases.
    missing = {f.__name__ for f in public - set(CASES)} - {"static_gain_reduction_db"}
    assert not missing
    assert {f.__name__ for f in CASES} <= {f.__name__ for f in public}
    for fn, args in CASES.items():
        assert set(args) <= set(VALID[fn]()), fn.__name__


@pytest.mark.parametrize("fn", list(VALID), ids=lambda f: f.__name__)
def test_valid_calls_work(fn):
    out = fn(**VALID[fn]())
    assert out is not None


@pytest.mark.parametrize(("fn", "arg", "value"), TABLE)
def test_bad_argument_raises_value_error_naming_it(fn, arg, value):
    kwargs = VALID[fn]()
    kwargs[arg] = value
    with pytest.raises(ValueError, match=rf"\b{arg}\b"):
        fn(**kwargs)
