"""Leak probes for public bundles: what a cheating student would try, with numpy only.

Core already guarantees the structure (no withheld column or table, no row after its
cutoff). These probes look for signal that survives a correct structure: id numbers whose
order or spacing tracks the label, and per-lead aggregates of the public tables that predict
the label better than the snapshot does (see :mod:`leadforge_leadscoring.probes`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from leadforge.columns import parse_id_numbers
from leadforge.errors import BundleError
from leadforge.findings import Finding

from leadforge_leadscoring import probes
from leadforge_leadscoring.context import Context, table_file

#: Tables with one row per lead event (or opportunity), numbered by core per shard.
EVENT_TABLES = ("touches", "sessions", "sales_activities", "opportunities")
#: Task keys numbered from the shard plan.
TASK_KEYS = (("lead_id", "lead"), ("account_id", "acct"), ("contact_id", "cnt"))


class _Labelled:
    """The task's rows (at most ``probes.MAX_LEADS``, in split order) and their labels."""

    def __init__(self, rows: pa.Table, y: np.ndarray) -> None:
        self.rows = rows
        self.y = y
        self.lead_ids = rows.column("lead_id").combine_chunks()

    @property
    def noise(self) -> float:
        return 3.0 * probes.auc_noise(self.y)

    def positions(self, lead_ids: pa.ChunkedArray | pa.Array) -> np.ndarray:
        """Each row's position among the task rows (-1 for a lead the task does not hold)."""
        pos = pc.index_in(lead_ids, value_set=self.lead_ids).fill_null(-1)
        return np.asarray(pos.to_numpy(zero_copy_only=False), dtype=np.int64)


def _labelled(ctx: Context) -> _Labelled | None:
    rows = ctx.split_rows()
    if rows is None or ctx.label not in rows.column_names or "lead_id" not in rows.column_names:
        return None
    rows = rows.slice(0, probes.MAX_LEADS)
    y = np.asarray(rows.column(ctx.label).fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
    if y.all() or not y.any():
        return None
    return _Labelled(rows, y)


def _id_numbers(values: pa.ChunkedArray, prefix: str, where: str) -> np.ndarray:
    try:
        return parse_id_numbers(values, prefix)
    except (pa.ArrowInvalid, ValueError):
        raise BundleError(f"{where}: ids are not {prefix}_<digits>") from None


def task_id_order(ctx: Context) -> Iterator[Finding]:
    """The plan-numbered keys of the task rows: their order must carry nothing."""
    data = _labelled(ctx)
    if data is None:
        return
    for key, prefix in TASK_KEYS:
        if key not in data.rows.column_names:
            continue
        where = f"tasks/{ctx.task}:{key}"
        auc = probes.rank_auc(_id_numbers(data.rows.column(key), prefix, where), data.y)
        if abs(auc - 0.5) > max(probes.ID_MARGIN, data.noise):
            yield Finding(
                "lead_scoring.leak",
                f"the order of {key} numbers predicts the label (rank AUC {auc:.3f})",
                where=where,
            )


def event_id_order(ctx: Context) -> Iterator[Finding]:
    """Per lead, the first id of its event rows and the gaps between them must carry nothing.

    Core numbers each shard's kept rows consecutively and the scheme groups a lead's rows, so
    a lead's ids form one run: its first id follows from the leads before it and the gap
    count (span minus rows) is zero. Either tracking the label means the numbering leaks.
    """
    data, contract = _labelled(ctx), ctx.manifest.contract
    if data is None or contract is None:
        return
    n = data.y.size
    for name in EVENT_TABLES:
        if name not in contract:
            continue
        key, prefix = contract[name].primary_key, contract[name].id_prefix
        t = ctx.table(name, ["lead_id", key])
        if t is None or t.num_rows == 0 or not {"lead_id", key} <= set(t.column_names):
            continue
        owner = data.positions(t.column("lead_id"))
        mine = owner >= 0
        numbers = _id_numbers(t.column(key), prefix, table_file(name, key))[mine].astype(np.float64)
        owner = owner[mine]
        first = np.full(n, np.inf)
        last = np.full(n, -np.inf)
        np.minimum.at(first, owner, numbers)
        np.maximum.at(last, owner, numbers)
        count = np.bincount(owner, minlength=n)
        has = count > 0
        if has.all() or not has.any() or data.y[has].all() or not data.y[has].any():
            continue
        y, noise = data.y[has], 3.0 * probes.auc_noise(data.y[has])
        for what, x in (("first", first[has]), ("gaps", last[has] - first[has] + 1 - count[has])):
            auc = probes.rank_auc(x, y)
            if abs(auc - 0.5) > max(probes.ID_MARGIN, noise):
                yield Finding(
                    "lead_scoring.leak",
                    f"per lead, the {what} of its {key} numbers predicts the label (rank AUC {auc:.3f})",
                    where=table_file(name, key),
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
            where=_probe_where(top.name),
        )
    for name, support in probes.positive_markers(features, data.y):
        yield Finding(
            "lead_scoring.leak",
            f"{support} lead(s) carry this value and every one is a positive",
            where=_probe_where(name),
        )


def _aggregates(ctx: Context, data: _Labelled) -> list[tuple[str, np.ndarray]]:
    """Every per-lead aggregate a student can build from the public tables, for the task rows."""
    n = data.y.size
    out: list[tuple[str, np.ndarray]] = []
    for name in ("leads", *EVENT_TABLES):
        t = ctx.table(name)
        if t is not None and t.num_rows and "lead_id" in t.column_names:
            out += probes.columns_of(t, data.positions(t.column("lead_id")), n, name)
    leads = ctx.table("leads", ["lead_id", "account_id", "contact_id"])
    if leads is None:
        return out
    lp = data.positions(leads.column("lead_id"))
    for name, key in (("accounts", "account_id"), ("contacts", "contact_id")):
        t = ctx.table(name)
        if t is None or key not in leads.column_names or key not in t.column_names:
            continue
        owner = pc.index_in(leads.column(key), value_set=t.column(key).combine_chunks()).fill_null(-1)
        per_lead = np.full(n, -1, dtype=np.int64)
        per_lead[lp[lp >= 0]] = np.asarray(owner.to_numpy(zero_copy_only=False))[lp >= 0]
        valid = per_lead >= 0
        # one row per lead: the entity's attributes as seen from that lead
        joined = t.take(pa.array(np.where(valid, per_lead, 0)))
        out += probes.columns_of(joined, np.where(valid, np.arange(n), -1), n, name)
    return out


def _probe_where(name: str) -> str:
    """``table:column=value`` -> ``tables/table.parquet:column``."""
    table, _, rest = name.partition(":")
    return table_file(table, rest.split("=", 1)[0])


PROBES: list[Callable[[Context], Iterable[Finding]]] = [task_id_order, event_id_order, public_aggregates]
