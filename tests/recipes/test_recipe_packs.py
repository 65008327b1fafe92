"""Every recipe shipped in leadforge-recipes parses, names an installable scheme, and resolves."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("leadforge_recipes")

from leadforge.errors import UnknownSchemeError
from leadforge.narrative import Narrative
from leadforge.plugins import PluginHost
from leadforge.recipes import NARRATIVE_FILE, load_recipe
from leadforge.resolution import resolve_config
from leadforge.yamlfile import load_mapping
from leadforge_recipes import plugin as recipes_plugin

FOLDERS = recipes_plugin.register_recipes()


def test_pack_ships_the_first_party_recipes() -> None:
    assert {f.name for f in FOLDERS} >= {"b2b_saas_procurement_v1", "b2b_saas_ltv_v1"}


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_recipe_files_are_valid(folder: Path) -> None:
    recipe = load_recipe(folder, "leadforge-recipes")
    assert recipe.id == folder.name
    assert recipe.requires and recipe.requires.startswith("leadforge-scheme-")
    assert recipe.tasks and recipe.primary_task in recipe.tasks
    Narrative.from_mapping(load_mapping(folder / NARRATIVE_FILE), str(folder / NARRATIVE_FILE))


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_recipe_resolves_for_every_mode_and_tier_when_its_scheme_is_installed(folder: Path) -> None:
    host = PluginHost.discover(env={}, report=False)
    recipe = host.recipe(load_recipe(folder, "x").id)
    try:
        scheme = host.scheme_for(recipe)
    except UnknownSchemeError as exc:
        assert f"pip install '{recipe.requires}'" in str(exc)
        pytest.skip(f"scheme {recipe.scheme} not installed")
    for mode in recipe.supported_modes:
        for tier in recipe.supported_difficulty:
            cfg = resolve_config(
                recipe, scheme, explicit={"exposure_mode": mode.value, "difficulty": tier.value}
            )
            assert cfg.profile is not None and cfg.difficulty is tier
