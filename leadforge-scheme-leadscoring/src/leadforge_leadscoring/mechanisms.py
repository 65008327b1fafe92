"""How the hidden graph generates behaviour: structural equations, drivers and hazards.

Every graph node is a structural equation evaluated per lead, in topological order::

    pre(n) = sum over parent edges p->n of  s * w(p, n) * transfer(v(p))  +  a(n) * u(n)
    v(n)   = (pre(n) - centre(n)) / scale(n)

``s`` is the tier's signal strength, ``w`` the sampled edge weight, ``transfer`` the edge's
linear / saturating / threshold shape, ``u(n)`` the node's exogenous term (a latent trait
of the account, contact or lead, a segment or rep property, or fresh noise) and ``a(n)``
its scale; ``centre``/``scale`` standardise the node on a calibration population, so every
node has unit scale whatever its parents. Node values then drive the daily engine through
five drivers, by node type: engagement (touches, sessions), intent (pricing interest and
session depth), lead state (funnel speed, disqualification), sales process (sales
activity, late-funnel speed, with friction nodes counting against it) and the outcome node
(the close-won hazard at negotiation). A node the graph lacks contributes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from leadforge.narrative import Narrative
from leadforge.rng import RNG

from leadforge_leadscoring import vocab as V
from leadforge_leadscoring.graph import OUTCOME, Edge, HiddenGraph, exogenous_for
from leadforge_leadscoring.params import LeadScoringProfile
from leadforge_leadscoring.population import LATENT_SD, Population, Vocabulary

#: Exogenous scale of a node by type: how much of a derived node its parents do not explain.
EXOGENOUS_SCALE = {
    "global_context": 1.0,
    "account_latent": 1.0,
    "contact_latent": 1.0,
    "lead_state": 0.7,
    "engagement_state": 0.7,
    "sales_process_state": 0.7,
    "observable_feature_source": 0.6,
}
#: Touch base rate per day on day 0, by motif: intent- and demo-led worlds touch more.
TOUCH_RATE = {
    "fit_dominant": 0.40,
    "intent_dominant": 0.55,
    "sales_execution_sensitive": 0.35,
    "demo_trial_mediated": 0.60,
    "buying_committee_friction": 0.30,
}
SOFT_AND_TEMPERATURE = 0.2
#: A peaked edge rises like its parent up to PEAK, then falls: past that point the parent
#: mostly marks researchers and competitors, who engage heavily and never buy.
PEAK = 0.7
PEAK_FALL = 3.0
FRICTION_WORDS = ("friction",)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


def transfer(kind: str, x: np.ndarray) -> np.ndarray:
    if kind == "peaked":
        return np.asarray(np.where(x <= PEAK, x, PEAK - PEAK_FALL * (x - PEAK)))
    if kind == "saturating":
        return np.asarray(1.5 * np.tanh(x / 1.5))
    if kind == "threshold":
        return np.asarray(np.logaddexp(0.0, 3.0 * (x - 0.5)) / 3.0)
    return x


@dataclass(frozen=True)
class NodeEquation:
    node_id: str
    node_type: str
    exogenous: str
    exo_scale: float
    parents: tuple[Edge, ...]
    centre: float = 0.0
    scale: float = 1.0
    combine: str = "sum"

    def to_json(self) -> dict[str, Any]:
        return {
            "node_type": self.node_type,
            "exogenous": self.exogenous,
            "exogenous_scale": round(self.exo_scale, 6),
            "parents": [
                {"source": e.source, "weight": round(e.weight, 6), "transfer": e.transfer}
                for e in self.parents
            ],
            "combine": self.combine,
            "centre": round(self.centre, 6),
            "scale": round(self.scale, 6),
        }

    def parent_term(self, values: Mapping[str, np.ndarray]) -> np.ndarray | float:
        """The parents' joint contribution: a weighted sum, or a soft AND (weighted soft-min).

        The soft AND keeps each parent's share of influence (its |weight|) but lets the
        weakest signed contribution dominate: a deal closes only when every driver is there.
        """
        if not self.parents:
            return 0.0
        terms = [np.sign(e.weight) * transfer(e.transfer, values[e.source]) for e in self.parents]
        weights = np.array([abs(e.weight) for e in self.parents])
        if self.combine != "soft_and" or len(self.parents) < 2:
            total: np.ndarray | float = np.sum([w * t for w, t in zip(weights, terms, strict=True)], axis=0)
            return total
        share = weights / weights.sum()
        stacked = np.stack(terms)
        soft_min = -SOFT_AND_TEMPERATURE * np.log(
            np.tensordot(share, np.exp(-stacked / SOFT_AND_TEMPERATURE), axes=1)
        )
        return float(np.sqrt(np.sum(weights**2))) * soft_min


@dataclass(frozen=True)
class Drivers:
    """Per-lead driver values the engine reads (all on a unit scale; 0 when a node type is absent)."""

    engagement: np.ndarray
    intent: np.ndarray
    lead_state: np.ndarray
    sales: np.ndarray
    demo: np.ndarray
    outcome: np.ndarray
    habit: np.ndarray


@dataclass(frozen=True)
class FitTable:
    """A hidden log-hazard table over two categorical attributes of a lead (an interaction)."""

    rows: str
    columns: str
    values: tuple[tuple[float, ...], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "columns": self.columns,
            "values": [[round(float(x), 6) for x in row] for row in self.values],
        }


@dataclass(frozen=True)
class EngineParams:
    """Everything the daily engine uses besides the drivers; exported in ``mechanism_summary.json``.

    Loadings (how strongly a driver moves a rate) are given at full signal and multiplied by
    the tier's signal strength in :func:`engine_params`. Stage tuples are indexed by stage
    code (mql … negotiation).
    """

    touch_rate: float
    glitch_rate: float = 0.0
    touch_decay: float = 0.96
    touch_floor: float = 0.05
    touch_ceiling: float = 1.0
    touch_engagement: float = 1.0
    touch_intent: float = 0.7
    session_base: float = 0.22
    session_engagement: float = 1.0
    session_intent: float = 0.8
    pricing_base: float = -0.4
    pricing_intent: float = 1.2
    pricing_state: float = 0.9
    demo_view_base: float = 0.0
    demo_view_demo: float = 1.0
    duration_engagement: float = 0.5
    activity_base: tuple[float, ...] = (0.06, 0.16, 0.20, 0.22, 0.22, 0.24, 0.20)
    activity_sales: float = 1.0
    activity_state: float = 0.8
    advance_base: tuple[float, ...] = (0.35, 0.30, 0.30, 0.30, 0.30, 0.25)
    advance_slope: float = 0.5
    min_dwell: tuple[int, ...] = (4, 4, 2, 3, 2, 3, 13)
    churn_base: tuple[float, ...] = (0.004, 0.003, 0.002, 0.002, 0.002, 0.002)
    churn_slope: float = 0.6
    friction_multiplier: float = 1.0
    loss_base: float = 0.012
    loss_slope: float = 2.0
    win_slope: float = 3.2
    win_cap: float = 0.5
    deal_centre: float = 42_000.0
    deal_width: float = 1.0
    deal_weight: float = 0.6
    acv_range: tuple[float, ...] = (18_000.0, 120_000.0)
    out_of_range_penalty: float = 1.5
    deal_and_temperature: float = 0.5
    fit_tables: tuple[FitTable, ...] = ()
    log_win_base: float = -3.0
    qualify_scale: float = 1.0
    qualification_speed: float = 1.0
    deal_speed: float = 1.0
    source_log_lift: tuple[float, ...] = ()
    acv_medians: tuple[float, ...] = (20_000.0, 33_000.0, 52_000.0, 80_000.0)
    acv_sigma: float = 0.7
    glitch_size: tuple[int, ...] = (2, 6)
    session_median_seconds: float = 150.0
    session_sigma: float = 0.85
    onboarding_touch_rate: float = 0.2
    activity_outcome_base: float = 0.6
    activity_outcome_slope: float = 1.0
    prospect_centre: float = 0.0
    prospect_scale: float = 1.0
    drift_days: tuple[float, ...] = ()
    fit_tables_late: tuple[FitTable, ...] = ()
    market_early: tuple[float, ...] = ()
    market_late: tuple[float, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in self.__dict__.items():
            if k in ("fit_tables", "fit_tables_late"):
                out[k] = [t.to_json() for t in v]
            else:
                out[k] = [round(float(x), 6) for x in v] if isinstance(v, tuple) else round(float(v), 6)
        out["min_dwell"] = list(self.min_dwell)
        out["glitch_size"] = list(self.glitch_size)
        return out


LOADINGS = (
    "touch_engagement",
    "touch_intent",
    "session_engagement",
    "session_intent",
    "pricing_intent",
    "pricing_state",
    "demo_view_demo",
    "duration_engagement",
    "activity_sales",
    "activity_state",
    "advance_slope",
    "churn_slope",
    "loss_slope",
    "win_slope",
)


#: The hidden commercial-fit tables: (rows, columns, spread of their log-hazard offsets). The
#: tables are pure interactions (every row and column averages zero over the population's
#: mix): no industry, size, persona or channel is better on its own, only some combinations.
#: Each table is rescaled to exactly its spread, so every world gets the same strength.
FIT_TABLES = (
    ("industry", "employee_band", 2.0),
    ("role_function", "seniority", 1.25),
    ("lead_source", "region", 1.0),
)


def draw_fit_tables(vocab: Vocabulary, rng: RNG) -> tuple[FitTable, ...]:
    def uniform(k: int) -> np.ndarray:
        return np.full(k, 1.0 / k)

    shares = {
        "industry": uniform(len(vocab.industries)),
        "region": uniform(len(vocab.regions)),
        "employee_band": np.asarray(V.EMPLOYEE_WEIGHTS),
        "role_function": uniform(len(vocab.roles)),
        "seniority": np.asarray(V.SENIORITY_WEIGHTS),
        "lead_source": np.asarray(vocab.channel_weights),
    }
    out = []
    for rows, cols, sd in FIT_TABLES:
        pr, pc = shares[rows] / shares[rows].sum(), shares[cols] / shares[cols].sum()
        values = rng.generator(f"fit:{rows}:{cols}").normal(0.0, sd, (pr.size, pc.size))
        grand = pr @ values @ pc
        values = values - (values @ pc)[:, None] - (pr @ values)[None, :] + grand
        spread = float(np.sqrt(pr @ values**2 @ pc))
        values = values * (sd / spread) if spread > 0 else values
        out.append(FitTable(rows, cols, tuple(tuple(float(x) for x in row) for row in values)))
    return tuple(out)


def drift_params(
    profile: LeadScoringProfile, vocab: Vocabulary, early: tuple[FitTable, ...], rng: RNG
) -> dict[str, Any]:
    """The engine fields of the tier's drift over the acquisition window (none without one).

    Between the window's ``drift_window`` fractions the ideal customer profile moves from the
    world's fit tables ``fit_drift`` of the way to a second, independent draw (a product
    change: other industries and sizes now fit), and market conditions move from one industry
    main effect to another, partly reversed (the industries that bought early cool off).
    Both are per-lead inputs to the hazards by creation day, so calibration sees them too.
    """
    start, end = profile.drift_window
    if end <= start or (profile.fit_drift <= 0 and profile.market_spread <= 0):
        return {}
    cal = vocab.calendar
    span = float(cal.end_day - cal.start_day)
    out: dict[str, Any] = {"drift_days": (cal.start_day + start * span, cal.start_day + end * span)}
    if profile.fit_drift > 0:
        late = draw_fit_tables(vocab, rng.child("drift"))
        f = profile.fit_drift
        out["fit_tables_late"] = tuple(
            FitTable(
                a.rows,
                a.columns,
                tuple(
                    tuple((1 - f) * x + f * y for x, y in zip(ra, rb, strict=True))
                    for ra, rb in zip(a.values, b.values, strict=True)
                ),
            )
            for a, b in zip(early, late, strict=True)
        )
    if profile.market_spread > 0:
        g = rng.generator("drift:market")
        k = len(vocab.industries)
        a, b = g.normal(0.0, 1.0, k), g.normal(0.0, 1.0, k)
        a = a - a.mean()
        b = b - b.mean()
        b = b - (a @ b) / (a @ a) * a
        a, b = a / a.std(), b / b.std()
        m = profile.market_spread
        out["market_early"] = tuple(float(x) for x in m * a)
        r = profile.market_reversal
        out["market_late"] = tuple(float(x) for x in m * (-r * a + np.sqrt(1.0 - r * r) * b))
    return out


def engine_params(
    motif: str,
    profile: LeadScoringProfile,
    narrative: Narrative,
    fit_tables: tuple[FitTable, ...],
    vocab: Vocabulary,
) -> EngineParams:
    """Engine parameters after difficulty: loadings scaled by signal strength, churn by friction,
    and the profile's funnel, channel and deal-size data."""
    lifts = np.log([profile.lift_of(c) for c in vocab.channels])
    # Centred on the channel mix, so the lifts move conversion between channels, not its level.
    lifts = lifts - float(np.dot(vocab.channel_weights, lifts))
    base = EngineParams(
        touch_rate=TOUCH_RATE.get(motif, 0.40),
        deal_centre=float(narrative.market.avg_deal_size_usd),
        acv_range=tuple(float(x) for x in narrative.product.acv_range_usd),
        fit_tables=fit_tables,
        glitch_rate=profile.glitch_rate,
        glitch_size=tuple(profile.glitch_size),
        friction_multiplier=1.0 + 0.5 * profile.committee_friction,
        source_log_lift=tuple(float(x) for x in lifts),
        acv_sigma=profile.acv_sigma,
        qualification_speed=profile.qualification_speed,
        deal_speed=profile.deal_speed,
    )
    if profile.acv_medians:
        base = replace(base, acv_medians=tuple(float(x) for x in profile.acv_medians))
    s = profile.signal_strength
    return replace(base, **{k: getattr(base, k) * s for k in LOADINGS})


