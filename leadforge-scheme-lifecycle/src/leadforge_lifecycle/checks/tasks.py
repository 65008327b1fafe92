"""The tasks match the exposure mode and their definitions, and so do the files beside them.

A public bundle carries the calendar tasks only (the early windows overlap its published
history) and its card does not describe ``early_`` tasks; an instructor bundle carries all
eight. Each task manifest states the task's type, label and window; each split holds exactly
the task's columns (no sibling target); the dictionary flags targets and traps.
"""

from __future__ import annotations

from collections.abc import Iterator

from leadforge.bundle.splits import SPLITS
from leadforge.findings import Finding

from leadforge_lifecycle.catalog import CATALOG, EARLY, TRAPS, task_schema, tasks
from leadforge_lifecycle.checks.frames import Context

CHECK = "lifecycle.tasks"
_STATED = ("task_type", "label_column", "label_window_days")


def task_set(ctx: Context) -> Iterator[Finding]:
    want = {spec.task_id: spec for regime in ctx.regimes for spec in tasks(regime)}
    have = set(ctx.manifest.tasks)
    for task_id in sorted(set(want) - have):
        yield Finding(CHECK, "task is missing", where=f"tasks/{task_id}")
    for task_id in sorted(have - set(want)):
        message = (
            "early tasks must be omitted from a public bundle"
            if ctx.public and task_id.startswith(EARLY.prefix)
            else f"unexpected task for a {ctx.manifest.exposure_mode} bundle"
        )
        yield Finding("lifecycle.leak" if ctx.public else CHECK, message, where=f"tasks/{task_id}")
    for task_id, spec in want.items():
        tm_rel = f"tasks/{task_id}/task_manifest.json"
        if ctx.bundle.exists(tm_rel):
            tm = ctx.bundle.json(tm_rel)
            for key in _STATED:
                if isinstance(tm, dict) and tm.get(key) != getattr(spec, key):
                    yield Finding(
                        CHECK, f"{key} is {tm.get(key)!r}, expected {getattr(spec, key)!r}", where=tm_rel
                    )
        schema = task_schema(spec.label_column, experiment=ctx.experiment).without(
            ctx.manifest.redacted_columns
        )
        for split in SPLITS:
            for rel in ctx.bundle.split_files(task_id, split) if ctx.bundle.has_split(task_id, split) else ():
                got = ctx.bundle.schema(rel)
                if got.names != schema.names:
                    yield Finding(
                        CHECK, f"columns {got.names} differ from the task's {schema.names}", where=rel
                    )
                    continue
                for f in schema.arrow:
                    if got.field(f.name).type != f.type:
                        yield Finding(
                            CHECK,
                            f"dtype {got.field(f.name).type} differs from {f.type}",
                            where=f"{rel}:{f.name}",
                        )


def dictionary(ctx: Context) -> Iterator[Finding]:
    if not ctx.bundle.exists("feature_dictionary.csv"):
        return  # core reports the missing file
    rows = {r["name"]: r for r in ctx.bundle.dictionary}
    for f in CATALOG:
        r = rows.get(f.name)
        if r is not None and (
            r.get("is_target") != str(f.is_target) or r.get("leakage_risk") != str(f.name in TRAPS)
        ):
            yield Finding(
                CHECK, "is_target / leakage_risk flag is wrong", where=f"feature_dictionary.csv:{f.name}"
            )


def public_card(ctx: Context) -> Iterator[Finding]:
    if (
        ctx.public
        and ctx.bundle.exists("dataset_card.md")
        and EARLY.prefix in ctx.bundle.text("dataset_card.md")
    ):
        yield Finding("lifecycle.leak", "the public card describes early_ tasks", where="dataset_card.md")
