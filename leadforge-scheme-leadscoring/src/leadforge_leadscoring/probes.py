"""Statistical leak probes for public bundles, with numpy only (no model library at run time).

A student who cheats joins the public tables, aggregates them per lead and looks for a column
that predicts the label better than the snapshot does. These probes do the same with single
features: every per-lead aggregate is scored by its rank AUC against the label and compared
with the best honest snapshot feature, and every count is checked for being a perfect
positive marker. Id numbers are scored the same way: their order must carry nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Leads scored at most (the first ones in split order): enough for a 0.01 AUC resolution.
MAX_LEADS = 200_000
#: A string column with more distinct values than this is an identifier, not a category.
MAX_CATEGORIES = 50
#: How much better than the best single snapshot feature one public aggregate may look. A raw
#: count legitimately beats its distorted snapshot twin, whose missing cells rank lowest (up to
#: +0.04 AUC on seeds 42-54: activity rows against ``activity_count``); planted leaks add far more.
AUC_MARGIN = 0.05
#: How far from 0.5 an id's rank AUC may drift before its order is a leak.
ID_MARGIN = 0.05
#: ... or how many no-signal standard errors, where that is wider (a few hundred task rows):
#: about fifteen id probes run on every bundle, and at 3 two of 24 bundles of 60 leads failed by chance.
ID_NOISE_SD = 4.0
#: Leads a value must mark before "marks only positives" counts as evidence.
MIN_SUPPORT = 20


@dataclass(frozen=True)
class Score:
    """One feature's separation of the label: ``strength`` is |AUC - 0.5|."""

    name: str
    auc: float

    @property
    def strength(self) -> float:
        return abs(self.auc - 0.5)


def rank_auc(x: np.ndarray, y: np.ndarray) -> float:
    """ROC AUC of score ``x`` for boolean ``y`` (Mann-Whitney with tied ranks averaged)."""
    x = np.asarray(x, dtype=np.float64)
    x = np.where(np.isnan(x), -np.inf, x)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return 0.5
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    ends = np.r_[starts[1:], xs.size]
    avg = (starts + ends + 1) / 2.0
    ranks = np.empty(x.size, dtype=np.float64)
    ranks[order] = np.repeat(avg, ends - starts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def auc_noise(y: np.ndarray) -> float:
    """Standard error of a no-signal AUC for these labels (Hanley-McNeil at AUC 0.5)."""
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return 0.5
    return float(np.sqrt((n_pos + n_neg + 1) / (12.0 * n_pos * n_neg)))


def clustered_noise(y: np.ndarray, x: np.ndarray) -> float:
    """:func:`auc_noise` for a score shared by the rows of one entity (an account's leads share
    its id and much of their fate): the rows count as many as the distinct values of ``x``, the
    design effect of labels fully alike within an entity."""
    return auc_noise(y) * float(np.sqrt(y.size / max(np.unique(x).size, 1)))


def columns_of(table: pa.Table, rows: np.ndarray, n: int, prefix: str) -> Iterator[tuple[str, np.ndarray]]:
    """Per-lead aggregates of a table whose row ``i`` belongs to lead ``rows[i]`` (-1: none).

    Row count; per category value, how many rows carry it; per numeric column, the sum. Id,
    timestamp and free-text columns are skipped.
    """
    agg = Aggregates(n, prefix)
    agg.add(table, rows)
    yield from agg.features()


def aggregated(name: str) -> bool:
    """Whether :class:`Aggregates` reads this column (ids and times carry no per-lead signal)."""
    return not (name.endswith("_id") or name.endswith("_at") or name.endswith("timestamp"))


class Aggregates:
    """:func:`columns_of` built a batch at a time, so a table of events is never held whole.

    Category values are counted in the order they first appear; a column that turns out to
    have more than :data:`MAX_CATEGORIES` values is an identifier and is dropped.
    """

    def __init__(self, n: int, prefix: str) -> None:
        self.n = n
        self.prefix = prefix
        self.rows = np.zeros(n, dtype=np.float64)
        self.order: list[str] = []
        self.categories: dict[str, dict[str, np.ndarray] | None] = {}
        self.sums: dict[str, np.ndarray] = {}

    def add(self, table: pa.Table | pa.RecordBatch, rows: np.ndarray) -> None:
        own = rows >= 0
        idx = rows[own]
        self.rows += np.bincount(idx, minlength=self.n)
        for name in table.column_names:
            if not aggregated(name):
                continue
            col = table.column(name)
            typ = col.type
            if pa.types.is_string(typ) or pa.types.is_large_string(typ):
                self._categories(name, col, own, idx)
            elif pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_boolean(typ):
                if name not in self.sums:
                    self.order.append(name)
                    self.sums[name] = np.zeros(self.n, dtype=np.float64)
                v = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)[own]
                self.sums[name] += np.bincount(idx, weights=np.nan_to_num(v), minlength=self.n)

    def _categories(
        self, name: str, col: pa.Array | pa.ChunkedArray, own: np.ndarray, idx: np.ndarray
    ) -> None:
        if name not in self.categories:
            self.order.append(name)
            self.categories[name] = {}
        counts = self.categories[name]
        if counts is None:
            return
        encoded = pc.dictionary_encode(col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col)
        values = encoded.dictionary.to_pylist()
        if len(set(counts) | set(values)) > MAX_CATEGORIES:
            self.categories[name] = None
            return
        codes = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)[own]
        for k, value in enumerate(values):
            add = np.bincount(idx[codes == k], minlength=self.n).astype(np.float64)
            if value in counts:
                counts[value] += add
            else:
                counts[value] = add

    def features(self) -> Iterator[tuple[str, np.ndarray]]:
        yield f"{self.prefix}:rows", self.rows
        for name in self.order:
            if name in self.sums:
                yield f"{self.prefix}:{name}", self.sums[name]
                continue
            for value, counts in (self.categories[name] or {}).items():
                yield f"{self.prefix}:{name}={value}", counts


def best(features: Iterable[tuple[str, np.ndarray]], y: np.ndarray) -> Score | None:
    top: Score | None = None
    for name, x in features:
        score = Score(name, rank_auc(x, y))
        if top is None or score.strength > top.strength:
            top = score
    return top


def positive_markers(features: Iterable[tuple[str, np.ndarray]], y: np.ndarray) -> Iterator[tuple[str, int]]:
    """Aggregates that are non-zero on at least ``MIN_SUPPORT`` leads, every one a positive."""
    for name, x in features:
        marked = x > 0
        support = int(marked.sum())
        if support >= MIN_SUPPORT and bool(y[marked].all()) and support < y.size:
            yield name, support
