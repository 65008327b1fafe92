"""Latent traits: clipped-Gaussian draws around family-biased means, blended across account and customer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from leadforge_lifecycle.families import ACCOUNT_TRAITS, TRAITS

NEUTRAL = 0.5
LATENT_SD = 0.20
MEAN_CLIP = (0.10, 0.90)


def sample(mean: float | np.ndarray, sd: float, n: int, g: np.random.Generator) -> np.ndarray:
    """``clip(Normal(clip(mean, 0.1, 0.9), sd), 0, 1)`` — the one latent sampling rule."""
    m = np.clip(mean, *MEAN_CLIP)
    return np.asarray(np.clip(g.normal(m, sd, n), 0.0, 1.0), dtype=np.float64)


@dataclass(frozen=True)
class Latents:
    """Five per-customer trait arrays (raw or effective, depending on who holds them)."""

    product_fit: np.ndarray
    adoption_velocity: np.ndarray
    budget_stability: np.ndarray
    champion_strength: np.ndarray
    organizational_stability: np.ndarray

    def trait(self, name: str) -> np.ndarray:
        value: np.ndarray = getattr(self, name)
        return value

    def __len__(self) -> int:
        return int(self.product_fit.size)

    @classmethod
    def draw(cls, biases: Mapping[str, float], n: int, g: np.random.Generator) -> Latents:
        return cls(*(sample(NEUTRAL + biases.get(t, 0.0), LATENT_SD, n, g) for t in TRAITS))

    def blended(self, account: Mapping[str, np.ndarray]) -> Latents:
        """Effective latents: account-level traits are averaged with the customer's own value.

        The shared account component makes customers of one account correlated.
        """
        return Latents(
            *((self.trait(t) + account[t]) / 2.0 if t in ACCOUNT_TRAITS else self.trait(t) for t in TRAITS)
        )
