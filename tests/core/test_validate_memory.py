"""Validation state that does not grow with rows: id sets are bitmaps, parents are part ranges.

Not timed: these assert what the checks hold (bytes of state, parts cached) and that the
bounded structures answer exactly what the whole-table structures they replace answer. The
peak RSS at 1M and 3M leads is measured by ``benchmarks/scale.py --bundle``.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from core_support import PINNED
from leadforge.api import Generator
from leadforge.bundle.checks_keys import IdSet, id_limit
from leadforge.bundle.relational import (
    KeyJob,
    KeyPart,
    ParentIndex,
    ParentKeys,
    Parents,
    PartCache,
    _index,
    _runs,
    check_contract,
    scan_keys,
)
from leadforge.engine import LocalEngine
from leadforge.plugins import PluginHost
from leadforge.testing.tamper import partition

T = TypeVar("T")


def _reference(numbers: np.ndarray) -> tuple[np.ndarray, int, int | None]:
    unique, counts = np.unique(numbers, return_counts=True)
    repeated = unique[counts > 1]
    return unique, int(numbers.size - unique.size), int(repeated[0]) if repeated.size else None


@pytest.mark.parametrize("seed", range(20))
def test_id_set_answers_like_sorted_unique_numbers(seed: int) -> None:
    rng = np.random.default_rng(seed)
    limit = 1 << int(rng.integers(6, 12))
    sets, refs = [], []
    for _ in range(2):
        batches = [
            np.concatenate(
                [rng.integers(0, limit, int(rng.integers(0, 50))), rng.integers(limit, 4 * limit, 3)]
            ).astype(np.int64)
            for _ in range(int(rng.integers(1, 5)))
        ]
        ids = IdSet(limit, track=True)
        for b in batches:
            ids.add(b)
        sets.append(ids)
        refs.append(np.concatenate(batches))
    for ids, numbers in zip(sets, refs, strict=True):
        unique, repeats, first = _reference(numbers)
        assert ids.distinct == unique.size and ids.repeats == repeats and ids.first_repeat == first
        probe = np.arange(-3, 4 * limit + 3, dtype=np.int64)
        assert np.array_equal(ids.contains(probe), np.isin(probe, unique))
    both = np.intersect1d(refs[0], refs[1])
    count, examples = sets[0].common(sets[1])
    assert count == both.size and np.array_equal(examples, both[:3])


def test_id_set_memory_follows_the_largest_id_not_the_rows() -> None:
    """A million consecutive ids fill 125 kB of bits (at most half again while it grows), not
    8 MB of int64s; repeating them adds nothing; an id far beyond the bound goes to the side
    array instead of stretching the bitmap."""
    ids = IdSet(id_limit(2_000_000))
    for start in range(0, 1_000_000, 250_000):
        ids.add(np.arange(start, start + 250_000, dtype=np.int64))
    held = ids.nbytes
    assert held <= 1_000_000 // 8 * 3 // 2
    for start in range(0, 1_000_000, 250_000):
        ids.add(np.arange(start, start + 250_000, dtype=np.int64))
    assert ids.nbytes == held and ids.repeats == 1_000_000
    ids.add(np.array([10**17], dtype=np.int64))
    assert ids.nbytes <= held + 64 and ids.distinct == 1_000_001


def _write_parts(root: Path, rng: np.random.Generator) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Parent parts of rising ids (some consecutive, some with gaps), each above the last."""
    rels, numbers, days, low = [], [], [], 1
    (root / "tables/p").mkdir(parents=True)
    for k in range(int(rng.integers(1, 6))):
        n = int(rng.integers(0, 40))
        steps = rng.integers(1, 3, n) if rng.integers(0, 2) else np.ones(n, dtype=np.int64)
        run = (low - 1 + np.cumsum(steps)).astype(np.int64)
        day = rng.integers(0, 1000, n).astype(np.int32)
        rel = f"tables/p/part-{k:05d}.parquet"
        ids = pa.array([f"p_{v:06d}" for v in run], pa.string())
        pq.write_table(pa.table({"p_id": ids, "day": pa.array(day, pa.date32())}), root / rel)
        rels.append(rel)
        numbers.append(run)
        days.append(day)
        low = (int(run[-1]) if n else low) + int(rng.integers(1, 4))
    return rels, np.concatenate(numbers), np.concatenate(days)


