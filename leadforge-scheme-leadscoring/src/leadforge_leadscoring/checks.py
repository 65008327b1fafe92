"""The scheme's own bundle checks (spec §10.1), on top of core's envelope checks.

Every bundle: the table contract (columns, order, dtypes, id formats), foreign keys, split
columns against the feature catalog, realism (positive rate, non-negative integer counts,
boolean flags, more than one stage) and the hidden graph when ``metadata/graph.json`` is
there. Public bundles also get the leak probes a cheating student would try: banned columns
and tables (an opportunity stage included), label reconstruction through joins, event rows
after a lead's snapshot day, and the statistical probes of :mod:`leadforge_leadscoring.probes`
(public aggregates no better than the snapshot, no value that marks only positives, id numbers
whose order carries nothing).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from leadforge.bundle.reader import BundleView, Manifest
from leadforge.bundle.splits import SPLITS
from leadforge.columns import day_offsets, parse_id_numbers
from leadforge.errors import BundleError
from leadforge.validation import Finding, guarded

from leadforge_leadscoring import probes, snapshot, tables
from leadforge_leadscoring import vocab as V
from leadforge_leadscoring.graph import graph_problems

_ARROW = {
    "string": (pa.string(), pa.large_string()),
    "Int64": (pa.int64(),),
    "Float64": (pa.float64(),),
    "boolean": (pa.bool_(),),
}
PRIMARY_KEYS = {
    "accounts": ("account_id", "acct"),
    "contacts": ("contact_id", "cnt"),
    "leads": ("lead_id", "lead"),
    "touches": ("touch_id", "touch"),
    "sessions": ("session_id", "sess"),
    "sales_activities": ("activity_id", "act"),
    "opportunities": ("opportunity_id", "opp"),
    "customers": ("customer_id", "cust"),
    "subscriptions": ("subscription_id", "sub"),
}


class _Context:
    """What the checks share: mode, label, the task's splits, lazily read."""

    def __init__(self, bundle: BundleView, manifest: Manifest) -> None:
        self.bundle = bundle
        self.manifest = manifest
        self.public = manifest.exposure_mode == "student_public"
        raw = manifest.raw
        primary = raw.get("primary_task")
        tasks = list(manifest.tasks)
        self.task = (
            primary
            if isinstance(primary, str) and primary in manifest.tasks
            else (tasks[0] if tasks else None)
        )
        tm_rel = f"tasks/{self.task}/task_manifest.json"
        tm = bundle.json(tm_rel) if self.task and bundle.exists(tm_rel) else {}
        label = tm.get("label_column") if isinstance(tm, dict) else None
        self.label = label if isinstance(label, str) else (self.task or V.DEFAULT_TASK)
        snap = raw.get("snapshot_day")
        self.snapshot_day = snap if isinstance(snap, int) and not isinstance(snap, bool) else None
        window = raw.get("label_window_days")
        self.label_window = window if isinstance(window, int) and not isinstance(window, bool) else 90
        self.window = self.snapshot_day if self.snapshot_day is not None else raw.get("horizon_days", 90)

    def table(self, name: str, columns: Sequence[str] | None = None) -> pa.Table | None:
        """Those of ``columns`` the table has, or all (None if the table is absent)."""
        rel = f"tables/{name}.parquet"
        return self.bundle.read_parquet(rel, columns) if self.bundle.exists(rel) else None

    def schema(self, name: str) -> pa.Schema | None:
        rel = f"tables/{name}.parquet"
        return self.bundle.schema(rel) if self.bundle.exists(rel) else None

    def split_rows(self, columns: Sequence[str] | None = None) -> pa.Table | None:
        if self.task is None:
            return None
        parts = []
        for s in SPLITS:
            rel = f"tasks/{self.task}/{s}.parquet"
            if self.bundle.exists(rel):
                parts.append(self.bundle.read_parquet(rel, columns))
        return pa.concat_tables(parts, promote_options="default") if parts else None


def run(bundle: BundleView, manifest: Manifest) -> list[Finding]:
    ctx = _Context(bundle, manifest)
    findings: list[Finding] = []
    checks = [_contract, _foreign_keys, _split_columns, _realism, _graph]
    if ctx.public:
        checks += [_banned, _reconstruction, _snapshot_window, _signal]
    for check in checks:
        findings.extend(guarded("lead_scoring." + check.__name__.strip("_"), check, ctx))
    return findings


def _where(table: str, column: str | None = None) -> str:
    return f"tables/{table}.parquet" + (f":{column}" if column else "")


