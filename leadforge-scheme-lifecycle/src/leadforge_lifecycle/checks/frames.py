"""What every lifecycle check reads: the manifest's lifecycle fields and the relational columns.

Columns are converted to numpy batch by batch (dates as days from the observation date, ids
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
import pyarrow.parquet as pq
from leadforge.bundle import RelationalContract
from leadforge.bundle.reader import BundleView, Manifest
from leadforge.bundle.relational import id_numbers
from leadforge.columns import day_offsets
from leadforge.errors import BundleError

from leadforge_lifecycle.catalog import CALENDAR, REGIMES, Regime
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


class Context:
    """A bundle under check: its lifecycle manifest fields and lazily loaded tables."""

    def __init__(self, bundle: BundleView, manifest: Manifest) -> None:
        self.bundle = bundle
        self.manifest = manifest
        self.public = manifest.is_public
        self.observation = _manifest_date(manifest, "observation_date")
        self.early_weeks = _manifest_int(manifest, "early_tenure_weeks")
        self.regimes: tuple[Regime, ...] = (CALENDAR,) if self.public else REGIMES
        self.contract: RelationalContract = relational_contract(self.observation)

    def tables_hold_their_contract(self) -> bool:
        """Whether every table has the columns and dtypes the contract gives it for the mode (core
        reports any difference; the checks that read rows need them)."""
        redacted = self.manifest.redacted_columns
        for t in self.contract:
            rel = table_rel(t.name)
            if not self.bundle.exists(rel):
                return False
            schema = t.public_schema(redacted) if self.public else t.schema.without(redacted)
            got = self.bundle.schema(rel)
            if got.names != schema.names or any(got.field(f.name).type != f.type for f in schema.arrow):
                return False
        return True

    def load(self, name: str, spec: dict[str, tuple[str, Converter]]) -> dict[str, np.ndarray]:
        """Columns of a table converted to numpy; ``spec`` maps an output name to (column, converter)."""
        rel = table_rel(name)
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

    def day(self, values: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """ISO dates as days from the observation date (parsed once per distinct date)."""
        encoded = pc.dictionary_encode(values)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        labels = day_offsets(encoded.dictionary, self.observation)
        return np.asarray(labels[np.asarray(encoded.indices)], dtype=np.int64)

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

    def split_customers(self, rel: str, columns: list[str] | None = None) -> tuple[pa.Table, np.ndarray]:
        """A split file and the ``customers`` row of each of its customers (``-1`` if unknown)."""
        table = self.bundle.read_parquet(rel, columns)
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
