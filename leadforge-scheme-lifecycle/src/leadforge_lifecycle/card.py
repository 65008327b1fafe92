"""The dataset card, written for the bundle's exposure mode, one function per section.

A public card never describes ``early_`` tasks: public bundles do not carry them.
"""

from __future__ import annotations

from collections.abc import Sequence

from leadforge.enums import ExposureMode

from leadforge_lifecycle.calendar import CHURN_WINDOW_DAYS, FORWARD_WINDOWS_DAYS
from leadforge_lifecycle.catalog import CALENDAR, CATALOG, CHURN_TARGET, REGIMES, tasks
from leadforge_lifecycle.contract import PUBLIC_SUBSCRIPTION_COLUMNS
from leadforge_lifecycle.stats import BundleStats
from leadforge_lifecycle.world import LifecycleWorld

TITLE = "B2B SaaS pLTV Dataset"


def render(
    world: LifecycleWorld, mode: ExposureMode, stats: BundleStats, reproduce: Sequence[str] = ()
) -> str:
    """The card; ``reproduce`` are the writer's lines on how to make the bundle again."""
    public = mode is ExposureMode.STUDENT_PUBLIC
    sections = [
        [f"# {TITLE} — {world.config.difficulty.value.capitalize()} Tier"],
        _what_this_is(world),
        _regimes(world, public),
        _tasks(stats, public),
        _splits(public),
        _tables(world, stats, public),
        _tier(world),
        _traps(),
        _reproducibility(world, reproduce),
    ]
    return "\n\n".join("\n".join(lines) for lines in sections) + "\n"


def _what_this_is(world: LifecycleWorld) -> list[str]:
    n = world.narrative
    return [
        "## What this is",
        "",
        f"The post-sale life of {world.n_customers} B2B SaaS customers of {n.company.name} "
        f"({n.product.name}), simulated week by week: product usage and support health, monthly "
        "invoices, payment failures and dunning, contract renewals, expansions and contractions, and "
        "churn. The headline task is pLTV regression — the revenue a customer will actually pay over "
        "the next 90, 365 or 730 days — a continuous, zero-inflated, right-skewed target suited to "
        "two-part models and ranking metrics. "
        f"Churn within {CHURN_WINDOW_DAYS} days is the secondary task.",
    ]


def _regimes(world: LifecycleWorld, public: bool) -> list[str]:
    obs = world.calendar.observation_date.isoformat()
    lines = [
        "## Observation regimes",
        "",
        f"- **Calendar-anchored** — every customer is scored on the observation date **{obs}** (tenure "
        f"0–{world.calendar.acquisition_days // 7} weeks). Tasks `pltv_revenue_{{90,365,730}}d` and "
        "`churned_within_180d`.",
    ]
    if public:
        return [
            *lines,
            "",
            "This public bundle carries the calendar-anchored regime only: its relational tables end on "
            "the observation date, so any other cutoff would put target revenue inside the published "
            "history.",
        ]
    return [
        *lines,
        f"- **Tenure-anchored (early pLTV)** — each customer is scored at customer_start + "
        f"{world.calendar.early_tenure_weeks} weeks, from its first weeks of signal. Same tasks with the "
        "prefix `early_`. Instructor bundles only.",
    ]


def _tasks(stats: BundleStats, public: bool) -> list[str]:
    lines = [
        "## Tasks",
        "",
        "| task_id | type | target | window (days) | rows | label summary |",
        "|---|---|---|---|---|---|",
    ]
    for regime in (CALENDAR,) if public else REGIMES:
        summary = stats.labels[regime.name]
        for spec in tasks(regime):
            if spec.task_type == "regression":
                i = FORWARD_WINDOWS_DAYS.index(spec.label_window_days)
                note = (
                    f"mean {summary.mean_revenue(i):,.0f} USD; {summary.zero_share(i):.1%} zero; "
                    f"{summary.gone_share(i):.1%} churned by the window's end"
                )
            else:
                note = f"{summary.churn_rate:.1%} churn"
            lines.append(
                f"| `{spec.task_id}` | {spec.task_type} | `{spec.label_column}` | {spec.label_window_days} "
                f"| {summary.rows} | {note} |"
            )
    lines += [
        "",
        "Revenue targets sum the invoices issued after the cutoff (exclusive) and within the window "
        "(inclusive) that were paid or later recovered. The windows are nested from the same cutoff, "
        "so a customer with no revenue in 730 days has none in 90 days either: the exact-zero share "
        "cannot grow with the window. What grows is the share of customers who have churned by the "
        "window's end and contribute nothing to the rest of it. Each split file carries only its own "
        "target.",
    ]
    return lines


def _splits(public: bool) -> list[str]:
    lines = [
        "## Splits",
        "",
        "Each customer has one split, and every task it appears in puts it there: the assignment is "
        f"decided once, by the calendar `{CHURN_TARGET}` task, from a hash of the customer id and the "
        "seed, stratified on that label (70/15/15 of each class within each block of customers "
        "simulated together). The regression tasks reuse it, so a model trained for one task is never "
        "scored on another task's training customers. Split files are sorted by `customer_id`.",
    ]
    if not public:
        lines += [
            "",
            "The `early_` cohorts also hold customers who churned before the observation date and so are "
            "not in the calendar cohort; each of those is placed by its hash alone (below 0.70 train, "
            "below 0.85 valid, else test).",
        ]
    return lines


