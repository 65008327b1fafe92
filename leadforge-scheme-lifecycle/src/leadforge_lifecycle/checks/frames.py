"""What every lifecycle check reads: the manifest's lifecycle fields and the relational columns.

Columns are converted to numpy batch by batch (dates and instants' UTC dates as days from the
observation date, ids
as their integer numbers, categories as codes), so the Arrow data of a large table never sits
in memory whole, and each table is read once however many checks use it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from leadforge.bundle import RelationalContract
from leadforge.bundle.projection import day_numbers
from leadforge.bundle.reader import BundleView, Manifest
from leadforge.bundle.relational import id_numbers, table_where
from leadforge.bundle.splits import SPLITS
from leadforge.errors import BundleError

from leadforge_lifecycle.catalog import CALENDAR, REGIMES, Regime, tasks
from leadforge_lifecycle.contract import relational_contract
from leadforge_lifecycle.engine import EVENT_TYPES, INVOICE_STATUSES
from leadforge_lifecycle.population import PLANS

EVENT_CODE = {name: i for i, name in enumerate(EVENT_TYPES)}
STATUS_CODE = {name: i for i, name in enumerate(INVOICE_STATUSES)}
PLAN_CODE = {name: i for i, name in enumerate(PLANS)}
#: Churn day of a customer that never churns (days from the observation date).
NEVER = 10**9

Converter = Callable[[pa.Array], np.ndarray]


def table_rel(name: str) -> str:
    """A table's single-file path (:meth:`Context.rel` names either layout)."""
    return f"tables/{name}.parquet"


@dataclass(frozen=True)
class Frame:
    """Numpy views of one table's columns: customer numbers, days, other columns, null masks."""

    cust: np.ndarray
    day: np.ndarray
    cols: dict[str, np.ndarray]
    null: dict[str, np.ndarray]


def _manifest_date(manifest: Manifest, key: str) -> dt.date:
    value = manifest.scheme_field(key)
    try:
        if isinstance(value, str) and len(value) == 10:
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise BundleError(f"manifest.json: {key} must be an ISO date YYYY-MM-DD, got {value!r}")


