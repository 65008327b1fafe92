"""Leak probes for public bundles: what a cheating student would try, with numpy only.

Core already guarantees the structure (no withheld column or table, no row after its
cutoff). These probes look for signal that survives a correct structure: id numbers whose
order or spacing tracks the label, and per-lead aggregates of the public tables that predict
the label better than the snapshot does (see :mod:`leadforge_leadscoring.probes`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from leadforge.bundle.relational import id_converter
from leadforge.columns import parse_id_numbers
from leadforge.errors import BundleError
from leadforge.findings import Finding

from leadforge_leadscoring import probes
from leadforge_leadscoring.context import Context

#: Tables with one row per lead event (or opportunity), numbered by core per shard.
EVENT_TABLES = ("touches", "sessions", "sales_activities", "opportunities")
#: Task keys numbered from the shard plan.
TASK_KEYS = (("lead_id", "lead"), ("account_id", "acct"), ("contact_id", "cnt"))


class _Labelled:
    """The task's rows (at most ``probes.MAX_LEADS``, in split order) and their labels."""

    def __init__(self, rows: pa.Table, y: np.ndarray) -> None:
        self.rows = rows
        self.y = y
        numbers = id_converter("lead")(rows.column("lead_id").combine_chunks())
        self.numbers = numbers
        self._order = np.argsort(numbers, kind="stable")
        self._sorted = numbers[self._order]

    @property
    def noise(self) -> float:
        return 3.0 * probes.auc_noise(self.y)

    def positions(self, lead_ids: pa.ChunkedArray | pa.Array) -> np.ndarray:
        """Each row's position among the task rows (-1 for a lead the task does not hold)."""
        flat = lead_ids.combine_chunks() if isinstance(lead_ids, pa.ChunkedArray) else lead_ids
        numbers = id_converter("lead")(flat)
        if self._sorted.size == 0:
            return np.full(numbers.size, -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self._sorted, numbers), self._sorted.size - 1)
        hit = (self._sorted[pos] == numbers) & (numbers >= 0)
        return np.where(hit, self._order[pos], -1).astype(np.int64)


