"""Public bundles leak nothing through id numbers, id gaps or row order, and are reproducible.

Measured on default-size worlds (5,000 leads) over several seeds and tiers, cut into shards
so that core's per-shard numbering is exercised.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from leadforge.bundle import ID_BLOCK
from leadforge.cli import main
from leadforge.testing.stats import auc_tolerance
from leadforge_leadscoring.probes import rank_auc
from leadscoring_support import LABEL, RECIPE, id_numbers, table, task_rows

WORLDS = [(42, "intermediate"), (43, "advanced"), (44, "intro")]
SHARDED = {"shard_accounts": 500}
EVENT_KEYS = {
    "touches": "touch_id",
    "sessions": "session_id",
    "sales_activities": "activity_id",
    "opportunities": "opportunity_id",
}


@pytest.fixture(scope="module", params=WORLDS, ids=[f"{s}-{t}" for s, t in WORLDS])
def public(request: pytest.FixtureRequest, bundle_factory) -> Path:  # type: ignore[no-untyped-def]
    seed, tier = request.param
    root: Path = bundle_factory(seed=seed, mode="student_public", tier=tier, **SHARDED)
    return root


@pytest.mark.parametrize("name", list(EVENT_KEYS))
def test_event_id_numbers_and_gaps_carry_no_label_signal(public: Path, name: str) -> None:
    """Per lead: its first and last id number predict nothing (within the conformance kit's
    tolerance: 4 null sd, at least 0.03), and its rows' ids form one run."""
    y = task_rows(public)[LABEL]
    assert len(y) == 5000
    rows = table(public, name)
    number = id_numbers(rows[EVENT_KEYS[name]])
    per_lead = number.groupby(rows["lead_id"]).agg(["min", "max", "size"])
    assert (number // ID_BLOCK).nunique() >= 3, "the world should span several shards"
    block = (per_lead["min"] // ID_BLOCK).to_numpy()
    np.testing.assert_array_equal(block, (per_lead["max"] // ID_BLOCK).to_numpy())
    gaps = per_lead["max"] - per_lead["min"] + 1 - per_lead["size"]
    assert (gaps == 0).all(), gaps[gaps != 0].head()
    label = y.reindex(per_lead.index).to_numpy(dtype=bool)
    for what in ("min", "max"):
        auc = rank_auc(per_lead[what].to_numpy(dtype=np.float64), label)
        assert abs(auc - 0.5) <= auc_tolerance(label), (name, what, auc)


def longest_run(values: np.ndarray) -> tuple[int, bool]:
    """Length and value of the longest run of equal consecutive values."""
    change = np.flatnonzero(np.diff(values.astype(np.int8))) + 1
    starts = np.r_[0, change]
    lengths = np.diff(np.r_[starts, values.size])
    k = int(np.argmax(lengths))
    return int(lengths[k]), bool(values[starts[k]])


def run_bound(p: float, n: int) -> int:
    """A run of one class longer than this occurs in fewer than 1% of random orders of ``n`` rows."""
    return math.ceil(math.log(0.01 / n) / math.log(p))


@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_split_files_order_carries_no_label_signal(public: Path, split: str) -> None:
    """Row position in a split file predicts nothing, no single-class run is longer than chance
    allows, and none opens the file."""
    rows = task_rows(public)
    y = rows.loc[rows["split"] == split, LABEL].to_numpy(dtype=bool)
    auc = rank_auc(np.arange(y.size, dtype=np.float64), y)
    assert abs(auc - 0.5) <= 0.05, (split, auc)
    rate = float(y.mean())
    length, value = longest_run(y)
    assert length <= run_bound(rate if value else 1.0 - rate, y.size), (split, length, value, rate)
    differs = y != y[0]
    head = int(np.argmax(differs)) if differs.any() else y.size
    p_head = rate if y[0] else 1.0 - rate
    assert head <= math.ceil(math.log(1e-3) / math.log(p_head)), (split, head, bool(y[0]), rate)


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize(("seed", "tier"), WORLDS[:2])
def test_two_cli_runs_with_a_pinned_epoch_are_byte_identical(tmp_path: Path, seed: int, tier: str) -> None:
    override = tmp_path / "sharded.yaml"
    override.write_text("shard_accounts: 500\n")
    digests = []
    for name in ("a", "b"):
        out = tmp_path / name
        args = ["generate", "--recipe", RECIPE, "--seed", str(seed), "--difficulty", tier]
        args += ["--mode", "student_public", "--override", str(override), "--out", str(out), "-q"]
        result = CliRunner().invoke(main, args, env={"SOURCE_DATE_EPOCH": "1700000000"})
        assert result.exit_code == 0, result.output
        digests.append(tree_hashes(out))
    assert digests[0] == digests[1]
    assert "manifest.json" in digests[0] and any(k.startswith(f"tasks/{LABEL}/valid") for k in digests[0])


@pytest.mark.parametrize("leads", [3, 40_000, 70_000])
def test_event_rows_are_ordered_as_a_lexsort_by_lead_then_time(leads: int) -> None:
    """The event tables' row order (lead, then time, ties in emission order) is the same with
    the radix pass for shard-sized lead counts as with the plain lexsort past them."""
    from leadforge_leadscoring.tables import _by_time

    g = np.random.default_rng(leads)
    lead = g.integers(0, leads, 200_000)
    at = g.integers(0, 500, lead.size) * 86_400_000_000 + g.integers(0, 4, lead.size)  # many ties
    assert np.array_equal(_by_time(lead, at), np.lexsort((at, lead)))
