"""What ships beside the data: manifest, dataset card, feature dictionary, hidden-truth metadata."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from leadforge.api import Generator
from leadforge.errors import InvalidConfigError
from leadforge_lifecycle.families import FAMILY_NAMES
from lifecycle_support import EARLY_TASKS, RECIPE, TARGETS, TRAPS, manifest, table


def test_instructor_manifest(small_instructor: Path) -> None:
    m = manifest(small_instructor)
    keys = list(m)
    assert keys[keys.index("tasks") + 1 : keys.index("tasks") + 5] == [
        "observation_date", "forward_windows_days", "early_tenure_weeks", "n_customers",
    ]  # fmt: skip
    assert (m["observation_date"], m["forward_windows_days"], m["early_tenure_weeks"], m["n_customers"]) == (
        "2025-01-27", [90, 365, 730], 4, 400,
    )  # fmt: skip
    assert m["motif_family"] in FAMILY_NAMES and m["relational_snapshot_safe"] is False
    assert m["structural_redactions"] == {"columns": {}, "omitted_tables": []}
    assert not {"n_leads", "n_accounts", "n_contacts", "horizon_days", "primary_task"} & set(m)


@pytest.mark.parametrize("mode", ["instructor", "public"])
def test_dataset_card_matches_the_mode(small_instructor: Path, small_public: Path, mode: str) -> None:
    root = small_instructor if mode == "instructor" else small_public
    card = (root / "dataset_card.md").read_text()
    assert card.startswith("# B2B SaaS pLTV Dataset — Intermediate Tier\n") and card.endswith("\n")
    for section in ("## What this is", "## Observation regimes", "## Tasks", "## Splits",
                    "## Relational tables", "## Leakage traps", "## Reproducibility"):  # fmt: skip
        assert section in card
    assert all(f"`{t}`" in card for t in EARLY_TASKS) == (mode == "instructor")
    assert ("early_" in card) == (mode == "instructor")
    for name, entry in manifest(root)["tables"].items():
        assert f"| `{name}` | {entry['row_count']} |" in card
    assert "mrr_change_full_period" in card and "last_health_signal_post_obs" in card


@pytest.mark.parametrize("mode", ["instructor", "public"])
def test_card_describes_the_split_assignment_that_ran(
    small_instructor: Path, small_public: Path, mode: str
) -> None:
    """One assignment per customer, decided by the stratified calendar churn task and shared by
    every task: what the card says is what the task manifests record."""
    root = small_instructor if mode == "instructor" else small_public
    card = (root / "dataset_card.md").read_text()
    section = card[card.index("## Splits") : card.index("## Relational tables")]
    assert "Each customer has one split, and every task it appears in puts it there" in section
    assert "by the calendar `churned_within_180d` task" in section and "stratified on that label" in section
    deciders = set()
    for task in manifest(root)["tasks"]:
        tm = json.loads((root / "tasks" / task / "task_manifest.json").read_text())
        deciders.add(tm["stratified_by"])
        assert "one assignment per customer, shared by every task" in tm["description"], task
    assert deciders == {"churned_within_180d.churned_within_180d"}
    assert ("placed by its hash alone" in section) == (mode == "instructor")


def test_card_title_follows_the_tier(tier_bundles: dict[str, Path]) -> None:
    for tier, root in tier_bundles.items():
        first = (root / "dataset_card.md").read_text().splitlines()[0]
        assert first == f"# B2B SaaS pLTV Dataset — {tier.capitalize()} Tier"


def test_card_states_the_tiers_expansion_knobs(tier_bundles: dict[str, Path]) -> None:
    """Each card says how its tier's expansions differ from the plain signal scale, in its numbers."""
    cards = {t: (root / "dataset_card.md").read_text() for t, root in tier_bundles.items()}
    assert (
        "expansion reads the traits more weakly than the other hazards (exponent scale 0.60, not 1.62)"
        in cards["intro"]
    )
    assert "heavy tail" not in cards["intro"]
    for tier, share in (("intermediate", "50%"), ("advanced", "80%")):
        assert f"{share} of each expansion's size comes from a heavy tail" in cards[tier]
        assert "reads the traits more weakly" not in cards[tier]


def test_feature_dictionary(small_instructor: Path, small_public: Path) -> None:
    dictionaries = []
    for root in (small_instructor, small_public):
        with (root / "feature_dictionary.csv").open() as fh:
            dictionaries.append(list(csv.DictReader(fh)))
    assert dictionaries[0] == dictionaries[1]
    rows = {r["name"]: r for r in dictionaries[0]}
    assert list(dictionaries[0][0]) == [
        "name",
        "dtype",
        "description",
        "category",
        "is_target",
        "leakage_risk",
    ]
    assert {n for n, r in rows.items() if r["is_target"] == "True"} == set(TARGETS)
    assert {n for n, r in rows.items() if r["leakage_risk"] == "True"} == set(TRAPS)
    assert (
        rows["churned_within_180d"]["dtype"] == "boolean" and rows["ltv_revenue_730d"]["dtype"] == "Float64"
    )
    assert len(rows) == 32


def test_metadata_is_the_hidden_truth_that_ran(small_instructor: Path) -> None:
    meta = small_instructor / "metadata"
    assert sorted(p.name for p in meta.iterdir()) == [
        "latent_registry.json",
        "mechanism_summary.json",
        "oracle",
        "world_spec.json",
    ]
    registry = json.loads((meta / "latent_registry.json").read_text())
    customers = table(small_instructor, "customers")
    assert set(registry["customer_latents"]) == set(customers.customer_id)
    assert set(registry["account_latents"]) == set(table(small_instructor, "accounts").account_id)
    values = [v for d in registry["customer_latents"].values() for v in d.values()]
    assert len(values) == 5 * len(customers) and min(values) >= 0 and max(values) <= 1
    summary = json.loads((meta / "mechanism_summary.json").read_text())
    assert summary["motif_family"] == manifest(small_instructor)["motif_family"]
    for key in ("churn_hazard", "expansion_propensity", "payment_failure", "contraction_propensity",
                "disengagement", "tier", "calibration", "world_rates"):  # fmt: skip
        assert key in summary
    assert set(summary["churn_hazard"]) == {
        "base_weekly_rate", "latent_weights", "renewal_hazard_multiplier", "renewal_latent_weights",
    }  # fmt: skip
    spec = json.loads((meta / "world_spec.json").read_text())
    assert spec["config"]["n_customers"] == 400 and spec["narrative"]["company"]["name"]


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"motif_family": "growth_hacking"}, "motif_family"),
        ({"observation_date": "27/01/2025"}, "observation_date"),
        ({"early_tenure_weeks": 200}, "early_tenure_weeks"),
        ({"shard_size": 0}, "shard_size"),
    ],
)
def test_bad_parameters_name_their_key(params: dict[str, object], key: str) -> None:
    with pytest.raises(InvalidConfigError) as err:
        Generator.from_recipe(RECIPE, **params)
    assert err.value.key == key
