"""The answer key's file: what the world knew about each task row, kept out of every task split.

A task whose :class:`~leadforge.bundle.tasks.TaskSpec` names an ``oracle`` column hands that
column over with its rows; core strips it from the split files and, in instructor bundles,
writes ``metadata/oracle/<task_id>.parquet`` (one part per shard in a sharded bundle) with the
task's key, the split each row landed in, its label and the oracle value, in split then key
order — so a grader joins on the key, and the split files stay byte-identical whether or not
the scheme computes an oracle.
"""

from __future__ import annotations

import pyarrow as pa

from leadforge.bundle.manifest import part_name
from leadforge.bundle.splits import SPLITS
from leadforge.bundle.tasks import UPLIFT, TaskSpec
from leadforge.schema import TableSchema

ORACLE_DIR = "metadata/oracle"
#: where a bundle written in one process keeps each split's oracle rows until they are joined
ORACLE_STAGING = ".oracle"
SPLIT_COLUMN = "split"


def oracle_file(task_id: str) -> str:
    return f"{ORACLE_DIR}/{task_id}.parquet"


def oracle_part(task_id: str, index: int) -> str:
    return f"{ORACLE_DIR}/{task_id}/{part_name(index)}"


def oracle_schema(spec: TaskSpec, full: TableSchema) -> pa.Schema:
    """Key, split, label, oracle value (and true uplift), typed as the task rows type them."""
    assert spec.oracle is not None
    arrow = full.arrow
    fields = [
        arrow.field(spec.key_column),
        pa.field(SPLIT_COLUMN, pa.string()),
        arrow.field(spec.label_column),
        pa.field(spec.oracle.column, pa.float64()),
    ]
    if spec.oracle.uplift:
        fields.append(pa.field(UPLIFT, pa.float64()))
    return pa.schema(fields)


def oracle_rows(spec: TaskSpec, schema: pa.Schema, parts: tuple[pa.Table, ...]) -> pa.Table:
    """One shard's oracle rows from its three split tables (which still hold the oracle column)."""
    assert spec.oracle is not None
    names = [spec.key_column, spec.label_column, *spec.oracle.hidden]
    tables = []
    for split, table in zip(SPLITS, parts, strict=True):
        kept = table.select(names)
        columns = [
            kept.column(0),
            pa.repeat(pa.scalar(split, pa.string()), kept.num_rows),
            kept.column(1),
            *(kept.column(i).cast(pa.float64()) for i in range(2, len(names))),
        ]
        tables.append(pa.table(columns, schema=schema))
    return pa.concat_tables(tables)


def stored(spec: TaskSpec, table: pa.Table) -> pa.Table:
    """A split table as its file holds it: without the oracle column."""
    return table if spec.oracle is None else table.drop_columns(list(spec.oracle.hidden))
