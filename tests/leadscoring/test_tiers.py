"""Difficulty tiers are real: conversion bands and ordered, model-measured difficulty."""

from __future__ import annotations

import pytest
from quality_leadscoring import measure, rows

BANDS = {"intro": (0.30, 0.45), "intermediate": (0.18, 0.28), "advanced": (0.08, 0.15)}
AUC = {"intro": (0.80, 1.0), "intermediate": (0.70, 0.80), "advanced": (0.60, 0.72)}
TIERS = ("intro", "intermediate", "advanced")


def check(row: dict[str, float | str]) -> None:
    tier = str(row["tier"])
    lo, hi = BANDS[tier]
    assert lo <= float(row["conversion_rate"]) <= hi, row
    lo, hi = AUC[tier]
    assert lo <= float(row["gbm_auc"]) <= hi, row
    if tier != "intro":
        assert float(row["gbm_minus_lr"]) >= -0.01, row


def test_tiers_are_ordered_on_one_seed(bundle_factory) -> None:  # type: ignore[no-untyped-def]
    measured = [measure(bundle_factory(seed=42, mode="student_public", tier=t)) for t in TIERS]
    for row in measured:
        lo, hi = BANDS[str(row["tier"])]
        assert lo <= row["conversion_rate"] <= hi, row
    aucs = [row["gbm_auc"] for row in measured]
    assert aucs[0] > aucs[1] > aucs[2], measured
    assert aucs[0] >= 0.80, measured


@pytest.mark.slow
def test_quality_gate_on_seeds_42_to_46() -> None:
    table = rows(range(42, 47), TIERS)
    for row in table:
        check(row)
    for seed in range(42, 47):
        by_tier = {r["tier"]: r["gbm_auc"] for r in table if r["seed"] == seed}
        assert by_tier["intro"] > by_tier["intermediate"] > by_tier["advanced"], (seed, by_tier)
