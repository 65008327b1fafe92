"""Core's own plugin: the envelope checks every bundle must pass, whatever its scheme."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pyarrow.compute as pc

from leadforge.bundle.reader import BundleView, Manifest
from leadforge.bundle.splits import SPLITS
from leadforge.enums import Difficulty, ExposureMode
from leadforge.errors import BundleError
from leadforge.hookspecs import hookimpl
from leadforge.schemes import TASK_TYPES
from leadforge.validation import Finding, Severity, guarded

REQUIRED = ("dataset_card.md", "feature_dictionary.csv")
TASK_MANIFEST_KEYS = ("task_id", "task_type", "label_column", "label_window_days", "primary_table", "split")


@hookimpl
def validate(bundle: BundleView, manifest: Manifest) -> list[Finding]:
    findings: list[Finding] = []
    for check in (_required, _manifest_shape, _files, _tables, _tasks, _exposure, _dictionary):
        findings.extend(guarded(check.__name__.strip("_"), check, bundle, manifest))
    return findings


def _required(bundle: BundleView, manifest: Manifest) -> Iterator[Finding]:
    for name in REQUIRED:
        if not bundle.exists(name):
            yield Finding("required", "missing required file", where=name)


def _manifest_shape(bundle: BundleView, manifest: Manifest) -> Iterator[Finding]:
    raw = manifest.raw
    for key in ("bundle_schema_version", "recipe_id", "generation_timestamp"):
        if not isinstance(raw.get(key), str):
            yield Finding("manifest", f"{key} must be a string, got {raw.get(key)!r}", where="manifest.json")
    seed = raw.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int):
        yield Finding("manifest", f"seed must be an integer, got {seed!r}", where="manifest.json")
    if raw.get("exposure_mode") not in [m.value for m in ExposureMode]:
        yield Finding(
            "manifest", f"exposure_mode is unknown: {raw.get('exposure_mode')!r}", where="manifest.json"
        )
    if raw.get("difficulty") not in [d.value for d in Difficulty]:
        yield Finding("manifest", f"difficulty is unknown: {raw.get('difficulty')!r}", where="manifest.json")
    for key in ("tables", "tasks"):
        if not isinstance(raw.get(key), dict):
            yield Finding("manifest", f"'{key}' is not a JSON object", where="manifest.json")
    if not isinstance(raw.get("relational_snapshot_safe"), bool):
        yield Finding("manifest", "relational_snapshot_safe must be a JSON boolean", where="manifest.json")
    if manifest.files is None:
        schema = raw.get("bundle_schema_version")
        if isinstance(schema, str) and schema.isdigit() and int(schema) >= 7:
            yield Finding("manifest", "'files' is missing or not a JSON object", where="manifest.json")
        else:
            yield Finding(
                "manifest",
                f"schema {schema!r} bundle: only Parquet files are hashed",
                where="manifest.json",
                severity=Severity.WARNING,
            )


def _sha256(path: str, bundle: BundleView) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    try:
        with open(bundle.path(path), "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
                size += len(block)
    except OSError as exc:
        raise BundleError(f"cannot read {path}: {exc}") from None
    return h.hexdigest(), size


def _files(bundle: BundleView, manifest: Manifest) -> Iterator[Finding]:
    files = manifest.files
    if files is None:
        return
    for rel, entry in files.items():
        if not isinstance(entry, dict):
            yield Finding("files", "manifest entry is not an object", where=rel)
            continue
        if ".." in rel.split("/") or rel.startswith("/"):
            yield Finding("files", "path escapes the bundle", where=rel)
            continue
        if not bundle.exists(rel):
            yield Finding("files", "listed in the manifest but missing", where=rel)
            continue
        sha, size = _sha256(rel, bundle)
        if sha != entry.get("sha256") or size != entry.get("size"):
            sizes = "" if size == entry.get("size") else f"; {size} bytes, manifest says {entry.get('size')}"
            yield Finding("files", f"SHA-256 mismatch (edited after generation?){sizes}", where=rel)
    on_disk = {p.relative_to(bundle.root).as_posix() for p in bundle.root.rglob("*") if p.is_file()} - {
        "manifest.json"
    }
    for rel in sorted(on_disk - set(files)):
        yield Finding("files", "file is not listed in the manifest", where=rel)


def _tables(bundle: BundleView, manifest: Manifest) -> Iterator[Finding]:
    for name, entry in manifest.tables.items():
        if not isinstance(entry, dict):
            yield Finding("tables", "manifest entry is not an object", where=name)
            continue
        rel = entry.get("file", f"tables/{name}.parquet")
        if not isinstance(rel, str) or not bundle.exists(rel):
            yield Finding("tables", "table file is missing", where=str(rel))
            continue
        rows = bundle.parquet_rows(rel)
        if entry.get("row_count") is not None and rows != entry["row_count"]:
            yield Finding("tables", f"expected {entry['row_count']} rows, got {rows}", where=rel)
        if manifest.files is None and entry.get("sha256") and _sha256(rel, bundle)[0] != entry["sha256"]:
            yield Finding("tables", "SHA-256 mismatch", where=rel)
        elif manifest.files is not None and manifest.files.get(rel, {}).get("sha256") != entry.get("sha256"):
            yield Finding("tables", "table hash disagrees with the files section", where=rel)
    listed = {e.get("file") for e in manifest.tables.values() if isinstance(e, dict)}
    for name in bundle.table_names():
        if f"tables/{name}.parquet" not in listed:
            yield Finding(
                "tables", "table file is not listed in manifest tables", where=f"tables/{name}.parquet"
            )


def _tasks(bundle: BundleView, manifest: Manifest) -> Iterator[Finding]:
    for task_id, entry in manifest.tasks.items():
        if not isinstance(entry, dict):
            yield Finding("tasks", "manifest entry is not an object", where=task_id)
            continue
        tm_rel = f"tasks/{task_id}/task_manifest.json"
        tm = bundle.json(tm_rel) if bundle.exists(tm_rel) else None
        if not isinstance(tm, dict):
            yield Finding("tasks", "task_manifest.json is missing or not an object", where=tm_rel)
            tm = {}
        missing = [k for k in TASK_MANIFEST_KEYS if k not in tm]
        if tm and missing:
            yield Finding("tasks", f"task_manifest.json lacks {missing}", where=tm_rel)
        if tm and tm.get("task_type") not in TASK_TYPES:
            yield Finding(
                "tasks", f"task_type must be one of {TASK_TYPES}, got {tm.get('task_type')!r}", where=tm_rel
            )
        label = tm.get("label_column")
        key = tm.get("key_column")
        keys: dict[str, set[str]] = {}
        for split in SPLITS:
            rel = f"tasks/{task_id}/{split}.parquet"
            if not bundle.exists(rel):
                yield Finding("tasks", "split file is missing", where=rel)
                continue
            rows = bundle.parquet_rows(rel)
            if entry.get(f"{split}_rows") is not None and rows != entry[f"{split}_rows"]:
                yield Finding("tasks", f"expected {entry[f'{split}_rows']} rows, got {rows}", where=rel)
            if (
                manifest.files is None
                and entry.get(f"{split}_sha256")
                and _sha256(rel, bundle)[0] != entry[f"{split}_sha256"]
            ):
                yield Finding("tasks", "SHA-256 mismatch", where=rel)
            if rows == 0:
                yield Finding("tasks", "split is empty", where=rel, severity=Severity.WARNING)
            names = bundle.schema(rel).names
            if isinstance(label, str) and label not in names:
                yield Finding("tasks", f"label column {label!r} is missing", where=rel)
            if isinstance(key, str) and key in names:
                values = bundle.read_parquet(rel, [key]).column(key)
                if values.null_count:
                    yield Finding("tasks", f"key column {key!r} has nulls", where=rel)
                keys[split] = set(pc.unique(values).to_pylist())
                if len(keys[split]) != len(values):
                    yield Finding("tasks", f"key column {key!r} has duplicate values", where=rel)
        for i, a in enumerate(SPLITS):
            for b in SPLITS[i + 1 :]:
                both = keys.get(a, set()) & keys.get(b, set())
                if both:
                    yield Finding(
                        "tasks",
                        f"{len(both)} {key} value(s) appear in both {a} and {b}, e.g. {sorted(both)[:3]}",
                        where=f"tasks/{task_id}",
                    )


def _exposure(bundle: BundleView, manifest: Manifest) -> Iterator[Finding]:
    mode = manifest.exposure_mode
    redacted = manifest.raw.get("redacted_columns", [])
    redacted = set(redacted) if isinstance(redacted, list) else set()
    if redacted:
        for rel in _parquet_files(bundle):
            present = redacted & set(bundle.schema(rel).names)
            if present:
                yield Finding("exposure", f"redacted column(s) {sorted(present)} are present", where=rel)
    if mode != ExposureMode.STUDENT_PUBLIC.value:
        return
    if (bundle.root / "metadata").exists():
        yield Finding("exposure", "a student_public bundle must not contain metadata/", where="metadata/")
    if manifest.raw.get("relational_snapshot_safe") is not True:
        yield Finding(
            "exposure", "student_public bundle is not marked relational_snapshot_safe", where="manifest.json"
        )
    sr = manifest.raw.get("structural_redactions")
    if not isinstance(sr, dict):
        return
    for table in sr.get("omitted_tables", []) or []:
        if bundle.exists(f"tables/{table}.parquet"):
            yield Finding(
                "exposure", "table must be omitted from a public bundle", where=f"tables/{table}.parquet"
            )
    for table, cols in (sr.get("columns") or {}).items():
        rel = f"tables/{table}.parquet"
        if bundle.exists(rel):
            present = set(cols) & set(bundle.schema(rel).names)
            for col in sorted(present):
                yield Finding("exposure", "structurally redacted column is present", where=f"{rel}:{col}")


def _dictionary(bundle: BundleView, manifest: Manifest) -> Iterator[Finding]:
    if not bundle.exists("feature_dictionary.csv"):
        return
    rows = bundle.dictionary
    names = [r["name"] for r in rows]
    for r in rows:
        if r.get("is_target") not in ("True", "False") or r.get("leakage_risk") not in ("True", "False"):
            yield Finding(
                "dictionary",
                "is_target / leakage_risk must be True or False",
                where=f"feature_dictionary.csv:{r['name']}",
            )
    redacted = manifest.raw.get("redacted_columns", [])
    for col in redacted if isinstance(redacted, list) else []:
        if col in names:
            yield Finding("dictionary", "redacted column is listed", where=f"feature_dictionary.csv:{col}")
    known = set(names)
    for task_id in manifest.tasks:
        rel = f"tasks/{task_id}/train.parquet"
        if bundle.exists(rel):
            uncovered = [c for c in bundle.schema(rel).names if c not in known]
            if uncovered:
                yield Finding(
                    "dictionary", f"split columns missing from the dictionary: {uncovered}", where=rel
                )


def _parquet_files(bundle: BundleView) -> list[str]:
    return sorted(p.relative_to(bundle.root).as_posix() for p in bundle.root.rglob("*.parquet"))
