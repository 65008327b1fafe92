"""Same bytes for any number of workers, any scheduler and any order in which shards finish.

Shards run on a Dask ``LocalCluster`` of worker processes; the bundle is hashed file by file
and compared with the one written in this process. A shuffled engine runs the shards in a
random order, as a busy cluster would finish them.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from leadforge.api import Generator
from leadforge.bundle import Manifest
from leadforge.engine import LOCAL, open_engine

PINNED = "2026-01-01T00:00:00+00:00"

#: Several shards per world, small enough for a test.
WORLDS = {
    "lead_scoring": (
        "b2b_saas_procurement_v1",
        {"n_accounts": 400, "n_contacts": 1100, "n_leads": 1400, "shard_accounts": 90},
    ),
    "lifecycle": ("b2b_saas_ltv_v1", {"n_customers": 900, "shard_size": 200}),
}


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


class ShuffledEngine:
    """Runs items in a random order (results still returned in item order)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    @property
    def workers(self) -> int:
        return 1

    def map(
        self,
        fn: Callable[..., Any],
        items: Sequence[Any],
        *args: Any,
        progress: Callable[[int, int], None] | None = None,
        light: bool = False,
    ) -> list[Any]:
        order = list(range(len(items)))
        self.rng.shuffle(order)
        out: dict[int, Any] = {}
        for i in order:
            out[i] = fn(items[i], *args)
            if progress is not None:
                progress(len(out), len(items))
        return [out[i] for i in range(len(items))]

    def start(self, fn: Callable[..., Any], items: Sequence[Any], *args: Any) -> Callable[[], list[Any]]:
        return lambda: self.map(fn, items, *args)

    def share(self, obj: Any) -> Any:
        return obj


def _generator(scheme: str, mode: str) -> Generator:
    recipe, params = WORLDS[scheme]
    return Generator.from_recipe(recipe, seed=11, exposure_mode=mode, **params)


@pytest.fixture(scope="module")
def cluster_of_two():
    pytest.importorskip("distributed", reason="needs leadforge-core[dask]")
    with open_engine(2) as engine:
        yield engine


@pytest.mark.parametrize("mode", ["student_public", "research_instructor"])
@pytest.mark.parametrize("scheme", sorted(WORLDS))
def test_two_workers_and_any_finishing_order_write_the_same_bytes(
    tmp_path: Path, scheme: str, mode: str, cluster_of_two: Any
) -> None:
    bundle = _generator(scheme, mode).generate()
    bundle.save(tmp_path / "local", generation_timestamp=PINNED, engine=LOCAL)
    local = tree_hashes(tmp_path / "local")
    manifest = Manifest.load(tmp_path / "local")
    assert any(e.parts for e in manifest.tables.values()), "the world must have several shards"
    bundle.save(tmp_path / "shuffled", generation_timestamp=PINNED, engine=ShuffledEngine(5))
    assert tree_hashes(tmp_path / "shuffled") == local
    bundle.save(tmp_path / "two", generation_timestamp=PINNED, engine=cluster_of_two)
    assert tree_hashes(tmp_path / "two") == local


@pytest.mark.slow
@pytest.mark.parametrize("scheme", sorted(WORLDS))
def test_one_two_and_four_local_workers_write_the_same_bytes(tmp_path: Path, scheme: str) -> None:
    pytest.importorskip("distributed", reason="needs leadforge-core[dask]")
    bundle = _generator(scheme, "research_instructor").generate()
    hashes = []
    for workers in (1, 2, 4):
        out = tmp_path / f"w{workers}"
        bundle.save(out, generation_timestamp=PINNED, workers=workers)
        hashes.append(tree_hashes(out))
    assert hashes[0] == hashes[1] == hashes[2]


def test_a_partitioned_bundle_reads_like_one_file_per_table(tmp_path: Path) -> None:
    """Parts in shard order are the table: pandas reads the folder, and the manifest lists every part."""
    pd = pytest.importorskip("pandas")
    bundle = _generator("lead_scoring", "research_instructor").generate()
    out = bundle.save(tmp_path / "b", generation_timestamp=PINNED)
    manifest = Manifest.load(out)
    leads = manifest.tables["leads"]
    assert leads.file == "tables/leads" and len(leads.parts) > 1
    frame = pd.read_parquet(out / "tables" / "leads")
    assert len(frame) == leads.row_count
    assert frame["lead_id"].is_unique
    assert set(leads.parts) <= set(manifest.files or {})
    task = next(iter(manifest.tasks.values()))
    assert all(len(task.parts[s]) == len(leads.parts) for s in ("train", "valid", "test"))
    assert sum(task.rows.values()) == leads.row_count