@dataclass(frozen=True)
class Calibration:
    target_rate: float
    achieved_rate: float
    log_win_base: float
    leads: int
    days: int


@dataclass(frozen=True)
class StructuralModel:
    """The graph turned into equations, plus the world-level exogenous values it needs."""

    graph: HiddenGraph
    signal_strength: float
    equations: tuple[NodeEquation, ...]
    segment_values: np.ndarray
    rep_values: np.ndarray
    outcome_noise: float
    habit_sd: float
    #: do-operations: nodes held at a standardised value for every lead (their children follow)
    fixed: tuple[tuple[str, float], ...] = ()

    def node_values(self, pop: Population, rng: RNG) -> dict[str, np.ndarray]:
        """Standardised value of every node for every lead of ``pop``."""
        values: dict[str, np.ndarray] = {}
        fixed = dict(self.fixed)
        for eq in self.equations:
            if eq.node_id in fixed:
                values[eq.node_id] = np.full(pop.leads.contact.size, fixed[eq.node_id])
                continue
            pre = eq.exo_scale * self._exogenous(eq, pop, rng) + eq.parent_term(values)
            values[eq.node_id] = (pre - eq.centre) / eq.scale
        return values

    def drivers(self, pop: Population, rng: RNG) -> Drivers:
        values = self.node_values(pop, rng)
        n = pop.leads.contact.size
        g = self.graph
        zero = np.zeros(n)

        def mean_of(node_type: str) -> np.ndarray:
            ids = [x.node_id for x in g.nodes_of_type(node_type)]
            return np.mean([values[i] for i in ids], axis=0) if ids else zero

        sales_ids = [x.node_id for x in g.nodes_of_type("sales_process_state")]
        sales = (
            np.sum(
                [(-1.0 if any(w in i for w in FRICTION_WORDS) else 1.0) * values[i] for i in sales_ids],
                axis=0,
            )
            / np.sqrt(len(sales_ids))
            if sales_ids
            else zero
        )
        demo_ids = [i for i in ("demo_completion", "trial_depth") if i in values]
        demo = np.mean([values[i] for i in demo_ids], axis=0) if demo_ids else mean_of("lead_state")
        habit = rng.generator("habit").normal(0.0, self.habit_sd, n) if self.habit_sd > 0 else zero
        return Drivers(
            engagement=mean_of("engagement_state"),
            intent=mean_of("observable_feature_source"),
            lead_state=mean_of("lead_state"),
            sales=sales,
            demo=demo,
            outcome=values[OUTCOME],
            habit=habit,
        )

    def _exogenous(self, eq: NodeEquation, pop: Population, rng: RNG) -> np.ndarray:
        n = pop.leads.contact.size
        source = eq.exogenous
        if source == "segment":
            acc = pop.accounts
            return np.asarray(self.segment_values[acc.industry, acc.region][pop.leads.account])
        if source == "rep":
            return np.asarray(self.rep_values[pop.leads.rep])
        if source == "noise":
            return rng.generator(f"node:{eq.node_id}").normal(0.0, 1.0, n)
        return (pop.lead_trait(source) - 0.5) / LATENT_SD

    def to_json(self) -> dict[str, Any]:
        return {
            "signal_strength": self.signal_strength,
            "outcome_noise": round(self.outcome_noise, 6),
            "habit_sd": round(self.habit_sd, 6),
            "segment_values": [[round(float(x), 6) for x in row] for row in self.segment_values],
            "rep_values": [round(float(x), 6) for x in self.rep_values],
            "equations": {eq.node_id: eq.to_json() for eq in self.equations},
            **({"fixed_nodes": dict(self.fixed)} if self.fixed else {}),
        }


