"""The card's measured sections (each answer key's ceiling, each task's lessons) as jobs.

Each job fits quick models on at most some tens of thousands of task rows, which takes a good
part of a second, and the jobs are independent: the writer starts them on its engine once the
rows are sealed, so on a cluster they run side by side, while the driver writes the metadata,
instead of one after the other in the driver. A job
reads its rows itself (:class:`TaskFiles` from the bundle folder, :class:`TaskTables` from
memory), so what crosses to a worker is a few paths, not the rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from leadforge.bundle.ceiling import MAX_ROWS, Ceiling, ceiling, split_rows
from leadforge.bundle.engineered import ROWS_PER_READ, Relations
from leadforge.bundle.lessons import Lesson, measure
from leadforge.bundle.manifest import OutOfTime
from leadforge.bundle.splits import SPLITS
from leadforge.bundle.tasks import TaskSpec


class TaskRows(Protocol):
    """Where a job finds one task's rows."""

    def tables(self) -> Iterator[pa.Table]:
        """The rows, split by split and part by part."""
        ...

    def ceiling_rows(self, spec: TaskSpec) -> list[tuple[pa.Table, np.ndarray]]:
        """Each split's first rows (at most the ceiling's cap) and their oracle values."""
        ...


@dataclass(frozen=True)
class TaskFiles:
    """A task's split files (and answer-key files) in a bundle folder."""

    root: str
    splits: tuple[tuple[str, ...], ...]
    oracles: tuple[str, ...] = ()

    def tables(self) -> Iterator[pa.Table]:
        for files in self.splits:
            for rel in files:
                for batch in pq.ParquetFile(Path(self.root) / rel).iter_batches(ROWS_PER_READ):
                    yield pa.Table.from_batches([batch])

    def ceiling_rows(self, spec: TaskSpec) -> list[tuple[pa.Table, np.ndarray]]:
        return [
            split_rows(Path(self.root), files, self.oracles, split, spec)
            for files, split in zip(self.splits, SPLITS, strict=True)
        ]


@dataclass(frozen=True)
class TaskTables:
    """A task's split tables (and answer-key values) held in memory."""

    splits: tuple[pa.Table, ...]
    oracles: tuple[pa.Table, ...] = ()

    def tables(self) -> Iterator[pa.Table]:
        yield from self.splits

    def ceiling_rows(self, spec: TaskSpec) -> list[tuple[pa.Table, np.ndarray]]:
        assert spec.oracle is not None
        column = spec.oracle.column
        return [
            (
                table.slice(0, MAX_ROWS),
                np.asarray(key.column(column).slice(0, MAX_ROWS).to_numpy(), np.float64),
            )
            for table, key in zip(self.splits, self.oracles, strict=True)
        ]


@dataclass(frozen=True)
class CardJob:
    """One measurement: the ``ceiling`` of a task's answer key, or its ``lessons``.

    ``exclude`` are the columns no model may read (for lessons: the leaky ones, whose lift is
    the trap lesson); ``cut`` is the task's out-of-time split; ``relations`` what a student
    can join to its rows (public bundles).
    """

    kind: Literal["ceiling", "lessons"]
    spec: TaskSpec
    rows: TaskRows
    exclude: frozenset[str]
    cut: OutOfTime | None = None
    relations: Relations | None = None


def run_card_job(job: CardJob) -> Ceiling | Lesson | None:
    """What one job measures (a module-level function, so any engine can run it)."""
    if job.kind == "ceiling":
        return ceiling(job.spec, job.rows.ceiling_rows(job.spec), job.exclude | {job.spec.key_column})
    return measure(job.spec, job.rows.tables(), job.exclude, job.cut, job.relations)


@dataclass(frozen=True)
class Measured:
    """What the card's jobs found: each answer key's ceiling, each task's lessons (in task order)."""

    ceilings: tuple[Ceiling, ...]
    lessons: dict[str, Lesson | None]

    @classmethod
    def of(cls, jobs: Sequence[CardJob], results: Sequence[Ceiling | Lesson | None]) -> Measured:
        ceilings, lessons = [], {}
        for job, result in zip(jobs, results, strict=True):
            if isinstance(result, Ceiling):
                ceilings.append(result)
            elif job.kind == "lessons":
                lessons[job.spec.task_id] = result
        return cls(tuple(ceilings), lessons)
