"""The conformance kit: it passes every installed recipe, and each check catches its defect.

``Mutant`` (in ``conformance_mutant``) is a small but complete scheme with switchable defects.
The clean mutant must pass every check; each defect must fail exactly the checks that exist to
catch it, which proves the kit can fail (and does not fail for the wrong reason). Honest
variants carry real signal that a careless leak probe would flag; they must pass.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conformance_mutant import INSTRUCTOR, PUBLIC, Mutant, mutant_host, write_recipe
from leadforge.bundle.manifest import Manifest
from leadforge.plugins import PluginHost
from leadforge.testing import CHECKS, Conformance, SchemeConformance, check_scheme, expected_failure
from leadforge.testing.checks.leaks import _primary_time, judge
from leadforge.testing.stats import (
    RUN_SURPRISE,
    auc,
    auc_tolerance,
    binarise,
    class_shares,
    edge_runs,
    run_surprise,
    time_groups,
)
from leadforge.testing.structure import id_numbers, links, task_labels

pytest_plugins = ["pytester"]

ALL_CHECKS = {c.name for c in CHECKS}


# -- every installed recipe ---------------------------------------------------------------


def _installed_recipes() -> list[str]:
    host = PluginHost.discover(report=False)
    return sorted(
        rid for rid, e in host.recipes.items() if e.recipe is not None and e.recipe.scheme in host.schemes
    )


@pytest.mark.parametrize("recipe_id", _installed_recipes())
def test_installed_recipe_honours_the_contract(recipe_id: str, leadforge_check_scheme: Any) -> None:
    started = time.perf_counter()
    report = leadforge_check_scheme(recipe_id, cross_process=False)
    assert report.ok and {r.name for r in report.results} == ALL_CHECKS
    print(f"\n{report.summary()}\n(wall {time.perf_counter() - started:.1f}s)")


@pytest.mark.slow
@pytest.mark.parametrize("recipe_id", _installed_recipes())
def test_installed_recipe_is_deterministic_across_interpreters(recipe_id: str, tmp_path: Path) -> None:
    result = Conformance(recipe_id, workdir=tmp_path, cross_process=True).run("determinism")
    assert result.ok, result.describe()
    assert (tmp_path / "research_instructor-seed7-cli").is_dir() or (
        tmp_path / "student_public-seed7-cli"
    ).is_dir()


# -- the mutant scheme -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recipe_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {
        name: write_recipe(tmp_path_factory.mktemp(f"recipe-{name}") / "mut_v1", modes)
        for name, modes in (("both", "student_public, research_instructor"), ("public", "student_public"))
    }


def failing_checks(host: PluginHost, workdir: Path) -> tuple[set[str], str]:
    report = Conformance("mut_v1", host=host, workdir=workdir).run_all()
    return {r.name for r in report.results if not r.ok}, report.summary()


def test_clean_mutant_passes_every_check(recipe_dirs: dict[str, Path], tmp_path: Path) -> None:
    host, plugin = mutant_host(recipe_dirs["both"])
    report = check_scheme("mut_v1", host=host, workdir=tmp_path)
    assert [r.name for r in report.results] == [c.name for c in CHECKS]
    assert all(r.ok and r.skipped is None for r in report.results), report.summary()
    # each (mode, seed) bundle is built once and its repeat once, not once per check
    assert plugin.builds.count(("student_public", 7)) == 2
    assert plugin.builds.count(("research_instructor", 7)) == 2
    assert plugin.builds.count(("student_public", 8)) == 1
    # the public cut removes events in a label-dependent way, and the probes still find nothing
    kept = {
        m: Manifest.load(tmp_path / f"{m.value}-seed7-first").tables["events"].row_count
        for m in (PUBLIC, INSTRUCTOR)
    }
    assert 0 < kept[PUBLIC] < kept[INSTRUCTOR]


DEFECTS = {
    # defect: (checks that must fail, text the report must contain)
    "wallclock": ({"determinism"}, "dataset_card.md: line 4 differs"),
    "ignores_seed": ({"seed_sensitivity"}, "the seed does not reach its features or labels"),
    "public_extra_column": (
        {"exposure_monotonicity"},
        "public columns the instructor table lacks: ['extra']",
    ),
    "undeclared_omission": ({"exposure_monotonicity"}, "instructor tables ['groups'] are missing"),
    "hidden_in_config": ({"exposure_monotonicity"}, "reveals the hidden field 'motif_family'"),
    "card_leaks_hidden": ({"exposure_monotonicity"}, "dataset_card.md of the public bundle mentions"),
    "public_features_differ": ({"exposure_monotonicity"}, "values differ between public and instructor"),
    "stray_file": ({"manifest", "validate_fresh"}, "scratch.log is in the bundle but not listed in files"),
    "false_positive": ({"validate_fresh"}, "rows look suspicious"),
    "fragile_validate": (
        {"validate_tampered"},
        "a validate hook crashed on a bundle with tables/events.parquet",
    ),
    "no_count_check": (
        {"bad_config"},
        "the negative count n_rows=-1: the plugin crashed (plugin 'mut' (leadforge-scheme-mut) failed in build_world: ValueError",
    ),
    "single_split": ({"splits"}, "valid.parquet is empty"),
    "duplicate_keys": ({"splits", "validate_fresh"}, "key column 'row_id' has duplicates"),
    "constant_label": ({"splits"}, "the label 'hot' has a single value"),
    "undocumented_column": ({"dictionary", "validate_fresh"}, "columns missing from feature_dictionary.csv"),
    "label_not_target": ({"dictionary"}, "the label 'hot' of task hot is not marked is_target"),
    # structural leaks: each planted on the mutant, each caught by its own check
    "rows_sorted_by_label": (
        {"row_order"},
        "student_public tasks/hot/train.parquet: row position predicts hot (AUC 1.000",
    ),
    "ids_by_label": ({"id_numbers"}, "task hot: the number in row_id predicts hot (AUC 1.000"),
    "events_by_label": (
        {"id_numbers"},
        "the lowest event_id of each row_id's rows in tables/events.parquet predicts hot",
    ),
    "hand_cut": (
        {"cut_gaps"},
        "tables/events.parquet: the event_id gaps after each items row's public rows predict how many",
    ),
    # core validate enforces one split per key too, so validate_fresh fails with the kit's check
    "split_per_task": (
        {"shared_splits", "validate_fresh"},
        "tasks hot and warm share the key 'row_id' but put",
    ),
    "positives_only_table": (
        {"presence"},
        "whether a row_id has any row in tables/alerts.parquet separates hot almost perfectly (AUC 1.000",
    ),
    "public_drops_negatives": (
        {"presence"},
        "but 0.500 in core's public projection of the instructor rows",
    ),
}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_each_defect_fails_exactly_its_checks(
    defect: str, recipe_dirs: dict[str, Path], tmp_path: Path
) -> None:
    expected, text = DEFECTS[defect]
    host, _ = mutant_host(recipe_dirs["both"], defect)
    failed, summary = failing_checks(host, tmp_path)
    assert failed == expected, summary
    assert text in summary, summary


HONEST = {
    # variant: params; each carries real signal a careless probe would call a leak
    "honest_time_signal": {"n_rows": 1200, "chunk_rows": 400},
    "honest_alerts": {"n_rows": 600},
}


@pytest.mark.parametrize("variant", sorted(HONEST))
def test_honest_signal_is_not_a_leak(variant: str, recipe_dirs: dict[str, Path], tmp_path: Path) -> None:
    host, _ = mutant_host(recipe_dirs["both"], variant)
    c = Conformance("mut_v1", host=host, workdir=tmp_path, params=HONEST[variant])
    report = c.run_all()
    assert report.ok, report.summary()
    b = c.bundle(PUBLIC)
    manifest = b.manifest()
    assert manifest.contract is not None
    labels = task_labels(b, "hot")
    assert labels is not None
    if variant == "honest_time_signal":
        # ids follow creation time inside each shard and time predicts the label: the bare id
        # probe fires, and only the comparison among rows of about the same time clears it
        time_rank = _primary_time(b, manifest.contract, labels)
        assert time_rank is not None and auc(time_rank, labels.y) > 0.8
        ids = id_numbers(labels.keys)
        assert judge(ids, labels.y) is not None
        assert judge(ids, labels.y, time_rank) is None
    else:
        (alerts,) = [
            link for link in links(b.view(), manifest.contract, labels) if link.table.name == "alerts"
        ]
        has = np.bincount(alerts.entity[alerts.entity >= 0], minlength=labels.y.size) > 0
        assert 0.6 < auc(has.astype(float), labels.y) < 0.9


# -- the statistics behind the leak probes ------------------------------------------------------


def test_auc_counts_pairs_and_ties_like_the_definition() -> None:
    g = np.random.default_rng(0)
    score = g.integers(0, 6, size=300).astype(float)
    y = g.random(300) < 0.3
    pos, neg = score[y], score[~y]
    pairs = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert auc(score, y) == pytest.approx(pairs / (pos.size * neg.size))
    assert np.isnan(auc(score, np.zeros(300, dtype=bool)))
    assert auc(np.full(300, 2.0), y) == 0.5


def test_the_tolerance_follows_the_null_spread_of_the_auc() -> None:
    balanced = np.arange(2000) % 2 == 0
    assert auc_tolerance(balanced) == pytest.approx(4 * np.sqrt(2001 / (12 * 1000 * 1000)))
    assert auc_tolerance(np.arange(200_000) % 2 == 0) == 0.03
    rare = np.arange(2000) % 20 == 0
    assert auc_tolerance(rare) > 1.5 * auc_tolerance(balanced)
    # uninformative scores almost never exceed it: 4 standard deviations
    g = np.random.default_rng(1)
    y = np.arange(120) % 3 == 0
    flagged = sum(judge(g.random(120), y) is not None for _ in range(2000))
    assert flagged <= 2


def test_runs_and_binary_labels() -> None:
    assert edge_runs(np.array([1, 1, 1, 0, 1, 0, 0], dtype=bool)) == (3, 2)
    y = np.arange(100) % 2 == 0
    shares = class_shares(y, np.zeros(100))
    assert np.all(shares == 0.5)
    assert run_surprise(shares[:20]) > RUN_SURPRISE > run_surprise(shares[:19])  # 0.5**20 < 1e-6 < 0.5**19
    # a day on which every row has one class explains any run inside it
    days = np.repeat(np.arange(5), 40)
    late = np.where(days == 4, False, np.arange(200) % 2 == 0)
    assert time_groups(days.astype(float)).tolist() == days.tolist()
    assert run_surprise(class_shares(late, time_groups(days.astype(float)))[-40:]) == 0
    assert time_groups(np.arange(100.0), min_rows=30).max() == 2  # 30, 30, 40 rows
    assert binarise(np.array([0.0, 1.0, 1.0])).tolist() == [False, True, True]
    assert binarise(np.array([3.0, 1.0, 2.0, 10.0])).tolist() == [True, False, False, True]
    assert binarise(np.array([0.0, 0.0, 0.0, 5.0])).tolist() == [False, False, False, True]
    assert binarise(np.full(4, 2.0)) is None


def test_the_stratified_auc_asks_what_a_score_adds_beyond_time() -> None:
    g = np.random.default_rng(2)
    t = g.random(3000)
    y = g.random(3000) < t  # the label depends on time only
    follows_time = t + 1e-3 * g.random(3000)
    assert judge(follows_time, y) is not None
    assert judge(follows_time, y, t) is None
    leaks = np.where(y, 1.0, 0.0) + g.random(3000)  # the score knows the label itself
    assert judge(leaks, y, t) is not None


def test_the_kit_reports_what_validate_reports_about_a_manifest(
    recipe_dirs: dict[str, Path], tmp_path: Path
) -> None:
    from leadforge.bundle.manifest import parse
    from leadforge.yamlfile import dump_json

    host, _ = mutant_host(recipe_dirs["both"])
    c = Conformance("mut_v1", host=host, workdir=tmp_path)
    assert c.run("manifest").ok
    b = c.bundle(PUBLIC)
    raw = b.raw_manifest()
    raw["seed"] = "seven"
    raw["tasks"]["hot"]["train_rows"] = None
    (b.path / "manifest.json").write_bytes(dump_json(raw))
    findings = [f.message for f in parse(raw).findings]
    assert len(findings) == 2
    failures = c.run("manifest").failures
    for message in findings:
        assert f"student_public manifest: {message}" in failures, failures


def test_checks_do_not_import_the_runner() -> None:
    import subprocess
    import sys

    code = "import sys, leadforge.testing.checks; print('leadforge.testing.runner' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_check_scheme_raises_listing_every_failure(recipe_dirs: dict[str, Path], tmp_path: Path) -> None:
    host, _ = mutant_host(recipe_dirs["both"], "duplicate_keys")
    with pytest.raises(AssertionError) as info:
        check_scheme("mut_v1", host=host, workdir=tmp_path)
    message = str(info.value)
    assert "failure(s)" in message and "splits: " in message and "validate_fresh: " in message
    assert "determinism: ok" in message


def test_tampering_goes_unnoticed_without_core_validation(
    recipe_dirs: dict[str, Path], tmp_path: Path
) -> None:
    host, _ = mutant_host(recipe_dirs["both"])
    host.pm.unregister(name="core")
    failed, summary = failing_checks(host, tmp_path)
    assert failed == {"validate_tampered"}, summary
    for what in (
        "dataset_card.md edited",
        "tables/events.parquet deleted",
        "labels flipped in tasks/hot/train",
    ):
        assert f"validate did not report {what}" in summary


def test_only_supported_modes_are_generated(recipe_dirs: dict[str, Path], tmp_path: Path) -> None:
    host, plugin = mutant_host(recipe_dirs["public"])
    report = check_scheme("mut_v1", host=host, workdir=tmp_path)
    assert {mode for mode, _ in plugin.builds} == {"student_public"}
    assert report.result("exposure_monotonicity").skipped is None  # public-only rules still apply

    host, plugin = mutant_host(recipe_dirs["both"], modes=(INSTRUCTOR,))
    report = check_scheme("mut_v1", host=host, workdir=tmp_path / "instructor")
    assert {mode for mode, _ in plugin.builds} == {"research_instructor"}
    assert (
        report.result("exposure_monotonicity").skipped == "the recipe/scheme supports no student_public mode"
    )


def test_a_public_only_scheme_still_fails_public_rules(recipe_dirs: dict[str, Path], tmp_path: Path) -> None:
    host, _ = mutant_host(recipe_dirs["public"], "hidden_in_config")
    failed, summary = failing_checks(host, tmp_path)
    assert failed == {"exposure_monotonicity"}, summary
    assert "the public manifest reveals motif_family = " in summary


def test_unknown_recipe_is_a_clear_error(tmp_path: Path) -> None:
    from leadforge.errors import InvalidRecipeError

    with pytest.raises(InvalidRecipeError, match="unknown recipe 'no_such_recipe'"):
        check_scheme("no_such_recipe", host=PluginHost.from_plugins([]), workdir=tmp_path)


# -- the base class -------------------------------------------------------------------------


def test_overriding_a_standard_test_without_a_reason_is_refused() -> None:
    with pytest.raises(
        TypeError, match=r"TestQuiet.test_splits overrides a standard leadforge conformance test"
    ):

        class TestQuiet(SchemeConformance):
            recipe_id = "mut_v1"

            def test_splits(self) -> None:
                pass

    with pytest.raises(TypeError, match="would bypass the leadforge conformance checks"):

        class TestFake(SchemeConformance):
            recipe_id = "mut_v1"

            @pytest.fixture(scope="class")
            def leadforge_conformance(self) -> None:
                return None

    with pytest.raises(TypeError, match="needs a reason"):
        expected_failure("  ")


def test_expected_failure_runs_the_check_and_is_strict(recipe_dirs: dict[str, Path], tmp_path: Path) -> None:
    class TestDeclared(SchemeConformance):
        recipe_id = "mut_v1"

        @expected_failure("labels are constant in this toy")
        def test_splits(self) -> None:
            raise AssertionError("the body of a declared expected failure is never run")

    failing, _ = mutant_host(recipe_dirs["both"], "constant_label")
    with pytest.raises(pytest.xfail.Exception, match="labels are constant in this toy"):
        TestDeclared().test_splits(Conformance("mut_v1", host=failing, workdir=tmp_path / "a"))  # type: ignore[call-arg]
    passing, _ = mutant_host(recipe_dirs["both"])
    with pytest.raises(pytest.fail.Exception, match="passes now; remove @expected_failure"):
        TestDeclared().test_splits(Conformance("mut_v1", host=passing, workdir=tmp_path / "b"))  # type: ignore[call-arg]


CONFORMANCE_MODULE = """
import importlib
from leadforge.testing import SchemeConformance, expected_failure

