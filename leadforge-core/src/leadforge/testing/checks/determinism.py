"""Same inputs, same bytes; another seed, another world."""

from __future__ import annotations

from collections.abc import Iterator

from leadforge.testing.bundles import GeneratedBundle, data_files, explain_difference, tree_hashes
from leadforge.testing.checks.base import INSTRUCTOR, task_rows
from leadforge.testing.subject import Subject


def determinism(c: Subject) -> Iterator[str]:
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


def seed_sensitivity(c: Subject) -> Iterator[str]:
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
    for task in sorted(set(a.manifest().tasks) & set(b.manifest().tasks)):
        rows_a, rows_b = task_rows(a, task), task_rows(b, task)
        if rows_a is not None and rows_b is not None and rows_a.equals(rows_b):
            yield (
                f"task {task} holds the same rows for seeds {a.seed} and {b.seed} (only the split "
                "assignment differs): the seed does not reach its features or labels"
            )
