"""Core's own plugin: the envelope checks every bundle must pass, whatever its scheme."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from leadforge.bundle.checks_keys import id_limit
from leadforge.bundle.checks_splits import (
    Assignment,
    IdKeys,
    StringKeys,
    keys_in_both,
    read_id_keys,
    read_string_keys,
    shared_assignment,
)
from leadforge.bundle.manifest import (
    KNOWN_SCHEMA_VERSIONS,
    SPLITS,
    TASK_MANIFEST,
    TaskManifest,
    parse_task_manifest,
    part_name,
    parts_digest,
)
from leadforge.bundle.oracle import ORACLE_DIR, SPLIT_COLUMN
from leadforge.bundle.reader import BundleView, Manifest, confined, discover
from leadforge.bundle.relational import check_contract
from leadforge.bundle.tasks import UPLIFT
from leadforge.engine import LOCAL
from leadforge.enums import Difficulty, ExposureMode
from leadforge.errors import BundleError
from leadforge.findings import Finding, Severity, guarded
from leadforge.hookspecs import hookimpl

REQUIRED = ("dataset_card.md", "feature_dictionary.csv")
MAX_FILE_FINDINGS = 20


@hookimpl
def validate(bundle: BundleView, manifest: Manifest) -> list[Finding]:
    findings: list[Finding] = list(manifest.findings)
    for check in (
        _required,
        _manifest_values,
        _files,
        _tables,
        _tasks,
        _oracles,
        _exposure,
        _dictionary,
        _relational,
    ):
        findings.extend(guarded(check.__name__.strip("_"), check, bundle, manifest))
    return findings


def _oracles(bundle: BundleView, manifest: Manifest) -> Iterator[Finding]:
    """An answer key holds each task row once, in its split and order, with a usable value.

    Part ``k`` of ``metadata/oracle/<task>`` answers for part ``k`` of every split (a single
    file for single files), so memory stays one part's keys whatever the bundle's size.
    """
    if manifest.is_public:
        return
    for task_id in sorted(manifest.tasks):
        base = f"{ORACLE_DIR}/{task_id}"
        files = discover(bundle.root, base)
        tm_rel = f"tasks/{task_id}/{TASK_MANIFEST}"
        if not files or not bundle.exists(tm_rel):
            continue
        tm = parse_task_manifest(bundle.json(tm_rel), tm_rel)[0]
        splits = [manifest.split_files(task_id, s) for s in SPLITS]
        if tm is None:
            continue
        if len(files) != len(splits[0]):
            yield Finding("oracle", f"{len(files)} file(s) for {len(splits[0])} split part(s)", where=base)
            continue
        for k, rel in enumerate(files):
            yield from _oracle_part(bundle, tm, rel, [files_of[k] for files_of in splits])


def _oracle_part(bundle: BundleView, tm: TaskManifest, rel: str, split_rels: list[str]) -> Iterator[Finding]:
    names = bundle.schema(rel).names
    if names[:3] != [tm.key_column, SPLIT_COLUMN, tm.label_column] or names[4:] not in ([], [UPLIFT]):
        yield Finding(
            "oracle",
            f"columns must be {tm.key_column}, split, {tm.label_column}, value[, {UPLIFT}]",
            where=rel,
        )
        return
    table = bundle.read_parquet(rel)
    expected = [bundle.read_parquet(r, [tm.key_column]).column(0) for r in split_rels]
    keys = pa.chunked_array([c for col in expected for c in col.chunks], type=table.schema[0].type)
    split_names = pa.chunked_array(
        [pa.repeat(pa.scalar(s, pa.string()), len(c)) for s, c in zip(SPLITS, expected, strict=True)],
        type=pa.string(),
    )
    if not (table.column(0).equals(keys) and table.column(1).cast(pa.string()).equals(split_names)):
        yield Finding("oracle", "rows do not match the task's split rows, in order", where=rel)
    value = np.asarray(table.column(3).to_numpy(zero_copy_only=False), dtype=np.float64)
    if not np.all(np.isfinite(value)):
        yield Finding("oracle", "values must be finite", where=rel)
    elif tm.task_type == "binary_classification" and value.size and (value.min() < 0 or value.max() > 1):
        yield Finding("oracle", "a probability outside [0, 1]", where=rel)
    if len(names) == 5:
        uplift = np.asarray(table.column(4).to_numpy(zero_copy_only=False), dtype=np.float64)
        if not np.all(np.isfinite(uplift)):
            yield Finding("oracle", f"{UPLIFT} values must be finite", where=rel)
        elif tm.task_type == "binary_classification" and uplift.size and np.abs(uplift).max() > 1:
            yield Finding("oracle", f"an {UPLIFT} outside [-1, 1]", where=rel)


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
    if manifest.schema_version not in KNOWN_SCHEMA_VERSIONS:
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


def hash_file(rel: str, root: str) -> tuple[str, int]:
    """SHA-256 and size of one bundle file (a module-level job, so any engine can run it)."""
    h = hashlib.sha256()
    size = 0
    try:
        with open(confined(Path(root), rel), "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
                size += len(block)
    except OSError as exc:
        raise BundleError(f"cannot read {rel}: {exc}") from None
    return h.hexdigest(), size


def _sha256(path: str, bundle: BundleView) -> tuple[str, int]:
    return hash_file(path, str(bundle.root))


def _report(bundle: BundleView) -> Callable[[int, int], None] | None:
    progress = bundle.progress
    if progress is None:
        return None

    def report(done: int, total: int) -> None:
        progress.update("validating", done, total)

    return report


def _files(bundle: BundleView, manifest: Manifest) -> Iterator[Finding]:
    files = manifest.files
    if files is None:
        return
    regular, odd = bundle.files()
    found: list[Finding] = [
        Finding("files", "a link or special file; bundles hold regular files only", where=rel) for rel in odd
    ]
    on_disk = set(regular)
    listed = list(files.items())
    here = [rel for rel, _ in listed if rel in on_disk]
    engine = bundle.engine or LOCAL
    digests = dict(
        zip(
            here,
            engine.map(hash_file, here, str(bundle.root), progress=_report(bundle), light=True),
            strict=True,
        )
    )
    for rel, entry in listed:
        if rel not in on_disk:
            try:
                bundle.path(rel)
                message = "listed in the manifest but missing"
            except BundleError as exc:
                message = "listed in the manifest but missing" if "missing file" in str(exc) else str(exc)
            found.append(Finding("files", message, where=rel[:200]))
            continue
        sha, size = digests[rel]
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


def _layout(
    bundle: BundleView, manifest: Manifest, kind: str, base: str, file: str, parts: Sequence[str], sha: str
) -> Iterator[Finding]:
    """A partitioned table or split: parts named in order under its folder, exactly those on disk,
    recorded under the digest of its parts' digests."""
    if not parts:
        if discover(bundle.root, base) not in ((), (f"{base}.parquet",)):
            yield Finding(kind, "part files sit beside a single-file entry", where=base)
        return
    where = file if kind == "tables" else base
    if kind == "tables" and file != base:
        yield Finding(kind, f"a partitioned table's file must be its folder {base}", where=file[:200])
    if list(parts) != [f"{base}/{part_name(i)}" for i in range(len(parts))]:
        yield Finding(kind, f"parts must be {base}/{part_name(0)} … in order, one per shard", where=where)
    stray = sorted(set(discover(bundle.root, base)) - set(parts))
    if bundle.exists(f"{base}.parquet"):
        stray.insert(0, f"{base}.parquet")
    for rel in stray[:MAX_FILE_FINDINGS]:
        yield Finding(kind, "a part that the manifest does not list", where=rel)
    if manifest.files is not None:
        unlisted = [p for p in parts if p not in manifest.files]
        if unlisted:
            yield Finding(
                kind, f"{len(unlisted)} part(s) are not in the files section", where=unlisted[0][:200]
            )
        elif parts_digest([manifest.files[p].sha256 for p in parts]) != sha:
            yield Finding(kind, "hash disagrees with its parts' hashes in the files section", where=where)


