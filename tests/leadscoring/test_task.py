"""The supervised task: a label that is the close-won event, renamed tasks, splits, the card."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from leadscoring_support import LABEL, SMALL, table, validate
from leadscoring_support import task_rows as rows


def close_days(bundle: Path) -> pd.DataFrame:
    leads = table(bundle, "leads")
    opps = table(bundle, "opportunities").merge(leads, on="lead_id")
    opps["close_day"] = (pd.to_datetime(opps["closed_at"]) - pd.to_datetime(opps["lead_created_at"])).dt.days
    return opps.set_index("lead_id")


def test_label_is_the_close_won_event(instructor: Path) -> None:
    """A lead is positive exactly when its opportunity closed won inside the window, and then it
    has a conversion date, a customer and a subscription."""
    r = rows(instructor, LABEL)
    opps = close_days(instructor)
    won = opps.index[(opps["close_outcome"] == "closed_won") & (opps["close_day"] <= 90)]
    assert set(r.index[r[LABEL]]) == set(won)
    leads = table(instructor, "leads").set_index("lead_id")
    assert (leads[LABEL] == r[LABEL].reindex(leads.index)).all()
    assert (leads[LABEL] == leads["conversion_timestamp"].notna()).all()
    customers = table(instructor, "customers")
    assert len(customers) == len(won)
    # Conversion needs the whole funnel: never before the minimum dwell of every stage.
    assert opps.loc[won, "close_day"].min() >= 31


def test_renamed_task_renames_its_label_everywhere(bundle_factory) -> None:  # type: ignore[no-untyped-def]
    task = "converted_within_60_days"
    params = {**SMALL, "primary_task": task, "label_window_days": 60, "snapshot_day": 14}
    for mode in ("research_instructor", "student_public"):
        b = bundle_factory(mode=mode, **params)
        manifest = json.loads((b / "manifest.json").read_text())
        assert manifest["primary_task"] == task and list(manifest["tasks"]) == [task]
        assert manifest["label_window_days"] == 60 and manifest["snapshot_day"] == 14
        tm = json.loads((b / "tasks" / task / "task_manifest.json").read_text())
        assert tm["task_id"] == task and tm["label_column"] == task and tm["label_window_days"] == 60
        r = rows(b, task)
        assert task in r.columns and LABEL not in r.columns
        dictionary = pd.read_csv(b / "feature_dictionary.csv")
        assert list(dictionary.loc[dictionary["is_target"], "name"]) == [task]
        report = validate(b)
        assert report.ok, [str(f) for f in report.errors]
        if mode == "student_public":
            assert manifest["structural_redactions"]["columns"]["leads"] == sorted(
                ["conversion_timestamp", task]
            )
            continue
        opps = close_days(b)
        won60 = opps.index[(opps["close_outcome"] == "closed_won") & (opps["close_day"] <= 60)]
        assert set(r.index[r[task]]) == set(won60)
        leads = table(b, "leads")
        assert task in leads.columns and LABEL not in leads.columns
        # Later conversions still become customers, but are negatives for the 60-day task.
        assert len(table(b, "customers")) > len(won60)


def test_splits_are_stratified_70_15_15_and_disjoint(bundle_factory) -> None:  # type: ignore[no-untyped-def]
    b = bundle_factory(mode="student_public")
    r = rows(b, LABEL)
    assert r.index.is_unique and len(r) == 5000
    shares = r["split"].value_counts(normalize=True)
    assert shares["train"] == pytest.approx(0.70, abs=0.01)
    assert shares["valid"] == pytest.approx(0.15, abs=0.01)
    rates = r.groupby("split")[LABEL].mean()
    assert rates.max() - rates.min() < 0.01
    tm = json.loads((b / "tasks" / LABEL / "task_manifest.json").read_text())
    assert tm["stratified"] is True and tm["split"] == {"train": 0.7, "valid": 0.15, "test": 0.15}


def test_card_is_truthful_for_its_mode(public: Path, instructor: Path) -> None:
    for bundle, mode in ((public, "student_public"), (instructor, "research_instructor")):
        card = (bundle / "dataset_card.md").read_text()
        manifest = json.loads((bundle / "manifest.json").read_text())
        assert card.splitlines()[0] == "# B2B Lead Scoring Dataset — Intermediate Tier"
        assert "stratified by the label" in card
        assert "total_touches_all" in card and "Trap" in card
        r = rows(bundle, LABEL)
        assert f"{r[LABEL].mean():.1%}" in card
        for name, entry in manifest["tables"].items():
            assert f"| `{name}` | {entry['row_count']:,} |" in card
        assert f"--mode {mode}" in card
    public_card = (public / "dataset_card.md").read_text()
    motif = json.loads((instructor / "manifest.json").read_text())["motif_family"]
    assert motif not in public_card and "motif" not in public_card
    assert (
        "customers"
        not in public_card.split("## Table inventory")[1].split("## Features")[0].split("Snapshot-safe")[0]
    )
    assert motif in (instructor / "dataset_card.md").read_text()


def test_hidden_truth_records_what_the_run_realised(instructor: Path) -> None:
    """``mechanism_summary.json`` puts the measured rates next to the calibration target."""
    summary = json.loads((instructor / "metadata" / "mechanism_summary.json").read_text())
    realised = summary["realised"]
    leads = table(instructor, "leads")
    assert realised["leads"] == len(leads)
    assert realised["positive_rate"] == pytest.approx(leads[LABEL].mean(), abs=1e-6)
    assert realised["final_stage_counts"] == {
        stage: int((leads["current_stage"] == stage).sum()) for stage in realised["final_stage_counts"]
    }
    won = realised["final_stage_counts"]["closed_won"]
    assert realised["converted_in_horizon_rate"] == pytest.approx(won / len(leads), abs=1e-6)
    assert "target_conversion_rate" in summary["hazard_calibration"]
