"""The recipe narrative: the company, product, market and buyers a world is made of.

Both first-party schemes read the same six sections from ``narrative.yaml``; a third-party
scheme may declare its own narrative type instead (see ``SchemeInfo.narrative_type``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from leadforge.errors import InvalidRecipeError
from leadforge.yamlfile import Fields

DEFAULT_WEEKDAY_WEIGHTS = (1.1, 1.15, 1.1, 1.05, 0.9, 0.12, 0.08)
#: Mild B2B seasonality: a strong Q1 and autumn, summer-holiday and year-end dips.
DEFAULT_MONTH_WEIGHTS = (1.0, 1.05, 1.1, 1.05, 1.05, 0.98, 0.9, 0.78, 1.05, 1.12, 1.05, 0.8)


@dataclass(frozen=True)
class CalendarProfile:
    """The recipe narrative's optional ``calendar:`` section; every field has a default."""

    start: dt.date = dt.date(2025, 1, 1)
    window_days: int = 365
    weekday_weights: tuple[float, ...] = DEFAULT_WEEKDAY_WEIGHTS
    month_weights: tuple[float, ...] = DEFAULT_MONTH_WEIGHTS
    quarter_end_boost: float = 1.35
    business_hours: tuple[int, int] = (9, 18)
    after_hours_share: float = 0.08

    @property
    def start_day(self) -> int:
        """``start`` as days since 1970-01-01."""
        return (self.start - dt.date(1970, 1, 1)).days

    @property
    def end_day(self) -> int:
        """The first day after the acquisition window."""
        return self.start_day + self.window_days

    @classmethod
    def from_mapping(cls, data: Any, file: str, prefix: str = "calendar.") -> CalendarProfile:
        """Strict parsing: unknown keys and bad values are one line naming ``file: key``."""

        def fail(key: str, message: str) -> InvalidRecipeError:
            return InvalidRecipeError(f"{file}: {prefix}{key} {message}")

        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise InvalidRecipeError(f"{file}: {prefix.rstrip('.')} must be a mapping")
        known = {"start", "window_days", "weekday_weights", "month_weights", "quarter_end_boost"}
        known |= {"business_hours", "after_hours_share"}
        for key in data:
            if key not in known:
                valid = ", ".join(sorted(known))
                raise fail(str(key), f"is not a calendar key; valid keys: {valid}")
        kw: dict[str, Any] = {}
        if "start" in data:
            kw["start"] = _parse_date(data["start"], lambda m: fail("start", m))
        if "window_days" in data:
            v = data["window_days"]
            if isinstance(v, bool) or not isinstance(v, int) or not 7 <= v <= 3660:
                raise fail("window_days", f"must be an integer within [7, 3660], got {v!r}")
            kw["window_days"] = v
        for key, size in (("weekday_weights", 7), ("month_weights", 12)):
            if key in data:
                kw[key] = _parse_weights(data[key], size, lambda m, k=key: fail(k, m))
        if "quarter_end_boost" in data:
            kw["quarter_end_boost"] = _parse_number(
                data["quarter_end_boost"], 0.0, 10.0, lambda m: fail("quarter_end_boost", m), open_low=True
            )
        if "after_hours_share" in data:
            kw["after_hours_share"] = _parse_number(
                data["after_hours_share"], 0.0, 1.0, lambda m: fail("after_hours_share", m)
            )
        if "business_hours" in data:
            v = data["business_hours"]
            ok = (
                isinstance(v, list)
                and len(v) == 2
                and all(isinstance(x, int) and not isinstance(x, bool) for x in v)
                and 0 <= v[0] < v[1] <= 24
            )
            if not ok:
                raise fail(
                    "business_hours", f"must be [start, end] hours with 0 <= start < end <= 24, got {v!r}"
                )
            kw["business_hours"] = (v[0], v[1])
        return cls(**kw)

    def to_json(self) -> dict[str, Any]:
        """Every field with its effective value (``start`` as ISO text) for ``world_spec.json``."""
        return {
            "start": self.start.isoformat(),
            "window_days": self.window_days,
            "weekday_weights": list(self.weekday_weights),
            "month_weights": list(self.month_weights),
            "quarter_end_boost": self.quarter_end_boost,
            "business_hours": list(self.business_hours),
            "after_hours_share": self.after_hours_share,
        }


