"""Core's own plugin: the envelope checks every bundle must pass, whatever its scheme."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leadforge.bundle.manifest import SCHEMA_VERSION, SPLITS, TASK_MANIFEST, parse_task_manifest
from leadforge.bundle.reader import BundleView, Manifest
from leadforge.bundle.relational import check_contract
from leadforge.enums import Difficulty, ExposureMode
from leadforge.errors import BundleError
from leadforge.findings import Finding, Severity, guarded
from leadforge.hookspecs import hookimpl

REQUIRED = ("dataset_card.md", "feature_dictionary.csv")
MAX_FILE_FINDINGS = 20


@hookimpl
def validate(bundle: BundleView, manifest: Manifest) -> list[Finding]:
    findings: list[Finding] = list(manifest.findings)
    for check in (_required, _manifest_values, _files, _tables, _tasks, _exposure, _dictionary, _relational):
        findings.extend(guarded(check.__name__.strip("_"), check, bundle, manifest))
    return findings


def _required(bundle: BundleView, manifest: Manifest) -> Iterator[Finding]:
    for name in REQUIRED:
        if not bundle.exists(name):
            yield Finding("required", "missing required file", where=name)


def _manifest_values(bundle: BundleView, manifest: Manifest) -> Iterator[Finding]:
    if manifest.exposure_mode not in [m.value for m in ExposureMode]:
        yield Finding(
            "manifest", f"exposure_mode is unknown: {manifest.exposure_mode!r}", where="manifest.json"
        )
    if manifest.difficulty not in [d.value for d in Difficulty]:
        yield Finding("manifest", f"difficulty is unknown: {manifest.difficulty!r}", where="manifest.json")
    if manifest.schema_version not in ("6", SCHEMA_VERSION):
        yield Finding(
            "manifest", f"unknown bundle_schema_version {manifest.schema_version!r}", where="manifest.json"
        )
    if manifest.schema_version == "6":
        yield from _schema6(bundle, manifest)
    if manifest.is_public:
        for key in manifest.hidden_fields:
            if manifest.fields.get(key) is not None:
                yield Finding(
                    "manifest", f"hidden field {key!r} must be null in a public bundle", where="manifest.json"
                )


def _schema6(bundle: BundleView, manifest: Manifest) -> Iterator[Finding]:
    """A schema-6 bundle hashes only its Parquet files: fail anything else it cannot vouch for."""
    newer = [
        k
        for k, v in (
            ("files", manifest.files),
            ("config_digest", manifest.config_digest),
            ("relational_contract", manifest.contract),
            ("plugins", manifest.plugins or None),
        )
        if v is not None
    ]
    if newer:
        yield Finding(
            "manifest",
            f"claims schema 6 but carries schema-7 key(s) {newer}: "
            "a schema-7 manifest with its checks removed?",
            where="manifest.json",
        )
        return
    known = set(REQUIRED) | {e.file for e in manifest.tables.values()}
    for task_id in manifest.tasks:
        known |= {f"tasks/{task_id}/{s}.parquet" for s in SPLITS} | {f"tasks/{task_id}/{TASK_MANIFEST}"}
    regular, odd = bundle.files()
    for rel in odd:
        yield Finding("files", "a link or special file; bundles hold regular files only", where=rel)
    extra = [r for r in regular if r != "manifest.json" and r not in known]
    if not manifest.is_public:
        extra = [r for r in extra if not r.startswith("metadata/")]
    for rel in extra[:MAX_FILE_FINDINGS]:
        yield Finding("files", "a schema-6 bundle does not hold this file", where=rel)
    yield Finding(
        "manifest",
        "schema-6 bundle: only its Parquet files are hashed, so dataset_card.md, feature_dictionary.csv "
        "and task manifests cannot be verified",
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
    regular, odd = bundle.files()
    found: list[Finding] = [
        Finding("files", "a link or special file; bundles hold regular files only", where=rel) for rel in odd
    ]
    on_disk = set(regular)
    for rel, entry in files.items():
        if rel not in on_disk:
            try:
                bundle.path(rel)
                message = "listed in the manifest but missing"
            except BundleError as exc:
                message = "listed in the manifest but missing" if "missing file" in str(exc) else str(exc)
            found.append(Finding("files", message, where=rel[:200]))
            continue
        sha, size = _sha256(rel, bundle)
        if sha != entry.sha256 or size != entry.size:
            sizes = "" if size == entry.size else f"; {size} bytes, manifest says {entry.size}"
            found.append(Finding("files", f"SHA-256 mismatch (edited after generation?){sizes}", where=rel))
    found += [
        Finding("files", "file is not listed in the manifest", where=rel)
        for rel in sorted(on_disk - set(files) - {"manifest.json"})
    ]
    yield from found[:MAX_FILE_FINDINGS]
    if len(found) > MAX_FILE_FINDINGS:
        yield Finding("files", f"… and {len(found) - MAX_FILE_FINDINGS} more problems with the files")


def _tables(bundle: BundleView, manifest: Manifest) -> Iterator[Finding]:
    for entry in manifest.tables.values():
        rel = entry.file
        if not bundle.exists(rel):
            yield Finding("tables", "table file is missing", where=rel)
            continue
        rows = bundle.parquet_rows(rel)
        if rows != entry.row_count:
            yield Finding("tables", f"expected {entry.row_count} rows, got {rows}", where=rel)
        if manifest.files is None and _sha256(rel, bundle)[0] != entry.sha256:
            yield Finding("tables", "SHA-256 mismatch", where=rel)
        elif (
            manifest.files is not None
            and (f := manifest.files.get(rel)) is not None
            and f.sha256 != entry.sha256
        ):
            yield Finding("tables", "table hash disagrees with the files section", where=rel)
    listed = {e.file for e in manifest.tables.values()}
    for name in bundle.table_names():
        if f"tables/{name}.parquet" not in listed:
            yield Finding(
                "tables", "table file is not listed in manifest tables", where=f"tables/{name}.parquet"
            )


def _tasks(bundle: BundleView, manifest: Manifest) -> Iterator[Finding]:
    assignments: dict[str, tuple[str, pa.Array, np.ndarray]] = {}
    for task_id, entry in manifest.tasks.items():
        tm_rel = f"tasks/{task_id}/{TASK_MANIFEST}"
        tm = None
        if bundle.exists(tm_rel):
            tm, problems = parse_task_manifest(bundle.json(tm_rel), tm_rel)
            yield from (Finding("tasks", f.message, where=tm_rel) for f in problems)
        else:
            yield Finding("tasks", "task_manifest.json is missing", where=tm_rel)
        keys: dict[str, set[str]] = {}
        split_keys: dict[str, pa.ChunkedArray] = {}
        for split in SPLITS:
            rel = f"tasks/{task_id}/{split}.parquet"
            if not bundle.exists(rel):
                yield Finding("tasks", "split file is missing", where=rel)
                continue
            rows = bundle.parquet_rows(rel)
            if rows != entry.rows[split]:
                yield Finding("tasks", f"expected {entry.rows[split]} rows, got {rows}", where=rel)
            if manifest.files is None and _sha256(rel, bundle)[0] != entry.sha256[split]:
                yield Finding("tasks", "SHA-256 mismatch", where=rel)
            if rows == 0:
                yield Finding("tasks", "split is empty", where=rel, severity=Severity.WARNING)
            if tm is None:
                continue
            names = bundle.schema(rel).names
            if tm.label_column not in names:
                yield Finding("tasks", f"label column {tm.label_column!r} is missing", where=rel)
            if tm.key_column not in names:
                yield Finding("tasks", f"key column {tm.key_column!r} is missing", where=rel)
                continue
            values = bundle.read_parquet(rel, [tm.key_column]).column(tm.key_column)
            if values.null_count:
                yield Finding("tasks", f"key column {tm.key_column!r} has nulls", where=rel)
            keys[split] = set(pc.unique(values).to_pylist())
            if len(keys[split]) != len(values):
                yield Finding("tasks", f"key column {tm.key_column!r} has duplicate values", where=rel)
            split_keys[split] = values
        if tm is not None and split_keys:
            yield from _shared_assignment(task_id, tm.key_column, split_keys, assignments)
        for i, a in enumerate(SPLITS):
            for b in SPLITS[i + 1 :]:
                both = keys.get(a, set()) & keys.get(b, set())
                if both:
                    key_name = tm.key_column if tm else "key"
                    yield Finding(
                        "tasks",
                        f"{len(both)} {key_name} value(s) appear in both {a} and {b}, "
                        f"e.g. {sorted(both)[:3]}",
                        where=f"tasks/{task_id}",
                    )


def _shared_assignment(
    task_id: str,
    key_column: str,
    split_keys: dict[str, pa.ChunkedArray],
    assignments: dict[str, tuple[str, pa.Array, np.ndarray]],
) -> Iterator[Finding]:
    """Tasks that share a key column must put each key in the same split."""
    keys = pa.chunked_array(
        [c for s in SPLITS if s in split_keys for c in split_keys[s].chunks], type=pa.large_string()
    )
    codes = np.concatenate(
        [np.full(len(split_keys[s]), i, dtype=np.int8) for i, s in enumerate(SPLITS) if s in split_keys]
    )
    keys_flat = keys.combine_chunks()
    if key_column not in assignments:
        assignments[key_column] = (task_id, keys_flat, codes)
        return
    first_task, first_keys, first_codes = assignments[key_column]
    idx = pc.index_in(keys_flat, value_set=first_keys)
    found = np.asarray(pc.is_valid(idx).to_numpy(zero_copy_only=False), dtype=bool)
    pos = np.asarray(pc.fill_null(idx, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    differ = found & (first_codes[pos] != codes)
    if differ.any():
        yield Finding(
            "tasks",
            f"{int(differ.sum())} {key_column} value(s) sit in another split than in task {first_task}; "
            "tasks sharing a key must share its split",
            where=f"tasks/{task_id}",
        )


def _exposure(bundle: BundleView, manifest: Manifest) -> Iterator[Finding]:
    redacted = set(manifest.redacted_columns)
    if redacted:
        for rel in [r for r in bundle.files()[0] if r.endswith(".parquet")]:
            present = redacted & set(bundle.schema(rel).names)
            if present:
                yield Finding("exposure", f"redacted column(s) {sorted(present)} are present", where=rel)
    if not manifest.is_public:
        return
    if (bundle.root / "metadata").exists():
        yield Finding("exposure", "a student_public bundle must not contain metadata/", where="metadata/")
    if manifest.relational_snapshot_safe is not True:
        yield Finding(
            "exposure", "student_public bundle is not marked relational_snapshot_safe", where="manifest.json"
        )
    sr = manifest.structural_redactions
    for table in sr.omitted_tables:
        if bundle.exists(f"tables/{table}.parquet"):
            yield Finding(
                "exposure", "table must be omitted from a public bundle", where=f"tables/{table}.parquet"
            )
    for table, cols in sr.columns.items():
        rel = f"tables/{table}.parquet"
        if bundle.exists(rel):
            for col in sorted(set(cols) & set(bundle.schema(rel).names)):
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
    for col in manifest.redacted_columns:
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


def _relational(bundle: BundleView, manifest: Manifest) -> Iterator[Finding]:
    if manifest.contract is None:
        if manifest.tables and manifest.schema_version == "7":
            yield Finding("relational", "the manifest records no relational_contract", where="manifest.json")
        return
    yield from check_contract(
        bundle, manifest.contract, public=manifest.is_public, redacted=manifest.redacted_columns
    )
