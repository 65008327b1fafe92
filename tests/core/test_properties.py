"""Properties of core's hostile-input boundaries, checked on generated input (Hypothesis).

Each boundary reads something a user or a stranger controls — a manifest, an override file, a
path inside a bundle, a config value — and promises one outcome: a typed value or one clear
:class:`~leadforge.errors.LeadforgeError`, never another exception, a hang, a read outside the
bundle or an error message that floods the terminal.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import math
import os
import signal
import stat
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Literal, get_args, get_origin

import pytest
import toyplugin
import yaml
from click.testing import CliRunner, Result
from core_support import PINNED
from hypothesis import example, given, note, settings
from hypothesis import strategies as st
from leadforge.api import Generator
from leadforge.bundle import manifest as mf
from leadforge.bundle.reader import BundleView, confined
from leadforge.cli import main
from leadforge.config import load_override
from leadforge.enums import TASK_TYPES
from leadforge.errors import BundleError, InvalidConfigError, UsageError
from leadforge.findings import Finding, Severity
from leadforge.params import ParamField, build_params, coerce, param, param_fields
from leadforge.plugins import PluginHost, set_host
from leadforge.schema import DTYPES
from leadforge.yamlfile import MAX_FILE_BYTES, load_mapping

#: Longest error message a user should ever see for one bad value.
MAX_MESSAGE = 500
#: Generated inputs may never make a boundary take longer than this (a hang or a blow-up).
DEADLINE_MS = 5000
#: PyYAML is pure Python: a deeply nested document takes about a second to be refused.
YAML_DEADLINE_MS = 15000


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Fail instead of blocking forever (a FIFO opened for reading never returns)."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"blocked for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def unlimited_int_digits() -> Iterator[None]:
    """Let ``json.dumps`` write a 5000-digit integer (Python refuses past 4300 digits)."""
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(before)


def dumps(value: Any) -> str:
    with unlimited_int_digits():
        return json.dumps(value)


def one_line(message: str) -> None:
    assert "\n" not in message and "\r" not in message, message[:MAX_MESSAGE]
    assert len(message) < MAX_MESSAGE, (len(message), message[:MAX_MESSAGE])


# -- generated JSON ----------------------------------------------------------------------------

#: Keys of a real manifest at every level, so generated objects hit the code that reads them.
MANIFEST_WORDS = (
    *mf.HEAD_KEYS,
    *mf.ENVELOPE_KEYS,
    *mf.TAIL_KEYS,
    *mf.TASK_MANIFEST_KEYS,
    *(f"{s}_{k}" for s in mf.SPLITS for k in ("rows", "sha256")),
    *mf.SPLITS,
    "row_count",
    "file",
    "sha256",
    "size",
    "columns",
    "omitted_tables",
    "primary_key",
    "id_prefix",
    "numbering",
    "time_column",
    "foreign_keys",
    "column",
    "parent",
    "not_before_parent",
    "nullable",
    "public",
    "omit",
    "drop",
    "cut",
    "date",
    "via",
    "anchor_column",
    "offset_days",
    "description",
    "distribution",
    "version",
    "plugin",
    "rows",
    "events",
    "row_id",
    "event_id",
    "day",
    "at",
    "toy_task",
)
#: Values the readers compare against or resolve as paths.
MANIFEST_VALUES = (
    "7",
    "6",
    "8",
    "²",
    "٧",
    "toy",
    "toy_v1",
    "student_public",
    "research_instructor",
    "intro",
    "intermediate",
    "string",
    "Float64",
    "Int64",
    "boolean",
    "plan",
    "shard",
    "row",
    "evt",
    "2025-01-01",
    "2025-02-30",
    "manifest.json",
    "dataset_card.md",
    "feature_dictionary.csv",
    "tables/rows.parquet",
    "tables/events.parquet",
    "tasks/toy_task/train.parquet",
    "tasks/toy_task/task_manifest.json",
    "../outside.txt",
    "/etc/passwd",
    "tables/../manifest.json",
    "a\\b",
    "a\x00b",
    "tables//rows.parquet",
    "x" * 5000,
    "0" * 64,
    *TASK_TYPES,
)
#: Past 4300 digits ``int`` refuses ``str()``, ``repr()`` and ``json.loads`` (built lazily: a strategy
#: holding such a number cannot even be shown).
HUGE_INTS = st.sampled_from([2**63, -(2**63) - 1, 2**1024]) | st.integers(4301, 5001).map(lambda n: 10**n - 1)
keys = st.sampled_from(MANIFEST_WORDS) | st.text(max_size=8)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-2, max_value=300)
    | HUGE_INTS
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(MANIFEST_VALUES)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=6),
    max_leaves=40,
)
json_objects = st.dictionaries(keys, json_values, max_size=12)


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


def container_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path (keys and indices) to a value inside ``value``, the root included."""
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += container_paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += container_paths(v, (*prefix, i))
    return out


