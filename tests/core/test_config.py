from __future__ import annotations

from pathlib import Path

import pytest
import toyplugin
from leadforge.config import load_override
from leadforge.enums import Difficulty, ExposureMode
from leadforge.errors import InvalidConfigError, InvalidRecipeError, UsageError
from leadforge.plugins import PluginHost
from leadforge.resolution import resolve_config


def resolve(host: PluginHost, explicit: dict | None = None, override: dict | None = None):  # type: ignore[no-untyped-def]
    recipe = host.recipe("toy_v1")
    return resolve_config(recipe, host.scheme_for(recipe), explicit=explicit, override=override)


def test_precedence_explicit_over_override_over_recipe_over_scheme(toy_host: PluginHost) -> None:
    cfg = resolve(toy_host)
    assert cfg.params.n_rows == 150  # recipe default_population beats the scheme default 200
    assert cfg.params.chunk_rows == 100  # scheme default
    assert (cfg.seed, cfg.exposure_mode, cfg.difficulty) == (
        42,
        ExposureMode.STUDENT_PUBLIC,
        Difficulty.INTERMEDIATE,
    )
    cfg = resolve(toy_host, override={"n_rows": 90, "seed": 5, "difficulty": "advanced"})
    assert (cfg.params.n_rows, cfg.seed, cfg.difficulty) == (90, 5, Difficulty.ADVANCED)
    cfg = resolve(toy_host, explicit={"n_rows": 70, "seed": None}, override={"n_rows": 90, "seed": 5})
    assert (cfg.params.n_rows, cfg.seed) == (70, 5)


def test_profile_of_the_chosen_tier_is_parsed(toy_host: PluginHost) -> None:
    assert resolve(toy_host, explicit={"difficulty": "intro"}).profile == toyplugin.ToyProfile(noise=0.1)
    assert resolve(toy_host).profile.description == "middle"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"n_row": 5}, "unknown key 'n_row' in the override file; did you mean 'n_rows'?"),
        ({"n_rows": -5}, "n_rows must be >= 1, got -5"),
        ({"n_rows": "many"}, "n_rows must be integer, got 'many'"),
        ({"n_rows": True}, "n_rows must be integer, got True"),
        ({"n_rows": 2.5}, "n_rows must be integer"),
        ({"seed": -1}, "seed must be non-negative, got -1"),
        ({"exposure_mode": "public"}, "exposure_mode must be one of student_public, research_instructor"),
        ({"difficulty": "hard"}, "difficulty must be one of intro, intermediate, advanced"),
        ({"label_name": "x1"}, "label_name 'x1' collides with a feature"),
        ({"snapshot_day": 0}, "snapshot_day must be >= 1"),
    ],
)
def test_bad_values_name_the_key(toy_host: PluginHost, override: dict, message: str) -> None:
    with pytest.raises(InvalidConfigError) as err:
        resolve(toy_host, override=override)
    assert message in str(err.value)


def test_null_override_clears_an_optional_value(toy_host: PluginHost) -> None:
    assert resolve(toy_host, override={"snapshot_day": 3}).params.snapshot_day == 3
    assert resolve(toy_host, override={"snapshot_day": None}).params.snapshot_day is None


def test_unsupported_mode_of_the_recipe(toy_host: PluginHost, tmp_path: Path) -> None:
    folder = tmp_path / "narrow"
    folder.mkdir()
    (folder / "recipe.yaml").write_text(
        "id: narrow\ntitle: t\ndescription: d\nscheme: toy\nsupported_modes: [research_instructor]\n"
        "supported_difficulty: [intro]\n"
    )
    (folder / "difficulty_profiles.yaml").write_text("intro: {noise: 0.1}\n")
    recipe = __import__("leadforge.recipes", fromlist=["load_recipe"]).load_recipe(folder, "test")
    scheme = toy_host.scheme("toy")
    with pytest.raises(
        InvalidRecipeError, match="does not support mode 'student_public'; supported: research_instructor"
    ):
        resolve_config(recipe, scheme)
    with pytest.raises(InvalidRecipeError, match="does not support difficulty 'advanced'"):
        resolve_config(
            recipe, scheme, explicit={"exposure_mode": "research_instructor", "difficulty": "advanced"}
        )


def test_profile_errors_name_file_and_key(toy_host: PluginHost, tmp_path: Path) -> None:
    from leadforge.recipes import load_recipe

    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "recipe.yaml").write_text(
        "id: bad\ntitle: t\ndescription: d\nscheme: toy\nsupported_modes: [student_public]\n"
        "supported_difficulty: [intermediate]\n"
    )
    scheme = toy_host.scheme("toy")
    with pytest.raises(InvalidRecipeError, match="has no difficulty_profiles.yaml"):
        resolve_config(load_recipe(folder, "t"), scheme)
    (folder / "difficulty_profiles.yaml").write_text("intermediate: {nosie: 0.1}\n")
    with pytest.raises(InvalidRecipeError) as err:
        resolve_config(load_recipe(folder, "t"), scheme)
    assert "difficulty_profiles.yaml" in str(err.value) and "noise" in str(err.value)
    (folder / "difficulty_profiles.yaml").write_text("intermediate: {noise: fast}\n")
    with pytest.raises(InvalidRecipeError, match="noise must be number"):
        resolve_config(load_recipe(folder, "t"), scheme)


def test_with_params_revalidates_and_digest_tracks_config(toy_host: PluginHost) -> None:
    cfg = resolve(toy_host)
    assert cfg.with_params(n_rows=10).params.n_rows == 10
    assert cfg.with_params(n_rows=10).digest() != cfg.digest()
    assert cfg.digest() == resolve(toy_host).digest()
    with pytest.raises(InvalidConfigError, match="n_rows must be >= 1"):
        cfg.with_params(n_rows=0)


def test_override_file_errors_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="override file not found"):
        load_override(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("n_rows: [1,\n")
    with pytest.raises(UsageError, match="invalid YAML"):
        load_override(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(UsageError, match="top level must be a mapping"):
        load_override(listy)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_override(empty) == {}
    js = tmp_path / "o.json"
    js.write_text('{"n_rows": 3}')
    assert load_override(js) == {"n_rows": 3}
