"""The seeded synthetic-music generator (its dataset, ``SyntheticClips``, is tested in
test_clips.py)."""

import numpy as np
import pytest
import torch
from _tolerances import rounding_tol

from dasp_blind.data.synthetic import synthetic_music

SR = 22050


def band_energy_fractions(y, sr):
    """Fractions of the energy below 200 Hz, above 5 kHz and above 8 kHz."""
    spec = np.abs(np.fft.rfft(y)) ** 2
    f = np.fft.rfftfreq(y.size, 1 / sr)
    return [spec[band].sum() / spec.sum() for band in (f < 200, f > 5000, f > 8000)]


def test_same_seed_is_bit_identical_and_seeds_differ():
    a = synthetic_music(2.0, SR, seed=7)
    b = synthetic_music(2.0, SR, seed=7)
    c = synthetic_music(2.0, SR, seed=8)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert (a - c).abs().mean() > 0.01


@pytest.mark.parametrize("channels", [1, 2])
def test_shape_dtype_and_peak(channels):
    y = synthetic_music(1.5, SR, seed=3, channels=channels)
    assert y.shape == (channels, int(round(1.5 * SR)))
    assert y.dtype == torch.float32
    assert torch.isfinite(y).all()
    assert abs(y.abs().max().item() - 0.9) <= rounding_tol(0.9)  # set in float64, then cast


def test_stereo_channels_are_panned_differently_and_share_the_content():
    y = synthetic_music(2.0, SR, seed=5, channels=2).numpy()
    left, right = y
    assert not np.allclose(left, right, atol=1e-3)
    # Same music in both channels: strongly correlated, not identical.
    assert np.corrcoef(left, right)[0, 1] > 0.5
    # Mono and stereo renders of one seed hold the same parts: the channel sum correlates.
    mono = synthetic_music(2.0, SR, seed=5, channels=1).numpy()[0]
    assert np.corrcoef(mono, left + right)[0, 1] > 0.95


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spectrum_has_low_end_and_hats(seed):
    y = synthetic_music(3.0, 44100, seed=seed).numpy()[0]
    low, high, very_high = band_energy_fractions(y, 44100)
    assert low > 0.2  # kick and bass
    # Hi-hats: without them these fractions stay below 1.6e-3 and 3e-4 for seeds 0..7.
    assert high > 2e-3 and very_high > 1e-3
    assert low + high < 0.95  # and mid-range content (chords, melody, snare)


def test_hats_give_high_band_transients_on_the_sixteenth_grid():
    tempo = 120.0
    y = synthetic_music(4.0, 44100, seed=11, tempo_bpm=tempo).numpy()[0]
    # Crude high-pass (second difference) and envelope per 16th-note slot.
    hp = np.diff(y, n=2)
    step = int(round(60 / tempo / 4 * 44100))
    slots = hp[: (hp.size // step) * step].reshape(-1, step)
    onset_energy = (slots[:, : step // 4] ** 2).mean(axis=1)
    late_energy = (slots[:, 3 * step // 4:] ** 2).mean(axis=1)
    # On eighth-note positions (always hats), the start of the slot is louder than its end.
    eighths = np.arange(0, slots.shape[0], 2)
    assert np.median(onset_energy[eighths] / (late_energy[eighths] + 1e-12)) > 3


def test_tempo_argument_changes_the_render_and_is_validated():
    a = synthetic_music(2.0, SR, seed=1, tempo_bpm=100)
    b = synthetic_music(2.0, SR, seed=1, tempo_bpm=130)
    assert not torch.equal(a, b)
    with pytest.raises(ValueError, match="tempo_bpm"):
        synthetic_music(1.0, SR, tempo_bpm=0)


@pytest.mark.parametrize("kwargs,match", [
    ({"duration_s": 0.0}, "duration_s"),
    ({"duration_s": float("nan")}, "duration_s"),
    ({"sample_rate": 0}, "sample_rate"),
    ({"sample_rate": 22050.5}, "sample_rate"),
    ({"channels": 3}, "channels"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        synthetic_music(**kwargs)


def test_low_sample_rate_works():
    y = synthetic_music(1.0, 8000, seed=2)
    assert y.shape == (1, 8000) and torch.isfinite(y).all()


def frame_levels_db(y, sr, frame_s=0.25):
    """RMS level in dB of consecutive ``frame_s`` frames of a 1-D signal."""
    f = int(frame_s * sr)
    frames = y[: y.size // f * f].reshape(-1, f)
    return 10 * np.log10((frames**2).mean(axis=1) + 1e-12)


def test_dynamics_are_off_by_default_and_validated():
    assert torch.equal(synthetic_music(1.0, SR, seed=2), synthetic_music(1.0, SR, seed=2,
                                                                          dynamics=False))
    for bad in ("yes", 1, None):
        with pytest.raises(ValueError, match="dynamics"):
            synthetic_music(1.0, SR, dynamics=bad)


@pytest.mark.parametrize("channels", [1, 2])
def test_dynamics_are_seeded_and_keep_shape(channels):
    a = synthetic_music(1.5, SR, seed=3, channels=channels, dynamics=True)
    assert torch.equal(a, synthetic_music(1.5, SR, seed=3, channels=channels, dynamics=True))
    assert a.shape == (channels, int(round(1.5 * SR))) and a.dtype == torch.float32
    assert torch.isfinite(a).all()


def test_dynamics_vary_peak_and_levels_but_keep_the_notes():
    seeds = range(8)
    plain = [synthetic_music(4.0, SR, seed=s).numpy()[0] for s in seeds]
    varied = [synthetic_music(4.0, SR, seed=s, dynamics=True).numpy()[0] for s in seeds]
    peaks_db = np.array([20 * np.log10(np.abs(y).max()) for y in varied])
    # The peak level is drawn from [-24, 20 log10 0.9] dBFS (float32 rounding of the samples).
    assert peaks_db.min() >= -24 - 1e-4 and peaks_db.max() <= 20 * np.log10(0.9) + 1e-4
    assert peaks_db.max() - peaks_db.min() > 6
    # Loud and quiet sections: the 10-90 % range of the frame levels widens (median over seeds;
    # 4.7 dB without dynamics and 9.8 dB with them for these seeds).
    spread = [np.subtract(*np.percentile(frame_levels_db(y, SR), [90, 10])) for y in plain]
    spread_varied = [np.subtract(*np.percentile(frame_levels_db(y, SR), [90, 10]))
                     for y in varied]
    assert np.median(spread_varied) > np.median(spread) + 3
    # The same notes at other levels: each render correlates with the seed's plain render
    # (> 0.77 here), and not with another seed's.
    for k, y in enumerate(varied):
        assert np.corrcoef(y, plain[k])[0, 1] > 0.6
        assert abs(np.corrcoef(y, plain[(k + 1) % 8])[0, 1]) < 0.3
