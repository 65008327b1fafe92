"""Shared by the report tests: a host whose schemes answer ``report_sections``, and small bundles."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from leadforge import hookimpl
from leadforge.api import Generator
from leadforge.plugins import PluginHost, get_host

PINNED = "2026-01-01T00:00:00+00:00"
RECIPES = ("b2b_saas_procurement_v1", "b2b_saas_ltv_v1")
MODES = ("student_public", "research_instructor")


#: Where each first-party scheme's report sections live.
SECTIONS = {"lead_scoring": "leadforge_leadscoring", "lifecycle": "leadforge_lifecycle"}


class SchemeSections:
    """Stands in for a scheme's ``report_sections`` hookimpl while its plugin.py lacks one."""

    LEADFORGE_PLUGIN_API = (2, 2)

    def __init__(self, schemes: set[str]) -> None:
        self.schemes = schemes

    @hookimpl
    def report_sections(self, bundle: Any, manifest: Any) -> Any:
        if manifest.scheme not in self.schemes:
            return None
        return importlib.import_module(f"{SECTIONS[manifest.scheme]}.report").sections(bundle, manifest)


def report_host() -> PluginHost:
    """The installed plugins, plus a stand-in for each first-party scheme that declares no sections."""
    host = get_host()
    impls = host.hook.report_sections.get_hookimpls()
    if any(i.plugin_name == "report-sections" for i in impls):
        return host
    declared = {i.function.__module__.split(".")[0] for i in impls}
    missing = {scheme for scheme, package in SECTIONS.items() if package not in declared}
    if missing:
        host.pm.register(SchemeSections(missing), "report-sections")
    return host


def small_bundle(host: PluginHost, root: Path, recipe: str, mode: str, seed: int = 3) -> Path:
    scheme = host.scheme_for(host.recipe(recipe))
    out = root / f"{recipe}-{mode}-{seed}"
    if not out.exists():
        Generator.from_recipe(
            recipe, seed=seed, exposure_mode=mode, host=host, **scheme.sample_params
        ).generate().save(out, generation_timestamp=PINNED)
    return out