def at(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the expected kind of value, sometimes anything at all."""
    return st.one_of(strategy, strategy, strategy, json_values)


TOY_NAMES = st.sampled_from(["rows", "events", "row_id", "event_id", "day", "at", "amount", "secret", "x"])
foreign_keys = st.fixed_dictionaries(
    {"column": maybe(TOY_NAMES), "parent": maybe(TOY_NAMES)},
    optional={"not_before_parent": maybe(st.booleans()), "nullable": maybe(st.booleans())},
)
cutoffs = st.fixed_dictionaries(
    {},
    optional={
        "date": maybe(st.none() | st.sampled_from(["2025-01-15", "2025-02-30", "2025-1-1", "x"])),
        "via": maybe(st.none() | TOY_NAMES),
        "anchor_column": maybe(st.none() | TOY_NAMES),
        "offset_days": maybe(
            st.integers(-(10**6), 10**6)
            | st.sampled_from([math.inf, -math.inf, math.nan, 1e300, 2.5])
            | HUGE_INTS
        ),
    },
)
table_contracts = st.fixed_dictionaries(
    {
        "columns": maybe(st.dictionaries(TOY_NAMES, st.sampled_from(DTYPES), min_size=1, max_size=6)),
        "primary_key": maybe(TOY_NAMES),
        "id_prefix": maybe(st.sampled_from(["row", "evt", "x", "1x", "", "a-b"])),
        "public": maybe(
            st.fixed_dictionaries(
                {"cut": maybe(st.none() | cutoffs)},
                optional={"omit": maybe(st.booleans()), "drop": maybe(st.lists(TOY_NAMES, max_size=3))},
            )
        ),
    },
    optional={
        "numbering": maybe(st.sampled_from(["plan", "shard"])),
        "time_column": maybe(st.none() | TOY_NAMES),
        "foreign_keys": maybe(st.lists(foreign_keys, max_size=2)),
        "description": maybe(st.text(max_size=5)),
    },
)
#: ``relational_contract`` objects close enough to real ones to reach every check of them.
contracts = st.dictionaries(TOY_NAMES, table_contracts, max_size=3)


def near(value: Any) -> st.SearchStrategy[Any]:
    """A value of the same kind that a reader is least likely to expect."""
    if isinstance(value, bool):
        return st.sampled_from([not value, 0, 1, None, "true"])
    if isinstance(value, int | float):
        odd = [-1, 0, 1.5, 2**63, True, "7", value + 1, -value]
        return st.sampled_from([math.inf, -math.inf, math.nan]) | st.sampled_from(odd) | HUGE_INTS
    if isinstance(value, str):
        return st.sampled_from(MANIFEST_VALUES) | st.just(value + "\n") | st.just(value.upper())
    if isinstance(value, list):
        return st.sampled_from([[], value * 2, value[::-1], [None], {}])
    if isinstance(value, dict):
        return st.sampled_from([{}, [], None, dict(reversed(list(value.items())))])
    return st.sampled_from([0, "", [], {}, False, "null"])


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """``base`` with one to four edits: a value replaced, a key deleted or added, a list grown,
    keys reordered, or a deep or huge value put in (a damaged or doctored manifest)."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(container_paths(doc)))
        edits = ["perturb", "replace", "delete", "add", "reverse", "deep", "many", "contract"]
        edit = draw(st.sampled_from(edits))
        target = at(doc, path)
        note(f"{edit} at {path!r}")
        if edit == "contract" and "relational_contract" in doc:
            doc["relational_contract"] = draw(contracts)
        elif edit == "perturb" and path:
            at(doc, path[:-1])[path[-1]] = draw(near(target))
        elif edit == "replace" and path:
            at(doc, path[:-1])[path[-1]] = draw(json_values)
        elif edit == "delete" and path:
            del at(doc, path[:-1])[path[-1]]
        elif edit == "add" and isinstance(target, dict):
            target[draw(keys)] = draw(json_values)
        elif edit == "add" and isinstance(target, list):
            target.append(draw(json_values))
        elif edit == "reverse" and isinstance(target, dict):
            items = list(target.items())[::-1]
            target.clear()
            target.update(items)
        elif edit == "deep" and path:
            at(doc, path[:-1])[path[-1]] = nested(draw(st.integers(50, 400)))
        elif edit == "many" and isinstance(target, dict):
            target.update({f"k{i}": i for i in range(draw(st.integers(100, 3000)))})
    return doc


# -- the toy bundles every manifest property starts from ---------------------------------------


class Toy:
    """The toy host, one bundle per exposure mode and their manifests as written."""

    def __init__(self, host: PluginHost, bundles: dict[str, Path], task_manifest: dict[str, Any]) -> None:
        self.host = host
        self.bundles = bundles
        self.manifests = {m: json.loads((p / "manifest.json").read_text()) for m, p in bundles.items()}
        self.task_manifest = task_manifest

    def __repr__(self) -> str:  # a failing example shows this, not the whole host
        return "<toy bundles>"


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Toy]:
    host = PluginHost.from_plugins([("toy", toyplugin)], distribution="leadforge-scheme-toy")
    base = tmp_path_factory.mktemp("properties")
    bundles = {
        mode: Generator.from_recipe("toy_v1", seed=3, exposure_mode=mode, host=host)
        .generate()
        .save(base / mode, generation_timestamp=PINNED)
        for mode in ("student_public", "research_instructor")
    }
    task = json.loads((bundles["student_public"] / "tasks/toy_task/task_manifest.json").read_text())
    mp = pytest.MonkeyPatch()
    mp.delenv("LEADFORGE_DEBUG", raising=False)
    set_host(host)
    yield Toy(host, bundles, task)
    set_host(None)
    mp.undo()


