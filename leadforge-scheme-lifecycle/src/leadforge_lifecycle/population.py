"""The customer base: accounts (world-level, small) and customers (drawn shard by shard).

Accounts are drawn once per world because every customer picks its owning account uniformly
from all of them; they hold a handful of numbers each. Customers are drawn per shard from the
shard's own substream, so a shard can be (re)built without the rest of the population.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace

import numpy as np
import pyarrow as pa
from leadforge.calendar import arrival_days, zones_for
from leadforge.vocabulary import Vocabulary, company_names

from leadforge_lifecycle.calendar import ACQUISITION_DAYS, Calendar, epoch_day
from leadforge_lifecycle.families import RetentionMotif
from leadforge_lifecycle.latents import LATENT_SD, NEUTRAL, Latents, sample

EMPLOYEE_BANDS = ("200-499", "500-999", "1000-1999", "2000+")
EMPLOYEE_P = (0.35, 0.35, 0.20, 0.10)
REVENUE_BANDS = ("$1M-$10M", "$10M-$50M", "$50M-$200M", "$200M+")
REVENUE_P = (0.25, 0.40, 0.25, 0.10)
MATURITY_BANDS = ("low", "medium", "high")
MATURITY_P = (0.30, 0.45, 0.25)
MATURITY_MEAN = (0.25, 0.50, 0.75)
ACCOUNT_ORG_SD = 0.15
#: Account ``created_at`` lies 30…730 days before the calendar's accounts anchor, so before every
#: customer start.
CREATED_DAYS = (30, 730)

PLANS = ("starter", "growth", "enterprise")
#: Three equally likely plan slots per employee band (index into PLANS).
PLAN_SLOTS = np.array([[0, 0, 1], [0, 1, 1], [1, 1, 2], [1, 2, 2]], dtype=np.int8)
#: Inclusive MRR bounds (USD/month) at signing, per plan.
PLAN_MRR = np.array([[1000, 3500], [3500, 9000], [9000, 25000]], dtype=np.int64)
#: Contract terms in months: annual, or two years for the profile's ``two_year_share``.
TERMS = np.array([12, 24], dtype=np.int64)
N_REPS = 8


@dataclass(frozen=True)
class Accounts:
    """Account attributes as codes into the vocabularies, plus the two account-level latents."""

    industries: tuple[str, ...]
    regions: tuple[str, ...]
    industry: np.ndarray
    region: np.ndarray
    employee_band: np.ndarray
    revenue_band: np.ndarray
    maturity: np.ndarray
    created_days_before_anchor: np.ndarray
    budget_stability: np.ndarray
    organizational_stability: np.ndarray
    company_name: pa.Array | None = None
    zone: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.industry.size)

    def named(self, vocab: Vocabulary, names: np.random.Generator, zones: np.random.Generator) -> Accounts:
        """The accounts with company names from ``vocab`` (words fitting each industry) and a time
        zone of each region, each from its own stream so the firmographic draws stay as they are."""
        industry = pa.array(np.asarray(self.industries, dtype=object)[self.industry], type=pa.string())
        region = pa.array(np.asarray(self.regions, dtype=object)[self.region], type=pa.string())
        return replace(
            self,
            company_name=company_names(vocab, names, len(self), industry),
            zone=zones_for(region, zones).astype(np.int16),
        )

    def blocks(self, size: int) -> Iterator[tuple[int, Accounts]]:
        """``(first index, accounts)`` slices of at most ``size`` accounts, in order: world-level
        renderings (the accounts table, the registry's account section) go block by block, so
        their memory stays bounded however many customers the world has."""
        arrays = [
            f.name for f in fields(self) if f.name not in _VOCABULARIES and getattr(self, f.name) is not None
        ]
        for start in range(0, len(self), size):
            cut = slice(start, start + size)
            yield start, replace(self, **{name: getattr(self, name)[cut] for name in arrays})


_VOCABULARIES = ("industries", "regions")


def n_accounts(n_customers: int) -> int:
    return max(n_customers // 3, 1)


def draw_accounts(
    n: int,
    motif: RetentionMotif,
    industries: tuple[str, ...],
    regions: tuple[str, ...],
    g: np.random.Generator,
) -> Accounts:
    industry = g.integers(0, len(industries), n)
    region = g.integers(0, len(regions), n)
    employee = g.choice(len(EMPLOYEE_BANDS), size=n, p=EMPLOYEE_P)
    revenue = g.choice(len(REVENUE_BANDS), size=n, p=REVENUE_P)
    maturity = g.choice(len(MATURITY_BANDS), size=n, p=MATURITY_P)
    created = g.integers(CREATED_DAYS[0], CREATED_DAYS[1] + 1, n)
    bias = motif.latent_biases
    budget = sample(NEUTRAL + bias.get("budget_stability", 0.0), LATENT_SD, n, g)
    org_mean = np.asarray(MATURITY_MEAN)[maturity] + bias.get("organizational_stability", 0.0)
    org = sample(org_mean, ACCOUNT_ORG_SD, n, g)
    return Accounts(
        industries,
        regions,
        industry.astype(np.int64),
        region.astype(np.int64),
        employee.astype(np.int8),
        revenue.astype(np.int8),
        maturity.astype(np.int8),
        created.astype(np.int64),
        budget,
        org,
    )


@dataclass(frozen=True)
class CustomerBlock:
    """The customers of one shard, in global population order.

    ``first`` is the 0-based global index of the shard's first customer (its id is
    ``cust_<first + 1>``). ``days_to_observation`` is observation date − start (1…the
    acquisition window).
    """

    index: int
    first: int
    account: np.ndarray
    days_to_observation: np.ndarray
    initial_plan: np.ndarray
    initial_mrr: np.ndarray
    term_months: np.ndarray
    csm_rep: np.ndarray
    latents: Latents
    effective: Latents

    def __len__(self) -> int:
        return int(self.account.size)

    def start_days(self, observation: dt.date) -> np.ndarray:
        """Each customer's start as days since 1970-01-01."""
        return np.asarray(epoch_day(observation) - self.days_to_observation, dtype=np.int64)

    def cohort(self, window_days: int) -> np.ndarray:
        """Each customer's place in an acquisition window of ``window_days``: 0 for a start on its
        first day, → 1 for a start the day before the observation date (the drift's clock)."""
        return np.asarray(np.clip(1.0 - self.days_to_observation / max(window_days, 1), 0.0, 1.0))

    @property
    def numbers(self) -> np.ndarray:
        """1-based global customer numbers (the counters of their ids)."""
        return np.arange(self.first + 1, self.first + 1 + len(self), dtype=np.int64)