def _labelled(ctx: Context) -> _Labelled | None:
    rows = ctx.split_rows(limit=probes.MAX_LEADS)
    if rows is None or ctx.label not in rows.column_names or "lead_id" not in rows.column_names:
        return None
    y = np.asarray(rows.column(ctx.label).fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
    if y.all() or not y.any():
        return None
    return _Labelled(rows, y)


def _id_numbers(values: pa.ChunkedArray | pa.Array, prefix: str, where: str) -> np.ndarray:
    try:
        return parse_id_numbers(values, prefix)
    except (pa.ArrowInvalid, ValueError):
        raise BundleError(f"{where}: ids are not {prefix}_<digits>") from None


def task_id_order(ctx: Context) -> Iterator[Finding]:
    """The plan-numbered keys of the task rows: their order must carry nothing. An account's
    leads share its number and, through its latents, much of their outcome, so that key is
    judged against the noise of as many rows as there are accounts."""
    data = _labelled(ctx)
    if data is None:
        return
    for key, prefix in TASK_KEYS:
        if key not in data.rows.column_names:
            continue
        where = f"tasks/{ctx.task}:{key}"
        numbers = _id_numbers(data.rows.column(key), prefix, where)
        auc = probes.rank_auc(numbers, data.y)
        noise = probes.ID_NOISE_SD * probes.clustered_noise(data.y, numbers)
        if abs(auc - 0.5) > max(probes.ID_MARGIN, noise):
            yield Finding(
                "lead_scoring.leak",
                f"the order of {key} numbers predicts the label (rank AUC {auc:.3f})",
                where=where,
            )


def event_id_order(ctx: Context) -> Iterator[Finding]:
    """Per lead, the first id of its event rows and the gaps between them must carry nothing.

    Core numbers each shard's kept rows consecutively and the scheme groups a lead's rows, so
    a lead's ids form one run: its first id follows from the leads before it and the gap
    count (span minus rows) is zero. Either tracking the label means the numbering leaks. First
    ids that rise with the lead numbers carry only the leads' own order, which
    :func:`task_id_order` probes on every task row (a subset such as the leads with an early
    opportunity would see the shards' chance differences in accounts, which the public account
    join shows anyway).
    """
    data, contract = _labelled(ctx), ctx.manifest.contract
    if data is None or contract is None:
        return
    n = data.y.size
    for name in EVENT_TABLES:
        if name not in contract:
            continue
        key, prefix = contract[name].primary_key, contract[name].id_prefix
        batches = ctx.batches(name, ["lead_id", key])
        if batches is None:
            continue
        first = np.full(n, np.inf)
        last = np.full(n, -np.inf)
        count = np.zeros(n, dtype=np.int64)
        for batch in batches:
            owner = data.positions(batch.column(0))
            mine = owner >= 0
            numbers = _id_numbers(batch.column(1), prefix, ctx.where(name, key))[mine].astype(np.float64)
            owner = owner[mine]
            np.minimum.at(first, owner, numbers)
            np.maximum.at(last, owner, numbers)
            count += np.bincount(owner, minlength=n)
        has = count > 0
        if has.all() or not has.any() or data.y[has].all() or not data.y[has].any():
            continue
        y = data.y[has]
        noise = probes.ID_NOISE_SD * probes.auc_noise(y)
        by_lead = first[has][np.argsort(data.numbers[has], kind="stable")]
        checks = [("gaps", last[has] - first[has] + 1 - count[has])]
        if (np.diff(by_lead) < 0).any():
            checks.insert(0, ("first", first[has]))
        for what, x in checks:
            auc = probes.rank_auc(x, y)
            if abs(auc - 0.5) > max(probes.ID_MARGIN, noise):
                yield Finding(
                    "lead_scoring.leak",
                    f"per lead, the {what} of its {key} numbers predicts the label (rank AUC {auc:.3f})",
                    where=ctx.where(name, key),
                )


def public_aggregates(ctx: Context) -> Iterator[Finding]:
    """What a student's per-lead aggregates of the public tables predict, against the snapshot."""
    data = _labelled(ctx)
    if data is None:
        return
    n = data.y.size
    risky = {r["name"] for r in ctx.bundle.dictionary if r.get("leakage_risk") == "True"}
    honest = data.rows.drop_columns([c for c in data.rows.column_names if c in risky or c == ctx.label])
    baseline = probes.best(probes.columns_of(honest, np.arange(n), n, "snapshot"), data.y)
    floor = baseline.strength if baseline is not None else 0.0
    features = _aggregates(ctx, data)  # scored twice below
    top = probes.best(features, data.y)
    if top is not None and top.strength > floor + probes.AUC_MARGIN + data.noise:
        yield Finding(
            "lead_scoring.leak",
            f"a per-lead aggregate of the public tables separates the label better than any snapshot "
            f"feature (AUC {top.auc:.3f} vs {0.5 + floor:.3f})",
            where=_probe_where(ctx, top.name),
        )
    for name, support in probes.positive_markers(features, data.y):
        yield Finding(
            "lead_scoring.leak",
            f"{support} lead(s) carry this value and every one is a positive",
            where=_probe_where(ctx, name),
        )


def _aggregates(ctx: Context, data: _Labelled) -> list[tuple[str, np.ndarray]]:
    """Every per-lead aggregate a student can build from the public tables, for the task rows.

    Tables are streamed a batch at a time; only the task rows' accounts and contacts are kept.
    """
    n = data.y.size
    out: list[tuple[str, np.ndarray]] = []
    for name in ("leads", *EVENT_TABLES):
        columns = ctx.columns(name)
        if "lead_id" not in columns:
            continue
        agg = probes.Aggregates(n, name)
        rows = 0
        for batch in ctx.batches(name, ["lead_id", *(c for c in columns if probes.aggregated(c))]) or ():
            agg.add(batch, data.positions(batch.column(0)))
            rows += batch.num_rows
        if rows:
            out += agg.features()
    keys = [k for k in ("account_id", "contact_id") if k in ctx.columns("leads")]
    per_lead = _task_lead_values(ctx, data, keys)
    if per_lead is None:
        return out
    for name, key in (("accounts", "account_id"), ("contacts", "contact_id")):
        if key not in per_lead or key not in ctx.columns(name):
            continue
        joined, lead = _entity_rows(ctx, name, key, per_lead[key])
        # one row per lead: the entity's attributes as seen from that lead
        out += probes.columns_of(joined, lead, n, name)
    return out


def _entity_rows(ctx: Context, name: str, key: str, per_lead: pa.Array) -> tuple[pa.Table, np.ndarray]:
    """The ``name`` row of each task row's entity (streamed: only those rows are kept), and the
    task row each belongs to, in task-row order."""
    n = len(per_lead)
    taken = np.zeros(n, dtype=bool)
    parts: list[pa.Table] = []
    leads: list[np.ndarray] = []
    columns = [key, *(c for c in ctx.columns(name) if probes.aggregated(c))]
    for batch in ctx.batches(name, columns) or ():
        idx = pc.index_in(per_lead, value_set=batch.column(0))
        pos = np.asarray(pc.fill_null(idx, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
        hit = (pos >= 0) & ~taken
        if hit.any():
            taken |= hit
            parts.append(pa.Table.from_batches([batch.take(pa.array(pos[hit]))]))
            leads.append(np.flatnonzero(hit))
    lead = np.concatenate(leads) if leads else np.zeros(0, dtype=np.int64)
    order = np.argsort(lead, kind="stable")
    if not parts:
        return pa.table({}), lead
    joined = pa.concat_tables(parts)
    return joined.take(pa.array(order)), lead[order]


def _task_lead_values(ctx: Context, data: _Labelled, columns: Sequence[str]) -> dict[str, pa.Array] | None:
    """``columns`` of ``leads`` for each task row, in task-row order (null for a lead not found)."""
    batches = ctx.batches("leads", ["lead_id", *columns])
    if batches is None:
        return None
    n = data.y.size
    found: dict[str, list[pa.Array]] = {c: [] for c in columns}
    where: list[np.ndarray] = []
    for batch in batches:
        pos = data.positions(batch.column(0))
        mine = pos >= 0
        if not mine.any():
            continue
        where.append(pos[mine])
        keep = pa.array(mine)
        for i, c in enumerate(columns):
            found[c].append(pc.filter(batch.column(i + 1), keep))
    rows = np.concatenate(where) if where else np.zeros(0, dtype=np.int64)
    slot = np.full(n, -1, dtype=np.int64)
    slot[rows] = np.arange(rows.size)
    take = pa.array(np.where(slot >= 0, slot, 0), mask=slot < 0)
    out = {}
    for c in columns:
        values = pa.concat_arrays(found[c]) if found[c] else pa.array([], type=pa.large_string())
        out[c] = values.take(take) if len(values) else pa.nulls(n, type=pa.large_string())
    return out


def _probe_where(ctx: Context, name: str) -> str:
    """``table:column=value`` -> ``tables/table.parquet:column`` (or the table's folder)."""
    table, _, rest = name.partition(":")
    return ctx.where(table, rest.split("=", 1)[0])


PROBES: list[Callable[[Context], Iterable[Finding]]] = [task_id_order, event_id_order, public_aggregates]
