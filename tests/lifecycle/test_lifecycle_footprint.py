"""A lifecycle run that cannot fit is refused before it simulates."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from leadforge.api import Generator
from leadforge.errors import UsageError
from leadforge.footprint import Footprint, check_disk, check_memory
from leadforge_lifecycle.footprint import footprint


def test_estimates_grow_with_customers_and_the_default_is_small() -> None:
    small = footprint(Generator.from_recipe("b2b_saas_ltv_v1").config)
    big = footprint(Generator.from_recipe("b2b_saas_ltv_v1", n_customers=1_000_000).config)
    assert small.memory_bytes < 1_000_000_000 < big.disk_bytes
    assert big.memory_bytes > small.memory_bytes and big.units == 1_000_000


def test_refusals_name_what_would_fit(tmp_path: Path) -> None:
    fp = footprint(Generator.from_recipe("b2b_saas_ltv_v1").config)
    with pytest.raises(UsageError, match="customers would fit"):
        check_memory(replace(fp, memory_bytes=10**16))
    with pytest.raises(UsageError, match="of disk"):
        check_disk(Footprint(0, 10**18, "customers", 10), tmp_path / "b")
