"""The data dictionary, ER diagram and ``inspect --schema`` text, and the contract's column docs.

Each recipe is built in both modes with one seed, so the instructor dictionary's claims about
the public projection are checked against the public bundle actually written.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from core_support import require_first_party
from leadforge.api import Generator
from leadforge.bundle import BundleWriter, croissant, datapackage, dictionary
from leadforge.bundle.contract import ColumnDoc, RelationalContract, TableContract
from leadforge.bundle.dictionary import BundleFacts, facts_from_bundle
from leadforge.bundle.manifest import SPLITS, Manifest
from leadforge.bundle.reader import BundleView
from leadforge.features import FeatureSpec
from leadforge.schema import TableSchema

require_first_party()

SIZES: dict[str, dict[str, Any]] = {
    "b2b_saas_procurement_v1": {"n_accounts": 60, "n_contacts": 150, "n_leads": 200, "shard_accounts": 20},
    "b2b_saas_ltv_v1": {"n_customers": 40, "shard_size": 15},
}
MODES = ("research_instructor", "student_public")


#: The feature catalog each bundle's scheme declared, as the writer saw it: a bundle read back
#: only has the catalog rows its mode shows, while the writer knows what public bundles redact.
CATALOGS: dict[Path, tuple[FeatureSpec, ...]] = {}


def save(gen: Generator, root: Path, timestamp: str = "2026-01-01T00:00:00+00:00") -> Path:
    declare = BundleWriter.declare_features

    def spy(writer: BundleWriter, catalog: Sequence[FeatureSpec]) -> None:
        CATALOGS[root] = tuple(catalog)
        declare(writer, catalog)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(BundleWriter, "declare_features", spy)
        gen.generate().save(root, generation_timestamp=timestamp)
    return root


@pytest.fixture(scope="module", params=list(SIZES))
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The recipe's bundle in each mode, same seed."""
    recipe = request.param
    out = {}
    for mode in MODES:
        gen = Generator.from_recipe(recipe, seed=9, exposure_mode=mode, **SIZES[recipe])
        out[mode] = save(gen, tmp_path_factory.mktemp("dictionary") / mode)
    return out


def facts(root: Path) -> BundleFacts:
    """What the writer hands the renderers: the bundle's facts with the full declared catalog."""
    return replace(facts_from_bundle(BundleView(root, Manifest.load(root))), catalog=CATALOGS[root])


def rows(root: Path) -> list[dict[str, str]]:
    """The bundle's dictionary rows (rendered from its facts if the writer did not write one)."""
    path = root / dictionary.FILE
    data = path.read_bytes() if path.exists() else dictionary.render(facts(root))
    reader = csv.DictReader(io.StringIO(data.decode("utf-8")))
    assert tuple(reader.fieldnames or ()) == dictionary.HEADER
    return list(reader)


def written_columns(root: Path) -> dict[tuple[str, str], str]:
    """(table or ``tasks/<id>``, column) -> Arrow type, from the Parquet files on disk."""
    m = Manifest.load(root)
    out = {}
    files = {n: m.table_files(n) for n in m.tables}
    files |= {f"tasks/{t}": m.split_files(t, SPLITS[0]) for t in m.tasks}
    for name, rels in files.items():
        for f in pq.read_schema(root / rels[0]):
            out[(name, f.name)] = str(f.type)
    return out


ARROW = {
    "string": "large_string",
    "Int64": "int64",
    "Float64": "double",
    "boolean": "bool",
    "timestamp": "timestamp[us, tz=UTC]",
    "date": "date32[day]",
}


@pytest.mark.parametrize("mode", MODES)
def test_the_dictionary_lists_exactly_the_columns_written_with_their_types(
    pair: dict[str, Path], mode: str
) -> None:
    listed = {(r["table"], r["column"]): ARROW[r["type"]] for r in rows(pair[mode])}
    assert listed == written_columns(pair[mode])


