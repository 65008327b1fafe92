"""Building blocks schemes share when they make figures: rates by group, weekly counts, bins.

Each helper works column-wise (Arrow group-by, numpy bincount) on what :class:`Reader` gave,
so a scheme's ``report_sections`` stays a list of short declarations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leadforge.baseline import label_values, numeric_values
from leadforge.calendar import NO_DAY
from leadforge.report.model import Figure, missing
from leadforge.report.read import Reader, days, strings

EPOCH = dt.date(1970, 1, 1)
#: Groups a rate figure shows at most (the largest ones).
MAX_GROUPS = 15


def iso(day: int) -> str:
    return (EPOCH + dt.timedelta(days=int(day))).isoformat()


def rate_by(
    fid: str,
    title: str,
    table: pa.Table | None,
    group: str,
    label: str,
    *,
    caption: str = "",
    what: str = "rate",
) -> Figure:
    """The mean of a 0/1 ``label`` per value of ``group`` (largest groups first), as percent bars."""
    if table is None or group not in table.column_names or label not in table.column_names:
        return missing(fid, title, "bars", f"the bundle has no {group} or {label} column here")
    y = label_values(table.column(label))
    keys = pc.fill_null(strings(table.column(group)), "(missing)")
    t = pa.table({"g": keys, "y": pa.array(y, pa.float64())})
    agg = (
        t.group_by("g")
        .aggregate([("y", "mean"), ("y", "count")])
        .sort_by([("y_count", "descending"), ("g", "ascending")])
    )
    agg = agg.slice(0, MAX_GROUPS)
    if agg.num_rows == 0:
        return missing(fid, title, "bars", f"no rows with a {label}")
    labels = [
        f"{g} (n={n:,})"
        for g, n in zip(agg.column("g").to_pylist(), agg.column("y_count").to_pylist(), strict=True)
    ]
    return Figure(
        fid,
        title,
        "bars",
        {
            "labels": labels,
            "series": {what: agg.column("y_mean").to_pylist()},
            "percent": True,
            "ylabel": what,
            "horizontal": True,
        },
        caption=caption,
    )


def weekly(reader: Reader, sources: Sequence[tuple[str, str, str]]) -> tuple[list[str], dict[str, list[int]]]:
    """Rows per calendar week (Monday start) of each ``(name, table, time column)``, streamed."""
    counts: dict[str, np.ndarray] = {}
    for name, table, column in sources:
        acc = np.zeros(0, dtype=np.int64)
        for batch in reader.stream(table, [column]):
            d = days(batch.column(0))
            d = d[d != NO_DAY]
            if d.size == 0:
                continue
            week = (d - 4) // 7  # 1970-01-05 was a Monday: week numbers start on Mondays
            acc = _add(acc, np.bincount(week[week >= 0]))
        if acc.size:
            counts[name] = acc
    if not counts:
        return [], {}
    nonzero = [np.flatnonzero(c) for c in counts.values() if c.any()]
    if not nonzero:
        return [], {}
    lo = min(int(n[0]) for n in nonzero)
    hi = max(int(n[-1]) for n in nonzero) + 1
    x = [iso(w * 7 + 4) for w in range(lo, hi)]
    return x, {k: [int(v) for v in np.pad(c, (0, max(0, hi - c.size)))[lo:hi]] for k, c in counts.items()}


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    n = max(a.size, b.size)
    return np.asarray(np.pad(a, (0, n - a.size)) + np.pad(b, (0, n - b.size)))


def histogram(
    fid: str,
    title: str,
    values: np.ndarray | None,
    *,
    xlabel: str,
    bins: int = 30,
    log: bool = False,
    caption: str = "",
    weights: np.ndarray | None = None,
) -> Figure:
    """Counts of ``values`` in ``bins`` equal (or, with ``log``, log-spaced) bins. ``weights``
    says how often each value occurs (value counts merged over shards instead of every row)."""
    if values is None:
        return missing(fid, title, "histogram", f"the bundle has no {xlabel} column here")
    w = np.ones(values.size, dtype=np.int64) if weights is None else np.asarray(weights, dtype=np.int64)
    keep = np.isfinite(values) & (w > 0)
    if log:
        keep &= values > 0
    v, w = values[keep], w[keep]
    if v.size == 0:
        return missing(fid, title, "histogram", f"no {xlabel} values")
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        hi = lo + 1.0
    edges = np.geomspace(lo, hi, bins + 1) if log else np.linspace(lo, hi, bins + 1)
    counts = np.histogram(v, bins=edges, weights=None if weights is None else w)[0].astype(np.int64)
    med = float(np.median(v)) if weights is None else _weighted_median(v, w)
    n = int(w.sum())
    return Figure(
        fid,
        title,
        "histogram",
        {
            "edges": edges.tolist(),
            "counts": counts.tolist(),
            "xlabel": xlabel,
            "log_x": log,
            "median": med,
            "n": n,
        },
        caption=caption or f"{n:,} values; median {med:,.4g}.",
    )


def _weighted_median(values: np.ndarray, counts: np.ndarray) -> float:
    """``np.median`` of ``values`` each repeated ``counts`` times, without repeating them."""
    order = np.argsort(values, kind="stable")
    v, end = values[order], np.cumsum(counts[order])
    n = int(end[-1])
    mid = np.searchsorted(end, [(n - 1) // 2, n // 2], side="right")
    return float((v[mid[0]] + v[mid[1]]) / 2)


def column(table: pa.Table | None, name: str) -> np.ndarray | None:
    return None if table is None or name not in table.column_names else numeric_values(table.column(name))


def separation(
    table: pa.Table | None, label: str, skip: Iterable[str], flagged: Iterable[str] = ()
) -> list[tuple[str, float]]:
    """Each numeric column's univariate ROC AUC against a 0/1 ``label`` (ordered by distance from 0.5)."""
    from leadforge.report.read import is_numeric
    from leadforge.testing.stats import auc

    if table is None or label not in table.column_names:
        return []
    y = label_values(table.column(label))
    ok = np.isfinite(y)
    if len(np.unique(y[ok])) < 2:
        return []
    y = y > 0.5
    out = []
    skipped = set(skip) | {label}
    for f in table.schema:
        if f.name in skipped or not is_numeric(f.type):
            continue
        x = numeric_values(table.column(f.name))
        a = auc(np.where(ok, x, np.nan), y)
        if np.isfinite(a):
            out.append((f.name, a))
    return sorted(out, key=lambda p: (-abs(p[1] - 0.5), p[0]))