def real_manifest(toy: Toy) -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from(sorted(toy.manifests)).flatmap(lambda m: mutated(toy.manifests[m]))


# -- 1. the manifest parser ------------------------------------------------------------------


def check_typed(m: mf.Manifest, raw: Mapping[str, Any]) -> None:
    """What every reader of a parsed manifest relies on, whatever the file said."""
    assert isinstance(m, mf.Manifest)
    assert isinstance(m.findings, tuple)
    for f in m.findings:
        assert isinstance(f, Finding) and isinstance(f.severity, Severity)
        assert f.where == mf.MANIFEST
        one_line(f.message)
    for name in (
        "schema_version",
        "package_version",
        "scheme",
        "recipe_id",
        "generation_timestamp",
        "exposure_mode",
        "difficulty",
        "config_digest",
    ):
        assert getattr(m, name) is None or isinstance(getattr(m, name), str), name
    assert m.seed is None or (type(m.seed) is int)
    assert m.relational_snapshot_safe in (None, True, False)
    assert all(isinstance(c, str) for c in (*m.redacted_columns, *m.hidden_fields))
    for entry in m.tables.values():
        assert type(entry.row_count) is int and isinstance(entry.file, str) and isinstance(entry.sha256, str)
    for task in m.tasks.values():
        assert all(type(task.rows[s]) is int and isinstance(task.sha256[s], str) for s in mf.SPLITS)
    for file in (m.files or {}).values():
        assert isinstance(file.sha256, str) and type(file.size) is int and file.size >= 0
    assert dict(m.fields) == {k: v for k, v in raw.items() if k not in mf.CORE_KEYS}
    assert set(m.extra_keys) <= set(m.fields)
    if "tasks" not in raw:
        assert m.extra_keys == ()


@settings(max_examples=150, deadline=DEADLINE_MS)
@given(raw=json_objects)
@example(raw={"bundle_schema_version": "²"})  # str.isdigit() says yes, int() says no
@example(raw={"tables": {"a\nFAIL": 1}, "seed": "x" * 10_000, "recipe_id": nested(3)})
@example(raw={"plugins": [{"distribution": "d", "version": "1", "plugin": 10**5000}]})
def test_parse_types_whatever_the_object(raw: dict[str, Any]) -> None:
    m = mf.parse(raw)
    check_typed(m, raw)
    once = dumps(m.to_json())
    assert dumps(mf.parse(m.to_json()).to_json()) == once, "to_json is not a fixed point of parse"


@settings(max_examples=150, deadline=DEADLINE_MS)
@given(data=st.data())
def test_parse_types_a_doctored_real_manifest(toy: Toy, data: st.DataObject) -> None:
    raw = data.draw(real_manifest(toy))
    m = mf.parse(raw)
    check_typed(m, raw)
    assert dumps(mf.parse(m.to_json()).to_json()) == dumps(m.to_json())


def toy_contract(**cut: Any) -> dict[str, Any]:
    """The toy scheme's contract as a manifest records it, its events cutoff changed."""
    recorded: dict[str, Any] = toyplugin.contract(None).to_json()  # type: ignore[arg-type]  # config unused
    recorded["events"]["public"]["cut"].update(cut)
    return recorded


@settings(max_examples=200, deadline=DEADLINE_MS)
@given(contract=contracts | json_values)
@example(contract=toy_contract())
@example(contract=toy_contract(offset_days=math.inf))  # int(inf) is an OverflowError
@example(contract=toy_contract(offset_days=math.nan))
@example(contract=toy_contract(date="2025-02-30", via=None, anchor_column=None))
def test_a_recorded_contract_is_typed_or_one_finding(contract: Any) -> None:
    raw = {"bundle_schema_version": "7", "relational_contract": contract}
    m = mf.parse(raw)
    check_typed(m, raw)
    problems = [f for f in m.findings if f.message.startswith("relational_contract")]
    if contract is None:
        assert m.contract is None and not problems
        return
    assert (m.contract is None) is bool(problems), problems
    if m.contract is not None:
        again = mf.parse({"relational_contract": m.contract.to_json()}).contract
        assert again == m.contract


