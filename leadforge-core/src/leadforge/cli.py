"""The ``leadforge`` command line. Its ``generate`` options grow with the installed schemes.

Errors are one line on stderr: exit 2 for usage and configuration problems, 1 for a bundle
that fails validation or a run that could not finish. ``LEADFORGE_DEBUG=1`` shows tracebacks.

Commands are found through :data:`COMMANDS` and imported only when used, and this module
imports nothing heavy at the top, so ``leadforge --help`` starts in a fraction of a second.
A command module must keep its own top-level imports light too (click and leadforge.errors):
``--help`` imports every command module to show its one-line summary.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import shutil
import signal
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from leadforge.enums import Difficulty, ExposureMode
from leadforge.errors import BundleError, LeadforgeError, UsageError
from leadforge.progress import NullProgress, Progress, StderrProgress

if TYPE_CHECKING:
    from leadforge.engine import Engine
    from leadforge.plugins import PluginHost
    from leadforge.schemes import GenerateOption
    from leadforge.validation import ValidationReport


@dataclass(frozen=True)
class CommandRef:
    """Where a command lives, as ``"module:attribute"`` of a click command.

    ``summary`` is the one-line help ``leadforge --help`` shows without importing the module;
    give it for a command whose module imports anything heavy. Without it the module is
    imported for the listing and the command's own short help is shown.
    """

    target: str
    summary: str = ""

    @property
    def module(self) -> str:
        return self.target.partition(":")[0]


#: Every ``leadforge`` command. A command whose module is not installed (an optional part)
#: is left out of the listing and is "No such command", instead of breaking the CLI.
COMMANDS: dict[str, CommandRef] = {
    "generate": CommandRef("leadforge.cli:generate_cmd"),
    "inspect": CommandRef("leadforge.cli:inspect_cmd"),
    "list-recipes": CommandRef("leadforge.cli:list_recipes_cmd"),
    "new-scheme": CommandRef("leadforge.cli:new_scheme_cmd"),
    "plugins": CommandRef("leadforge.cli:plugins_cmd"),
    "validate": CommandRef("leadforge.cli:validate_cmd"),
    "export": CommandRef(
        "leadforge.export.command:export_cmd",
        "Export a validated bundle to DuckDB, SQLite, CSV files or PostgreSQL.",
    ),
    "report": CommandRef(
        "leadforge.report.command:report",
        "Write one self-contained HTML page of plots about a bundle (opens offline).",
    ),
    "completion": CommandRef("leadforge.cli:completion_cmd"),
}

CORE_FLAGS = frozenset(
    {
        "--recipe",
        "--seed",
        "--mode",
        "--out",
        "--difficulty",
        "--override",
        "--validate",
        "--quiet",
        "--json",
        "--workers",
        "--scheduler",
        "--help",
        "--from",
        "--intervene",
        "--twin",
        "--experiment",
    }
)
FIRST_PARTY = "pip install leadforge-scheme-leadscoring leadforge-scheme-lifecycle leadforge-recipes"
#: Equal to ``leadforge.engine.MAX_WORKERS`` (not imported: ``--help`` stays light).
MAX_WORKERS = 256
#: Equal to ``leadforge.config.DEFAULT_MODE`` / ``DEFAULT_DIFFICULTY`` (config imports YAML).
DEFAULT_MODE = ExposureMode.STUDENT_PUBLIC.value
DEFAULT_DIFFICULTY = Difficulty.INTERMEDIATE.value


def _fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


GAP = 2


def _table(rows: Sequence[Sequence[Any]], header: Sequence[str], *, width: int | None = None) -> str:
    """Columns padded to line up, wrapped between words to fit ``width``.

    ``width`` defaults to the terminal's (``COLUMNS``, else 80 when not a terminal). When even
    wrapping cannot make the columns fit, each row is printed as a block of ``label  value``
    lines instead (words are never broken to squeeze a column).
    """
    cells = [[str(c) for c in header], *([str(c) for c in r] for r in rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    limit = (width if width is not None else shutil.get_terminal_size().columns) - 1
    floors = [max(len(w) for r in cells for w in r[i].split() or [""]) for i in range(len(header))]
    while sum(widths) + GAP * (len(widths) - 1) > limit:
        i = max(range(len(widths)), key=lambda k: widths[k] - floors[k])
        if widths[i] <= floors[i]:
            return _records(cells, limit)
        widths[i] -= 1
    wrapped = [
        [
            textwrap.wrap(c, w, break_long_words=False, break_on_hyphens=False) or [""]
            for c, w in zip(row, widths, strict=True)
        ]
        for row in cells
    ]
    widths = [max(len(line) for row in wrapped for line in row[i]) for i in range(len(header))]
    lines: list[str] = []
    for k, row in enumerate(wrapped):
        for j in range(max(len(w) for w in row)):
            parts = [(w[j] if j < len(w) else "").ljust(n) for w, n in zip(row, widths, strict=True)]
            lines.append((" " * GAP).join(parts).rstrip())
        if k == 0:
            lines.append((" " * GAP).join("-" * n for n in widths))
    return "\n".join(lines)


def _records(cells: Sequence[Sequence[str]], limit: int) -> str:
    """A table too wide for the terminal: one block per row, its first cell as the heading."""
    header, *rows = cells
    labels = [h.lower() for h in header[1:]]
    pad = max((len(label) for label in labels), default=0) + GAP + 2
    blocks = []
    for row in rows:
        lines = [row[0]]
        for label, value in zip(labels, row[1:], strict=True):
            text = textwrap.wrap(
                value, max(limit - pad, 20), break_long_words=False, break_on_hyphens=False
            ) or [""]
            lines.append(f"  {label:<{pad - 2}}{text[0]}")
            lines += [" " * pad + more for more in text[1:]]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _listed(items: Sequence[str]) -> str:
    return ", ".join(items) or "-"


def _dump(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=True))


def core_version() -> str:
    """``leadforge.api.core_version`` without importing the API (and with it pyarrow)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("leadforge-core")
    except PackageNotFoundError:
        return "0+unknown"


