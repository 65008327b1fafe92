"""Shared lead_scoring bundles: generated once per test session, reused read-only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from leadscoring_support import SMALL, TIMESTAMP, generator


@pytest.fixture(scope="session")
def bundle_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Generate (once per distinct arguments) and return a bundle folder."""
    cache: dict[tuple[Any, ...], Path] = {}

    def make(
        seed: int = 42, mode: str = "research_instructor", tier: str = "intermediate", **params: Any
    ) -> Path:
        key = (seed, mode, tier, tuple(sorted(params.items())))
        if key not in cache:
            out = tmp_path_factory.mktemp("bundle") / "b"
            generator(seed, mode, tier, **params).generate().save(out, generation_timestamp=TIMESTAMP)
            cache[key] = out
        return cache[key]

    return make


@pytest.fixture(scope="session")
def instructor(bundle_factory: Callable[..., Path]) -> Path:
    return bundle_factory(mode="research_instructor", **SMALL)


@pytest.fixture(scope="session")
def public(bundle_factory: Callable[..., Path]) -> Path:
    return bundle_factory(mode="student_public", **SMALL)