def _tables(world: LifecycleWorld, stats: BundleStats, public: bool) -> list[str]:
    obs = world.calendar.observation_date.isoformat()
    lines = [
        "## Relational tables",
        "",
        "| table | rows |",
        "|---|---|",
        *(f"| `{name}` | {count} |" for name, count in stats.table_rows.items()),
        "",
    ]
    if public:
        kept = ", ".join(f"`{c}`" for c in PUBLIC_SUBSCRIPTION_COLUMNS)
        lines.append(
            f"Snapshot-safe: events, health signals and invoices stop at {obs}; invoices show their payment "
            f"status as of that date (a failure still in dunning reads `failed`); `subscriptions` keeps only "
            f"{kept}. Event, signal and invoice ids are numbered after the cut, so they reveal nothing "
            "about rows after it."
        )
    else:
        lines.append(
            "Full horizon: every customer is simulated until 730 days past its later cutoff (or churn), so "
            "no target is censored; `subscriptions` holds end-of-simulation values."
        )
    return lines


def _tier(world: LifecycleWorld) -> list[str]:
    profile = world.profile
    return [
        "## This tier",
        "",
        f"Difficulty `{world.config.difficulty.value}` acts on the world and on the snapshots: first-year "
        f"churn within {_band(profile.churn_band)} (every tier inside the 8–35 % annual logo churn SaaS "
        "retention surveys report: tiers differ by signal and noise, not by how often customers leave), "
        f"first-year expansion within {_band(profile.expansion_band)}, "
        + (
            f"about {profile.term_end_share:.0%} of churn within 30 days of a contract term end, "
            if profile.term_end_share is not None
            else ""
        )
        + f"{1.0 - profile.two_year_share:.0%} of contracts annual and the rest two-year, "
        + f"and about {profile.still_active_share:.0%} of the customers who "
        "choose to leave are still active users when they do (churn that gives no warning in usage). "
        f"Signal strength {profile.signal_strength:.2f} sets how strongly customer traits drive every "
        "hazard and how noisy the health telemetry is" + _expansion(world) + ". "
        f"Snapshot distortions: noise {profile.noise_scale:.2f} spreads on float features, "
        f"{profile.missing_rate:.0%} cells missing, {profile.outlier_rate:.0%} outliers (integer features "
        "stay integers; identifiers and targets are never distorted, nor are the contract and payment "
        f"records a billing system keeps exactly: {_exact_features()}; the traps are distorted like "
        "the features they pose as).",
    ]


def _expansion(world: LifecycleWorld) -> str:
    """The tier's expansion knobs, where it sets them (empty for a tier that sets neither)."""
    profile, mech = world.profile, world.mechanism
    parts = []
    if profile.expansion_trait_scale is not None:
        parts.append(
            f"expansion reads the traits more weakly than the other hazards (exponent scale "
            f"{mech.expansion_latent_scale:.2f}, not {mech.latent_scale:.2f})"
        )
    if profile.expansion_step_spread:
        parts.append(
            f"{profile.expansion_step_spread:.0%} of each expansion's size comes from a heavy tail with "
            "the same mean (most upsells add a few seats, an occasional one a department)"
        )
    return "; " + "; ".join(parts) if parts else ""


NUMERIC = ("Int64", "Float64")


def _exact_features() -> str:
    exact = [f.name for f in CATALOG if f.dtype in NUMERIC and not f.distortable and not f.is_target]
    return ", ".join(f"`{name}`" for name in exact)


def _traps() -> list[str]:
    return [
        "## Leakage traps",
        "",
        "- `mrr_change_full_period` (in the 365- and 730-day revenue tasks) uses the MRR 180 days after "
        "the cutoff (zero once the customer has left), so it carries the expansions, contractions and "
        "churn that happen after the cutoff: an early leaver shows its whole MRR lost; use "
        "`mrr_change_at_snapshot`.",
        "- `last_health_signal_post_obs` (in the churn tasks) is the feature depth of the customer's "
        "last health signal within a year of the cutoff (its churn week, when a leaver's users stop "
        "working in the product, or the week a year on) — a post-cutoff reading posing as a current "
        "value.",
        "- The 90-day revenue tasks carry no trap: the MRR in effect at the cutoff already ranks the "
        "next quarter's revenue almost perfectly, so a trap would have nothing to show.",
        "",
        "The section *Lessons in this bundle* measures what they add. The world also drifts across "
        "signup cohorts (later cohorts churn differently), so a model validated on a random split "
        "overrates its score on the next cohort: `task_manifest.json` offers the out-of-time split "
        "by `customer_start_at`.",
        "",
        "Both are flagged `leakage_risk` in `feature_dictionary.csv`; a model that uses them will not "
        "reproduce its score in production.",
    ]


def _reproducibility(world: LifecycleWorld, reproduce: Sequence[str]) -> list[str]:
    cfg = world.config
    return [
        "## Reproducibility",
        "",
        f"Recipe `{cfg.recipe_id}`, scheme `{cfg.scheme}`, seed {cfg.seed}, "
        f"difficulty `{cfg.difficulty.value}`:",
        "",
        *reproduce,
        "",
        "The same recipe, configuration, seed and package versions give byte-identical files.",
    ]


def _band(band: tuple[float, float]) -> str:
    return f"{band[0]:.0%}–{band[1]:.0%}"