kit_tests = importlib.import_module({module!r})
RECIPE = {recipe!r}


class TestMutant(SchemeConformance):
    recipe_id = "mut_v1"

    @classmethod
    def leadforge_host(cls):
        host, plugin = kit_tests.mutant_host(kit_tests.Path(RECIPE), {defect!r})
        kit_tests.LAST_PLUGIN.append(plugin)
        return host
{extra}
"""
LAST_PLUGIN: list[Mutant] = []


def run_suite(pytester: pytest.Pytester, recipe: Path, defect: str | None = None, extra: str = "") -> Any:
    LAST_PLUGIN.clear()
    pytester.makepyfile(
        test_mutant=CONFORMANCE_MODULE.format(module=__name__, recipe=str(recipe), defect=defect, extra=extra)
    )
    return pytester.runpytest("-p", "no:cacheprovider", "-v", "-p", "no:xdist")


def test_subclass_runs_one_test_per_check_sharing_bundles(
    pytester: pytest.Pytester, recipe_dirs: dict[str, Path]
) -> None:
    result = run_suite(pytester, recipe_dirs["both"])
    result.assert_outcomes(passed=len(CHECKS))
    result.stdout.fnmatch_lines([f"*TestMutant::test_{c.name} PASSED*" for c in CHECKS], consecutive=False)
    (plugin,) = LAST_PLUGIN
    assert plugin.builds.count(("student_public", 7)) == 2  # generated once for the whole class


def test_subclass_reports_a_failing_check(pytester: pytest.Pytester, recipe_dirs: dict[str, Path]) -> None:
    result = run_suite(pytester, recipe_dirs["both"], "constant_label")
    result.assert_outcomes(passed=len(CHECKS) - 1, failed=1)
    result.stdout.fnmatch_lines(["*leadforge conformance check 'splits' failed:*", "*has a single value*"])


def test_a_neutered_suite_fails_the_run(pytester: pytest.Pytester, recipe_dirs: dict[str, Path]) -> None:
    extra = "\n    def test_determinism(self):\n        pass\n"
    result = run_suite(pytester, recipe_dirs["both"], "wallclock", extra)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        ["*TestMutant.test_determinism overrides a standard leadforge conformance test*"]
    )


def test_a_declared_expected_failure_is_reported_as_xfail(
    pytester: pytest.Pytester, recipe_dirs: dict[str, Path]
) -> None:
    extra = "\n    @expected_failure('the card carries a build stamp')\n    def test_determinism(self): ...\n"
    result = run_suite(pytester, recipe_dirs["both"], "wallclock", extra)
    result.assert_outcomes(passed=len(CHECKS) - 1, xfailed=1)


def test_the_pytest_plugin_is_cheap_to_load() -> None:
    import subprocess
    import sys

    code = (
        "import sys, leadforge.testing.pytest_plugin; "
        "print(','.join(m for m in ('numpy', 'pyarrow', 'pandas', 'leadforge.api') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""
    assert importlib.import_module("leadforge.testing").check_scheme is check_scheme