def _contract(ctx: _Context) -> Iterator[Finding]:
    redacted = set(ctx.manifest.raw.get("redacted_columns") or [])
    expected = tables.public_schemas(ctx.label) if ctx.public else tables.schemas(ctx.label)
    for name in tables.TABLE_ORDER:
        found = ctx.schema(name)
        if name not in expected:
            continue
        if found is None:
            yield Finding("lead_scoring.contract", "table is missing", where=_where(name))
            continue
        schema = expected[name].without(redacted)
        if found.names != schema.names:
            yield Finding(
                "lead_scoring.contract",
                f"columns {found.names} differ from the contract {schema.names}",
                where=_where(name),
            )
            continue
        for col in schema.columns:
            if found.field(col.name).type not in _ARROW[col.dtype]:
                yield Finding(
                    "lead_scoring.contract",
                    f"dtype {found.field(col.name).type} is not {col.dtype}",
                    where=_where(name, col.name),
                )
        key, prefix = PRIMARY_KEYS[name]
        ids = ctx.bundle.read_parquet(_where(name), [key]).column(key)
        bad = pc.sum(pc.invert(pc.match_substring_regex(ids, rf"^{prefix}_\d{{6,}}$"))).as_py() or 0
        if bad:
            yield Finding(
                "lead_scoring.contract", f"{bad} id(s) are not {prefix}_NNNNNN", where=_where(name, key)
            )
        if pc.count_distinct(ids).as_py() != len(ids):
            yield Finding("lead_scoring.contract", "primary key has duplicates", where=_where(name, key))


def _foreign_keys(ctx: _Context) -> Iterator[Finding]:
    omitted = (
        set(tables.PUBLIC_OMITTED) if ctx.manifest.raw.get("relational_snapshot_safe") is True else set()
    )
    for child, col, parent, pcol in tables.FOREIGN_KEYS:
        c, p = ctx.table(child, [col]), ctx.table(parent, [pcol])
        if c is None or p is None:
            missing = child if c is None else parent
            if missing not in omitted:
                yield Finding(
                    "lead_scoring.fk", f"cannot check {child}.{col} -> {parent}.{pcol}: {missing} is missing"
                )
            continue
        if col not in c.column_names or pcol not in p.column_names:
            continue
        values = c.column(col).drop_null()
        orphan = pc.invert(pc.is_in(values, value_set=p.column(pcol).combine_chunks()))
        n = pc.sum(orphan).as_py() or 0
        if n:
            examples = values.filter(orphan).slice(0, 3).to_pylist()
            yield Finding(
                "lead_scoring.fk",
                f"{n} value(s) not in {parent}.{pcol}, e.g. {examples}",
                where=_where(child, col),
            )


def _catalog_names(ctx: _Context) -> list[str]:
    return [f.name for f in snapshot.catalog(ctx.label, 0, ctx.label_window)]


def _split_columns(ctx: _Context) -> Iterator[Finding]:
    known = set(_catalog_names(ctx))
    for s in SPLITS:
        rel = f"tasks/{ctx.task}/{s}.parquet"
        if ctx.task is None or not ctx.bundle.exists(rel):
            continue
        extra = [c for c in ctx.bundle.schema(rel).names if c not in known]
        if extra:
            yield Finding("lead_scoring.splits", f"columns outside the feature catalog: {extra}", where=rel)


def _realism(ctx: _Context) -> Iterator[Finding]:
    rel = f"tasks/{ctx.task}/train.parquet"
    if ctx.task is not None and ctx.bundle.exists(rel):
        train = ctx.bundle.read_parquet(rel, [ctx.label])
        if ctx.label in train.column_names and train.num_rows:
            rate = float(
                np.mean(np.asarray(train.column(ctx.label).to_numpy(zero_copy_only=False), dtype=float))
            )
            if not 0.01 <= rate <= 0.95:
                yield Finding(
                    "lead_scoring.realism",
                    f"positive rate {rate:.4f} is suspiciously {'low' if rate < 0.01 else 'high'}",
                    where=f"{rel}:{ctx.label}",
                )
    for name in ("accounts", "contacts", "leads"):
        rel = _where(name)
        if ctx.bundle.exists(rel) and ctx.bundle.parquet_rows(rel) == 0:
            yield Finding("lead_scoring.realism", "table is empty", where=_where(name))
    catalog = snapshot.catalog(ctx.label, 0, ctx.label_window)
    for s in SPLITS:
        srel = f"tasks/{ctx.task}/{s}.parquet"
        if ctx.task is None or not ctx.bundle.exists(srel):
            continue
        split = ctx.bundle.schema(srel)
        for f in catalog:
            if f.name not in split.names:
                continue
            typ = split.field(f.name).type
            if f.dtype == "boolean" and typ != pa.bool_():
                yield Finding(
                    "lead_scoring.realism", f"declared boolean, stored {typ}", where=f"{srel}:{f.name}"
                )
            if f.dtype == "Int64":
                if typ != pa.int64():
                    yield Finding(
                        "lead_scoring.realism", f"declared Int64, stored {typ}", where=f"{srel}:{f.name}"
                    )
                elif (pc.min(ctx.bundle.read_parquet(srel, [f.name]).column(f.name)).as_py() or 0) < 0:
                    yield Finding("lead_scoring.realism", "negative count", where=f"{srel}:{f.name}")
    leads = ctx.table("leads", ["current_stage"])
    if (
        leads is not None
        and "current_stage" in leads.column_names
        and pc.count_distinct(leads.column("current_stage")).as_py() < 2
    ):
        yield Finding(
            "lead_scoring.realism", "fewer than 2 distinct stages", where=_where("leads", "current_stage")
        )


