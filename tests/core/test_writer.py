"""``BundleWriter`` on its own: split assignment shared by key, split order, full rows in, refusals."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from leadforge.bundle import BundleWriter, RelationalContract, TableContract, TaskSpec
from leadforge.bundle.manifest import FileEntry, Manifest
from leadforge.bundle.splits import SPLITS
from leadforge.columns import id_range
from leadforge.config import GenerationConfig
from leadforge.enums import Difficulty, ExposureMode
from leadforge.errors import ExposureError, GenerationError
from leadforge.features import FeatureSpec
from leadforge.params import param
from leadforge.schema import TableSchema

ITEMS = TableSchema.of([("item_id", "string"), ("v", "Float64")])
CONTRACT = RelationalContract((TableContract("items", ITEMS, "item_id", "item"),))
TASK_SCHEMA = TableSchema.of([("item_id", "string"), ("v", "Float64"), ("hint", "Float64"), ("y", "boolean")])
CATALOG = [
    FeatureSpec("item_id", "string", "id", "ids", distort=False),
    FeatureSpec("v", "Float64", "a value", "f"),
    FeatureSpec(
        "hint", "Float64", "instructor only", "f", redacted_in=frozenset({ExposureMode.STUDENT_PUBLIC})
    ),
    FeatureSpec("y", "boolean", "label", "target", is_target=True, distort=False),
]


@dataclass(frozen=True)
class P:
    n: int = param(1, help="n")


def make_writer(root: Path, mode: ExposureMode = ExposureMode.RESEARCH_INSTRUCTOR) -> BundleWriter:
    config = GenerationConfig("r_v1", "s", 5, mode, Difficulty.INTRO, P())
    return BundleWriter(root, config, CONTRACT, split_salt=1234)


def finish(writer: BundleWriter) -> Manifest:
    writer.write_dataset_card("# card")
    return writer.finalize(timestamp="t", plugins=[], package_version="0")


def task(task_id: str, label: str = "y", **kw: object) -> TaskSpec:
    return TaskSpec(task_id, "binary_classification", label, 30, "items", "item_id", "d", **kw)  # type: ignore[arg-type]


def rows(ids: pa.Array, seed: int) -> dict[str, object]:
    g = np.random.default_rng(seed)
    n = len(ids)
    return {"item_id": ids, "v": g.normal(size=n), "hint": g.normal(size=n), "y": g.random(n) < 0.3}


def split_of(root: Path, task_id: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for s in SPLITS:
        for key in pq.read_table(root / f"tasks/{task_id}/{s}.parquet").column("item_id").to_pylist():
            out[key] = s
    return out


def test_chunks_are_written_in_order_and_hashed(tmp_path: Path) -> None:
    writer = make_writer(tmp_path / "b")
    writer.declare_features(CATALOG)
    writer.write_metadata_chunks("big.json", iter([b'{"a": ', b"[1, 2", b", 3]}"]))
    manifest = finish(writer)
    data = (tmp_path / "b" / "metadata" / "big.json").read_bytes()
    assert json.loads(data) == {"a": [1, 2, 3]}
    assert manifest.files is not None
    assert manifest.files["metadata/big.json"] == FileEntry(hashlib.sha256(data).hexdigest(), len(data))


def test_chunks_are_refused_in_a_public_bundle(tmp_path: Path) -> None:
    writer = make_writer(tmp_path / "b", ExposureMode.STUDENT_PUBLIC)
    with pytest.raises(ExposureError):
        writer.write_metadata_chunks("big.json", iter([b"{}"]))
    assert not (tmp_path / "b" / "metadata").exists()


def test_tasks_sharing_a_key_share_one_split_per_key(tmp_path: Path) -> None:
    """The first stratified task decides; a follower reuses it and places other keys by hash."""
    root = tmp_path / "b"
    writer = make_writer(root)
    writer.declare_features(CATALOG)
    writer.declare_task(task("lead"), TASK_SCHEMA)
    writer.declare_task(task("plain", stratify=False), TASK_SCHEMA)
    ids = id_range("item", 1, 2000)
    lead, plain = rows(ids, 1), rows(ids.slice(500), 2)
    writer.write_shard(0, tasks={"plain": plain, "lead": lead})
    finish(writer)
    lead_split, plain_split = split_of(root, "lead"), split_of(root, "plain")
    assert all(plain_split[k] == lead_split[k] for k in plain_split)
    assert len(plain_split) == 1500 and len(lead_split) == 2000
    labels = dict(zip(ids.to_pylist(), np.asarray(lead["y"]).tolist(), strict=True))
    positives = [k for k in lead_split if labels[k]]
    assert sum(lead_split[k] == "train" for k in positives) == int(len(positives) * 0.7)
    for tid in ("lead", "plain"):
        tm = json.loads((root / f"tasks/{tid}/task_manifest.json").read_text())
        assert tm["stratified_by"] == "lead.y" and tm["stratified"] is (tid == "lead")


def test_a_stratified_task_after_an_unstratified_one_on_the_same_key_is_refused(tmp_path: Path) -> None:
    writer = make_writer(tmp_path / "b")
    writer.declare_features(CATALOG)
    writer.declare_task(task("plain", stratify=False), TASK_SCHEMA)
    with pytest.raises(GenerationError, match="declare the stratified one first"):
        writer.declare_task(task("late"), TASK_SCHEMA)


def test_split_files_are_sorted_by_key_whatever_order_rows_arrive_in(tmp_path: Path) -> None:
    root = tmp_path / "b"
    writer = make_writer(root)
    writer.declare_features(CATALOG)
    writer.declare_task(task("t"), TASK_SCHEMA)
    numbers = np.random.default_rng(0).permutation(np.arange(1, 801))
    writer.write_shard(0, tasks={"t": rows(pa.array([f"item_{n:06d}" for n in numbers]), 3)})
    finish(writer)
    for s in SPLITS:
        keys = pq.read_table(root / f"tasks/t/{s}.parquet").column("item_id").to_pylist()
        assert keys and keys == sorted(keys)


def test_task_rows_arrive_full_and_lose_redacted_columns_in_public(tmp_path: Path) -> None:
    root = tmp_path / "p"
    writer = make_writer(root, ExposureMode.STUDENT_PUBLIC)
    writer.declare_features(CATALOG)
    writer.declare_task(task("t"), TASK_SCHEMA)
    writer.write_table("items", {"item_id": id_range("item", 1, 40), "v": np.ones(40)})
    writer.write_shard(0, tasks={"t": pa.table(rows(id_range("item", 1, 40), 4))})
    manifest = finish(writer)
    assert manifest.redacted_columns == ("hint",)
    for s in SPLITS:
        assert pq.read_schema(root / f"tasks/t/{s}.parquet").names == ["item_id", "v", "y"]


@pytest.mark.parametrize(
    ("act", "message"),
    [
        (lambda w: w.write_table("nope", {"x": [1]}), "not declared in the scheme's relational contract"),
        (
            lambda w: w.write_shard(0, tasks={"ghost": {"item_id": ["item_000001"]}}),
            r"tasks \['ghost'\] were not declared",
        ),
        (
            lambda w: w.write_table("items", {"item_id": ["item_000001"]}),
            "table items: table columns do not match",
        ),
        (
            lambda w: w.write_shard(-1, {"items": {"item_id": ["item_000001"], "v": [1.0]}}),
            "shard index must be >= 0",
        ),
        (lambda w: w.declare_task(task("t2", label="zz"), TASK_SCHEMA), "column 'zz' is not in its schema"),
        (lambda w: w.write_metadata_json("../escape.json", {}), "not a valid metadata file name"),
    ],
)
def test_the_writer_refuses_what_would_break_the_contract(act, message: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    writer = make_writer(tmp_path / "b")
    writer.declare_features(CATALOG)
    with pytest.raises(GenerationError, match=message):
        act(writer)


def test_the_catalog_comes_first_and_a_finalised_bundle_takes_no_more_rows(tmp_path: Path) -> None:
    writer = make_writer(tmp_path / "b")
    writer.write_table("items", {"item_id": id_range("item", 1, 3), "v": np.ones(3)})
    with pytest.raises(GenerationError, match="must be called before writing data"):
        writer.declare_features(CATALOG)
    other = make_writer(tmp_path / "c")
    other.declare_features(CATALOG)
    finish(other)
    with pytest.raises(GenerationError, match="rows are already closed"):
        other.write_table("items", {"item_id": id_range("item", 1, 3), "v": np.ones(3)})
