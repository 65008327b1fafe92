"""A tiny scheme whose tables carry typed time columns (schema 9), for core's own tests.

``accounts`` (plan-numbered) have a ``created_at`` instant and a ``signup_date`` day; ``events``
(shard-numbered, instants) are cut in public bundles ``PUBLIC_DAYS`` × 24 h after their
account's ``created_at`` (the instant rule); ``invoices`` (shard-numbered, days) are cut by
the same anchor under the day rule. The task carries a date and a timestamp column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from leadforge import hookimpl
from leadforge.bundle import (
    BundleWriter,
    ColumnDoc,
    Cutoff,
    ForeignKey,
    ManifestFields,
    PublicView,
    RelationalContract,
    TableContract,
    TaskSpec,
)
from leadforge.bundle.contract import DATE, UTC_TIMESTAMP
from leadforge.calendar import (
    US_PER_DAY,
    CalendarProfile,
    arrival_days,
    business_times,
    date_array,
    timestamp_array,
    zones_for,
)
from leadforge.columns import id_range
from leadforge.config import GenerationConfig
from leadforge.features import FeatureSpec, catalog_schema
from leadforge.params import param
from leadforge.rng import RNG
from leadforge.schema import TableSchema
from leadforge.schemes import SchemeInfo

LEADFORGE_PLUGIN_API = (2, 2)
RECIPES = Path(__file__).parent / "toy_recipes"
PUBLIC_DAYS = 5
SHARD_ACCOUNTS = 40


@dataclass(frozen=True)
class TypedParams:
    n_accounts: int = param(80, help="accounts to simulate", minimum=1, maximum=100_000)


@dataclass(frozen=True)
class TypedWorld:
    scheme: str
    config: GenerationConfig
    rng: RNG


ACCOUNTS = TableSchema.of(
    [
        ("account_id", "string"),
        ("country", "string"),
        ("created_at", "timestamp"),
        ("signup_date", "date"),
    ]
)
EVENTS = TableSchema.of(
    [("event_id", "string"), ("account_id", "string"), ("at", "timestamp"), ("value", "Float64")]
)
INVOICES = TableSchema.of(
    [("invoice_id", "string"), ("account_id", "string"), ("issued", "date"), ("amount", "Float64")]
)


def contract(config: GenerationConfig) -> RelationalContract:
    anchor = {"via": "account_id", "anchor_column": "created_at", "offset_days": PUBLIC_DAYS}
    return RelationalContract(
        (
            TableContract(
                "accounts",
                ACCOUNTS,
                "account_id",
                "acct",
                time_column="created_at",
                column_docs={
                    "created_at": ColumnDoc("When the account was created.", UTC_TIMESTAMP),
                    "signup_date": ColumnDoc("Day the account signed up.", DATE),
                },
            ),
            TableContract(
                "events",
                EVENTS,
                "event_id",
                "evt",
                foreign_keys=(ForeignKey("account_id", "accounts"),),
                time_column="at",
                numbering="shard",
                public=PublicView(cut=Cutoff(**anchor)),  # type: ignore[arg-type]
                column_docs={"at": ColumnDoc("When the event happened.", UTC_TIMESTAMP)},
            ),
            TableContract(
                "invoices",
                INVOICES,
                "invoice_id",
                "inv",
                foreign_keys=(ForeignKey("account_id", "accounts"),),
                time_column="issued",
                numbering="shard",
                public=PublicView(cut=Cutoff(**anchor)),  # type: ignore[arg-type]
                column_docs={"issued": ColumnDoc("Day the invoice was issued.", DATE)},
            ),
        )
    )


def catalog() -> list[FeatureSpec]:
    return [
        FeatureSpec("account_id", "string", "id", "ids", distort=False),
        FeatureSpec("signup_date", "date", "signup day", "features"),
        FeatureSpec("created_at", "timestamp", "creation instant", "features"),
        FeatureSpec("events", "Int64", "events in the first days", "features", non_negative=True),
        FeatureSpec("busy", "boolean", "target", "target", is_target=True, distort=False),
    ]


@hookimpl
def register_schemes() -> list[SchemeInfo]:
    return [
        SchemeInfo(
            name="typed_toy",
            title="Typed-time toy scheme",
            version="1.0",
            params_type=TypedParams,
            profile_type=None,
            narrative_type=None,
            sample_params={"n_accounts": 60},
            contract=contract,
        )
    ]


@hookimpl
def register_recipes() -> list[Path]:
    return [RECIPES / "typed_toy_v1"]


@hookimpl
def build_world(scheme: str, config: GenerationConfig, narrative: Any, rng: RNG) -> TypedWorld | None:
    if scheme != "typed_toy":
        return None
    return TypedWorld("typed_toy", config, rng)


@hookimpl
def write_bundle(world: Any, writer: BundleWriter) -> bool | None:
    if not isinstance(world, TypedWorld):
        return None
    p = world.config.params_as(TypedParams)
    features = catalog()
    writer.declare_features(features)
    writer.declare_task(
        TaskSpec(
            "typed_task", "binary_classification", "busy", PUBLIC_DAYS, "accounts", "account_id", "Busy?"
        ),
        catalog_schema(features),
    )
    writer.set_manifest_fields(ManifestFields(config={"n_accounts": p.n_accounts}))
    profile = CalendarProfile(window_days=120)
    for i, start in enumerate(range(0, p.n_accounts, SHARD_ACCOUNTS)):
        n = min(SHARD_ACCOUNTS, p.n_accounts - start)
        g = world.rng.shard(i).generator("accounts")
        countries = np.where(g.random(n) < 0.6, "US", "UK").astype(object)
        zones = zones_for(countries, g)
        day = arrival_days(g, n, profile)
        created = business_times(g, day, zones, profile)
        ids = id_range("acct", start + 1, n)
        per = g.poisson(4, size=n)
        owner = np.repeat(np.arange(n), per)
        # events spread over 10 days after creation: about half fall past the public cutoff
        at = created[owner] + (g.random(owner.size) * 10 * US_PER_DAY).astype(np.int64)
        issued = created[owner] // US_PER_DAY + g.integers(0, 10, size=owner.size)
        early = np.bincount(owner, weights=at <= created[owner] + PUBLIC_DAYS * US_PER_DAY, minlength=n)
        accounts = {
            "account_id": ids,
            "country": countries,
            "created_at": timestamp_array(created),
            "signup_date": date_array(day),
        }
        events = {
            "event_id": np.arange(owner.size),
            "account_id": ids.take(owner),
            "at": timestamp_array(at),
            "value": g.gamma(2.0, 3.0, size=owner.size),
        }
        invoices = {
            "invoice_id": np.arange(owner.size),
            "account_id": ids.take(owner),
            "issued": date_array(issued),
            "amount": g.gamma(3.0, 100.0, size=owner.size),
        }
        task = {
            "account_id": ids,
            "signup_date": date_array(day),
            "created_at": timestamp_array(created),
            "events": early.astype(np.int64),
            "busy": early >= 2,
        }
        writer.write_shard(
            i,
            tables={"accounts": accounts, "events": events, "invoices": invoices},
            tasks={"typed_task": task},
        )
    writer.write_dataset_card("# Typed Toy Dataset\n\nAccounts with typed time columns.\n")
    return True


@hookimpl
def write_metadata(world: Any, writer: BundleWriter, written: Any) -> bool | None:
    if not isinstance(world, TypedWorld):
        return None
    return True