def test_instructor_rows_say_what_the_public_bundle_keeps(pair: dict[str, Path]) -> None:
    public = set(written_columns(pair["student_public"]))
    public_tasks = {t for t, _ in public if t.startswith("tasks/")}
    # which tasks a mode declares is the scheme's choice (lifecycle's early-tenure tasks are
    # instructor-only); the marks speak for the columns of the tasks both bundles hold
    marks = {
        (r["table"], r["column"]): r["public_bundle"]
        for r in rows(pair["research_instructor"])
        if not r["table"].startswith("tasks/") or r["table"] in public_tasks
    }
    kept = {k for k, v in marks.items() if v == dictionary.KEPT}
    assert kept == public
    assert {v for k, v in marks.items() if k not in public} <= {dictionary.DROPPED, dictionary.OMITTED}
    assert any(v != dictionary.KEPT for v in marks.values()), "both schemes hide something publicly"
    assert {r["public_bundle"] for r in rows(pair["student_public"])} == {dictionary.KEPT}


def test_every_relational_column_is_described(pair: dict[str, Path]) -> None:
    for r in rows(pair["research_instructor"]):
        assert r["description"].strip(), (r["table"], r["column"])


def test_declared_allowed_values_cover_the_data(pair: dict[str, Path]) -> None:
    root = pair["research_instructor"]
    m = Manifest.load(root)
    checked = 0
    for r in rows(root):
        if not r["allowed_values"] or r["table"] not in m.tables:
            continue
        allowed = set(r["allowed_values"].split(dictionary.VALUE_SEPARATOR))
        col = pa.concat_tables(
            pq.read_table(root / rel, columns=[r["column"]]) for rel in m.table_files(r["table"])
        ).column(0)
        seen = {v for v in col.to_pylist() if v is not None}
        assert seen <= allowed, (r["table"], r["column"], seen - allowed)
        checked += 1
    assert checked >= 5


@pytest.mark.parametrize("recipe", list(SIZES))
def test_every_scheme_contract_documents_every_column(recipe: str) -> None:
    gen = Generator.from_recipe(recipe)
    assert gen.scheme.contract is not None
    for t in gen.scheme.contract(gen.config):
        missing = [c for c in t.schema.names if not t.doc(c).description]
        assert not missing, (t.name, missing)


def test_the_example_support_scheme_documents_every_column() -> None:
    support = pytest.importorskip("leadforge_support.contract")
    for t in support.contract(None):
        assert all(t.doc(c).description for c in t.schema.names), t.name


def hidden_names(contract: RelationalContract) -> tuple[set[str], set[tuple[str, str]]]:
    tables = {t.name for t in contract if t.public.omit}
    columns = {(t.name, c) for t in contract if not t.public.omit for c in t.public.drop}
    return tables, columns


def named_in_outputs(root: Path) -> tuple[set[str], set[tuple[str, str]]]:
    """Tables and (table, column) pairs the three metadata files and the schema text name."""
    f = facts(root)
    tables: set[str] = set()
    cols: set[tuple[str, str]] = set()
    for r in csv.DictReader(io.StringIO(dictionary.render(f).decode())):
        tables.add(r["table"])
        cols.add((r["table"], r["column"]))
    doc = json.loads(croissant.render(f))
    for rs in doc["recordSet"]:
        tables.add(rs["@id"])
        cols |= {(rs["@id"], fld["name"]) for fld in rs["field"]}
    for d in doc["distribution"]:
        parts = d["@id"].split("/")
        if parts[0] == "tables":
            tables.add(parts[1].removesuffix(".parquet"))
        assert not d["@id"].startswith("metadata/") or not f.public
    pkg = json.loads(datapackage.render(f))
    for res in pkg["resources"]:
        tables.add(res["name"])
        cols |= {(res["name"], fld["name"]) for fld in res["schema"]["fields"]}
        tables |= {k["reference"]["resource"] for k in res["schema"].get("foreignKeys", [])}
    text = dictionary.schema_text(f)
    tables |= set(re.findall(r"^(\S+) \((?:table|task)\)", text, re.M))
    tables |= set(re.findall(r"^    (\w+) \{", text, re.M))
    return tables, cols


