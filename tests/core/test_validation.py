"""Validation catches every edited, missing, extra or corrupt file and public-shape violations."""

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
from leadforge.errors import BundleError
from leadforge.plugins import PluginHost
from leadforge.validation import Severity, validate_bundle


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import toyplugin

    host = PluginHost.from_plugins([("toy", toyplugin)])
    base = tmp_path_factory.mktemp("bundles")
    return {
        mode: Generator.from_recipe("toy_v1", exposure_mode=mode, host=host)
        .generate()
        .save(base / mode, generation_timestamp=PINNED)
        for mode in ("student_public", "research_instructor")
    }


@pytest.fixture
def copy(bundles: dict[str, Path], tmp_path: Path):  # type: ignore[no-untyped-def]
    def make(mode: str = "research_instructor") -> Path:
        dst = tmp_path / mode
        shutil.copytree(bundles[mode], dst)
        return dst

    return make


def errors(root: Path, host: PluginHost) -> list[str]:
    return [str(f) for f in validate_bundle(root, host).errors]


def rehash(root: Path, rel: str) -> None:
    """Make the manifest agree with an edited file, as a careful cheater would."""
    m = json.loads((root / "manifest.json").read_text())
    data = (root / rel).read_bytes()
    m["files"][rel] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    for entry in m["tables"].values():
        if entry["file"] == rel:
            entry["sha256"] = m["files"][rel]["sha256"]
    (root / "manifest.json").write_text(json.dumps(m, indent=2))


def test_fresh_bundles_pass(bundles: dict[str, Path], toy_host: PluginHost) -> None:
    for root in bundles.values():
        report = validate_bundle(root, toy_host)
        assert report.ok, report.errors
        assert not [w for w in report.warnings if w.severity is Severity.WARNING and "hash" in w.message]


@pytest.mark.parametrize(
    "rel",
    [
        "dataset_card.md",
        "feature_dictionary.csv",
        "metadata/world_spec.json",
        "tasks/toy_task/task_manifest.json",
    ],
)
def test_any_edited_file_is_caught(copy, toy_host: PluginHost, rel: str) -> None:  # type: ignore[no-untyped-def]
    root = copy()
    with open(root / rel, "a", encoding="utf-8") as fh:
        fh.write(" ")
    assert any(rel in e and "SHA-256 mismatch" in e for e in errors(root, toy_host))


def test_missing_extra_and_corrupt_files_are_caught(copy, toy_host: PluginHost) -> None:  # type: ignore[no-untyped-def]
    root = copy()
    (root / "tasks/toy_task/valid.parquet").unlink()
    (root / "tables/extra.parquet").write_bytes(b"not parquet")
    (root / "tables/rows.parquet").write_bytes(b"PAR1 garbage")
    found = errors(root, toy_host)
    assert any("tasks/toy_task/valid.parquet: listed in the manifest but missing" in e for e in found)
    assert any("tables/extra.parquet: file is not listed in the manifest" in e for e in found)
    assert any("tables/rows.parquet" in e and "not a readable Parquet file" in e for e in found)


def test_metadata_in_a_public_bundle_is_caught(copy, bundles: dict[str, Path], toy_host: PluginHost) -> None:  # type: ignore[no-untyped-def]
    root = copy("student_public")
    shutil.copytree(bundles["research_instructor"] / "metadata", root / "metadata")
    found = errors(root, toy_host)
    assert any("must not contain metadata/" in e for e in found)


def test_restored_redacted_column_is_caught_even_when_rehashed(copy, bundles, toy_host: PluginHost) -> None:  # type: ignore[no-untyped-def]
    root = copy("student_public")
    rel = "tables/rows.parquet"
    table = pq.read_table(root / rel)
    table = table.append_column("secret", pa.array([0.0] * table.num_rows))
    pq.write_table(table, root / rel)
    rehash(root, rel)
    found = errors(root, toy_host)
    assert any("tables/rows.parquet:secret" in e for e in found)


def test_malformed_manifests_are_findings_not_crashes(copy, toy_host: PluginHost) -> None:  # type: ignore[no-untyped-def]
    root = copy()
    m = json.loads((root / "manifest.json").read_text())
    m["tables"]["rows"] = "oops"
    m["exposure_mode"] = "everyone"
    del m["files"]
    (root / "manifest.json").write_text(json.dumps(m))
    found = errors(root, toy_host)
    assert any("tables.rows is not an object" in e for e in found)
    assert any("exposure_mode is unknown: 'everyone'" in e for e in found)
    assert any("'files' is missing" in e for e in found)
    (root / "manifest.json").write_text("[1, 2]")
    with pytest.raises(BundleError, match="not a JSON object"):
        validate_bundle(root, toy_host)
    (root / "manifest.json").write_text("{")
    with pytest.raises(BundleError, match="not readable JSON"):
        validate_bundle(root, toy_host)


def test_overlapping_split_keys_are_caught(copy, toy_host: PluginHost) -> None:  # type: ignore[no-untyped-def]
    root = copy()
    train = pq.read_table(root / "tasks/toy_task/train.parquet")
    valid = pq.read_table(root / "tasks/toy_task/valid.parquet")
    pq.write_table(pa.concat_tables([valid, train.slice(0, 3)]), root / "tasks/toy_task/valid.parquet")
    rehash(root, "tasks/toy_task/valid.parquet")
    found = errors(root, toy_host)
    assert any("appear in both train and valid" in e for e in found)


def test_unknown_scheme_bundle_gets_envelope_checks_and_a_warning(bundles: dict[str, Path]) -> None:
    empty = PluginHost.from_plugins([])
    report = validate_bundle(bundles["research_instructor"], empty)
    assert report.ok
    assert any(
        "scheme 'toy' is not installed; only envelope checks ran" in w.message for w in report.warnings
    )
