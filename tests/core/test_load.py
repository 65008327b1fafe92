"""``leadforge.load``: lazy tables and task splits, both layouts, hash-checked reads; the docs example runs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import leadforge
import pandas as pd
import pyarrow as pa
import pytest
from core_support import require_first_party
from export_support import MODES, bundle_split, bundle_table, make_bundle, partitioned_copy
from leadforge.bundle.manifest import SPLITS, Manifest
from leadforge.errors import BundleError, UsageError
from leadforge.loaded import load

require_first_party()

DOC = Path(__file__).resolve().parents[2] / "docs" / "export.md"


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bundles")
    out = {mode: make_bundle(root / mode, mode) for mode in MODES}
    out["partitioned"] = partitioned_copy(out["research_instructor"], root / "partitioned", count=4)
    out["sharded"] = make_bundle(root / "sharded", "research_instructor", shard_accounts=30)
    assert len(Manifest.load(out["sharded"]).split_files("converted_within_90_days", "train")) == 3
    return out


@pytest.mark.parametrize("which", [*MODES, "partitioned", "sharded"])
def test_tables_and_splits_equal_the_bundle_files(bundles: dict[str, Path], which: str) -> None:
    root = bundles[which]
    b = load(root)
    m = Manifest.load(root)
    assert list(b.tables) == list(m.tables) and len(b.tables) == len(m.tables)
    for name in m.tables:
        want = bundle_table(root, name)
        t = b.tables[name]
        assert t.num_rows == m.tables[name].row_count == want.num_rows
        assert t.to_arrow().equals(want)
        frame = t.to_pandas()
        assert isinstance(frame, pd.DataFrame) and len(frame) == want.num_rows
        assert frame.equals(want.to_pandas())
        streamed = [batch for batch in t.iter_batches(batch_size=50)]
        assert all(batch.num_rows <= 50 for batch in streamed)
        assert pa.Table.from_batches(streamed, schema=want.schema).equals(want)
    for task_id in m.tasks:
        task, arrow = b.task(task_id), b.task(task_id, kind="arrow")
        for s in SPLITS:
            want = bundle_split(root, task_id, s)
            assert arrow.split(s).equals(want)
            assert getattr(task, s).equals(want.to_pandas())
            assert len(getattr(task, s)) == m.tasks[task_id].rows[s]
        assert task.manifest.task_id == task_id


def test_public_tables_hold_only_what_the_public_view_keeps(bundles: dict[str, Path]) -> None:
    b = load(bundles["student_public"])
    m = b.manifest
    assert m.is_public
    assert not set(m.structural_redactions.omitted_tables) & set(b.tables)
    for table, dropped in m.structural_redactions.columns.items():
        assert not set(dropped) & set(b.tables[table].schema.names)


def test_nothing_is_read_until_asked(bundles: dict[str, Path], tmp_path: Path) -> None:
    copy = tmp_path / "b"
    shutil.copytree(bundles["student_public"], copy)
    (copy / "tables" / "touches.parquet").write_bytes(b"garbage")
    b = load(copy)
    assert b.tables["leads"].num_rows == 300
    b.tables["leads"].to_arrow()
    with pytest.raises(BundleError, match=r"tables/touches.parquet does not match its SHA-256"):
        b.tables["touches"].to_arrow()
    with pytest.raises(BundleError, match="touches.parquet is not a readable Parquet file"):
        load(copy, verify=False).tables["touches"].to_arrow()


def test_links_and_bad_names_are_refused(bundles: dict[str, Path], tmp_path: Path) -> None:
    copy = tmp_path / "b"
    shutil.copytree(bundles["student_public"], copy)
    (copy / "tables" / "leads.parquet").rename(tmp_path / "leads.parquet")
    (copy / "tables" / "leads.parquet").symlink_to(tmp_path / "leads.parquet")
    b = load(copy)
    with pytest.raises(BundleError, match="link"):
        b.tables["leads"].to_arrow()
    with pytest.raises(KeyError, match="no table 'nope'"):
        b.tables["nope"]
    with pytest.raises(UsageError, match="no task 'nope'"):
        b.task("nope")
    with pytest.raises(UsageError, match="unknown split"):
        b.task("converted_within_90_days").split("holdout")
    with pytest.raises(BundleError, match="does not exist"):
        load(tmp_path / "missing")


def test_the_docs_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 1 and "leadforge.load(" in blocks[0]
    if not hasattr(leadforge, "load"):  # until the package root re-exports it
        monkeypatch.setattr(leadforge, "load", load, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    exec(compile(blocks[0], str(DOC), "exec"), {"__name__": "docs_example"})
    assert load(tmp_path / "out" / "leads").tables["leads"].num_rows == 300
    assert (tmp_path / "out" / "leads.sqlite").is_file()
