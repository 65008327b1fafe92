"""The Python API: resolve a recipe, build its world, save the bundle.

from leadforge.api import Generator

bundle = Generator.from_recipe("b2b_saas_procurement_v1", seed=7).generate(n_leads=2000)
bundle.save("out/leads")
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

from leadforge.bundle.contract import RelationalContract
from leadforge.bundle.manifest import Manifest, PluginRef
from leadforge.bundle.staging import generation_timestamp as default_timestamp
from leadforge.bundle.staging import staged
from leadforge.bundle.writer import BundleWriter
from leadforge.config import GenerationConfig, load_override
from leadforge.engine import Engine, open_engine
from leadforge.errors import GenerationError, InvalidRecipeError, LeadforgeError, UsageError
from leadforge.experiment import parse_experiment
from leadforge.footprint import check_disk, check_memory
from leadforge.interventions import Lever, parse_interventions
from leadforge.memory import (
    MAX_MEMORY_BUNDLE_BYTES,
    InMemoryBundle,
    MemoryTable,
    MemoryTask,
    MemoryWriter,
    memory_root,
)
from leadforge.params import brief
from leadforge.plugins import PluginHost, get_host
from leadforge.progress import Progress
from leadforge.recipes import NARRATIVE_FILE, Recipe
from leadforge.reproduce import Reproduction, flag_map
from leadforge.resolution import recipe_params, resolve_config
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
    #: warnings about this generator's provenance (see :meth:`from_bundle`)
    notes: tuple[str, ...] = field(default=(), compare=False)

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
        intervene: Sequence[str] = (),
        experiment: str | None = None,
        **params: Any,
    ) -> Generator:
        """Resolve ``recipe_id`` with explicit arguments over ``override`` over the recipe.

        ``override`` is a mapping or the path of a YAML/JSON file; ``params`` are scheme
        parameters (``n_leads=…``). ``None`` means "not given". ``intervene`` lists
        interventions (``"policy:follow_up_days=2"``) checked against the scheme's levers;
        ``experiment`` a designed experiment (``"policy:follow_up_speed=1.5@0.5"``: that policy for
        a random half of the entities).
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
        gen = cls(recipe, scheme, config, _load_narrative(recipe, scheme), host)
        gen = gen.intervened(intervene) if intervene else gen
        return gen.with_experiment(experiment) if experiment is not None else gen

    def _levers(self) -> list[Lever]:
        return list(self.scheme.levers(self.config)) if self.scheme.levers is not None else []

    def intervened(self, specs: Sequence[str]) -> Generator:
        """The same world with ``specs`` applied (replacing any interventions it had)."""
        if isinstance(specs, str) or not isinstance(specs, Sequence):
            raise UsageError(f"intervene must be a list of strings, got {brief(specs)}")
        levers = self._levers()
        if specs and not levers:
            raise UsageError(f"scheme {self.scheme.name} offers no levers to intervene on")
        parsed = parse_interventions(specs, levers)
        return replace(self, config=replace(self.config, interventions=parsed), notes=())

    def with_experiment(self, spec: str | None) -> Generator:
        """The same world running a designed experiment (``None``: none), checked against the
        scheme's policy levers."""
        if spec is None:
            return replace(self, config=replace(self.config, experiment=None), notes=())
        experiment = parse_experiment(spec, self._levers())
        return replace(self, config=replace(self.config, experiment=experiment), notes=())

    def save_twin(
        self,
        path: str | Path,
        *,
        generation_timestamp: str | None = None,
        progress: Progress | None = None,
        workers: int = 1,
        scheduler: str | None = None,
        engine: Engine | None = None,
    ) -> Twin:
        """Write the factual world to ``path/factual`` and this intervened one to ``path/intervened``.

        Both come from one seed; the intervened bundle keeps the factual splits and, in
        instructor bundles, holds ``metadata/effects.parquet``. ``path`` must be new, empty or
        an earlier twin (nothing else in it is ever replaced).
        """
        if not self.config.interventions:
            raise UsageError("a twin needs at least one intervention (--intervene LEVER=VALUE)")
        root = Path(path)
        _check_twin_root(root)
        timestamp = _timestamp(generation_timestamp)
        kwargs: dict[str, Any] = {"generation_timestamp": timestamp, "progress": progress}
        if engine is None:
            with open_engine(workers, scheduler, check_path=Path(os.path.abspath(root))) as opened:
                return self.save_twin(root, engine=opened, **kwargs)
        factual = self.factual().generate().save(root / "factual", engine=engine, **kwargs)
        intervened = self.generate().save(root / "intervened", engine=engine, factual=factual, **kwargs)
        return Twin(factual, intervened)

    def factual(self) -> Generator:
        """The same world without interventions (the twin a researcher compares against)."""
        return replace(self, config=replace(self.config, interventions=()), notes=())

    @classmethod
    def from_bundle(
        cls,
        path: str | Path,
        *,
        seed: int | None = None,
        exposure_mode: str | None = None,
        difficulty: str | None = None,
        override: dict[str, Any] | str | Path | None = None,
        host: PluginHost | None = None,
        intervene: Sequence[str] = (),
        experiment: str | None = None,
        **params: Any,
    ) -> Generator:
        """The generator that made the bundle at ``path``, from its manifest (recipe, resolved
        parameters, seed, mode, tier); arguments change what they name, as in :meth:`from_recipe`.

        :attr:`notes` says where the rebuild may differ: other package versions, or a recipe
        that no longer resolves to the recorded config.
        """
        from leadforge.bundle.manifest import Manifest
        from leadforge.validation import check_bundle_dir

        root = Path(path)
        check_bundle_dir(root)
        m = Manifest.load(root)
        if m.params is None or m.recipe_id is None:
            raise UsageError(
                f"{root}: its manifest (bundle schema {m.schema_version}) records no generation_params; "
                "regenerate it with --recipe and explicit flags instead"
            )
        if isinstance(override, str | Path):
            override = load_override(override)
        layered = {**m.params, **(override or {})}
        gen = cls.from_recipe(
            m.recipe_id,
            seed=m.seed if seed is None else seed,
            exposure_mode=m.exposure_mode if exposure_mode is None else exposure_mode,
            difficulty=m.difficulty if difficulty is None else difficulty,
            override=layered,
            host=host,
            intervene=list(intervene) or list(m.interventions),
            experiment=experiment if experiment is not None else m.experiment,
            **params,
        )
        notes: list[str] = []
        unchanged = (
            all(v is None for v in (seed, exposure_mode, difficulty, override))
            and not params
            and not intervene
            and experiment is None
        )
        if unchanged and m.config_digest and gen.config.digest() != m.config_digest:
            notes.append(
                "the installed recipe resolves to another config than the bundle's (recipe changed?)"
            )
        installed = {
            d["distribution"]: d["version"]
            for d in gen.host.distributions(*(p.distribution for p in m.plugins))
        }
        differ = [
            f"{p.distribution} {p.version} -> {installed.get(p.distribution) or 'not installed'}"
            for p in m.plugins
            if installed.get(p.distribution) != p.version
        ]
        if m.package_version and m.package_version != core_version():
            differ.insert(0, f"leadforge-core {m.package_version} -> {core_version()}")
        if differ:
            notes.append("versions differ from the bundle's, so bytes may too: " + "; ".join(differ))
        gen.notes = tuple(notes)
        return gen

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
    _memory: InMemoryBundle | None = field(default=None, init=False, repr=False)
    _factual: Path | None = field(default=None, init=False, repr=False)

    def save(
        self,
        path: str | Path,
        *,
        generation_timestamp: str | None = None,
        progress: Progress | None = None,
        workers: int = 1,
        scheduler: str | None = None,
        engine: Engine | None = None,
        factual: str | Path | None = None,
    ) -> Path:
        """Write the bundle atomically to ``path`` (replacing an older bundle there).

        Shards run on ``workers`` local Dask worker processes, on the Dask cluster at
        ``scheduler``, or on an ``engine`` you opened with :func:`leadforge.engine.open_engine`
        (to reuse one cluster for several bundles); the bytes are the same in every case.
        ``factual`` is the finished factual twin of this intervened world (see
        :meth:`Generator.save_twin`): splits follow it and effects are measured against it.
        """
        if not isinstance(path, str | Path):
            raise UsageError(f"save() needs a path, got {type(path).__name__}")
        if progress is not None and not callable(getattr(progress, "update", None)):
            raise UsageError(
                f"progress must have an update(stage, done, total) method, got {brief(progress)}"
            )
        out = Path(path)
        self._factual = _factual_root(factual, self.config)
        timestamp = _timestamp(generation_timestamp)
        scheme = self.generator.scheme
        if scheme.footprint is not None:
            check_disk(scheme.footprint(self.config), Path(os.path.abspath(out)))
        contract = scheme.contract(self.config) if scheme.contract else RelationalContract(())
        if engine is not None:
            return self._save_on(engine, out, contract, timestamp, progress)
        with open_engine(workers, scheduler, check_path=Path(os.path.abspath(out)).parent) as opened:
            return self._save_on(opened, out, contract, timestamp, progress)

    def _save_on(
        self,
        engine: Engine,
        out: Path,
        contract: RelationalContract,
        timestamp: str,
        progress: Progress | None,
    ) -> Path:
        with staged(out) as stage:
            writer = BundleWriter(
                stage,
                self.config,
                contract,
                split_salt=RNG(self.config.seed).key("task_split"),
                progress=progress,
                engine=engine,
                reproduce=self.reproduction(),
                factual=self._factual,
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

    def reproduction(self) -> Reproduction:
        """The command that makes this bundle again (what its dataset card prints)."""
        gen = self.generator
        flags = flag_map(gen.host.options(), self.config.scheme)
        return Reproduction.of(self.config, flags, recipe_params(gen.recipe, gen.scheme))

    def in_memory(self) -> InMemoryBundle:
        """The bundle :meth:`save` would write, held in memory (small worlds: no disk touched).

        Computed once; a world whose bundle would exceed 2 GiB is refused — save it and read it
        with :func:`leadforge.load`, which streams.
        """
        if self._memory is None:
            scheme = self.generator.scheme
            if scheme.footprint is not None:
                size = scheme.footprint(self.config).disk_bytes
                if size > MAX_MEMORY_BUNDLE_BYTES:
                    raise UsageError(
                        f"this bundle would take about {size / 1e9:.1f} GB, too much to hold in memory; "
                        "save() it and read it with leadforge.load(path)"
                    )
            contract = scheme.contract(self.config) if scheme.contract else RelationalContract(())
            writer = MemoryWriter(
                memory_root(),
                self.config,
                contract,
                split_salt=RNG(self.config.seed).key("task_split"),
                reproduce=self.reproduction(),
            )
            try:
                self._render(writer)
            except BaseException:
                writer.abort()
                raise
            self._memory = writer.collect()
        return self._memory

    @property
    def tables(self) -> Mapping[str, MemoryTable]:
        """Every table as the bundle holds it (``.to_pandas()``, ``.to_arrow()``), in memory."""
        return self.in_memory().tables

    def task(self, task_id: str, *, kind: Literal["pandas", "arrow"] = "pandas") -> MemoryTask:
        """A task's ``.train`` / ``.valid`` / ``.test`` splits, in memory."""
        return self.in_memory().task(task_id, kind=kind)

    def _render(self, writer: BundleWriter) -> None:
        host = self.generator.host
        scheme = self.config.scheme
        written = host.call_scheme(scheme, "write_bundle", world=self.world, writer=writer)
        if written is None:
            raise GenerationError(f"no installed plugin writes bundles for scheme {self.config.scheme!r}")
        writer.seal_rows()
        if self.config.exposure_mode.writes_metadata:
            narrative = getattr(self.generator.narrative, "raw", None)
            writer.write_metadata_json(
                "world_spec.json", {"config": self.config.to_json(), "narrative": narrative}
            )
            host.call_scheme(scheme, "write_metadata", world=self.world, writer=writer, written=written)

    def _write(self, writer: BundleWriter, timestamp: str) -> Manifest:
        self._render(writer)
        host = self.generator.host
        providers = (host.scheme_providers[self.config.scheme], self.generator.recipe.provider)
        plugins = [
            PluginRef(d["distribution"], d["version"], d["plugin"]) for d in host.distributions(*providers)
        ]
        return writer.finalize(timestamp=timestamp, plugins=plugins, package_version=core_version())

    def validate(self, path: str | Path, *, engine: Engine | None = None) -> ValidationReport:
        return validate_bundle(Path(path), self.generator.host, engine=engine)


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


@dataclass(frozen=True)
class Twin:
    """Where :meth:`Generator.save_twin` wrote the two bundles."""

    factual: Path
    intervened: Path


def _check_twin_root(root: Path) -> None:
    if root.is_symlink() or (root.exists() and not root.is_dir()):
        raise UsageError(f"{root} is not a folder; a twin needs a new or empty folder")
    root.mkdir(parents=True, exist_ok=True)
    other = sorted(p.name for p in root.iterdir() if p.name not in ("factual", "intervened"))
    if other:
        raise UsageError(
            f"{root} holds {', '.join(other[:3])}{'…' if len(other) > 3 else ''}: "
            "a twin is written only into a new, empty or earlier twin folder"
        )


def _factual_root(factual: object, config: GenerationConfig) -> Path | None:
    if factual is None:
        return None
    if not isinstance(factual, str | Path):
        raise UsageError(f"factual must be a bundle path, got {brief(factual)}")
    if not config.interventions:
        raise UsageError("factual= is for an intervened world; this one has no interventions")
    from leadforge.validation import check_bundle_dir

    root = Path(factual)
    check_bundle_dir(root)
    if Manifest.load(root).config_digest != replace(config, interventions=()).digest():
        raise UsageError(f"{root} is not this world's factual twin (another recipe, config or seed)")
    return root


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
