"""Plugin discovery and the registry of installed schemes and recipes.

Each entry point of the ``leadforge`` group is loaded on its own: one that fails to import,
declares an incompatible plugin-API range, implements an unknown hook or raises while
registering is reported once on stderr and listed as broken; the others keep working.

Environment:
  ``LEADFORGE_LOAD_PLUGINS=a,b``   load only these entry points (empty string: none)
  ``LEADFORGE_DISABLE_PLUGINS=x``  never load these
  ``LEADFORGE_STRICT_PLUGINS=1``   re-raise plugin failures instead of reporting them
  ``LEADFORGE_TRACE_PLUGINS=1``    print every hook call and its result on stderr
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pluggy

from leadforge import hookspecs
from leadforge.errors import (
    InvalidRecipeError,
    LeadforgeError,
    PluginError,
    UnknownSchemeError,
    UsageError,
)
from leadforge.recipes import Recipe, load_recipe
from leadforge.schemes import GenerateOption, SchemeInfo

if TYPE_CHECKING:
    from leadforge.bundle.reader import BundleView, Manifest
    from leadforge.findings import Finding

Status = Literal["ok", "broken", "incompatible", "disabled"]


@dataclass(frozen=True)
class PluginRecord:
    """One entry point and what became of it."""

    name: str
    distribution: str | None
    version: str | None
    module: str
    status: Status
    reason: str | None = None
    schemes: tuple[str, ...] = ()
    recipes: tuple[str, ...] = ()
    hooks: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("schemes", "recipes", "hooks"):
            d[k] = list(d[k])
        return d


@dataclass(frozen=True)
class RecipeEntry:
    """A recipe as listed: parsed, or the one-line reason it could not be."""

    id: str
    path: Path
    provider: str
    recipe: Recipe | None = None
    error: str | None = None


@dataclass
class _Candidate:
    name: str
    distribution: str | None
    version: str | None
    module: str
    load: Callable[[], object]


@dataclass
class PluginHost:
    """The loaded plugins, and everything they registered."""

    pm: pluggy.PluginManager
    strict: bool = False
    records: list[PluginRecord] = field(default_factory=list)
    schemes: dict[str, SchemeInfo] = field(default_factory=dict)
    scheme_providers: dict[str, str] = field(default_factory=dict)
    recipes: dict[str, RecipeEntry] = field(default_factory=dict)
    invalid_recipes: list[RecipeEntry] = field(default_factory=list)
    conflicts: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    tracing: bool = False
    _recipe_folders: list[tuple[str, Path]] = field(default_factory=list)
    _distributions: dict[str, tuple[str, str]] = field(default_factory=dict)
    _scheme_plugins: dict[str, str] = field(default_factory=dict)

    # -- construction -------------------------------------------------------------------

    @classmethod
    def discover(cls, env: Mapping[str, str] | None = None, *, report: bool = True) -> PluginHost:
        """Load the core plugin and every allowed entry point of the ``leadforge`` group."""
        env = os.environ if env is None else env
        host = cls._empty(strict=env.get("LEADFORGE_STRICT_PLUGINS", "") not in ("", "0"))
        only = env.get("LEADFORGE_LOAD_PLUGINS")
        allowed = None if only is None else {n.strip() for n in only.split(",") if n.strip()}
        blocked = {n.strip() for n in env.get("LEADFORGE_DISABLE_PLUGINS", "").split(",") if n.strip()}
        eps = sorted(entry_points(group=hookspecs.PROJECT), key=lambda e: e.name)
        names = {ep.name for ep in eps}
        installed = ", ".join(sorted(names)) or "none"
        for label, wanted in (
            ("LEADFORGE_LOAD_PLUGINS", allowed or set()),
            ("LEADFORGE_DISABLE_PLUGINS", blocked),
        ):
            for unknown in sorted(wanted - names):
                host.warnings.append(
                    f"{label} names {unknown!r}, which is not an installed plugin; installed: {installed}"
                )
        if env.get("LEADFORGE_TRACE_PLUGINS", "") not in ("", "0"):
            host.trace()
        for ep in eps:
            dist = ep.dist
            cand = _Candidate(
                name=ep.name,
                distribution=dist.name if dist else None,
                version=dist.version if dist else None,
                module=ep.value,
                load=ep.load,
            )
            if (allowed is not None and ep.name not in allowed) or ep.name in blocked:
                why = "LEADFORGE_DISABLE_PLUGINS" if ep.name in blocked else "LEADFORGE_LOAD_PLUGINS"
                host.records.append(
                    PluginRecord(
                        cand.name,
                        cand.distribution,
                        cand.version,
                        cand.module,
                        "disabled",
                        f"disabled by {why}",
                    )
                )
                continue
            host._load(cand)
        host._finish()
        if report:
            for line in host.warnings:
                print(f"leadforge: warning: {line}", file=sys.stderr)
        return host

    @classmethod
    def from_plugins(
        cls, plugins: Iterable[tuple[str, object]], *, strict: bool = True, distribution: str = "local"
    ) -> PluginHost:
        """A host over explicit plugin objects (tests, the conformance kit, embedding)."""
        host = cls._empty(strict=strict)
        for name, obj in plugins:
            host._load(_Candidate(name, distribution, None, getattr(obj, "__name__", name), _const(obj)))
        host._finish()
        return host

    @classmethod
    def _empty(cls, *, strict: bool) -> PluginHost:
        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        pm.register(_CorePlugin(), name="core")
        return cls(pm=pm, strict=strict)

    def _load(self, cand: _Candidate) -> None:
        label = f"plugin {cand.name!r}" + (
            f" ({cand.distribution} {cand.version})" if cand.distribution else ""
        )

        def fail(status: Status, reason: str, exc: BaseException | None = None) -> None:
            if self.strict:
                raise PluginError(f"{label}: {reason}") from exc
            self.records.append(
                PluginRecord(cand.name, cand.distribution, cand.version, cand.module, status, reason)
            )
            self.warnings.append(
                f"{label} {'is incompatible' if status == 'incompatible' else 'failed to load'}: {reason}"
            )

        try:
            module = cand.load()
        except (Exception, SystemExit) as exc:  # a plugin must never end the process
            return fail("broken", f"import failed: {type(exc).__name__}: {_said(exc)}", exc)
        api = getattr(module, "LEADFORGE_PLUGIN_API", None)
        if not _api_ok(api):
            want = "no LEADFORGE_PLUGIN_API declared" if api is None else f"supports plugin API {api!r}"
            return fail("incompatible", f"{want}; this leadforge-core implements API {hookspecs.PLUGIN_API}")
        try:
            self.pm.register(module, name=cand.name)
        except Exception as exc:
            return fail("broken", f"registration failed: {type(exc).__name__}: {exc}", exc)
        unknown = sorted(h.name for h in self.pm.get_hookcallers(module) or () if h.spec is None)
        if unknown:
            self.pm.unregister(module)
            return fail("broken", f"implements unknown hook(s): {', '.join(unknown)}")
        try:
            schemes = self._collect(module, "register_schemes", SchemeInfo)
            folders = self._collect(module, "register_recipes", (str, os.PathLike))
        except (Exception, SystemExit) as exc:
            self.pm.unregister(module)
            return fail("broken", f"registration hook raised {type(exc).__name__}: {_said(exc)}", exc)

        dist = cand.distribution or cand.name
        for info in schemes:
            if info.name in self.schemes and self.scheme_providers[info.name] != dist:
                self._conflict("scheme", info.name, self.scheme_providers[info.name], dist)
                continue
            self.schemes[info.name] = info
            self.scheme_providers[info.name] = dist
            self._scheme_plugins[info.name] = cand.name
        self._recipe_folders.extend((dist, Path(f)) for f in folders)
        self._distributions[dist] = (cand.name, cand.version or "")
        hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(module) or ()))
        self.records.append(
            PluginRecord(
                cand.name,
                cand.distribution,
                cand.version,
                cand.module,
                "ok",
                schemes=tuple(s.name for s in schemes),
                hooks=hooks,
            )
        )

    def _collect(self, module: object, hook: str, kind: type | tuple[type, ...]) -> list[Any]:
        caller = getattr(self.pm.hook, hook)
        out: list[Any] = []
        for impl in caller.get_hookimpls():
            if impl.plugin is not module:
                continue
            if self.tracing:
                _trace_line(f"{hook}() [{impl.plugin_name}]")
            result = impl.function()
            if self.tracing:
                _trace_line(f"{hook} [{impl.plugin_name}] -> {_short(result)}")
            if result is None:
                continue
            if not isinstance(result, list | tuple):
                raise TypeError(f"{hook}() must return a list, got {type(result).__name__}")
            for item in result:
                if not isinstance(item, kind):
                    raise TypeError(f"{hook}() returned {type(item).__name__}, expected {kind}")
                out.append(item)
        return out

    def _conflict(self, what: str, name: str, first: str, second: str) -> None:
        dists = self.conflicts.setdefault(f"{what}:{name}", [first])
        if second not in dists:
            dists.append(second)
        msg = f"{what} {name!r} is registered by both {first} and {second}"
        if self.strict:
            raise PluginError(msg)
        self.warnings.append(msg + "; it is unusable until one is uninstalled or disabled")

    def _finish(self) -> None:
        for dist, folder in self._recipe_folders:
            try:
                recipe = load_recipe(folder, provider=dist)
            except LeadforgeError as exc:
                entry = RecipeEntry(id=folder.name, path=folder, provider=dist, error=str(exc))
                self.invalid_recipes.append(entry)
                self.warnings.append(f"recipe in {folder} is invalid: {exc}")
                continue
            if recipe.id in self.recipes and self.recipes[recipe.id].provider != dist:
                self._conflict("recipe", recipe.id, self.recipes[recipe.id].provider, dist)
                continue
            self.recipes[recipe.id] = RecipeEntry(recipe.id, folder, dist, recipe=recipe)
        by_dist: dict[str, list[str]] = {}
        for entry in self.recipes.values():
            by_dist.setdefault(entry.provider, []).append(entry.id)
        self.records = [
            _with_recipes(r, sorted(by_dist.get(r.distribution or r.name, []))) for r in self.records
        ]

    def trace(self) -> None:
        """Print each hook call and its result on stderr (pluggy call monitoring).

        Called before plugins load, the registration hooks (called per plugin, not through
        pluggy's caller) are traced too, each with the plugin that answered.
        """
        if self.tracing:
            return
        self.tracing = True

        def before(name: str, impls: Any, kwargs: Mapping[str, Any]) -> None:
            args = ", ".join(f"{k}={_short(v)}" for k, v in kwargs.items())
            _trace_line(f"{name}({args}) -> {len(impls)} implementation(s)")

        def after(outcome: Any, name: str, impls: Any, kwargs: Mapping[str, Any]) -> None:
            exc = outcome.exception
            shown = f"raised {type(exc).__name__}: {exc}" if exc else _short(outcome.get_result())
            _trace_line(f"{name} -> {shown}")

        self.pm.add_hookcall_monitoring(before, after)

    # -- lookups ------------------------------------------------------------------------

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def scheme(self, name: str) -> SchemeInfo:
        key = f"scheme:{name}"
        if key in self.conflicts:
            dists = " and ".join(self.conflicts[key])
            raise UsageError(
                f"scheme {name!r} is registered by both {dists}; uninstall one or disable it "
                "with LEADFORGE_DISABLE_PLUGINS"
            )
        if name not in self.schemes:
            off = self.disabled_provider(name)
            if off is not None:
                raise UnknownSchemeError(f"scheme {name!r} is installed but disabled: {_disabled_text(off)}")
            known = ", ".join(sorted(self.schemes)) or "none"
            raise UnknownSchemeError(f"unknown generation scheme {name!r}; installed schemes: {known}")
        return self.schemes[name]

    def recipe(self, recipe_id: str) -> Recipe:
        key = f"recipe:{recipe_id}"
        if key in self.conflicts:
            raise UsageError(
                f"recipe {recipe_id!r} is registered by both {' and '.join(self.conflicts[key])}"
            )
        entry = self.recipes.get(recipe_id)
        if entry is None:
            bad = [e for e in self.invalid_recipes if e.id == recipe_id]
            if bad:
                raise InvalidRecipeError(bad[0].error or f"recipe {recipe_id!r} is invalid")
            known = ", ".join(sorted(self.recipes)) or "none installed (pip install leadforge-recipes)"
            raise InvalidRecipeError(f"unknown recipe {recipe_id!r}; available recipes: {known}")
        assert entry.recipe is not None
        return entry.recipe

    def scheme_for(self, recipe: Recipe) -> SchemeInfo:
        """The scheme a recipe needs, or an error that says exactly what to install."""
        if recipe.scheme not in self.schemes and f"scheme:{recipe.scheme}" not in self.conflicts:
            off = self.disabled_provider(recipe.scheme, recipe.requires)
            if off is not None:
                raise UnknownSchemeError(
                    f"recipe {recipe.id!r} needs the {recipe.scheme!r} scheme, which is installed but "
                    f"disabled: {_disabled_text(off)}"
                )
            others = sorted(r.name for r in self.records if r.status == "disabled")
            if others:
                raise UnknownSchemeError(
                    f"recipe {recipe.id!r} needs the {recipe.scheme!r} scheme, which no enabled plugin "
                    "provides; LEADFORGE_LOAD_PLUGINS / LEADFORGE_DISABLE_PLUGINS turned off: "
                    + ", ".join(others)
                )
            raise UnknownSchemeError(
                f"recipe {recipe.id!r} needs the {recipe.scheme!r} scheme, which is not installed; "
                f"run: {recipe.install_hint}"
            )
        return self.scheme(recipe.scheme)

    def disabled_provider(self, scheme: str, requires: str | None = None) -> PluginRecord | None:
        """The disabled plugin that would provide ``scheme``, found without importing it.

        A disabled plugin is never loaded, so what it registers is unknown; it is taken to be the
        provider when its entry point is named after the scheme or its distribution is the one
        the recipe ``requires``.
        """
        wanted = _requirement_name(requires) if requires else None
        for r in self.records:
            if r.status != "disabled":
                continue
            if r.name == scheme or (wanted and _normal(r.distribution or "") == wanted):
                return r
        return None

    def options(self) -> list[GenerateOption]:
        """Every plugin's ``generate`` options; a plugin whose hook fails is reported and skipped."""
        out: list[GenerateOption] = []
        for impl in self.pm.hook.generate_options.get_hookimpls():
            try:
                batch = impl.function()
                if batch is None:
                    continue
                if not isinstance(batch, list | tuple) or not all(
                    isinstance(o, GenerateOption) for o in batch
                ):
                    raise TypeError("generate_options() must return a list of GenerateOption")
            except (Exception, SystemExit) as exc:
                self._broken(impl.plugin_name, f"generate_options raised {type(exc).__name__}: {_said(exc)}")
                continue
            out.extend(o for o in batch if o.scheme in self.schemes)
        return out

    def call_scheme(self, owner_of: str, hook: str, **kwargs: Any) -> Any:
        """Call ``hook`` on the plugin that registered scheme ``owner_of`` only; its failure names it.

        Other plugins' implementations are not called, so a broken plugin cannot take down a
        scheme it does not own.
        """
        owner = self._owner(owner_of)
        others = [p for name, p in self.pm.list_name_plugin() if name != owner and name != "core"]
        caller = self.pm.subset_hook_caller(hook, remove_plugins=others)
        try:
            return caller(**kwargs)
        except LeadforgeError:
            raise
        except (Exception, SystemExit) as exc:
            dist = self.scheme_providers.get(owner_of, "?")
            raise PluginError(
                f"plugin {owner!r} ({dist}) failed in {hook}: {type(exc).__name__}: {_said(exc)}"
            ) from exc

    def _owner(self, scheme: str) -> str:
        if scheme not in self._scheme_plugins:
            raise UnknownSchemeError(f"unknown generation scheme {scheme!r}")
        return self._scheme_plugins[scheme]

    def _broken(self, plugin: str, reason: str) -> None:
        """Mark a loaded plugin broken after one of its hooks failed, and unregister it."""
        module = self.pm.get_plugin(plugin)
        if module is not None:
            self.pm.unregister(module)
        self.warnings.append(f"plugin {plugin!r} failed: {reason}")
        print(f"leadforge: warning: plugin {plugin!r} failed: {reason}", file=sys.stderr)
        self.records = [
            replace(r, status="broken", reason=reason) if r.name == plugin else r for r in self.records
        ]
        for name in [s for s, owner in self._scheme_plugins.items() if owner == plugin]:
            self.schemes.pop(name, None)

    def distributions(self, *names: str) -> list[dict[str, str]]:
        """``{"distribution", "version", "plugin"}`` for the named distributions, sorted."""
        out = []
        for dist in sorted(set(names)):
            plugin, version = self._distributions.get(dist, ("", ""))
            out.append({"distribution": dist, "version": version, "plugin": plugin})
        return out


class _CorePlugin:
    """Core's own plugin, :mod:`leadforge.builtin`, imported (with numpy and pyarrow) only when
    a bundle is validated: every command builds a host, and most never validate."""

    @staticmethod
    @hookspecs.hookimpl
    def validate(bundle: BundleView, manifest: Manifest) -> list[Finding]:
        from leadforge import builtin

        return builtin.validate(bundle, manifest)


def _requirement_name(requirement: str) -> str:
    """``leadforge-scheme-x>=2,<3`` -> ``leadforge-scheme-x`` (normalised)."""
    return _normal(re.split(r"[\s\[<>=!~;@(]", requirement.strip(), maxsplit=1)[0])


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _disabled_text(record: PluginRecord) -> str:
    dist = f" ({record.distribution})" if record.distribution else ""
    return f"plugin {record.name!r}{dist} is {record.reason or 'disabled'}; re-enable it there"


def _const(obj: object) -> Callable[[], object]:
    return lambda: obj


def _api_ok(api: object) -> bool:
    return (
        isinstance(api, tuple)
        and len(api) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in api)
        and api[0] <= hookspecs.PLUGIN_API <= api[1]
    )


def _with_recipes(record: PluginRecord, recipes: list[str]) -> PluginRecord:
    if not recipes:
        return record
    return PluginRecord(
        **{**asdict(record), "recipes": tuple(recipes), "schemes": record.schemes, "hooks": record.hooks}
    )


def _said(exc: BaseException) -> str:
    """What an exception says, kept to one short line."""
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."


def _trace_line(text: str) -> None:
    print(f"leadforge: trace: {text}", file=sys.stderr)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


_HOST: PluginHost | None = None


def get_host() -> PluginHost:
    """The process-wide host, discovered on first use."""
    global _HOST
    if _HOST is None:
        _HOST = PluginHost.discover()
    return _HOST


def set_host(host: PluginHost | None) -> None:
    """Install (or clear, with ``None``) the process-wide host; for tests and embedding."""
    global _HOST
    _HOST = host
