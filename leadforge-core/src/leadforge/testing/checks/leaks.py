"""Structural leak checks: the label must not be readable off the bundle's structure.

A public bundle can leak its label without any leaky column: through the order of split rows,
the numbers inside ids, the holes a cut leaves between ids, or whether an entity has rows in
a table at all. These checks probe each channel on the public bundle (on the primary bundle
when a scheme has no public mode), driven only by the relational contract the manifest
records and the task manifests, so they apply to every scheme.

Each probe asks whether an artefact predicts a binary label (the task's label, "above the
median" for regression) with a rank AUC; :mod:`leadforge.testing.stats` says how far from 0.5
an uninformative artefact may land (four null standard deviations, at least ±0.03). Two
principles keep honest bundles from being flagged:

* An id may follow a public time column: rows written in time order get ids in time order,
  and those ids predict the label exactly as well as the time column, which is honest signal.
  So a flagged id statistic is compared again within up to 20 equal-count bins of the matching
  time statistic (pairs of rows with about the same time only); it fails only if it separates
  the classes there by more than the tolerance beyond what the time statistic itself still
  does within the same bins.
* Having rows in a table may honestly predict the label (customers with tickets churn more).
  Presence fails only when it separates the classes almost perfectly (AUC beyond
  ``1 - NEAR_PERFECT``), or when it predicts the label differently than the same table does
  after core's public projection of the instructor rows (same seed): then the scheme removed
  rows by something other than the declared cut.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leadforge.bundle.contract import RelationalContract
from leadforge.bundle.manifest import SPLITS, Manifest
from leadforge.bundle.projection import project_shard
from leadforge.bundle.reader import BundleView
from leadforge.errors import BundleError, LeadforgeError
from leadforge.testing.bundles import GeneratedBundle
from leadforge.testing.checks.base import INSTRUCTOR, PUBLIC, Skip
from leadforge.testing.stats import (
    RUN_SURPRISE,
    auc,
    auc_tolerance,
    class_shares,
    edge_runs,
    quantile_bins,
    run_surprise,
    stratified_auc,
    time_groups,
)
from leadforge.testing.structure import (
    Link,
    TaskLabels,
    combined,
    id_blocks,
    id_numbers,
    links,
    per_entity,
    primary_key_of,
    task_column,
    task_labels,
    time_ranks,
    within_blocks,
)
from leadforge.testing.subject import Subject

#: Presence AUC beyond ``1 - NEAR_PERFECT`` (or below it) lets a student read the label off a join.
NEAR_PERFECT = 0.03


@dataclass(frozen=True)
class Probe:
    """A probe that found signal: its AUC, the tolerance it exceeded, and its sample size."""

    auc: float
    tolerance: float
    n: int

    def describe(self) -> str:
        return f"AUC {self.auc:.3f} over {self.n} rows, tolerance ±{self.tolerance:.3f}"


def judge(score: np.ndarray, y: np.ndarray, *times: np.ndarray | None) -> Probe | None:
    """A :class:`Probe` if ``score`` predicts ``y`` beyond chance and beyond every one of ``times``
    (public time statistics it may follow); else ``None``."""
    keep = ~np.isnan(score)
    a, tol = auc(score[keep], y[keep]), auc_tolerance(y[keep])
    if np.isnan(a) or abs(a - 0.5) <= tol:
        return None
    for time in times:
        if time is not None and _explained(score[keep], y[keep], time[keep]):
            return None
    return Probe(a, tol, int(np.count_nonzero(keep)))


def _explained(score: np.ndarray, y: np.ndarray, time: np.ndarray) -> bool:
    """Whether, among rows of about the same time, ``score`` separates the classes no better
    (within the tolerance) than ``time`` itself still does there."""
    bins = quantile_bins(time)
    within, tol = stratified_auc(score, y, bins)
    if np.isnan(within):
        return True
    residual, _ = stratified_auc(time, y, bins)
    return abs(within - 0.5) - (0.0 if np.isnan(residual) else abs(residual - 0.5)) <= tol


def _subject_bundle(c: Subject) -> tuple[GeneratedBundle, Manifest, RelationalContract]:
    b = c.bundle(PUBLIC if PUBLIC in c.modes else c.primary_mode)
    m = b.manifest()
    if m.contract is None:
        raise Skip("the manifest records no relational contract")
    return b, m, m.contract


def _tasks(b: GeneratedBundle, m: Manifest) -> Iterator[TaskLabels]:
    for task in sorted(m.tasks):
        labels = task_labels(b, task)
        if labels is not None:
            yield labels


# -- row order ---------------------------------------------------------------------------


def row_order(c: Subject) -> Iterator[str]:
    """Split rows must not be ordered by label.

    The writer writes each shard's rows in key order, one row group per shard; such a file's
    order says no more than its keys (the ``id_numbers`` check judges those). Any other order
    is probed: row position vs label, and the single-class runs the file starts and ends with.
    """
    b, m, _ = _subject_bundle(c)
    for labels in _tasks(b, m):
        for split in SPLITS:
            rows = labels.in_split(split)
            keys, y = labels.keys[rows], labels.y[rows]
            if y.size < 2 or _in_key_order(keys, labels.row_groups[split]):
                continue
            where = f"{b.mode.value} tasks/{labels.task.task_id}/{split}.parquet"
            probe = judge(np.arange(y.size, dtype=np.float64), y)
            if probe is not None:
                yield (
                    f"{where}: row position predicts {labels.task.label_column} ({probe.describe()}); "
                    "the rows are not in key order, so the order itself carries the label"
                )
            yield from _runs(where, "the file", y)


def _in_key_order(keys: pa.Array, groups: tuple[int, ...]) -> bool:
    start = 0
    for size in groups:
        part = keys[start : start + size]
        if size > 1 and not pc.all(pc.less_equal(part[:-1], part[1:])).as_py():
            return False
        start += size
    return start == len(keys)


def _runs(where: str, what: str, y: np.ndarray, time: np.ndarray | None = None) -> Iterator[str]:
    """Flag a single-class run at either end that a random order makes rarer than ``RUN_ALPHA``.

    Each row of the run is as likely as its class's share: among all rows or, given ``time``
    (aligned with ``y``), among the rows of about its time, so a run of late rows that all
    share a class is no artefact when nearly every late row has that class.
    """
    head, tail = edge_runs(y)
    groups = time_groups(time) if time is not None else np.zeros(y.size, dtype=np.int64)
    shares = class_shares(y, groups)
    for end, run in (("starts", head), ("ends", tail)):
        if run == 0 or run == y.size:
            continue
        part = slice(0, run) if end == "starts" else slice(y.size - run, y.size)
        surprise = run_surprise(shares[part])
        if surprise > RUN_SURPRISE:
            label = "positive" if y[part][0] else "negative"
            given = " among rows of about the same time" if time is not None else ""
            yield (
                f"{where}: {what} {end} with {run} rows of one class (label {label}); a random order "
                f"keeping the class mix{given} gives that about once in 10^{surprise:.0f} "
                f"(flagged beyond 10^{RUN_SURPRISE:.0f})"
            )


# -- id numbers --------------------------------------------------------------------------


def id_numbers_leak(c: Subject) -> Iterator[str]:
    """Id numbers must not predict the label: the task key's, and per entity the lowest and
    highest id and the gap (id span minus rows) of its rows in every table that references it."""
    b, m, contract = _subject_bundle(c)
    view = b.view()
    for labels in _tasks(b, m):
        tm = labels.task
        where = f"{b.mode.value} task {tm.task_id}"
        numbers = id_numbers(labels.keys)
        time = _primary_time(b, contract, labels)
        probe = judge(numbers, labels.y, time)
        if probe is not None:
            yield (
                f"{where}: the number in {tm.key_column} predicts {tm.label_column} "
                f"({probe.describe()}){_beyond(time)}"
            )
        order = np.argsort(numbers, kind="stable")
        yield from _runs(
            where,
            f"sorted by the number in {tm.key_column}, the task",
            labels.y[order],
            None if time is None else time[order],
        )
        for link in links(view, contract, labels):
            yield from _entity_ids(view, where, labels, link, time, b.mode is PUBLIC)


def _primary_time(b: GeneratedBundle, contract: RelationalContract, labels: TaskLabels) -> np.ndarray | None:
    """Time ranks of each task row's entity: the primary table's time column, read from the
    public primary table, or from the task's own column of that name when the table is omitted."""
    tm = labels.task
    if not primary_key_of(contract, tm):
        return None
    t = contract[tm.primary_table]
    if t.time_column is None:
        return None
    try:
        table = b.view().table(t.name, [t.primary_key, t.time_column])
    except BundleError:
        table = None
    if table is None or t.time_column not in table.column_names:
        own = task_column(b, labels, t.time_column)
        return None if own is None else time_ranks(own)
    idx = pc.index_in(labels.keys, value_set=combined(table.column(t.primary_key)).cast(pa.large_string()))
    ranks = time_ranks(table.column(t.time_column))
    pos = np.asarray(pc.fill_null(idx, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    return np.where(pos >= 0, ranks[np.maximum(pos, 0)], np.nan)


def _beyond(time: np.ndarray | None) -> str:
    return ", also among rows of about the same time" if time is not None else ""


def _entity_ids(
    view: BundleView,
    where: str,
    labels: TaskLabels,
    link: Link,
    entity_time: np.ndarray | None,
    public: bool,
) -> Iterator[str]:
    """Per entity, the lowest and highest place of its rows in their id blocks and the gap
    between them; each may follow the table's own time column or, for rows grouped by entity,
    the entity's time."""
    t = link.table
    table = view.table(t.name, [t.primary_key, *([t.time_column] if t.time_column else [])])
    numbers = id_numbers(table.column(t.primary_key))
    blocks = id_blocks(numbers, t, public)
    n = labels.y.size
    ids = per_entity(link.entity, numbers, n)
    has = ids.count > 0
    if not has.any():
        return
    same_block = np.zeros(n, dtype=bool)
    same_block[has] = id_blocks(ids.low[has], t, public) == id_blocks(ids.high[has], t, public)
    gap = np.where(same_block, ids.high - ids.low + 1 - ids.count, np.nan)
    place = per_entity(link.entity, within_blocks(numbers, blocks), n)
    times: dict[str, np.ndarray | None] = {"lowest": None, "highest": None, "gap": None}
    if t.time_column is not None and t.time_column in table.column_names:
        ranks = time_ranks(table.column(t.time_column))
        by_time = per_entity(link.entity, ranks, n)
        ordinal = _ranks_within_blocks(blocks, ranks, numbers)
        by_rank = per_entity(link.entity, ordinal, n)
        times = {
            "lowest": by_time.low,
            "highest": by_time.high,
            "gap": by_rank.high - by_rank.low + 1 - by_rank.count,
        }
    stats = {"lowest": place.low, "highest": place.high, "gap": gap}
    rel = f"tables/{t.name}.parquet"
    for what, values in stats.items():
        time = times[what]
        own = None if time is None else time[has]
        probe = judge(values[has], labels.y[has], own, None if entity_time is None else entity_time[has])
        if probe is not None:
            name = f"{t.primary_key} gap (id span minus rows)" if what == "gap" else f"{what} {t.primary_key}"
            yield (
                f"{where}: the {name} of each {labels.task.key_column}'s rows in {rel} predicts "
                f"{labels.task.label_column} ({probe.describe()}){_beyond(own)}"
            )


def _ranks_within_blocks(blocks: np.ndarray, times: np.ndarray, numbers: np.ndarray) -> np.ndarray:
    """Each row's position within its id block when the block is ordered by time (then id):
    what its id would be had the rows been numbered in time order."""
    t = np.nan_to_num(times, nan=np.inf)
    order = np.lexsort((numbers, t, blocks))
    b = blocks[order]
    starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
    sizes = np.diff(np.r_[starts, b.size])
    position = np.arange(b.size) - np.repeat(starts, sizes)
    out = np.empty(b.size, dtype=np.float64)
    out[order] = position
    return out


# -- id gaps left by the cut -------------------------------------------------------------


def cut_gaps(c: Subject) -> Iterator[str]:
    """Public ids must not encode how many rows the public cut removed.

    For every table that holds fewer rows in public than in the instructor bundle of the same
    seed, and each foreign key to a parent whose ids are the same in both, the id gaps next to
    each parent's public rows are compared with how many of its rows the instructor bundle holds
    beyond the public ones. Core numbers cut tables after the cut, so their ids have no gaps.
    """
    if PUBLIC not in c.modes or INSTRUCTOR not in c.modes:
        raise Skip("needs both a student_public and a research_instructor bundle")
    pub, ins = c.bundle(PUBLIC), c.bundle(INSTRUCTOR)
    mp, mi = pub.manifest(), ins.manifest()
    if mp.contract is None:
        raise Skip("the manifest records no relational contract")
    vp, vi = pub.view(), ins.view()
    for t in mp.contract:
        if t.name not in mp.tables or t.name not in mi.tables:
            continue
        if mp.tables[t.name].row_count >= mi.tables[t.name].row_count:
            continue
        for fk in t.foreign_keys:
            if fk.parent == t.name or fk.parent not in mp.tables or fk.parent not in mi.tables:
                continue
            parent = mp.contract[fk.parent]
            try:
                keys_p = combined(vp.table(parent.name, [parent.primary_key]).column(parent.primary_key))
                keys_i = combined(vi.table(parent.name, [parent.primary_key]).column(parent.primary_key))
                public = vp.table(t.name, [t.primary_key, fk.column])
                instructor = vi.table(t.name, [fk.column])
            except BundleError:
                continue
            keys_i = keys_i.cast(pa.large_string())
            if fk.column not in public.column_names or not _same_ids(keys_p, keys_i):
                continue
            n = len(keys_i)
            ent_p = _entities(public.column(fk.column), keys_i)
            ent_i = _entities(instructor.column(fk.column), keys_i)
            kept = np.bincount(ent_p[ent_p >= 0], minlength=n)
            removed = np.bincount(ent_i[ent_i >= 0], minlength=n) - kept
            numbers = id_numbers(public.column(t.primary_key))
            before, after = _gaps(numbers, id_blocks(numbers, t))
            has = kept > 0
            target = _binarise_counts(removed[has])
            if target is None:
                continue
            for side, gaps in (("before", before), ("after", after)):
                per_parent = np.bincount(
                    np.maximum(ent_p, 0), weights=np.where(ent_p >= 0, gaps, 0.0), minlength=n
                )
                probe = judge(per_parent[has], target)
                if probe is not None:
                    yield (
                        f"tables/{t.name}.parquet: the {t.primary_key} gaps {side} each {fk.parent} "
                        "row's public rows predict how many of its rows the public bundle lacks "
                        f"({probe.describe()}): ids were numbered before rows were removed"
                    )


def _same_ids(a: pa.Array, b: pa.Array) -> bool:
    """Whether two id columns hold the same ids (then a parent's rows are the same in both bundles)."""
    return bool(a.cast(pa.large_string()).sort().equals(b.cast(pa.large_string()).sort()))


def _entities(fk: pa.ChunkedArray, keys: pa.Array) -> np.ndarray:
    idx = pc.index_in(combined(fk).cast(pa.large_string()), value_set=keys)
    return np.asarray(pc.fill_null(idx, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _gaps(numbers: np.ndarray, blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, how many id numbers are missing just before and just after it (within its block)."""
    before, after = np.zeros(numbers.size), np.zeros(numbers.size)
    known = np.flatnonzero(~np.isnan(numbers))
    order = known[np.argsort(numbers[known], kind="stable")]
    if order.size < 2:
        return before, after
    s, blk = numbers[order], blocks[order]
    hole = np.where(blk[1:] == blk[:-1], np.maximum(s[1:] - s[:-1] - 1, 0), 0)
    after[order[:-1]] = hole
    before[order[1:]] = hole
    return before, after


def _binarise_counts(counts: np.ndarray) -> np.ndarray | None:
    """Many versus few removed rows: above the median, or any at all when most have none."""
    if counts.size == 0:
        return None
    median = float(np.median(counts))
    y = counts > median
    if not y.any():
        y = counts > 0
    return y if 0 < np.count_nonzero(y) < y.size else None


# -- presence ----------------------------------------------------------------------------


def presence(c: Subject) -> Iterator[str]:
    """Whether an entity has any row in a public table must not (almost) decide its label, nor
    predict it differently than core's projection of the instructor rows would."""
    b, m, contract = _subject_bundle(c)
    view = b.view()
    baseline = _projected_instructor(c, contract) if b.mode is PUBLIC else None
    for labels in _tasks(b, m):
        tm = labels.task
        n = labels.y.size
        tol = auc_tolerance(labels.y)
        for link in links(view, contract, labels):
            rel = f"tables/{link.table.name}.parquet"
            has = np.bincount(link.entity[link.entity >= 0], minlength=n) > 0
            a = auc(has.astype(np.float64), labels.y)
            if np.isnan(a):
                continue
            what = f"{b.mode.value} task {tm.task_id}: whether a {tm.key_column} has any row in {rel}"
            if a > 1 - NEAR_PERFECT or a < NEAR_PERFECT:
                yield f"{what} separates {tm.label_column} almost perfectly (AUC {a:.3f} over {n} rows)"
                continue
            if baseline is None or link.table.name not in baseline:
                continue
            table = baseline[link.table.name]
            if link.fk.column not in table.column_names:
                continue
            expected = _entities(table.column(link.fk.column), labels.keys)
            want = auc((np.bincount(expected[expected >= 0], minlength=n) > 0).astype(np.float64), labels.y)
            if not np.isnan(want) and abs(a - want) > tol:
                yield (
                    f"{what} predicts {tm.label_column} with AUC {a:.3f}, but {want:.3f} in core's public "
                    f"projection of the instructor rows (tolerance ±{tol:.3f}): rows were removed by "
                    "something other than the declared cut"
                )


def _projected_instructor(c: Subject, contract: RelationalContract) -> dict[str, pa.Table] | None:
    """The instructor bundle's tables as core's public projection would leave them."""
    if INSTRUCTOR not in c.modes:
        return None
    ins = c.bundle(INSTRUCTOR)
    view = ins.view()
    present = set(view.table_names())
    try:
        tables = {t.name: view.table(t.name) for t in contract if t.name in present}
        return project_shard(contract, 0, tables, public=True)
    except (BundleError, LeadforgeError, pa.ArrowException, ValueError, KeyError):
        return None
