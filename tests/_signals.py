"""Test inputs: seeded random audio, impulses and tones.

No function here touches a global random number generator (``test_suite_hygiene.py`` checks the
whole suite for that): the same arguments always give the same data, whatever ran before.
"""

from __future__ import annotations

import numpy as np
import torch


def seeded(seed: int) -> torch.Generator:
    """A new CPU ``torch.Generator`` seeded with ``seed``."""
    return torch.Generator().manual_seed(seed)


def randn(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float32,
          scale: float = 1.0) -> torch.Tensor:
    """Gaussian noise of standard deviation ``scale``, of any ``shape``, drawn from ``seed``."""
    return torch.randn(*shape, generator=seeded(seed), dtype=dtype) * scale


def randn_audio(batch: int = 2, channels: int = 2, samples: int = 1024, *, seed: int = 0,
                dtype: torch.dtype = torch.float32, scale: float = 1.0) -> torch.Tensor:
    """Gaussian noise audio ``(batch, channels, samples)`` of standard deviation ``scale``."""
    return randn(batch, channels, samples, seed=seed, dtype=dtype, scale=scale)


def impulse(samples: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """A unit impulse at sample 0: ``(1, 1, samples)``."""
    x = torch.zeros(1, 1, samples, dtype=dtype)
    x[..., 0] = 1.0
    return x


def tone(freq: float, seconds: float, sample_rate: int, channels: int = 1,
         amp: float = 0.5) -> np.ndarray:
    """A sine of ``freq`` Hz, ``(frames, channels)`` float64, channel ``c`` at
    ``amp · (0.6 + 0.4 c)`` (the layout ``soundfile.write`` takes)."""
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    y = amp * np.sin(2 * np.pi * freq * t)
    return np.stack([y * (0.6 + 0.4 * c) for c in range(channels)], axis=1)



def mono_noise(samples: int, seed: int, batch: int = 1,
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Gaussian noise of standard deviation 0.5, ``(batch, 1, samples)``: a model input."""
    return randn_audio(batch, 1, samples, seed=seed, dtype=dtype, scale=0.5)


def knob_values(batch: int, num: int, seed: int, samples: int | None = None) -> torch.Tensor:
    """Uniform knob values in ``[0, 1)``: ``(batch, num)``, or ``(batch, num, samples)`` (one
    value per sample) when ``samples`` is given."""
    shape = (batch, num) if samples is None else (batch, num, samples)
    return torch.rand(*shape, generator=seeded(seed))