def _manifest_int(manifest: Manifest, key: str) -> int:
    value = manifest.scheme_field(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BundleError(f"manifest.json: {key} must be an integer, got {value!r}")
    return value


#: Tables written shard by shard: part ``i`` of each holds the rows of shard ``i``'s customers.
SHARDED = ("customers", "subscriptions", "subscription_events", "health_signals", "invoices")


class Context:
    """A bundle under check: its lifecycle manifest fields and lazily loaded tables.

    With ``part`` set, the context sees only that shard: part ``part`` of every sharded table
    and task split (a shard's customers, their rows and their task rows), so the row checks
    hold one shard in memory at a time.
    """

    def __init__(self, bundle: BundleView, manifest: Manifest, part: int | None = None) -> None:
        self.bundle = bundle
        self.manifest = manifest
        self.part = part
        self.public = manifest.is_public
        self.observation = _manifest_date(manifest, "observation_date")
        self.early_weeks = _manifest_int(manifest, "early_tenure_weeks")
        self.regimes: tuple[Regime, ...] = (CALENDAR,) if self.public else REGIMES
        self.experiment = manifest.experiment is not None
        self.contract: RelationalContract = relational_contract(self.observation, manifest.experiment)

    def tables_hold_their_contract(self) -> bool:
        """Whether every table has the columns and dtypes the contract gives it for the mode (core
        reports any difference; the checks that read rows need them)."""
        redacted = self.manifest.redacted_columns
        for t in self.contract:
            if not self.bundle.has_table(t.name):
                return False
            schema = t.public_schema(redacted) if self.public else t.schema.without(redacted)
            for rel in self.bundle.table_files(t.name):
                got = self.bundle.schema(rel)
                if got.names != schema.names or any(got.field(f.name).type != f.type for f in schema.arrow):
                    return False
        return True

    def shards(self) -> int | None:
        """How many shard parts every sharded table and task split has (``None`` unless they agree)."""
        counts = {len(self.bundle.table_files(name)) for name in SHARDED}
        counts |= {
            len(self.bundle.split_files(spec.task_id, split))
            for regime in self.regimes
            for spec in tasks(regime)
            for split in SPLITS
            if self.bundle.has_split(spec.task_id, split)
        }
        return counts.pop() if len(counts) == 1 else None

    def files(self, name: str) -> tuple[str, ...]:
        files = self.bundle.table_files(name)
        return files if self.part is None or name not in SHARDED else (files[self.part],)

    def split_files(self, task_id: str, split: str) -> tuple[str, ...]:
        files = self.bundle.split_files(task_id, split)
        return files if self.part is None else (files[self.part],)

    def table(self, name: str, columns: list[str] | None = None) -> pa.Table:
        """A per-customer table whole (of this shard)."""
        return self.bundle.read_parquet(self.files(name), columns)

    def rel(self, name: str) -> str:
        """How a finding names a table: its file, or its folder of parts."""
        return table_where(self.bundle, name)

    def split_rel(self, task_id: str, split: str) -> str:
        files = self.bundle.split_files(task_id, split)
        return files[0] if len(files) == 1 else f"tasks/{task_id}/{split}"

    def load(self, name: str, spec: dict[str, tuple[str, Converter]]) -> dict[str, np.ndarray]:
        """Columns of a table converted to numpy; ``spec`` maps an output name to (column, converter)."""
        parts: dict[str, list[np.ndarray]] = {k: [] for k in spec}
        columns = sorted({col for col, _ in spec.values()})
        for batch in self.bundle.iter_batches(self.files(name), columns):
            for out, (col, convert) in spec.items():
                parts[out].append(convert(batch.column(col)))
        return {k: np.concatenate(v) if v else np.zeros(0, dtype=np.int64) for k, v in parts.items()}

    def day(self, values: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Dates (``date32``) or instants (their UTC date) as days from the observation date."""
        return np.asarray(day_numbers(values) - self._observation_day, dtype=np.int64)

    @cached_property
    def _observation_day(self) -> int:
        return (self.observation - dt.date(1970, 1, 1)).days

    @cached_property
    def customers(self) -> Frame:
        t = self.load(
            "customers",
            {
                "cust": ("customer_id", ids("cust")),
                "day": ("customer_start_at", self.day),
                "account": ("account_id", ids("acct")),
                "initial_mrr": ("initial_mrr", ints),
                "term": ("contract_term_months", ints),
                "plan": ("initial_plan", codes(PLAN_CODE)),
            },
        )
        return Frame(t.pop("cust"), t.pop("day"), t, {})

    @cached_property
    def events(self) -> Frame:
        t = self.load(
            "subscription_events",
            {
                "cust": ("customer_id", ids("cust")),
                "day": ("event_timestamp", self.day),
                "id": ("event_id", ids("subev")),
                "sub": ("subscription_id", ids("sub")),
                "kind": ("event_type", codes(EVENT_CODE)),
                "before": ("mrr_before", ints),
                "after": ("mrr_after", ints),
                "term": ("contract_term_months_new", ints),
                "term_null": ("contract_term_months_new", nulls),
            },
        )
        return Frame(t.pop("cust"), t.pop("day"), t, {"term": t.pop("term_null")})

    @cached_property
    def invoices(self) -> Frame:
        t = self.load(
            "invoices",
            {
                "cust": ("customer_id", ids("cust")),
                "day": ("invoice_date", self.day),
                "amount": ("amount_usd", ints),
                "status": ("payment_status", codes(STATUS_CODE)),
            },
        )
        return Frame(t.pop("cust"), t.pop("day"), t, {})

    @cached_property
    def health(self) -> Frame:
        """Health signals as int32: the table has one row per customer-week."""
        t = self.load(
            "health_signals",
            {
                "cust": ("customer_id", compact(ids("cust"))),
                "day": ("period_start", compact(self.day)),
                "tickets": ("support_tickets", compact(ints)),
                "nps": ("nps_score", compact(ints)),
                "nps_null": ("nps_score", nulls),
            },
        )
        return Frame(t.pop("cust"), t.pop("day"), t, {"nps": t.pop("nps_null")})

    @cached_property
    def churn_day(self) -> np.ndarray:
        """Each customer's churn date (days from the observation date); :data:`NEVER` if none."""
        ev = self.events
        churn = ev.cols["kind"] == EVENT_CODE["churn"]
        out = np.full(self.customers.cust.size, NEVER, dtype=np.int64)
        out[self.customer_index(ev.cust[churn])] = ev.day[churn]
        return out

    @cached_property
    def _customer_order(self) -> np.ndarray:
        return np.argsort(self.customers.cust, kind="stable")

    def customer_index(self, numbers: np.ndarray) -> np.ndarray:
        """Row of each customer number in ``customers`` (``-1`` if unknown)."""
        c = self.customers.cust
        if c.size == 0:
            return np.full(numbers.size, -1, dtype=np.int64)
        order = self._customer_order
        pos = np.minimum(np.searchsorted(c[order], numbers), c.size - 1)
        return np.where(c[order][pos] == numbers, order[pos], -1)

    def cutoff(self, regime: Regime, row: np.ndarray) -> np.ndarray:
        """Cutoff of each customer row as days from the observation date."""
        if regime is CALENDAR:
            return np.zeros(row.size, dtype=np.int64)
        return np.asarray(self.customers.day[row] + 7 * self.early_weeks, dtype=np.int64)

    def split_customers(
        self, task_id: str, split: str, columns: list[str] | None = None
    ) -> tuple[pa.Table, np.ndarray]:
        """A split (per customer, so read whole) and the ``customers`` row of each of its customers
        (``-1`` if unknown)."""
        table = self.bundle.read_parquet(self.split_files(task_id, split), columns)
        return table, self.customer_index(ids("cust")(table.column("customer_id").combine_chunks()))


def ids(prefix: str) -> Converter:
    """``<prefix>_<n>`` ids as their numbers (core's relational check reports malformed ids)."""

    def convert(values: pa.Array) -> np.ndarray:
        numbers, bad = id_numbers(values, prefix)
        if bad:
            raise BundleError(f"cannot read {prefix}_ ids: {bad} are null or malformed")
        return numbers

    return convert


def compact(convert: Converter) -> Converter:
    return lambda values: convert(values).astype(np.int32)


def ints(values: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(values, 0).to_numpy(zero_copy_only=False), dtype=np.int64)


def nulls(values: pa.Array) -> np.ndarray:
    return np.asarray(values.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def codes(vocab: dict[str, int]) -> Converter:
    """Strings as codes into ``vocab`` (``-1`` for anything unknown)."""

    def convert(values: pa.Array) -> np.ndarray:
        encoded = pc.dictionary_encode(values)
        lookup = np.array([vocab.get(v, -1) if v is not None else -1 for v in encoded.dictionary.to_pylist()])
        idx = np.asarray(encoded.indices.to_numpy(zero_copy_only=False))
        return lookup[idx].astype(np.int64) if lookup.size else np.zeros(idx.size, dtype=np.int64)

    return convert