def _graph(ctx: _Context) -> Iterator[Finding]:
    rel = "metadata/graph.json"
    if not ctx.bundle.exists(rel):
        return
    g = ctx.bundle.json(rel)
    try:
        nodes = [(n["node_id"], n["node_type"]) for n in g["nodes"]]
        edges = [(e["source"], e["target"]) for e in g["edges"]]
        weights = [float(e["weight"]) for e in g["edges"]]
    except (KeyError, TypeError, ValueError) as exc:
        yield Finding("lead_scoring.graph", f"malformed graph: {exc!r}", where=rel)
        return
    for problem in graph_problems(nodes, edges):
        yield Finding("lead_scoring.graph", problem, where=rel)
    if any(not -1.0 <= w <= 1.0 for w in weights):
        yield Finding("lead_scoring.graph", "edge weights must lie in [-1, 1]", where=rel)
    declared = ctx.manifest.raw.get("motif_family")
    if declared is not None and declared != g.get("motif_family"):
        yield Finding(
            "lead_scoring.graph",
            f"motif_family {g.get('motif_family')!r} differs from the manifest's {declared!r}",
            where=rel,
        )


def _banned(ctx: _Context) -> Iterator[Finding]:
    banned = {
        "leads": {ctx.label, V.DEFAULT_TASK, "conversion_timestamp", "current_stage", "is_sql"},
        "opportunities": set(tables.PUBLIC_OPPORTUNITY_DROPS),
    }
    for name, cols in banned.items():
        found = ctx.schema(name)
        for col in sorted(cols & set(found.names if found is not None else ())):
            yield Finding(
                "lead_scoring.leak", "label-revealing column in a public table", where=_where(name, col)
            )
    for name in tables.PUBLIC_OMITTED:
        if ctx.bundle.exists(f"tables/{name}.parquet"):
            yield Finding("lead_scoring.leak", "outcome table in a public bundle", where=_where(name))


def _reconstruction(ctx: _Context) -> Iterator[Finding]:
    """Join paths a student could follow from a lead to an outcome: each must flag no lead."""
    opps = ctx.table("opportunities", ["lead_id", "opportunity_id", "close_outcome"])
    customers = ctx.table("customers", ["opportunity_id", "customer_id"])
    subs = ctx.table("subscriptions", ["customer_id"])
    if opps is not None and "close_outcome" in opps.column_names:
        won = pc.equal(opps.column("close_outcome"), "closed_won").fill_null(False)
        n = pc.count_distinct(opps.column("lead_id").filter(won)).as_py()
        if n:
            yield Finding(
                "lead_scoring.leak",
                f"path B: {n} lead(s) have a closed_won outcome",
                where=_where("opportunities", "close_outcome"),
            )
    if customers is not None and opps is not None:
        n = pc.sum(
            pc.is_in(
                opps.column("opportunity_id"), value_set=customers.column("opportunity_id").combine_chunks()
            )
        ).as_py()
        if n:
            yield Finding(
                "lead_scoring.leak",
                f"path C: {n} lead(s) reach a customer",
                where=_where("customers", "opportunity_id"),
            )
    if subs is not None and customers is not None:
        n = pc.sum(
            pc.is_in(customers.column("customer_id"), value_set=subs.column("customer_id").combine_chunks())
        ).as_py()
        if n:
            yield Finding(
                "lead_scoring.leak",
                f"path D: {n} customer(s) reach a subscription",
                where=_where("subscriptions", "customer_id"),
            )


def _lead_days(ctx: _Context) -> tuple[pa.Array, np.ndarray]:
    leads = ctx.table("leads", ["lead_id", "lead_created_at"])
    if leads is None or "lead_id" not in leads.column_names or "lead_created_at" not in leads.column_names:
        raise BundleError("tables/leads.parquet: lead_id and lead_created_at are needed for the leak probes")
    ids = leads.column("lead_id").combine_chunks()
    if pc.count_distinct(ids).as_py() != len(ids):
        raise BundleError("tables/leads.parquet:lead_id has duplicate lead ids")
    created = leads.column("lead_created_at")
    if created.null_count:
        raise BundleError("tables/leads.parquet:lead_created_at has nulls")
    try:
        return ids, day_offsets(created, V.BASE_DATE)
    except (pa.ArrowInvalid, ValueError) as exc:
        raise BundleError(f"tables/leads.parquet:lead_created_at is not a YYYY-MM-DD date: {exc}") from None


