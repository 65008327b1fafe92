"""A lead-scoring run's memory is bounded by one shard whatever its size; one that cannot fit is
refused before it simulates, and says what would fit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from leadforge.api import Generator
from leadforge.footprint import available_memory
from leadforge.rng import RNG
from leadforge_leadscoring.footprint import footprint
from leadforge_leadscoring.params import LeadScoringParams
from leadforge_leadscoring.population import plan_shards


def test_the_estimate_is_small_by_default_and_flat_in_the_number_of_leads() -> None:
    small = Generator.from_recipe("b2b_saas_procurement_v1").config
    assert footprint(small).memory_bytes < 1_000_000_000
    million = Generator.from_recipe("b2b_saas_procurement_v1", n_leads=1_000_000).config
    hundred_million = Generator.from_recipe("b2b_saas_procurement_v1", n_leads=100_000_000).config
    low, high = sorted((footprint(million).memory_bytes, footprint(hundred_million).memory_bytes))
    assert high < 1_000_000_000 and high < 1.05 * low
    assert footprint(hundred_million).disk_bytes > 50 * footprint(million).disk_bytes


def test_no_shard_exceeds_its_lead_bound_whatever_sizes_are_set() -> None:
    for n_leads, n_accounts, shard_leads in ((1_000_000, 1_500, 50_000), (400_000, 300_000, 20_000)):
        p = LeadScoringParams(
            n_leads=n_leads, n_accounts=n_accounts, n_contacts=n_accounts * 3, shard_leads=shard_leads
        )
        plan = plan_shards(p, RNG(3))
        leads = np.array([s.n_leads for s in plan])
        assert leads.sum() == n_leads and leads.max() <= shard_leads
        assert max(s.n_accounts for s in plan) <= p.shard_accounts


def test_only_n_leads_derives_the_other_sizes_from_the_recipe() -> None:
    cfg = Generator.from_recipe("b2b_saas_procurement_v1", n_leads=1_000_000).config
    p = cfg.params_as(LeadScoringParams)
    assert (p.n_accounts, p.n_contacts) == (300_000, 840_000)
    assert cfg.derived == ("n_accounts=300,000", "n_contacts=840,000")
    given = Generator.from_recipe("b2b_saas_procurement_v1", n_leads=1_000_000, n_accounts=500_000).config
    assert given.params_as(LeadScoringParams).n_accounts == 500_000 and given.derived == (
        "n_contacts=840,000",
    )


def test_a_run_whose_shards_cannot_fit_is_refused_up_front(tmp_path: Path) -> None:
    """Huge shards (few accounts, a raised lead bound) need more memory than the machine has."""
    have = available_memory()
    assert have is not None
    override = tmp_path / "huge.yaml"
    override.write_text("shard_leads: 10000000\nshard_accounts: 10000000\n")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "leadforge",
            "generate",
            "--recipe",
            "b2b_saas_procurement_v1",
            "--n-leads",
            "100000000",
            "--override",
            str(override),
            "--out",
            str(tmp_path / "b"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "of memory" in r.stderr and "shard_leads" in r.stderr
    assert "Writing bundle" not in r.stdout and not (tmp_path / "b").exists()