def _parse_date(value: Any, fail: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise fail(f"must be a date (YYYY-MM-DD), got {value!r}")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise fail(f"must be a date (YYYY-MM-DD), got {value!r}")


def _parse_number(value: Any, lo: float, hi: float, fail: Any, *, open_low: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise fail(f"must be a number, got {value!r}")
    if value > hi or value < lo or (open_low and value <= lo):
        bracket = "(" if open_low else "["
        raise fail(f"must be within {bracket}{lo}, {hi}], got {value}")
    return float(value)


def _parse_weights(value: Any, size: int, fail: Any) -> tuple[float, ...]:
    ok = (
        isinstance(value, list)
        and len(value) == size
        and all(isinstance(x, int | float) and not isinstance(x, bool) and 0 <= x < 1e6 for x in value)
        and sum(value) > 0
    )
    if not ok:
        raise fail(f"must be a list of {size} non-negative numbers with a positive sum, got {value!r}")
    return tuple(float(x) for x in value)


@dataclass(frozen=True)
class Company:
    name: str
    founded_year: int
    hq_city: str
    hq_country: str
    stage: str
    employee_range: tuple[int, int]


@dataclass(frozen=True)
class Product:
    name: str
    category: str
    deployment: str
    pricing_model: str
    acv_range_usd: tuple[int, int]
    contract_terms_months: tuple[int, ...]
    free_trial_available: bool
    demo_available: bool


@dataclass(frozen=True)
class Market:
    icp_employee_range: tuple[int, int]
    icp_industries: tuple[str, ...]
    geographies: tuple[str, ...]
    avg_deal_size_usd: int
    avg_sales_cycle_days: int


@dataclass(frozen=True)
class GTMMotion:
    channels: tuple[str, ...]
    inbound_share: float
    outbound_share: float
    partner_share: float


@dataclass(frozen=True)
class Persona:
    role: str
    title_variants: tuple[str, ...]
    decision_authority: str
    typical_involvement: str


@dataclass(frozen=True)
class FunnelStage:
    name: str
    label: str


@dataclass(frozen=True)
class Narrative:
    """A parsed ``narrative.yaml``; ``raw`` keeps the mapping for ``world_spec.json``.

    ``calendar`` is the optional ``calendar:`` section (acquisition window, weekday, month and
    quarter-end intensity, business hours); a narrative without it gets the defaults.
    """

    company: Company
    product: Product
    market: Market
    gtm_motion: GTMMotion
    personas: tuple[Persona, ...]
    funnel_stages: tuple[FunnelStage, ...]
    raw: Mapping[str, Any]
    calendar: CalendarProfile = field(default_factory=CalendarProfile)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], file: str) -> Narrative:
        top = Fields(data, file)
        top.require("company", "product", "market", "gtm_motion", "personas", "funnel_stages")
        c, p, m, g = (top.section(k) for k in ("company", "product", "market", "gtm_motion"))
        calendar = CalendarProfile.from_mapping(data.get("calendar"), file)
        raw = dict(data)
        if "calendar" in raw:
            raw["calendar"] = calendar.to_json()
        shares = {
            k: g.number(k, lo=0.0, hi=1.0) for k in ("inbound_share", "outbound_share", "partner_share")
        }
        return cls(
            company=Company(
                name=c.string("name"),
                founded_year=c.integer("founded_year"),
                hq_city=c.string("hq_city"),
                hq_country=c.string("hq_country"),
                stage=c.string("stage"),
                employee_range=c.int_pair("employee_range"),
            ),
            product=Product(
                name=p.string("name"),
                category=p.string("category"),
                deployment=p.string("deployment"),
                pricing_model=p.string("pricing_model"),
                acv_range_usd=p.int_pair("acv_range_usd"),
                contract_terms_months=p.integers("contract_terms_months"),
                free_trial_available=p.boolean("free_trial_available"),
                demo_available=p.boolean("demo_available"),
            ),
            market=Market(
                icp_employee_range=m.int_pair("icp_employee_range"),
                icp_industries=m.strings("icp_industries"),
                geographies=m.strings("geographies"),
                avg_deal_size_usd=m.integer("avg_deal_size_usd"),
                avg_sales_cycle_days=m.integer("avg_sales_cycle_days"),
            ),
            gtm_motion=GTMMotion(channels=g.strings("channels"), **shares),
            personas=tuple(
                Persona(
                    role=s.string("role"),
                    title_variants=s.strings("title_variants"),
                    decision_authority=s.string("decision_authority"),
                    typical_involvement=s.string("typical_involvement"),
                )
                for s in top.sections("personas")
            ),
            funnel_stages=tuple(
                FunnelStage(name=s.string("name"), label=s.string("label"))
                for s in top.sections("funnel_stages")
            ),
            raw=raw,
            calendar=calendar,
        )

    def channel_share(self, channel: str) -> float:
        """The GTM share of a channel name (``inbound_*`` / ``*outbound`` / ``partner_*``); 0 if none."""
        g = self.gtm_motion
        if channel.startswith("inbound"):
            return g.inbound_share
        if "outbound" in channel:
            return g.outbound_share
        if channel.startswith("partner"):
            return g.partner_share
        return 0.0
