"""A lead-scoring run that cannot fit is refused before it simulates, and says what would fit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from leadforge.api import Generator
from leadforge.footprint import available_memory
from leadforge_leadscoring.footprint import footprint


def test_the_default_run_is_estimated_small_and_spreading_leads_shrinks_the_estimate() -> None:
    small = Generator.from_recipe("b2b_saas_procurement_v1").config
    assert footprint(small).memory_bytes < 1_000_000_000
    one_shard = Generator.from_recipe("b2b_saas_procurement_v1", n_leads=5_000_000).config
    spread = Generator.from_recipe("b2b_saas_procurement_v1", n_leads=5_000_000, n_accounts=204_800).config
    assert footprint(spread).memory_bytes < footprint(one_shard).memory_bytes / 4
    assert "--n-accounts" in footprint(one_shard).hint and not footprint(spread).hint


def test_a_hundred_million_leads_in_one_shard_is_refused_up_front(tmp_path: Path) -> None:
    have = available_memory()
    assert have is not None
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
            "--out",
            str(tmp_path / "b"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "of memory" in r.stderr and "leads would fit" in r.stderr
    assert "Writing bundle" not in r.stdout and not (tmp_path / "b").exists()
