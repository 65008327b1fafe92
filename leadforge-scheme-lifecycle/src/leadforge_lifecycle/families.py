"""The five retention motif families and their immutable mechanism parameters.

Each world draws one family from its seed. A family is nothing but numbers: latent biases of
its customers and the parameter tables of its mechanisms (churn hazard, expansion,
contraction, payment failure and dunning, disengagement). No family carries logic of its own.

Besides churn, expansion and payment failure, two mechanisms make the world richer: customers
can downgrade, and a customer's engagement can slide into an episode of disengagement whose
visible symptoms (lower usage depth, more tickets) raise its churn hazard.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

TRAITS = (
    "product_fit",
    "adoption_velocity",
    "budget_stability",
    "champion_strength",
    "organizational_stability",
)
#: Traits that exist at account level too; a customer's effective value blends both levels.
ACCOUNT_TRAITS = ("budget_stability", "organizational_stability")


def weights(**w: float) -> Mapping[str, float]:
    """An immutable trait → weight map (positive raises the probability, negative lowers it)."""
    unknown = set(w) - set(TRAITS)
    if unknown:
        raise ValueError(f"unknown latent traits {sorted(unknown)}")
    return MappingProxyType(dict(w))


@dataclass(frozen=True)
class ChurnHazard:
    base_weekly_rate: float
    latent_weights: Mapping[str, float]
    renewal_hazard_multiplier: float
    renewal_latent_weights: Mapping[str, float]


@dataclass(frozen=True)
class ExpansionPropensity:
    base_weekly_rate: float
    latent_weights: Mapping[str, float]
    expansion_mrr_frac_range: tuple[float, float]


@dataclass(frozen=True)
class ContractionPropensity:
    base_weekly_rate: float
    latent_weights: Mapping[str, float]
    contraction_mrr_frac_range: tuple[float, float]


@dataclass(frozen=True)
class PaymentFailure:
    base_monthly_rate: float
    latent_weights: Mapping[str, float]
    dunning_weeks: int
    recovery_rate: float


@dataclass(frozen=True)
class Disengagement:
    """Weekly onset and recovery probabilities of a disengagement episode."""

    base_weekly_onset: float
    onset_latent_weights: Mapping[str, float]
    base_weekly_recovery: float
    recovery_latent_weights: Mapping[str, float]


@dataclass(frozen=True)
class RetentionMotif:
    """One family: its character, latent biases and mechanism tables.

    ``churn_position`` and ``expansion_position`` (0…1) place the family inside a tier's
    churn and expansion bands, so a difficulty tier sets the level while the family keeps its
    rank (churner_dominated churns most, expansion_led_growth expands most, in every tier).
    """

    name: str
    character: str
    latent_biases: Mapping[str, float]
    churn: ChurnHazard
    expansion: ExpansionPropensity
    contraction: ContractionPropensity
    payment: PaymentFailure
    disengagement: Disengagement
    churn_position: float
    expansion_position: float
    #: points (0-10 scale) added to every customer's view in NPS surveys: a family whose traits and
    #: slumps would put its book below an NPS of 0 still answers like a B2B software book (0 to +50)
    nps_lift: float = 0.0


PRODUCT_LED = RetentionMotif(
    name="product_led_retention",
    character="retention driven by product fit; low churn, moderate expansion; health tracks retention",
    latent_biases=weights(product_fit=0.12, adoption_velocity=0.06),
    churn=ChurnHazard(
        0.0034,
        weights(product_fit=-2.0, adoption_velocity=-0.8, champion_strength=-0.5),
        6.0,
        weights(champion_strength=-1.5, product_fit=-1.0),
    ),
    expansion=ExpansionPropensity(0.0045, weights(adoption_velocity=1.5, product_fit=1.0), (0.20, 0.60)),
    contraction=ContractionPropensity(0.0010, weights(product_fit=-1.5, budget_stability=-0.8), (0.10, 0.30)),
    payment=PaymentFailure(0.010, weights(budget_stability=-1.5), 4, 0.80),
    disengagement=Disengagement(
        0.0025, weights(product_fit=-2.0, adoption_velocity=-1.0), 0.01, weights(champion_strength=1.0)
    ),
    churn_position=0.25,
    expansion_position=0.60,
)

RELATIONSHIP_LED = RetentionMotif(
    name="relationship_led_retention",
    character="retention driven by the champion; moderate churn; the largest renewal spike",
    latent_biases=weights(champion_strength=0.14, organizational_stability=0.06),
    churn=ChurnHazard(
        0.0042,
        weights(champion_strength=-2.0, product_fit=-0.8, organizational_stability=-0.6),
        12.0,
        weights(champion_strength=-2.5, organizational_stability=-1.0),
    ),
    expansion=ExpansionPropensity(
        0.0030, weights(champion_strength=1.5, adoption_velocity=0.8), (0.15, 0.50)
    ),
    contraction=ContractionPropensity(
        0.0012, weights(champion_strength=-1.5, organizational_stability=-0.8), (0.10, 0.30)
    ),
    payment=PaymentFailure(0.010, weights(budget_stability=-1.5, organizational_stability=-0.5), 4, 0.78),
    disengagement=Disengagement(
        0.0025,
        weights(champion_strength=-2.0, organizational_stability=-0.8),
        0.012,
        weights(champion_strength=1.5),
    ),
    churn_position=0.45,
    expansion_position=0.40,
)

EXPANSION_LED = RetentionMotif(
    name="expansion_led_growth",
    character="lowest churn; most frequent and largest upsells; value variance from the expansion tail",
    latent_biases=weights(adoption_velocity=0.16, product_fit=0.06),
    churn=ChurnHazard(
        0.0026,
        weights(adoption_velocity=-1.5, product_fit=-1.5, budget_stability=-0.5),
        4.0,
        weights(adoption_velocity=-1.5, champion_strength=-1.0),
    ),
    expansion=ExpansionPropensity(
        0.0075, weights(adoption_velocity=2.0, product_fit=1.0, budget_stability=0.5), (0.20, 0.55)
    ),
    contraction=ContractionPropensity(
        0.0008, weights(adoption_velocity=-1.5, budget_stability=-0.8), (0.10, 0.25)
    ),
    payment=PaymentFailure(0.008, weights(budget_stability=-1.2), 4, 0.82),
    disengagement=Disengagement(
        0.0020, weights(adoption_velocity=-1.5, product_fit=-1.0), 0.01, weights(champion_strength=1.0)
    ),
    churn_position=0.10,
    expansion_position=0.65,
)

PAYMENT_FRAGILE = RetentionMotif(
    name="payment_fragile",
    character="churn mostly forced by unrecovered payment failures; budget stability dominates",
    latent_biases=weights(budget_stability=-0.18, organizational_stability=-0.06),
    churn=ChurnHazard(
        0.0018,
        weights(budget_stability=-2.5, organizational_stability=-1.0, product_fit=-0.5),
        8.0,
        weights(budget_stability=-2.0, champion_strength=-1.0),
    ),
    expansion=ExpansionPropensity(0.0020, weights(adoption_velocity=1.0, budget_stability=1.5), (0.25, 0.55)),
    contraction=ContractionPropensity(0.0020, weights(budget_stability=-2.0, product_fit=-0.5), (0.15, 0.35)),
    payment=PaymentFailure(0.016, weights(budget_stability=-3.0, organizational_stability=-1.0), 3, 0.74),
    disengagement=Disengagement(
        0.0025, weights(budget_stability=-1.0, product_fit=-1.0), 0.01, weights(champion_strength=1.0)
    ),
    churn_position=0.70,
    expansion_position=0.15,
)

CHURNER_DOMINATED = RetentionMotif(
    name="churner_dominated",
    character="high background churn with clear early warnings; few, small expansions",
    latent_biases=weights(product_fit=-0.14, champion_strength=-0.10),
    churn=ChurnHazard(
        0.0046,
        weights(product_fit=-1.8, champion_strength=-1.2, adoption_velocity=-0.8),
        10.0,
        weights(champion_strength=-1.5, product_fit=-1.0),
    ),
    expansion=ExpansionPropensity(0.0018, weights(adoption_velocity=1.0, product_fit=0.8), (0.25, 0.55)),
    contraction=ContractionPropensity(
        0.0022, weights(product_fit=-1.5, champion_strength=-1.0), (0.15, 0.40)
    ),
    payment=PaymentFailure(0.010, weights(budget_stability=-2.0), 3, 0.78),
    disengagement=Disengagement(
        0.0035, weights(product_fit=-1.8, champion_strength=-1.2), 0.006, weights(champion_strength=1.0)
    ),
    churn_position=0.90,
    expansion_position=0.30,
    nps_lift=1.0,
)

FAMILIES: Mapping[str, RetentionMotif] = MappingProxyType(
    {
        m.name: m
        for m in sorted(
            (PRODUCT_LED, RELATIONSHIP_LED, EXPANSION_LED, PAYMENT_FRAGILE, CHURNER_DOMINATED),
            key=lambda m: m.name,
        )
    }
)
FAMILY_NAMES = tuple(FAMILIES)
