"""The contract checks. Each yields one self-contained line per failure it finds.

A check reads bundles from the :class:`~leadforge.testing.runner.Conformance` it is given
(each bundle is generated once per run and shared), and raises :class:`Skip` when it does not
apply to the scheme, e.g. exposure monotonicity for a scheme with one exposure mode.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from leadforge.api import Generator, core_version
from leadforge.bundle.splits import SPLITS
from leadforge.bundle.writer import ENVELOPE_KEYS, HEAD_KEYS, SCHEMA_VERSION, TAIL_KEYS
from leadforge.enums import ExposureMode
from leadforge.errors import LeadforgeError, UsageError
from leadforge.features import DICTIONARY_HEADER
from leadforge.schemes import TASK_TYPES
from leadforge.testing.bundles import (
    PINNED_TIMESTAMP,
    GeneratedBundle,
    data_files,
    explain_difference,
    tree_hashes,
)
from leadforge.testing.tamper import Tamper, tampers
from leadforge.validation import Severity, validate_bundle

if TYPE_CHECKING:
    from leadforge.testing.runner import Conformance

PUBLIC = ExposureMode.STUDENT_PUBLIC
INSTRUCTOR = ExposureMode.RESEARCH_INSTRUCTOR
TASK_ENTRY_KEYS = tuple(f"{s}_{k}" for s in SPLITS for k in ("rows", "sha256"))
TASK_MANIFEST_KEYS = (
    "task_id",
    "task_type",
    "label_column",
    "label_window_days",
    "primary_table",
    "key_column",
    "split",
    "stratified",
    "description",
)
ARROW_DTYPES = {
    "string": ("string", "large_string"),
    "Int64": ("int64",),
    "Float64": ("double",),
    "boolean": ("bool",),
}
_SHA = re.compile(r"^[0-9a-f]{64}$")
#: Hidden string values shorter than this are too common to look for in public text.
MIN_HIDDEN_TEXT = 6


class Skip(Exception):
    """The check does not apply to this scheme; the message says why."""


@dataclass(frozen=True)
class Check:
    """One contract check: its name (``test_<name>`` in the base class) and what it proves."""

    name: str
    summary: str
    run: Callable[[Conformance], Iterable[str]]


# -- determinism -------------------------------------------------------------------------


def determinism(c: Conformance) -> Iterator[str]:
    for mode in c.modes:
        yield from _compare(c.bundle(mode), c.bundle(mode, run="repeat"))
    if c.cross_process:
        mode = INSTRUCTOR if INSTRUCTOR in c.modes else c.primary_mode
        yield from _compare(c.bundle(mode), c.factory.via_cli(mode, c.seed))


def _compare(a: GeneratedBundle, b: GeneratedBundle, limit: int = 5) -> Iterator[str]:
    ha, hb = tree_hashes(a.path), tree_hashes(b.path)
    problems = [f"{rel}: only in the first" for rel in sorted(set(ha) - set(hb))]
    problems += [f"{rel}: only in the second" for rel in sorted(set(hb) - set(ha))]
    problems += [
        explain_difference(a.path, b.path, rel) for rel in sorted(set(ha) & set(hb)) if ha[rel] != hb[rel]
    ]
    if problems:
        more = f" (and {len(problems) - limit} more)" if len(problems) > limit else ""
        yield (f"same inputs, different bytes: {a.label} vs {b.label}: " + "; ".join(problems[:limit]) + more)


def seed_sensitivity(c: Conformance) -> Iterator[str]:
    a, b = c.bundle(c.primary_mode), c.bundle(c.primary_mode, seed=c.other_seed)
    ha, hb = data_files(tree_hashes(a.path)), data_files(tree_hashes(b.path))
    if set(ha) != set(hb):
        yield (
            f"the bundle layout depends on the seed: only with seed {a.seed}: {sorted(set(ha) - set(hb))}, "
            f"only with seed {b.seed}: {sorted(set(hb) - set(ha))}"
        )
    tables = [k for k in set(ha) & set(hb) if k.startswith("tables/")]
    if tables and all(ha[k] == hb[k] for k in tables):
        yield (
            f"seeds {a.seed} and {b.seed} give byte-identical tables: the seed does not reach the simulation"
        )
    for task in sorted(set(_str_keys(a.manifest().get("tasks"))) & set(_str_keys(b.manifest().get("tasks")))):
        rows_a, rows_b = _task_rows(a.path, task), _task_rows(b.path, task)
        if rows_a is not None and rows_b is not None and rows_a.equals(rows_b):
            yield (
                f"task {task} holds the same rows for seeds {a.seed} and {b.seed} (only the split "
                "assignment differs): the seed does not reach its features or labels"
            )


def _task_rows(root: Path, task: str) -> pa.Table | None:
    """All rows of a task, whatever their split, in key order (``None`` if unreadable)."""
    key = _task_manifest(root, task).get("key_column")
    try:
        parts = [pq.read_table(root / "tasks" / task / f"{s}.parquet") for s in SPLITS]
        rows = pa.concat_tables(parts)
    except (OSError, pa.ArrowException):
        return None
    if not isinstance(key, str) or key not in rows.column_names:
        return rows
    return rows.take(pc.sort_indices(rows, sort_keys=[(key, "ascending")]))


# -- exposure ----------------------------------------------------------------------------


def exposure_monotonicity(c: Conformance) -> Iterator[str]:
    if PUBLIC not in c.modes:
        raise Skip(f"the recipe/scheme supports no {PUBLIC.value} mode")
    pub = c.bundle(PUBLIC)
    mp = pub.manifest()
    if (pub.path / "metadata").exists():
        yield "the student_public bundle contains metadata/"
    ins = c.bundle(INSTRUCTOR) if INSTRUCTOR in c.modes else None
    hidden = set(pub.hidden_fields or ()) | set((ins.hidden_fields or ()) if ins else ())
    for key in sorted(hidden):
        if mp.get(key) is not None:
            yield f"the public manifest reveals the hidden field {key!r} = {_clip(mp[key])}"
    if mp.get("motif_family") is not None:
        yield f"the public manifest reveals motif_family = {mp['motif_family']!r} (must be null)"
    yield from _declared_redactions_absent(pub, mp)
    if ins is None:
        return
    mi = ins.manifest()
    yield from _hidden_values_in_public_text(pub, mi, hidden)
    if not (ins.path / "metadata").is_dir():
        yield "the research_instructor bundle has no metadata/"
    extra_keys = [k for k in mp if k not in mi]
    if extra_keys:
        yield f"the public manifest has keys the instructor one lacks: {extra_keys}"
    yield from _tables_monotone(pub, mp, ins, mi)
    yield from _tasks_monotone(pub, mp, ins, mi)
    yield from _dictionary_monotone(pub, ins)


def _declared_redactions_absent(pub: GeneratedBundle, mp: Mapping[str, Any]) -> Iterator[str]:
    redacted = set(_strs(mp.get("redacted_columns")))
    sr = mp.get("structural_redactions") if isinstance(mp.get("structural_redactions"), dict) else {}
    assert isinstance(sr, dict)
    per_table = sr.get("columns") if isinstance(sr.get("columns"), dict) else {}
    assert isinstance(per_table, dict)
    for table in _strs(sr.get("omitted_tables")):
        if (pub.path / "tables" / f"{table}.parquet").exists():
            yield f"tables/{table}.parquet is in the public bundle although the manifest declares it omitted"
    for rel in _parquet_files(pub.path):
        names = set(pq.read_schema(pub.path / rel).names)
        banned = redacted | (
            set(_strs(per_table.get(Path(rel).stem))) if rel.startswith("tables/") else set()
        )
        present = sorted(names & banned)
        if present:
            yield f"{rel} keeps column(s) the public manifest declares redacted: {present}"


def _hidden_values_in_public_text(
    pub: GeneratedBundle, mi: Mapping[str, Any], hidden: set[str]
) -> Iterator[str]:
    values = {k: mi[k] for k in hidden if isinstance(mi.get(k), str) and len(mi[k]) >= MIN_HIDDEN_TEXT}
    if not values:
        return
    for path in sorted(pub.path.rglob("*")):
        if not path.is_file() or path.suffix == ".parquet":
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        rel = path.relative_to(pub.path).as_posix()
        for key, value in sorted(values.items()):
            if value in text:
                yield f"{rel} of the public bundle mentions the hidden {key} value {value!r}"


def _tables_monotone(
    pub: GeneratedBundle, mp: Mapping[str, Any], ins: GeneratedBundle, mi: Mapping[str, Any]
) -> Iterator[str]:
    tp, ti = set(_str_keys(mp.get("tables"))), set(_str_keys(mi.get("tables")))
    if tp - ti:
        yield f"public tables missing from the instructor bundle: {sorted(tp - ti)}"
    sr = mp.get("structural_redactions") if isinstance(mp.get("structural_redactions"), dict) else {}
    assert isinstance(sr, dict)
    undeclared = sorted(ti - tp - set(_strs(sr.get("omitted_tables"))))
    if undeclared:
        yield (
            f"instructor tables {undeclared} are missing from the public bundle without being declared in "
            "structural_redactions.omitted_tables"
        )
    per_table = sr.get("columns") if isinstance(sr.get("columns"), dict) else {}
    assert isinstance(per_table, dict)
    redacted = set(_strs(mp.get("redacted_columns")))
    for name in sorted(tp & ti):
        rel = f"tables/{name}.parquet"
        sp, si = pq.read_schema(pub.path / rel), pq.read_schema(ins.path / rel)
        extra = [n for n in sp.names if n not in si.names]
        if extra:
            yield f"{rel}: public columns the instructor table lacks: {extra}"
        missing = [n for n in si.names if n not in sp.names]
        undeclared_cols = sorted(set(missing) - redacted - set(_strs(per_table.get(name))))
        if undeclared_cols:
            yield (
                f"{rel}: instructor columns {undeclared_cols} are dropped from the public table "
                "without being declared in structural_redactions.columns or redacted_columns"
            )
        for col in sp.names:
            if col in si.names and sp.field(col).type != si.field(col).type:
                yield (
                    f"{rel}:{col} has type {sp.field(col).type} in public "
                    f"but {si.field(col).type} in instructor"
                )
        rp, ri = (
            pq.ParquetFile(pub.path / rel).metadata.num_rows,
            pq.ParquetFile(ins.path / rel).metadata.num_rows,
        )
        if rp > ri:
            yield f"{rel} has more rows in public ({rp}) than in instructor ({ri})"
        key = sp.names[0] if sp.names else ""
        if key.endswith("_id") and key in si.names and rp:
            yield from _ids_subset(rel, key, pub.path / rel, ins.path / rel)


def _ids_subset(rel: str, key: str, pub_file: Path, ins_file: Path) -> Iterator[str]:
    ids_i = pq.read_table(ins_file, columns=[key]).column(key)
    if pc.count_distinct(ids_i).as_py() != len(ids_i):
        return
    ids_p = pq.read_table(pub_file, columns=[key]).column(key)
    unknown = pc.sum(pc.invert(pc.is_in(ids_p, value_set=ids_i.combine_chunks()))).as_py() or 0
    if unknown:
        yield f"{rel}: {unknown} public {key} value(s) do not exist in the instructor table"


def _tasks_monotone(
    pub: GeneratedBundle, mp: Mapping[str, Any], ins: GeneratedBundle, mi: Mapping[str, Any]
) -> Iterator[str]:
    tp, ti = set(_str_keys(mp.get("tasks"))), set(_str_keys(mi.get("tasks")))
    if tp - ti:
        yield f"public tasks missing from the instructor bundle: {sorted(tp - ti)}"
    redacted = set(_strs(mp.get("redacted_columns")))
    for task in sorted(tp & ti):
        key = _task_manifest(pub.path, task).get("key_column")
        for split in SPLITS:
            rel = f"tasks/{task}/{split}.parquet"
            if not (pub.path / rel).exists() or not (ins.path / rel).exists():
                continue
            a, b = pq.read_table(pub.path / rel), pq.read_table(ins.path / rel)
            extra = [n for n in a.column_names if n not in b.column_names]
            if extra:
                yield f"{rel}: public columns the instructor split lacks: {extra}"
            missing = sorted(set(b.column_names) - set(a.column_names) - redacted)
            if missing:
                yield (
                    f"{rel}: instructor columns {missing} are missing from the public split "
                    "but not in redacted_columns"
                )
            if a.num_rows != b.num_rows:
                yield f"{rel}: {a.num_rows} rows in public, {b.num_rows} in instructor"
                continue
            if isinstance(key, str) and key in a.column_names and key in b.column_names:
                order_a = pc.sort_indices(a, sort_keys=[(key, "ascending")])
                order_b = pc.sort_indices(b, sort_keys=[(key, "ascending")])
                a, b = a.take(order_a), b.take(order_b)
                if not a.column(key).equals(b.column(key)):
                    yield f"{rel}: the public and instructor splits hold different {key} values"
                    continue
            differ = [
                n for n in a.column_names if n in b.column_names and not a.column(n).equals(b.column(n))
            ]
            if differ:
                yield f"{rel}: values differ between public and instructor in column(s) {differ[:5]}"


def _dictionary_monotone(pub: GeneratedBundle, ins: GeneratedBundle) -> Iterator[str]:
    rows_p = {r["name"]: r for r in _dictionary_rows(pub.path)}
    rows_i = {r["name"]: r for r in _dictionary_rows(ins.path)}
    extra = sorted(set(rows_p) - set(rows_i))
    if extra:
        yield f"feature_dictionary.csv: public rows the instructor dictionary lacks: {extra}"
    changed = sorted(n for n in set(rows_p) & set(rows_i) if rows_p[n] != rows_i[n])
    if changed:
        yield f"feature_dictionary.csv: rows that differ between public and instructor: {changed}"


# -- manifest ----------------------------------------------------------------------------


def manifest(c: Conformance) -> Iterator[str]:
    instructor_tables: set[str] | None = None
    if INSTRUCTOR in c.modes:
        instructor_tables = set(_str_keys(c.bundle(INSTRUCTOR).manifest().get("tables")))
    for mode in c.modes:
        b = c.bundle(mode)
        for problem in _manifest_problems(c, b, instructor_tables):
            yield f"{mode.value} manifest: {problem}"


def _manifest_problems(
    c: Conformance, b: GeneratedBundle, instructor_tables: set[str] | None
) -> Iterator[str]:
    m = b.manifest()
    keys = list(m)
    if tuple(keys[: len(HEAD_KEYS)]) != HEAD_KEYS:
        yield f"must start with {list(HEAD_KEYS)}, starts with {keys[: len(HEAD_KEYS)]}"
    if tuple(keys[-len(TAIL_KEYS) :]) != TAIL_KEYS:
        yield f"must end with {list(TAIL_KEYS)}, ends with {keys[-len(TAIL_KEYS) :]}"
    positions = [keys.index(k) for k in ENVELOPE_KEYS if k in keys]
    if len(positions) != len(ENVELOPE_KEYS) or positions != sorted(positions):
        yield f"must hold {list(ENVELOPE_KEYS)} in this order after the scheme's config keys"
    expected = {
        "bundle_schema_version": SCHEMA_VERSION,
        "package_version": core_version(),
        "generation_scheme": c.scheme.name,
        "recipe_id": c.recipe.id,
        "seed": b.seed,
        "generation_timestamp": PINNED_TIMESTAMP,
        "exposure_mode": b.mode.value,
        "difficulty": c.difficulty.value,
        "config_digest": b.config.digest(),
    }
    for key, want in expected.items():
        if m.get(key) != want:
            yield f"{key} is {_clip(m.get(key))}, expected {want!r}"
    redacted = m.get("redacted_columns")
    if (
        not isinstance(redacted, list)
        or not all(isinstance(x, str) for x in redacted)
        or redacted != sorted(redacted)
    ):
        yield f"redacted_columns must be a sorted list of column names, got {_clip(redacted)}"
    snapshot_safe = m.get("relational_snapshot_safe")
    if not isinstance(snapshot_safe, bool):
        yield f"relational_snapshot_safe must be a boolean, got {snapshot_safe!r}"
    elif b.mode is PUBLIC and not snapshot_safe:
        yield "relational_snapshot_safe must be true in a student_public bundle"
    yield from _structural_redactions_shape(m.get("structural_redactions"))
    yield from _plugins(c, m.get("plugins"))
    yield from _files(b, m.get("files"))
    files = m.get("files") if isinstance(m.get("files"), dict) else {}
    assert isinstance(files, dict)
    yield from _tables_section(b, m.get("tables"), files)
    yield from _tasks_section(b, m.get("tasks"), files, instructor_tables)


def _structural_redactions_shape(sr: Any) -> Iterator[str]:
    if not isinstance(sr, dict) or set(sr) != {"columns", "omitted_tables"}:
        yield f"structural_redactions must hold exactly columns and omitted_tables, got {_clip(sr)}"
        return
    cols, omitted = sr["columns"], sr["omitted_tables"]
    if not isinstance(cols, dict) or not all(
        isinstance(v, list) and v == sorted(v) and all(isinstance(x, str) for x in v) for v in cols.values()
    ):
        yield f"structural_redactions.columns must map tables to sorted column lists, got {_clip(cols)}"
    if (
        not isinstance(omitted, list)
        or omitted != sorted(omitted)
        or not all(isinstance(x, str) for x in omitted)
    ):
        yield f"structural_redactions.omitted_tables must be a sorted list, got {_clip(omitted)}"


def _plugins(c: Conformance, plugins: Any) -> Iterator[str]:
    if not isinstance(plugins, list) or not all(
        isinstance(p, dict) and set(p) == {"distribution", "version", "plugin"} for p in plugins
    ):
        yield f"plugins must be a list of {{distribution, version, plugin}} objects, got {_clip(plugins)}"
        return
    named = {p["distribution"] for p in plugins}
    for what, dist in (("scheme", c.host.scheme_providers.get(c.scheme.name)), ("recipe", c.recipe.provider)):
        if dist is not None and dist not in named:
            yield f"plugins does not record the {what}'s distribution {dist!r}: {plugins}"


def _files(b: GeneratedBundle, files: Any) -> Iterator[str]:
    if not isinstance(files, dict):
        yield f"files must be an object, got {_clip(files)}"
        return
    if list(files) != sorted(files):
        yield "files must be sorted by path"
    on_disk = {p.relative_to(b.path).as_posix(): p for p in sorted(b.path.rglob("*")) if p.is_file()}
    on_disk.pop("manifest.json", None)
    for rel in sorted(set(on_disk) - set(files)):
        yield f"{rel} is in the bundle but not listed in files"
    for rel in sorted(set(files) - set(on_disk)):
        yield f"{rel} is listed in files but not in the bundle"
    hashes = tree_hashes(b.path)
    for rel in sorted(set(files) & set(on_disk)):
        entry = files[rel]
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("sha256"), str)
            or not _SHA.match(entry["sha256"])
        ):
            yield f"files[{rel!r}] must hold a lowercase hex sha256, got {_clip(entry)}"
            continue
        if entry["sha256"] != hashes[rel]:
            yield f"files[{rel!r}].sha256 does not match the file"
        if entry.get("size") != on_disk[rel].stat().st_size:
            size = on_disk[rel].stat().st_size
            yield f"files[{rel!r}].size is {entry.get('size')!r}, the file has {size} bytes"


def _tables_section(b: GeneratedBundle, tables: Any, files: Mapping[str, Any]) -> Iterator[str]:
    if not isinstance(tables, dict):
        yield f"tables must be an object, got {_clip(tables)}"
        return
    on_disk = {p.stem for p in (b.path / "tables").glob("*.parquet")}
    if set(tables) != on_disk:
        yield f"tables lists {sorted(tables)} but tables/ holds {sorted(on_disk)}"
    for name, entry in tables.items():
        rel = f"tables/{name}.parquet"
        if not isinstance(entry, dict) or list(entry) != ["row_count", "file", "sha256"]:
            yield f"tables[{name!r}] must be {{row_count, file, sha256}}, got {_clip(entry)}"
            continue
        if entry["file"] != rel:
            yield f"tables[{name!r}].file is {entry['file']!r}, expected {rel!r}"
        if (b.path / rel).exists():
            rows = pq.ParquetFile(b.path / rel).metadata.num_rows
            if entry["row_count"] != rows:
                yield f"tables[{name!r}].row_count is {entry['row_count']!r}, the file has {rows} rows"
        if entry["sha256"] != files.get(rel, {}).get("sha256"):
            yield f"tables[{name!r}].sha256 disagrees with files[{rel!r}]"


def _tasks_section(
    b: GeneratedBundle, tasks: Any, files: Mapping[str, Any], instructor_tables: set[str] | None
) -> Iterator[str]:
    if not isinstance(tasks, dict):
        yield f"tasks must be an object, got {_clip(tasks)}"
        return
    folder = b.path / "tasks"
    on_disk = {p.name for p in folder.iterdir() if p.is_dir()} if folder.is_dir() else set()
    if set(tasks) != on_disk:
        yield f"tasks lists {sorted(tasks)} but tasks/ holds {sorted(on_disk)}"
    for task, entry in tasks.items():
        if not isinstance(entry, dict) or tuple(entry) != TASK_ENTRY_KEYS:
            yield f"tasks[{task!r}] must hold {list(TASK_ENTRY_KEYS)}, got {_clip(entry)}"
            continue
        for split in SPLITS:
            rel = f"tasks/{task}/{split}.parquet"
            if (b.path / rel).exists():
                rows = pq.ParquetFile(b.path / rel).metadata.num_rows
                if entry[f"{split}_rows"] != rows:
                    recorded = entry[f"{split}_rows"]
                    yield f"tasks[{task!r}].{split}_rows is {recorded!r}, the file has {rows} rows"
            if entry[f"{split}_sha256"] != files.get(rel, {}).get("sha256"):
                yield f"tasks[{task!r}].{split}_sha256 disagrees with files[{rel!r}]"
        yield from _task_manifest_problems(b.path, task, instructor_tables)


def _task_manifest_problems(root: Path, task: str, instructor_tables: set[str] | None) -> Iterator[str]:
    rel = f"tasks/{task}/task_manifest.json"
    tm = _task_manifest(root, task)
    if not tm:
        yield f"{rel} is missing or not a JSON object"
        return
    if tuple(tm) != TASK_MANIFEST_KEYS:
        yield f"{rel} must hold {list(TASK_MANIFEST_KEYS)} in this order, has {list(tm)}"
    if tm.get("task_id") != task:
        yield f"{rel}: task_id is {tm.get('task_id')!r}, expected {task!r}"
    if tm.get("task_type") not in TASK_TYPES:
        yield f"{rel}: task_type must be one of {TASK_TYPES}, got {tm.get('task_type')!r}"
    window = tm.get("label_window_days")
    if isinstance(window, bool) or not isinstance(window, int) or window < 0:
        yield f"{rel}: label_window_days must be a non-negative integer, got {window!r}"
    for key in ("label_column", "key_column", "primary_table", "description"):
        if not isinstance(tm.get(key), str) or not tm[key]:
            yield f"{rel}: {key} must be a non-empty string, got {tm.get(key)!r}"
    split = tm.get("split")
    if not isinstance(split, dict) or set(split) != set(SPLITS) or abs(sum(split.values()) - 1.0) > 1e-6:
        yield f"{rel}: split must give train/valid/test fractions summing to 1, got {split!r}"
    primary = tm.get("primary_table")
    if instructor_tables is not None and isinstance(primary, str) and primary not in instructor_tables:
        yield f"{rel}: primary_table {tm['primary_table']!r} is not a table of the instructor bundle"


# -- validation --------------------------------------------------------------------------


def validate_fresh(c: Conformance) -> Iterator[str]:
    for mode in c.modes:
        b = c.bundle(mode)
        try:
            report = validate_bundle(b.path, c.host)
        except Exception as exc:
            yield f"validate crashed on the fresh {b.label}: {type(exc).__name__}: {exc}"
            continue
        for f in report.errors:
            yield f"validate reports an error on the fresh {b.label}: {f}"


def validate_tampered(c: Conformance) -> Iterator[str]:
    base = c.bundle(c.primary_mode)
    scratch = c.workdir / "tampered"
    for i, t in enumerate(tampers(base.manifest(), public=base.mode is PUBLIC)):
        root = scratch / f"{i:02d}"
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(base.path, root)
        try:
            t.apply(root)
            yield from _tamper_reported(c, root, t)
        finally:
            shutil.rmtree(root, ignore_errors=True)


def _tamper_reported(c: Conformance, root: Path, t: Tamper) -> Iterator[str]:
    try:
        report = validate_bundle(root, c.host)
    except Exception as exc:
        yield f"validate crashed instead of reporting ({t.description}): {type(exc).__name__}: {exc}"
        return
    for f in report.findings:
        if f.message.startswith("validate hook raised"):
            yield f"a validate hook crashed on a bundle with {t.description}: {f}"
    named = [
        f
        for f in report.findings
        if f.severity is Severity.ERROR and (t.target in (f.where or "") or t.target in f.message)
    ]
    if not named:
        seen = "; ".join(str(f) for f in report.errors[:3]) or "no errors at all"
        yield f"validate did not report {t.description} (no error names {t.target!r}; it said: {seen})"


# -- configuration -----------------------------------------------------------------------


def bad_config(c: Conformance) -> Iterator[str]:
    for difficulty in c.recipe.supported_difficulty:
        for mode in c.modes:
            try:
                Generator.from_recipe(
                    c.recipe.id,
                    seed=c.seed,
                    exposure_mode=mode.value,
                    difficulty=difficulty.value,
                    host=c.host,
                    **c.params,
                )
            except Exception as exc:
                yield (
                    f"the supported combination {difficulty.value}/{mode.value} does not resolve: "
                    f"{type(exc).__name__}: {exc}"
                )
    for case in _bad_inputs(c):
        problem = _rejected(c, case)
        if problem:
            yield problem


@dataclass(frozen=True)
class BadInput:
    description: str
    key: str
    args: Mapping[str, Any]
    override: Mapping[str, Any] | None = None
    may_succeed: bool = False


def _bad_inputs(c: Conformance) -> list[BadInput]:
    cases = [
        BadInput("an unknown override key", "not_a_leadforge_key", {}, {"not_a_leadforge_key": 1}),
        BadInput("exposure_mode='public'", "exposure_mode", {"exposure_mode": "public"}),
        BadInput("difficulty='expert'", "difficulty", {"difficulty": "expert"}),
        BadInput("seed=-1", "seed", {"seed": -1}),
    ]
    for mode in ExposureMode:
        if mode not in c.modes:
            cases.append(
                BadInput(f"the unsupported mode {mode.value!r}", mode.value, {"exposure_mode": mode.value})
            )
    fields = c.scheme.params
    if fields:
        typo = fields[0].name + fields[0].name[-1]
        cases.append(
            BadInput(f"the misspelt parameter {typo!r}", fields[0].name, {}, {typo: fields[0].default})
        )
    ints = [f for f in fields if f.base_type is int]
    if ints:
        cases.append(BadInput(f"{ints[0].name}='many'", ints[0].name, {ints[0].name: "many"}))
    for f in ints:
        if f.name.startswith("n_") or (f.minimum is not None and f.minimum >= 0):
            cases.append(BadInput(f"the negative count {f.name}=-1", f.name, {f.name: -1}))
        if f.name.startswith("n_"):
            cases.append(BadInput(f"the zero count {f.name}=0", f.name, {f.name: 0}, may_succeed=True))
    return cases


def _rejected(c: Conformance, case: BadInput) -> str | None:
    """``None`` if ``case`` is turned away with a clear UsageError (or, if allowed, works)."""
    args: dict[str, Any] = {
        "seed": c.seed,
        "exposure_mode": c.primary_mode.value,
        "difficulty": c.difficulty.value,
        **c.params,
        **case.args,
    }
    try:
        gen = Generator.from_recipe(c.recipe.id, host=c.host, override=dict(case.override or {}), **args)
        bundle = gen.generate()
        if not case.may_succeed:
            return f"{case.description} was accepted; expected an InvalidConfigError naming {case.key!r}"
        bundle.save(c.workdir / "accepted-input", generation_timestamp=PINNED_TIMESTAMP)
        return None
    except UsageError as exc:
        message = str(exc)
        if not message.strip() or "\n" in message.strip():
            return f"{case.description}: the error must be one line, got {message!r}"
        if case.key not in message and getattr(exc, "key", None) != case.key:
            return f"{case.description}: the error does not name {case.key!r}: {message}"
        return None
    except LeadforgeError as exc:
        return (
            f"{case.description}: rejected with {type(exc).__name__} (exit code {exc.exit_code}: {exc}); "
            "a config problem must raise InvalidConfigError(message, key=...) so the CLI exits 2"
        )
    except Exception as exc:
        return (
            f"{case.description}: crashed with {type(exc).__name__}: {exc}; raise "
            f"InvalidConfigError(message, key={case.key!r}) instead (in params check() or build_world)"
        )


# -- task splits and dictionary ----------------------------------------------------------


def splits(c: Conformance) -> Iterator[str]:
    for mode in c.modes:
        b = c.bundle(mode)
        tasks = _str_keys(b.manifest().get("tasks"))
        if not tasks:
            yield f"the {mode.value} bundle has no task"
        for task in sorted(tasks):
            yield from _split_problems(b, task)


def _split_problems(b: GeneratedBundle, task: str) -> Iterator[str]:
    tm = _task_manifest(b.path, task)
    key, label, kind = tm.get("key_column"), tm.get("label_column"), tm.get("task_type")
    where = f"{b.mode.value} tasks/{task}"
    tables: dict[str, pa.Table] = {}
    for split in SPLITS:
        path = b.path / "tasks" / task / f"{split}.parquet"
        if not path.exists():
            yield f"{where}/{split}.parquet is missing"
            continue
        tables[split] = pq.read_table(path)
        if tables[split].num_rows == 0:
            yield f"{where}/{split}.parquet is empty"
    schemas = {s: t.schema.remove_metadata() for s, t in tables.items()}
    if len({str(s) for s in schemas.values()}) > 1:
        yield f"{where}: the splits do not share one schema"
    seen: dict[str, set[Any]] = {}
    for split, table in tables.items():
        if not isinstance(key, str) or key not in table.column_names:
            yield f"{where}/{split}.parquet lacks the key column {key!r}"
            continue
        col = table.column(key)
        if col.null_count:
            yield f"{where}/{split}.parquet: key column {key!r} has nulls"
        values = set(col.to_pylist())
        if len(values) != table.num_rows:
            yield f"{where}/{split}.parquet: key column {key!r} has duplicates"
        seen[split] = values
        if not isinstance(label, str) or label not in table.column_names:
            yield f"{where}/{split}.parquet lacks the label column {label!r}"
        elif table.column(label).null_count:
            yield f"{where}/{split}.parquet: label column {label!r} has nulls"
    for i, a in enumerate(SPLITS):
        for other in SPLITS[i + 1 :]:
            both = seen.get(a, set()) & seen.get(other, set())
            if both:
                example = sorted(both, key=str)[:3]
                yield f"{where}: {len(both)} {key} value(s) are in both {a} and {other}, e.g. {example}"
    train = tables.get("train")
    if train is not None and isinstance(label, str) and label in train.column_names and train.num_rows:
        distinct = pc.count_distinct(train.column(label)).as_py()
        if distinct < 2:
            kind_text = "classes" if kind == "binary_classification" else "values"
            yield (
                f"{where}/train.parquet: the label {label!r} has a single value; "
                f"a task needs at least two {kind_text}"
            )


def dictionary(c: Conformance) -> Iterator[str]:
    for mode in c.modes:
        b = c.bundle(mode)
        yield from (f"{mode.value} {p}" for p in _dictionary_problems(b))


def _dictionary_problems(b: GeneratedBundle) -> Iterator[str]:
    path = b.path / "feature_dictionary.csv"
    if not path.exists():
        yield "feature_dictionary.csv is missing"
        return
    header = path.read_text(encoding="utf-8").splitlines()[:1]
    if header != [",".join(DICTIONARY_HEADER)]:
        yield f"feature_dictionary.csv header must be {','.join(DICTIONARY_HEADER)}, got {header}"
        return
    rows = _dictionary_rows(b.path)
    names = [r["name"] for r in rows]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        yield f"feature_dictionary.csv lists {dupes} more than once"
    by_name = {r["name"]: r for r in rows}
    for r in rows:
        if r["dtype"] not in ARROW_DTYPES:
            valid = sorted(ARROW_DTYPES)
            yield f"feature_dictionary.csv:{r['name']} has dtype {r['dtype']!r}, not one of {valid}"
        if r["is_target"] not in ("True", "False") or r["leakage_risk"] not in ("True", "False"):
            yield f"feature_dictionary.csv:{r['name']}: is_target/leakage_risk must be True or False"
    m = b.manifest()
    for col in _strs(m.get("redacted_columns")):
        if col in by_name:
            yield f"feature_dictionary.csv lists the redacted column {col!r}"
    for task in sorted(_str_keys(m.get("tasks"))):
        label = _task_manifest(b.path, task).get("label_column")
        for split in SPLITS:
            rel = f"tasks/{task}/{split}.parquet"
            if not (b.path / rel).exists():
                continue
            schema = pq.read_schema(b.path / rel)
            missing = [n for n in schema.names if n not in by_name]
            if missing:
                yield f"{rel}: columns missing from feature_dictionary.csv: {missing}"
            for n in schema.names:
                if n in by_name and str(schema.field(n).type) not in ARROW_DTYPES.get(
                    by_name[n]["dtype"], ()
                ):
                    yield f"{rel}:{n} is {schema.field(n).type} but the dictionary says {by_name[n]['dtype']}"
        if isinstance(label, str) and label in by_name and by_name[label]["is_target"] != "True":
            yield f"feature_dictionary.csv: the label {label!r} of task {task} is not marked is_target"


# -- helpers -----------------------------------------------------------------------------


def _task_manifest(root: Path, task: str) -> dict[str, Any]:
    import json

    try:
        data = json.loads((root / "tasks" / task / "task_manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _dictionary_rows(root: Path) -> list[dict[str, str]]:
    from leadforge.features import parse_dictionary

    try:
        return parse_dictionary((root / "feature_dictionary.csv").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []


def _parquet_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.parquet"))


def _str_keys(section: Any) -> list[str]:
    return [k for k in section if isinstance(k, str)] if isinstance(section, dict) else []


def _strs(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _clip(value: Any, n: int = 100) -> str:
    text = repr(value)
    return text if len(text) <= n else text[: n - 3] + "..."


CHECKS: tuple[Check, ...] = (
    Check(
        "determinism",
        "one seed gives byte-identical bundles (every file hashed, timestamp pinned), in every mode, "
        "also from the CLI in a fresh interpreter with another PYTHONHASHSEED",
        determinism,
    ),
    Check(
        "seed_sensitivity",
        "another seed gives different tables and splits with the same layout",
        seed_sensitivity,
    ),
    Check(
        "exposure_monotonicity",
        "public ⊆ instructor: no metadata/, no hidden manifest field, no redacted column, tables/columns/"
        "tasks/dictionary rows of the public bundle all exist in the instructor bundle, omissions declared",
        exposure_monotonicity,
    ),
    Check(
        "manifest", "manifest keys, order and values; every file listed with its SHA-256 and size", manifest
    ),
    Check("validate_fresh", "`validate` reports no error on a fresh bundle of each mode", validate_fresh),
    Check(
        "validate_tampered",
        "`validate` reports an edited, deleted or added file (and metadata/ in a public bundle) by name",
        validate_tampered,
    ),
    Check(
        "bad_config",
        "every supported tier and mode resolves; unknown keys, bad modes, negative counts and wrong types "
        "are refused with one-line InvalidConfigError/UsageError naming the key",
        bad_config,
    ),
    Check("splits", "every task has disjoint, non-empty train/valid/test splits with a usable label", splits),
    Check(
        "dictionary",
        "feature_dictionary.csv covers every split column with its dtype and marks each label as target",
        dictionary,
    ),
)
