"""Hidden truth for instructor bundles: the latent registry and the mechanism that actually ran.

``latent_registry.json`` holds the raw sampled latents (before account/customer blending).
``mechanism_summary.json`` holds the family's parameter tables (one object per mechanism) plus
everything the tier changed — the calibrated multipliers, the health and dunning lifts, the
telemetry noise — and the tier rates the world actually reached (from the figures
``write_bundle`` gathered).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
from leadforge.bundle import BundleWriter
from leadforge.columns import id_array

from leadforge_lifecycle.families import TRAITS
from leadforge_lifecycle.stats import BundleStats
from leadforge_lifecycle.world import LifecycleWorld

DIGITS = 6


def write(world: LifecycleWorld, writer: BundleWriter, stats: BundleStats) -> None:
    writer.write_metadata_chunks("latent_registry.json", latent_registry_chunks(world))
    writer.write_metadata_json("mechanism_summary.json", mechanism_summary(world, stats))


def latent_registry_chunks(world: LifecycleWorld) -> Iterator[bytes]:
    """``latent_registry.json`` as the envelope would format it, built one shard at a time.

    ``{"account_latents": {id: {...}}, "customer_latents": {id: {...}}}`` with the raw sampled
    latents (before account/customer blending), rounded to six decimals.
    """
    a = world.accounts
    accounts = _rows(
        id_array("acct", np.arange(1, len(a) + 1)).to_pylist(),
        {
            "latent_budget_stability": a.budget_stability,
            "latent_organizational_stability": a.organizational_stability,
        },
    )
    yield b'{\n  "account_latents": {' + _members(accounts) + b'\n  },\n  "customer_latents": {'
    for k in range(world.n_shards):
        block = world.customers(k)
        traits = {f"latent_{t}": block.latents.trait(t) for t in TRAITS}
        yield (b"," if k else b"") + _members(_rows(id_array("cust", block.numbers).to_pylist(), traits))
    yield b"\n  }\n}"


def _rows(ids: list[str], columns: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    values = {name: np.round(col, DIGITS).tolist() for name, col in columns.items()}
    return {rid: {name: v[i] for name, v in values.items()} for i, rid in enumerate(ids)}


def _members(entries: dict[str, dict[str, float]]) -> bytes:
    """The members of a non-empty mapping nested one level deep, as ``json.dumps(indent=2)`` lays them out."""
    inner = json.dumps(entries, indent=2, ensure_ascii=True)[2:-2]
    return ("\n" + "\n".join("  " + line for line in inner.split("\n"))).encode("ascii")


def mechanism_summary(world: LifecycleWorld, stats: BundleStats) -> dict[str, Any]:
    out = world.mechanism.summary()
    out["calibration"] = world.calibration.summary()
    r = stats.rates
    out["world_rates"] = {
        "customers": r.customers,
        "first_year_churn": round(r.first_year_churn, 6),
        "expansion_rate": round(r.expansion_rate, 6),
        "still_active_share": round(r.still_active_share, 6),
        "leavers_measured": r.leavers,
    }
    return out
