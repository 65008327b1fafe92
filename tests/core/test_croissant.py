"""``croissant.json`` passes the reference validator (mlcroissant) and reads back every row.

Built on both first-party recipes in both exposure modes, with sizes small enough to run in
seconds but split into several shards, so partitioned tables (FileSets) and single files
(FileObjects) both appear.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from core_support import require_first_party
from leadforge.api import Generator
from leadforge.bundle import croissant
from leadforge.bundle.dictionary import facts_from_bundle
from leadforge.bundle.manifest import SPLITS, Manifest
from leadforge.bundle.reader import BundleView

require_first_party()

mlc = pytest.importorskip("mlcroissant")

SIZES: dict[str, dict[str, Any]] = {
    "b2b_saas_procurement_v1": {"n_accounts": 60, "n_contacts": 150, "n_leads": 200, "shard_accounts": 20},
    "b2b_saas_ltv_v1": {"n_customers": 40, "shard_size": 15},
}
CASES = [(r, m) for r in SIZES for m in ("research_instructor", "student_public")]
#: Recommended properties we leave out on purpose: a publication date would make the file
#: change with the clock, and the files must be byte-identical for the same config and seed.
ALLOWED_WARNINGS = ("datePublished",)


@pytest.fixture(scope="module", params=CASES, ids=[f"{r}-{m}" for r, m in CASES])
def bundle(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    recipe, mode = request.param
    out = tmp_path_factory.mktemp("croissant") / "bundle"
    gen = Generator.from_recipe(recipe, seed=5, exposure_mode=mode, **SIZES[recipe])
    gen.generate().save(out, generation_timestamp="2026-01-01T00:00:00+00:00")
    return out


def croissant_file(root: Path) -> Path:
    """The bundle's ``croissant.json``, rendered next to it if the writer did not write one."""
    path = root / croissant.FILE
    if not path.exists():
        path.write_bytes(croissant.render(facts_from_bundle(BundleView(root, Manifest.load(root)))))
    return path


def test_croissant_passes_the_reference_validator(bundle: Path) -> None:
    ds = mlc.Dataset(jsonld=str(croissant_file(bundle)))
    issues = ds.metadata.ctx.issues
    assert not issues.errors
    unexpected = [w for w in issues.warnings if not any(a in w for a in ALLOWED_WARNINGS)]
    assert not unexpected


def test_every_record_set_reads_back_the_rows_the_manifest_records(bundle: Path) -> None:
    manifest = Manifest.load(bundle)
    ds = mlc.Dataset(jsonld=str(croissant_file(bundle)))
    ids = {rs.id for rs in ds.metadata.record_sets}
    assert {t for t in manifest.tables} <= ids
    for name, entry in manifest.tables.items():
        assert sum(1 for _ in ds.records(name)) == entry.row_count, name
    for task_id, task in manifest.tasks.items():
        splits = Counter(r[f"tasks.{task_id}/split"] for r in ds.records(f"tasks.{task_id}"))
        assert {s.decode(): n for s, n in splits.items()} == {s: task.rows[s] for s in SPLITS if task.rows[s]}


def test_files_carry_the_manifest_hashes_and_partitioned_tables_are_file_sets(bundle: Path) -> None:
    manifest = Manifest.load(bundle)
    doc = json.loads(croissant_file(bundle).read_text())
    objects = {d["@id"]: d for d in doc["distribution"] if d["@type"] == "cr:FileObject"}
    sets = {d["@id"]: d for d in doc["distribution"] if d["@type"] == "cr:FileSet"}
    assert manifest.files is not None
    for rel, entry in manifest.files.items():
        if rel in (croissant.FILE, "datapackage.json"):
            continue
        assert (
            objects[rel]["sha256"] == entry.sha256 == hashlib.sha256((bundle / rel).read_bytes()).hexdigest()
        )
        assert objects[rel]["contentSize"] == f"{entry.size} B"
    partitioned = [name for name, e in manifest.tables.items() if e.parts]
    assert partitioned, "the sizes above are meant to split tables into several shards"
    for name in partitioned:
        assert sets[f"tables/{name}"]["includes"] == f"tables/{name}/*.parquet"
    for rs in doc["recordSet"]:
        if rs["@id"] in manifest.tables:
            key = "fileSet" if manifest.tables[rs["@id"]].parts else "fileObject"
            assert all(key in f["source"] for f in rs["field"])


def test_foreign_keys_become_references(bundle: Path) -> None:
    manifest = Manifest.load(bundle)
    assert manifest.contract is not None
    doc = json.loads(croissant_file(bundle).read_text())
    refs = {
        (rs["@id"], f["name"]): f["references"]
        for rs in doc["recordSet"]
        for f in rs["field"]
        if "references" in f
    }
    for t in manifest.contract:
        if t.name not in manifest.tables:
            continue
        for fk in t.foreign_keys:
            ref = refs.pop((t.name, fk.column))
            files = manifest.tables[fk.parent]
            where = {"fileSet": {"@id": files.file}} if files.parts else {"fileObject": {"@id": files.file}}
            assert ref == {**where, "extract": {"column": manifest.contract[fk.parent].primary_key}}
    assert all(rid.startswith("tasks.") for rid, _ in refs), "only task keys and declared keys reference"


def test_rendering_is_deterministic(bundle: Path) -> None:
    facts = facts_from_bundle(BundleView(bundle, Manifest.load(bundle)))
    assert croissant.render(facts) == croissant.render(facts)
