"""``manifest.json`` and every ``task_manifest.json``: read as ``validate`` reads them, then compared
with what the run must have recorded.

Shape is core's: a manifest is well formed exactly when :func:`leadforge.bundle.manifest.parse`
finds nothing wrong with it, so the kit accepts what ``validate`` accepts. On top of that a fresh
bundle must be the writer's own output: keys laid out as the writer lays them out, every section
byte-for-byte what the typed manifest serialises to, and values matching the run (scheme, recipe,
seed, mode, tier, pinned timestamp, config digest, the scheme's relational contract).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from leadforge.api import core_version
from leadforge.bundle.manifest import (
    CORE_KEYS,
    ENVELOPE_KEYS,
    HEAD_KEYS,
    OPTIONAL_TAIL_KEYS,
    OUT_OF_TIME,
    SCHEMA_VERSION,
    SPLITS,
    TAIL_KEYS,
    TASK_MANIFEST,
    TASK_MANIFEST_KEYS,
    FileEntry,
    Manifest,
    parse_task_manifest,
    parts_digest,
)
from leadforge.bundle.reader import discover
from leadforge.testing.bundles import PINNED_TIMESTAMP, GeneratedBundle, tree_hashes
from leadforge.testing.checks.base import INSTRUCTOR, PUBLIC, clip
from leadforge.testing.subject import Subject


def manifest(c: Subject) -> Iterator[str]:
    instructor_tables: set[str] | None = None
    if INSTRUCTOR in c.modes:
        instructor_tables = set(c.bundle(INSTRUCTOR).manifest().tables)
    for mode in c.modes:
        b = c.bundle(mode)
        for problem in _manifest_problems(c, b, instructor_tables):
            yield f"{mode.value} manifest: {problem}"


def _manifest_problems(c: Subject, b: GeneratedBundle, instructor_tables: set[str] | None) -> Iterator[str]:
    raw = b.raw_manifest()
    m = b.manifest()
    for f in m.findings:
        yield f.message
    yield from _layout(raw, m)
    expected: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "package_version": core_version(),
        "scheme": c.scheme.name,
        "recipe_id": c.recipe.id,
        "seed": b.seed,
        "generation_timestamp": PINNED_TIMESTAMP,
        "exposure_mode": b.mode.value,
        "difficulty": c.difficulty.value,
        "config_digest": b.config.digest(),
        "relational_snapshot_safe": b.mode is PUBLIC,
    }
    for attr, want in expected.items():
        got = getattr(m, attr)
        if got != want:
            yield f"{attr} is {clip(got)}, expected {want!r}"
    if c.scheme.contract is not None:
        want_contract = c.scheme.contract(b.config).to_json()
        if raw.get("relational_contract") != want_contract:
            yield "relational_contract is not the scheme's contract for this config"
    yield from _plugins(c, m)
    yield from _files(b, m)
    yield from _tables_section(b, m)
    yield from _tasks_section(b, m, instructor_tables)


def _layout(raw: Mapping[str, Any], m: Manifest) -> Iterator[str]:
    """Head keys first, the envelope keys in order after the scheme's config, the tail keys last,
    and each core section exactly as the typed manifest writes it."""
    keys = list(raw)
    if tuple(keys[: len(HEAD_KEYS)]) != HEAD_KEYS:
        yield f"must start with {list(HEAD_KEYS)}, starts with {keys[: len(HEAD_KEYS)]}"
    tail = tuple(k for k in TAIL_KEYS if k in raw or k not in OPTIONAL_TAIL_KEYS)
    if tuple(keys[-len(tail) :]) != tail:
        yield f"must end with {list(tail)}, ends with {keys[-len(tail) :]}"
    positions = [keys.index(k) for k in ENVELOPE_KEYS if k in keys]
    if len(positions) != len(ENVELOPE_KEYS) or positions != sorted(positions):
        yield f"must hold {list(ENVELOPE_KEYS)} in this order after the scheme's config keys"
    canonical = m.to_json()
    for key in (*ENVELOPE_KEYS, *TAIL_KEYS):
        if key in raw and raw[key] != canonical.get(key):
            yield f"{key} is not in the form the writer records ({clip(raw[key], 160)})"
    stray = [k for k in canonical if k not in raw and k in CORE_KEYS]
    if stray:
        yield f"lacks the core key(s) {stray}"


def _plugins(c: Subject, m: Manifest) -> Iterator[str]:
    named = {p.distribution for p in m.plugins}
    for what, dist in (("scheme", c.host.scheme_providers.get(c.scheme.name)), ("recipe", c.recipe.provider)):
        if dist is not None and dist not in named:
            yield f"plugins does not record the {what}'s distribution {dist!r}: {sorted(named)}"


def _files(b: GeneratedBundle, m: Manifest) -> Iterator[str]:
    files = m.files
    if files is None:
        return
    on_disk = {p.relative_to(b.path).as_posix(): p for p in sorted(b.path.rglob("*")) if p.is_file()}
    on_disk.pop("manifest.json", None)
    for rel in sorted(set(on_disk) - set(files)):
        yield f"{rel} is in the bundle but not listed in files"
    for rel in sorted(set(files) - set(on_disk)):
        yield f"{rel} is listed in files but not in the bundle"
    hashes = tree_hashes(b.path)
    for rel in sorted(set(files) & set(on_disk)):
        entry = files[rel]
        if entry.sha256 != hashes[rel]:
            yield f"files[{rel!r}].sha256 does not match the file"
        size = on_disk[rel].stat().st_size
        if entry.size != size:
            yield f"files[{rel!r}].size is {entry.size!r}, the file has {size} bytes"


def _tables_section(b: GeneratedBundle, m: Manifest) -> Iterator[str]:
    view = b.view()
    on_disk = set(view.table_names())
    if set(m.tables) != on_disk:
        yield f"tables lists {sorted(m.tables)} but tables/ holds {sorted(on_disk)}"
    files = m.files or {}
    for name, entry in m.tables.items():
        rel = f"tables/{name}" if entry.parts else f"tables/{name}.parquet"
        if entry.file != rel:
            yield f"tables[{name!r}].file is {entry.file!r}, expected {rel!r}"
        if entry.parts and list(entry.parts) != list(discover(b.path, f"tables/{name}")):
            yield f"tables[{name!r}].parts are not the part files of {rel}"
        if all(view.exists(f) for f in entry.files):
            rows = view.num_rows(entry.files)
            if entry.row_count != rows:
                yield f"tables[{name!r}].row_count is {entry.row_count!r}, the file has {rows} rows"
        if _digest(entry.files, files, bool(entry.parts)) != entry.sha256:
            yield f"tables[{name!r}].sha256 disagrees with files[{rel!r}]"


def _digest(parts: Sequence[str], files: Mapping[str, FileEntry], partitioned: bool) -> str | None:
    """What the manifest must record for a table or split: its file's digest, or its parts'."""
    if any(p not in files for p in parts):
        return None
    return parts_digest([files[p].sha256 for p in parts]) if partitioned else files[parts[0]].sha256


def _tasks_section(b: GeneratedBundle, m: Manifest, instructor_tables: set[str] | None) -> Iterator[str]:
    view = b.view()
    folder = b.path / "tasks"
    on_disk = {p.name for p in folder.iterdir() if p.is_dir()} if folder.is_dir() else set()
    if set(m.tasks) != on_disk:
        yield f"tasks lists {sorted(m.tasks)} but tasks/ holds {sorted(on_disk)}"
    files = m.files or {}
    for task, entry in m.tasks.items():
        for split in SPLITS:
            parts = m.split_files(task, split)
            rel = parts[0] if len(parts) == 1 else f"tasks/{task}/{split}"
            if all(view.exists(f) for f in parts):
                rows = view.num_rows(parts)
                if entry.rows.get(split) != rows:
                    recorded = entry.rows.get(split)
                    yield f"tasks[{task!r}].{split}_rows is {recorded!r}, the file has {rows} rows"
            if entry.sha256.get(split) != _digest(parts, files, bool(entry.parts.get(split))):
                yield f"tasks[{task!r}].{split}_sha256 disagrees with files[{rel!r}]"
        yield from _task_manifest_problems(b, m, task, instructor_tables)


def _task_manifest_problems(
    b: GeneratedBundle, m: Manifest, task: str, instructor_tables: set[str] | None
) -> Iterator[str]:
    rel = f"tasks/{task}/{TASK_MANIFEST}"
    raw = b.raw_task_manifest(task)
    tm, problems = parse_task_manifest(raw, rel)
    for f in problems:
        yield f"{rel}: {f.message}"
    if raw is not None and tuple(raw) not in (TASK_MANIFEST_KEYS, (*TASK_MANIFEST_KEYS, OUT_OF_TIME)):
        yield (
            f"{rel} must hold {list(TASK_MANIFEST_KEYS)} in this order (then {OUT_OF_TIME!r} if "
            f"the task has a time column), has {list(raw)}"
        )
    if tm is None:
        return
    if tm.task_id != task:
        yield f"{rel}: task_id is {tm.task_id!r}, expected {task!r}"
    if tm.label_window_days < 0:
        yield f"{rel}: label_window_days must be non-negative, got {tm.label_window_days!r}"
    for key, value in (("label_column", tm.label_column), ("key_column", tm.key_column)):
        if not value:
            yield f"{rel}: {key} must be a non-empty string"
    if set(tm.split) != set(SPLITS) or abs(sum(tm.split.values()) - 1.0) > 1e-6:
        yield f"{rel}: split must give train/valid/test fractions summing to 1, got {dict(tm.split)!r}"
    if instructor_tables is not None and tm.primary_table not in instructor_tables:
        yield f"{rel}: primary_table {tm.primary_table!r} is not a table of the instructor bundle"
    if m.contract is not None and tm.primary_table not in m.contract:
        yield f"{rel}: primary_table {tm.primary_table!r} is not a table of the relational contract"