def test_an_untouched_manifest_parses_clean_and_round_trips(toy: Toy) -> None:
    for raw in toy.manifests.values():
        m = mf.parse(raw)
        assert m.findings == ()
        assert m.to_json() == raw


@settings(max_examples=150, deadline=DEADLINE_MS)
@given(data=st.data())
def test_load_raises_only_bundle_error(toy: Toy, data: st.DataObject) -> None:
    value = data.draw(json_values | json_objects | real_manifest(toy), label="manifest.json")
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / "manifest.json").write_text(dumps(value), encoding="utf-8")
        try:
            m = mf.Manifest.load(root)
        except BundleError as exc:
            one_line(str(exc).replace(str(root), "<root>"))
            assert not isinstance(value, dict) or "not readable JSON" in str(exc)
            return
    assert isinstance(value, dict)
    reread = json.loads(dumps(value))
    check_typed(m, reread)
    assert dumps(m.to_json()) == dumps(mf.parse(reread).to_json())


def test_a_manifest_of_many_keys_parses_in_linear_time() -> None:
    raw = {"tasks": {}, **{f"k{i}": i for i in range(200_000)}}
    with time_limit(10):
        m = mf.parse(raw)
    assert len(m.extra_keys) == 200_000


@settings(max_examples=300, deadline=DEADLINE_MS)
@given(raw=json_values)
def test_parse_task_manifest_types_or_reports(raw: Any) -> None:
    tm, findings = mf.parse_task_manifest(raw, "tasks/t/task_manifest.json")
    assert isinstance(findings, list) and all(isinstance(f, Finding) for f in findings)
    for f in findings:
        one_line(f.message)
    assert (tm is None) == bool(findings)


@settings(max_examples=200, deadline=DEADLINE_MS)
@given(data=st.data())
def test_parse_task_manifest_of_a_doctored_real_one(toy: Toy, data: st.DataObject) -> None:
    raw = data.draw(mutated(toy.task_manifest))
    tm, findings = mf.parse_task_manifest(raw, "tasks/t/task_manifest.json")
    for f in findings:
        one_line(f.message)
    if tm is None:
        assert findings
        return
    assert findings == []
    assert tm.task_type in TASK_TYPES
    assert type(tm.label_window_days) is int
    assert set(mf.SPLITS) <= set(tm.split)
    assert all(isinstance(v, str) for v in (tm.task_id, tm.label_column, tm.primary_table, tm.key_column))
    again, _ = mf.parse_task_manifest(copy.deepcopy(tm.to_json()), "again")
    assert again == tm


# -- 2. validate and inspect on a doctored manifest --------------------------------------------

#: What a check that crashed on a malformed bundle turns into; a wrong manifest must be
#: reported as what is wrong with it, not as a crash of the check reading it.
CRASHED = ("check could not finish", "validate hook raised")


@settings(max_examples=100, deadline=DEADLINE_MS)
@given(data=st.data())
def test_validate_reports_a_doctored_manifest_and_never_crashes(toy: Toy, data: st.DataObject) -> None:
    mode = data.draw(st.sampled_from(sorted(toy.bundles)), label="mode")
    raw = data.draw(mutated(toy.manifests[mode]), label="manifest")
    result = validate_cli(toy, mode, raw)
    if dumps(raw) == dumps(toy.manifests[mode]):
        assert result.exit_code == 0, result.stdout


def validate_cli(toy: Toy, mode: str, raw: Any) -> Result:
    """``validate --json`` (and ``inspect``) on the toy bundle with ``raw`` as its manifest; no
    check may crash on it."""
    root = toy.bundles[mode]
    (root / "manifest.json").write_text(dumps(raw), encoding="utf-8")
    runner = CliRunner()
    try:
        with time_limit(30):
            result = runner.invoke(main, ["validate", str(root), "--json"], catch_exceptions=False)
            shown = runner.invoke(main, ["inspect", str(root)], catch_exceptions=False)
    finally:
        (root / "manifest.json").write_text(json.dumps(toy.manifests[mode], indent=2), encoding="utf-8")
    for r in (result, shown):
        assert r.exit_code in (0, 1), (r.exit_code, r.stderr)
        assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    if result.stderr.startswith("FAIL: "):
        assert result.exit_code == 1 and not result.stdout
        one_line(result.stderr.strip().replace(str(root), "<root>"))
        return result
    report = json.loads(result.stdout)
    assert report["ok"] is (result.exit_code == 0)
    crashed = [e for e in report["errors"] if any(c in e["message"] for c in CRASHED)]
    assert not crashed, crashed
    return result


