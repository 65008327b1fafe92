"""Task splits: present, non-empty, disjoint, with a usable label; one split per key across tasks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from leadforge.bundle.manifest import SPLITS, TaskManifest
from leadforge.testing.bundles import GeneratedBundle
from leadforge.testing.subject import Subject


def splits(c: Subject) -> Iterator[str]:
    for mode in c.modes:
        b = c.bundle(mode)
        tasks = b.manifest().tasks
        if not tasks:
            yield f"the {mode.value} bundle has no task"
        for task in sorted(tasks):
            yield from _split_problems(b, task)


def _split_problems(b: GeneratedBundle, task: str) -> Iterator[str]:
    tm = b.task_manifest(task)
    key = tm.key_column if tm else None
    label = tm.label_column if tm else None
    where = f"{b.mode.value} tasks/{task}"
    tables: dict[str, pa.Table] = {}
    view = b.view()
    for split in SPLITS:
        if not view.has_split(task, split):
            yield f"{where}/{split}.parquet is missing"
            continue
        tables[split] = view.split(task, split)
        if tables[split].num_rows == 0:
            yield f"{where}/{split}.parquet is empty"
    schemas = {s: t.schema.remove_metadata() for s, t in tables.items()}
    if len({str(s) for s in schemas.values()}) > 1:
        yield f"{where}: the splits do not share one schema"
    seen: dict[str, set[Any]] = {}
    for split, table in tables.items():
        if key is None or key not in table.column_names:
            yield f"{where}/{split}.parquet lacks the key column {key!r}"
            continue
        col = table.column(key)
        if col.null_count:
            yield f"{where}/{split}.parquet: key column {key!r} has nulls"
        values = set(col.to_pylist())
        if len(values) != table.num_rows:
            yield f"{where}/{split}.parquet: key column {key!r} has duplicates"
        seen[split] = values
        if label is None or label not in table.column_names:
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
    if (
        train is not None
        and label is not None
        and label in train.column_names
        and train.num_rows
        and pc.count_distinct(train.column(label)).as_py() < 2
    ):
        kind = "classes" if tm is not None and tm.task_type == "binary_classification" else "values"
        yield (
            f"{where}/train.parquet: the label {label!r} has a single value; a task needs at least two {kind}"
        )


def shared_splits(c: Subject) -> Iterator[str]:
    """Tasks that share a key column put each key in the same split.

    Otherwise a row trained on in one task is tested on in another, and a model that uses one
    task's label as a feature of the other sees test labels.
    """
    for mode in c.modes:
        b = c.bundle(mode)
        groups: dict[str, list[TaskManifest]] = {}
        for task in sorted(b.manifest().tasks):
            tm = b.task_manifest(task)
            if tm is not None:
                groups.setdefault(tm.key_column, []).append(tm)
        for key, tasks in sorted(groups.items()):
            if len(tasks) < 2:
                continue
            first = tasks[0]
            reference = _assignment(b, first)
            for other in tasks[1:]:
                yield from _compare_assignment(
                    b, key, first.task_id, reference, other.task_id, _assignment(b, other)
                )


def _assignment(b: GeneratedBundle, tm: TaskManifest) -> dict[Any, str]:
    """Each key's split; keys found in two splits of the task are left out (``splits`` reports them)."""
    out: dict[Any, str] = {}
    ambiguous: set[Any] = set()
    view = b.view()
    for split in SPLITS:
        if (
            view.has_split(tm.task_id, split)
            and tm.key_column in view.schema(view.split_files(tm.task_id, split)).names
        ):
            for k in view.split(tm.task_id, split, [tm.key_column]).column(tm.key_column).to_pylist():
                if out.setdefault(k, split) != split:
                    ambiguous.add(k)
    return {k: s for k, s in out.items() if k not in ambiguous}


def _compare_assignment(
    b: GeneratedBundle, key: str, task_a: str, a: dict[Any, str], task_b: str, other: dict[Any, str]
) -> Iterator[str]:
    moved = sorted((k for k in a.keys() & other.keys() if a[k] != other[k]), key=str)
    if moved:
        k = moved[0]
        yield (
            f"{b.mode.value}: tasks {task_a} and {task_b} share the key {key!r} but put {len(moved)} of "
            f"{len(a.keys() & other.keys())} shared keys in different splits "
            f"(e.g. {k!r}: {a[k]} vs {other[k]})"
        )
