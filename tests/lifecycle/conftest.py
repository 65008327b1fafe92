"""Lifecycle test fixtures: bundles generated once per session and shared by the tests.

Small bundles (400 customers in shards of 150, so every multi-shard code path runs) cover the
contract; medium bundles (3,000 customers, seed 42; 6,000 for the tier ladder) cover rates,
tiers and leak probes. The recipe's default size (24,000 customers, so every tier's test split
holds 150+ churners) is left to the slow tests and the quality benchmark.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from leadforge.api import Generator
from leadforge.plugins import PluginHost
from lifecycle_support import LADDER, MEDIUM, PINNED, RECIPE, SMALL, probe_host
from threadpoolctl import threadpool_limits

BundleFactory = Callable[..., Path]


@pytest.fixture(scope="session", autouse=True)
def one_thread_models() -> Iterator[None]:
    """Model fits on one thread: identical scores, and no thread thrashing on a shared machine."""
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="session")
def make_bundle(tmp_path_factory: pytest.TempPathFactory) -> BundleFactory:
    """``make_bundle(mode=..., difficulty=..., seed=..., recipe=..., host=..., **params)``, cached."""
    cache: dict[tuple[Any, ...], Path] = {}

    def make(
        mode: str = "research_instructor",
        difficulty: str = "intermediate",
        seed: int = 42,
        recipe: str = RECIPE,
        host: PluginHost | None = None,
        **params: Any,
    ) -> Path:
        key = (mode, difficulty, seed, recipe, tuple(sorted(params.items())))
        if key not in cache:
            gen = Generator.from_recipe(
                recipe, seed=seed, exposure_mode=mode, difficulty=difficulty, host=host, **params
            )
            out = tmp_path_factory.mktemp("bundle") / "b"
            gen.generate().save(out, generation_timestamp=PINNED)
            cache[key] = out
        return cache[key]

    return make


@pytest.fixture(scope="session")
def small_instructor(make_bundle: BundleFactory) -> Path:
    return make_bundle("research_instructor", **SMALL)


@pytest.fixture(scope="session")
def small_public(make_bundle: BundleFactory) -> Path:
    return make_bundle("student_public", **SMALL)


@pytest.fixture(scope="session")
def default_instructor(make_bundle: BundleFactory) -> Path:
    return make_bundle("research_instructor", "intermediate", **MEDIUM)


@pytest.fixture(scope="session")
def default_public(make_bundle: BundleFactory) -> Path:
    return make_bundle("student_public", "intermediate", **MEDIUM)


@pytest.fixture(scope="session")
def tier_bundles(make_bundle: BundleFactory) -> dict[str, Path]:
    return {t: make_bundle("research_instructor", t, **LADDER) for t in ("intro", "intermediate", "advanced")}


@pytest.fixture(scope="session")
def probe_public(make_bundle: BundleFactory) -> Path:
    """An undistorted public bundle of the intro world (test-only recipe)."""
    return make_bundle("student_public", "intro", recipe="b2b_saas_ltv_probe_v1", host=probe_host())
