"""The typed manifest: what a scheme may add, what core derives, and parsing that never crashes."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from core_support import PINNED
from leadforge.api import Generator
from leadforge.bundle import BundleWriter, ManifestFields, RelationalContract, StructuralRedactions
from leadforge.bundle.manifest import (
    CORE_KEYS,
    ENVELOPE_KEYS,
    HEAD_KEYS,
    OPTIONAL_TAIL_KEYS,
    TAIL_KEYS,
    TASK_MANIFEST_KEYS,
    Manifest,
    parse,
    parse_task_manifest,
)
from leadforge.config import GenerationConfig
from leadforge.enums import Difficulty, ExposureMode
from leadforge.errors import BundleError, GenerationError
from leadforge.features import FeatureSpec
from leadforge.params import param
from leadforge.plugins import PluginHost


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import toyplugin

    host = PluginHost.from_plugins([("toy", toyplugin)])
    base = tmp_path_factory.mktemp("manifests")
    return {
        mode: Generator.from_recipe("toy_v1", exposure_mode=mode, host=host)
        .generate()
        .save(base / mode, generation_timestamp=PINNED)
        for mode in ("student_public", "research_instructor")
    }


def raw(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / "manifest.json").read_text())
    return data


def test_save_keeps_the_manifest_it_wrote(toy_host: PluginHost, tmp_path: Path) -> None:
    for mode in ("research_instructor", "student_public"):
        bundle = Generator.from_recipe("toy_v1", seed=3, exposure_mode=mode, host=toy_host).generate()
        assert bundle.manifest is None
        out = bundle.save(tmp_path / mode, generation_timestamp=PINNED)
        assert bundle.manifest == Manifest.load(out)
        assert bundle.manifest.hidden_fields == ("threshold",)
        hidden = bundle.manifest.scheme_field("threshold")
        assert (hidden is None) is (mode == "student_public")


def test_a_missing_scheme_field_is_a_bundle_error(bundles: dict[str, Path]) -> None:
    m = Manifest.load(bundles["research_instructor"])
    assert m.scheme_field("n_rows") == 150 and m.scheme_field("toy_extra") is True
    with pytest.raises(BundleError, match="lacks the scheme field 'n_leads'"):
        m.scheme_field("n_leads")


def test_structural_redactions_are_derived_from_the_contract(bundles: dict[str, Path]) -> None:
    import toyplugin

    m = Manifest.load(bundles["student_public"])
    assert m.contract is not None
    assert m.structural_redactions == StructuralRedactions.of(m.contract)
    assert m.structural_redactions.to_json() == {"columns": {"rows": ["secret"]}, "omitted_tables": []}
    assert m.relational_snapshot_safe is True
    instructor = Manifest.load(bundles["research_instructor"])
    assert (
        instructor.structural_redactions == StructuralRedactions()
        and instructor.relational_snapshot_safe is False
    )
    assert instructor.contract == toyplugin.contract(None)  # type: ignore[arg-type]


def test_structural_redactions_list_drops_and_omissions_sorted() -> None:
    from leadforge.bundle import PublicView, TableContract
    from leadforge.schema import TableSchema

    schema = TableSchema.of([("a_id", "string"), ("z", "Int64"), ("b", "Int64")])
    contract = RelationalContract(
        (
            TableContract("zeta", schema, "a_id", "z", public=PublicView(omit=True, drop=("b",))),
            TableContract("alpha", schema, "a_id", "a", public=PublicView(drop=("z", "b"))),
            TableContract("beta", schema, "a_id", "b2"),
        )
    )
    sr = StructuralRedactions.of(contract)
    assert sr.to_json() == {"columns": {"alpha": ["b", "z"]}, "omitted_tables": ["zeta"]}


@dataclass(frozen=True)
class P:
    n: int = param(1, help="n")


def finalize_with(root: Path, fields: ManifestFields) -> Manifest:
    config = GenerationConfig("r_v1", "s", 5, ExposureMode.RESEARCH_INSTRUCTOR, Difficulty.INTRO, P())
    writer = BundleWriter(root, config, RelationalContract(()), split_salt=1)
    writer.declare_features([FeatureSpec("x", "Float64", "x", "f")])
    writer.set_manifest_fields(fields)
    writer.write_dataset_card("# card")
    return writer.finalize(timestamp="t", plugins=[], package_version="0")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (ManifestFields(config={"seed": 0}), "manifest config field 'seed' collides with a core key"),
        (ManifestFields(hidden={"exposure_mode": "x"}), "manifest hidden field 'exposure_mode' collides"),
        (ManifestFields(extra={"files": {}}), "manifest extra field 'files' collides with a core key"),
        (ManifestFields(extra={"relational_contract": {}}), "'relational_contract' collides with a core key"),
        (ManifestFields(config={"hidden_fields": []}), "'hidden_fields' collides with a core key"),
        (
            ManifestFields(config={"k": 1}, hidden={"k": 2}),
            "manifest field 'k' is set in both config and hidden",
        ),
        (
            ManifestFields(hidden={"k": 1}, extra={"k": 2}),
            "manifest field 'k' is set in both hidden and extra",
        ),
    ],
)
def test_manifest_fields_may_not_overwrite_core_keys(
    fields: ManifestFields, message: str, tmp_path: Path
) -> None:
    with pytest.raises(GenerationError, match=message):
        finalize_with(tmp_path / "b", fields)


def test_scheme_fields_land_between_the_core_sections(tmp_path: Path) -> None:
    manifest = finalize_with(tmp_path / "b", ManifestFields(config={"n": 1}, hidden={"h": 2}, extra={"e": 3}))
    keys = list(manifest.to_json())
    tail = [k for k in TAIL_KEYS if k not in OPTIONAL_TAIL_KEYS]  # those only when the world has some
    assert keys == [*HEAD_KEYS, "n", "h", *ENVELOPE_KEYS, "e", *tail]
    assert manifest.seed == 5 and dict(manifest.fields) == {"n": 1, "h": 2, "e": 3}
    assert manifest.hidden_fields == ("h",) and manifest.extra_keys == ("e",)
    assert frozenset((*HEAD_KEYS, *ENVELOPE_KEYS, *TAIL_KEYS)) == CORE_KEYS


@pytest.mark.parametrize("mode", ["student_public", "research_instructor"])
def test_to_json_and_parse_round_trip(bundles: dict[str, Path], mode: str) -> None:
    data = raw(bundles[mode])
    m = parse(data)
    assert m.findings == ()
    assert m.to_json() == data and list(m.to_json()) == list(data)
    assert parse(m.to_json()) == m
    assert json.dumps(m.to_json(), indent=2) == json.dumps(data, indent=2)


BAD_VALUES: list[Any] = [
    None,
    [],
    "x",
    7,
    1.5,
    True,
    {"a": [1]},
    [{"a": 1}],
    {"rows": 7},
    {"rows": {"row_count": "x"}},
]


def test_parse_never_raises_on_a_wrong_shaped_manifest(bundles: dict[str, Path]) -> None:
    data = raw(bundles["student_public"])
    tried = 0
    for key in [*data, "an_unknown_key"]:
        for bad in BAD_VALUES:
            m = parse({**data, key: bad})
            assert isinstance(m, Manifest)
            tried += 1
    for table in data["relational_contract"]:
        entry = data["relational_contract"][table]
        for key in [*entry, *(f"public.{k}" for k in entry["public"])]:
            for bad in BAD_VALUES:
                broken = copy.deepcopy(data)
                target = broken["relational_contract"][table]
                if key.startswith("public."):
                    target["public"][key.removeprefix("public.")] = bad
                else:
                    target[key] = bad
                parse(broken)
                tried += 1
    assert isinstance(parse({}), Manifest)
    assert tried > 300


@pytest.mark.parametrize(
    ("key", "bad", "message"),
    [
        ("seed", "7", "seed must be an integer"),
        ("seed", True, "seed must be an integer"),
        ("exposure_mode", 3, "exposure_mode must be a string"),
        ("tables", [], "'tables' is not a JSON object"),
        ("tables", {"rows": 7}, "tables.rows is not an object"),
        ("tables", {"rows": {"row_count": "x", "file": "f", "sha256": "s"}}, "tables.rows needs row_count"),
        ("tasks", {"toy_task": {"train_rows": 1}}, "tasks.toy_task needs <split>_rows"),
        ("files", 7, "'files' is missing or not a JSON object"),
        ("files", {"a.csv": {"sha256": 1}}, "files.a.csv needs sha256"),
        ("redacted_columns", "hint", "redacted_columns must be a list of strings"),
        ("relational_snapshot_safe", "yes", "relational_snapshot_safe must be a JSON boolean"),
        ("hidden_fields", {"threshold": 1}, "hidden_fields must be a list of strings"),
        ("structural_redactions", [], "structural_redactions is not an object"),
        ("structural_redactions", {"columns": {"rows": "secret"}}, "structural_redactions.columns must map"),
        ("relational_contract", [], "relational_contract: relational_contract is not an object"),
        (
            "relational_contract",
            {"rows": {"columns": {"a": "text"}}},
            "relational_contract.rows.columns must map",
        ),
        (
            "relational_contract",
            {"rows": {"columns": {"a": "string"}}},
            "relational_contract.rows: malformed",
        ),
        ("plugins", 7, "plugins must be a list"),
    ],
)
def test_each_wrong_value_is_a_finding_that_names_its_key(
    bundles: dict[str, Path], key: str, bad: Any, message: str
) -> None:
    m = parse({**raw(bundles["research_instructor"]), key: bad})
    assert any(message in f.message and f.where == "manifest.json" for f in m.findings), m.findings


def test_a_missing_contract_is_reported_by_validate(
    bundles: dict[str, Path], tmp_path: Path, toy_host: PluginHost
) -> None:
    import shutil

    from leadforge.validation import validate_bundle

    root = tmp_path / "b"
    shutil.copytree(bundles["research_instructor"], root)
    data = raw(root)
    data["relational_contract"] = None
    (root / "manifest.json").write_text(json.dumps(data))
    errors = [str(f) for f in validate_bundle(root, toy_host).errors]
    assert any("records no relational_contract" in e for e in errors), errors


def test_task_manifests_parse_or_say_why(bundles: dict[str, Path]) -> None:
    good = json.loads((bundles["research_instructor"] / "tasks/toy_task/task_manifest.json").read_text())
    assert list(good) == list(TASK_MANIFEST_KEYS)
    tm, findings = parse_task_manifest(good, "t")
    assert findings == [] and tm is not None and tm.to_json() == good
    assert tm.stratified_by == "toy_task.positive"
    for bad in (
        [],
        "x",
        None,
        {},
        {**good, "task_type": "ranking"},
        {**good, "split": [0.7]},
        {**good, "stratified": 1},
    ):
        tm, findings = parse_task_manifest(bad, "t")
        assert tm is None and findings and all(f.where == "t" for f in findings)
