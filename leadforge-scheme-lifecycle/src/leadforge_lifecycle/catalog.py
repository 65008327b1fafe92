"""The customer-snapshot catalog (one spec per column) and the eight task definitions.

The catalog drives the feature dictionary, the distortions and every task schema. Both regimes
share it. Its column names, dtypes and order are part of the bundle format: ``current_plan``
and ``downgrade_count`` come from the contraction mechanism, and the two deliberate traps
(``mrr_change_full_period``, ``last_health_signal_post_obs``) are flagged ``leakage_risk``.

The contract and payment records (tenure, term, renewals, payment failures) are never distorted:
a billing system keeps them exactly and the public tables show them exactly, so blanking them
in the snapshot would only reward the student who joins the tables. A tier's difficulty lives in
its world and its telemetry instead.

Every task is keyed by ``customer_id``, so a customer has one split in all of them: the
calendar churn task is declared first and decides it (stratified on its label).
"""

from __future__ import annotations

from dataclasses import dataclass

from leadforge.bundle import TaskSpec
from leadforge.bundle.tasks import OracleSpec
from leadforge.experiment import TREATMENT_COLUMN, UPLIFT_COLUMN
from leadforge.features import FeatureSpec, catalog_schema
from leadforge.schema import DType, TableSchema

from leadforge_lifecycle.calendar import CHURN_WINDOW_DAYS, FORWARD_WINDOWS_DAYS

TRAPS = ("mrr_change_full_period", "last_health_signal_post_obs")
REVENUE_TARGETS = tuple(f"ltv_revenue_{w}d" for w in FORWARD_WINDOWS_DAYS)
CHURN_TARGET = f"churned_within_{CHURN_WINDOW_DAYS}d"
TARGETS = (*REVENUE_TARGETS, CHURN_TARGET)
#: The traps each task's rows carry: a trap sits where it teaches, never where it would copy the
#: label. ``last_health_signal_post_obs`` tells on a leaver's offboarding week (churn);
#: ``mrr_change_full_period`` reads the MRR half a year after the cutoff (the revenue tasks' early
#: leavers; over the churn window itself it would be the label). The 90-day revenue task has none:
#: the MRR in effect at the cutoff already ranks it at Spearman 0.93-0.98, so no trap could show.
TASK_TRAPS: dict[str, tuple[str, ...]] = {
    CHURN_TARGET: ("last_health_signal_post_obs",),
    REVENUE_TARGETS[0]: (),
    REVENUE_TARGETS[1]: ("mrr_change_full_period",),
    REVENUE_TARGETS[2]: ("mrr_change_full_period",),
}


def _f(
    name: str,
    dtype: DType,
    category: str,
    description: str,
    *,
    is_target: bool = False,
    leakage_risk: bool = False,
    non_negative: bool = False,
    distort: bool = True,
    max_value: float | None = None,
) -> FeatureSpec:
    centre, spread = SCALES.get(name, (None, None))
    return FeatureSpec(
        name,
        dtype,
        description,
        category,
        is_target=is_target,
        leakage_risk=leakage_risk,
        non_negative=non_negative,
        distort=distort,
        max_value=max_value,
        center=centre,
        spread=spread,
    )


#: Each float feature's (centre, spread): where its render-time outliers land (five spreads
#: either side) and the unit of its noise, about its median and standard deviation over the
#: customers of the default worlds (weekly users ride on the plans' seat counts, which recipes do
#: not change; depth scores and their slope are on fixed scales).
SCALES: dict[str, tuple[float | None, float | None]] = {
    "avg_active_users_l12w": (12.5, 12.0),
    "avg_active_users_l4w": (12.5, 12.0),
    "active_user_trend_l12w": (0.1, 0.9),
    "avg_feature_depth_l12w": (0.5, 0.16),
    "last_health_signal_post_obs": (0.5, 0.22),
}


