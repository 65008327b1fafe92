"""The lifecycle scheme's own bundle checks (core checks the envelope).

* **contract** — the six tables and every task split have exactly the columns and dtypes of
  their schema for the exposure mode; the task set matches the mode;
* **keys** — primary keys unique, foreign keys resolve, one subscription per customer;
* **event chain** — every customer's events chain MRR from ``initial_mrr`` (each event starts
  where the previous ended; expansions raise, contractions lower, churn ends at 0 and nothing
  follows it) and, in instructor bundles, end on the subscription's terminal values;
* **invoice chain** — every invoice bills the MRR in effect when it was issued, every failed,
  recovered or written-off invoice has its payment events, and (instructor) the revenue targets
  equal the invoices they sum;
* **snapshots** — every integer and categorical feature of every task row is recomputed from
  the relational rows dated on or before the row's cutoff (distortions may only blank a cell),
  so a feature built from later rows is caught; the cohort is exactly the customers alive at
  the cutoff;
* **splits** — each split carries its own label and no other target;
* **public shape and leak probes** — no relational row dated after the observation date, no
  invoice status decided after it, no target or outcome column in any table, no early tasks,
  no early regime described on the card.

Every finding names the file and, where it can, the column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from leadforge.bundle.reader import BundleView, Manifest
from leadforge.bundle.splits import SPLITS
from leadforge.columns import day_offsets, id_array, parse_id_numbers
from leadforge.enums import ExposureMode
from leadforge.errors import BundleError
from leadforge.schema import TableSchema
from leadforge.validation import Finding, guarded

from leadforge_lifecycle.calendar import CHURN_WINDOW_DAYS
from leadforge_lifecycle.catalog import (
    CALENDAR,
    CATALOG,
    CHURN_TARGET,
    EARLY,
    REGIMES,
    TARGETS,
    TRAPS,
    Regime,
    task_schema,
    tasks,
)
from leadforge_lifecycle.engine import EVENT_TYPES, INVOICE_STATUSES
from leadforge_lifecycle.hazards import next_renewal_week
from leadforge_lifecycle.population import PLAN_MRR, PLANS
from leadforge_lifecycle.tables import SUBSCRIPTION_OUTCOME_COLUMNS, TABLE_ORDER, schemas

#: Columns that reveal a label or an outcome; none may appear in a public table, and only the
#: instructor ``subscriptions`` may carry the outcome ones.
OUTCOME_COLUMNS = frozenset(SUBSCRIPTION_OUTCOME_COLUMNS)
LABEL_COLUMNS = frozenset(TARGETS)
#: Outcome columns whose name never denotes a cutoff-bounded feature.
CHURN_OUTCOMES = frozenset({"subscription_status", "subscription_end_at", "churn_at", "churn_reason"})
EXACT_FEATURES = (
    "tenure_weeks",
    "initial_mrr",
    "current_mrr",
    "mrr_change_at_snapshot",
    "renewal_count",
    "expansion_count",
    "contract_term_months",
    "weeks_to_next_renewal",
    "support_ticket_count_l12w",
    "last_nps_score",
    "payment_failure_count",
    "weeks_since_last_payment_failure",
    "downgrade_count",
)
CATEGORICAL_FEATURES = ("account_id", "initial_plan", "current_plan")
EVENT_CODE = {name: i for i, name in enumerate(EVENT_TYPES)}
STATUS_CODE = {name: i for i, name in enumerate(INVOICE_STATUSES)}
NEVER = 10**9
NONE = np.iinfo(np.int64).min


def run(bundle: BundleView, manifest: Manifest) -> list[Finding]:
    ctx = _Context(bundle, manifest)
    findings = guarded("lifecycle.contract", _contract, ctx)
    findings += guarded("lifecycle.leak", _leak_columns, ctx)
    if findings:
        return findings  # the deeper checks need the contract to hold
    checks: list[tuple[str, Callable[[_Context], Iterator[Finding]]]] = [
        ("lifecycle.keys", _keys),
        ("lifecycle.event_chain", _event_chain),
        ("lifecycle.invoice_chain", _invoice_chain),
        ("lifecycle.snapshot", _snapshots),
        ("lifecycle.splits", _splits),
        ("lifecycle.leak", _public),
    ]
    for name, check in checks:
        findings.extend(guarded(name, check, ctx))
    return findings


def _table_rel(name: str) -> str:
    return f"tables/{name}.parquet"


@dataclass
class _Frame:
    """Numpy views of the relational columns the checks need (dates as days from the cutoff)."""

    cust: np.ndarray
    day: np.ndarray
    cols: dict[str, np.ndarray]
    null: dict[str, np.ndarray]


Converter = Callable[[pa.Array], np.ndarray]


class _Context:
    def __init__(self, bundle: BundleView, manifest: Manifest) -> None:
        self.bundle = bundle
        self.manifest = manifest
        self.public = manifest.exposure_mode == ExposureMode.STUDENT_PUBLIC.value
        raw = manifest.raw
        try:
            self.observation = dt.date.fromisoformat(str(raw.get("observation_date")))
            self.early_weeks = int(raw.get("early_tenure_weeks", 0))
        except (TypeError, ValueError):
            raise BundleError(
                "manifest.json: observation_date / early_tenure_weeks missing or malformed"
            ) from None
        self.regimes: tuple[Regime, ...] = (CALENDAR,) if self.public else REGIMES

    def schema(self, name: str) -> pa.Schema:
        rel = _table_rel(name)
        try:
            return pq.read_schema(self.bundle.path(rel))
        except FileNotFoundError:
            raise BundleError(f"missing file: {rel}") from None
        except (OSError, pa.ArrowException) as exc:
            raise BundleError(f"{rel} is not a readable Parquet file: {exc}") from None

    def split_schema(self, rel: str) -> pa.Schema:
        try:
            return pq.read_schema(self.bundle.path(rel))
        except (OSError, pa.ArrowException) as exc:
            raise BundleError(f"{rel} is not a readable Parquet file: {exc}") from None

    def read(self, name: str, columns: list[str] | None = None) -> pa.Table:
        rel = _table_rel(name)
        try:
            return pq.read_table(self.bundle.path(rel), columns=columns)
        except FileNotFoundError:
            raise BundleError(f"missing file: {rel}") from None
        except (OSError, pa.ArrowException) as exc:
            raise BundleError(f"{rel} is not a readable Parquet file: {exc}") from None

    def load(self, name: str, spec: dict[str, tuple[str, Converter]]) -> dict[str, np.ndarray]:
        """Columns of a table converted to numpy batch by batch, so the Arrow data of a large table
        never sits in memory whole. ``spec`` maps an output name to (column, converter)."""
        rel = _table_rel(name)
        parts: dict[str, list[np.ndarray]] = {k: [] for k in spec}
        columns = sorted({col for col, _ in spec.values()})
        try:
            for batch in pq.ParquetFile(self.bundle.path(rel)).iter_batches(
                batch_size=1 << 20, columns=columns
            ):
                for out, (col, convert) in spec.items():
                    parts[out].append(convert(batch.column(col)))
        except (OSError, pa.ArrowException) as exc:
            raise BundleError(f"{rel} is not a readable Parquet file: {exc}") from None
        return {k: np.concatenate(v) if v else np.zeros(0, dtype=np.int64) for k, v in parts.items()}

    def day(self, values: pa.Array) -> np.ndarray:
        """ISO dates as days from the observation date (parsed once per distinct date)."""
        encoded = pc.dictionary_encode(values)
        labels = day_offsets(encoded.dictionary, self.observation)
        return np.asarray(labels[np.asarray(encoded.indices)], dtype=np.int64)

    def days(self, values: pa.ChunkedArray) -> np.ndarray:
        return self.day(values.combine_chunks())

    @cached_property
    def customers(self) -> _Frame:
        t = self.load(
            "customers",
            {
                "cust": ("customer_id", _id("cust")),
                "day": ("customer_start_at", self.day),
                "account": ("account_id", _id("acct")),
                "initial_mrr": ("initial_mrr", _int),
                "term": ("contract_term_months", _int),
                "plan": ("initial_plan", _code({p: i for i, p in enumerate(PLANS)})),
            },
        )
        return _Frame(t.pop("cust"), t.pop("day"), t, {})

    @cached_property
    def events(self) -> _Frame:
        t = self.load(
            "subscription_events",
            {
                "cust": ("customer_id", _id("cust")),
                "day": ("event_timestamp", self.day),
                "id": ("event_id", _id("subev")),
                "sub": ("subscription_id", _id("sub")),
                "kind": ("event_type", _code(EVENT_CODE)),
                "before": ("mrr_before", _int),
                "after": ("mrr_after", _int),
                "term": ("contract_term_months_new", _int),
                "term_null": ("contract_term_months_new", _null),
            },
        )
        return _Frame(t.pop("cust"), t.pop("day"), t, {"term": t.pop("term_null")})

    @cached_property
    def invoices(self) -> _Frame:
        t = self.load(
            "invoices",
            {
                "cust": ("customer_id", _id("cust")),
                "day": ("invoice_date", self.day),
                "id": ("invoice_id", _id("inv")),
                "amount": ("amount_usd", _int),
                "status": ("payment_status", _code(STATUS_CODE)),
            },
        )
        return _Frame(t.pop("cust"), t.pop("day"), t, {})

    @cached_property
    def health(self) -> _Frame:
        t = self.load(
            "health_signals",
            {
                "cust": ("customer_id", _compact(_id("cust"))),
                "day": ("period_start", _compact(self.day)),
                "id": ("signal_id", _id("hsig")),
                "tickets": ("support_tickets", _compact(_int)),
                "nps": ("nps_score", _compact(_int)),
                "nps_null": ("nps_score", _null),
            },
        )
        return _Frame(t.pop("cust"), t.pop("day"), t, {"nps": t.pop("nps_null")})

    @cached_property
    def churn_day(self) -> np.ndarray:
        """Each customer's churn date (days from the observation date); far future if none."""
        ev = self.events
        churn = ev.cols["kind"] == EVENT_CODE["churn"]
        out = np.full(self.customers.cust.size, NEVER, dtype=np.int64)
        out[self.customer_index(ev.cust[churn])] = ev.day[churn]
        return out

    def customer_index(self, numbers: np.ndarray) -> np.ndarray:
        """Row of each customer number in ``customers`` (``-1`` if unknown)."""
        c = self.customers.cust
        if c.size == 0:
            return np.full(numbers.size, -1, dtype=np.int64)
        order = np.argsort(c, kind="stable")
        pos = np.minimum(np.searchsorted(c[order], numbers), c.size - 1)
        return np.where(c[order][pos] == numbers, order[pos], -1)


