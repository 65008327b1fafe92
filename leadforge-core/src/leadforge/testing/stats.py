"""The few statistics the structural leak checks need, in numpy alone.

Every leak probe asks one question: does a quantity that should carry no information (a row's
position, an id number, an id gap, whether an entity has rows in a table) predict a binary
label? The answer is a rank-based AUC (the Mann-Whitney statistic, ties counted half), which
is 0.5 for an uninformative score whatever its distribution.

How far from 0.5 an uninformative score may land by chance depends on the class counts: under
the null, with ``n1`` positives and ``n0`` negatives and no ties, the AUC has standard deviation
``sqrt((n1 + n0 + 1) / (12 * n1 * n0))`` (ties only shrink it). :func:`auc_tolerance` allows
:data:`Z` of those, and never less than :data:`FLOOR`. With balanced classes that is
``max(0.03, 2.3 / sqrt(n))``: about ±0.05 at 2,000 rows, ±0.03 from 6,000 rows on; rarer
classes widen it automatically (±0.09 at 2,000 rows with a 5 % base rate). A fixed ±0.03 at
2,000 balanced rows would be 2.3 standard deviations, so a clean scheme probed a few dozen
times would fail by chance more often than not; four standard deviations put the chance of
one false alarm per probe near 6e-5.

Rows sorted by an artefact may also start or end with a run of one class. Under a random order
each row of such a run has its class with probability about that class's share (over all
rows, or over the rows of about the same time, see :func:`time_groups`), so a run's chance is
the product of those shares; runs rarer than :data:`RUN_ALPHA` are flagged.
"""

from __future__ import annotations

import math

import numpy as np

from leadforge.scoring import auc, average_ranks

__all__ = [
    "FLOOR",
    "RUN_ALPHA",
    "Z",
    "auc",
    "auc_tolerance",
    "average_ranks",
    "binarise",
    "class_shares",
    "edge_runs",
    "quantile_bins",
    "run_surprise",
    "stratified_auc",
    "time_groups",
]

#: Standard deviations of the null AUC an uninformative score may deviate by.
Z = 4.0
#: The tolerance never shrinks below this, however large the sample.
FLOOR = 0.03
#: A head or tail run of one class this improbable under a random order is flagged.
RUN_ALPHA = 1e-6


def auc_tolerance(label: np.ndarray) -> float:
    """How far from 0.5 an uninformative score's AUC may land by chance (see the module doc)."""
    y = np.asarray(label, dtype=bool)
    n1 = int(np.count_nonzero(y))
    n0 = y.size - n1
    if n1 == 0 or n0 == 0:
        return math.inf
    sd = math.sqrt((n1 + n0 + 1) / (12.0 * n1 * n0))
    return max(FLOOR, Z * sd)


def binarise(values: np.ndarray) -> np.ndarray | None:
    """A binary label from any numeric one: ``True``/``1`` as is, else "above the median".

    ``None`` when the values do not split into two classes at all.
    """
    v = np.asarray(values)
    if v.dtype == bool:
        y = v
    else:
        v = v.astype(np.float64)
        if v.size == 0 or np.isnan(v).any():
            return None
        if np.isin(v, (0.0, 1.0)).all():
            y = v == 1.0
        else:
            median = float(np.median(v))
            y = v > median
            if y.all() or not y.any():
                y = v >= median
    return y if 0 < np.count_nonzero(y) < y.size else None


def edge_runs(label: np.ndarray) -> tuple[int, int]:
    """Lengths of the single-class runs the sequence starts and ends with."""
    y = np.asarray(label, dtype=bool)
    if y.size == 0:
        return 0, 0
    change = np.flatnonzero(y[1:] != y[:-1])
    if change.size == 0:
        return y.size, y.size
    return int(change[0] + 1), int(y.size - change[-1] - 1)


def time_groups(values: np.ndarray, min_rows: int = 30) -> np.ndarray:
    """Groups of consecutive time values holding at least ``min_rows`` rows each (a day with
    enough rows is its own group; finer times are pooled with their neighbours); NaN gets -1."""
    v = np.asarray(values, dtype=np.float64)
    out = np.full(v.size, -1, dtype=np.int64)
    known = ~np.isnan(v)
    if not known.any():
        return out
    distinct, inverse, counts = np.unique(v[known], return_inverse=True, return_counts=True)
    group = np.empty(distinct.size, dtype=np.int64)
    current = filled = 0
    for i, c in enumerate(counts):
        group[i] = current
        filled += int(c)
        if filled >= min_rows:
            current, filled = current + 1, 0
    if filled and current:  # a short last group joins the one before it
        group[group == current] = current - 1
    out[known] = group[inverse]
    return out


def class_shares(label: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Per row, the share its own class holds among the rows of its group."""
    y = np.asarray(label, dtype=bool)
    codes = np.unique(groups, return_inverse=True)[1]
    size = np.bincount(codes)
    positive = np.bincount(codes, weights=y.astype(np.float64))
    share_pos = positive[codes] / size[codes]
    return np.where(y, share_pos, 1.0 - share_pos)


def run_surprise(shares: np.ndarray) -> float:
    """``-log10`` of the chance that a random order (keeping each group's class mix) gives a
    run of rows whose own-class shares are ``shares``: their product, about."""
    return float(-np.log10(np.asarray(shares, dtype=np.float64)).sum())


#: A run rarer than ``RUN_ALPHA`` is flagged: its surprise exceeds this many powers of ten.
RUN_SURPRISE = -math.log10(RUN_ALPHA)


def quantile_bins(values: np.ndarray, max_bins: int = 20, min_per_bin: int = 50) -> np.ndarray:
    """Equal-count bins of ``values`` (ties share a bin; NaN gets bin -1)."""
    v = np.asarray(values, dtype=np.float64)
    out = np.full(v.size, -1, dtype=np.int64)
    known = ~np.isnan(v)
    n = int(np.count_nonzero(known))
    if n:
        bins = max(1, min(max_bins, n // min_per_bin))
        out[known] = np.floor((average_ranks(v[known]) - 1) * bins / n).astype(np.int64)
    return out


def stratified_auc(score: np.ndarray, label: np.ndarray, strata: np.ndarray) -> tuple[float, float]:
    """The AUC over pairs within one stratum only, and its null tolerance.

    Comparing a positive and a negative only when they share a stratum (a bin of a public
    column) asks whether the score carries anything beyond that column. NaN (and an infinite
    tolerance) when no stratum holds both classes.
    """
    s = np.asarray(score, dtype=np.float64)
    y = np.asarray(label, dtype=bool)
    u = pairs = var = 0.0
    for stratum in np.unique(strata):
        m = (strata == stratum) & ~np.isnan(s)
        n1 = int(np.count_nonzero(y[m]))
        n0 = int(np.count_nonzero(m)) - n1
        if n1 == 0 or n0 == 0:
            continue
        u += auc(s[m], y[m]) * n1 * n0
        pairs += n1 * n0
        var += n1 * n0 * (n1 + n0 + 1) / 12.0
    if pairs == 0:
        return math.nan, math.inf
    return u / pairs, max(FLOOR, Z * math.sqrt(var) / pairs)
