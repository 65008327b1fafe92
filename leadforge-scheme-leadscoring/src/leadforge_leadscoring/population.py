"""Accounts, contacts and leads with their latent traits, drawn shard by shard.

The world is cut into equal blocks of accounts, bounded in accounts and in leads. How many
contacts and leads each shard holds is decided once for the whole world (contacts in
proportion to accounts, leads by a multinomial split over contacts); a shard's entities
are then drawn from the shard's own substreams, so any shard can be rebuilt alone, on any
worker, in any order. Attributes share one substream per entity kind (accounts, contacts,
leads) and every latent trait has its own, so adding a trait or changing a mechanism never
moves another draw.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
from leadforge import calendar as cal
from leadforge.errors import InvalidConfigError
from leadforge.narrative import Narrative
from leadforge.rng import RNG
from leadforge.vocabulary import Vocabulary as WordLists

from leadforge_leadscoring import vocab as V
from leadforge_leadscoring.params import CategoryShift, LeadScoringParams
from leadforge_leadscoring.traits import TRAITS

LATENT_SD = 0.20
MATURITY_SD = 0.15


@dataclass(frozen=True)
class Vocabulary:
    """The recipe narrative's value sets, in the order their codes index them, its calendar,
    and the recipe's word lists for names."""

    industries: tuple[str, ...]
    regions: tuple[str, ...]
    channels: tuple[str, ...]
    channel_weights: tuple[float, ...]
    roles: tuple[str, ...]
    buyer_roles: tuple[str, ...]
    titles: tuple[tuple[str, ...], ...]
    calendar: cal.CalendarProfile
    words: WordLists

    @classmethod
    def from_narrative(cls, narrative: Narrative, names: WordLists | None = None) -> Vocabulary:
        m, g = narrative.market, narrative.gtm_motion
        for what, items in (
            ("market.icp_industries", m.icp_industries),
            ("market.geographies", m.geographies),
            ("gtm_motion.channels", g.channels),
            ("personas", narrative.personas),
        ):
            if not items:
                raise InvalidConfigError(f"the recipe narrative has an empty {what}", key=what)
        if any(not p.title_variants for p in narrative.personas):
            raise InvalidConfigError("every narrative persona needs a title variant", key="personas")
        shares = np.array([narrative.channel_share(c) for c in g.channels], dtype=np.float64)
        weights = shares / shares.sum() if shares.sum() > 0 else np.full(shares.size, 1.0 / shares.size)
        return cls(
            industries=tuple(m.icp_industries),
            regions=tuple(m.geographies),
            channels=tuple(g.channels),
            channel_weights=tuple(float(w) for w in weights),
            roles=tuple(p.role for p in narrative.personas),
            buyer_roles=tuple(p.decision_authority for p in narrative.personas),
            titles=tuple(tuple(p.title_variants) for p in narrative.personas),
            calendar=narrative.calendar,
            words=names or WordLists.default(),
        )

    @property
    def flat_titles(self) -> tuple[str, ...]:
        return tuple(t for group in self.titles for t in group)

    @property
    def title_offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum([len(t) for t in self.titles])[:-1]]).astype(np.int64)


@dataclass(frozen=True)
class Shard:
    """One block of accounts and the contacts and leads that belong to them (0-based starts)."""

    index: int
    account_start: int
    n_accounts: int
    contact_start: int
    n_contacts: int
    lead_start: int
    n_leads: int


@dataclass(frozen=True)
class Accounts:
    """``created_day`` is days since 1970-01-01; ``zone`` indexes :data:`leadforge.calendar.TIME_ZONES`."""

    industry: np.ndarray
    region: np.ndarray
    employee_band: np.ndarray
    revenue_band: np.ndarray
    maturity_band: np.ndarray
    created_day: np.ndarray
    zone: np.ndarray
    traits: Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Contacts:
    account: np.ndarray
    persona: np.ndarray
    title: np.ndarray
    seniority: np.ndarray
    email_domain: np.ndarray
    created_day: np.ndarray
    traits: Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Leads:
    """``created_day`` is the lead's arrival (days since 1970-01-01), drawn over the recipe
    calendar's acquisition window; every simulated day counts from it."""

    contact: np.ndarray
    account: np.ndarray
    source: np.ndarray
    created_day: np.ndarray
    rep: np.ndarray
    traits: Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Population:
    """The entities of one shard; ``account``/``contact`` indices are shard-local."""

    shard: Shard
    accounts: Accounts
    contacts: Contacts
    leads: Leads

    def lead_codes(self) -> dict[str, np.ndarray]:
        """Every categorical attribute of each lead (account and contact ones looked up)."""
        acc, con, ld = self.accounts, self.contacts, self.leads
        return {
            "industry": acc.industry[ld.account],
            "region": acc.region[ld.account],
            "employee_band": acc.employee_band[ld.account],
            "estimated_revenue_band": acc.revenue_band[ld.account],
            "process_maturity_band": acc.maturity_band[ld.account],
            "role_function": con.persona[ld.contact],
            "seniority": con.seniority[ld.contact],
            "lead_source": ld.source,
        }

    def lead_trait(self, name: str) -> np.ndarray:
        """A trait's value for every lead (looked up on its account or contact if needed)."""
        level = TRAITS[name].level
        if level == "account":
            return np.asarray(self.accounts.traits[name][self.leads.account])
        if level == "contact":
            return np.asarray(self.contacts.traits[name][self.leads.contact])
        return self.leads.traits[name]