def _host() -> PluginHost:
    from leadforge.plugins import get_host

    return get_host()


class Terminated(BaseException):
    """SIGTERM, raised where the process stands so that every ``finally`` cleans up."""


def _terminated(signum: int, frame: Any) -> None:
    raise Terminated


_RESOLVED: dict[str, click.Command | str] = {}


def _resolve(target: str) -> click.Command | str:
    """The command ``target`` names, or why it cannot be had ("" when its module is absent)."""
    if target not in _RESOLVED:
        module_name, _, attr = target.partition(":")
        try:
            obj = getattr(importlib.import_module(module_name), attr)
        except ModuleNotFoundError as exc:
            obj = "" if _is_part_of(exc.name, module_name) else f"{type(exc).__name__}: {exc}"
        except Exception as exc:
            obj = f"{type(exc).__name__}: {exc}"
        if not isinstance(obj, click.Command | str):
            obj = f"{target} is a {type(obj).__name__}, not a click command"
        _RESOLVED[target] = obj
    return _RESOLVED[target]


def _is_part_of(missing: str | None, module: str) -> bool:
    """Is the missing module ``module`` itself or a package it sits in?"""
    return bool(missing) and (module == missing or module.startswith(f"{missing}."))


def _installed(module: str) -> bool:
    """Whether ``module`` can be found, importing nothing that is not imported already.

    Only the packages whose parent is already loaded are looked up; a deeper part that would
    need a package imported first is taken to be there (resolving the command will tell).
    """
    parts = module.split(".")
    for depth in range(1, len(parts) + 1):
        name = ".".join(parts[:depth])
        if name in sys.modules:
            continue
        parent = ".".join(parts[: depth - 1])
        if parent and parent not in sys.modules:
            return True
        try:
            if importlib.util.find_spec(name) is None:
                return False
        except (ImportError, ValueError):
            return False
    return True


