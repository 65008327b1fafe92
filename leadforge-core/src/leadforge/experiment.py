"""A designed experiment inside the world: a randomised policy change for a share of entities.

``leadforge generate ... --experiment 'policy:follow_up_speed=1.5@0.5'`` treats half of the
leads (or customers) with the policy and leaves the rest under the factual one. Which entities
are treated is a hash of the entity's number and the seed, so it depends neither on the shard
plan nor on the number of workers, and on nothing the entity is or does: a teaching set for
A/B analysis and uplift modelling with a known answer. Every bundle records the assignment in a
public ``treatment`` column; instructor bundles add each task row's true uplift (the oracle
under treatment minus the oracle under control, from the row's state when the treatment
starts — its creation for a lead, the observation date for a customer) to the
answer key.

Only policy levers can be randomised: a company can change its follow-up speed or its prices
for a random half of its leads, not their intent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from leadforge.errors import UsageError
from leadforge.interventions import Intervention, Lever, parse_intervention

if TYPE_CHECKING:  # numpy stays out of the CLI's start-up (the config imports this module)
    import numpy as np

    from leadforge.rng import RNG

__all__ = ["DEFAULT_SHARE", "TREATMENT_COLUMN", "UPLIFT_COLUMN", "Experiment", "parse_experiment"]

#: the public column that records each entity's arm (``True``: treated)
TREATMENT_COLUMN = "treatment"
#: the hidden task-row column with each row's true uplift (answer key only)
UPLIFT_COLUMN = "oracle_uplift"
DEFAULT_SHARE = 0.5
_SHARE = re.compile(r"^(?P<spec>.*?)@(?P<share>[^@]*)$")


@dataclass(frozen=True)
class Experiment:
    """The treatment (a policy lever and its value) and the share of entities that get it."""

    intervention: Intervention
    share: float = DEFAULT_SHARE

    def __post_init__(self) -> None:
        if not 0.0 < self.share < 1.0:
            raise ValueError(f"an experiment's treated share must be in (0, 1), got {self.share}")

    def __str__(self) -> str:
        return f"{self.intervention}@{self.share:g}"

    @property
    def lever(self) -> str:
        return self.intervention.lever

    def treated(self, entity: np.ndarray, rng: RNG) -> np.ndarray:
        """Each entity's arm from its global 0-based number and the *world-level* ``rng`` (never
        a shard's), so the assignment is the same whatever the shard plan or worker count."""
        import numpy as np

        from leadforge.rng import hash_uniform

        keys = np.asarray(entity).astype(np.uint64)
        return np.asarray(hash_uniform(keys, rng.key("experiment")) < self.share)


def parse_experiment(spec: str, levers: Sequence[Lever]) -> Experiment:
    """``LEVER=VALUE[@SHARE]`` checked against the policy ``levers``; problems are one line."""
    if not isinstance(spec, str):
        raise UsageError(f"an experiment is a string like 'policy:x=2@0.5', got {type(spec).__name__}")
    share = DEFAULT_SHARE
    m = _SHARE.match(spec.strip())
    if m is not None:
        spec = m["spec"]
        try:
            share = float(m["share"])
        except ValueError:
            raise UsageError(f"--experiment: the treated share {m['share']!r} is not a number") from None
        if not 0.0 < share < 1.0:
            raise UsageError(f"--experiment: the treated share must be between 0 and 1, got {m['share']}")
    policies = [lv for lv in levers if lv.kind == "policy"]
    if not policies:
        raise UsageError("--experiment: this world offers no policy lever to randomise")
    try:
        intervention = parse_intervention(spec, policies)
    except UsageError as exc:
        raise UsageError(str(exc).replace("--intervene", "--experiment", 1)) from None
    return Experiment(intervention, share)
