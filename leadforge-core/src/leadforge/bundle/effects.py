"""Twin worlds: the factual bundle's splits carried into the intervened one, and each entity's effect.

A twin is the same recipe, config and seed as its factual bundle plus interventions; schemes
draw every random number from substreams the intervention does not reach, so an entity it
cannot affect comes out the same. Core adds two guarantees no scheme has to get right: the
intervened bundle keeps every entity in the split it had in the factual one (a stratified split
would otherwise move entities whose label the intervention changed), and
``metadata/effects.parquet`` holds, per task row, the factual and intervened target and their
difference — realised, and expected under the oracle when the task has one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from leadforge.bundle.manifest import Manifest, TaskEntry, TaskManifest, parse_task_manifest
from leadforge.bundle.oracle import ORACLE_DIR
from leadforge.bundle.reader import confined, discover
from leadforge.bundle.splits import SPLITS
from leadforge.errors import BundleError

EFFECTS_FILE = "metadata/effects.parquet"
EFFECTS_SCHEMA = pa.schema(
    [
        pa.field("task_id", pa.string()),
        pa.field("key", pa.string()),
        pa.field("split", pa.string()),
        pa.field("factual", pa.float64()),
        pa.field("intervened", pa.float64()),
        pa.field("effect", pa.float64()),
        pa.field("factual_oracle", pa.float64()),
        pa.field("intervened_oracle", pa.float64()),
        pa.field("oracle_effect", pa.float64()),
    ]
)


@dataclass(frozen=True)
class TaskRows:
    """One bundle's rows of one task: key, split index, target, and the oracle value if any."""

    keys: pa.Array
    split: np.ndarray
    target: np.ndarray
    oracle: np.ndarray | None
    segment: np.ndarray | None = None


@dataclass(frozen=True)
class AverageEffect:
    """A task's average effect over its rows, with a normal 95 % interval."""

    task_id: str
    rows: int
    mean: float
    low: float
    high: float
    oracle_mean: float
    segment: str = ""


def task_rows(root: Path, task_id: str, entry: TaskEntry | None, segment: str = "") -> TaskRows:
    """Keys, splits and targets of a bundle's task, from its split files (either layout), and
    each row's ``segment`` value when one is named."""
    tm = _task_manifest(root, task_id)
    keys, splits, targets, groups = [], [], [], []
    columns = [tm.key_column, tm.label_column, *([segment] if segment else [])]
    for i, split in enumerate(SPLITS):
        files = entry.files(task_id, split) if entry else (f"tasks/{task_id}/{split}.parquet",)
        table = _read(root, files, columns)
        keys.append(table.column(0).combine_chunks().cast(pa.string()))
        targets.append(np.asarray(table.column(1).cast(pa.float64()).to_numpy(zero_copy_only=False)))
        splits.append(np.full(table.num_rows, i, dtype=np.int8))
        if segment:
            values = pc.fill_null(table.column(2).cast(pa.string()), "(none)")
            groups.append(np.asarray(values.to_numpy(zero_copy_only=False), dtype=object))
    all_keys = pa.concat_arrays(keys)
    return TaskRows(
        all_keys,
        np.concatenate(splits),
        np.concatenate(targets),
        _oracle(root, task_id, all_keys),
        np.concatenate(groups) if segment else None,
    )


def inherited_splits(root: Path, manifest: Manifest) -> dict[str, tuple[pa.Array, np.ndarray]]:
    """Each key column's split assignment in the factual bundle at ``root``."""
    out: dict[str, tuple[pa.Array, np.ndarray]] = {}
    for task_id in sorted(manifest.tasks):
        tm = _task_manifest(root, task_id)
        if tm.key_column in out:
            continue
        rows = task_rows(root, task_id, manifest.tasks[task_id])
        out[tm.key_column] = (rows.keys, rows.split)
    return out