@dataclass(frozen=True)
class Mechanisms:
    """What ran: structural model, engine parameters after difficulty, hazard calibration."""

    motif_family: str
    model: StructuralModel
    engine: EngineParams
    calibration: Calibration
    category_shifts: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)

    def summary(self) -> dict[str, Any]:
        return {
            "motif_family": self.motif_family,
            "structural_model": self.model.to_json(),
            "engine": self.engine.to_json(),
            "hazard_calibration": {
                "target_conversion_rate": round(self.calibration.target_rate, 6),
                "calibration_sample_rate": round(self.calibration.achieved_rate, 6),
                "log_win_base": round(self.calibration.log_win_base, 6),
                "calibration_leads": self.calibration.leads,
                "calibration_days": self.calibration.days,
            },
            "category_latent_shifts": list(self.category_shifts),
        }


def _equations(graph: HiddenGraph, s: float, outcome_noise: float) -> list[NodeEquation]:
    out = []
    for node_id in graph.topological_order():
        node = graph.node(node_id)
        parents = tuple(Edge(e.source, e.target, s * e.weight, e.transfer) for e in graph.parents(node_id))
        exo = exogenous_for(node_id)
        scale = outcome_noise if node.node_type == "outcome" else EXOGENOUS_SCALE.get(node.node_type, 1.0)
        combine = "sum"
        if node.node_type == "outcome":
            exo, combine = "noise", "soft_and"
        out.append(NodeEquation(node_id, node.node_type, exo, scale, parents, combine=combine))
    return out


