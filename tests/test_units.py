"""The dB <-> gain and time-constant converters of ``dasp_blind.functional.units``, against the
formulas evaluated with ``math``."""

import math

import pytest
import torch

import dasp_blind.functional as F
from dasp_blind.functional import units

LEVELS_DB = [-120.0, -60.0, -6.0206, -1e-9, 0.0, 3.0, 20.0, 120.0, 700.0]
F64 = torch.float64


@pytest.mark.parametrize("db", LEVELS_DB)
def test_db_to_gain_matches_math(db):
    expected = 10 ** (db / 20)
    assert math.isclose(F.db_to_gain(db), expected, rel_tol=1e-14)
    t = F.db_to_gain(torch.tensor([db], dtype=F64))
    assert t.dtype == F64 and math.isclose(float(t), expected, rel_tol=1e-14)


@pytest.mark.parametrize("gain", [1e-9, 1e-3, 0.5, 1.0, 2.0, 1e6])
def test_gain_to_db_matches_math_and_inverts_db_to_gain(gain):
    expected = 20 * math.log10(gain)
    assert math.isclose(F.gain_to_db(gain), expected, rel_tol=1e-14, abs_tol=1e-14)
    t = torch.tensor([gain], dtype=F64)
    assert math.isclose(float(F.gain_to_db(t)), expected, rel_tol=1e-14, abs_tol=1e-14)
    assert math.isclose(F.db_to_gain(F.gain_to_db(gain)), gain, rel_tol=1e-14)


def test_gain_to_db_floor_and_zero():
    assert F.gain_to_db(0.0) == -math.inf
    assert F.gain_to_db(0.0, floor=1e-4) == pytest.approx(-80.0, abs=1e-12)
    t = torch.tensor([0.0, 1e-6, 1.0], dtype=F64, requires_grad=True)
    y = F.gain_to_db(t, floor=1e-4)
    assert torch.allclose(y, torch.tensor([-80.0, -80.0, 0.0], dtype=F64), atol=1e-12)
    y.sum().backward()  # no gradient below the floor, 20/(ln 10 · g) above
    assert torch.allclose(t.grad, torch.tensor([0.0, 0.0, 20 / math.log(10)], dtype=F64))


def test_converters_keep_shape_dtype_and_gradients():
    db = torch.linspace(-40, 40, 12, dtype=torch.float32).reshape(3, 4).requires_grad_(True)
    gain = F.db_to_gain(db)
    assert gain.shape == (3, 4) and gain.dtype == torch.float32
    gain.sum().backward()
    expected = math.log(10) / 20 * gain.detach()  # d/ddb 10^(db/20)
    assert torch.allclose(db.grad, expected, rtol=4 * torch.finfo(torch.float32).eps)


@pytest.mark.parametrize(("time_ms", "fs"), [(0.01, 8000), (1.0, 44100), (500.0, 192000),
                                             (1e5, 48000)])
def test_time_constant_to_alpha_matches_math(time_ms, fs):
    expected = math.exp(-1.0 / (time_ms * 1e-3 * fs))
    assert math.isclose(F.time_constant_to_alpha(time_ms, fs), expected, rel_tol=1e-15)
    t = F.time_constant_to_alpha(torch.tensor([time_ms], dtype=F64), fs)
    assert math.isclose(float(t), expected, rel_tol=1e-15)
    assert F.ms_to_alpha is F.time_constant_to_alpha


def test_one_pole_step_reaches_one_minus_one_over_e_after_tau():
    fs, tau_ms = 48000, 10.0
    alpha = F.time_constant_to_alpha(tau_ms, fs)
    n = round(tau_ms * 1e-3 * fs)
    # The step response from y[−1] = 0 after n samples is 1 − α^n.
    assert math.isclose(1 - alpha ** n, 1 - 1 / math.e, rel_tol=1e-12)


def test_units_is_the_one_place_for_the_conversions():
    """The library writes ``10^(dB/20)`` and ``20·log10`` only in units.py (and, for now, in the
    compressor kernels, which the lead moves to these helpers separately)."""
    import pathlib
    import re

    root = pathlib.Path(units.__file__).parents[1]
    pattern = re.compile(r"10(\.0)? ?\*\* ?\(|20(\.0)? ?\* ?(torch|np|math)\.log10|torch\.pow\(10")
    allowed = {"functional/units.py", "functional/dynamics.py", "functional/_compressor_kernels.py",
               "functional/_compressor_triton.py"}
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if str(p.relative_to(root)) not in allowed and pattern.search(p.read_text())]
    assert not offenders