def draw_customers(
    index: int,
    first: int,
    n: int,
    accounts: Accounts,
    motif: RetentionMotif,
    g: np.random.Generator,
    calendar: Calendar | None = None,
    *,
    two_year_share: float,
) -> CustomerBlock:
    """A shard's customers; with a ``calendar`` they sign on the days its acquisition profile
    favours (working days, busy months, quarter ends), else uniformly over a 364-day window."""
    account = g.integers(0, len(accounts), n)
    if calendar is None:
        to_observation = ACQUISITION_DAYS - g.integers(0, ACQUISITION_DAYS, n)
    else:
        to_observation = epoch_day(calendar.observation_date) - arrival_days(g, n, calendar.profile)
    slot = g.integers(0, 3, n)
    plan = PLAN_SLOTS[accounts.employee_band[account], slot]
    lo, hi = PLAN_MRR[plan, 0], PLAN_MRR[plan, 1]
    mrr = lo + np.floor(g.random(n) * (hi - lo + 1)).astype(np.int64)
    term = TERMS[g.choice(2, size=n, p=(1.0 - two_year_share, two_year_share))]
    rep = g.integers(0, N_REPS, n)
    raw = Latents.draw(motif.latent_biases, n, g)
    effective = raw.blended(
        {
            "budget_stability": accounts.budget_stability[account],
            "organizational_stability": accounts.organizational_stability[account],
        }
    )
    return CustomerBlock(
        index=index,
        first=first,
        account=account.astype(np.int64),
        days_to_observation=np.asarray(to_observation, dtype=np.int64),
        initial_plan=plan.astype(np.int8),
        initial_mrr=mrr,
        term_months=term,
        csm_rep=rep.astype(np.int64),
        latents=raw,
        effective=effective,
    )
