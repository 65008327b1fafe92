"""Lifecycle levers: the empty intervention changes nothing, a segment's programme reaches only the
segment, ``--twin`` writes effects, and bad specs are one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from leadforge.api import Generator
from leadforge.cli import main
from lifecycle_support import (
    CALENDAR_TASKS,
    EARLY_TASKS,
    PINNED,
    RECIPE,
    read,
    table,
    task_rows,
    tree_hashes,
)

EPOCH = {"SOURCE_DATE_EPOCH": "1767225600"}
WORLD: dict[str, Any] = {"seed": 5, "n_customers": 500, "shard_size": 200}


def save(path: Path, intervene: tuple[str, ...] = (), **kwargs: Any) -> Path:
    gen = Generator.from_recipe(RECIPE, exposure_mode="research_instructor", intervene=intervene, **kwargs)
    gen.generate().save(path, generation_timestamp=PINNED)
    return path


def test_empty_intervention_is_byte_identical(tmp_path: Path) -> None:
    plain = save(tmp_path / "plain", **WORLD)
    empty = save(tmp_path / "empty", (), **WORLD)
    assert tree_hashes(plain) == tree_hashes(empty)


@pytest.fixture(scope="module")
def segment_twins(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("segment")
    factual = save(root / "f", **WORLD)
    programme = save(root / "i", ("policy:health_programme.enterprise=1",), **WORLD)
    return factual, programme


def _rows_of(frame: pd.DataFrame, customers: set[str]) -> pd.DataFrame:
    kept = frame[frame["customer_id"].isin(customers)]
    return kept.sort_values(list(kept.columns[:3])).reset_index(drop=True)


def test_segment_programme_leaves_other_segments_identical(segment_twins: tuple[Path, Path]) -> None:
    factual, programme = segment_twins
    customers = table(factual, "customers")
    others = set(customers.loc[customers["initial_plan"] != "enterprise", "customer_id"])
    targeted = set(customers["customer_id"]) - others
    assert others and targeted
    changed = 0
    for name in ("customers", "subscriptions", "subscription_events", "health_signals", "invoices"):
        a, b = table(factual, name), table(programme, name)
        pd.testing.assert_frame_equal(_rows_of(a, others), _rows_of(b, others))
        changed += not _rows_of(a, targeted).equals(_rows_of(b, targeted))
    for task in (*CALENDAR_TASKS, *EARLY_TASKS):
        # Every cell, ids and the noised floats (traps included) too: a float's noise is measured
        # in its declared spread, never in the shard's.
        a, b = task_rows(factual, task), task_rows(programme, task)
        pd.testing.assert_frame_equal(_rows_of(a, others), _rows_of(b, others))
        key_a = read(factual / "metadata" / "oracle" / task)
        key_b = read(programme / "metadata" / "oracle" / task)
        pd.testing.assert_frame_equal(_rows_of(key_a, others), _rows_of(key_b, others))
        changed += not _rows_of(key_a, targeted).equals(_rows_of(key_b, targeted))
    assert changed > 0, "the programme changed nothing for its own segment"


def test_public_twins_differ_for_other_segments_in_event_ids_only(tmp_path: Path) -> None:
    """Public bundles number event-like rows densely per shard after the cut, so the segment's
    extra rows may shift the ids after them; every other cell of every other customer holds."""
    gen = Generator.from_recipe(
        RECIPE, exposure_mode="student_public", intervene=("policy:health_programme.enterprise=1",), **WORLD
    )
    twin = gen.save_twin(tmp_path / "t", generation_timestamp=PINNED)
    factual, programme = twin.factual, twin.intervened
    customers = table(factual, "customers")
    others = set(customers.loc[customers["initial_plan"] != "enterprise", "customer_id"])
    keys = {"subscription_events": "event_id", "health_signals": "signal_id", "invoices": "invoice_id"}
    for name in ("customers", "subscriptions", "subscription_events", "health_signals", "invoices"):
        a, b = (table(root, name).drop(columns=keys.get(name, [])) for root in (factual, programme))
        pd.testing.assert_frame_equal(_rows_of(a, others), _rows_of(b, others), obj=name)
    for task in CALENDAR_TASKS:
        pd.testing.assert_frame_equal(
            _rows_of(task_rows(factual, task), others), _rows_of(task_rows(programme, task), others)
        )


def test_programme_lowers_the_segments_churn_risk(segment_twins: tuple[Path, Path]) -> None:
    factual, programme = segment_twins
    customers = table(factual, "customers")
    targeted = set(customers.loc[customers["initial_plan"] == "enterprise", "customer_id"])
    column = "oracle_churn_probability"
    a = read(factual / "metadata" / "oracle" / "churned_within_180d")
    b = read(programme / "metadata" / "oracle" / "churned_within_180d")
    a, b = a[a["customer_id"].isin(targeted)], b[b["customer_id"].isin(targeted)]
    assert float(b[column].mean()) < float(a[column].mean())


def test_a_segment_programmes_card_shows_its_effect_in_its_segment_only(tmp_path: Path) -> None:
    """The twin's card breaks each effect down by plan: the enterprise programme moves the
    enterprise customers' oracle and leaves every other plan's effect at exactly zero."""
    gen = Generator.from_recipe(
        RECIPE,
        exposure_mode="research_instructor",
        intervene=("policy:health_programme.enterprise=1",),
        **WORLD,
    )
    twin = gen.save_twin(tmp_path / "t", generation_timestamp=PINNED)
    card = (twin.intervened / "dataset_card.md").read_text()
    rows = [line.split(" | ") for line in card.splitlines() if line.startswith("| churned_within_180d | ")]
    by_plan = {r[1]: r for r in rows if len(r) == 6}
    assert set(by_plan) == {"enterprise", "growth", "starter"}, card
    for plan in ("growth", "starter"):
        assert by_plan[plan][3] == "+0.0000" and by_plan[plan][5].startswith("+0.0000"), by_plan[plan]
    assert float(by_plan["enterprise"][5].strip(" |")) < 0.0  # the programme lowers churn risk


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=EPOCH, catch_exceptions=False)
    return result.exit_code, result.stderr


def test_twin_from_the_cli_writes_effects(tmp_path: Path) -> None:
    out = tmp_path / "twin"
    code, err = run(
        "generate", "--recipe", RECIPE, "--mode", "research_instructor", "--n-customers", "600", "--seed", "3",
        "--intervene", "policy:price_change=0.5", "--twin", "--out", str(out), "-q",
    )  # fmt: skip
    assert code == 0, err
    effects = pd.read_parquet(out / "intervened" / "metadata" / "effects.parquet")
    churn = effects[effects["task_id"] == "churned_within_180d"]
    assert len(churn) > 0
    assert float(churn["oracle_effect"].mean()) > 0.0  # dearer seats, more churn
    revenue = effects[effects["task_id"] == "pltv_revenue_90d"]
    assert float(revenue["oracle_effect"].mean()) > 0.0  # but more revenue in the short run
    assert np.isfinite(effects["effect"].to_numpy(dtype=float)).all()


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("policy:nope=1", "unknown lever"),
        ("policy:price_change=abc", "not a number"),
        ("policy:dunning=50", "policy:dunning"),
        ("policy:price_change*2", "can only be set"),
        ("node:product_fit=1", "unknown lever"),
        ("policy:health_programme.platinum=1", "unknown lever"),
    ],
)
def test_bad_spec_is_one_line(tmp_path: Path, spec: str, needle: str) -> None:
    out = tmp_path / "b"
    code, err = run(
        "generate", "--recipe", RECIPE, "--out", str(out), "--n-customers", "50", "--intervene", spec
    )
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in err
    assert not out.exists()