class LeadforgeGroup(click.Group):
    """Imports each command from :data:`COMMANDS` when it is used, and keeps every error to one line."""

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return super().get_command(ctx, name)
        found = _resolve(COMMANDS[name].target)
        if isinstance(found, click.Command):
            return found
        if not found:
            return None
        raise UsageError(f"the {name} command is unavailable: {found}")

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *(n for n, r in COMMANDS.items() if self._listed(r))})

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            ref = COMMANDS.get(name)
            cmd = (
                click.Command(name, help=ref.summary) if ref and ref.summary else self.get_command(ctx, name)
            )
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in rows])

    @staticmethod
    def _listed(ref: CommandRef) -> bool:
        if ref.summary:
            return _installed(ref.module)
        return isinstance(_resolve(ref.target), click.Command)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        with suppress(ValueError):  # not the main thread: leave signals alone
            signal.signal(signal.SIGTERM, _terminated)
        try:
            rv = super().main(*args, **kwargs)
        except click.UsageError as exc:
            if type(exc).__name__.startswith("NoArgsIsHelp"):
                click.echo(exc.ctx.get_help() if exc.ctx else exc.format_message(), err=True)
                sys.exit(2)
            where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
            _fail(f"{exc.format_message()}{where}", 2)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(130)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted; nothing was written.", err=True)
            sys.exit(130)
        except Terminated:
            click.echo("Terminated; nothing was written.", err=True)
            sys.exit(143)
        except LeadforgeError as exc:
            if os.environ.get("LEADFORGE_DEBUG"):
                raise
            _fail(str(exc), exc.exit_code)
        except Exception as exc:
            if os.environ.get("LEADFORGE_DEBUG"):
                raise
            _fail(f"internal error: {type(exc).__name__}: {exc} (set LEADFORGE_DEBUG=1 for a traceback)", 1)
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(
    "leadforge",
    cls=LeadforgeGroup,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(
    None,
    "--version",
    "-V",
    package_name="leadforge-core",
    prog_name="leadforge",
    message="%(prog)s %(version)s",
)
def main() -> None:
    """Generate simulated CRM and SaaS-revenue datasets from installed scheme plugins."""


def _engine_options() -> list[click.Option]:
    return [
        click.Option(
            ["--workers"],
            type=int,
            default=None,
            metavar="N",
            help=f"Processes to run on; above 1 starts a local Dask cluster (1..{MAX_WORKERS}, default 1).",
        ),
        click.Option(
            ["--scheduler"],
            default=None,
            metavar="ADDRESS",
            help="Run on an existing Dask cluster (e.g. tcp://host:8786) instead of local processes.",
        ),
    ]


def _engine_args(workers: int | None, scheduler: str | None) -> tuple[int, str | None]:
    """``--workers`` / ``--scheduler`` checked before any work starts."""
    from leadforge.engine import check_workers

    if workers is not None and scheduler is not None:
        raise UsageError(
            "--workers and --scheduler cannot be used together: the cluster at --scheduler decides"
        )
    n = 1 if workers is None else workers
    check_workers(n, scheduler)
    return n, scheduler


def _progress(quiet: bool) -> StderrProgress | NullProgress:
    return NullProgress() if quiet else StderrProgress()


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def plugins_cmd(as_json: bool) -> None:
    """List plugin distributions, what they provide, and whether they loaded."""
    from leadforge.hookspecs import PLUGIN_API

    host = _host()
    if as_json:
        _dump(
            {
                "core": {
                    "distribution": "leadforge-core",
                    "version": core_version(),
                    "plugin_api": PLUGIN_API,
                },
                "plugins": [r.to_json() for r in host.records],
                "schemes": sorted(host.schemes),
                "conflicts": host.conflicts,
            }
        )
        return
    click.echo(f"leadforge-core {core_version()} (plugin API {PLUGIN_API})\n")
    if not host.records:
        click.echo(
            f"No leadforge plugins installed. To get the first-party schemes and recipes:\n  {FIRST_PARTY}"
        )
        return
    rows = [
        (
            r.name,
            r.distribution or "-",
            r.version or "-",
            r.status,
            _listed(r.schemes),
            _listed(r.recipes),
            _listed(r.hooks),
        )
        for r in host.records
    ]
    click.echo(_table(rows, ("PLUGIN", "DISTRIBUTION", "VERSION", "STATUS", "SCHEMES", "RECIPES", "HOOKS")))
    for r in host.records:
        if r.status == "disabled":
            click.echo(f"{r.name}: {r.reason}")
        elif r.status != "ok":
            click.echo(f"{r.name}: {r.status}: {r.reason}")
    for key, dists in sorted(host.conflicts.items()):
        click.echo(f"conflict: {key.replace(':', ' ')} is registered by {' and '.join(dists)}")
    if not host.schemes:
        click.echo(f"No schemes installed. To get the first-party ones:\n  {FIRST_PARTY}")


def _complete_schemes(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    from click.shell_completion import CompletionItem

    host = _host()
    return [
        CompletionItem(name, help=info.title)
        for name, info in sorted(host.schemes.items())
        if name.startswith(incomplete)
    ]


def _complete_recipes(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    from click.shell_completion import CompletionItem

    host = _host()
    return [
        CompletionItem(rid, help=entry.recipe.title if entry.recipe else None)
        for rid, entry in sorted(host.recipes.items())
        if rid.startswith(incomplete)
    ]


@click.command("list-recipes")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option(
    "--scheme",
    default=None,
    metavar="NAME",
    shell_complete=_complete_schemes,
    help="Only the recipes of this scheme.",
)
def list_recipes_cmd(as_json: bool, scheme: str | None) -> None:
    """List installed recipes, their scheme, tasks, modes and difficulties."""
    host = _host()
    items: list[dict[str, Any]] = []
    for rid, entry in sorted(host.recipes.items()):
        r = entry.recipe
        assert r is not None
        if scheme is not None and r.scheme != scheme:
            continue
        available = r.scheme in host.schemes and f"scheme:{r.scheme}" not in host.conflicts
        off = None if available else host.disabled_provider(r.scheme, r.requires)
        status = "available" if available else "disabled" if off is not None else "unavailable"
        items.append(
            {
                "id": rid,
                "scheme": r.scheme,
                "title": r.title,
                "tasks": list(r.tasks),
                "modes": [m.value for m in r.supported_modes],
                "difficulties": [d.value for d in r.supported_difficulty],
                "status": status,
                "install": r.install_hint if status == "unavailable" else None,
                "disabled_by": off.reason if off is not None else None,
                "provider": entry.provider,
            }
        )
    for entry in host.invalid_recipes if scheme is None else ():
        items.append(
            {
                "id": entry.id,
                "scheme": None,
                "title": None,
                "tasks": [],
                "modes": [],
                "difficulties": [],
                "status": "invalid",
                "error": entry.error,
                "provider": entry.provider,
            }
        )
    if as_json:
        _dump({"recipes": items})
        return
    if not items:
        if scheme is not None:
            click.echo(
                f"No recipes for scheme {scheme!r}; installed schemes: {_listed(sorted(host.schemes))}"
            )
        else:
            click.echo("No recipes found. Install a recipe pack: pip install leadforge-recipes")
        return
    rows = [
        (
            i["id"],
            i["scheme"] or "-",
            i["title"] or "-",
            _listed(i["tasks"]),
            _listed(i["modes"]),
            _listed(i["difficulties"]),
            i["status"],
        )
        for i in items
    ]
    click.echo(_table(rows, ("ID", "SCHEME", "TITLE", "TASKS", "MODES", "DIFFICULTY", "STATUS")))
    for i in items:
        if i["status"] == "unavailable":
            click.echo(f"{i['id']}: needs the {i['scheme']} scheme; run: {i['install']}")
        elif i["status"] == "disabled":
            click.echo(f"{i['id']}: the {i['scheme']} scheme is installed but {i['disabled_by']}")
        elif i["status"] == "invalid":
            click.echo(f"{i['id']}: invalid: {i['error']}")


class GenerateCommand(click.Command):
    """``generate``, whose scheme options are read from the plugins only when it is parsed.

    Listing commands (``leadforge --help``) needs only the summary, so no plugin is loaded
    for it; ``generate --help`` and a real run load them. The options are rebuilt when the
    process-wide plugin host changes (tests and embedders swap it with ``set_host``).
    """

    def __init__(self) -> None:
        super().__init__(
            "generate",
            callback=self._run,
            help="Generate a bundle from a recipe (options marked [scheme] belong to that scheme).",
            short_help="Generate a bundle from a recipe.",
            params=_core_generate_options(),
        )
        self._host: PluginHost | None = None
        self._flags: dict[str, dict[str, str]] = {}

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        host = _host()
        if host is not self._host:
            extra, self._flags = _scheme_options(host)
            self.params = [*_core_generate_options(sorted(host.recipes)), *extra]
            self._host = host
        return super().get_params(ctx)

    def _run(self, **kw: Any) -> None:
        assert self._host is not None, "click parses the options before calling back"
        _generate(self._host, self._flags, kw)


def _core_generate_options(recipes: Sequence[str] = ()) -> list[click.Parameter]:
    """``recipes``: the installed recipe ids, shown in the help (the host has parsed them already)."""
    known = f"one of {', '.join(recipes)}" if recipes else "none installed: pip install leadforge-recipes"
    return [
        click.Option(
            ["--recipe", "-r"],
            default=None,
            metavar="ID",
            shell_complete=_complete_recipes,
            help=f"Recipe id, required unless --from is given: {known} (see list-recipes).",
        ),
        click.Option(
            ["--from", "from_bundle"],
            default=None,
            metavar="BUNDLE",
            help="Rebuild BUNDLE from its manifest: recipe, parameters, seed (other options change them).",
        ),
        click.Option(
            ["--seed"], type=int, default=None, help="Master seed (default: override file, else 42)."
        ),
        click.Option(
            ["--mode"],
            type=click.Choice([m.value for m in ExposureMode]),
            default=None,
            help="Who the bundle is for: students (no hidden truth) or instructors and researchers. "
            f"[default: {DEFAULT_MODE}]",
        ),
        click.Option(
            ["--out"],
            default=None,
            type=str,
            help="Bundle directory to write (with --from: BUNDLE itself).",
        ),
        click.Option(
            ["--difficulty"],
            type=click.Choice([d.value for d in Difficulty]),
            default=None,
            help=f"Difficulty tier; the recipe lists the ones it supports. [default: {DEFAULT_DIFFICULTY}]",
        ),
        click.Option(
            ["--override"],
            type=click.Path(path_type=Path, dir_okay=True),
            help="YAML/JSON mapping of config keys (explicit flags win).",
        ),
        click.Option(
            ["--validate/--no-validate"],
            default=True,
            show_default=True,
            help="Validate the bundle after writing it (on the same workers).",
        ),
        click.Option(
            ["--intervene"],
            multiple=True,
            metavar="SPEC",
            help="Change the world: LEVER=VALUE or LEVER*FACTOR (repeatable; a bad one lists the levers).",
        ),
        click.Option(
            ["--experiment"],
            metavar="SPEC",
            help="Randomise a policy: LEVER=VALUE[@SHARE] for a random share (default half) of entities.",
        ),
        click.Option(
            ["--twin"],
            is_flag=True,
            help="With --intervene: write OUT/factual and OUT/intervened from one seed, with effects.",
        ),
        *_engine_options(),
        click.Option(
            ["--json", "as_json"],
            is_flag=True,
            help="Print what was written (files, sizes, hashes, timings) as JSON instead of status lines.",
        ),
        click.Option(
            ["--quiet", "-q"],
            is_flag=True,
            help="Print nothing but errors (no progress); the exit code is the verdict.",
        ),
    ]


def _scheme_options(host: PluginHost) -> tuple[list[click.Parameter], dict[str, dict[str, str]]]:
    """One option per flag the installed schemes contribute, and flag -> {scheme: config key}."""
    flags: dict[str, dict[str, str]] = {}
    declared: dict[str, list[GenerateOption]] = {}
    for opt in host.options():
        if opt.flag in CORE_FLAGS:
            click.echo(
                f"leadforge: warning: scheme {opt.scheme} declares {opt.flag}, which core owns; ignored",
                err=True,
            )
            continue
        declared.setdefault(opt.flag, []).append(opt)
        flags.setdefault(opt.flag, {})[opt.scheme] = opt.key
    params: list[click.Parameter] = []
    for flag, opts in declared.items():
        by_help: dict[str, list[str]] = {}
        for o in opts:
            by_help.setdefault(o.help, []).append(o.scheme)
        params.append(
            click.Option(
                [flag],
                type=opts[0].type,
                default=None,
                help="; ".join(f"[{', '.join(schemes)}] {text}" for text, schemes in by_help.items()),
                metavar=opts[0].metavar,
            )
        )
    return params, flags


generate_cmd = GenerateCommand()


def _generate(host: PluginHost, flags: dict[str, dict[str, str]], kw: dict[str, Any]) -> None:
    from leadforge.api import Generator
    from leadforge.bundle.staging import check_out, generation_timestamp
    from leadforge.engine import open_engine

    workers, scheduler = _engine_args(kw["workers"], kw["scheduler"])
    source = kw.get("from_bundle")
    if source is None and kw["recipe"] is None:
        raise UsageError("generate needs --recipe (or --from BUNDLE to rebuild a bundle)")
    if source is not None and kw["recipe"] is not None:
        raise UsageError("--from takes the recipe from the bundle's manifest; drop --recipe")
    if source is None and kw["out"] is None:
        raise UsageError("generate needs --out DIR")
    recipe = host.recipe(kw["recipe"]) if source is None else _recipe_of(host, source)
    scheme = host.scheme_for(recipe)
    scheme_params: dict[str, Any] = {}
    for flag, owners in flags.items():
        value = kw.get(flag[2:].replace("-", "_"))
        if value is None:
            continue
        if scheme.name not in owners:
            raise UsageError(
                f"{flag} belongs to the {', '.join(sorted(owners))} scheme, but recipe {recipe.id!r} "
                f"uses the {scheme.name} scheme"
            )
        scheme_params[owners[scheme.name]] = value
    common: dict[str, Any] = {
        "seed": kw["seed"],
        "exposure_mode": kw["mode"],
        "difficulty": kw["difficulty"],
        "override": kw["override"],
        "host": host,
        "intervene": list(kw["intervene"]),
        "experiment": kw["experiment"],
    }
    if source is None:
        gen = Generator.from_recipe(recipe.id, **common, **scheme_params)
    else:
        gen = Generator.from_bundle(source, **common, **scheme_params)
    cfg = gen.config
    quiet: bool = kw["quiet"]
    as_json: bool = kw["as_json"]
    say = _say(quiet or as_json)
    if not quiet:
        for note in gen.notes:
            click.echo(f"leadforge: warning: {note}", err=True)
    shown: str = kw["out"] if kw["out"] is not None else str(source)
    if kw["twin"]:
        _twin(gen, Path(shown), kw, workers, scheduler, host)
        return
    out = check_out(shown)  # before the simulation: a bad --out should not cost a whole run
    timestamp = generation_timestamp()
    progress = _progress(quiet)
    if cfg.derived:
        say(f"Sizes not given follow the recipe's ratios: {', '.join(cfg.derived)}")
    timings: dict[str, float] = {}
    report: ValidationReport | None = None
    started = time.monotonic()
    world = _Background(gen.generate, workers > 1 or scheduler is not None)
    try:
        with open_engine(workers, scheduler, check_path=out.parent) as engine:
            where = _on(engine, scheduler)
            say(
                f"Generating bundle with recipe '{recipe.id}', seed={cfg.seed}, "
                f"mode={cfg.exposure_mode.value}, difficulty={cfg.difficulty.value}{where} ..."
            )
            bundle = world.result()
            timings["generate_s"] = time.monotonic() - started
            say(f"Writing bundle to {out} ...")
            bundle.save(out, generation_timestamp=timestamp, progress=progress, engine=engine)
            progress.close()
            timings["write_s"] = time.monotonic() - started - timings["generate_s"]
            say(f"Done. Bundle written to {out} ({time.monotonic() - started:.1f}s)")
            if kw["validate"]:
                say(f"Validating {out} ...")
                checked = time.monotonic()
                report = _validate(out, host, engine, progress)
                timings["validate_s"] = time.monotonic() - checked
    finally:
        progress.close()
    timings["total_s"] = sum(timings.values())
    if as_json:
        assert bundle.manifest is not None, "save() records the manifest it wrote"
        _dump(_written(out, bundle.manifest, timings, report))
    if report is None:
        return
    if not report.ok:
        if not as_json:
            _print_findings(report.errors, report.warnings, str(out))
        sys.exit(1)
    if not quiet and not as_json:
        click.echo(f"OK: bundle at {out} passed all checks.")


class _Background:
    """``fn()`` on a thread when ``overlap`` (else on first use): the driver builds the world while
    a local cluster spawns its worker processes, instead of after."""

    def __init__(self, fn: Callable[[], Any], overlap: bool) -> None:
        self._fn = fn
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if overlap:
            self._thread = threading.Thread(target=self._run, name="leadforge-world", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as exc:  # re-raised on the caller's thread by result()
            self._error = exc

    def result(self) -> Any:
        if self._thread is None:
            return self._fn()
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def _twin(
    gen: Any, root: Path, kw: dict[str, Any], workers: int, scheduler: str | None, host: PluginHost
) -> None:
    """``generate --twin``: the factual and the intervened bundle, each validated."""
    from leadforge.bundle.manifest import Manifest
    from leadforge.bundle.staging import generation_timestamp
    from leadforge.engine import open_engine

    quiet, as_json = kw["quiet"], kw["as_json"]
    say = _say(quiet or as_json)
    progress = _progress(quiet)
    changes = ", ".join(str(iv) for iv in gen.config.interventions)
    started = time.monotonic()
    reports: dict[str, ValidationReport | None] = {}
    try:
        with open_engine(workers, scheduler, check_path=root.absolute().parent) as engine:
            say(f"Generating the factual and the intervened ({changes}) world into {root} ...")
            twin = gen.save_twin(
                root, generation_timestamp=generation_timestamp(), progress=progress, engine=engine
            )
            progress.close()
            for name, out in (("factual", twin.factual), ("intervened", twin.intervened)):
                reports[name] = None
                if kw["validate"]:
                    say(f"Validating {out} ...")
                    reports[name] = _validate(out, host, engine, progress)
    finally:
        progress.close()
    elapsed = {"total_s": time.monotonic() - started}
    if as_json:
        _dump({n: _written(root / n, Manifest.load(root / n), elapsed, r) for n, r in reports.items()})
    bad = [(n, r) for n, r in reports.items() if r is not None and not r.ok]
    for name, report in bad:
        if not as_json:
            _print_findings(report.errors, report.warnings, str(root / name))
    if bad:
        sys.exit(1)
    if not quiet and not as_json:
        click.echo(
            f"OK: twin bundles at {root}/factual and {root}/intervened"
            + (" passed all checks." if kw["validate"] else ".")
        )


def _written(
    out: Path, manifest: Any, timings: dict[str, float], report: ValidationReport | None
) -> dict[str, Any]:
    """``generate --json``: where the bundle is, what is in it (sizes, hashes), how long it took."""
    from leadforge.bundle.manifest import MANIFEST

    files = {rel: entry.to_json() for rel, entry in sorted((manifest.files or {}).items())}
    raw = (out / MANIFEST).read_bytes()
    files[MANIFEST] = {"sha256": hashlib.sha256(raw).hexdigest(), "size": len(raw)}
    return {
        "bundle": str(out),
        "path": str(out.resolve()),
        "recipe": manifest.recipe_id,
        "scheme": manifest.scheme,
        "seed": manifest.seed,
        "mode": manifest.exposure_mode,
        "difficulty": manifest.difficulty,
        "schema_version": manifest.schema_version,
        "tables": {
            name: {
                "rows": entry.row_count,
                "files": list(manifest.table_files(name)),
                "sha256": entry.sha256,
            }
            for name, entry in manifest.tables.items()
        },
        "tasks": {
            task_id: {split: task.rows.get(split) for split in ("train", "valid", "test")}
            for task_id, task in manifest.tasks.items()
        },
        "files": files,
        "total_bytes": sum(int(f["size"]) for f in files.values()),
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "validation": report.to_json() if report is not None else None,
    }


def _recipe_of(host: PluginHost, source: str) -> Any:
    """The installed recipe a bundle names (``generate --from``)."""
    from leadforge.bundle.manifest import Manifest
    from leadforge.validation import check_bundle_dir

    root = _existing(source)
    check_bundle_dir(root)
    recipe_id = Manifest.load(root).recipe_id
    if recipe_id is None:
        raise UsageError(f"{source}: its manifest names no recipe_id")
    return host.recipe(recipe_id)


def _say(quiet: bool) -> Callable[[str], None]:
    """Prints a status line, or nothing under ``--quiet``."""

    def say(text: str) -> None:
        if not quiet:
            click.echo(text)

    return say


def _on(engine: Engine, scheduler: str | None) -> str:
    if scheduler is not None:
        return f", on the Dask cluster at {scheduler}"
    return f", on {engine.workers} workers" if engine.workers > 1 else ""


def _validate(root: Path, host: PluginHost, engine: Engine, progress: Progress) -> ValidationReport:
    from leadforge.validation import validate_bundle

    try:
        return validate_bundle(root, host, engine=engine, progress=progress)
    except BundleError as exc:
        click.echo(f"FAIL: {exc}", err=True)
        sys.exit(1)


def _print_findings(errors: Sequence[Any], warnings: Sequence[Any], where: str) -> None:
    click.echo(f"FAIL: {len(errors)} validation error(s) in {where}:", err=True)
    for f in errors:
        click.echo(f"  - {f}", err=True)
    for f in warnings:
        click.echo(f"  warning: {f}", err=True)


def _existing(path: str) -> Path:
    """``path``, or a usage error (exit 2) when nothing is there: a typo, not a bad bundle."""
    p = Path(path)
    if not p.exists() and not p.is_symlink():
        raise UsageError(f"path does not exist: {p}")
    return p


def _bundle_path(path: str) -> Path:
    from leadforge.validation import check_bundle_dir

    p = _existing(path)
    try:
        check_bundle_dir(p)
    except BundleError as exc:
        click.echo(f"FAIL: {exc}", err=True)
        sys.exit(1)
    return p


@click.command("validate", params=_engine_options())
@click.argument("bundle_path", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="Print nothing but errors (no progress); the exit code is the verdict.",
)
def validate_cmd(
    bundle_path: str, as_json: bool, quiet: bool, workers: int | None, scheduler: str | None
) -> None:
    """Check a bundle: envelope, hashes, exposure rules and the scheme's own invariants."""
    from leadforge.engine import open_engine

    n, address = _engine_args(workers, scheduler)
    root = _bundle_path(bundle_path)
    host = _host()
    progress = _progress(quiet)
    try:
        with open_engine(n, address, check_path=root) as engine:
            report = _validate(root, host, engine, progress)
    finally:
        progress.close()
    if as_json:
        _dump(report.to_json())
        sys.exit(0 if report.ok else 1)
    if not report.ok:
        _print_findings(report.errors, report.warnings, str(root))
        sys.exit(1)
    if quiet:
        return
    for f in report.warnings:
        click.echo(f"warning: {f}", err=True)
    click.echo(f"OK: bundle at {root} passed all checks.")


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize() + ":"


def _shown(value: Any) -> str:
    if value is None:
        return "?"
    text = json.dumps(value) if isinstance(value, list | dict) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


@click.command("inspect")
@click.argument("bundle_path", type=click.Path())
@click.option("--json", "-j", "as_json", is_flag=True, help="Print the manifest as JSON.")
@click.option(
    "--schema", "schema", is_flag=True, help="Print every column of every table and task, and an ER diagram."
)
def inspect_cmd(bundle_path: str, as_json: bool, schema: bool) -> None:
    """Summarise a bundle from its manifest (reads no data files)."""
    from leadforge.bundle.reader import BundleView, Manifest
    from leadforge.validation import check_bundle_dir

    root = _existing(bundle_path)
    try:
        check_bundle_dir(root)
        m = Manifest.load(root)
        if schema:
            from leadforge.bundle.dictionary import facts_from_bundle, schema_text

            click.echo(schema_text(facts_from_bundle(BundleView(root, m))), nl=False)
            return
    except BundleError as exc:
        _fail(str(exc), 1)
    if as_json:
        _dump(m.to_json())
        return
    click.echo(_inspect_text(root, m))


def _inspect_text(root: Path, m: Any) -> str:
    """The manifest as aligned label/value lines, a table of tables and a table of tasks."""
    head: list[tuple[str, Any]] = [
        ("Recipe:", m.recipe_id),
        ("Scheme:", m.scheme),
        ("Seed:", m.seed),
        ("Mode:", m.exposure_mode),
        ("Difficulty:", m.difficulty),
        ("Generated at:", m.generation_timestamp),
        ("Package:", f"leadforge-core {m.package_version}" if m.package_version else None),
        ("Schema ver:", m.schema_version),
    ]
    head += [(_label(key), value) for key, value in m.fields.items()]
    pairs = [(label, _shown(value)) for label, value in head]
    redacted = m.redacted_columns
    if redacted:
        shown = ", ".join(redacted) if len(redacted) <= 4 else ", ".join(redacted[:3]) + ", ..."
        noun = "column" if len(redacted) == 1 else "columns"
        pairs.append(("Redactions:", f"{len(redacted)} {noun} [{shown}]"))
    pad = max(LABEL_WIDTH, *(len(label) + 1 for label, _ in pairs))
    lines = [f"Bundle: {root}"]
    lines += [f"  {label:<{pad}}{value}" for label, value in pairs]
    if m.tables:
        lines += ["", "Tables:"]
        rows = [
            (name, f"{e.row_count:,} rows", f"{len(e.parts)} parts" if e.parts else "")
            for name, e in m.tables.items()
        ]
        lines += _columns(rows, right=(1,))
    if m.tasks:
        lines += ["", "Tasks:"]
        rows = [
            (task_id, *(f"{s}={_count(task.rows.get(s))}" for s in ("train", "valid", "test")))
            for task_id, task in m.tasks.items()
        ]
        lines += _columns(rows)
    lines += [""]
    tail = [("Metadata dir:", "present" if (root / "metadata").is_dir() else "absent")]
    if m.files is not None:
        tail.append(("Files hashed:", str(len(m.files))))
    lines += [f"{label:<{pad + 2}}{value}" for label, value in tail]
    lines += [f"Manifest problem: {f}" for f in m.findings[:5]]
    return "\n".join(lines)


#: Values of ``inspect`` start in this column at least (past the longest label otherwise).
LABEL_WIDTH = 15


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"


def _columns(rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
    """Rows indented by two, each column padded to its widest cell (``right`` ones right-aligned)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        out.append(("  " + "  ".join(cells)).rstrip())
    return out


@click.command("new-scheme")
@click.argument("name")
@click.option(
    "--dir",
    "target",
    type=click.Path(path_type=Path, file_okay=True),
    default=None,
    help="Folder to create the distribution in (default: ./leadforge-scheme-NAME); must be new or empty.",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was created as JSON.")
def new_scheme_cmd(name: str, target: Path | None, as_json: bool) -> None:
    """Create a ready-to-install scheme plugin distribution named NAME (e.g. ticket_triage)."""
    from leadforge.scaffold.render import SchemeNames, check_free, default_target, write_project

    names = SchemeNames.of(name, core_version())
    host = _host()
    check_free(names, [*host.schemes, *(r.name for r in host.records)])
    target = target if target is not None else default_target(name)
    written = write_project(names, target)
    files = [path.relative_to(target).as_posix() for path in written]
    if as_json:
        _dump(
            {
                "directory": str(target),
                "path": str(target.resolve()),
                "scheme": names.scheme,
                "package": names.package,
                "distribution": names.distribution,
                "recipe": names.recipe,
                "files": files,
            }
        )
        return
    click.echo(f"Created {names.distribution} in {target} ({len(written)} files):")
    for rel in files:
        click.echo(f"  {rel}")
    click.echo(
        f"Scheme {names.scheme!r}, recipe {names.recipe!r}. Next:\n"
        f"  cd {target}\n"
        "  pip install -e '.[test]'\n"
        "  pytest\n"
        f"  leadforge generate --recipe {names.recipe} --seed 1 --out out/{names.scheme}"
    )


SHELLS = ("bash", "zsh", "fish")


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS), metavar="SHELL")
def completion_cmd(shell: str) -> None:
    """Print a SHELL completion script (commands, options, recipe ids, modes, tiers, schemes).

    \b
    bash:  eval "$(leadforge completion bash)"      (e.g. in ~/.bashrc)
    zsh:   eval "$(leadforge completion zsh)"       (e.g. in ~/.zshrc)
    fish:  leadforge completion fish > ~/.config/fish/completions/leadforge.fish
    """
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    if cls is None:
        raise UsageError(f"no completion for shell {shell!r}; choose one of {', '.join(SHELLS)}")
    click.echo(cls(main, {}, "leadforge", "_LEADFORGE_COMPLETE").source())
