from __future__ import annotations

import numpy as np
import pytest
from leadforge.rng import RNG, hash_uniform


def test_shard_namespace_is_the_child_streams_and_rejects_bad_indices() -> None:
    rng = RNG(9)
    assert np.array_equal(
        rng.shard(3).generator("x").random(4), rng.child("shard").child("3").generator("x").random(4)
    )
    assert not np.array_equal(rng.shard(3).generator("x").random(4), rng.shard(4).generator("x").random(4))
    for bad in (-1, True, 1.5):
        with pytest.raises(ValueError):
            rng.shard(bad)  # type: ignore[arg-type]


def test_streams_do_not_depend_on_creation_order() -> None:
    a = RNG(7)
    first = a.generator("x").random(5)
    b = RNG(7)
    b.generator("y").random(100)
    b.generator("z")
    assert np.array_equal(b.generator("x").random(5), first)


def test_child_namespaces_are_distinct_and_stable() -> None:
    rng = RNG(3)
    assert not np.array_equal(rng.child("a").generator("b").random(3), rng.generator("b").random(3))
    assert np.array_equal(rng.child("a").generator("b").random(3), RNG(3).generator("a::b").random(3))


def test_seed_is_validated() -> None:
    with pytest.raises(TypeError):
        RNG(True)
    with pytest.raises(ValueError, match="non-negative"):
        RNG(-1)


def test_hash_uniform_is_deterministic_uniform_and_salted() -> None:
    keys = np.arange(100_000, dtype=np.uint64)
    u = hash_uniform(keys, 11)
    assert np.array_equal(u, hash_uniform(keys, 11))
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.01
    assert np.corrcoef(u, hash_uniform(keys, 12))[0, 1] < 0.02