#: Edits random search rarely lands on, each a value some reader or check could choke on: path,
#: new value (a tuple copies the manifest's value at that path) and whether the edit contradicts
#: the files, so validation must fail.
DOCTORED = {
    "unicode-digit-schema": (("bundle_schema_version",), "²", True),
    "infinite-offset": (("relational_contract", "events", "public", "cut", "offset_days"), math.inf, True),
    "int64-overflowing-offset": (
        ("relational_contract", "events", "public", "cut", "offset_days"),
        2**63,
        False,
    ),
    "nan-offset": (("relational_contract", "events", "public", "cut", "offset_days"), math.nan, True),
    "fixed-cut": (("relational_contract", "events", "public", "cut"), {"date": "2025-01-03"}, False),
    "no-time-column": (("relational_contract", "rows", "time_column"), None, False),
    "numbering-not-a-name": (("relational_contract", "events", "numbering"), 5, True),
    "borrowed-prefix": (("relational_contract", "events", "id_prefix"), "row", True),
    "no-foreign-keys": (("relational_contract", "events", "foreign_keys"), [], True),
    "table-file-swapped": (("tables", "rows", "file"), "tables/events.parquet", True),
    "table-file-not-parquet": (("tables", "rows", "file"), "dataset_card.md", True),
    "newline-in-a-task-id": (("tasks", "t\nOK: bundle passed all checks."), ("tasks", "toy_task"), True),
    "newline-in-a-file-name": (
        ("files", "x\nOK: bundle passed all checks."),
        ("files", "dataset_card.md"),
        True,
    ),
    "redacted-key": (("redacted_columns",), ["x1", "row_id"], True),
    "dropped-key": (("structural_redactions", "columns", "rows"), ["row_id"], False),
}


@pytest.mark.parametrize("case", sorted(DOCTORED))
def test_validate_reports_each_doctored_field(toy: Toy, case: str) -> None:
    path, value, must_fail = DOCTORED[case]
    for mode in toy.bundles:
        raw = copy.deepcopy(toy.manifests[mode])
        at(raw, path[:-1])[path[-1]] = copy.deepcopy(at(raw, value)) if isinstance(value, tuple) else value
        result = validate_cli(toy, mode, raw)
        if must_fail:
            assert result.exit_code == 1, (mode, result.stdout)
        if result.exit_code and not result.stderr.startswith("FAIL: "):
            for e in json.loads(result.stdout)["errors"]:
                assert "\n" not in e["message"] + (e["where"] or ""), e


def test_an_untouched_toy_bundle_validates(toy: Toy) -> None:
    for root in toy.bundles.values():
        r = CliRunner().invoke(main, ["validate", str(root), "--json"], catch_exceptions=False)
        assert r.exit_code == 0, r.stdout
        assert json.loads(r.stdout)["ok"] is True


# -- 3. override files ---------------------------------------------------------------------------

YAML_FRAGMENTS = (
    "seed: ",
    "n_rows: ",
    "label_name: ",
    "exposure_mode: ",
    "difficulty: ",
    "&a ",
    "*a",
    "&b ",
    "*b",
    "<<: *a",
    "<<: ",
    "[*a, *a]",
    "? ",
    ": ",
    "- ",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
    "%TAG ! tag:x,2000:\n",
    "!!python/object/apply:os.system ['true']",
    "!!python/name:os.system",
    "!!binary ",
    "!!timestamp ",
    "!!int ",
    "!!float ",
    "!!set ",
    "!!omap ",
    "!!str ",
    "!!bool ",
    "!!null ",
    "!!int 1:",
    "!!int 0b",
    "!!float ",
    "!custom ",
    "2001-13-45",
    "0x",
    "0o9",
    "1e400",
    ".nan",
    "-.inf",
    "9" * 5000,
    '"\\ud800"',
    '"\\x00"',
    "'",
    '"',
    "|",
    ">",
    "#",
    "{",
    "}",
    "[",
    "]",
    ",",
    "\t",
    "\n",
    "  ",
    "\ufeff",
    "\x85",
    "\u2028",
    "[" * 1100,
    "{a: " * 300,
    "- " * 500,
    '{"seed": 1, "n_rows": 2}',
    '{\t"seed": 1}',
)
yaml_texts = st.lists(st.sampled_from(YAML_FRAGMENTS) | st.text(max_size=6), max_size=30).map("".join)
json_texts = json_values.map(dumps)


def loaded_or_refused(path: Path) -> dict[str, Any] | None:
    """``load_override``'s result, or ``None`` after checking its error is one clear line."""
    try:
        with time_limit(20):
            data = load_override(path)
    except UsageError as exc:
        one_line(str(exc).replace(str(path), "<file>"))
        return None
    assert isinstance(data, dict)
    return data