@pytest.mark.parametrize("seed", range(12))
def test_parent_parts_resolve_like_every_key_held(tmp_path: Path, seed: int) -> None:
    """References looked up part by part (parts read on demand, a tiny cache forcing re-reads)
    find exactly the rows and days a lookup over every key finds."""
    rng = np.random.default_rng(seed)
    rels, numbers, days = _write_parts(tmp_path, rng)
    root = str(tmp_path)
    parts = [scan_keys(KeyJob(rel, "p_id", "p", False), root) for rel in rels]
    index = _index_of(rels, parts)
    flat = ParentKeys(numbers, {"day": days})
    cache = PartCache(budget=1)
    for _ in range(5):
        probe = rng.integers(-2, int(numbers.max(initial=0)) + 5, 64).astype(np.int64)
        (hit_a, got_a), (hit_b, got_b) = index.resolve(probe, root, cache), flat.resolve(probe, root, cache)
        assert np.array_equal(hit_a, hit_b)
        assert np.array_equal(got_a["day"], got_b["day"])
    assert len(cache.held) <= 1


def _index_of(rels: list[str], parts: list[KeyPart]) -> ParentIndex:
    table = SimpleNamespace(name="p", primary_key="p_id", id_prefix="p")
    return _index(table, rels, parts, ("day",), (False,))  # type: ignore[arg-type]


def test_a_part_cache_holds_at_most_its_budget(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    rels, numbers, _ = _write_parts(tmp_path, rng)
    root = str(tmp_path)
    parts = [scan_keys(KeyJob(rel, "p_id", "p", False), root) for rel in rels]
    index = _index_of(rels, parts)
    one = max(_runs([scan_keys(KeyJob(r, "p_id", "p", True, ("day",)), root)], ("day",)).nbytes for r in rels)
    cache = PartCache(budget=one)
    for _ in range(3):
        index.resolve(numbers, root, cache)
        assert cache.bytes <= max(one, 1) and len(cache.held) <= max(1, len(rels))


class _Spy(LocalEngine):
    """The in-process engine, keeping what validation broadcasts to its jobs."""

    def __init__(self) -> None:
        self.shared: list[object] = []

    def share(self, obj: T) -> T:
        self.shared.append(obj)
        return obj


@pytest.fixture(scope="module")
def parted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import toyplugin

    host = PluginHost.from_plugins([("toy", toyplugin)])
    root = (
        Generator.from_recipe("toy_v1", exposure_mode="research_instructor", host=host, n_rows=90)
        .generate()
        .save(tmp_path_factory.mktemp("memory") / "b", generation_timestamp=PINNED)
    )
    partition(root, 3)
    return root


def test_referenced_tables_are_held_as_part_ranges(parted: Path) -> None:
    """What the reference jobs receive of a parent is a range per part, nothing per entity,
    and the bundle still validates clean."""
    from leadforge.bundle.reader import BundleView, Manifest

    manifest = Manifest.load(parted)
    assert manifest.contract is not None
    spy = _Spy()
    bundle = BundleView(parted, manifest, engine=spy)
    assert list(check_contract(bundle, manifest.contract, public=False)) == []
    (parents,) = [s for s in spy.shared if isinstance(s, Parents)]
    assert parents.keys
    for name, keys in parents.keys.items():
        assert isinstance(keys, ParentIndex), name
        assert keys.lows.size == keys.highs.size == len(keys.rels) <= 3