def structural_model(
    graph: HiddenGraph, profile: LeadScoringProfile, vocab: Vocabulary, pop: Population, rng: RNG
) -> StructuralModel:
    """The graph's equations with every node standardised on ``pop``, parents first.

    ``rng`` is the world's root stream: world-level exogenous values (segments, reps) come
    from its ``world`` namespace, the standardisation draws from ``calibration``.
    """
    s = profile.signal_strength
    world = rng.child("world")
    segments = world.generator("global_context").normal(0.0, 1.0, (len(vocab.industries), len(vocab.regions)))
    reps = world.generator("reps").normal(0.0, 1.0, V.N_REPS)
    cal_rng = rng.child("calibration")
    fitted: list[NodeEquation] = []
    for eq in _equations(graph, s, profile.deal_noise):
        partial = StructuralModel(
            graph, s, (*fitted, eq), segments, reps, profile.deal_noise, profile.behaviour_noise
        )
        raw = partial.node_values(pop, cal_rng)[eq.node_id]
        sd = float(np.std(raw))
        fitted.append(replace(eq, centre=float(np.mean(raw)), scale=sd if sd > 1e-9 else 1.0))
    return StructuralModel(
        graph, s, tuple(fitted), segments, reps, profile.deal_noise, profile.behaviour_noise
    )
