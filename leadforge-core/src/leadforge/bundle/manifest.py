"""The manifest, typed: the one place that spells ``manifest.json`` and ``task_manifest.json`` keys.

The writer builds a :class:`Manifest` and serialises it with :meth:`Manifest.to_json`; the
reader, ``validate``, ``inspect`` and the conformance kit get theirs from :func:`parse`, which
never raises on a wrong-shaped manifest: it returns what it could read plus one finding per
problem, so a hostile or damaged manifest is reported, not a crash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leadforge.bundle.contract import RelationalContract
from leadforge.enums import TASK_TYPES
from leadforge.errors import BundleError
from leadforge.findings import Finding, Severity
from leadforge.params import brief

#: Schema 9 stores time columns typed (``timestamp[us, UTC]`` instants, ``date32`` days)
#: where schema 8 stored ISO text; the layout is otherwise the same.
SCHEMA_VERSION = "9"
#: Every schema version core still reads and validates.
KNOWN_SCHEMA_VERSIONS = ("6", "7", "8", SCHEMA_VERSION)
MANIFEST = "manifest.json"
TASK_MANIFEST = "task_manifest.json"
SPLITS = ("train", "valid", "test")

#: Keys every manifest starts with, in this order (schema 6 and 7).
HEAD_KEYS = (
    "bundle_schema_version",
    "package_version",
    "generation_scheme",
    "recipe_id",
    "seed",
    "generation_timestamp",
    "exposure_mode",
    "difficulty",
)
#: Envelope keys that follow the scheme's config and hidden keys, in this order.
ENVELOPE_KEYS = ("redacted_columns", "relational_snapshot_safe", "structural_redactions", "tables", "tasks")
#: Schema-7 keys that close every manifest, in this order.
TAIL_KEYS = (
    "hidden_fields",
    "relational_contract",
    "config_digest",
    "generation_params",
    "interventions",
    "experiment",
    "oracles",
    "plugins",
    "files",
)
#: Tail keys written only when they have something to say (an intervened world, an answer key).
OPTIONAL_TAIL_KEYS = ("interventions", "experiment", "oracles")
#: Keys core writes itself; a scheme's manifest fields must not reuse them.
CORE_KEYS = frozenset((*HEAD_KEYS, *ENVELOPE_KEYS, *TAIL_KEYS))
#: ``task_manifest.json`` keys, in this order.
TASK_MANIFEST_KEYS = (
    "task_id",
    "task_type",
    "label_column",
    "label_window_days",
    "primary_table",
    "key_column",
    "split",
    "stratified",
    "stratified_by",
    "description",
)
#: the optional last key of ``task_manifest.json``
OUT_OF_TIME = "out_of_time"
_MAX_LIST = 20


@dataclass(frozen=True)
class StructuralRedactions:
    """Table-level redactions of a public bundle: dropped columns and omitted tables."""

    columns: Mapping[str, Sequence[str]] = field(default_factory=dict)
    omitted_tables: Sequence[str] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "columns": {t: sorted(c) for t, c in sorted(self.columns.items())},
            "omitted_tables": sorted(self.omitted_tables),
        }

    @classmethod
    def of(cls, contract: RelationalContract) -> StructuralRedactions:
        return cls(
            columns={t.name: tuple(t.public.drop) for t in contract if t.public.drop and not t.public.omit},
            omitted_tables=tuple(t.name for t in contract if t.public.omit),
        )


@dataclass(frozen=True)
class ManifestFields:
    """What a scheme adds to ``manifest.json``.

    ``config`` follows ``difficulty`` (lead scoring keeps the schema-6 keys here); ``hidden``
    holds hidden-truth fields such as ``motif_family``, written as ``null`` in public bundles
    and named in ``hidden_fields``; ``extra`` follows ``tasks``.
    """

    config: Mapping[str, Any] = field(default_factory=dict)
    hidden: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FileEntry:
    sha256: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "size": self.size}


@dataclass(frozen=True)
class TableEntry:
    """A table as the manifest records it: one file, or a folder of ordered shard parts.

    A partitioned table's ``file`` is its folder and its ``sha256`` is :func:`parts_digest`
    of the parts' digests (each part is also in ``files``).
    """

    row_count: int
    file: str
    sha256: str
    parts: tuple[str, ...] = ()

    @property
    def files(self) -> tuple[str, ...]:
        return self.parts or (self.file,)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"row_count": self.row_count, "file": self.file, "sha256": self.sha256}
        if self.parts:
            out["parts"] = list(self.parts)
        return out


@dataclass(frozen=True)
class TaskEntry:
    """A task's split files as the manifest records them: rows and SHA-256 per split."""

    rows: Mapping[str, int]
    sha256: Mapping[str, str]
    #: split -> ordered part paths, for a partitioned bundle (empty: one file per split).
    parts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def files(self, task_id: str, split: str) -> tuple[str, ...]:
        """The split's file, or its parts in shard order (either layout)."""
        return self.parts.get(split, ()) or (f"tasks/{task_id}/{split}.parquet",)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for s in SPLITS:
            out[f"{s}_rows"] = self.rows.get(s)
            out[f"{s}_sha256"] = self.sha256.get(s)
        if self.parts:
            out["parts"] = {s: list(self.parts[s]) for s in SPLITS if s in self.parts}
        return out


