"""What every check is: a name, a summary, and a generator of one-line failures."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from leadforge.bundle.manifest import SPLITS
from leadforge.enums import ExposureMode
from leadforge.errors import BundleError
from leadforge.features import parse_dictionary
from leadforge.testing.bundles import GeneratedBundle
from leadforge.testing.subject import Subject

PUBLIC = ExposureMode.STUDENT_PUBLIC
INSTRUCTOR = ExposureMode.RESEARCH_INSTRUCTOR


class Skip(Exception):
    """The check does not apply to this scheme; the message says why."""


@dataclass(frozen=True)
class Check:
    """One contract check: its name (``test_<name>`` in the base class) and what it proves."""

    name: str
    summary: str
    run: Callable[[Subject], Iterable[str]]


def task_rows(b: GeneratedBundle, task: str) -> pa.Table | None:
    """All rows of a task, whatever their split, in key order (``None`` if unreadable)."""
    tm = b.task_manifest(task)
    view = b.view()
    try:
        rows = pa.concat_tables([view.split(task, s) for s in SPLITS])
    except (BundleError, pa.ArrowException):
        return None
    if tm is None or tm.key_column not in rows.column_names:
        return rows
    return rows.take(pc.sort_indices(rows, sort_keys=[(tm.key_column, "ascending")]))


def dictionary_rows(root: Path) -> list[dict[str, str]]:
    try:
        return parse_dictionary((root / "feature_dictionary.csv").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []


def parquet_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.parquet"))


def clip(value: Any, n: int = 100) -> str:
    text = repr(value)
    return text if len(text) <= n else text[: n - 3] + "..."
