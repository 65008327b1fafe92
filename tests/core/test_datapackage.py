"""``datapackage.json`` passes the reference validator (frictionless) on both recipes and modes.

frictionless-py reads only the first part of a multi-file Parquet resource, so every part of
a partitioned resource is also validated on its own against the resource's schema.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from core_support import require_first_party
from leadforge.api import Generator
from leadforge.bundle import datapackage
from leadforge.bundle.dictionary import facts_from_bundle
from leadforge.bundle.manifest import SPLITS, Manifest
from leadforge.bundle.reader import BundleView

require_first_party()

frictionless = pytest.importorskip("frictionless")

SIZES: dict[str, dict[str, Any]] = {
    "b2b_saas_procurement_v1": {"n_accounts": 60, "n_contacts": 150, "n_leads": 200, "shard_accounts": 20},
    "b2b_saas_ltv_v1": {"n_customers": 40, "shard_size": 15},
}
CASES = [(r, m) for r in SIZES for m in ("research_instructor", "student_public")]


@pytest.fixture(scope="module", params=CASES, ids=[f"{r}-{m}" for r, m in CASES])
def bundle(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    recipe, mode = request.param
    out = tmp_path_factory.mktemp("datapackage") / "bundle"
    gen = Generator.from_recipe(recipe, seed=5, exposure_mode=mode, **SIZES[recipe])
    gen.generate().save(out, generation_timestamp="2026-01-01T00:00:00+00:00")
    return out


def package_file(root: Path) -> Path:
    """The bundle's ``datapackage.json``, rendered next to it if the writer did not write one."""
    path = root / datapackage.FILE
    if not path.exists():
        path.write_bytes(datapackage.render(facts_from_bundle(BundleView(root, Manifest.load(root)))))
    return path


def errors_of(report: Any) -> list[str]:
    return [e.message for t in report.tasks for e in t.errors] + [e.message for e in report.errors]


def test_the_package_passes_the_reference_validator(bundle: Path) -> None:
    report = frictionless.validate(str(package_file(bundle)))
    assert report.valid, errors_of(report)[:5]


def test_every_part_of_a_partitioned_resource_passes_on_its_own(bundle: Path) -> None:
    doc = json.loads(package_file(bundle).read_text())
    partitioned = [r for r in doc["resources"] if isinstance(r["path"], list)]
    assert partitioned, "the sizes above are meant to split tables into several shards"
    for res in partitioned:
        for part in res["path"]:
            schema = {k: v for k, v in res["schema"].items() if k != "foreignKeys"}
            single = {**res, "path": part, "schema": schema}
            del single["checksums"]
            report = frictionless.Resource(single, basepath=str(bundle)).validate()
            assert report.valid, (part, errors_of(report)[:3])


def test_resources_cover_every_table_and_split_with_their_checksums(bundle: Path) -> None:
    manifest = Manifest.load(bundle)
    assert manifest.files is not None
    doc = json.loads(package_file(bundle).read_text())
    resources = {r["name"]: r for r in doc["resources"]}
    expected = {**{n: manifest.table_files(n) for n in manifest.tables}}
    expected |= {
        datapackage.split_resource(t, s): manifest.split_files(t, s) for t in manifest.tasks for s in SPLITS
    }
    assert set(resources) == set(expected)
    for name, files in expected.items():
        res = resources[name]
        assert (res["path"] if isinstance(res["path"], list) else [res["path"]]) == list(files)
        for c in res["checksums"]:
            data = (bundle / c["path"]).read_bytes()
            assert c["hash"] == f"sha256:{hashlib.sha256(data).hexdigest()}" and c["bytes"] == len(data)
        fields = [f["name"] for f in res["schema"]["fields"]]
        assert fields == pq.read_schema(bundle / files[0]).names


def test_keys_follow_the_contract(bundle: Path) -> None:
    manifest = Manifest.load(bundle)
    assert manifest.contract is not None
    resources = {r["name"]: r for r in json.loads(package_file(bundle).read_text())["resources"]}
    for name in manifest.tables:
        t = manifest.contract[name]
        schema = resources[name]["schema"]
        assert schema["primaryKey"] == [t.primary_key]
        declared = {(fk.column, fk.parent, manifest.contract[fk.parent].primary_key) for fk in t.foreign_keys}
        got = {
            (k["fields"], k["reference"]["resource"], k["reference"]["fields"])
            for k in schema.get("foreignKeys", [])
        }
        assert got == declared


def test_a_value_outside_a_declared_enum_fails_validation(bundle: Path, tmp_path: Path) -> None:
    """The declared allowed values are checked against the data, so a wrong list cannot pass."""
    doc = json.loads(package_file(bundle).read_text())
    broken = copy.deepcopy(doc)
    res = next(r for r in broken["resources"] if any("constraints" in f for f in r["schema"]["fields"]))
    field = next(f for f in res["schema"]["fields"] if "constraints" in f)
    field["constraints"]["enum"] = ["not-a-value"]
    res["path"] = res["path"][0] if isinstance(res["path"], list) else res["path"]
    res["schema"].pop("foreignKeys", None)
    report = frictionless.Resource(res, basepath=str(bundle)).validate()
    assert not report.valid
    assert any("constraint" in m for m in errors_of(report))