def _row_counts(bundle: BundleView, files: Sequence[str]) -> tuple[int, str | None]:
    """Rows of the files together, or the first missing one."""
    for rel in files:
        if not bundle.exists(rel):
            return 0, rel
    return bundle.num_rows(files), None


def _tables(bundle: BundleView, manifest: Manifest) -> Iterator[Finding]:
    for name, entry in manifest.tables.items():
        rel = entry.file
        files = entry.files
        rows, missing = _row_counts(bundle, files)
        if missing is not None:
            yield Finding("tables", "table file is missing", where=missing[:200])
            continue
        if rows != entry.row_count:
            yield Finding("tables", f"expected {entry.row_count} rows, got {rows}", where=rel)
        if entry.parts:
            yield from _layout(bundle, manifest, "tables", f"tables/{name}", rel, entry.parts, entry.sha256)
            continue
        yield from _layout(bundle, manifest, "tables", rel.removesuffix(".parquet"), rel, (), entry.sha256)
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
        single, folder = f"tables/{name}.parquet", f"tables/{name}"
        if single not in listed and folder not in listed:
            on_disk = single if bundle.exists(single) else folder
            yield Finding("tables", "table file is not listed in manifest tables", where=on_disk)


def _key_prefix(manifest: Manifest, tm: TaskManifest) -> str | None:
    """The id prefix of the task's key when it is its primary table's primary key."""
    contract = manifest.contract
    if contract is None or tm.primary_table not in contract:
        return None
    t = contract[tm.primary_table]
    return t.id_prefix if t.primary_key == tm.key_column else None


