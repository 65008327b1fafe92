"""The recipe narrative: the company, product, market and buyers a world is made of.

Both first-party schemes read the same six sections from ``narrative.yaml``; a third-party
scheme may declare its own narrative type instead (see ``SchemeInfo.narrative_type``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from leadforge.yamlfile import Fields


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
    """A parsed ``narrative.yaml``; ``raw`` keeps the mapping for ``world_spec.json``."""

    company: Company
    product: Product
    market: Market
    gtm_motion: GTMMotion
    personas: tuple[Persona, ...]
    funnel_stages: tuple[FunnelStage, ...]
    raw: Mapping[str, Any]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], file: str) -> Narrative:
        top = Fields(data, file)
        top.require("company", "product", "market", "gtm_motion", "personas", "funnel_stages")
        c, p, m, g = (top.section(k) for k in ("company", "product", "market", "gtm_motion"))
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
            raw=dict(data),
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
