"""Interventions and twin worlds through the API, on the toy scheme (its lever moves the label threshold)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from core_support import PINNED, tree_hashes
from leadforge.api import Generator
from leadforge.errors import UsageError
from leadforge.interventions import Lever, parse_intervention, parse_interventions
from leadforge.plugins import PluginHost

LEVERS = [
    Lever("policy:threshold", "label threshold", low=-5.0, high=5.0),
    Lever("edge:a->b", "an edge", ops=("scale",)),
]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_specs_parse_into_set_and_scale() -> None:
    assert str(parse_intervention("policy:threshold=1.5", LEVERS)) == "policy:threshold=1.5"
    iv = parse_intervention(" edge:a->b * 0 ", LEVERS)
    assert (iv.op, iv.value, iv.apply(3.0)) == ("scale", 0.0, 0.0)
    assert parse_intervention("policy:threshold=-2", LEVERS).apply(7.0) == -2.0


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("policy:nope=1", "unknown lever 'policy:nope'; this world has: policy:threshold=VALUE|*FACTOR"),
        ("policy:threshold", "expected LEVER=VALUE or LEVER*FACTOR"),
        ("policy:threshold=high", "'high' is not a number"),
        ("policy:threshold=nan", "must be finite"),
        ("policy:threshold=9", "values in [-5, 5]"),
        ("edge:a->b=1", "can only be scale, not set"),
        ("edge:a->b*-1", "scale factor must be >= 0"),
    ],
)
def test_bad_specs_are_one_line_naming_what_exists(spec: str, says: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_intervention(spec, LEVERS)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_a_lever_named_twice_is_refused() -> None:
    with pytest.raises(UsageError, match="twice"):
        parse_interventions(["policy:threshold=1", "policy:threshold=2"], LEVERS)


def test_the_empty_intervention_gives_byte_identical_bundles(toy_host: PluginHost, tmp_path: Path) -> None:
    plain = Generator.from_recipe("toy_v1", exposure_mode="research_instructor", host=toy_host)
    empty = Generator.from_recipe("toy_v1", exposure_mode="research_instructor", host=toy_host, intervene=[])
    assert empty.config.digest() == plain.config.digest()
    a = plain.generate().save(tmp_path / "a", generation_timestamp=PINNED)
    b = empty.generate().save(tmp_path / "b", generation_timestamp=PINNED)
    assert tree_hashes(a) == tree_hashes(b)


def test_a_scheme_without_levers_refuses_interventions(tmp_path: Path) -> None:
    plugin = pytest.importorskip("leadforge_support.plugin")
    host = PluginHost.from_plugins([("support", plugin)])
    with pytest.raises(UsageError, match="offers no levers"):
        Generator.from_recipe("helpdesk_sla_v1", host=host, intervene=["policy:x=1"])


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    import toyplugin

    gen = Generator.from_recipe(
        "toy_v1",
        exposure_mode="research_instructor",
        host=PluginHost.from_plugins([("toy", toyplugin)]),
        intervene=["policy:threshold=0.25"],
        n_rows=2_000,
    )
    t = gen.save_twin(tmp_path_factory.mktemp("twin") / "t", generation_timestamp=PINNED)
    return t.factual, t.intervened


def test_twins_share_every_draw_the_intervention_does_not_reach(twin: tuple[Path, Path]) -> None:
    factual, intervened = twin
    for rel in ("tables/rows.parquet", "tables/events.parquet"):
        assert digest(factual / rel) == digest(intervened / rel)
    for split in ("train", "valid", "test"):
        f = pq.read_table(factual / f"tasks/toy_task/{split}.parquet")
        i = pq.read_table(intervened / f"tasks/toy_task/{split}.parquet")
        assert f.column("row_id").to_pylist() == i.column("row_id").to_pylist()
        assert f.drop_columns(["positive"]).equals(i.drop_columns(["positive"]))


def test_effects_are_the_per_row_difference_of_the_twins_labels(twin: tuple[Path, Path]) -> None:
    factual, intervened = twin
    effects = pq.read_table(intervened / "metadata/effects.parquet")
    assert not (factual / "metadata/effects.parquet").exists()
    assert effects.num_rows == 2_000
    f_all: dict[str, bool] = {}
    i_all: dict[str, bool] = {}
    for split in ("train", "valid", "test"):
        for root, into in ((factual, f_all), (intervened, i_all)):
            t = pq.read_table(root / f"tasks/toy_task/{split}.parquet")
            into.update(zip(t.column("row_id").to_pylist(), t.column("positive").to_pylist(), strict=True))
    expect = np.array([float(i_all[k]) - float(f_all[k]) for k in effects.column("key").to_pylist()])
    assert np.array_equal(np.asarray(effects.column("effect")), expect)
    assert np.any(expect != 0)
    assert pc.all(pc.is_nan(effects.column("oracle_effect"))).as_py()
    card = (intervened / "dataset_card.md").read_text()
    assert "## Intervention effects" in card and "`policy:threshold=0.25`" in card
    assert f"{expect.mean():+.4f}" in card


def test_a_twin_folder_never_replaces_a_users_files(toy_host: PluginHost, tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    gen = Generator.from_recipe("toy_v1", host=toy_host, intervene=["policy:threshold=1"])
    with pytest.raises(UsageError, match="notes.txt"):
        gen.save_twin(tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    with pytest.raises(UsageError, match="at least one intervention"):
        Generator.from_recipe("toy_v1", host=toy_host).save_twin(tmp_path / "x")


def test_factual_must_be_this_worlds_twin(toy_host: PluginHost, tmp_path: Path) -> None:
    other = Generator.from_recipe("toy_v1", seed=7, host=toy_host).generate().save(tmp_path / "other")
    gen = Generator.from_recipe("toy_v1", host=toy_host, intervene=["policy:threshold=1"])
    with pytest.raises(UsageError, match="not this world's factual twin"):
        gen.generate().save(tmp_path / "i", factual=other)


def test_cli_writes_validated_twins_and_refuses_bad_specs(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "twin"
    args = ["generate", "--recipe", "toy_v1", "--mode", "research_instructor", "--out", str(out)]
    done = cli(*args, "--intervene", "policy:threshold=0.5", "--twin")
    assert done.exit_code == 0, done.output
    assert "passed all checks" in done.output
    assert (out / "intervened" / "metadata" / "effects.parquet").is_file()
    spec = json.loads((out / "intervened" / "metadata" / "world_spec.json").read_text())
    assert spec["config"]["interventions"] == ["policy:threshold=0.5"]
    assert (
        "interventions"
        not in json.loads((out / "factual" / "metadata" / "world_spec.json").read_text())["config"]
    )
    bad = cli(*args, "--intervene", "policy:speed=2")
    assert bad.exit_code == 2 and "unknown lever 'policy:speed'" in bad.output
    assert "Traceback" not in bad.output
    lonely = cli(*args[:-2], "--out", str(tmp_path / "x"), "--twin")
    assert lonely.exit_code == 2 and "at least one intervention" in lonely.output


def test_the_cards_command_repeats_the_interventions(toy_host: PluginHost) -> None:
    from leadforge.reproduce import Reproduction

    gen = Generator.from_recipe("toy_v1", host=toy_host, intervene=["policy:threshold*0.5"])
    assert "--intervene 'policy:threshold*0.5'" in Reproduction.of(gen.config).command
    assert "--intervene" not in Reproduction.of(gen.factual().config).command


def test_the_manifest_records_the_interventions_and_from_reapplies_them(twin: tuple[Path, Path]) -> None:
    from leadforge.bundle.manifest import Manifest

    factual, intervened = twin
    assert Manifest.load(intervened).interventions == ("policy:threshold=0.25",)
    assert Manifest.load(factual).interventions == ()
    assert "interventions" not in json.loads((factual / "manifest.json").read_text())
    import toyplugin

    again = Generator.from_bundle(intervened, host=PluginHost.from_plugins([("toy", toyplugin)]))
    assert [str(iv) for iv in again.config.interventions] == ["policy:threshold=0.25"]
    assert again.notes == () or all("versions" in n for n in again.notes)
