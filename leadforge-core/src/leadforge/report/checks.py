"""The report's checks section: what ``validate`` finds, and the structural leak probes.

The leak probes are the conformance kit's (row order, id numbers, presence), run on this one
bundle: the kit's comparisons that need a second bundle of the other mode are left out. They
read whole task and table columns, so a bundle larger than :data:`LEAK_ROWS` task rows is
not probed here (the kit runs them at generation time).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from leadforge.bundle.manifest import Manifest
from leadforge.enums import ExposureMode
from leadforge.findings import Severity
from leadforge.report.model import Figure, Section, missing
from leadforge.testing.bundles import GeneratedBundle

if TYPE_CHECKING:
    from leadforge.plugins import PluginHost
    from leadforge.testing.subject import Subject

#: Rows of all tables above which the report does not run the leak probes: they read whole
#: columns and cost many times ``validate``; the conformance kit runs them on every recipe.
LEAK_ROWS = 5_000_000


def section(root: Path, manifest: Manifest, validation: Figure | None) -> Section:
    """The section, given :func:`validation`'s figure (``None``: validation was not asked for)."""
    return Section(
        "checks",
        "Validation and structural leak checks",
        (
            validation or missing("validation", "Validation", "table", "skipped (--no-validation)"),
            _leaks(root, manifest),
        ),
        intro="What `leadforge validate` reports, and whether the label can be read off the bundle's "
        "structure (row order, id numbers, having rows in a table).",
    )


def validation(root: Path, host: PluginHost) -> Figure:
    """What ``leadforge validate`` finds, as a table."""
    from leadforge.validation import validate_bundle

    report = validate_bundle(root, host)
    rows = [[f.severity.value, f.check, f.where or "", f.message] for f in report.findings]
    verdict = "passed" if report.ok else "FAILED"
    errors = sum(1 for f in report.findings if f.severity is Severity.ERROR)
    return Figure(
        "validation",
        "Validation",
        "table",
        {
            "columns": ["severity", "check", "where", "message"],
            "rows": rows or [["ok", "all checks", "", "no findings"]],
            "ok": report.ok,
        },
        caption=f"Validation {verdict}: {errors} error(s), {len(report.findings) - errors} warning(s).",
    )


@dataclass(frozen=True)
class _One:
    """The conformance kit's view of a subject holding only this bundle, and of its tasks only the
    first per key column (tasks sharing a key share its ids, rows and links: probing one says it)."""

    bundle_path: Path
    mode: ExposureMode
    tasks: tuple[str, ...]

    @property
    def modes(self) -> tuple[ExposureMode, ...]:
        return (self.mode,)

    @property
    def primary_mode(self) -> ExposureMode:
        return self.mode

    def bundle(self, mode: ExposureMode | None = None, **_: object) -> GeneratedBundle:
        return _Probed(self.bundle_path, self.mode, 0, None, None, "report", self.tasks)  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Probed(GeneratedBundle):
    """This bundle, its manifest narrowed to the probed tasks."""

    tasks: tuple[str, ...] = ()

    def manifest(self) -> Manifest:
        m = super().manifest()
        return replace(m, tasks={t: e for t, e in m.tasks.items() if t in self.tasks})


def _first_per_key(root: Path, manifest: Manifest) -> tuple[str, ...]:
    from leadforge.bundle.reader import BundleView
    from leadforge.report.read import Reader

    reader = Reader(BundleView(root, manifest), manifest)
    chosen: dict[str, str] = {}
    for task_id in sorted(manifest.tasks, key=lambda t: (len(t), t)):
        tm = reader.task(task_id)
        if tm is not None and tm.task_type == "binary_classification":
            chosen.setdefault(tm.key_column, task_id)
    return tuple(sorted(chosen.values()))


def _leaks(root: Path, manifest: Manifest) -> Figure:
    title = "Structural leak checks"
    rows = sum(t.row_count for t in manifest.tables.values())
    if rows > LEAK_ROWS:
        why = (
            f"not run on {rows:,} table rows (the report probes bundles up to {LEAK_ROWS:,}); the "
            "conformance kit (leadforge.testing.check_scheme) runs them on the recipe"
        )
        return missing("leak-checks", title, "table", why)
    try:
        mode = ExposureMode(manifest.exposure_mode or "")
    except ValueError:
        return missing("leak-checks", title, "table", "the manifest names no known exposure mode")
    from leadforge.testing.checks import Skip
    from leadforge.testing.checks.leaks import id_numbers_leak, presence, row_order

    tasks = _first_per_key(root, manifest)
    if not tasks:
        return missing("leak-checks", title, "table", "no binary task to probe")
    subject = _One(root, mode, tasks)
    probes: tuple[tuple[str, Callable[[Subject], Iterable[str]]], ...] = (
        ("row order", row_order),
        ("id numbers", id_numbers_leak),
        ("presence", presence),
    )
    table: list[list[str]] = []
    for name, probe in probes:
        try:
            found = list(probe(subject))  # type: ignore[arg-type]
        except Skip as exc:
            table.append([name, "skipped", str(exc)])
            continue
        except Exception as exc:
            table.append([name, "could not run", f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"])
            continue
        table.extend([name, "FLAGGED", f] for f in found)
        if not found:
            table.append([name, "clean", "no signal beyond chance"])
    flagged = sum(1 for r in table if r[1] == "FLAGGED")
    return Figure(
        "leak-checks",
        title,
        "table",
        {"columns": ["probe", "result", "detail"], "rows": table, "flagged": flagged},
        caption=f"{flagged} structural leak(s) flagged on this {mode.value} bundle, probing "
        f"{', '.join(tasks)} (one task per key column).",
    )