def parts_digest(digests: Sequence[str]) -> str:
    """The SHA-256 a partitioned table or split is recorded under: of its parts' hex digests, in order."""
    return hashlib.sha256("\n".join(digests).encode("ascii")).hexdigest()


def part_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


@dataclass(frozen=True)
class PluginRef:
    distribution: str
    version: str
    plugin: str = ""

    def to_json(self) -> dict[str, str]:
        return {"distribution": self.distribution, "version": self.version, "plugin": self.plugin}


@dataclass(frozen=True)
class OutOfTime:
    """The task's out-of-time split recipe: train on the rows whose ``column`` falls before
    ``cut`` (the first day holding the latest ``1 - train_share`` of the rows), test on the rest
    — the next cohort, which a model validated on a random split tends to overrate."""

    column: str
    train_share: float
    cut: str
    train_rows: int
    test_rows: int

    def to_json(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "train_share": self.train_share,
            "cut": self.cut,
            "train_rows": self.train_rows,
            "test_rows": self.test_rows,
        }


@dataclass(frozen=True)
class TaskManifest:
    """``tasks/<task_id>/task_manifest.json``.

    ``stratified_by`` names the label the split assignment was stratified on (``task_id``
    and label column); every task of the bundle with the same ``key_column`` shares one
    assignment per key.
    """

    task_id: str
    task_type: str
    label_column: str
    label_window_days: int
    primary_table: str
    key_column: str
    split: Mapping[str, float]
    stratified: bool
    stratified_by: str | None
    description: str
    #: written only for a task that names its rows' time column
    out_of_time: OutOfTime | None = None

    def to_json(self) -> dict[str, Any]:
        out = {
            k: (dict(v) if isinstance(v, Mapping) else v)
            for k, v in zip(TASK_MANIFEST_KEYS, self._values(), strict=True)
        }
        if self.out_of_time is not None:
            out[OUT_OF_TIME] = self.out_of_time.to_json()
        return out

    def _values(self) -> tuple[Any, ...]:
        return (
            self.task_id,
            self.task_type,
            self.label_column,
            self.label_window_days,
            self.primary_table,
            self.key_column,
            self.split,
            self.stratified,
            self.stratified_by,
            self.description,
        )


