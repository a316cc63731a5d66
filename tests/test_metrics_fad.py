"""Fréchet distance against closed forms and scipy.linalg.sqrtm; FAD with an injected embedding."""

import numpy as np
import pytest
import scipy.linalg
import torch

from dasp_blind.metrics.fad import embedding_statistics, frechet_audio_distance, frechet_distance


def random_covariance(dim: int, rng: np.random.Generator, rank: int | None = None) -> np.ndarray:
    """A random symmetric positive semi-definite ``(dim, dim)`` matrix of the given rank."""
    factor = rng.standard_normal((dim, rank or dim))
    return factor @ factor.T / dim


def sqrtm_distance(mu1, sigma1, mu2, sigma2) -> float:
    """The textbook formula with ``scipy.linalg.sqrtm`` (real part of its result)."""
    root = scipy.linalg.sqrtm(sigma1 @ sigma2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1 + sigma2 - 2 * root.real))


def test_diagonal_covariances_closed_form():
    """For diagonal covariances ``(Σ1 Σ2)^½ = diag(σ1·σ2)``, so the distance is
    ``‖μ1 − μ2‖² + Σ(σ1 − σ2)²`` with ``σ`` the standard deviations."""
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.standard_normal((2, 16))
    std1, std2 = rng.uniform(0.1, 3.0, (2, 16))
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((std1 - std2) ** 2)
    value = frechet_distance(mu1, np.diag(std1 ** 2), mu2, np.diag(std2 ** 2))
    assert value == pytest.approx(expected, rel=1e-12)


def test_full_covariances_match_sqrtm_and_are_symmetric():
    rng = np.random.default_rng(1)
    for dim in (3, 32):
        mu1, mu2 = rng.standard_normal((2, dim))
        sigma1, sigma2 = random_covariance(dim, rng), random_covariance(dim, rng)
        value = frechet_distance(mu1, sigma1, mu2, sigma2)
        assert value == pytest.approx(sqrtm_distance(mu1, sigma1, mu2, sigma2), rel=1e-9)
        assert value == pytest.approx(frechet_distance(mu2, sigma2, mu1, sigma1), rel=1e-12)
        as_tensors = [torch.from_numpy(v) for v in (mu1, sigma1, mu2, sigma2)]
        assert frechet_distance(*as_tensors) == value


def test_commuting_covariances_and_scalar_case():
    """Covariances sharing eigenvectors: ``Tr((Σ1 Σ2)^½) = Σ sqrt(λ1·λ2)``; in one dimension
    the distance between N(m1, s1²) and N(m2, s2²) is ``(m1 − m2)² + (s1 − s2)²``."""
    rng = np.random.default_rng(2)
    basis, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    lam1, lam2 = rng.uniform(0.01, 4.0, (2, 8))
    sigma1, sigma2 = (basis * lam1) @ basis.T, (basis * lam2) @ basis.T
    mu = np.zeros(8)
    expected = np.sum(lam1 + lam2 - 2 * np.sqrt(lam1 * lam2))
    assert frechet_distance(mu, sigma1, mu, sigma2) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance([1.0], [[4.0]], [-0.5], [[0.25]]) == pytest.approx(1.5 ** 2 + 1.5 ** 2)


def test_singular_covariances_stay_finite_and_match_the_offset_formula():
    """Fewer frames than dimensions: singular covariances. The eigen-decomposition needs no
    offset; sqrtm of the singular product is ill-conditioned, so compare with it after adding
    a small ``ε·I`` to both (the usual workaround), which moves the trace of the root by at most
    ``Σ sqrt(λ_i·ε) <= dim·sqrt(λ_max·ε)``, about 1e-3 here (measured: 1.5e-7)."""
    rng = np.random.default_rng(3)
    dim = 24
    sigma1, sigma2 = random_covariance(dim, rng, rank=10), random_covariance(dim, rng, rank=10)
    mu1, mu2 = rng.standard_normal((2, dim))
    value = frechet_distance(mu1, sigma1, mu2, sigma2)
    offset = 1e-10 * np.eye(dim)
    regularised = sqrtm_distance(mu1, sigma1 + offset, mu2, sigma2 + offset)
    assert np.isfinite(value) and value == pytest.approx(regularised, abs=1e-3)
    assert frechet_distance(mu2, sigma2, mu1, sigma1) == pytest.approx(value, rel=1e-8)
    assert frechet_distance(mu1, sigma1, mu1, sigma1) == pytest.approx(0.0, abs=1e-9)


