"""The scheme's parameters (population, calendar, task) and one tier of its difficulty profiles."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from leadforge.errors import InvalidConfigError
from leadforge.params import brief, param

from leadforge_leadscoring.traits import TRAITS
from leadforge_leadscoring.vocab import DEFAULT_TASK

#: How far below ``shard_leads`` a shard's expected leads sit, in standard deviations of the draw.
LEAD_MARGIN_SD = 8
_TASK_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: Observable attribute -> the entity whose latent trait an intro-tier shift moves.
SHIFT_FIELDS = {
    "industry": "account",
    "region": "account",
    "employee_band": "account",
    "estimated_revenue_band": "account",
    "process_maturity_band": "account",
    "seniority": "contact",
    "role_function": "contact",
    "buyer_role": "contact",
    "lead_source": "lead",
}


@dataclass(frozen=True)
class LeadScoringParams:
    """Population sizes, the simulated calendar and the supervised task."""

    n_accounts: int = param(1500, help="accounts (buying companies) in the world", minimum=1, maximum=10**8)
    n_contacts: int = param(4200, help="buyer contacts, spread over the accounts", minimum=1, maximum=10**8)
    n_leads: int = param(5000, help="leads simulated through the funnel", minimum=1, maximum=10**8)
    horizon_days: int = param(
        90, help="days each lead is simulated from its creation", minimum=1, maximum=3650
    )
    primary_task: str = param(
        DEFAULT_TASK, help="task id; also the name of its label column (converted within the label window)"
    )
    label_window_days: int = param(
        90, help="a lead is positive if it closes won within this many days", minimum=1, maximum=3650
    )
    snapshot_day: int | None = param(
        None, help="features use each lead's first N days (null: the whole horizon)", minimum=1, maximum=3650
    )
    shard_accounts: int = param(
        16_384,
        help="most accounts one simulation shard holds; fixes the random substreams (part of the config)",
        minimum=1,
        maximum=10**7,
    )
    shard_leads: int = param(
        50_000,
        help="most leads one simulation shard holds (bounds memory per worker); part of the config",
        minimum=1_000,
        maximum=10**7,
    )

    def shard_count(self) -> int:
        """How many shards the world is cut into: enough that none exceeds ``shard_accounts``
        accounts, nor (with eight standard deviations of the lead draw to spare) ``shard_leads`` leads."""
        target = self.shard_leads - LEAD_MARGIN_SD * math.sqrt(3 * self.shard_leads)
        return max(-(-self.n_accounts // self.shard_accounts), math.ceil(self.n_leads / target))

    def check(self) -> None:
        if not _TASK_ID.match(self.primary_task):
            raise InvalidConfigError(
                "primary_task must be an identifier (letters, digits, underscores), "
                f"got {brief(self.primary_task)}",
                key="primary_task",
            )
        if self.label_window_days > self.horizon_days:
            raise InvalidConfigError(
                f"label_window_days ({self.label_window_days}) must not exceed horizon_days "
                f"({self.horizon_days})",
                key="label_window_days",
            )
        if self.snapshot_day is not None:
            if self.snapshot_day > self.horizon_days:
                raise InvalidConfigError(
                    f"snapshot_day ({self.snapshot_day}) must not exceed horizon_days ({self.horizon_days})",
                    key="snapshot_day",
                )
            if self.snapshot_day > self.label_window_days:
                raise InvalidConfigError(
                    f"snapshot_day ({self.snapshot_day}) must not exceed label_window_days "
                    f"({self.label_window_days}): features after the label window would leak the label",
                    key="snapshot_day",
                )

    @property
    def feature_window(self) -> int:
        """Last lead-relative day the snapshot features see (inclusive)."""
        return self.horizon_days if self.snapshot_day is None else self.snapshot_day


@dataclass(frozen=True)
class CategoryShift:
    """Intro tier: an observable category moves a latent trait, so simple models find signal."""

    field: str
    trait: str
    boosts: Mapping[str, float]


#: Closed ranges of the profile's scalar knobs.
_RANGES: dict[str, tuple[float, float]] = {
    "noise_scale": (0.0, 1.0),
    "missing_rate": (0.0, 1.0),
    "outlier_rate": (0.0, 1.0),
    "glitch_rate": (0.0, 1.0),
    "committee_friction": (0.0, 1.0),
    "deal_noise": (0.0, 5.0),
    "behaviour_noise": (0.0, 5.0),
    "qualification_speed": (0.05, 2.5),
    "deal_speed": (0.05, 2.5),
    "acv_sigma": (0.0, 2.0),
    "fit_drift": (0.0, 1.0),
    "market_spread": (0.0, 3.0),
    "market_reversal": (0.0, 1.0),
}


@dataclass(frozen=True)
class LeadScoringProfile:
    """One tier of ``difficulty_profiles.yaml``.

    Signal, noise, missing values, outliers, the conversion band and committee friction, plus
    the knobs this world needs: ``deal_noise`` is the share of a deal's outcome that no
    pre-anchor behaviour can reveal (unobserved deal luck);
    ``behaviour_noise`` is lead-level habit noise on every engagement intensity, unrelated to
    the latent graph; ``glitch_rate`` is the share of (lead, event kind) pairs whose records
    a broken sync or a bot inflates with phantom events (``glitch_size``: by how many times the
    real count plus one, low and high).

    The funnel's shape is recipe data too: ``opportunity_rate`` is the share of leads that open
    an opportunity within the horizon (early disqualification is calibrated to it; real B2B
    funnels lose most leads before sales), ``qualification_speed`` how fast leads move from
    mql to sql (a multiplier on those stages' advance rates: slower, and fewer opportunities
    are open by the snapshot day), ``deal_speed`` the same from sql to negotiation (slower, and
    more deals are still open when the label window ends), ``source_lift`` how many times more
    often a channel's leads convert than the baseline's (referrals above cold outbound), and
    ``opportunity_logging`` [share, days] how many opportunities reps log late in the CRM and by
    up to how many days (patchy records: the opportunity row and the snapshot see the logged
    day, the funnel the real one), ``acv_medians`` /
    ``acv_sigma`` the lognormal deal size per employee band (heavy-tailed, no cap).

    Drift over the acquisition window: between its ``drift_window`` fractions [start, end]
    the ideal customer profile moves ``fit_drift`` of the way from the world's fit tables to a
    second draw, and an industry market effect of spread ``market_spread`` (log-hazard sd)
    moves from one draw to another, reversed by ``market_reversal`` (0: an independent second
    draw, 1: the industries that bought early are the ones that cool off); a lead's hazards use
    the mechanisms of its creation day, so the next cohort is harder to score than a random
    split suggests.
    """

    signal_strength: float
    noise_scale: float
    missing_rate: float
    outlier_rate: float
    conversion_rate_range: tuple[float, ...]
    committee_friction: float
    deal_noise: float
    behaviour_noise: float
    glitch_rate: float
    description: str = ""
    conversion_rate_target: float | None = None
    category_latent_correlations: Mapping[str, Any] | None = None
    opportunity_rate: float | None = None
    qualification_speed: float = 1.0
    deal_speed: float = 1.0
    opportunity_logging: tuple[float, ...] = (0.0, 0)
    source_lift: Mapping[str, Any] | None = None
    acv_medians: tuple[float, ...] | None = None
    acv_sigma: float = 0.7
    glitch_size: tuple[int, ...] = (2, 6)
    drift_window: tuple[float, ...] = (0.0, 0.0)
    fit_drift: float = 0.0
    market_spread: float = 0.0
    market_reversal: float = 0.5

    def check(self) -> None:
        if not 0.0 < self.signal_strength <= 1.0:
            raise InvalidConfigError(
                f"signal_strength must be within (0, 1], got {self.signal_strength}", key="signal_strength"
            )
        for key, (lo, hi) in _RANGES.items():
            if not lo <= getattr(self, key) <= hi:
                raise InvalidConfigError(
                    f"{key} must be within [{lo:g}, {hi:g}], got {getattr(self, key)}", key=key
                )
        band = self.conversion_rate_range
        if len(band) != 2 or not 0.0 < band[0] < band[1] < 1.0:
            raise InvalidConfigError(
                f"conversion_rate_range must be [lo, hi] with 0 < lo < hi < 1, got {list(band)}",
                key="conversion_rate_range",
            )
        target = self.conversion_rate_target
        if target is not None and not band[0] <= target <= band[1]:
            raise InvalidConfigError(
                f"conversion_rate_target {target} lies outside conversion_rate_range {list(band)}",
                key="conversion_rate_target",
            )
        if self.opportunity_rate is not None and not band[1] < self.opportunity_rate < 1.0:
            raise InvalidConfigError(
                f"opportunity_rate must lie between the conversion band's top ({band[1]}) and 1, "
                f"got {self.opportunity_rate}",
                key="opportunity_rate",
            )
        for channel, lift in (self.source_lift or {}).items():
            if isinstance(lift, bool) or not isinstance(lift, int | float) or not 0.1 <= lift <= 10.0:
                raise InvalidConfigError(
                    f"source_lift.{channel} must be a number within [0.1, 10], got {lift!r}",
                    key=f"source_lift.{channel}",
                )
        medians = self.acv_medians
        if medians is not None and (len(medians) != 4 or min(medians) <= 0):
            raise InvalidConfigError(
                f"acv_medians must be four positive deal sizes (one per employee band), got {list(medians)}",
                key="acv_medians",
            )
        log = self.opportunity_logging
        if len(log) != 2 or not 0.0 <= log[0] <= 1.0 or not 0 <= log[1] <= 365:
            raise InvalidConfigError(
                f"opportunity_logging must be [share, days] with share in [0, 1] and days in [0, 365], "
                f"got {list(log)}",
                key="opportunity_logging",
            )
        size = self.glitch_size
        if len(size) != 2 or not 1 <= size[0] <= size[1] <= 20:
            raise InvalidConfigError(
                f"glitch_size must be [low, high] with 1 <= low <= high <= 20, got {list(size)}",
                key="glitch_size",
            )
        window = self.drift_window
        if len(window) != 2 or not 0.0 <= window[0] <= window[1] <= 1.0:
            raise InvalidConfigError(
                f"drift_window must be [start, end] with 0 <= start <= end <= 1, got {list(window)}",
                key="drift_window",
            )
        self.category_shifts  # noqa: B018 - parses and validates the mapping

    @property
    def target_rate(self) -> float:
        """The conversion rate the hazards are calibrated to (band midpoint unless pinned)."""
        lo, hi = self.conversion_rate_range
        return self.conversion_rate_target if self.conversion_rate_target is not None else (lo + hi) / 2

    def lift_of(self, channel: str) -> float:
        """The conversion lift of a channel: an exact name, else a prefix (``inbound`` matches
        ``inbound_marketing``), else 1."""
        lifts = self.source_lift or {}
        if channel in lifts:
            return float(lifts[channel])
        for key, value in lifts.items():
            if channel.startswith(str(key)):
                return float(value)
        return 1.0

    @property
    def category_shifts(self) -> tuple[CategoryShift, ...]:
        raw = self.category_latent_correlations or {}
        out = []
        for field, spec in raw.items():
            key = f"category_latent_correlations.{field}"
            if field not in SHIFT_FIELDS:
                raise InvalidConfigError(
                    f"{key}: unknown field; use one of {', '.join(sorted(SHIFT_FIELDS))}", key=key
                )
            if not isinstance(spec, Mapping) or "latent_trait" not in spec or "boosts" not in spec:
                raise InvalidConfigError(f"{key} needs latent_trait and boosts", key=key)
            trait = spec["latent_trait"]
            level = "contact" if SHIFT_FIELDS[field] == "lead" else SHIFT_FIELDS[field]
            if trait not in TRAITS or TRAITS[trait].level != level:
                valid = sorted(t for t, d in TRAITS.items() if d.level == level)
                raise InvalidConfigError(
                    f"{key}: latent_trait must be one of {valid}, got {trait!r}", key=key
                )
            boosts = spec["boosts"]
            if not isinstance(boosts, Mapping) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in boosts.values()
            ):
                raise InvalidConfigError(f"{key}.boosts must map values to numbers", key=key)
            out.append(CategoryShift(field, trait, {str(k): float(v) for k, v in boosts.items()}))
        return tuple(out)
