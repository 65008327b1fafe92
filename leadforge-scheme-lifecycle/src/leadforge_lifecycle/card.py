"""The dataset card, written for the bundle's exposure mode.

A public card never describes ``early_`` tasks: public bundles do not carry them.
"""

from __future__ import annotations

from leadforge.enums import ExposureMode

from leadforge_lifecycle.calendar import CHURN_WINDOW_DAYS, FORWARD_WINDOWS_DAYS
from leadforge_lifecycle.catalog import CALENDAR, REGIMES, tasks
from leadforge_lifecycle.stats import BundleStats
from leadforge_lifecycle.tables import PUBLIC_SUBSCRIPTION_COLUMNS, TABLE_ORDER
from leadforge_lifecycle.world import LifecycleWorld

TITLE = "B2B SaaS pLTV Dataset"


def render(world: LifecycleWorld, mode: ExposureMode, stats: BundleStats) -> str:
    cfg = world.config
    public = mode is ExposureMode.STUDENT_PUBLIC
    regimes = (CALENDAR,) if public else REGIMES
    obs = world.calendar.observation_date.isoformat()
    e = world.calendar.early_tenure_weeks
    profile = world.profile
    vendor = "a B2B SaaS vendor"
    if world.narrative is not None:
        vendor = f"{world.narrative.company.name} ({world.narrative.product.name})"
    lines = [
        f"# {TITLE} — {cfg.difficulty.value.capitalize()} Tier",
        "",
        "## What this is",
        "",
        f"The post-sale life of {world.n_customers} B2B SaaS customers of {vendor}, simulated week by "
        "week: product usage and support health, monthly invoices, payment failures and dunning, "
        "contract renewals, expansions and contractions, and churn. The headline task is pLTV "
        "regression — the revenue a customer will actually pay over the next 90, 365 or 730 days — a "
        "continuous, zero-inflated, right-skewed target suited to two-part models and ranking metrics. "
        f"Churn within {CHURN_WINDOW_DAYS} days is the secondary task.",
        "",
        "## Observation regimes",
        "",
        f"- **Calendar-anchored** — every customer is scored on the observation date **{obs}** (tenure "
        "0–52 weeks). Tasks `pltv_revenue_{90,365,730}d` and `churned_within_180d`.",
    ]
    if public:
        lines += [
            "",
            "This public bundle carries the calendar-anchored regime only: its relational tables end on "
            "the observation date, so any other cutoff would put target revenue inside the published "
            "history.",
        ]
    else:
        lines += [
            f"- **Tenure-anchored (early pLTV)** — each customer is scored at customer_start + {e} weeks, "
            "from its first weeks of signal. Same tasks with the prefix `early_`. Instructor bundles only.",
        ]
    lines += [
        "",
        "## Tasks",
        "",
        "| task_id | type | target | window (days) | rows | label summary |",
        "|---|---|---|---|---|---|",
    ]
    for regime in regimes:
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
        "window's end and contribute nothing to the rest of it. Splits are 70/15/15, "
        "assigned from a hash of the customer id and the seed; churn splits are stratified by the label. "
        "Each split file carries only its own target.",
        "",
        "## Relational tables",
        "",
        "| table | rows |",
        "|---|---|",
        *(f"| `{name}` | {stats.table_rows[name]} |" for name in TABLE_ORDER),
        "",
    ]
    if public:
        lines.append(
            f"Snapshot-safe: events, health signals and invoices stop at {obs}; invoices show their payment "
            "status as of that date (a failure still in dunning reads `failed`); `subscriptions` keeps only "
            f"{', '.join(f'`{c}`' for c in PUBLIC_SUBSCRIPTION_COLUMNS)}."
        )
    else:
        lines.append(
            "Full horizon: every customer is simulated until 730 days past its later cutoff (or churn), so "
            "no target is censored; `subscriptions` holds end-of-simulation values."
        )
    lines += [
        "",
        "## This tier",
        "",
        f"Difficulty `{cfg.difficulty.value}` acts on the world and on the snapshots: first-year churn "
        f"within {_band(profile.churn_band)}, first-year expansion within {_band(profile.expansion_band)}, "
        f"and about {profile.still_active_share:.0%} of the customers who choose to leave are still active "
        "users when they do (churn that gives no warning in usage). Signal strength "
        f"{profile.signal_strength:.2f} "
        "sets how strongly customer traits drive every hazard and how noisy the health telemetry is. "
        f"Snapshot distortions: noise {profile.noise_scale:.2f}·sd on float features, "
        f"{profile.missing_rate:.0%} cells missing, {profile.outlier_rate:.0%} outliers (integer features "
        "stay integers; identifiers, targets and traps are never distorted).",
        "",
        "## Leakage traps",
        "",
        "- `mrr_change_full_period` uses the end-of-simulation MRR, so it carries expansions and "
        "contractions that happen after the cutoff; use `mrr_change_at_snapshot`.",
        "- `last_health_signal_post_obs` is the feature depth of the customer's last health signal ever "
        "recorded (its churn week or the end of the simulation) — a post-cutoff reading posing as a "
        "current value.",
        "",
        "Both are flagged `leakage_risk` in `feature_dictionary.csv`; a model that uses them will not "
        "reproduce its score in production.",
        "",
        "## Reproducibility",
        "",
        f"Recipe `{cfg.recipe_id}`, scheme `{cfg.scheme}`, seed {cfg.seed}, "
        f"difficulty `{cfg.difficulty.value}`:",
        "",
        f"    leadforge generate --recipe {cfg.recipe_id} --seed {cfg.seed} --mode {mode.value} "
        f"--difficulty {cfg.difficulty.value} {_flags(world)}--out <dir>",
        "",
        "The same recipe, configuration, seed and package versions give byte-identical files.",
    ]
    return "\n".join(lines) + "\n"


def _band(band: tuple[float, float]) -> str:
    return f"{band[0]:.0%}–{band[1]:.0%}"


def _flags(world: LifecycleWorld) -> str:
    p = world.params
    flags = f"--n-customers {p.n_customers} "
    if p.observation_date is not None:
        flags += f"--observation-date {p.observation_date} "
    return flags + f"--early-tenure-weeks {p.early_tenure_weeks} "
