"""The conformance kit: it passes every installed recipe, and each check catches its defect.

``Mutant`` is a small but complete scheme with switchable defects. The clean mutant must pass
every check; each defect must fail exactly the checks that exist to catch it, which proves
the kit can fail (and does not fail for the wrong reason).
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from leadforge import hookimpl
from leadforge.bundle import BundleWriter, ManifestFields, SplitFractions, StructuralRedactions, TaskSpec
from leadforge.bundle.reader import BundleView, Manifest
from leadforge.columns import id_range
from leadforge.config import GenerationConfig
from leadforge.enums import ExposureMode
from leadforge.features import FeatureSpec, catalog_schema
from leadforge.params import param
from leadforge.plugins import PluginHost
from leadforge.rng import RNG
from leadforge.schema import TableSchema
from leadforge.schemes import SchemeInfo
from leadforge.testing import CHECKS, Conformance, SchemeConformance, check_scheme, expected_failure
from leadforge.validation import Finding

pytest_plugins = ["pytester"]

PUBLIC = ExposureMode.STUDENT_PUBLIC
INSTRUCTOR = ExposureMode.RESEARCH_INSTRUCTOR
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


# -- a scheme with switchable defects ---------------------------------------------------------


@dataclass(frozen=True)
class MutParams:
    n_rows: int = param(150, help="rows to simulate", minimum=1, maximum=100_000)


@dataclass(frozen=True)
class UncheckedParams:
    n_rows: int = param(150, help="rows to simulate, with no bounds declared")


@dataclass
class MutWorld:
    scheme: str
    config: GenerationConfig
    motif: str
    x: np.ndarray
    z: np.ndarray
    k: np.ndarray


ITEMS = TableSchema.of([("row_id", "string"), ("x", "Float64"), ("k", "Int64"), ("z", "Float64")])
GROUPS = TableSchema.of([("group_id", "string"), ("size", "Int64")])


class Mutant:
    """A plugin object (pluggy registers its bound methods) for the ``mut`` scheme."""

    LEADFORGE_PLUGIN_API = (2, 2)

    def __init__(
        self, recipes: Path, defect: str | None = None, modes: tuple[ExposureMode, ...] = (PUBLIC, INSTRUCTOR)
    ):
        self.recipes = recipes
        self.defect = defect
        self.modes = modes
        self.builds: list[tuple[str, int]] = []

    @hookimpl
    def register_schemes(self) -> list[SchemeInfo]:
        params = UncheckedParams if self.defect == "no_count_check" else MutParams
        return [
            SchemeInfo(
                name="mut",
                title="Mutant",
                version="1",
                params_type=params,
                exposure_modes=self.modes,
                narrative_type=None,
                sample_params={"n_rows": 150},
            )
        ]

    @hookimpl
    def register_recipes(self) -> list[Path]:
        return [self.recipes]

    @hookimpl
    def build_world(self, scheme: str, config: GenerationConfig, narrative: Any, rng: RNG) -> MutWorld | None:
        if scheme != "mut":
            return None
        self.builds.append((config.exposure_mode.value, config.seed))
        if self.defect == "ignores_seed":
            rng = RNG(0)
        n = config.params.n_rows
        g = rng.generator("rows")
        x, z = g.normal(size=n), g.normal(size=n)
        k = g.poisson(2.0, size=n)
        motif = ("ridge_motif", "valley_motif")[int(rng.generator("motif").integers(2))]
        return MutWorld("mut", config, motif, x, z, k)

    def catalog(self) -> list[FeatureSpec]:
        return [
            FeatureSpec("row_id", "string", "id", "ids", distort=False),
            FeatureSpec("x", "Float64", "signal", "features"),
            FeatureSpec("k", "Int64", "a count", "features", non_negative=True),
            FeatureSpec("hot", "boolean", "target", "target", is_target=self.defect != "label_not_target"),
        ]

    @hookimpl
    def write_bundle(self, world: Any, writer: BundleWriter) -> bool | None:
        if not isinstance(world, MutWorld):
            return None
        d, public = self.defect, writer.mode is PUBLIC
        n = world.x.size
        hidden = {"motif_family": world.motif}
        config: dict[str, Any] = {"n_rows": n}
        if d == "hidden_in_config" and public:
            config, hidden = {**config, **hidden}, {}
        writer.declare_features(self.catalog())
        writer.set_manifest_fields(
            ManifestFields(
                config=config,
                hidden=hidden,
                relational_snapshot_safe=public,
                structural_redactions=StructuralRedactions(columns={"items": ["z"]} if public else {}),
            )
        )
        ids = id_range("row", 1, n)
        items: dict[str, Any] = {"row_id": ids, "x": world.x, "k": world.k, "z": world.z}
        schema = ITEMS
        if public:
            items.pop("z")
            schema = ITEMS.without(["z"])
            if d == "public_extra_column":
                schema = TableSchema.of([*schema.columns, ("extra", "Float64")])
                items["extra"] = world.z
        writer.write_table("items", schema, items)
        if not (public and d == "undeclared_omission"):
            writer.write_table(
                "groups", GROUPS, {"group_id": id_range("grp", 1, 3), "size": np.array([5, 6, 7])}
            )
        label = world.x + world.z > 0
        if d == "constant_label":
            label = np.zeros(n, dtype=bool)
        x = np.round(world.x, 1) if d == "public_features_differ" and public else world.x
        task = {"row_id": ids, "x": x, "k": world.k, "hot": label}
        task_schema = catalog_schema(self.catalog())
        if d == "undocumented_column":
            task_schema = TableSchema.of([*task_schema.columns, ("extra_feature", "Float64")])
            task["extra_feature"] = world.z
        split = SplitFractions(1.0, 0.0, 0.0) if d == "single_split" else SplitFractions()
        spec = TaskSpec(
            "hot", "binary_classification", "hot", 30, "items", "row_id", "Is the row hot?", split=split
        )
        with writer.open_task(spec, task_schema) as sink:
            sink.append(task)
            if d == "duplicate_keys":
                sink.append(task)
        card = f"# Mutant — {writer.mode.value}\n\n{n} rows.\n"
        if d == "wallclock":
            card += f"Generated at {time.time_ns()}.\n"
        if d == "card_leaks_hidden":
            card += f"The hidden motif is {world.motif}.\n"
        writer.write_dataset_card(card)
        if d == "stray_file":
            (writer.root / "scratch.log").write_text("written behind the writer's back\n")
        return True

    @hookimpl
    def write_metadata(self, world: Any, writer: BundleWriter) -> bool | None:
        if not isinstance(world, MutWorld):
            return None
        writer.write_metadata_json("truth.json", {"motif": world.motif, "z_mean": float(world.z.mean())})
        return True

    @hookimpl
    def validate(self, bundle: BundleView, manifest: Manifest) -> list[Finding] | None:
        if manifest.scheme != "mut":
            return None
        if self.defect == "false_positive":
            return [Finding("mut.sanity", "rows look suspicious", where="tables/items.parquet")]
        if self.defect == "fragile_validate":
            import pyarrow.parquet as pq

            for name in manifest.tables:
                pq.read_table(bundle.root / "tables" / f"{name}.parquet")
        return []


RECIPE = """id: mut_v1
title: Mutant recipe
scheme: mut
description: A recipe for the conformance kit's own tests.
primary_task: hot
supported_modes: [{modes}]
supported_difficulty: [intro, intermediate]
"""


@pytest.fixture(scope="module")
def recipe_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = {}
    for name, modes in (("both", "student_public, research_instructor"), ("public", "student_public")):
        folder = tmp_path_factory.mktemp(f"recipe-{name}") / "mut_v1"
        folder.mkdir()
        (folder / "recipe.yaml").write_text(RECIPE.format(modes=modes))
        out[name] = folder
    return out


def mutant_host(recipe: Path, defect: str | None = None, **kw: Any) -> tuple[PluginHost, Mutant]:
    plugin = Mutant(recipe, defect, **kw)
    return PluginHost.from_plugins([("mut", plugin)], distribution="leadforge-scheme-mut"), plugin


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
        "a validate hook crashed on a bundle with tables/groups.parquet",
    ),
    "no_count_check": ({"bad_config"}, "the negative count n_rows=-1: crashed with ValueError"),
    "single_split": ({"splits"}, "valid.parquet is empty"),
    "duplicate_keys": ({"splits", "validate_fresh"}, "key column 'row_id' has duplicates"),
    "constant_label": ({"splits"}, "the label 'hot' has a single value"),
    "undocumented_column": ({"dictionary", "validate_fresh"}, "columns missing from feature_dictionary.csv"),
    "label_not_target": ({"dictionary"}, "the label 'hot' of task hot is not marked is_target"),
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
        "tables/groups.parquet deleted",
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
