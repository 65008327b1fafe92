"""The lifecycle scheme's knobs (``LifecycleParams``) and one difficulty tier (``LifecycleProfile``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from leadforge.errors import InvalidConfigError
from leadforge.params import param

from leadforge_lifecycle.families import FAMILY_NAMES


@dataclass(frozen=True)
class LifecycleParams:
    """Scheme parameters; the field defaults are the scheme defaults."""

    n_customers: int = param(
        24_000,
        help="customers simulated week by week (the default gives every tier's test split 150+ churners)",
        minimum=1,
        maximum=10_000_000,
    )
    observation_date: str | None = param(
        None,
        help="calendar observation date YYYY-MM-DD (default 2025-01-27); customers start in the "
        "acquisition window before it",
    )
    early_tenure_weeks: int = param(
        4, help="tenure anchor of the early-pLTV snapshot, in weeks after the start", minimum=1, maximum=104
    )
    shard_size: int = param(
        24_000,
        help="customers per simulation shard (each shard has its own random substream)",
        minimum=1,
        maximum=1_000_000,
    )
    motif_family: str | None = param(
        None, help="force a retention motif family (default: drawn from the seed)"
    )

    def check(self) -> None:
        if self.observation_date is not None:
            parse_date(self.observation_date, "observation_date")
        if self.motif_family is not None and self.motif_family not in FAMILY_NAMES:
            raise InvalidConfigError(
                f"motif_family must be one of {', '.join(FAMILY_NAMES)}; got {self.motif_family!r}",
                key="motif_family",
            )

    @property
    def observation(self) -> dt.date | None:
        return (
            None if self.observation_date is None else parse_date(self.observation_date, "observation_date")
        )


def parse_date(text: str, key: str) -> dt.date:
    """An ISO ``YYYY-MM-DD`` date, or an error naming ``key``."""
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
    except ValueError:
        pass
    raise InvalidConfigError(f"{key} must be an ISO date YYYY-MM-DD, got {text!r}", key=key)


@dataclass(frozen=True)
class LifecycleProfile:
    """One difficulty tier of ``difficulty_profiles.yaml``.

    The three ``*_range``/``*_share`` targets act on the world: the scheme solves its hazard
    multipliers so the simulated customers land on them (see ``calibration``). The family's
    character picks a point inside each range. ``signal_strength`` scales how strongly latent
    traits drive every hazard and how faithfully telemetry records health; the last three knobs
    distort the task snapshots.
    """

    first_year_churn: tuple[float, ...]
    expansion_rate: tuple[float, ...]
    still_active_share: float
    signal_strength: float
    noise_scale: float
    missing_rate: float
    outlier_rate: float
    midterm_churn_scale: float = 1.0
    renewal_churn_boost: float = 1.0
    term_end_share: float | None = None
    sentiment_sd: float = 0.0
    detractor_renewal_lift: float = 1.0
    churn_drift: float = 0.0
    depth_effect_drift: float = 0.0
    telemetry_noise: float = 1.0
    two_year_share: float = 0.35
    expansion_ceiling: float = 6.0
    expansion_trait_scale: float | None = None
    expansion_step_spread: float = 0.0
    description: str = ""

    def check(self) -> None:
        for key in ("first_year_churn", "expansion_rate"):
            band = getattr(self, key)
            if len(band) != 2 or not 0.0 < band[0] < band[1] < 1.0:
                raise InvalidConfigError(
                    f"{key} must be [low, high] with 0 < low < high < 1, got {band}", key=key
                )
        if not 0.05 <= self.still_active_share <= 0.95:
            raise InvalidConfigError(
                f"still_active_share must be within [0.05, 0.95], got {self.still_active_share}",
                key="still_active_share",
            )
        if not 0.0 <= self.midterm_churn_scale <= 1.0:
            raise InvalidConfigError("midterm_churn_scale must be within [0, 1]", key="midterm_churn_scale")
        if not 1.0 <= self.renewal_churn_boost <= 100.0:
            raise InvalidConfigError("renewal_churn_boost must be within [1, 100]", key="renewal_churn_boost")
        if self.term_end_share is not None and not 0.3 <= self.term_end_share <= 0.95:
            raise InvalidConfigError("term_end_share must be within [0.3, 0.95]", key="term_end_share")
        if not 0.0 <= self.sentiment_sd <= 5.0:
            raise InvalidConfigError("sentiment_sd must be within [0, 5]", key="sentiment_sd")
        if not 1.0 <= self.detractor_renewal_lift <= 20.0:
            raise InvalidConfigError(
                "detractor_renewal_lift must be within [1, 20]", key="detractor_renewal_lift"
            )
        if not -2.0 <= self.churn_drift <= 2.0:
            raise InvalidConfigError("churn_drift must be within [-2, 2]", key="churn_drift")
        if not -2.0 <= self.depth_effect_drift <= 2.0:
            raise InvalidConfigError("depth_effect_drift must be within [-2, 2]", key="depth_effect_drift")
        if not 0.5 <= self.telemetry_noise <= 4.0:
            raise InvalidConfigError("telemetry_noise must be within [0.5, 4]", key="telemetry_noise")
        if not 0.0 <= self.two_year_share <= 1.0:
            raise InvalidConfigError("two_year_share must be within [0, 1]", key="two_year_share")
        if not 1.5 <= self.expansion_ceiling <= 100.0:
            raise InvalidConfigError("expansion_ceiling must be within [1.5, 100]", key="expansion_ceiling")
        if self.expansion_trait_scale is not None and not 0.0 <= self.expansion_trait_scale <= 2.0:
            raise InvalidConfigError(
                "expansion_trait_scale must be within [0, 2]", key="expansion_trait_scale"
            )
        if not 0.0 <= self.expansion_step_spread <= 1.0:
            raise InvalidConfigError(
                "expansion_step_spread must be within [0, 1]", key="expansion_step_spread"
            )
        if not 0.0 <= self.signal_strength <= 1.0:
            raise InvalidConfigError("signal_strength must be within [0, 1]", key="signal_strength")
        for key in ("noise_scale", "missing_rate", "outlier_rate"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise InvalidConfigError(f"{key} must be within [0, 1]", key=key)

    @property
    def churn_band(self) -> tuple[float, float]:
        return (self.first_year_churn[0], self.first_year_churn[1])

    @property
    def expansion_band(self) -> tuple[float, float]:
        return (self.expansion_rate[0], self.expansion_rate[1])