CATALOG: tuple[FeatureSpec, ...] = (
    _f(
        "customer_id",
        "string",
        "customer_meta",
        "Customer identifier (join key, not a feature).",
        distort=False,
    ),
    _f(
        "account_id",
        "string",
        "customer_meta",
        "Owning account identifier (join key, not a feature).",
        distort=False,
    ),
    _f(
        "customer_start_at",
        "date",
        "customer_meta",
        "Day the customer signed (its cohort): the time column of the out-of-time split, not a "
        "feature (tenure_weeks carries its age).",
        distort=False,
    ),
    _f("industry", "string", "account", "Industry of the owning account."),
    _f("region", "string", "account", "Region of the owning account."),
    _f("employee_band", "string", "account", "Employee-count band of the owning account."),
    _f("estimated_revenue_band", "string", "account", "Revenue band of the owning account."),
    _f(
        "tenure_weeks",
        "Int64",
        "subscription",
        "Whole weeks from the customer's start to the cutoff.",
        non_negative=True,
        distort=False,
    ),
    _f("initial_plan", "string", "subscription", "Plan at signing: starter, growth or enterprise."),
    _f(
        "initial_mrr",
        "Int64",
        "subscription",
        "Monthly recurring revenue (USD) at signing.",
        non_negative=True,
    ),
    _f(
        "current_mrr",
        "Int64",
        "subscription",
        "MRR at the cutoff: initial MRR plus every expansion and contraction dated on or before it.",
        non_negative=True,
    ),
    _f(
        "mrr_change_at_snapshot",
        "Int64",
        "subscription",
        "current_mrr − initial_mrr at the cutoff (the leakage-safe counterpart of mrr_change_full_period).",
    ),
    _f(
        "renewal_count",
        "Int64",
        "subscription",
        "Contract renewals dated on or before the cutoff.",
        non_negative=True,
        distort=False,
    ),
    _f(
        "expansion_count",
        "Int64",
        "subscription",
        "Expansions dated on or before the cutoff.",
        non_negative=True,
    ),
    _f(
        "contract_term_months",
        "Int64",
        "subscription",
        "Contract term in months (12 or 24; the tier's profile sets the share of each).",
        non_negative=True,
        distort=False,
    ),
    _f(
        "weeks_to_next_renewal",
        "Int64",
        "subscription",
        "Weeks from the cutoff to the next contract anniversary (a full term when exactly on one).",
        non_negative=True,
        distort=False,
    ),
    _f(
        "avg_active_users_l12w",
        "Float64",
        "health",
        "Mean weekly active users over the 12 signal weeks up to the cutoff.",
        non_negative=True,
    ),
    _f(
        "avg_active_users_l4w",
        "Float64",
        "health",
        "Mean weekly active users over the 4 signal weeks up to the cutoff (the latest usage, "
        "next to the 12-week mean).",
        non_negative=True,
    ),
    _f(
        "active_user_trend_l12w",
        "Float64",
        "health",
        "Least-squares slope of weekly active users per week over the same window; "
        "null with fewer than 2 signals.",
    ),
    _f(
        "avg_feature_depth_l12w",
        "Float64",
        "health",
        "Mean feature-depth score (0–1) over the same window.",
        non_negative=True,
        max_value=1.0,
    ),
    _f(
        "support_ticket_count_l12w",
        "Int64",
        "health",
        "Support tickets opened over the same window.",
        non_negative=True,
    ),
    _f(
        "last_nps_score",
        "Int64",
        "health",
        "Latest NPS answer (0–10) on or before the cutoff; null if none yet "
        "(surveys every 13 weeks, not always answered).",
        non_negative=True,
    ),
    _f(
        "payment_failure_count",
        "Int64",
        "financial",
        "Payment failures dated on or before the cutoff.",
        non_negative=True,
        distort=False,
    ),
    _f(
        "weeks_since_last_payment_failure",
        "Int64",
        "financial",
        "Whole weeks since the latest payment failure on or before the cutoff; null if none.",
        non_negative=True,
        distort=False,
    ),
    _f(
        "current_plan",
        "string",
        "subscription",
        "Plan at the cutoff (expansions and contractions can move it).",
    ),
    _f(
        "downgrade_count",
        "Int64",
        "subscription",
        "Contractions (seat or plan downgrades) dated on or before the cutoff.",
        non_negative=True,
    ),
    _f(
        "mrr_change_full_period",
        "Int64",
        "subscription",
        "LEAKAGE TRAP (pLTV-365 and pLTV-730 tasks): MRR 180 days after the cutoff (zero if the "
        "customer has left by then) − initial MRR; includes changes after the cutoff, so an early "
        "leaver shows its whole MRR lost. Use mrr_change_at_snapshot instead.",
        leakage_risk=True,
    ),
    _f(
        "last_health_signal_post_obs",
        "Float64",
        "health",
        "LEAKAGE TRAP (churn tasks): feature-depth score of the customer's last health signal "
        "within a year after the cutoff (its churn week, when a leaver's users stop working in the "
        "product, or the week a year on) — a reading from after the cutoff posing as a current value.",
        leakage_risk=True,
        max_value=1.0,
    ),
    _f(
        "ltv_revenue_90d",
        "Float64",
        "target",
        "Target: collected revenue (paid or recovered invoices issued after the cutoff, within 90 days).",
        is_target=True,
        non_negative=True,
        distort=False,
    ),
    _f(
        "ltv_revenue_365d",
        "Float64",
        "target",
        "Target: collected revenue from invoices issued within 365 days after the cutoff.",
        is_target=True,
        non_negative=True,
        distort=False,
    ),
    _f(
        "ltv_revenue_730d",
        "Float64",
        "target",
        "Target: collected revenue from invoices issued within 730 days after the cutoff.",
        is_target=True,
        non_negative=True,
        distort=False,
    ),
    _f(
        CHURN_TARGET,
        "boolean",
        "target",
        "Target: the customer churns within 180 days after the cutoff.",
        is_target=True,
        distort=False,
    ),
)
SNAPSHOT_SCHEMA = catalog_schema(CATALOG)
FEATURES = tuple(f.name for f in CATALOG if not f.is_target)
#: The designed experiment's public arm, a feature of every task row when an experiment runs.
TREATMENT_FEATURE = _f(
    TREATMENT_COLUMN,
    "boolean",
    "experiment",
    "Designed experiment: the customer was randomised to the treatment (False: the usual policy); "
    "the policy acts from the first week after the observation date.",
    distort=False,
)
#: Futures simulated per task row of the answer key over the churn window (and the 90-day window):
#: antithetic pairs, so even.
REPLICATES = 8
#: Of these, the futures continued past the churn window (the 365- and 730-day revenue windows).
LONG_REPLICATES = 4