def _id(prefix: str) -> Converter:
    """``<prefix>_<n>`` ids as their integer counters; anything else is a malformed bundle."""

    def convert(values: pa.Array) -> np.ndarray:
        ok = pc.all(pc.starts_with(values, prefix + "_")).as_py()
        if values.null_count or ok is False:
            raise BundleError(f"ids without the {prefix}_ prefix (or null ids) in a {prefix} id column")
        return parse_id_numbers(values, prefix)

    return convert


def _compact(convert: Converter) -> Converter:
    """The same values as int32: the health table has one row per customer-week."""
    return lambda values: convert(values).astype(np.int32)


def _int(values: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(values, 0).to_numpy(zero_copy_only=False), dtype=np.int64)


def _null(values: pa.Array) -> np.ndarray:
    return np.asarray(values.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def _code(vocab: dict[str, int]) -> Converter:
    """Strings as codes into ``vocab`` (``-1`` for anything unknown)."""

    def convert(values: pa.Array) -> np.ndarray:
        encoded = pc.dictionary_encode(values)
        lookup = np.array([vocab.get(v, -1) if v is not None else -1 for v in encoded.dictionary.to_pylist()])
        idx = np.asarray(encoded.indices.to_numpy(zero_copy_only=False))
        return lookup[idx].astype(np.int64) if lookup.size else np.zeros(idx.size, dtype=np.int64)

    return convert


def _plan_codes(values: pa.ChunkedArray) -> np.ndarray:
    return _code({p: i for i, p in enumerate(PLANS)})(values.combine_chunks())


# -- contract ----------------------------------------------------------------------------------


def _contract(ctx: _Context) -> Iterator[Finding]:
    expected = schemas(ctx.public)
    for name in TABLE_ORDER:
        rel = _table_rel(name)
        if not ctx.bundle.exists(rel):
            yield Finding("lifecycle.contract", "table is missing", where=rel)
            continue
        yield from _schema_findings(ctx.schema(name), expected[name], rel)
    want = {spec.task_id: spec for regime in ctx.regimes for spec in tasks(regime)}
    have = set(ctx.manifest.tasks)
    for task_id in sorted(set(want) - have):
        yield Finding("lifecycle.contract", "task is missing", where=f"tasks/{task_id}")
    for task_id in sorted(have - set(want)):
        yield Finding(
            "lifecycle.contract",
            f"unexpected task for a {ctx.manifest.exposure_mode} bundle",
            where=f"tasks/{task_id}",
        )
    for task_id, spec in want.items():
        tm_rel = f"tasks/{task_id}/task_manifest.json"
        if ctx.bundle.exists(tm_rel):
            tm = ctx.bundle.json(tm_rel)
            for key in ("task_type", "label_column", "label_window_days"):
                if isinstance(tm, dict) and tm.get(key) != getattr(spec, key):
                    yield Finding(
                        "lifecycle.contract",
                        f"{key} is {tm.get(key)!r}, expected {getattr(spec, key)!r}",
                        where=tm_rel,
                    )
        for split in SPLITS:
            rel = f"tasks/{task_id}/{split}.parquet"
            if ctx.bundle.exists(rel):
                yield from _schema_findings(ctx.split_schema(rel), task_schema(spec.label_column), rel)


def _schema_findings(actual: pa.Schema, expected: TableSchema, rel: str) -> Iterator[Finding]:
    names = list(actual.names)
    for name in expected.names:
        if name not in names:
            yield Finding("lifecycle.contract", "column is missing", where=f"{rel}:{name}")
    for name in names:
        if name not in expected.names:
            yield Finding("lifecycle.contract", "unexpected column", where=f"{rel}:{name}")
    for col in expected.columns:
        if col.name in names and actual.field(col.name).type != expected.arrow.field(col.name).type:
            yield Finding(
                "lifecycle.contract",
                f"dtype {actual.field(col.name).type} differs from {col.dtype}",
                where=f"{rel}:{col.name}",
            )
    if [n for n in names if n in expected.names] != [n for n in expected.names if n in names]:
        yield Finding("lifecycle.contract", "columns are out of order", where=rel)


# -- keys --------------------------------------------------------------------------------------


def _keys(ctx: _Context) -> Iterator[Finding]:
    accounts = ctx.load("accounts", {"id": ("account_id", _id("acct"))})["id"]
    subs = ctx.load(
        "subscriptions", {"id": ("subscription_id", _id("sub")), "cust": ("customer_id", _id("cust"))}
    )
    cu, ev, he, inv = ctx.customers, ctx.events, ctx.health, ctx.invoices
    primary = {
        ("accounts", "account_id"): accounts,
        ("customers", "customer_id"): cu.cust,
        ("subscriptions", "subscription_id"): subs["id"],
        ("subscription_events", "event_id"): ev.cols["id"],
        ("health_signals", "signal_id"): he.cols["id"],
        ("invoices", "invoice_id"): inv.cols["id"],
    }
    for (table, col), ids in primary.items():
        if not _unique(ids):
            yield Finding("lifecycle.keys", "primary key has duplicates", where=f"{_table_rel(table)}:{col}")
    foreign = [
        ("customers", "account_id", cu.cols["account"], accounts, "accounts"),
        ("subscriptions", "customer_id", subs["cust"], cu.cust, "customers"),
        ("subscription_events", "subscription_id", ev.cols["sub"], subs["id"], "subscriptions"),
        ("subscription_events", "customer_id", ev.cust, cu.cust, "customers"),
        ("health_signals", "customer_id", he.cust, cu.cust, "customers"),
        ("invoices", "customer_id", inv.cust, cu.cust, "customers"),
    ]
    for table, col, child, parent, target in foreign:
        missing = int(np.count_nonzero(~np.isin(child, parent)))
        if missing:
            yield Finding(
                "lifecycle.keys",
                f"{missing} value(s) not found in {target}",
                where=f"{_table_rel(table)}:{col}",
            )
    if not _unique(subs["cust"]) or subs["cust"].size != cu.cust.size:
        yield Finding(
            "lifecycle.keys",
            "every customer needs exactly one subscription",
            where=f"{_table_rel('subscriptions')}:customer_id",
        )
    if np.any(subs["id"] != subs["cust"]) or np.any(ev.cols["sub"] != ev.cust):
        yield Finding(
            "lifecycle.keys",
            "a subscription id does not match its customer (sub_N belongs to cust_N)",
            where=f"{_table_rel('subscription_events')}:subscription_id",
        )


def _unique(ids: np.ndarray) -> bool:
    if ids.size < 2 or bool(np.all(ids[1:] > ids[:-1])):
        return True
    return bool(np.unique(ids).size == ids.size)


# -- event chain -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Chain:
    """Events in chain order (customer, date, id) with each event's customer row."""

    row: np.ndarray
    day: np.ndarray
    kind: np.ndarray
    before: np.ndarray
    after: np.ndarray
    term: np.ndarray
    term_null: np.ndarray
    first: np.ndarray
    last: np.ndarray


def _chain(ctx: _Context) -> _Chain:
    ev = ctx.events
    order = np.lexsort((ev.cols["id"], ev.day, ev.cust))
    cust = ev.cust[order]
    first = np.ones(cust.size, dtype=bool)
    first[1:] = cust[1:] != cust[:-1]
    last = np.ones(cust.size, dtype=bool)
    last[:-1] = cust[:-1] != cust[1:]
    return _Chain(
        row=ctx.customer_index(cust),
        day=ev.day[order],
        kind=ev.cols["kind"][order],
        before=ev.cols["before"][order],
        after=ev.cols["after"][order],
        term=ev.cols["term"][order],
        term_null=ev.null["term"][order],
        first=first,
        last=last,
    )


def _event_chain(ctx: _Context) -> Iterator[Finding]:
    cu = ctx.customers
    where = _table_rel("subscription_events")
    if np.any(ctx.events.cols["kind"] < 0):
        yield Finding("lifecycle.event_chain", "unknown event_type", where=f"{where}:event_type")
        return
    c = _chain(ctx)
    prev_after = np.empty_like(c.after)
    prev_after[1:] = c.after[:-1]
    start = np.where(c.first, cu.cols["initial_mrr"][c.row], prev_after)
    if np.any(c.before != start):
        n = int(np.sum(c.before != start))
        yield Finding(
            "lifecycle.event_chain",
            f"{n} event(s) do not start at the previous MRR",
            where=f"{where}:mrr_before",
        )
    rules = {"expansion": c.after > c.before, "contraction": c.after < c.before, "churn": c.after == 0}
    for name, ok in rules.items():
        bad = (c.kind == EVENT_CODE[name]) & ~ok
        if bad.any():
            yield Finding(
                "lifecycle.event_chain",
                f"{int(bad.sum())} {name} event(s) move MRR the wrong way",
                where=f"{where}:mrr_after",
            )
    flat = np.isin(c.kind, [EVENT_CODE[k] for k in ("renewal", "payment_failure", "payment_recovered")])
    if np.any(flat & (c.after != c.before)):
        yield Finding(
            "lifecycle.event_chain",
            "renewal and payment events must not change MRR",
            where=f"{where}:mrr_after",
        )
    churn = c.kind == EVENT_CODE["churn"]
    if np.any(churn & ~c.last):
        yield Finding("lifecycle.event_chain", "an event follows a churn", where=f"{where}:event_timestamp")
    renewal = c.kind == EVENT_CODE["renewal"]
    wrong_term = renewal & (c.term_null | (c.term != cu.cols["term"][c.row]))
    if np.any(wrong_term) or np.any(~renewal & ~c.term_null):
        yield Finding(
            "lifecycle.event_chain",
            "contract_term_months_new must be the contract term on renewals and null otherwise",
            where=f"{where}:contract_term_months_new",
        )
    if np.any(c.day < cu.day[c.row]):
        yield Finding(
            "lifecycle.event_chain",
            "event dated before the customer's start",
            where=f"{where}:event_timestamp",
        )
    if not ctx.public:
        yield from _terminal(ctx, c)


def _terminal(ctx: _Context, c: _Chain) -> Iterator[Finding]:
    """Instructor: the chain ends on the subscription's terminal values."""
    subs = ctx.read("subscriptions")
    where = _table_rel("subscriptions")
    idx = ctx.customer_index(parse_id_numbers(subs.column("customer_id"), "cust"))
    n = ctx.customers.cust.size
    terminal = ctx.customers.cols["initial_mrr"].copy()
    moves = np.flatnonzero(np.isin(c.kind, [EVENT_CODE["expansion"], EVENT_CODE["contraction"]]))
    terminal[c.row[moves]] = c.after[moves]  # later events overwrite earlier ones
    current = np.asarray(pc.fill_null(subs.column("current_mrr"), -1).to_numpy(zero_copy_only=False))
    if np.any(current != terminal[idx]):
        yield Finding(
            "lifecycle.event_chain",
            "current_mrr is not where the event chain ends",
            where=f"{where}:current_mrr",
        )
    churned = ctx.churn_day < NEVER
    status = np.asarray(subs.column("subscription_status").to_numpy(zero_copy_only=False))
    if np.any((status == "churned") != churned[idx]):
        yield Finding(
            "lifecycle.event_chain",
            "subscription_status disagrees with the churn events",
            where=f"{where}:subscription_status",
        )
    churn_at = subs.column("churn_at")
    has = np.asarray(churn_at.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    days = np.full(subs.num_rows, NEVER, dtype=np.int64)
    if has.any():
        days[has] = ctx.days(pc.filter(churn_at, pa.array(has)))
    if np.any(days != ctx.churn_day[idx]):
        yield Finding(
            "lifecycle.event_chain", "churn_at is not the churn event's date", where=f"{where}:churn_at"
        )
    for col, name in (
        ("expansion_count", "expansion"),
        ("renewal_count", "renewal"),
        ("downgrade_count", "contraction"),
    ):
        got = np.bincount(c.row[c.kind == EVENT_CODE[name]], minlength=n)
        if np.any(_int(subs.column(col).combine_chunks()) != got[idx]):
            yield Finding(
                "lifecycle.event_chain", f"{col} disagrees with the {name} events", where=f"{where}:{col}"
            )
    plan = ctx.customers.cols["plan"].astype(np.int64).copy()
    for i in moves.tolist():
        plan[c.row[i]] = _next_plan(int(plan[c.row[i]]), int(c.after[i]))
    if np.any(_plan_codes(subs.column("current_plan")) != plan[idx]):
        yield Finding(
            "lifecycle.event_chain",
            "current_plan is not where the plan changes end",
            where=f"{where}:current_plan",
        )
    reason = np.asarray(pc.fill_null(subs.column("churn_reason"), "").to_numpy(zero_copy_only=False))
    written_off = np.bincount(
        ctx.customer_index(ctx.invoices.cust[ctx.invoices.cols["status"] == STATUS_CODE["written_off"]]),
        minlength=n,
    )
    if np.any((reason == "payment_failure") != (written_off[idx] > 0)):
        yield Finding(
            "lifecycle.event_chain",
            "payment_failure churn must coincide with a written-off invoice",
            where=f"{where}:churn_reason",
        )


def _next_plan(plan: int, mrr: int) -> int:
    """The plan after an MRR move: up past a plan's ceiling, down below its floor."""
    while plan < len(PLANS) - 1 and mrr > PLAN_MRR[plan, 1]:
        plan += 1
    while plan > 0 and mrr < PLAN_MRR[plan, 0]:
        plan -= 1
    return plan


# -- invoice chain -----------------------------------------------------------------------------


def _invoice_chain(ctx: _Context) -> Iterator[Finding]:
    inv, ev, cu = ctx.invoices, ctx.events, ctx.customers
    where = _table_rel("invoices")
    if np.any(inv.cols["status"] < 0):
        yield Finding("lifecycle.invoice_chain", "unknown payment_status", where=f"{where}:payment_status")
        return
    row = ctx.customer_index(inv.cust)
    mrr = _mrr_before(ctx, inv.cust, inv.day)
    if np.any(inv.cols["amount"] != mrr):
        yield Finding(
            "lifecycle.invoice_chain",
            f"{int(np.sum(inv.cols['amount'] != mrr))} invoice(s) do not bill the MRR in effect",
            where=f"{where}:amount_usd",
        )
    tenure = inv.day - cu.day[row]
    if np.any(tenure % 7 != 0) or np.any(tenure < 0):
        yield Finding(
            "lifecycle.invoice_chain",
            "invoice not on a weekly billing date of its customer",
            where=f"{where}:invoice_date",
        )
    failed_like = inv.cols["status"] != STATUS_CODE["paid"]
    fail_key = _keys_of(
        ev.cust[ev.cols["kind"] == EVENT_CODE["payment_failure"]],
        ev.day[ev.cols["kind"] == EVENT_CODE["payment_failure"]],
    )
    inv_key = _keys_of(inv.cust[failed_like], inv.day[failed_like])
    if inv_key.size and not np.all(np.isin(inv_key, fail_key)):
        yield Finding(
            "lifecycle.invoice_chain",
            "a failed/recovered/written-off invoice has no payment_failure event on its date",
            where=f"{where}:payment_status",
        )
    for status, event, rule in (
        ("recovered", "payment_recovered", "equal"),
        ("written_off", "churn", "at most"),
    ):
        got, have = _per_customer(ctx, inv.cols["status"] == STATUS_CODE[status], EVENT_CODE[event])
        if np.any(got != have) if rule == "equal" else np.any(got > have):
            yield Finding(
                "lifecycle.invoice_chain",
                f"{status} invoices do not match the {event} events",
                where=f"{where}:payment_status",
            )
    if not ctx.public:
        yield from _targets(ctx)


def _per_customer(ctx: _Context, invoices: np.ndarray, event: int) -> tuple[np.ndarray, np.ndarray]:
    """Per customer: how many of the selected invoices, and how many events of one kind."""
    n = ctx.customers.cust.size
    got = np.bincount(ctx.customer_index(ctx.invoices.cust[invoices]), minlength=n)
    have = np.bincount(ctx.customer_index(ctx.events.cust[ctx.events.cols["kind"] == event]), minlength=n)
    return got, have


def _keys_of(cust: np.ndarray, day: np.ndarray) -> np.ndarray:
    return cust.astype(np.int64) * 1_000_003 + (day.astype(np.int64) + 500_000)


def _mrr_before(ctx: _Context, cust: np.ndarray, day: np.ndarray) -> np.ndarray:
    """MRR in effect at the start of ``day``: after every expansion/contraction dated earlier."""
    ev = ctx.events
    moves = np.isin(ev.cols["kind"], [EVENT_CODE["expansion"], EVENT_CODE["contraction"]])
    order = np.lexsort((ev.cols["id"][moves], ev.day[moves], ev.cust[moves]))
    mc, md, ma = ev.cust[moves][order], ev.day[moves][order], ev.cols["after"][moves][order]
    key = _keys_of(mc, md)
    pos = np.searchsorted(key, _keys_of(cust, day), side="left") - 1
    valid = pos >= 0
    safe = np.maximum(pos, 0)
    same = valid & (mc[safe] == cust) if mc.size else np.zeros(cust.size, dtype=bool)
    initial = ctx.customers.cols["initial_mrr"][ctx.customer_index(cust)]
    return np.where(same, ma[safe] if mc.size else 0, initial)


def _targets(ctx: _Context) -> Iterator[Finding]:
    """Instructor: every revenue label equals the invoices it sums; churn labels match churn dates."""
    inv = ctx.invoices
    collected = np.isin(inv.cols["status"], [STATUS_CODE["paid"], STATUS_CODE["recovered"]])
    order = np.lexsort((inv.day, inv.cust))
    ic, iday = inv.cust[order], inv.day[order]
    amount = np.where(collected, inv.cols["amount"], 0)[order]
    csum = np.concatenate([[0], np.cumsum(amount)])
    key = _keys_of(ic, iday)
    churn_day = ctx.churn_day
    for regime in ctx.regimes:
        for spec in tasks(regime):
            for split in SPLITS:
                rel = f"tasks/{spec.task_id}/{split}.parquet"
                if not ctx.bundle.exists(rel):
                    continue
                t = ctx.bundle.read_parquet(rel, ["customer_id", spec.label_column])
                who = parse_id_numbers(t.column("customer_id"), "cust")
                row = ctx.customer_index(who)
                cut = _cutoff(ctx, regime, row)
                col = t.column(spec.label_column)
                if spec.label_column == CHURN_TARGET:
                    label = np.asarray(pc.fill_null(col, False).to_numpy(zero_copy_only=False), dtype=bool)
                    bad = label != (churn_day[row] <= cut + CHURN_WINDOW_DAYS)
                else:
                    label = np.asarray(
                        pc.fill_null(col, -1.0).to_numpy(zero_copy_only=False), dtype=np.float64
                    )
                    window = spec.label_window_days
                    lo = np.searchsorted(key, _keys_of(who, cut), side="right")
                    hi = np.searchsorted(key, _keys_of(who, cut + window), side="right")
                    bad = np.abs(label - (csum[hi] - csum[lo])) > 1e-6
                if bad.any():
                    yield Finding(
                        "lifecycle.invoice_chain",
                        f"{int(bad.sum())} label(s) differ from the relational history",
                        where=f"{rel}:{spec.label_column}",
                    )


def _cutoff(ctx: _Context, regime: Regime, row: np.ndarray) -> np.ndarray:
    """Cutoff of each row as days from the observation date."""
    if regime is EARLY:
        return np.asarray(ctx.customers.day[row] + 7 * ctx.early_weeks, dtype=np.int64)
    return np.zeros(row.size, dtype=np.int64)


# -- snapshots ---------------------------------------------------------------------------------


def _snapshots(ctx: _Context) -> Iterator[Finding]:
    cu = ctx.customers
    churn_day = ctx.churn_day
    everyone = np.arange(cu.cust.size)
    for regime in ctx.regimes:
        cut_all = _cutoff(ctx, regime, everyone)
        truth = _features(ctx, everyone, cut_all)
        alive = (churn_day > 0) & (cu.day <= 0) if regime is CALENDAR else churn_day > cut_all
        for spec in tasks(regime):
            rels = [f"tasks/{spec.task_id}/{s}.parquet" for s in SPLITS]
            rels = [r for r in rels if ctx.bundle.exists(r)]
            if not rels:
                continue
            rows = []
            for rel in rels:
                table = ctx.bundle.read_parquet(rel)
                row = ctx.customer_index(parse_id_numbers(table.column("customer_id"), "cust"))
                if np.any(row < 0):
                    yield Finding(
                        "lifecycle.snapshot", "rows of unknown customers", where=f"{rel}:customer_id"
                    )
                    continue
                rows.append(row)
                yield from _compare(table, row, truth, rel)
            seen = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
            if set(seen.tolist()) != set(np.flatnonzero(alive).tolist()):
                yield Finding(
                    "lifecycle.snapshot",
                    f"cohort differs from the customers alive at the cutoff ({seen.size} rows, "
                    f"{int(alive.sum())} expected)",
                    where=f"tasks/{spec.task_id}:customer_id",
                )


def _compare(table: pa.Table, row: np.ndarray, truth: dict[str, object], rel: str) -> Iterator[Finding]:
    """Distortions may blank a cell; any non-null value must equal the cutoff-bounded truth."""
    for name, values in truth.items():
        col = table.column(name)
        null = np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        if name in CATEGORICAL_FEATURES:
            got = np.asarray(col.to_numpy(zero_copy_only=False))
            assert isinstance(values, np.ndarray)
            bad = ~null & (got != values[row])
        else:
            got = np.asarray(pc.fill_null(col, 0).to_numpy(zero_copy_only=False))
            assert isinstance(values, tuple)
            want, want_null = values
            bad = ~null & (want_null[row] | (got != want[row]))
        if bad.any():
            yield Finding(
                "lifecycle.snapshot",
                f"{int(bad.sum())} value(s) differ from the history up to the cutoff",
                where=f"{rel}:{name}",
            )


def _features(ctx: _Context, row: np.ndarray, cut: np.ndarray) -> dict[str, object]:
    """Integer and categorical snapshot features recomputed from rows dated on or before ``cut``."""
    cu, ev, he = ctx.customers, ctx.events, ctx.health
    start = cu.day[row]
    tenure = (cut - start) // 7
    who = cu.cust[row]
    counts: dict[str, np.ndarray] = {}
    for name in ("renewal", "expansion", "contraction", "payment_failure"):
        k = ev.cols["kind"] == EVENT_CODE[name]
        counts[name] = _count_upto(ev.cust[k], ev.day[k], who, cut)
    fail = ev.cols["kind"] == EVENT_CODE["payment_failure"]
    last_fail = _last_upto(ev.cust[fail], ev.day[fail], ev.day[fail], who, cut)
    current = _mrr_before(ctx, who, cut + 1)
    initial = cu.cols["initial_mrr"][row]
    plan = _plans_upto(ctx, row, who, cut)
    tickets = _sum_upto(he.cust, he.day, he.cols["tickets"], who, cut) - _sum_upto(
        he.cust, he.day, he.cols["tickets"], who, cut - 84
    )
    answered = ~he.null["nps"]
    nps = _last_upto(he.cust[answered], he.day[answered], he.cols["nps"][answered], who, cut)
    no_fail = last_fail == NONE
    zero = np.zeros(row.size, dtype=bool)
    return {
        "account_id": np.asarray(id_array("acct", cu.cols["account"][row]).to_numpy(zero_copy_only=False)),
        "initial_plan": np.array(PLANS, dtype=object)[cu.cols["plan"][row]],
        "current_plan": np.array(PLANS, dtype=object)[plan],
        "tenure_weeks": (tenure, zero),
        "initial_mrr": (initial, zero),
        "current_mrr": (current, zero),
        "mrr_change_at_snapshot": (current - initial, zero),
        "renewal_count": (counts["renewal"], zero),
        "expansion_count": (counts["expansion"], zero),
        "contract_term_months": (cu.cols["term"][row], zero),
        "weeks_to_next_renewal": (next_renewal_week(tenure, cu.cols["term"][row]) - tenure, zero),
        "support_ticket_count_l12w": (tickets, zero),
        "last_nps_score": (np.where(nps == NONE, 0, nps), nps == NONE),
        "payment_failure_count": (counts["payment_failure"], zero),
        "weeks_since_last_payment_failure": (np.where(no_fail, 0, (cut - last_fail) // 7), no_fail),
        "downgrade_count": (counts["contraction"], zero),
    }


def _sorted(cust: np.ndarray, day: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """Row order by (customer, day) — ``None`` if the rows already are in it, as bundle rows
    usually are — and the sorted keys."""
    key = _keys_of(cust, day)
    if key.size < 2 or bool(np.all(key[1:] >= key[:-1])):
        return None, key
    order = np.argsort(key, kind="stable")
    return order, key[order]


def _in_order(values: np.ndarray, order: np.ndarray | None) -> np.ndarray:
    return values if order is None else values[order]


def _count_upto(cust: np.ndarray, day: np.ndarray, who: np.ndarray, cut: np.ndarray) -> np.ndarray:
    _, key = _sorted(cust, day)
    hi = np.searchsorted(key, _keys_of(who, cut), side="right")
    lo = np.searchsorted(key, _keys_of(who, np.full(who.size, -400_000)), side="left")
    return np.asarray(hi - lo, dtype=np.int64)


def _sum_upto(
    cust: np.ndarray, day: np.ndarray, values: np.ndarray, who: np.ndarray, cut: np.ndarray
) -> np.ndarray:
    order, key = _sorted(cust, day)
    csum = np.concatenate([[0], np.cumsum(_in_order(values, order), dtype=np.int64)])
    hi = np.searchsorted(key, _keys_of(who, cut), side="right")
    lo = np.searchsorted(key, _keys_of(who, np.full(who.size, -400_000)), side="left")
    return np.asarray(csum[hi] - csum[lo], dtype=np.int64)


def _last_upto(
    cust: np.ndarray, day: np.ndarray, values: np.ndarray, who: np.ndarray, cut: np.ndarray
) -> np.ndarray:
    """Value of each customer's latest row dated on or before ``cut`` (int64 min if none)."""
    order, key = _sorted(cust, day)
    pos = np.searchsorted(key, _keys_of(who, cut), side="right") - 1
    safe = np.maximum(pos, 0)
    if not cust.size:
        return np.full(who.size, NONE, dtype=np.int64)
    hit = (pos >= 0) & (_in_order(cust, order)[safe] == who)
    return np.where(hit, _in_order(values, order)[safe], NONE).astype(np.int64)


def _plans_upto(ctx: _Context, row: np.ndarray, who: np.ndarray, cut: np.ndarray) -> np.ndarray:
    c = _chain(ctx)
    plan = ctx.customers.cols["plan"][row].astype(np.int64).copy()
    position = {int(r): i for i, r in enumerate(row)}
    for i in np.flatnonzero(np.isin(c.kind, [EVENT_CODE["expansion"], EVENT_CODE["contraction"]])).tolist():
        j = position.get(int(c.row[i]))
        if j is not None and c.day[i] <= cut[j]:
            plan[j] = _next_plan(int(plan[j]), int(c.after[i]))
    return np.asarray(plan, dtype=np.int64)


# -- splits ------------------------------------------------------------------------------------


def _splits(ctx: _Context) -> Iterator[Finding]:
    for regime in ctx.regimes:
        for spec in tasks(regime):
            for split in SPLITS:
                rel = f"tasks/{spec.task_id}/{split}.parquet"
                if not ctx.bundle.exists(rel):
                    continue
                cols = set(ctx.bundle.schema(rel).names)
                for other in sorted((cols & LABEL_COLUMNS) - {spec.label_column}):
                    yield Finding("lifecycle.splits", "a sibling target is present", where=f"{rel}:{other}")
                for outcome in sorted(cols & CHURN_OUTCOMES):
                    yield Finding(
                        "lifecycle.splits", "an outcome column is present", where=f"{rel}:{outcome}"
                    )
    rows = {r["name"]: r for r in ctx.bundle.dictionary}
    for f in CATALOG:
        r = rows.get(f.name)
        if r is None:
            continue
        if r.get("is_target") != str(f.is_target) or r.get("leakage_risk") != str(f.name in TRAPS):
            yield Finding(
                "lifecycle.splits",
                "is_target / leakage_risk flag is wrong",
                where=f"feature_dictionary.csv:{f.name}",
            )


# -- public shape and leak probes --------------------------------------------------------------


def _leak_columns(ctx: _Context) -> Iterator[Finding]:
    """No relational table carries a target; only instructor ``subscriptions`` carries outcomes."""
    for name in ctx.bundle.table_names():
        cols = set(ctx.schema(name).names)
        for col in sorted(cols & LABEL_COLUMNS):
            yield Finding(
                "lifecycle.leak",
                "a target column is in a relational table",
                where=f"{_table_rel(name)}:{col}",
            )
        if ctx.public or name != "subscriptions":
            for col in sorted(cols & OUTCOME_COLUMNS):
                yield Finding(
                    "lifecycle.leak",
                    "an outcome column is in a public table",
                    where=f"{_table_rel(name)}:{col}",
                )


def _public(ctx: _Context) -> Iterator[Finding]:
    if not ctx.public:
        return
    dated = (
        ("subscription_events", "event_timestamp", ctx.events),
        ("health_signals", "period_start", ctx.health),
        ("invoices", "invoice_date", ctx.invoices),
    )
    for name, col, frame in dated:
        late = int(np.sum(frame.day > 0))
        if late:
            yield Finding(
                "lifecycle.leak",
                f"{late} row(s) dated after the observation date {ctx.observation.isoformat()}",
                where=f"{_table_rel(name)}:{col}",
            )
    inv = ctx.invoices
    for status, event in (("recovered", "payment_recovered"), ("written_off", "churn")):
        got, have = _per_customer(ctx, inv.cols["status"] == STATUS_CODE[status], EVENT_CODE[event])
        late = int(np.sum(np.maximum(got - have, 0)))
        if late:
            yield Finding(
                "lifecycle.leak",
                f"{late} invoice(s) show '{status}', an outcome decided after the observation date "
                "(a failure still in dunning at the cutoff must read 'failed')",
                where=f"{_table_rel('invoices')}:payment_status",
            )
    if ctx.bundle.exists("dataset_card.md") and "early_" in ctx.bundle.text("dataset_card.md"):
        yield Finding("lifecycle.leak", "the public card describes early_ tasks", where="dataset_card.md")
    for task_id in ctx.manifest.tasks:
        if task_id.startswith(EARLY.prefix):
            yield Finding(
                "lifecycle.leak", "early tasks must be omitted from a public bundle", where=f"tasks/{task_id}"
            )
    if ctx.manifest.raw.get("motif_family") is not None:
        yield Finding(
            "lifecycle.leak", "the public manifest reveals motif_family", where="manifest.json:motif_family"
        )