@dataclass(frozen=True)
class Manifest:
    """A bundle's ``manifest.json``.

    Values that a damaged manifest could not supply are ``None`` (or empty) and
    :attr:`findings` says why. ``fields`` holds every scheme-declared key (config, hidden
    and extra) in file order; :attr:`hidden_fields` names those that are hidden truth.
    """

    schema_version: str | None
    package_version: str | None
    scheme: str | None
    recipe_id: str | None
    seed: int | None
    generation_timestamp: str | None
    exposure_mode: str | None
    difficulty: str | None
    fields: Mapping[str, Any]
    redacted_columns: tuple[str, ...]
    relational_snapshot_safe: bool | None
    structural_redactions: StructuralRedactions
    tables: Mapping[str, TableEntry]
    tasks: Mapping[str, TaskEntry]
    hidden_fields: tuple[str, ...] = ()
    contract: RelationalContract | None = None
    config_digest: str | None = None
    #: every scheme parameter as resolved (schema 8): what ``generate --from`` rebuilds the run from
    params: Mapping[str, Any] | None = None
    #: the interventions that made this world (empty: the factual one); written only when some
    interventions: tuple[str, ...] = ()
    #: the designed experiment that ran (``LEVER=VALUE@SHARE``); written only when one did
    experiment: str | None = None
    #: instructor bundles' answer keys: task id -> method, replicates and oracle files
    oracles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    plugins: tuple[PluginRef, ...] = ()
    files: Mapping[str, FileEntry] | None = None
    findings: tuple[Finding, ...] = ()
    #: where scheme fields sit: config keys before the envelope keys, extra keys after.
    extra_keys: tuple[str, ...] = ()

    @property
    def is_public(self) -> bool:
        return self.exposure_mode == "student_public"

    def table_files(self, name: str) -> tuple[str, ...]:
        """The table's file, or its parts in shard order (either layout)."""
        entry = self.tables.get(name)
        return entry.files if entry is not None else (f"tables/{name}.parquet",)

    def split_files(self, task_id: str, split: str) -> tuple[str, ...]:
        entry = self.tasks.get(task_id)
        return entry.files(task_id, split) if entry is not None else (f"tasks/{task_id}/{split}.parquet",)

    def scheme_field(self, key: str) -> Any:
        """A scheme field; :class:`BundleError` if the manifest lacks it."""
        if key not in self.fields:
            raise BundleError(f"manifest.json lacks the scheme field {key!r}")
        return self.fields[key]

    def to_json(self) -> dict[str, Any]:
        head = (
            self.schema_version,
            self.package_version,
            self.scheme,
            self.recipe_id,
            self.seed,
            self.generation_timestamp,
            self.exposure_mode,
            self.difficulty,
        )
        out: dict[str, Any] = dict(zip(HEAD_KEYS, head, strict=True))
        out.update({k: v for k, v in self.fields.items() if k not in self.extra_keys})
        out["redacted_columns"] = list(self.redacted_columns)
        out["relational_snapshot_safe"] = self.relational_snapshot_safe
        out["structural_redactions"] = self.structural_redactions.to_json()
        out["tables"] = {k: v.to_json() for k, v in self.tables.items()}
        out["tasks"] = {k: v.to_json() for k, v in self.tasks.items()}
        out.update({k: self.fields[k] for k in self.extra_keys})
        out["hidden_fields"] = list(self.hidden_fields)
        out["relational_contract"] = self.contract.to_json() if self.contract else None
        out["config_digest"] = self.config_digest
        if self.params is not None:
            out["generation_params"] = dict(self.params)
        if self.interventions:
            out["interventions"] = list(self.interventions)
        if self.experiment is not None:
            out["experiment"] = self.experiment
        if self.oracles:
            out["oracles"] = {k: dict(v) for k, v in self.oracles.items()}
        out["plugins"] = [p.to_json() for p in self.plugins]
        out["files"] = None if self.files is None else {k: v.to_json() for k, v in sorted(self.files.items())}
        return out

    @classmethod
    def load(cls, root: Path) -> Manifest:
        """Read and parse ``root/manifest.json``; :class:`BundleError` if it is not a JSON object."""
        path = root / MANIFEST
        try:
            if path.is_symlink() or not path.is_file():
                raise FileNotFoundError
            if path.stat().st_size > MAX_MANIFEST_BYTES:
                raise BundleError(f"manifest.json in {root} is larger than {MAX_MANIFEST_BYTES} bytes")
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BundleError(f"no manifest.json in {root}") from None
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise BundleError(f"manifest.json in {root} is not readable JSON: {_short(exc)}") from None
        if not isinstance(data, dict):
            raise BundleError(f"manifest.json in {root} is not a JSON object")
        return parse(data)