def replicates_of(window_days: int) -> int:
    """Futures behind the answer key of a task whose window is ``window_days``."""
    return REPLICATES if window_days <= CHURN_WINDOW_DAYS else LONG_REPLICATES


#: The answer-key column of each target (hidden: core moves it to metadata/oracle/).
ORACLE_COLUMNS = {CHURN_TARGET: "oracle_churn_probability"} | {
    label: f"oracle_expected_{label}" for label in REVENUE_TARGETS
}


def catalog(experiment: bool = False) -> tuple[FeatureSpec, ...]:
    """The feature catalog, with the experiment's arm when one runs."""
    return (*CATALOG, TREATMENT_FEATURE) if experiment else CATALOG


@dataclass(frozen=True)
class Regime:
    """An observation regime: which cutoff its snapshot uses and the prefix of its task ids."""

    name: str
    prefix: str
    anchor: str


CALENDAR = Regime("calendar", "", "the fixed observation date")
EARLY = Regime("early", "early_", "each customer's tenure anchor (customer_start + early_tenure_weeks)")
REGIMES = (CALENDAR, EARLY)


def task_schema(label: str, *, oracle: bool = False, experiment: bool = False) -> TableSchema:
    """Every non-target column but the traps of other tasks, plus the task's own label (no sibling
    target); the experiment's arm, and the hidden oracle (and uplift) columns of an instructor
    bundle, come last."""
    own = TASK_TRAPS[label]
    base = catalog_schema(
        [
            f
            for f in catalog(experiment)
            if (not f.is_target or f.name == label) and (f.name not in TRAPS or f.name in own)
        ]
    )
    extra: list[tuple[str, DType]] = []
    if oracle:
        extra.append((ORACLE_COLUMNS[label], "Float64"))
        if experiment:
            extra.append((UPLIFT_COLUMN, "Float64"))
    return TableSchema.of([*base.columns, *extra]) if extra else base


