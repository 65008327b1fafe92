"""Tiers are measurably ordered: churn ROC-AUC and pLTV-365 Spearman fall from intro to advanced.

The metrics are the quality benchmark's own (``benchmarks/quality_lifecycle.py``): default
gradient-boosted models scored by 5-fold cross-validation over every task row, so the ordering
is not at the mercy of which 200 customers one test split holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lifecycle_support import quality

TIERS = ("intro", "intermediate", "advanced")


def test_tiers_ordered_on_seed_42(tier_bundles: dict[str, Path]) -> None:
    auc = [quality.churn_auc_cv(tier_bundles[t]) for t in TIERS]
    rho = [quality.pltv_spearman_cv(tier_bundles[t]) for t in TIERS]
    assert auc[0] > auc[1] > auc[2], auc
    assert rho[0] > rho[1] > rho[2], rho
    assert auc[2] > 0.55 and rho[2] > 0.5  # even the hardest tier has signal
    shipped = quality.churn_auc(tier_bundles["advanced"]), quality.pltv_spearman(tier_bundles["advanced"])
    assert shipped[0] > 0.55 and shipped[1] > 0.5, shipped  # also on the bundle's own test split


@pytest.mark.slow
def test_tiers_ordered_on_every_seed() -> None:
    table = quality.rows()
    for metric in quality.ORDERED_METRICS:
        assert all(quality.ordered(table, metric).values()), quality.format_rows(table)