def plan_shards(params: LeadScoringParams, rng: RNG) -> tuple[Shard, ...]:
    """Split the world into equal blocks of accounts, enough that none holds more than
    ``shard_accounts`` accounts or ``shard_leads`` leads; contacts follow the accounts in
    proportion, leads the contacts.

    Leads land in shards by a multinomial draw (every lead picking a contact uniformly), so the
    plan aims eight standard deviations below ``shard_leads`` and checks the bound: it holds
    whatever size flags are set.
    """
    n_accounts, n_leads = params.n_accounts, params.n_leads
    n_shards = params.shard_count()
    if n_shards > n_accounts:
        raise InvalidConfigError(
            f"{n_leads:,} leads over {n_accounts:,} accounts is more than one shard of "
            f"{params.shard_leads:,} leads per account; raise n_accounts (or leave it out to keep "
            "the recipe's ratio)",
            key="n_accounts",
        )
    accounts = np.full(n_shards, n_accounts // n_shards, dtype=np.int64)
    accounts[: n_accounts % n_shards] += 1
    g = rng.generator("population_plan")
    contacts = _proportional(params.n_contacts, accounts)
    leads = g.multinomial(n_leads, contacts / params.n_contacts)
    if int(leads.max()) > params.shard_leads:
        raise InvalidConfigError(
            f"a shard drew {int(leads.max()):,} leads, above shard_leads={params.shard_leads:,}; "
            "lower shard_leads or raise n_accounts",
            key="shard_leads",
        )
    starts = [np.concatenate([[0], np.cumsum(x)[:-1]]) for x in (accounts, contacts, leads)]
    return tuple(
        Shard(
            i,
            int(starts[0][i]),
            int(accounts[i]),
            int(starts[1][i]),
            int(contacts[i]),
            int(starts[2][i]),
            int(leads[i]),
        )
        for i in range(n_shards)
    )


def _proportional(total: int, weights: np.ndarray) -> np.ndarray:
    """``total`` split in proportion to ``weights`` (largest remainders), so it varies by at most one."""
    exact = np.asarray(total * weights / weights.sum(), dtype=np.float64)
    out: np.ndarray = np.floor(exact).astype(np.int64)
    rest = total - int(out.sum())
    out[np.argsort(-(exact - out), kind="stable")[:rest]] += 1
    return out


def _choice(g: np.random.Generator, n: int, weights: tuple[float, ...]) -> np.ndarray:
    cum = np.cumsum(np.asarray(weights, dtype=np.float64))
    cum /= cum[-1]
    return np.minimum(np.searchsorted(cum, g.random(n), side="right"), len(weights) - 1).astype(np.int64)


def _trait(rng: RNG, name: str, n: int, motif: str, mean: np.ndarray | float = 0.5) -> np.ndarray:
    g = rng.generator(f"trait:{name}")
    sd = MATURITY_SD if name == "latent_process_maturity" else LATENT_SD
    m = np.clip(np.asarray(mean, dtype=np.float64) + TRAITS[name].biases.get(motif, 0.0), 0.10, 0.90)
    return np.clip(g.normal(0.0, 1.0, n) * sd + m, 0.0, 1.0)


def draw_population(shard: Shard, vocab: Vocabulary, motif: str, rng: RNG) -> Population:
    """The shard's entities and raw traits, from the shard's substreams only."""
    na, nc, nl = shard.n_accounts, shard.n_contacts, shard.n_leads
    ga = rng.generator("accounts")
    maturity = _choice(ga, na, V.MATURITY_WEIGHTS)
    region = ga.integers(0, len(vocab.regions), na)
    start = vocab.calendar.start_day
    accounts = Accounts(
        industry=ga.integers(0, len(vocab.industries), na),
        region=region,
        employee_band=_choice(ga, na, V.EMPLOYEE_WEIGHTS),
        revenue_band=_choice(ga, na, V.REVENUE_WEIGHTS),
        maturity_band=maturity,
        created_day=start - ga.integers(V.ACCOUNT_AGE_DAYS[0], V.ACCOUNT_AGE_DAYS[1] + 1, na),
        zone=cal.zones_for(np.asarray(vocab.regions, dtype=object)[region], rng.generator("time_zones")),
        traits={
            name: _trait(
                rng,
                name,
                na,
                motif,
                np.asarray(V.MATURITY_MEANS)[maturity] if name == "latent_process_maturity" else 0.5,
            )
            for name, t in TRAITS.items()
            if t.level == "account"
        },
    )
    gc = rng.generator("contacts")
    account = gc.integers(0, max(na, 1), nc)
    persona = gc.integers(0, len(vocab.roles), nc)
    n_titles = np.array([len(t) for t in vocab.titles], dtype=np.int64)
    title = vocab.title_offsets[persona] + np.minimum(
        (gc.random(nc) * n_titles[persona]).astype(np.int64), n_titles[persona] - 1
    )
    contacts = Contacts(
        account=account,
        persona=persona,
        title=title,
        seniority=_choice(gc, nc, V.SENIORITY_WEIGHTS),
        email_domain=_choice(gc, nc, V.EMAIL_DOMAIN_WEIGHTS),
        created_day=accounts.created_day[account] + gc.integers(0, V.CONTACT_LAG_DAYS + 1, nc),
        traits={name: _trait(rng, name, nc, motif) for name, t in TRAITS.items() if t.level == "contact"},
    )
    gl = rng.generator("leads")
    contact = gl.integers(0, max(nc, 1), nl)
    leads = Leads(
        contact=contact,
        account=account[contact],
        source=_choice(gl, nl, vocab.channel_weights),
        created_day=cal.arrival_days(rng.generator("lead_arrival"), nl, vocab.calendar).astype(np.int64),
        rep=gl.integers(0, V.N_REPS, nl),
        traits={name: _trait(rng, name, nl, motif) for name, t in TRAITS.items() if t.level == "lead"},
    )
    return Population(shard, accounts, contacts, leads)


def apply_shifts(pop: Population, shifts: tuple[CategoryShift, ...], vocab: Vocabulary) -> Population:
    """Intro tier: observable categories move latent traits, clipped to [0, 1]."""
    if not shifts:
        return pop
    acc = {k: v.copy() for k, v in pop.accounts.traits.items()}
    con = {k: v.copy() for k, v in pop.contacts.traits.items()}
    a, c, ld = pop.accounts, pop.contacts, pop.leads
    account_codes = {
        "industry": (a.industry, vocab.industries),
        "region": (a.region, vocab.regions),
        "employee_band": (a.employee_band, V.EMPLOYEE_BANDS),
        "estimated_revenue_band": (a.revenue_band, V.REVENUE_BANDS),
        "process_maturity_band": (a.maturity_band, V.MATURITY_BANDS),
    }
    contact_codes = {
        "seniority": (c.seniority, V.SENIORITY),
        "role_function": (c.persona, vocab.roles),
        "buyer_role": (c.persona, vocab.buyer_roles),
    }
    for shift in shifts:
        if shift.field in account_codes:
            codes, values = account_codes[shift.field]
            acc[shift.trait] = np.clip(acc[shift.trait] + _boost(shift, values)[codes], 0.0, 1.0)
        elif shift.field in contact_codes:
            codes, values = contact_codes[shift.field]
            con[shift.trait] = np.clip(con[shift.trait] + _boost(shift, values)[codes], 0.0, 1.0)
        else:
            _, first = np.unique(ld.contact, return_index=True)
            boost = np.zeros(c.persona.size)
            boost[ld.contact[first]] = _boost(shift, vocab.channels)[ld.source[first]]
            con[shift.trait] = np.clip(con[shift.trait] + boost, 0.0, 1.0)
    return replace(
        pop, accounts=replace(pop.accounts, traits=acc), contacts=replace(pop.contacts, traits=con)
    )


def _boost(shift: CategoryShift, values: tuple[str, ...]) -> np.ndarray:
    return np.array([shift.boosts.get(v, 0.0) for v in values], dtype=np.float64)
