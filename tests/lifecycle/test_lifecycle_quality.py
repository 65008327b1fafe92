"""Tiers are measurably ordered: churn ROC-AUC and pLTV-365 Spearman fall from intro to advanced.

The metrics are the quality benchmark's own (``benchmarks/quality_lifecycle.py``): default
gradient-boosted models trained on the train split and scored on the test split.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lifecycle_support import quality

TIERS = ("intro", "intermediate", "advanced")


def test_tiers_ordered_on_seed_42(tier_bundles: dict[str, Path]) -> None:
    auc = [quality.churn_auc(tier_bundles[t]) for t in TIERS]
    rho = [quality.pltv_spearman(tier_bundles[t]) for t in TIERS]
    assert auc[0] > auc[1] > auc[2], auc
    assert rho[0] > rho[1] > rho[2], rho
    assert auc[2] > 0.55 and rho[2] > 0.5  # even the hardest tier has signal


@pytest.mark.slow
def test_tiers_ordered_on_every_seed() -> None:
    table = quality.rows()
    for metric in ("churn_auc", "pltv365_spearman"):
        assert all(quality.ordered(table, metric).values()), quality.format_rows(table)
