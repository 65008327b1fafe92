"""The designed experiment, on the toy scheme: its lever moves the label threshold for the treated rows.

The toy's label is ``x1 + 0.5 * noise > threshold`` with normal noise, so its oracle and each row's
true uplift are exact; these tests check what core guarantees every scheme: the spec is parsed
against the policy levers, the arm is a hash of the entity's number (whatever the shard plan),
the public bundle records the arm and nothing hidden, the instructor bundle's answer key holds
the uplift, the card sets the estimate next to the truth, and the estimate covers the truth.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import Result
from core_support import PINNED, tree_hashes
from leadforge.api import Generator
from leadforge.errors import UsageError
from leadforge.experiment import TREATMENT_COLUMN, Experiment, parse_experiment
from leadforge.interventions import Intervention, Lever
from leadforge.plugins import PluginHost
from leadforge.reproduce import Reproduction
from leadforge.rng import RNG

LEVERS = [
    Lever("policy:threshold", "label threshold", low=-5.0, high=5.0),
    Lever("node:intent", "a hidden node"),
]


def test_a_spec_names_a_policy_its_value_and_the_treated_share() -> None:
    e = parse_experiment("policy:threshold=1.5@0.3", LEVERS)
    assert (e.lever, e.intervention.value, e.share, str(e)) == (
        "policy:threshold",
        1.5,
        0.3,
        "policy:threshold=1.5@0.3",
    )
    assert parse_experiment("policy:threshold*2", LEVERS).share == 0.5


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("policy:threshold=1@1.5", "between 0 and 1"),
        ("policy:threshold=1@0", "between 0 and 1"),
        ("policy:threshold=1@half", "'half' is not a number"),
        (
            "node:intent=1",
            "--experiment 'node:intent=1': unknown lever 'node:intent'; this world has: policy:",
        ),
        ("policy:threshold=9", "values in [-5, 5]"),
    ],
)
def test_bad_experiments_are_one_line_naming_the_policies(spec: str, says: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_experiment(spec, LEVERS)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_a_world_without_policies_cannot_run_an_experiment() -> None:
    with pytest.raises(UsageError, match="no policy lever"):
        parse_experiment("node:intent=1", [LEVERS[1]])


def test_the_assignment_is_a_fair_coin_of_the_entity_number_and_the_seed() -> None:
    e = Experiment(Intervention("policy:threshold", "set", 1.0), 0.3)
    ids = np.arange(200_000)
    arm = e.treated(ids, RNG(7))
    assert abs(arm.mean() - 0.3) < 0.005
    assert np.array_equal(e.treated(ids[1000:2000], RNG(7)), arm[1000:2000])  # any slice, same arms
    assert not np.array_equal(e.treated(ids, RNG(8)), arm)


def _instructor(host: PluginHost, spec: str | None, seed: int = 3, **params: object) -> Generator:
    return Generator.from_recipe(
        "toy_v1", exposure_mode="research_instructor", seed=seed, host=host, experiment=spec, **params
    )


def test_without_an_experiment_nothing_changes(toy_host: PluginHost, tmp_path: Path) -> None:
    plain = Generator.from_recipe("toy_v1", exposure_mode="research_instructor", host=toy_host)
    none = _instructor(toy_host, None, seed=42)
    assert "experiment" not in none.config.to_json() and none.config.digest() == plain.config.digest()
    a = plain.generate().save(tmp_path / "a", generation_timestamp=PINNED)
    b = none.generate().save(tmp_path / "b", generation_timestamp=PINNED)
    assert tree_hashes(a) == tree_hashes(b)


def test_the_arm_does_not_depend_on_the_shard_plan(toy_host: PluginHost, tmp_path: Path) -> None:
    arms = []
    for chunk in (100, 37):
        root = _instructor(toy_host, "policy:threshold=1", n_rows=300, chunk_rows=chunk).generate()
        out = root.save(tmp_path / str(chunk), generation_timestamp=PINNED)
        rows = _rows(out, "toy_task").set_index("row_id").sort_index()
        arms.append(rows[TREATMENT_COLUMN])
    pd.testing.assert_series_equal(arms[0], arms[1])


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import toyplugin

    host = PluginHost.from_plugins([("toy", toyplugin)], distribution="leadforge-scheme-toy")
    root = tmp_path_factory.mktemp("experiment")
    out = {}
    for mode in ("research_instructor", "student_public"):
        gen = Generator.from_recipe(
            "toy_v1", exposure_mode=mode, seed=5, host=host, experiment="policy:threshold=1@0.4", n_rows=3000
        )
        out[mode] = gen.generate().save(root / mode, generation_timestamp=PINNED)
    return out


def _rows(root: Path, name: str) -> pd.DataFrame:
    return pd.concat(
        [pd.read_parquet(root / "tasks" / "toy_task" / f"{s}.parquet") for s in ("train", "valid", "test")]
    )


def test_the_instructor_answer_key_holds_each_rows_true_uplift(bundles: dict[str, Path]) -> None:
    root = bundles["research_instructor"]
    key = pd.read_parquet(root / "metadata" / "oracle" / "toy_task.parquet")
    assert list(key.columns) == ["row_id", "split", "positive", "p_true", "uplift"]
    rows = _rows(root, "toy_task").set_index("row_id")
    assert "p_true" not in rows.columns and "oracle_uplift" not in rows.columns
    assert abs(rows[TREATMENT_COLUMN].mean() - 0.4) < 0.04
    # the threshold rises from the toy's N(0,1) draw to 1 for the treated: uplift has one sign
    assert (key["uplift"] <= 0).all() or (key["uplift"] >= 0).all()
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["experiment"] == "policy:threshold=1@0.4"
    assert manifest["oracles"]["toy_task"]["uplift"] == "uplift"
    import toyplugin

    host = PluginHost.from_plugins([("toy", toyplugin)], distribution="leadforge-scheme-toy")
    again = Generator.from_bundle(root, host=host).config
    assert again.experiment == Experiment(Intervention("policy:threshold", "set", 1.0), 0.4)
    assert "--experiment 'policy:threshold=1@0.4'" in Reproduction.of(again).command


def test_the_card_sets_the_estimate_next_to_the_truth_for_graders_only(bundles: dict[str, Path]) -> None:
    inst = (bundles["research_instructor"] / "dataset_card.md").read_text()
    pub = (bundles["student_public"] / "dataset_card.md").read_text()
    for card in (inst, pub):
        assert "## The designed experiment" in card and "`policy:threshold=1` for a random 40%" in card
    assert "true average uplift" in inst and "true average uplift" not in pub
    key = pd.read_parquet(bundles["research_instructor"] / "metadata" / "oracle" / "toy_task.parquet")
    assert f"{key['uplift'].mean():+.4f}" in inst


def test_the_public_bundle_records_the_arm_and_nothing_hidden(bundles: dict[str, Path]) -> None:
    root = bundles["student_public"]
    assert not (root / "metadata" / "oracle").exists()
    rows = _rows(root, "toy_task")
    assert TREATMENT_COLUMN in rows.columns and "oracle_uplift" not in rows.columns
    public = pd.merge(rows, _rows(bundles["research_instructor"], "toy_task"), on="row_id")
    assert (public[f"{TREATMENT_COLUMN}_x"] == public[f"{TREATMENT_COLUMN}_y"]).all()


def test_the_cli_runs_an_experiment_and_refuses_a_bad_one(cli: Callable[..., Result], tmp_path: Path) -> None:
    args = ["generate", "--recipe", "toy_v1", "--mode", "research_instructor", "--out", str(tmp_path / "b")]
    done = cli(*args, "--experiment", "policy:threshold=0.5@0.25")
    assert done.exit_code == 0, done.output
    assert pq.read_schema(tmp_path / "b" / "metadata" / "oracle" / "toy_task.parquet").names[-1] == "uplift"
    bad = cli(*args[:-1], str(tmp_path / "c"), "--experiment", "policy:speed=2")
    assert bad.exit_code == 2 and "unknown lever 'policy:speed'" in bad.output
    assert "Traceback" not in bad.output and not (tmp_path / "c").exists()


def test_the_difference_in_means_covers_the_true_uplift(toy_host: PluginHost, tmp_path: Path) -> None:
    """The 95 % interval of the arms' difference covers the mean true uplift in >= 18 of 20 seeds."""
    covered = 0
    for seed in range(20):
        gen = _instructor(toy_host, "policy:threshold=0@0.5", seed=seed, n_rows=4000, chunk_rows=1000)
        root = gen.generate().save(tmp_path / str(seed), generation_timestamp=PINNED)
        key = pd.read_parquet(root / "metadata" / "oracle" / "toy_task.parquet")
        rows = _rows(root, "toy_task").merge(key[["row_id", "uplift"]], on="row_id")
        y, t = rows["positive"].astype(float), rows[TREATMENT_COLUMN]
        diff = y[t].mean() - y[~t].mean()
        se = math.sqrt(y[t].var() / t.sum() + y[~t].var() / (~t).sum())
        covered += abs(diff - rows["uplift"].mean()) <= 1.96 * se
    assert covered >= 18