def _split_limit(bundle: BundleView, manifest: Manifest) -> int:
    """One bitmap bound for every split's id set (so any two compare), from the rows on disk."""
    rows = 0
    for task_id in manifest.tasks:
        for split in SPLITS:
            rows += _row_counts(bundle, manifest.split_files(task_id, split))[0]
    return id_limit(rows)


def _tasks(bundle: BundleView, manifest: Manifest) -> Iterator[Finding]:
    """Each split's rows and layout; keys present, distinct, in one split only, and in the same
    split in every task sharing them. Id keys are streamed into bitmaps, so memory follows the
    largest id (a bit each), not the rows."""
    assignments: dict[str, Assignment] = {}
    limit = _split_limit(bundle, manifest) if manifest.tasks else 0
    for task_id, entry in manifest.tasks.items():
        tm_rel = f"tasks/{task_id}/{TASK_MANIFEST}"
        tm = None
        if bundle.exists(tm_rel):
            tm, problems = parse_task_manifest(bundle.json(tm_rel), tm_rel)
            yield from (Finding("tasks", f.message, where=tm_rel) for f in problems)
        else:
            yield Finding("tasks", "task_manifest.json is missing", where=tm_rel)
        first = assignments.get(tm.key_column) if tm is not None else None
        first_ids = first[1] if first is not None and len(first) == 2 else None
        keys: dict[str, IdKeys | StringKeys] = {}
        for split in SPLITS:
            files = manifest.split_files(task_id, split)
            parts = entry.parts.get(split, ())
            base = f"tasks/{task_id}/{split}"
            rel = files[0] if len(files) == 1 else base
            rows, missing = _row_counts(bundle, files)
            if missing is not None:
                yield Finding("tasks", "split file is missing", where=missing[:200])
                continue
            if rows != entry.rows[split]:
                yield Finding("tasks", f"expected {entry.rows[split]} rows, got {rows}", where=rel)
            yield from _layout(bundle, manifest, "tasks", base, rel, parts, entry.sha256[split])
            if not parts and manifest.files is None and _sha256(rel, bundle)[0] != entry.sha256[split]:
                yield Finding("tasks", "SHA-256 mismatch", where=rel)
            if rows == 0:
                yield Finding("tasks", "split is empty", where=rel, severity=Severity.WARNING)
            if tm is None:
                continue
            names = bundle.schema(files).names
            if tm.label_column not in names:
                yield Finding("tasks", f"label column {tm.label_column!r} is missing", where=rel)
            if tm.key_column not in names:
                yield Finding("tasks", f"key column {tm.key_column!r} is missing", where=rel)
                continue
            prefix = _key_prefix(manifest, tm)
            k: IdKeys | StringKeys | None = None
            if prefix is not None:
                k = read_id_keys(bundle, files, tm.key_column, prefix, limit, SPLITS.index(split), first_ids)
            if k is None:
                k = read_string_keys(bundle, files, tm.key_column)
            if k.nulls:
                yield Finding("tasks", f"key column {tm.key_column!r} has nulls", where=rel)
            if k.duplicated:
                yield Finding("tasks", f"key column {tm.key_column!r} has duplicate values", where=rel)
            keys[split] = k
        if tm is not None and keys:
            yield from shared_assignment(task_id, tm.key_column, keys, assignments)
        for i, a in enumerate(SPLITS):
            for b in SPLITS[i + 1 :]:
                if a not in keys or b not in keys:
                    continue
                count, shown = keys_in_both(keys[a], keys[b])
                if count:
                    key_name = tm.key_column if tm else "key"
                    yield Finding(
                        "tasks",
                        f"{count} {key_name} value(s) appear in both {a} and {b}, e.g. {shown}",
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
        files = discover(bundle.root, f"tables/{table}")
        if files:
            where = files[0] if len(files) == 1 else f"tables/{table}"
            yield Finding("exposure", "table must be omitted from a public bundle", where=where)
    for table, cols in sr.columns.items():
        files = discover(bundle.root, f"tables/{table}")
        where = files[0] if len(files) == 1 else f"tables/{table}"
        present = set().union(*(set(bundle.schema(rel).names) for rel in files)) if files else set()
        for col in sorted(set(cols) & present):
            yield Finding("exposure", "structurally redacted column is present", where=f"{where}:{col}")


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
        files = manifest.split_files(task_id, "train")
        rel = files[0] if len(files) == 1 else f"tasks/{task_id}/train"
        if bundle.exists(files[0]):
            uncovered = [c for c in bundle.schema(files[0]).names if c not in known]
            if uncovered:
                yield Finding(
                    "dictionary", f"split columns missing from the dictionary: {uncovered}", where=rel
                )


def _relational(bundle: BundleView, manifest: Manifest) -> Iterator[Finding]:
    if manifest.contract is None:
        if manifest.tables and manifest.schema_version != "6":
            yield Finding("relational", "the manifest records no relational_contract", where="manifest.json")
        return
    yield from check_contract(
        bundle, manifest.contract, public=manifest.is_public, redacted=manifest.redacted_columns
    )