def effects_table(task_id: str, factual: TaskRows, intervened: TaskRows) -> pa.Table:
    """Per intervened row: both targets and their difference (NaN where the factual lacks the row)."""
    idx = pc.index_in(intervened.keys, value_set=factual.keys)
    found = np.asarray(pc.is_valid(idx).to_numpy(zero_copy_only=False), dtype=bool)
    pos = np.asarray(pc.fill_null(idx, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    f_target = np.where(found, factual.target[pos], np.nan)
    nan = np.full(len(intervened.keys), np.nan)
    f_oracle = np.where(found, factual.oracle[pos], np.nan) if factual.oracle is not None else nan
    i_oracle = intervened.oracle if intervened.oracle is not None else nan
    names = np.array(SPLITS, dtype=object)
    return pa.table(
        [
            pa.repeat(pa.scalar(task_id, pa.string()), len(intervened.keys)),
            intervened.keys,
            pa.DictionaryArray.from_arrays(intervened.split, pa.array(list(names))).cast(pa.string()),
            f_target,
            intervened.target,
            intervened.target - f_target,
            f_oracle,
            i_oracle,
            i_oracle - f_oracle,
        ],
        schema=EFFECTS_SCHEMA,
    )


def average(table: pa.Table, where: np.ndarray | None = None, segment: str = "") -> AverageEffect:
    """The mean effect of the rows (``where`` selects some), with a normal 95 % interval."""
    pick = np.ones(table.num_rows, dtype=bool) if where is None else where
    effect = np.asarray(table.column("effect").to_numpy(zero_copy_only=False), dtype=np.float64)[pick]
    effect = effect[~np.isnan(effect)]
    oracle = np.asarray(table.column("oracle_effect").to_numpy(zero_copy_only=False), dtype=np.float64)
    oracle = oracle[pick][~np.isnan(oracle[pick])]
    n = effect.size
    mean = float(effect.mean()) if n else math.nan
    half = 1.96 * float(effect.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
    task_id = table.column("task_id")[0].as_py() if table.num_rows else ""
    return AverageEffect(
        task_id, n, mean, mean - half, mean + half, float(oracle.mean()) if oracle.size else math.nan, segment
    )


#: A segment column with more values than this is not broken down in the card.
MAX_SEGMENTS = 12


def by_segment(table: pa.Table, rows: TaskRows) -> list[AverageEffect]:
    """The average effect within each value of the intervened rows' segment column (in value
    order; none when the task names no segment or it has too many values)."""
    if rows.segment is None:
        return []
    values = sorted(set(rows.segment.tolist()))
    if len(values) > MAX_SEGMENTS:
        return []
    return [average(table, rows.segment == v, str(v)) for v in values]


def card_section(
    averages: Sequence[AverageEffect], interventions: Sequence[str], segments: Sequence[AverageEffect] = ()
) -> str:
    """The dataset card's account of the twin: what was changed, what it did on average and
    within each task's segments."""
    lines = [
        "## Intervention effects",
        "",
        "This bundle is the intervened twin of a factual bundle with the same recipe, config and seed: "
        + ", ".join(f"`{s}`" for s in interventions)
        + ". Every entity keeps the split it had in the factual bundle. Per-row effects "
        "(intervened minus factual target) are in `metadata/effects.parquet`.",
        "",
        "| task | rows | average effect | 95 % interval | expected (oracle) |",
        "|---|---|---|---|---|",
    ]
    for a in averages:
        interval = f"[{_fmt(a.low)}, {_fmt(a.high)}]"
        lines.append(f"| {a.task_id} | {a.rows:,} | {_fmt(a.mean)} | {interval} | {_fmt(a.oracle_mean)} |")
    if segments:
        lines += [
            "",
            "By segment (the task's segment column; an entity the intervention cannot reach has an "
            "effect of exactly 0):",
            "",
            "| task | segment | rows | average effect | 95 % interval | expected (oracle) |",
            "|---|---|---|---|---|---|",
        ]
        for a in segments:
            interval = f"[{_fmt(a.low)}, {_fmt(a.high)}]"
            cells = (a.task_id, a.segment, f"{a.rows:,}", _fmt(a.mean), interval, _fmt(a.oracle_mean))
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _fmt(v: float) -> str:
    return "—" if math.isnan(v) else f"{v:+.4f}"


def _oracle(root: Path, task_id: str, keys: pa.Array) -> np.ndarray | None:
    files = discover(root, f"{ORACLE_DIR}/{task_id}")
    if not files:
        return None
    table = _read(root, files, None)
    values = table.column(table.num_columns - 1).cast(pa.float64())
    idx = pc.index_in(keys, value_set=table.column(0).combine_chunks().cast(pa.string()))
    picked = pc.take(values, pc.fill_null(idx, 0))
    out = np.asarray(picked.to_numpy(zero_copy_only=False), dtype=np.float64)
    return np.where(np.asarray(pc.is_valid(idx).to_numpy(zero_copy_only=False), dtype=bool), out, np.nan)


def _read(root: Path, files: Sequence[str], columns: list[str] | None) -> pa.Table:
    if not files:
        raise BundleError(f"{root}: a task split has no files")
    return pa.concat_tables(pq.read_table(confined(root, rel), columns=columns) for rel in files)


def _task_manifest(root: Path, task_id: str) -> TaskManifest:
    rel = f"tasks/{task_id}/task_manifest.json"
    tm, findings = parse_task_manifest(json.loads(confined(root, rel).read_text(encoding="utf-8")), rel)
    if tm is None:
        raise BundleError(f"{root}: {findings[0] if findings else rel + ' is unreadable'}")
    return tm
