from __future__ import annotations

import numpy as np
import pytest
from leadforge.rng import RNG, KeyedUniforms, entity_keys, hash_uniform, ordinals


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


@pytest.mark.parametrize("kind", ["shuffled", "grouped", "wide"])
def test_ordinals_count_each_groups_rows_in_row_order(kind: str) -> None:
    g = np.random.default_rng(4)
    groups = {
        "shuffled": g.integers(0, 300, 5_000),
        "grouped": np.sort(g.integers(0, 300, 5_000)),
        "wide": g.integers(0, 10**12, 5_000) // 10**9,
    }[kind]
    seen: dict[int, int] = {}
    expected = []
    for x in groups.tolist():
        expected.append(seen.get(x, 0))
        seen[x] = expected[-1] + 1
    assert ordinals(groups).tolist() == expected


def test_keyed_uniforms_depend_on_the_key_alone() -> None:
    keys = entity_keys(np.array([7, 7, 9]), np.array([0, 1, 0]))
    more = entity_keys(np.array([3, 7, 7, 8, 9]), np.array([0, 0, 1, 0, 0]))
    a, b = KeyedUniforms(keys, 11), KeyedUniforms(more, 11)
    for _ in range(3):  # every call draws afresh, each key's uniform the same in both
        x, y = a.random(3), b.random(5)
        assert np.array_equal(x, y[[1, 2, 4]])
    with pytest.raises(ValueError, match="expected 3 uniforms"):
        a.random(4)