def _snapshot_window(ctx: _Context) -> Iterator[Finding]:
    """Every public event row must lie on or before its lead's snapshot day."""
    if ctx.snapshot_day is None:
        yield Finding(
            "lead_scoring.leak",
            "snapshot_day is missing from the manifest: the window probe cannot run",
            where="manifest.json",
        )
        return
    ids, created = _lead_days(ctx)
    for name, (ts, _key) in tables.EVENT_TABLES.items():
        t = ctx.table(name, ["lead_id", ts])
        if t is None or t.num_rows == 0:
            continue
        pos = pc.index_in(t.column("lead_id"), value_set=ids)
        if pos.null_count:
            yield Finding(
                "lead_scoring.leak",
                f"{pos.null_count} row(s) name an unknown lead",
                where=_where(name, "lead_id"),
            )
            continue
        try:
            day = day_offsets(t.column(ts), V.BASE_DATE)
        except (pa.ArrowInvalid, ValueError):
            yield Finding("lead_scoring.leak", "timestamps are not YYYY-MM-DD dates", where=_where(name, ts))
            continue
        late = day - created[np.asarray(pos.to_numpy(zero_copy_only=False))] > ctx.snapshot_day
        if late.any():
            yield Finding(
                "lead_scoring.leak",
                f"{int(late.sum())} of {late.size} row(s) fall after the lead's "
                f"snapshot day {ctx.snapshot_day}",
                where=_where(name, ts),
            )


def _signal(ctx: _Context) -> Iterator[Finding]:
    """What a student's per-lead aggregates of the public tables predict, against the snapshot."""
    rows = ctx.split_rows()
    if rows is None or ctx.label not in rows.column_names or "lead_id" not in rows.column_names:
        return
    rows = rows.slice(0, probes.MAX_LEADS)
    y = np.asarray(rows.column(ctx.label).fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
    n = y.size
    if y.all() or not y.any():
        return
    noise = 3.0 * probes.auc_noise(y)
    for key, prefix in (("lead_id", "lead"), ("account_id", "acct"), ("contact_id", "cnt")):
        if key not in rows.column_names:
            continue
        auc = probes.rank_auc(parse_id_numbers(rows.column(key), prefix), y)
        if abs(auc - 0.5) > max(probes.ID_MARGIN, noise):
            yield Finding(
                "lead_scoring.leak",
                f"the order of {key} numbers predicts the label (rank AUC {auc:.3f})",
                where=f"tasks/{ctx.task}:{key}",
            )
    risky = {r["name"] for r in ctx.bundle.dictionary if r.get("leakage_risk") == "True"}
    honest = rows.drop_columns([c for c in rows.column_names if c in risky or c == ctx.label])
    baseline = probes.best(probes.columns_of(honest, np.arange(n), n, "snapshot"), y)
    floor = baseline.strength if baseline is not None else 0.0

    features = _public_aggregates(ctx, rows.column("lead_id").combine_chunks())  # scored twice below
    top = probes.best(features, y)
    if top is not None and top.strength > floor + probes.AUC_MARGIN + noise:
        yield Finding(
            "lead_scoring.leak",
            f"a per-lead aggregate of the public tables separates the label better than any snapshot "
            f"feature (AUC {top.auc:.3f} vs {0.5 + floor:.3f})",
            where=_probe_where(top.name),
        )
    for name, support in probes.positive_markers(features, y):
        yield Finding(
            "lead_scoring.leak",
            f"{support} lead(s) carry this value and every one is a positive",
            where=_probe_where(name),
        )


def _public_aggregates(ctx: _Context, lead_ids: pa.Array) -> list[tuple[str, np.ndarray]]:
    """Every per-lead aggregate a student can build from the public tables, for ``lead_ids``."""
    n = len(lead_ids)
    out: list[tuple[str, np.ndarray]] = []
    for name in ("leads", *tables.EVENT_TABLES):
        t = ctx.table(name)
        if t is not None and t.num_rows and "lead_id" in t.column_names:
            pos = pc.index_in(t.column("lead_id"), value_set=lead_ids).fill_null(-1)
            out += probes.columns_of(t, np.asarray(pos.to_numpy(zero_copy_only=False)), n, name)
    leads = ctx.table("leads", ["lead_id", "account_id", "contact_id"])
    if leads is None:
        return out
    lp = np.asarray(pc.index_in(leads.column("lead_id"), value_set=lead_ids).fill_null(-1).to_numpy())
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
    return _where(table, rest.split("=", 1)[0])