def oracle_spec(label: str, window_days: int, experiment: bool) -> OracleSpec:
    """How the answer key of ``label``'s task is computed (see ``leadforge_lifecycle.oracle``)."""
    replicates = replicates_of(window_days)
    what = (
        "the probability the customer churns within the window"
        if label == CHURN_TARGET
        else "the expected collected revenue of the window"
    )
    return OracleSpec(
        column=ORACLE_COLUMNS[label],
        method="replicates",
        replicates=replicates,
        description=(
            f"{what}, given the customer's state at the start of its anchor week (latents, engagement, "
            f"recent tickets, MRR, contract and billing calendar, dunning state, policy): the mean of "
            f"{replicates} futures simulated with the engine's own hazards in antithetic pairs, churn and "
            "write-offs integrated along each future, tickets and MRR moves taken at their expected "
            "values, conditioned on the customer being alive at the cutoff"
        ),
        uplift=UPLIFT_COLUMN if experiment else "",
    )


def split_note(regime: Regime) -> str:
    """How a task's split is assigned: the same for every task, told in every description."""
    note = (
        "Splits: one assignment per customer, shared by every task of the bundle: 70/15/15 by a hash "
        f"of the customer id and the seed, stratified on the calendar {CHURN_TARGET} label."
    )
    if regime is not CALENDAR:
        note += (
            " A customer outside the calendar cohort (churned before the observation date) is placed "
            "by the hash alone."
        )
    return note


def _except_traps(label: str) -> str:
    traps = TASK_TRAPS[label]
    if not traps:
        return "with no leakage trap"
    return f"except the documented trap{'s' if len(traps) > 1 else ''} {' and '.join(traps)}"


def tasks(regime: Regime, *, oracle: bool = False, experiment: bool = False) -> list[TaskSpec]:
    """The regime's four tasks: churn classification first (the calendar one decides the split
    assignment every task shares), then the three pLTV regressions; with ``oracle`` each
    carries its answer key (instructor bundles)."""
    note = split_note(regime)

    def key(label: str, window: int) -> OracleSpec | None:
        return oracle_spec(label, window, experiment) if oracle else None

    out = [
        TaskSpec(
            task_id=f"{regime.prefix}{CHURN_TARGET}",
            task_type="binary_classification",
            label_column=CHURN_TARGET,
            label_window_days=CHURN_WINDOW_DAYS,
            primary_table="customers",
            key_column="customer_id",
            time_column="customer_start_at",
            segment_column="initial_plan",
            description=(
                f"Predict whether the customer churns within {CHURN_WINDOW_DAYS} days after {regime.anchor}; "
                "it doubles as the zero-inflation indicator of a two-part pLTV model. Features use only "
                f"rows dated on or before the cutoff, {_except_traps(CHURN_TARGET)}. {note}"
            ),
            oracle=key(CHURN_TARGET, CHURN_WINDOW_DAYS),
        )
    ]
    for window, label in zip(FORWARD_WINDOWS_DAYS, REVENUE_TARGETS, strict=True):
        out.append(
            TaskSpec(
                task_id=f"{regime.prefix}pltv_revenue_{window}d",
                task_type="regression",
                label_column=label,
                label_window_days=window,
                primary_table="customers",
                key_column="customer_id",
                time_column="customer_start_at",
                segment_column="initial_plan",
                description=(
                    f"Predict {label}: gross revenue collected from invoices issued in the {window} days "
                    f"after {regime.anchor} (paid or later recovered; failed and written-off invoices "
                    "count zero). Zero-inflated and right-skewed. Features use only rows dated on or "
                    f"before the cutoff, {_except_traps(label)}. {note}"
                ),
                oracle=key(label, window),
            )
        )
    return out
