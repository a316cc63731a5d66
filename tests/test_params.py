import math

import pytest
import torch
from _signals import seeded
from _tolerances import assert_within_rounding

from dasp_blind.params import ParamSpace, ParamSpec


@pytest.fixture
def space() -> ParamSpace:
    return ParamSpace([
        ParamSpec("gain_db", -12.0, 12.0, "lin", "dB", 0.0),
        ParamSpec("freq_hz", 20.0, 20000.0, "log", "Hz"),
        ParamSpec("ratio", 2.0, 10.0, "log"),
    ])


def test_names_len_and_lookup(space):
    assert space.names == ["gain_db", "freq_hz", "ratio"]
    assert len(space) == 3
    assert space["freq_hz"].unit == "Hz"
    assert "ratio" in space and "q" not in space


def test_lin_and_log_formulas(space):
    q = torch.tensor([[0.0, 0.0, 0.0], [0.25, 0.5, 1.0], [1.0, 1.0, 0.5]], dtype=torch.float64)
    p = space.denormalize(q)
    assert torch.allclose(p["gain_db"], torch.tensor([-12.0, -6.0, 12.0], dtype=torch.float64))
    # log: p = min * (max/min)^q
    expected_f = torch.tensor([20.0, 20.0 * 1000**0.5, 20000.0], dtype=torch.float64)
    assert torch.allclose(p["freq_hz"], expected_f)
    assert p["ratio"][2].item() == pytest.approx(math.sqrt(20.0))


def test_round_trip(space):
    q = space.sample(64, generator=seeded(1), dtype=torch.float64)
    assert torch.allclose(space.normalize(space.denormalize(q)), q, atol=1e-12)


def test_normalize_broadcasts_floats(space):
    q = space.normalize({"gain_db": torch.tensor([0.0, 12.0]), "freq_hz": 200.0, "ratio": 2.0})
    assert q.shape == (2, 3)
    assert_within_rounding(q[:, 0], torch.tensor([0.5, 1.0]), ops=2)  # (p − min) / (max − min)
    assert_within_rounding(q[:, 1], torch.full((2,), 1 / 3), ops=4)  # log(p/min) / log(max/min)
    assert torch.all(q[:, 2] == 0)


def test_default_uses_given_default_or_midpoint(space):
    q = space.default(3)
    assert q.shape == (3, 3)
    assert_within_rounding(q[:, :2], torch.full((3, 2), 0.5))  # float64 values cast to float32
    assert space["freq_hz"].default_value == pytest.approx(20.0 * 1000**0.5)


def test_sample_is_seeded_and_in_unit_interval(space):
    a = space.sample(100, generator=seeded(0))
    b = space.sample(100, generator=seeded(0))
    assert torch.equal(a, b)
    assert a.min() >= 0 and a.max() <= 1 and a.shape == (100, 3)


def test_q_outside_unit_interval_names_the_parameter(space):
    with pytest.raises(ValueError, match="freq_hz"):
        space.denormalize(torch.tensor([[0.5, 1.2, 0.5]]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        space.denormalize(torch.tensor([[-0.1, 0.5, 0.5]]))
    with pytest.raises(ValueError, match="shape"):
        space.denormalize(torch.full((2, 4), 0.5))
    with pytest.raises(ValueError, match="ratio"):
        space.denormalize(torch.tensor([[0.5, 0.5, float("nan")]]))


def test_physical_out_of_range_and_unknown_names(space):
    with pytest.raises(ValueError, match=r"gain_db.*\[-12, 12\]"):
        space.normalize({"gain_db": 20.0, "freq_hz": 100.0, "ratio": 2.0})
    with pytest.raises(ValueError, match="unknown parameter names.*'gain'"):
        space.normalize({"gain": 0.0, "freq_hz": 100.0, "ratio": 2.0})
    with pytest.raises(ValueError, match="missing"):
        space.normalize({"gain_db": 0.0})
    with pytest.raises(ValueError, match="unknown parameter name"):
        space.index("nope")


def test_spec_validation():
    with pytest.raises(ValueError, match="min < max"):
        ParamSpec("a", 1.0, 1.0)
    with pytest.raises(ValueError, match="min > 0"):
        ParamSpec("a", 0.0, 1.0, "log")
    with pytest.raises(ValueError, match="scale"):
        ParamSpec("a", 0.0, 1.0, "exp")
    with pytest.raises(ValueError, match="default"):
        ParamSpec("a", 0.0, 1.0, default=2.0)
    with pytest.raises(ValueError, match="unique"):
        ParamSpace([ParamSpec("a", 0, 1), ParamSpec("a", 0, 2)])


def test_prefix_and_concat(space):
    both = ParamSpace.concat([space.prefixed("eq"), space.prefixed("comp")])
    assert both.names[0] == "eq.gain_db" and both.names[-1] == "comp.ratio"
    assert len(both) == 6


def test_denormalize_is_differentiable(space):
    q = torch.full((2, 3), 0.3, dtype=torch.float64, requires_grad=True)
    total = sum(v.sum() for v in space.denormalize(q).values())
    total.backward()
    assert torch.isfinite(q.grad).all() and (q.grad != 0).all()
