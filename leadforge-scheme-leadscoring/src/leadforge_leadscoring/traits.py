"""The latent traits of the world: which entity carries each one and how motifs bias it.

Its own module because both the profile (which checks that a category shift names a trait of
the right entity) and the population (which draws the traits) need it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class TraitDef:
    level: str
    biases: Mapping[str, float]


#: The latent traits of the world (values in [0, 1]); biases shift the mean by motif family.
TRAITS: dict[str, TraitDef] = {
    "latent_account_fit": TraitDef("account", {"fit_dominant": 0.10}),
    "latent_budget_readiness": TraitDef("account", {"fit_dominant": 0.05}),
    "latent_process_maturity": TraitDef("account", {}),
    "latent_confounder": TraitDef("account", {}),
    "latent_problem_awareness": TraitDef("contact", {"intent_dominant": 0.10, "demo_trial_mediated": 0.06}),
    "latent_contact_authority": TraitDef("contact", {"buying_committee_friction": -0.10}),
    "latent_responsiveness": TraitDef("contact", {"sales_execution_sensitive": -0.08}),
    "latent_engagement_propensity": TraitDef(
        "contact", {"intent_dominant": 0.12, "demo_trial_mediated": 0.08}
    ),
    "latent_committee_alignment": TraitDef("contact", {}),
    "latent_sales_friction": TraitDef(
        "lead", {"sales_execution_sensitive": 0.12, "buying_committee_friction": 0.15}
    ),
}
