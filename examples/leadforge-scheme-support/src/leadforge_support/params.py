"""The support scheme's parameters, difficulty knobs and narrative."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from leadforge.errors import InvalidConfigError
from leadforge.params import param
from leadforge.yamlfile import Fields

PRIORITIES = ("urgent", "high", "normal", "low")
#: Days a ticket of each priority may stay open before it breaches its SLA.
SLA_DAYS = {"urgent": 1, "high": 2, "normal": 4, "low": 7}


@dataclass(frozen=True)
class SupportParams:
    n_customers: int = param(400, help="customer accounts raising tickets", minimum=1, maximum=200_000)
    n_agents: int = param(6, help="support agents on the team", minimum=1, maximum=5_000)
    horizon_days: int = param(120, help="days of helpdesk activity to simulate", minimum=14, maximum=3650)

    def check(self) -> None:
        if self.n_agents > self.n_customers:
            raise InvalidConfigError(
                f"n_agents ({self.n_agents}) must not exceed n_customers ({self.n_customers})", key="n_agents"
            )


@dataclass(frozen=True)
class SupportProfile:
    """One difficulty tier: how stretched the team is, and how messy the snapshot is."""

    load_factor: float
    noise_scale: float
    missing_rate: float
    outlier_rate: float
    description: str = ""

    def check(self) -> None:
        if not 0.2 <= self.load_factor <= 5.0:
            raise InvalidConfigError(
                f"load_factor must be within [0.2, 5], got {self.load_factor}", key="load_factor"
            )
        for key in ("noise_scale", "missing_rate", "outlier_rate"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise InvalidConfigError(f"{key} must be within [0, 1]", key=key)


@dataclass(frozen=True)
class Plan:
    name: str
    share: float
    seats: tuple[int, int]
    ticket_rate: float


@dataclass(frozen=True)
class Category:
    name: str
    share: float
    effort: float


@dataclass(frozen=True)
class SupportNarrative:
    """``narrative.yaml`` of a support recipe: the vendor, its plans and its ticket mix."""

    company: str
    product: str
    plans: tuple[Plan, ...]
    categories: tuple[Category, ...]
    raw: Mapping[str, Any]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], file: str) -> SupportNarrative:
        top = Fields(data, file)
        top.require("company", "product", "plans", "categories")
        plans = tuple(
            Plan(
                p.string("name"),
                p.number("share", lo=0, hi=1),
                p.int_pair("seats"),
                p.number("ticket_rate", lo=0, hi=5),
            )
            for p in top.sections("plans")
        )
        cats = tuple(
            Category(c.string("name"), c.number("share", lo=0, hi=1), c.number("effort", lo=0.05, hi=10))
            for c in top.sections("categories")
        )
        for what, items in (("plans", plans), ("categories", cats)):
            if abs(sum(i.share for i in items) - 1.0) > 1e-6:
                raise top.fail(what, "shares must sum to 1")
        return cls(top.string("company"), top.string("product"), plans, cats, dict(data))