@settings(max_examples=200, deadline=YAML_DEADLINE_MS)
@given(
    content=st.binary(max_size=400) | yaml_texts.map(str.encode) | json_texts.map(str.encode),
    name=st.sampled_from(["o.yaml", "o.json", "o.YML", "o"]),
)
def test_an_override_file_is_a_mapping_or_one_usage_error(content: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / name
        path.write_bytes(content)
        data = loaded_or_refused(path)
        try:
            direct: dict[str, Any] | None = load_mapping(path, error=UsageError)
        except UsageError:
            direct = None
        assert dumps(direct) == dumps(data), "load_override and load_mapping disagree"


@settings(max_examples=100, deadline=YAML_DEADLINE_MS)
@given(content=yaml_texts | json_texts, suffix=st.sampled_from([".yaml", ".json"]))
def test_override_text_resolves_to_a_config_or_one_usage_error(toy: Toy, content: str, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"o{suffix}"
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
        if loaded_or_refused(path) is None:
            return
        check_resolves(toy, path)


config_keys = st.sampled_from(["seed", "exposure_mode", "difficulty", "n_rows", "chunk_rows", "label_name"])
override_maps = st.dictionaries(
    config_keys | st.sampled_from(["snapshot_day", "n_row", "recipe_id"]) | st.text(max_size=5) | scalars,
    json_values,
    max_size=5,
)


@settings(max_examples=80, deadline=YAML_DEADLINE_MS)
@given(override=override_maps)
def test_an_override_mapping_in_a_file_resolves_or_is_one_usage_error(
    toy: Toy, override: dict[Any, Any]
) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "o.yaml"
        with unlimited_int_digits():
            text = yaml.safe_dump(override, allow_unicode=True)
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        if loaded_or_refused(path) is None:
            return
        check_resolves(toy, path)


def check_resolves(toy: Toy, path: Path) -> None:
    try:
        gen = Generator.from_recipe("toy_v1", override=path, host=toy.host)
    except UsageError as exc:
        assert "\n" not in str(exc), str(exc)[:MAX_MESSAGE]
        return
    p = gen.config.params_as(toyplugin.ToyParams)
    check_params(p)
    assert type(gen.config.seed) is int and gen.config.seed >= 0


@settings(max_examples=12, deadline=None)
@given(size=st.integers(MAX_FILE_BYTES - 3, MAX_FILE_BYTES + 3))
def test_the_file_size_cap_holds(size: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "o.yaml"
        path.write_bytes(b"#" + b" " * (size - 2) + b"\n")
        try:
            data = load_override(path)
        except UsageError as exc:
            assert size > MAX_FILE_BYTES and "larger than" in str(exc)
            return
        assert size <= MAX_FILE_BYTES and data == {}


def test_an_override_that_is_a_fifo_or_a_link_to_one_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "pipe.yaml")
    for name in ("pipe.yaml", "link.yaml"):
        with time_limit(10), pytest.raises(UsageError, match="not a regular file"):
            load_override(tmp_path / name)


# -- 4. paths inside a bundle --------------------------------------------------------------------

NAMES = ("a", "b", "x.parquet", "manifest.json", "..a", "é", "sp ace")
KINDS = ("file", "dir", "link_in", "link_in_abs", "link_out", "link_dangling", "link_root", "fifo")
entries = st.lists(
    st.tuples(
        st.lists(st.sampled_from(NAMES), min_size=1, max_size=3), st.sampled_from(KINDS), st.integers()
    ),
    max_size=14,
)


@dataclass
class Tree:
    """What a generated bundle tree holds, by relative path: the oracle for every read."""

    files: dict[str, str] = dataclasses.field(default_factory=dict)
    dirs: set[str] = dataclasses.field(default_factory=set)
    odd: set[str] = dataclasses.field(default_factory=set)


def build(root: Path, outside: Path, spec: list[tuple[list[str], str, int]]) -> Tree:
    """Create ``spec`` under ``root``; an entry whose folder is not a real folder is skipped."""
    tree = Tree()
    for parts, kind, pick in spec:
        rel = "/".join(parts)
        parents = ["/".join(parts[:i]) for i in range(1, len(parts))]
        if os.path.lexists(root / rel) or any(
            os.path.lexists(root / p) and p not in tree.dirs for p in parents
        ):
            continue
        for p in parents:
            if p not in tree.dirs:
                (root / p).mkdir()
                tree.dirs.add(p)
        path = root / rel
        known = sorted(tree.files.keys() | tree.dirs)
        if kind == "file":
            path.write_text(f"content of {rel}", encoding="utf-8")
            tree.files[rel] = f"content of {rel}"
            continue
        if kind == "dir":
            path.mkdir()
            tree.dirs.add(rel)
            continue
        if kind == "fifo":
            os.mkfifo(path)
        elif kind in ("link_in", "link_in_abs") and known:
            target = root / known[pick % len(known)]
            path.symlink_to(target if kind == "link_in_abs" else os.path.relpath(target, path.parent))
        elif kind == "link_out" or kind in ("link_in", "link_in_abs"):
            path.symlink_to(outside / "/".join(parts[1:]) if len(parts) > 1 else outside)
        elif kind == "link_dangling":
            path.symlink_to(root / "nowhere" / rel)
        else:
            path.symlink_to(root if pick % 2 else ".")
        tree.odd.add(rel)
    return tree


def mirror(outside: Path) -> None:
    """Regular files outside the bundle at every name a link out could reach."""
    for a in NAMES:
        (outside / a).mkdir()
        for b in NAMES:
            (outside / a / b).mkdir()
            for c in NAMES:
                (outside / a / b / c).write_text("outside")


def rel_strings(tree: Tree) -> st.SearchStrategy[str]:
    known = sorted(tree.files.keys() | tree.dirs | tree.odd) or ["a"]
    parts = st.sampled_from(NAMES) | st.sampled_from(["..", ".", "", "\\", "\x00", "a\x00", "n" * 300])
    return (
        st.sampled_from(known)
        | st.sampled_from(known).map(lambda r: f"./{r}")
        | st.sampled_from(known).map(lambda r: f"/{r}")
        | st.sampled_from(known).map(lambda r: f"{r}/")
        | st.sampled_from(known).map(lambda r: f"a/../{r}")
        | st.lists(parts, min_size=1, max_size=4).map("/".join)
        | st.text(max_size=12)
    )


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("outside")
    mirror(out)
    return out


@settings(max_examples=100, deadline=DEADLINE_MS)
@given(spec=entries, data=st.data())
def test_confined_reaches_only_regular_files_through_real_folders(
    outside: Path, spec: list[tuple[list[str], str, int]], data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as d:
        root = Path(d) / "bundle"
        root.mkdir()
        tree = build(root, outside, spec)
        view = BundleView(root)
        with time_limit(20):
            regular, odd = view.files()
        assert regular == sorted(tree.files) and odd == sorted(tree.odd)
        real_root = root.resolve()
        for rel in data.draw(st.lists(rel_strings(tree), min_size=1, max_size=8), label="rels"):
            with time_limit(10):
                try:
                    path = confined(root, rel)
                except BundleError:
                    path = None
                exists = view.exists(rel)
                try:
                    text: str | None = view.text(rel)
                except BundleError:
                    text = None
            assert (path is not None) is (rel in tree.files) is exists, rel
            assert text == tree.files.get(rel), rel
            if path is None:
                continue
            assert path.relative_to(root).as_posix() == rel
            assert path.resolve().is_relative_to(real_root)
            assert stat.S_ISREG(path.lstat().st_mode)
            assert not any(p.is_symlink() for p in [path, *path.parents] if p.is_relative_to(root))
            with time_limit(10), pytest.raises(BundleError):
                view.path(f"{rel}/x")


# -- 5. config values ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AllKinds:
    """A parameter of every kind core supports."""

    count: int = param(1, help="an integer", minimum=1, maximum=100)
    rate: float = param(0.5, help="a bounded number", minimum=0.0, maximum=1.0)
    scale: float = param(1.0, help="a number bounded below", minimum=0.0)
    name: str = param("x", help="a string")
    flag: bool = param(False, help="a boolean")
    mode: Literal["a", "b"] = param("a", help="a choice")
    sizes: tuple[int, ...] = param((1,), help="a list of integers")
    limit: int | None = param(None, help="an optional integer", minimum=0)
    ratio: float | None = param(None, help="an optional number", maximum=1.0)
    options: Mapping[str, Any] | None = param(None, help="a mapping")


PARAMS_TYPES: list[type] = [AllKinds, toyplugin.ToyParams]
with contextlib.suppress(ImportError):
    from leadforge_leadscoring.params import LeadScoringParams

    PARAMS_TYPES.append(LeadScoringParams)

hostile_values = (
    json_values
    | st.text(min_size=990, max_size=1200)
    | HUGE_INTS.map(lambda n: -n)
    | st.builds(nested, st.just(5000))
    | st.lists(st.integers(), min_size=1000, max_size=1000)
    | st.dictionaries(st.text(max_size=3), st.integers(), max_size=50)
)


def has_type(value: Any, ann: Any) -> bool:
    origin = get_origin(ann)
    if origin is Literal:
        return value in get_args(ann)
    if origin is tuple:
        return isinstance(value, tuple) and all(has_type(v, get_args(ann)[0]) for v in value)
    if origin is not None and origin is not Mapping and type(None) in get_args(ann):
        return value is None or any(has_type(value, a) for a in get_args(ann) if a is not type(None))
    if origin is Mapping or ann is Mapping:
        return isinstance(value, dict)
    if ann in (int, float):
        return type(value) is ann
    return isinstance(value, ann)


def within(value: Any, f: ParamField) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return True
    lo = -math.inf if f.minimum is None else f.minimum
    hi = math.inf if f.maximum is None else f.maximum
    return lo <= value <= hi


def check_params(params: Any) -> None:
    for f in param_fields(type(params)):
        value = getattr(params, f.name)
        assert has_type(value, f.annotation), (f.name, value)
        assert within(value, f), (f.name, value)


@settings(max_examples=150, deadline=DEADLINE_MS)
@given(data=st.data())
def test_build_params_is_typed_or_one_short_invalid_config_error(data: st.DataObject) -> None:
    params_type = data.draw(st.sampled_from(PARAMS_TYPES), label="params type")
    names = [f.name for f in param_fields(params_type)]
    values = data.draw(
        st.dictionaries(st.sampled_from(names) | st.text(max_size=30), hostile_values, max_size=4),
        label="values",
    )
    try:
        params = build_params(params_type, values, where="the test")
    except InvalidConfigError as exc:
        one_line(str(exc))
        assert exc.key in (*names, *values), exc.key
        return
    check_params(params)
    for key, value in values.items():
        got = getattr(params, key)
        want = tuple(value) if isinstance(value, list) else float(value) if isinstance(got, float) else value
        assert got == want, key


@settings(max_examples=150, deadline=DEADLINE_MS)
@given(data=st.data())
def test_coerce_is_typed_or_one_short_invalid_config_error(data: st.DataObject) -> None:
    params_type = data.draw(st.sampled_from(PARAMS_TYPES), label="params type")
    field = data.draw(st.sampled_from(param_fields(params_type)), label="field")
    value = data.draw(hostile_values, label="value")
    try:
        typed = coerce(field, value)
    except InvalidConfigError as exc:
        one_line(str(exc))
        assert exc.key == field.name
        return
    assert has_type(typed, field.annotation), typed
    assert within(typed, field), typed


CONFIG_NEEDLES = {
    "huge-int-for-a-number": ("rate", 10**400),
    "nan-within-bounds": ("rate", math.nan),
    "infinity-below-no-maximum": ("scale", math.inf),
    "nan-for-an-optional-number": ("ratio", math.nan),
    "deep-list": ("sizes", nested(5000)),
    "wide-nested-value": ("name", {str(i): {str(j): list(range(9)) for j in range(9)} for i in range(9)}),
    "unknown-key-of-10000-chars": ("x" * 10_000, 1),
}


@pytest.mark.parametrize("case", sorted(CONFIG_NEEDLES))
def test_each_known_hostile_value_is_one_short_error(case: str) -> None:
    key, value = CONFIG_NEEDLES[case]
    with pytest.raises(InvalidConfigError) as caught:
        build_params(AllKinds, {key: value})
    one_line(str(caught.value))


def test_a_long_wrong_primary_task_is_one_short_error() -> None:
    params = pytest.importorskip("leadforge_leadscoring.params")
    with pytest.raises(InvalidConfigError) as caught:
        build_params(params.LeadScoringParams, {"primary_task": "-" * 1000})
    one_line(str(caught.value))


#: Override files that once crashed or flooded: each must be one short UsageError naming the cause.
OVERRIDE_NEEDLES = [
    (f"seed: {'x' * 3000}\n", "seed must be an integer"),
    (f"exposure_mode: {'x' * 3000}\n", "exposure_mode must be one of"),
    (f"difficulty: {'y' * 3000}\n", "difficulty must be one of"),
    ("1: 2\n", "every top-level key must be a string"),
    ("null: 3\n", "every top-level key must be a string"),
    ("seed: !!int \n", "unreadable value"),
    ("seed: !!timestamp \n", "unreadable value"),
    ("x: !!bool maybe\n", "unreadable value"),
    ("- 1\n- 2\n", "top level must be a mapping"),
    ("seed: " + "[" * 2000 + "]" * 2000 + "\n", "unreadable value"),
    ("seed: 9" + "9" * 5000 + "\n", "unreadable value"),
    ('{\t"seed": 1, "nope": 2}', "unknown key 'nope'"),
]


@pytest.mark.parametrize(("text", "error"), OVERRIDE_NEEDLES)
def test_each_known_hostile_override_is_one_short_usage_error(
    toy: Toy, tmp_path: Path, text: str, error: str
) -> None:
    path = tmp_path / "o.yaml"
    path.write_text(text)
    with pytest.raises(UsageError) as caught:
        Generator.from_recipe("toy_v1", override=path, host=toy.host)
    assert error in str(caught.value)
    one_line(str(caught.value).replace(str(path), "<file>"))


def test_hostile_helpers_agree_with_the_real_types() -> None:
    """The oracle above accepts every default (else its assertions prove nothing)."""
    for params_type in PARAMS_TYPES:
        check_params(params_type())
    assert not has_type(True, int) and not has_type(1, float) and not has_type("c", Literal["a", "b"])
    assert not within(math.nan, param_fields(AllKinds)[1])
