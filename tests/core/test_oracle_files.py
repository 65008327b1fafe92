"""Oracle columns: stripped from every task split, written to ``metadata/oracle`` only for instructors."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from leadforge.bundle import BundleWriter, RelationalContract, TableContract, TaskSpec
from leadforge.bundle.shards import ShardOut
from leadforge.bundle.splits import SPLITS
from leadforge.bundle.tasks import OracleSpec
from leadforge.columns import id_range
from leadforge.config import GenerationConfig
from leadforge.enums import Difficulty, ExposureMode
from leadforge.errors import GenerationError
from leadforge.features import FeatureSpec
from leadforge.params import param
from leadforge.schema import TableSchema

ITEMS = TableSchema.of([("item_id", "string"), ("v", "Float64")])
CONTRACT = RelationalContract((TableContract("items", ITEMS, "item_id", "item"),))
PLAIN = TableSchema.of([("item_id", "string"), ("v", "Float64"), ("y", "boolean")])
WITH_ORACLE = TableSchema.of([*PLAIN.columns, *TableSchema.of([("p_true", "Float64")]).columns])
CATALOG = [
    FeatureSpec("item_id", "string", "id", "ids", distort=False),
    FeatureSpec("v", "Float64", "a value", "f"),
    FeatureSpec("y", "boolean", "label", "target", is_target=True, distort=False),
]
ORACLE = OracleSpec("p_true", "replicates", 16, "mean of 16 simulated futures")
ROWS_PER_SHARD = 400


@dataclass(frozen=True)
class P:
    n: int = param(1, help="n")


def spec(oracle: OracleSpec | None) -> TaskSpec:
    return TaskSpec("t", "binary_classification", "y", 30, "items", "item_id", "d", oracle=oracle)


def shard_rows(index: int, oracle: bool) -> dict[str, object]:
    g = np.random.default_rng(index)
    p = g.random(ROWS_PER_SHARD)
    rows: dict[str, object] = {
        "item_id": id_range("item", index * ROWS_PER_SHARD + 1, ROWS_PER_SHARD),
        "v": p + g.normal(0, 0.3, ROWS_PER_SHARD),
        "y": g.random(ROWS_PER_SHARD) < p,
    }
    if oracle:
        rows["p_true"] = p
    return rows


def write(root: Path, mode: ExposureMode, oracle: bool, shards: int, *, mapped: bool) -> BundleWriter:
    config = GenerationConfig("r_v1", "s", 5, mode, Difficulty.INTRO, P())
    writer = BundleWriter(root, config, CONTRACT, split_salt=99)
    writer.declare_features(CATALOG)
    writer.declare_task(spec(ORACLE if oracle else None), WITH_ORACLE if oracle else PLAIN)
    if mapped:
        writer.map_shards(partial(_shard, oracle), shards)
    else:
        for i in range(shards):
            writer.write_shard(i, tasks={"t": shard_rows(i, oracle)})
    writer.write_dataset_card("# card")
    writer.finalize(timestamp="t", plugins=[], package_version="0")
    return writer


def _shard(oracle: bool, out: ShardOut) -> None:
    out.write(tasks={"t": shard_rows(out.index, oracle)})


def digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((root / "tasks").rglob("*.parquet"))
    }


@pytest.mark.parametrize(("shards", "mapped"), [(2, False), (3, True)])
def test_splits_are_byte_identical_with_or_without_an_oracle(
    tmp_path: Path, shards: int, mapped: bool
) -> None:
    mode = ExposureMode.RESEARCH_INSTRUCTOR
    with_oracle = write(tmp_path / "o", mode, True, shards, mapped=mapped).root
    without = write(tmp_path / "n", mode, False, shards, mapped=mapped).root
    assert digests(with_oracle) == digests(without)
    for path in (with_oracle / "tasks").rglob("*.parquet"):
        assert "p_true" not in pq.read_schema(path).names


@pytest.mark.parametrize(("shards", "mapped"), [(2, False), (3, True)])
def test_oracle_file_keys_every_task_row_with_its_split_label_and_value(
    tmp_path: Path, shards: int, mapped: bool
) -> None:
    root = write(tmp_path / "b", ExposureMode.RESEARCH_INSTRUCTOR, True, shards, mapped=mapped).root
    oracle = pq.read_table(
        root / ("metadata/oracle/t.parquet" if shards == 1 or not mapped else "metadata/oracle/t")
    )
    assert oracle.column_names == ["item_id", "split", "y", "p_true"]
    truth: dict[str, float] = {}
    for i in range(shards):
        r = shard_rows(i, True)
        truth.update(zip(r["item_id"].to_pylist(), np.asarray(r["p_true"]).tolist(), strict=True))  # type: ignore[attr-defined]
    assert oracle.num_rows == len(truth) == shards * ROWS_PER_SHARD
    got = dict(zip(oracle.column("item_id").to_pylist(), oracle.column("p_true").to_pylist(), strict=True))
    assert got == truth
    for split in SPLITS:
        files = sorted((root / "tasks/t").glob(f"{split}*")) if not mapped else [root / "tasks/t" / split]
        task_rows = pa.concat_tables(pq.read_table(f) for f in files)
        mine = oracle.filter(pc.equal(oracle.column("split"), split))
        assert mine.column("item_id").to_pylist() == task_rows.column("item_id").to_pylist()
        assert mine.column("y").to_pylist() == task_rows.column("y").to_pylist()


def test_oracle_files_are_in_the_manifest_files(tmp_path: Path) -> None:
    writer = write(tmp_path / "b", ExposureMode.RESEARCH_INSTRUCTOR, True, 3, mapped=True)
    manifest_files = (writer.root / "manifest.json").read_text()
    for k in range(3):
        rel = f"metadata/oracle/t/part-{k:05d}.parquet"
        assert (writer.root / rel).is_file() and f'"{rel}"' in manifest_files


@pytest.mark.parametrize("mapped", [False, True])
def test_public_bundles_hold_no_oracle(tmp_path: Path, mapped: bool) -> None:
    root = write(tmp_path / "b", ExposureMode.STUDENT_PUBLIC, True, 2, mapped=mapped).root
    assert not (root / "metadata").exists()
    assert "p_true" not in (root / "manifest.json").read_text()


def test_oracle_column_must_exist_and_be_float(tmp_path: Path) -> None:
    config = GenerationConfig("r_v1", "s", 5, ExposureMode.RESEARCH_INSTRUCTOR, Difficulty.INTRO, P())
    writer = BundleWriter(tmp_path / "b", config, CONTRACT, split_salt=1)
    writer.declare_features(CATALOG)
    with pytest.raises(GenerationError, match="p_true"):
        writer.declare_task(spec(ORACLE), PLAIN)
    ints = TableSchema.of([*PLAIN.columns, *TableSchema.of([("p_true", "Int64")]).columns])
    with pytest.raises(GenerationError, match="Float64"):
        writer.declare_task(spec(ORACLE), ints)


def test_oracle_spec_refuses_inconsistent_methods() -> None:
    with pytest.raises(ValueError, match="replicates"):
        OracleSpec("p", "replicates")
    with pytest.raises(ValueError, match="replicates"):
        OracleSpec("p", "exact", 8)
    with pytest.raises(ValueError, match="method"):
        OracleSpec("p", "guess")
    with pytest.raises(ValueError, match="key or label"):
        TaskSpec("t", "binary_classification", "y", 30, "items", "item_id", "d", oracle=OracleSpec("y"))


def oracle_findings(root: Path) -> list[str]:
    from leadforge import builtin
    from leadforge.bundle.reader import BundleView, Manifest

    manifest = Manifest.load(root)
    return [str(f) for f in builtin.validate(BundleView(root, manifest), manifest) if f.check == "oracle"]


@pytest.mark.parametrize(("shards", "mapped"), [(2, False), (3, True)])
def test_validation_accepts_a_true_answer_key(tmp_path: Path, shards: int, mapped: bool) -> None:
    root = write(tmp_path / "b", ExposureMode.RESEARCH_INSTRUCTOR, True, shards, mapped=mapped).root
    assert oracle_findings(root) == []
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda t: t.take(pa.array(np.roll(np.arange(t.num_rows), 1))), "do not match the task's split rows"),
        (lambda t: t.set_column(3, "p_true", pc.add(t.column(3), 1.0)), "outside [0, 1]"),
        (lambda t: t.set_column(3, "p_true", pc.divide(t.column(3), 0.0)), "finite"),
        (lambda t: t.drop_columns(["split"]), "columns must be"),
    ],
)
def test_validation_catches_a_tampered_answer_key(tmp_path: Path, edit: object, says: str) -> None:
    root = write(tmp_path / "b", ExposureMode.RESEARCH_INSTRUCTOR, True, 2, mapped=False).root
    path = root / "metadata/oracle/t.parquet"
    pq.write_table(edit(pq.read_table(path)), path)  # type: ignore[operator]
    assert any(says in f for f in oracle_findings(root)), oracle_findings(root)


@pytest.mark.parametrize(("shards", "mapped"), [(2, False), (3, True)])
def test_the_card_and_ceiling_json_score_the_oracle_against_the_labels(
    tmp_path: Path, shards: int, mapped: bool
) -> None:
    import json

    from leadforge import scoring

    root = write(tmp_path / "b", ExposureMode.RESEARCH_INSTRUCTOR, True, shards, mapped=mapped).root
    (task,) = json.loads((root / "metadata/oracle/ceiling.json").read_text())["tasks"]
    oracle = pq.read_table(root / ("metadata/oracle/t" if mapped else "metadata/oracle/t.parquet"))
    for split in SPLITS:
        mine = oracle.filter(pc.equal(oracle.column("split"), split))
        p, y = np.asarray(mine.column("p_true")), np.asarray(mine.column("y"), dtype=float)
        got = task["splits"][split]
        assert got["oracle"]["auc"] == pytest.approx(scoring.auc(p, y), abs=1e-6)
        assert got["oracle"]["brier"] == pytest.approx(scoring.brier(p, y), abs=1e-6)
        assert got["oracle"]["rows"] == mine.num_rows
        assert got["baseline"]["auc"] <= got["oracle"]["auc"] + 0.05
    card = (root / "dataset_card.md").read_text()
    assert "## The answer key" in card and "replicates" in card
    assert f"{task['splits']['test']['oracle']['auc']:.3f}" in card


def test_bundles_without_an_oracle_get_no_answer_key_section(tmp_path: Path) -> None:
    root = write(tmp_path / "b", ExposureMode.RESEARCH_INSTRUCTOR, False, 2, mapped=False).root
    assert "answer key" not in (root / "dataset_card.md").read_text()
    assert not (root / "metadata").exists()


def test_the_manifest_lists_each_answer_key(tmp_path: Path) -> None:
    from leadforge.bundle.manifest import Manifest

    root = write(tmp_path / "b", ExposureMode.RESEARCH_INSTRUCTOR, True, 3, mapped=True).root
    entry = Manifest.load(root).oracles["t"]
    assert entry["method"] == "replicates" and entry["replicates"] == 16
    assert entry["files"] == [f"metadata/oracle/t/part-{k:05d}.parquet" for k in range(3)]
    public = write(tmp_path / "p", ExposureMode.STUDENT_PUBLIC, True, 3, mapped=True).root
    assert Manifest.load(public).oracles == {}