def test_public_outputs_name_no_hidden_table_or_column(pair: dict[str, Path]) -> None:
    contract = Manifest.load(pair["student_public"]).contract
    assert contract is not None
    hidden_tables, hidden_cols = hidden_names(contract)
    assert hidden_tables or hidden_cols
    tables, cols = named_in_outputs(pair["student_public"])
    assert not tables & hidden_tables
    assert not cols & hidden_cols
    # the check can fail: the instructor bundle of the same recipe names them all
    tables, cols = named_in_outputs(pair["research_instructor"])
    assert hidden_tables <= tables and hidden_cols <= cols
    assert "metadata/" not in (pair["student_public"] / dictionary.FILE).as_posix()


def test_the_er_diagram_has_every_table_and_foreign_key(pair: dict[str, Path]) -> None:
    contract = Manifest.load(pair["research_instructor"]).contract
    assert contract is not None
    for public in (False, True):
        text = dictionary.er_mermaid(contract, public=public)
        assert text.startswith("erDiagram\n")
        shown = contract.public_tables() if public else list(contract)
        assert set(re.findall(r"^    (\w+) \{", text, re.M)) == {t.name for t in shown}
        links = set(re.findall(r'^    (\w+) \|[|o]--o\{ (\w+) : "(\w+)"', text, re.M))
        assert links == {(fk.parent, t.name, fk.column) for t in shown for fk in t.foreign_keys}
        for t in shown:
            kept = t.public_schema() if public else t.schema
            body = text.split(f"    {t.name} {{\n", 1)[1].split("    }", 1)[0]
            assert [line.split()[1] for line in body.splitlines()] == kept.names


def test_schema_text_lists_every_table_task_and_column(pair: dict[str, Path]) -> None:
    root = pair["research_instructor"]
    text = dictionary.schema_text(facts(root))
    for table, column in written_columns(root):
        block = text.split(f"{table} (", 1)[1].split("\n\n", 1)[0]
        assert re.search(rf"^  {re.escape(column)} ", block, re.M), (table, column)
    assert "dropped in public bundles" in text


def test_column_docs_round_trip_through_the_manifest_json() -> None:
    schema = TableSchema.of([("a_id", "string"), ("kind", "string"), ("n", "Int64")])
    docs = {"kind": ColumnDoc("Kind.", values=("x", "y")), "n": ColumnDoc("Count.", "items")}
    contract = RelationalContract((TableContract("t", schema, "a_id", "a", column_docs=docs),))
    raw = json.loads(json.dumps(contract.to_json()))
    back = RelationalContract.from_json(raw)
    assert back["t"].column_docs == docs and back["t"].doc("a_id") == ColumnDoc()
    plain = RelationalContract((TableContract("t", schema, "a_id", "a"),))
    assert "column_docs" not in plain.to_json()["t"]
    assert RelationalContract.from_json(plain.to_json())["t"].column_docs == {}
    with pytest.raises(ValueError, match="unknown columns"):
        TableContract("t", schema, "a_id", "a", column_docs={"nope": ColumnDoc("?")})
    raw["t"]["column_docs"]["kind"]["values"] = "xy"
    with pytest.raises(ValueError, match="malformed"):
        RelationalContract.from_json(raw)


def test_same_config_and_seed_give_identical_metadata(tmp_path: Path) -> None:
    outs = []
    for i in range(2):
        root = tmp_path / str(i)
        gen = Generator.from_recipe("b2b_saas_ltv_v1", seed=3, exposure_mode="student_public", n_customers=20)
        f = facts(save(gen, root, f"2026-01-0{i + 1}T00:00:00+00:00"))
        outs.append((dictionary.render(f), croissant.render(f), datapackage.render(f)))
    assert outs[0] == outs[1]