MAX_MANIFEST_BYTES = 64 * 1024 * 1024


def _short(value: object, limit: int = 200) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit] + "…"


class _Reader:
    """Collects findings while reading typed values out of a JSON object."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.findings: list[Finding] = []

    def bad(self, message: str, severity: Severity = Severity.ERROR) -> None:
        self.findings.append(Finding("manifest", message, where=self.where, severity=severity))

    def str_(self, raw: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
        value = raw.get(key)
        if isinstance(value, str):
            return value
        if required or value is not None:
            self.bad(f"{key} must be a string, got {brief(value)}")
        return None

    def int_(self, raw: Mapping[str, Any], key: str) -> int | None:
        value = raw.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        self.bad(f"{key} must be an integer, got {brief(value)}")
        return None

    def obj(self, raw: Mapping[str, Any], key: str) -> dict[str, Any]:
        value = raw.get(key)
        if isinstance(value, dict):
            return value
        self.bad(f"{key!r} is not a JSON object")
        return {}


def _params(raw: Mapping[str, Any], r: _Reader) -> dict[str, Any] | None:
    value = raw.get("generation_params")
    if value is None:
        return None
    if not isinstance(value, dict):
        r.bad(f"generation_params must be an object, got {brief(value)}")
        return None
    return value


def _strings(raw: Mapping[str, Any], key: str, r: _Reader) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        r.bad(f"{key} must be a list of strings, got {brief(value)}")
        return ()
    return tuple(value)


def _objects(raw: Mapping[str, Any], key: str, r: _Reader) -> dict[str, dict[str, Any]]:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        r.bad(f"{key} must map names to objects, got {brief(value)}")
        return {}
    return value


def _parts(r: _Reader, where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        r.bad(f"{where} must be a list of file paths")
        return ()
    return tuple(value)


def parse(raw: Mapping[str, Any]) -> Manifest:
    """A typed manifest from parsed JSON, with a finding for every key that is wrong or missing."""
    r = _Reader(MANIFEST)
    schema = r.str_(raw, "bundle_schema_version")
    version = _schema_number(schema)
    tables: dict[str, TableEntry] = {}
    for name, entry in r.obj(raw, "tables").items():
        if not isinstance(entry, dict):
            r.bad(f"tables.{_short(name, 60)} is not an object")
            continue
        rows, rel, sha = (
            entry.get("row_count"),
            entry.get("file", f"tables/{name}.parquet"),
            entry.get("sha256"),
        )
        if not (
            isinstance(rows, int)
            and not isinstance(rows, bool)
            and isinstance(rel, str)
            and isinstance(sha, str)
        ):
            r.bad(f"tables.{_short(name, 60)} needs row_count (integer), file and sha256 (strings)")
            continue
        parts = _parts(r, f"tables.{_short(name, 60)}", entry.get("parts", []))
        tables[str(name)] = TableEntry(rows, rel, sha, parts)
    tasks: dict[str, TaskEntry] = {}
    for task_id, entry in r.obj(raw, "tasks").items():
        if not isinstance(entry, dict):
            r.bad(f"tasks.{_short(task_id, 60)} is not an object")
            continue
        counts = {s: entry.get(f"{s}_rows") for s in SPLITS}
        shas = {s: entry.get(f"{s}_sha256") for s in SPLITS}
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in counts.values()) or not all(
            isinstance(v, str) for v in shas.values()
        ):
            r.bad(f"tasks.{_short(task_id, 60)} needs <split>_rows (integers) and <split>_sha256 (strings)")
            continue
        split_parts: dict[str, tuple[str, ...]] = {}
        raw_parts = entry.get("parts", {})
        if not isinstance(raw_parts, dict):
            r.bad(f"tasks.{_short(task_id, 60)}.parts is not an object")
            raw_parts = {}
        for s, listed in raw_parts.items():
            if s not in SPLITS:
                r.bad(f"tasks.{_short(task_id, 60)}.parts has an unknown split {_short(str(s), 20)!r}")
                continue
            split_parts[s] = _parts(r, f"tasks.{_short(task_id, 60)}.parts.{s}", listed)
        tasks[str(task_id)] = TaskEntry(counts, shas, split_parts)  # type: ignore[arg-type]
    files: dict[str, FileEntry] | None = None
    raw_files = raw.get("files")
    if isinstance(raw_files, dict):
        files = {}
        bad_entries = 0
        for rel, entry in raw_files.items():
            if (
                isinstance(entry, dict)
                and isinstance(entry.get("sha256"), str)
                and _is_size(entry.get("size"))
            ):
                files[str(rel)] = FileEntry(entry["sha256"], entry["size"])
            else:
                bad_entries += 1
                if bad_entries <= _MAX_LIST:
                    r.bad(f"files.{_short(rel, 80)} needs sha256 (string) and size (integer)")
        if bad_entries > _MAX_LIST:
            r.bad(f"… and {bad_entries - _MAX_LIST} more malformed file entries")
    elif version is not None and version >= 7:
        r.bad("'files' is missing or not a JSON object")
    redacted = raw.get("redacted_columns", [])
    if not (isinstance(redacted, list) and all(isinstance(c, str) for c in redacted)):
        r.bad("redacted_columns must be a list of strings")
        redacted = []
    safe = raw.get("relational_snapshot_safe")
    if not isinstance(safe, bool):
        r.bad("relational_snapshot_safe must be a JSON boolean")
        safe = None
    seed = r.int_(raw, "seed")
    hidden = raw.get("hidden_fields", [])
    if not (isinstance(hidden, list) and all(isinstance(c, str) for c in hidden)):
        r.bad("hidden_fields must be a list of strings")
        hidden = []
    contract = None
    raw_contract = raw.get("relational_contract")
    if raw_contract is not None:
        try:
            contract = RelationalContract.from_json(raw_contract)
        except (ValueError, OverflowError) as exc:
            r.bad(f"relational_contract: {_short(exc)}")
    elif version is not None and version >= 7 and "relational_contract" in raw:
        pass
    plugins: list[PluginRef] = []
    raw_plugins = raw.get("plugins") or []
    if not isinstance(raw_plugins, list):
        r.bad("plugins must be a list")
        raw_plugins = []
    for p in raw_plugins:
        if (
            isinstance(p, dict)
            and isinstance(p.get("distribution"), str)
            and isinstance(p.get("version"), str)
        ):
            tag = p.get("plugin")
            plugins.append(PluginRef(p["distribution"], p["version"], tag if isinstance(tag, str) else ""))
    keys = list(raw)
    tasks_pos = keys.index("tasks") if "tasks" in keys else len(keys)
    scheme_fields = {k: v for k, v in raw.items() if k not in CORE_KEYS}
    extra_keys = tuple(k for k in keys[tasks_pos + 1 :] if k in scheme_fields)
    return Manifest(
        schema_version=schema,
        package_version=r.str_(raw, "package_version", required=False),
        scheme=r.str_(raw, "generation_scheme"),
        recipe_id=r.str_(raw, "recipe_id"),
        seed=seed,
        generation_timestamp=r.str_(raw, "generation_timestamp"),
        exposure_mode=r.str_(raw, "exposure_mode"),
        difficulty=r.str_(raw, "difficulty"),
        fields=scheme_fields,
        redacted_columns=tuple(redacted),
        relational_snapshot_safe=safe,
        structural_redactions=_redactions(raw.get("structural_redactions"), r),
        tables=tables,
        tasks=tasks,
        hidden_fields=tuple(hidden),
        contract=contract,
        config_digest=r.str_(raw, "config_digest", required=False),
        params=_params(raw, r),
        interventions=_strings(raw, "interventions", r),
        experiment=r.str_(raw, "experiment", required=False),
        oracles=_objects(raw, "oracles", r),
        plugins=tuple(plugins),
        files=files,
        findings=tuple(r.findings),
        extra_keys=extra_keys,
    )


def _is_size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _schema_number(schema: str | None) -> int | None:
    return int(schema) if isinstance(schema, str) and schema.isdecimal() and len(schema) < 6 else None


def _redactions(raw: Any, r: _Reader) -> StructuralRedactions:
    if raw is None:
        return StructuralRedactions()
    if not isinstance(raw, dict):
        r.bad("structural_redactions is not an object")
        return StructuralRedactions()
    cols = raw.get("columns") or {}
    omitted = raw.get("omitted_tables") or []
    if not isinstance(cols, dict) or not all(
        isinstance(v, list) and all(isinstance(c, str) for c in v) for v in cols.values()
    ):
        r.bad("structural_redactions.columns must map tables to lists of column names")
        cols = {}
    if not (isinstance(omitted, list) and all(isinstance(t, str) for t in omitted)):
        r.bad("structural_redactions.omitted_tables must be a list of table names")
        omitted = []
    return StructuralRedactions(
        columns={str(k): tuple(v) for k, v in cols.items()}, omitted_tables=tuple(omitted)
    )


def parse_task_manifest(raw: Any, where: str) -> tuple[TaskManifest | None, list[Finding]]:
    """A typed task manifest, or ``None`` with findings when it cannot be read."""
    r = _Reader(where)
    if not isinstance(raw, dict):
        r.bad("task_manifest.json is not a JSON object")
        return None, r.findings
    missing = [k for k in TASK_MANIFEST_KEYS if k not in raw]
    if missing:
        r.bad(f"task_manifest.json lacks {missing}")
    task_type = r.str_(raw, "task_type")
    if task_type is not None and task_type not in TASK_TYPES:
        r.bad(f"task_type must be one of {TASK_TYPES}, got {_short(task_type, 60)!r}")
    split = raw.get("split")
    if not (isinstance(split, dict) and all(isinstance(split.get(s), int | float) for s in SPLITS)):
        r.bad("split must give train, valid and test fractions")
        split = {}
    stratified = raw.get("stratified")
    if not isinstance(stratified, bool):
        r.bad("stratified must be a JSON boolean")
    values = (
        r.str_(raw, "task_id"),
        task_type,
        r.str_(raw, "label_column"),
        r.int_(raw, "label_window_days"),
        r.str_(raw, "primary_table"),
        r.str_(raw, "key_column"),
    )
    stratified_by = r.str_(raw, "stratified_by", required=False)
    description = r.str_(raw, "description", required=False) or ""
    out_of_time = _out_of_time(raw.get(OUT_OF_TIME), r)
    if r.findings or any(v is None for v in values):
        return None, r.findings
    return (
        TaskManifest(
            *values,  # type: ignore[arg-type]
            split=split,
            stratified=bool(stratified),
            stratified_by=stratified_by,
            description=description,
            out_of_time=out_of_time,
        ),
        r.findings,
    )


def _out_of_time(raw: Any, r: _Reader) -> OutOfTime | None:
    if raw is None:
        return None
    ok = (
        isinstance(raw, dict)
        and isinstance(raw.get("column"), str)
        and isinstance(raw.get("cut"), str)
        and isinstance(raw.get("train_share"), int | float)
        and all(_is_size(raw.get(k)) for k in ("train_rows", "test_rows"))
    )
    if not ok:
        r.bad("out_of_time must give column, train_share, cut, train_rows and test_rows")
        return None
    return OutOfTime(
        raw["column"], float(raw["train_share"]), raw["cut"], raw["train_rows"], raw["test_rows"]
    )
