"""The Python API: resolve a recipe, build its world, save the bundle.

from leadforge.api import Generator

bundle = Generator.from_recipe("b2b_saas_procurement_v1", seed=7).generate(n_leads=2000)
bundle.save("out/leads")
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from leadforge.bundle.contract import RelationalContract
from leadforge.bundle.manifest import Manifest, PluginRef
from leadforge.bundle.staging import generation_timestamp as default_timestamp
from leadforge.bundle.staging import staged
from leadforge.bundle.writer import BundleWriter
from leadforge.config import GenerationConfig, load_override
from leadforge.errors import GenerationError, InvalidRecipeError, LeadforgeError, UsageError
from leadforge.footprint import check_disk, check_memory
from leadforge.params import brief
from leadforge.plugins import PluginHost, get_host
from leadforge.progress import Progress
from leadforge.recipes import NARRATIVE_FILE, Recipe
from leadforge.resolution import resolve_config
from leadforge.rng import RNG
from leadforge.schemes import SchemeInfo, World
from leadforge.validation import ValidationReport, validate_bundle

__all__ = ["Bundle", "Generator", "Recipe", "core_version", "list_recipes", "list_schemes"]


def core_version() -> str:
    try:
        return version("leadforge-core")
    except PackageNotFoundError:
        return "0+unknown"


@dataclass
class Generator:
    """A resolved recipe + config, ready to build worlds."""

    recipe: Recipe
    scheme: SchemeInfo
    config: GenerationConfig
    narrative: Any
    host: PluginHost

    @classmethod
    def from_recipe(
        cls,
        recipe_id: str,
        *,
        seed: int | None = None,
        exposure_mode: str | None = None,
        difficulty: str | None = None,
        override: dict[str, Any] | str | Path | None = None,
        host: PluginHost | None = None,
        **params: Any,
    ) -> Generator:
        """Resolve ``recipe_id`` with explicit arguments over ``override`` over the recipe.

        ``override`` is a mapping or the path of a YAML/JSON file; ``params`` are scheme
        parameters (``n_leads=…``). ``None`` means "not given".
        """
        if host is not None and not isinstance(host, PluginHost):
            raise UsageError(f"host must be a PluginHost, got {type(host).__name__}")
        if not isinstance(recipe_id, str):
            raise UsageError(f"recipe_id must be a string, got {brief(recipe_id)}")
        host = host or get_host()
        recipe = host.recipe(recipe_id)
        scheme = host.scheme_for(recipe)
        if isinstance(override, str | Path):
            override = load_override(override)
        elif override is not None and not (
            isinstance(override, Mapping) and all(isinstance(k, str) for k in override)
        ):
            raise UsageError(
                f"override must be a mapping of config keys or a file path, got {brief(override)}"
            )
        explicit = {"seed": seed, "exposure_mode": exposure_mode, "difficulty": difficulty, **params}
        config = resolve_config(recipe, scheme, explicit=explicit, override=override)
        return cls(recipe, scheme, config, _load_narrative(recipe, scheme), host)

    def generate(self, **params: Any) -> Bundle:
        """Build the world; ``params`` override scheme parameters for this call only."""
        config = self.config.with_params(**params) if params else self.config
        if self.scheme.footprint is not None:
            check_memory(self.scheme.footprint(config))
        world = self.host.call_scheme(
            config.scheme,
            "build_world",
            scheme=config.scheme,
            config=config,
            narrative=self.narrative,
            rng=RNG(config.seed),
        )
        if world is None:
            raise GenerationError(f"no installed plugin builds worlds for scheme {config.scheme!r}")
        if not isinstance(world, World) or world.scheme != config.scheme:
            raise GenerationError(f"the {config.scheme!r} plugin returned an invalid world: {world!r}")
        return Bundle(world=world, config=config, generator=self)


@dataclass
class Bundle:
    """A built world and the config it came from; :meth:`save` renders it to disk."""

    world: Any
    config: GenerationConfig
    generator: Generator
    #: The manifest of the last :meth:`save` (``None`` before one).
    manifest: Manifest | None = field(default=None, init=False, repr=False)

    def save(
        self,
        path: str | Path,
        *,
        generation_timestamp: str | None = None,
        progress: Progress | None = None,
    ) -> Path:
        """Write the bundle atomically to ``path`` (replacing an older bundle there)."""
        if not isinstance(path, str | Path):
            raise UsageError(f"save() needs a path, got {type(path).__name__}")
        if progress is not None and not callable(getattr(progress, "update", None)):
            raise UsageError(
                f"progress must have an update(stage, done, total) method, got {brief(progress)}"
            )
        out = Path(path)
        timestamp = _timestamp(generation_timestamp)
        scheme = self.generator.scheme
        if scheme.footprint is not None:
            check_disk(scheme.footprint(self.config), Path(os.path.abspath(out)))
        contract = scheme.contract(self.config) if scheme.contract else RelationalContract(())
        with staged(out) as stage:
            writer = BundleWriter(
                stage,
                self.config,
                contract,
                split_salt=RNG(self.config.seed).key("task_split"),
                progress=progress,
            )
            try:
                self.manifest = self._write(writer, timestamp)
            except OSError as exc:
                writer.abort()
                raise GenerationError(f"could not write the bundle at {out}: {exc.strerror or exc}") from None
            except BaseException:
                writer.abort()
                raise
        return out

    def _write(self, writer: BundleWriter, timestamp: str) -> Manifest:
        host = self.generator.host
        scheme = self.config.scheme
        written = host.call_scheme(scheme, "write_bundle", world=self.world, writer=writer)
        if written is None:
            raise GenerationError(f"no installed plugin writes bundles for scheme {self.config.scheme!r}")
        if self.config.exposure_mode.writes_metadata:
            narrative = getattr(self.generator.narrative, "raw", None)
            writer.write_metadata_json(
                "world_spec.json", {"config": self.config.to_json(), "narrative": narrative}
            )
            host.call_scheme(scheme, "write_metadata", world=self.world, writer=writer, written=written)
        providers = (host.scheme_providers[self.config.scheme], self.generator.recipe.provider)
        plugins = [
            PluginRef(d["distribution"], d["version"], d["plugin"]) for d in host.distributions(*providers)
        ]
        return writer.finalize(timestamp=timestamp, plugins=plugins, package_version=core_version())

    def validate(self, path: str | Path) -> ValidationReport:
        return validate_bundle(Path(path), self.generator.host)


def list_recipes(host: PluginHost | None = None) -> list[Recipe]:
    """Every valid installed recipe, sorted by id (whether or not its scheme is installed)."""
    host = host or get_host()
    return [e.recipe for _, e in sorted(host.recipes.items()) if e.recipe is not None]


def list_schemes(host: PluginHost | None = None) -> list[SchemeInfo]:
    host = host or get_host()
    return [host.schemes[n] for n in sorted(host.schemes)]


def _load_narrative(recipe: Recipe, scheme: SchemeInfo) -> Any:
    if scheme.narrative_type is None:
        return None
    data = recipe.narrative_mapping()
    if data is None:
        raise InvalidRecipeError(
            f"recipe {recipe.id!r} has no {NARRATIVE_FILE}, which scheme {scheme.name!r} needs"
        )
    parse: Any = scheme.narrative_type.from_mapping  # type: ignore[attr-defined]
    try:
        return parse(data, str(recipe.path / NARRATIVE_FILE))
    except LeadforgeError:
        raise
    except (TypeError, ValueError, KeyError) as exc:
        raise InvalidRecipeError(f"{recipe.path / NARRATIVE_FILE}: {exc}") from None


def _timestamp(value: object) -> str:
    """``generation_timestamp`` as given (an ISO 8601 string with a time zone) or now."""
    if value is None:
        return default_timestamp()
    if isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value)
        except ValueError:
            when = None
        if when is not None and when.tzinfo is not None:
            return value
    raise UsageError(f"generation_timestamp must be an ISO 8601 string with a time zone, got {brief(value)}")
