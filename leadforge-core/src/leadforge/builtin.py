"""Core's own plugin: the envelope checks every bundle must pass, whatever its scheme."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
from leadforge.bundle.relational import check_contract, id_converter
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
        zip(here, engine.map(hash_file, here, str(bundle.root), progress=_report(bundle)), strict=True)
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


@dataclass(frozen=True)
class _Keys:
    """A split's distinct key values (sorted), how many rows hold each, and its nulls.

    Ids of the form ``<prefix>_<digits>`` become their numbers (``unique`` a numpy array); any
    other key stays an Arrow string array, compared with Arrow kernels (never Python objects).
    """

    unique: np.ndarray | pa.Array
    counts: np.ndarray
    nulls: int
    prefix: str | None

    def show(self, idx: np.ndarray) -> list[str]:
        if self.prefix is not None:
            return [f"{self.prefix}_{int(n):06d}" for n in np.asarray(self.unique)[idx]]
        return [str(v) for v in self.unique.take(pa.array(idx)).to_pylist()]


def _split_keys(bundle: BundleView, files: Sequence[str], column: str, prefix: str | None) -> _Keys:
    """The key column of a split's files, streamed: numbers when every value is a ``prefix`` id."""
    if prefix is not None:
        convert = id_converter(prefix)
        parts, nulls, malformed = [], 0, 0
        for batch in bundle.iter_batches(files, [column]):
            col = batch.column(0)
            numbers = convert(col)
            nulls += col.null_count
            malformed += int(np.count_nonzero(numbers < 0)) - col.null_count
            parts.append(numbers[numbers >= 0])
        if not malformed:
            numbers = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
            unique, counts = np.unique(numbers, return_counts=True)
            return _Keys(unique, counts.astype(np.int64), nulls, prefix)
    values = bundle.read_parquet(files, [column]).column(column)
    flat = (values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values).cast(
        pa.large_string()
    )
    valid = pc.drop_null(flat)
    distinct = pc.unique(valid)
    unique = pc.take(distinct, pc.sort_indices(distinct))
    codes = np.asarray(pc.index_in(valid, value_set=unique).to_numpy(zero_copy_only=False), dtype=np.int64)
    return _Keys(unique, np.bincount(codes, minlength=len(unique)), flat.null_count, None)


def _key_prefix(manifest: Manifest, tm: TaskManifest) -> str | None:
    """The id prefix of the task's key when it is its primary table's primary key."""
    contract = manifest.contract
    if contract is None or tm.primary_table not in contract:
        return None
    t = contract[tm.primary_table]
    return t.id_prefix if t.primary_key == tm.key_column else None


def _tasks(bundle: BundleView, manifest: Manifest) -> Iterator[Finding]:
    assignments: dict[str, tuple[str, _Keys, np.ndarray]] = {}
    for task_id, entry in manifest.tasks.items():
        tm_rel = f"tasks/{task_id}/{TASK_MANIFEST}"
        tm = None
        if bundle.exists(tm_rel):
            tm, problems = parse_task_manifest(bundle.json(tm_rel), tm_rel)
            yield from (Finding("tasks", f.message, where=tm_rel) for f in problems)
        else:
            yield Finding("tasks", "task_manifest.json is missing", where=tm_rel)
        keys: dict[str, _Keys] = {}
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
            k = _split_keys(bundle, files, tm.key_column, _key_prefix(manifest, tm))
            if k.nulls:
                yield Finding("tasks", f"key column {tm.key_column!r} has nulls", where=rel)
            if len(k.unique) + (1 if k.nulls else 0) != int(k.counts.sum()) + k.nulls:
                yield Finding("tasks", f"key column {tm.key_column!r} has duplicate values", where=rel)
            keys[split] = k
        if tm is not None and keys:
            yield from _shared_assignment(task_id, tm.key_column, keys, assignments)
        for i, a in enumerate(SPLITS):
            for b in SPLITS[i + 1 :]:
                if a not in keys or b not in keys:
                    continue
                both = _common(keys[a], keys[b])
                if both.size:
                    key_name = tm.key_column if tm else "key"
                    yield Finding(
                        "tasks",
                        f"{both.size} {key_name} value(s) appear in both {a} and {b}, "
                        f"e.g. {keys[a].show(both[:3])}",
                        where=f"tasks/{task_id}",
                    )


def _positions(of: _Keys, among: _Keys) -> np.ndarray:
    """For each distinct value of ``of``, its index among ``among``'s distinct values (-1: absent)."""
    if of.prefix is not None and among.prefix is not None:
        a, b = np.asarray(of.unique), np.asarray(among.unique)
        if b.size == 0:
            return np.full(a.size, -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(b, a), b.size - 1)
        return np.where(b[pos] == a, pos, -1).astype(np.int64)
    if of.prefix is None and among.prefix is None:
        idx = pc.index_in(of.unique, value_set=among.unique)
        return np.asarray(pc.fill_null(idx, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    return np.full(len(of.unique), -1, dtype=np.int64)


def _common(a: _Keys, b: _Keys) -> np.ndarray:
    """Indices into ``a.unique`` of the values ``b`` holds too (sorted, so examples come first)."""
    return np.flatnonzero(_positions(a, b) >= 0)


def _shared_assignment(
    task_id: str,
    key_column: str,
    keys: dict[str, _Keys],
    assignments: dict[str, tuple[str, _Keys, np.ndarray]],
) -> Iterator[Finding]:
    """Tasks that share a key column must put each key in the same split."""
    if key_column not in assignments:
        merged = _merged(keys)
        if merged is not None:
            assignments[key_column] = (task_id, *merged)
        return
    first_task, first_keys, first_split = assignments[key_column]
    differ = 0
    for split, k in keys.items():
        pos = _positions(k, first_keys)
        hit = pos >= 0
        counts = k.counts
        differ += int(counts[hit][first_split[pos[hit]] != SPLITS.index(split)].sum())
    if differ:
        yield Finding(
            "tasks",
            f"{differ} {key_column} value(s) sit in another split than in task {first_task}; "
            "tasks sharing a key must share its split",
            where=f"tasks/{task_id}",
        )


def _merged(keys: dict[str, _Keys]) -> tuple[_Keys, np.ndarray] | None:
    """One task's keys over all its splits, distinct, with the split each sits in (the first one
    for a key in several: the overlap is reported on its own)."""
    kinds = {k.prefix is None for k in keys.values()}
    if len(kinds) != 1:
        return None
    ordered = [(SPLITS.index(s), keys[s]) for s in SPLITS if s in keys]
    if kinds == {False}:
        values = np.concatenate([np.asarray(k.unique) for _, k in ordered])
        splits = np.concatenate([np.full(len(k.unique), i, dtype=np.int8) for i, k in ordered])
        unique, first = np.unique(values, return_index=True)
        split = splits[first]
        prefix = ordered[0][1].prefix
        return _Keys(unique, np.ones(unique.size, dtype=np.int64), 0, prefix), split
    values_pa = pa.chunked_array([k.unique for _, k in ordered], type=pa.large_string()).combine_chunks()
    splits = np.concatenate([np.full(len(k.unique), i, dtype=np.int8) for i, k in ordered])
    unique_pa = pc.unique(values_pa)
    unique_pa = pc.take(unique_pa, pc.sort_indices(unique_pa))
    idx = np.asarray(
        pc.index_in(values_pa, value_set=unique_pa).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    split = np.zeros(len(unique_pa), dtype=np.int8)
    split[idx[::-1]] = splits[::-1]
    return _Keys(unique_pa, np.ones(len(unique_pa), dtype=np.int64), 0, None), split


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
