"""Validation reads both bundle layouts alike, checks parts, and gives the same findings on any engine.

A toy bundle is rewritten in the multi-shard layout (``leadforge.testing.tamper.partition``), so
the single-file and partitioned layouts hold the same rows; defects planted in one part must be
found exactly as they are in a single file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from core_support import PINNED
from leadforge.api import Generator
from leadforge.bundle.manifest import parts_digest
from leadforge.bundle.reader import BundleView
from leadforge.findings import Finding
from leadforge.plugins import PluginHost
from leadforge.testing.tamper import partition
from leadforge.validation import validate_bundle

PARTS = 3


@pytest.fixture(scope="module")
def host() -> PluginHost:
    import toyplugin

    return PluginHost.from_plugins([("toy", toyplugin)])


@pytest.fixture(scope="module")
def single(host: PluginHost, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("layouts")
    return (
        Generator.from_recipe(
            "toy_v1", exposure_mode="research_instructor", host=host, n_rows=90, chunk_rows=30
        )
        .generate()
        .save(base / "single", generation_timestamp=PINNED)
    )


@pytest.fixture
def parted(single: Path, tmp_path: Path) -> Path:
    root = tmp_path / "parted"
    shutil.copytree(single, root)
    partition(root, PARTS)
    return root


def found(root: Path, host: PluginHost) -> list[tuple[str, str | None]]:
    return [(f.message, f.where) for f in validate_bundle(root, host).errors]


def rewrite_part(root: Path, rel: str, table: pa.Table) -> None:
    """Replace one part and re-hash it in the manifest, as a careful cheater would."""
    pq.write_table(table, root / rel)
    raw = json.loads((root / "manifest.json").read_text())
    data = (root / rel).read_bytes()
    raw["files"][rel] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    for entry in raw["tables"].values():
        if rel in entry.get("parts", []):
            entry["sha256"] = parts_digest([raw["files"][p]["sha256"] for p in entry["parts"]])
            entry["row_count"] = sum(pq.read_metadata(root / p).num_rows for p in entry["parts"])
    (root / "manifest.json").write_text(json.dumps(raw, indent=2))


def test_the_partitioned_copy_is_a_valid_bundle_with_the_same_rows(
    single: Path, parted: Path, host: PluginHost
) -> None:
    assert found(single, host) == [] and found(parted, host) == []
    one, many = BundleView(single), BundleView(parted)
    assert many.table_files("events") == tuple(f"tables/events/part-{i:05d}.parquet" for i in range(PARTS))
    assert one.table_files("events") == ("tables/events.parquet",)
    assert many.table_names() == one.table_names()
    for name in one.table_names():
        assert many.table(name).equals(one.table(name))
        assert many.num_rows(many.table_files(name)) == one.num_rows(one.table_files(name))
    streamed = pa.Table.from_batches(
        list(many.iter_batches(many.table_files("events"), ["event_id"], batch_rows=7))
    )
    assert streamed.column("event_id").equals(one.table("events", ["event_id"]).column("event_id"))
    assert max(len(b) for b in many.iter_batches(many.table_files("events"), ["event_id"], batch_rows=7)) <= 7
    for split in ("train", "valid", "test"):
        assert many.split("toy_task", split).equals(one.split("toy_task", split))


def test_the_view_keeps_no_rows_after_a_check(parted: Path, host: PluginHost) -> None:
    view = BundleView(parted)
    view.table("events")
    held = [v for v in vars(view).values() if isinstance(v, pa.Table | pa.ChunkedArray | pa.Array)]
    assert held == []
    assert all(isinstance(v, pa.Schema) for v in view._schemas.values())


def test_a_duplicate_key_in_another_part_is_found(parted: Path, host: PluginHost) -> None:
    rel = "tables/rows/part-00001.parquet"
    t = pq.read_table(parted / rel)
    first = pq.read_table(parted / "tables/rows/part-00000.parquet").column("row_id")[0].as_py()
    ids = t.column("row_id").to_pylist()
    rewrite_part(
        parted, rel, t.set_column(0, "row_id", pa.array([first, *ids[1:]], type=t.schema.field(0).type))
    )
    assert ("1 duplicate id(s), e.g. " + first, "tables/rows:row_id") in found(parted, host)


def test_a_dangling_reference_in_a_later_part_is_found(parted: Path, host: PluginHost) -> None:
    rel = "tables/events/part-00002.parquet"
    t = pq.read_table(parted / rel)
    i = t.schema.get_field_index("row_id")
    rows = ["row_999999", *t.column("row_id").to_pylist()[1:]]
    rewrite_part(parted, rel, t.set_column(i, "row_id", pa.array(rows, type=t.schema.field(i).type)))
    assert ("1 reference(s) to rows do not resolve, e.g. row_999999", "tables/events:row_id") in found(
        parted, host
    )


def test_missing_stray_and_misnumbered_parts_are_found(
    parted: Path, host: PluginHost, tmp_path: Path
) -> None:
    missing = tmp_path / "missing"
    shutil.copytree(parted, missing)
    (missing / "tables/events/part-00001.parquet").unlink()
    assert ("table file is missing", "tables/events/part-00001.parquet") in found(missing, host)

    stray = tmp_path / "stray"
    shutil.copytree(parted, stray)
    shutil.copyfile(stray / "tables/events/part-00000.parquet", stray / "tables/events/part-00003.parquet")
    assert ("a part that the manifest does not list", "tables/events/part-00003.parquet") in found(
        stray, host
    )

    digest = tmp_path / "digest"
    shutil.copytree(parted, digest)
    raw = json.loads((digest / "manifest.json").read_text())
    raw["tables"]["events"]["parts"] = raw["tables"]["events"]["parts"][::-1]
    (digest / "manifest.json").write_text(json.dumps(raw))
    problems = found(digest, host)
    assert any(m.startswith("parts must be tables/events/part-00000.parquet") for m, _ in problems), problems
    assert ("hash disagrees with its parts' hashes in the files section", "tables/events") in problems

    rows = tmp_path / "rows"
    shutil.copytree(parted, rows)
    raw = json.loads((rows / "manifest.json").read_text())
    raw["tables"]["events"]["row_count"] += 1
    (rows / "manifest.json").write_text(json.dumps(raw))
    count = raw["tables"]["events"]["row_count"]
    assert (f"expected {count} rows, got {count - 1}", "tables/events") in found(rows, host)


def test_split_keys_are_checked_across_parts(parted: Path, host: PluginHost) -> None:
    train = pq.read_table(parted / "tasks/toy_task/train/part-00000.parquet")
    rel = "tasks/toy_task/valid/part-00002.parquet"
    valid = pq.read_table(parted / rel)
    pq.write_table(pa.concat_tables([valid, train.slice(0, 2)]), parted / rel)
    raw = json.loads((parted / "manifest.json").read_text())
    data = (parted / rel).read_bytes()
    raw["files"][rel] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    entry = raw["tasks"]["toy_task"]
    entry["valid_sha256"] = parts_digest([raw["files"][p]["sha256"] for p in entry["parts"]["valid"]])
    entry["valid_rows"] += 2
    (parted / "manifest.json").write_text(json.dumps(raw))
    messages = [m for m, _ in found(parted, host)]
    assert any("2 row_id value(s) appear in both train and valid" in m for m in messages), messages


def _planted(parted: Path) -> None:
    """A dangling reference, a duplicate key across parts and an edited card."""
    rel = "tables/events/part-00002.parquet"
    t = pq.read_table(parted / rel)
    i = t.schema.get_field_index("row_id")
    rows = ["row_999999", *t.column("row_id").to_pylist()[1:]]
    rewrite_part(parted, rel, t.set_column(i, "row_id", pa.array(rows, type=t.schema.field(i).type)))
    rel = "tables/rows/part-00001.parquet"
    t = pq.read_table(parted / rel)
    first = pq.read_table(parted / "tables/rows/part-00000.parquet").column("row_id")[0].as_py()
    ids = [first, *t.column("row_id").to_pylist()[1:]]
    rewrite_part(parted, rel, t.set_column(0, "row_id", pa.array(ids, type=t.schema.field(0).type)))
    with open(parted / "dataset_card.md", "a") as fh:
        fh.write("edited\n")


@pytest.mark.slow
def test_findings_are_the_same_on_a_dask_cluster(parted: Path, host: PluginHost) -> None:
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    from leadforge.engine import open_engine

    _planted(parted)
    local = validate_bundle(parted, host).findings
    seen: list[tuple[str, int, int]] = []

    class Record:
        def update(self, stage: str, done: int, total: int) -> None:
            seen.append((stage, done, total))

    with open_engine(workers=2) as engine:
        assert engine.workers == 2
        remote = validate_bundle(parted, host, engine=engine, progress=Record()).findings
    assert remote == local
    wheres = {f.where for f in local if isinstance(f, Finding)}
    assert {"tables/events:row_id", "tables/rows:row_id", "dataset_card.md"} <= wheres, local
    assert seen and all(stage == "validating" and 0 < done <= total for stage, done, total in seen)


def test_hostile_part_lists_are_findings_not_reads(parted: Path, host: PluginHost, tmp_path: Path) -> None:
    outside = tmp_path / "outside.parquet"
    shutil.copyfile(parted / "tables/events/part-00000.parquet", outside)
    raw = json.loads((parted / "manifest.json").read_text())
    raw["tables"]["events"]["parts"][1] = "../outside.parquet"
    (parted / "manifest.json").write_text(json.dumps(raw))
    (parted / "tables/events/part-00002.parquet").unlink()
    (parted / "tables/events/part-00002.parquet").symlink_to(outside)
    report = validate_bundle(parted, host)
    wheres = {f.where for f in report.errors}
    assert "../outside.parquet" in wheres and "tables/events/part-00002.parquet" in wheres, report.errors
    assert not report.ok


def test_runs_of_consecutive_keys_resolve_like_sorted_numbers() -> None:
    """Parents keep only (low, high, start) per part when their ids are consecutive (numbers
    otherwise); a lookup must find exactly what a search over every number finds."""
    import numpy as np
    from leadforge.bundle.relational import KeyPart, ParentKeys, _runs

    rng = np.random.default_rng(3)
    for _ in range(100):
        parts, numbers, days, low = [], [], [], 1
        for _ in range(int(rng.integers(1, 5))):
            n = int(rng.integers(0, 6))
            low += int(rng.integers(0, 4))
            steps = rng.integers(1, 3, n) if rng.integers(0, 2) else np.ones(n, dtype=np.int64)
            run = (low - 1 + np.cumsum(steps)).astype(np.int64)
            d = rng.integers(0, 100, n).astype(np.int32)
            high = int(run[-1]) if n else -1
            kept = run if n and high - int(run[0]) + 1 != n else None
            first = int(run[0]) if n else np.iinfo(np.int64).max
            parts.append(KeyPart(n, 0, first, high, True, kept, (d,)))
            numbers.append(run)
            days.append(d)
            low = max(low, high + 1)
        keys = _runs(parts, ("day",))
        assert (keys.numbers is None) == all(p.numbers is None for p in parts)
        flat = ParentKeys(np.concatenate(numbers), {"day": np.concatenate(days)})
        probe = np.arange(-2, low + 3, dtype=np.int64)
        (hit_a, pos_a), (hit_b, pos_b) = keys.find(probe), flat.find(probe)
        assert np.array_equal(hit_a, hit_b)
        assert np.array_equal(keys.days["day"][pos_a[hit_a]], flat.days["day"][pos_b[hit_b]])