def toy_embed(audio: torch.Tensor) -> torch.Tensor:
    """A stand-in embedding model: log magnitudes of 64-sample frames, ``(frames, 33)``."""
    frames = audio.reshape(-1)[: audio.numel() // 64 * 64].reshape(-1, 64)
    return torch.fft.rfft(frames).abs().add(1e-3).log()


def test_fad_of_identical_sets_is_zero_and_matches_the_statistics():
    gen = torch.Generator().manual_seed(4)
    clips = [torch.randn(1, 1, 4096, generator=gen, dtype=torch.float64) for _ in range(3)]
    assert frechet_audio_distance(clips, clips, toy_embed) == pytest.approx(0.0, abs=1e-9)
    filtered = [0.5 * c + 0.5 * torch.roll(c, 1, -1) for c in clips]  # a low-pass
    embeddings_r = np.concatenate([toy_embed(c).numpy() for c in clips])
    embeddings_t = np.concatenate([toy_embed(c).numpy() for c in filtered])
    expected = sqrtm_distance(embeddings_r.mean(0), np.cov(embeddings_r.T),
                              embeddings_t.mean(0), np.cov(embeddings_t.T))
    assert frechet_audio_distance(clips, filtered, toy_embed) == pytest.approx(expected, rel=1e-9)
    assert frechet_audio_distance(torch.cat(clips), torch.cat(filtered), toy_embed) == \
        pytest.approx(expected, rel=1e-9)
    mu, sigma = embedding_statistics(embeddings_r)
    np.testing.assert_allclose(sigma, np.cov(embeddings_r, rowvar=False), rtol=1e-12)
    assert mu.shape == (33,) and sigma.shape == (33, 33)


def test_gaussian_embeddings_give_the_closed_form():
    """An "embedding" that returns Gaussian samples of known statistics: with many frames the
    FAD approaches ``‖μ1 − μ2‖² + Σ(σ1 − σ2)²`` (sampling error ~ dim·σ²/sqrt(frames))."""
    rng = np.random.default_rng(5)
    means = {1: np.zeros(4), 2: np.array([1.0, 0.0, -1.0, 0.5])}
    stds = {1: np.ones(4), 2: np.array([1.0, 2.0, 0.5, 1.0])}

    def embed(key: torch.Tensor) -> np.ndarray:
        k = int(key.item())
        return means[k] + stds[k] * rng.standard_normal((20000, 4))

    value = frechet_audio_distance(torch.tensor(1.0), torch.tensor(2.0), embed)
    expected = np.sum((means[1] - means[2]) ** 2) + np.sum((stds[1] - stds[2]) ** 2)
    assert value == pytest.approx(expected, abs=0.1)


def test_bad_input_names_the_argument():
    mu, sigma = np.zeros(3), np.eye(3)
    with pytest.raises(ValueError, match="mu2 must have shape"):
        frechet_distance(mu, sigma, np.zeros(4), np.eye(4))
    with pytest.raises(ValueError, match="sigma2 must have shape"):
        frechet_distance(mu, sigma, mu, np.eye(4))
    with pytest.raises(ValueError, match="sigma1 must have rank 2"):
        frechet_distance(mu, np.ones(3), mu, sigma)
    with pytest.raises(ValueError, match="mu1 contains NaN"):
        frechet_distance(np.full(3, np.nan), sigma, mu, sigma)
    clip = torch.zeros(1, 1, 4096)
    def embed(audio):  # 2 dimensions for silence, 3 otherwise
        return torch.ones(5, 2 + int(audio.sum() != 0))

    with pytest.raises(ValueError, match="test_audio have dimension 3"):
        frechet_audio_distance(clip, clip + 1, embed)
    with pytest.raises(ValueError, match=r"embed\(reference_audio\[1\]\) has dimension 3"):
        frechet_audio_distance([clip, clip + 1], clip, embed)
    with pytest.raises(ValueError, match="at least 2 frames"):
        frechet_audio_distance(clip, clip, lambda a: torch.ones(1, 8))
    with pytest.raises(ValueError, match="rank 2"):
        frechet_audio_distance(clip, clip, lambda a: torch.ones(8))
    with pytest.raises(ValueError, match="embed must be callable"):
        frechet_audio_distance(clip, clip, "vggish")
    with pytest.raises(ValueError, match="test_audio must be a tensor"):
        frechet_audio_distance(clip, [], toy_embed)
