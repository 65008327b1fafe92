"""The ``leadforge`` command line. Its ``generate`` options grow with the installed schemes.

Errors are one line on stderr: exit 2 for usage and configuration problems, 1 for a bundle
that fails validation or a run that could not finish. ``LEADFORGE_DEBUG=1`` shows tracebacks.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any, NoReturn

import click

from leadforge.bundle.reader import Manifest
from leadforge.errors import BundleError, LeadforgeError, UsageError
from leadforge.plugins import PluginHost, get_host
from leadforge.progress import StderrProgress
from leadforge.validation import check_bundle_dir

CORE_FLAGS = frozenset(
    {"--recipe", "--seed", "--mode", "--out", "--difficulty", "--override", "--validate", "--quiet", "--help"}
)
FIRST_PARTY = "pip install leadforge-scheme-leadscoring leadforge-scheme-lifecycle leadforge-recipes"


def _fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def _table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*map(str, r)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def _dump(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=True))


class Terminated(BaseException):
    """SIGTERM, raised where the process stands so that every ``finally`` cleans up."""


def _terminated(signum: int, frame: Any) -> None:
    raise Terminated


class LeadforgeGroup(click.Group):
    """Builds ``generate`` from the installed plugins, and keeps every error to one line."""

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name == "generate":
            return make_generate(get_host())
        return super().get_command(ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), "generate"])

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


@click.group("leadforge", cls=LeadforgeGroup, no_args_is_help=True)
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


@main.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def plugins_cmd(as_json: bool) -> None:
    """List plugin distributions, what they provide, and whether they loaded."""
    from leadforge.api import core_version
    from leadforge.hookspecs import PLUGIN_API

    host = get_host()
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
            ",".join(r.schemes) or "-",
            ",".join(r.recipes) or "-",
            ",".join(h for h in r.hooks) or "-",
        )
        for r in host.records
    ]
    click.echo(_table(rows, ("PLUGIN", "DISTRIBUTION", "VERSION", "STATUS", "SCHEMES", "RECIPES", "HOOKS")))
    for r in host.records:
        if r.status != "ok":
            click.echo(f"{r.name}: {r.status}: {r.reason}")
    for key, dists in sorted(host.conflicts.items()):
        click.echo(f"conflict: {key.replace(':', ' ')} is registered by {' and '.join(dists)}")
    if not host.schemes:
        click.echo(f"No schemes installed. To get the first-party ones:\n  {FIRST_PARTY}")


@main.command("list-recipes")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def list_recipes_cmd(as_json: bool) -> None:
    """List installed recipes, their scheme, tasks, modes and difficulties."""
    host = get_host()
    items: list[dict[str, Any]] = []
    for rid, entry in sorted(host.recipes.items()):
        r = entry.recipe
        assert r is not None
        available = r.scheme in host.schemes and f"scheme:{r.scheme}" not in host.conflicts
        items.append(
            {
                "id": rid,
                "scheme": r.scheme,
                "title": r.title,
                "tasks": list(r.tasks),
                "modes": [m.value for m in r.supported_modes],
                "difficulties": [d.value for d in r.supported_difficulty],
                "status": "available" if available else "unavailable",
                "install": None if available else r.install_hint,
                "provider": entry.provider,
            }
        )
    for entry in host.invalid_recipes:
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
        click.echo("No recipes found. Install a recipe pack: pip install leadforge-recipes")
        return
    rows = [
        (
            i["id"],
            i["scheme"] or "-",
            i["title"] or "-",
            ",".join(i["tasks"]) or "-",
            ",".join(i["modes"]) or "-",
            ",".join(i["difficulties"]) or "-",
            i["status"],
        )
        for i in items
    ]
    click.echo(_table(rows, ("ID", "SCHEME", "TITLE", "TASKS", "MODES", "DIFFICULTY", "STATUS")))
    for i in items:
        if i["status"] == "unavailable":
            click.echo(f"{i['id']}: needs the {i['scheme']} scheme; run: {i['install']}")
        elif i["status"] == "invalid":
            click.echo(f"{i['id']}: invalid: {i['error']}")


def make_generate(host: PluginHost) -> click.Command:
    """``generate`` with one option per flag the installed schemes contribute."""
    flags: dict[str, dict[str, str]] = {}
    params: list[click.Parameter] = []
    for opt in host.options():
        if opt.flag in CORE_FLAGS:
            click.echo(
                f"leadforge: warning: scheme {opt.scheme} declares {opt.flag}, which core owns; ignored",
                err=True,
            )
            continue
        owners = flags.setdefault(opt.flag, {})
        if not owners:
            params.append(
                click.Option(
                    [opt.flag],
                    type=opt.type,
                    default=None,
                    help=f"[{opt.scheme}] {opt.help}",
                    metavar=opt.metavar,
                )
            )
        owners[opt.scheme] = opt.key

    def run(**kw: Any) -> None:
        _generate(host, flags, kw)

    cmd = click.Command(
        "generate",
        callback=run,
        help="Generate a bundle from a recipe (options marked [scheme] belong to that scheme).",
        params=[
            click.Option(["--recipe", "-r"], required=True, help="Recipe id (see list-recipes)."),
            click.Option(
                ["--seed"], type=int, default=None, help="Master seed (default: override file, else 42)."
            ),
            click.Option(["--mode"], default=None, help="student_public or research_instructor."),
            click.Option(["--out"], required=True, type=str, help="Bundle directory to write."),
            click.Option(["--difficulty"], default=None, help="intro, intermediate or advanced."),
            click.Option(
                ["--override"],
                type=click.Path(path_type=Path, dir_okay=True),
                help="YAML/JSON mapping of config keys (explicit flags win).",
            ),
            click.Option(
                ["--validate/--no-validate"],
                default=True,
                show_default=True,
                help="Validate the bundle after writing it.",
            ),
            click.Option(["--quiet", "-q"], is_flag=True, help="No progress on stderr."),
            *params,
        ],
    )
    return cmd


def _generate(host: PluginHost, flags: dict[str, dict[str, str]], kw: dict[str, Any]) -> None:
    from leadforge.api import Generator
    from leadforge.bundle.staging import check_out, generation_timestamp
    from leadforge.validation import validate_bundle

    recipe = host.recipe(kw["recipe"])
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
    gen = Generator.from_recipe(
        recipe.id,
        seed=kw["seed"],
        exposure_mode=kw["mode"],
        difficulty=kw["difficulty"],
        override=kw["override"],
        host=host,
        **scheme_params,
    )
    cfg = gen.config
    shown: str = kw["out"]
    out = check_out(shown)  # before the simulation: a bad --out should not cost a whole run
    timestamp = generation_timestamp()
    click.echo(
        f"Generating bundle with recipe '{recipe.id}', seed={cfg.seed}, mode={cfg.exposure_mode.value}, "
        f"difficulty={cfg.difficulty.value} ..."
    )
    started = time.monotonic()
    bundle = gen.generate()
    click.echo(f"Writing bundle to {out} ...")
    bundle.save(out, generation_timestamp=timestamp, progress=None if kw["quiet"] else StderrProgress())
    click.echo(f"Done. Bundle written to {out} ({time.monotonic() - started:.1f}s)")
    if kw["validate"]:
        report = validate_bundle(out, host)
        if not report.ok:
            _print_findings(report.errors, report.warnings, str(out))
            sys.exit(1)
        click.echo(f"OK: bundle at {out} passed all checks.")


def _print_findings(errors: Sequence[Any], warnings: Sequence[Any], where: str) -> None:
    click.echo(f"FAIL: {len(errors)} validation error(s) in {where}:", err=True)
    for f in errors:
        click.echo(f"  - {f}", err=True)
    for f in warnings:
        click.echo(f"  warning: {f}", err=True)


def _bundle_path(path: str) -> Path:
    p = Path(path)
    try:
        check_bundle_dir(p)
    except BundleError as exc:
        click.echo(f"FAIL: {exc}", err=True)
        sys.exit(1)
    return p


@main.command("validate")
@click.argument("bundle_path")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def validate_cmd(bundle_path: str, as_json: bool) -> None:
    """Check a bundle: envelope, hashes, exposure rules and the scheme's own invariants."""
    from leadforge.validation import validate_bundle

    root = _bundle_path(bundle_path)
    try:
        report = validate_bundle(root, get_host())
    except BundleError as exc:
        click.echo(f"FAIL: {exc}", err=True)
        sys.exit(1)
    if as_json:
        _dump(report.to_json())
        sys.exit(0 if report.ok else 1)
    if not report.ok:
        _print_findings(report.errors, report.warnings, str(root))
        sys.exit(1)
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


@main.command("inspect")
@click.argument("bundle_path")
@click.option("--json", "-j", "as_json", is_flag=True, help="Print the manifest as JSON.")
def inspect_cmd(bundle_path: str, as_json: bool) -> None:
    """Summarise a bundle from its manifest (reads no data files)."""
    root = Path(bundle_path)
    try:
        check_bundle_dir(root)
        m = Manifest.load(root)
    except BundleError as exc:
        _fail(str(exc), 1)
    if as_json:
        _dump(m.to_json())
        return
    head = (
        ("Recipe:", m.recipe_id),
        ("Scheme:", m.scheme),
        ("Seed:", m.seed),
        ("Mode:", m.exposure_mode),
        ("Difficulty:", m.difficulty),
        ("Generated at:", m.generation_timestamp),
        ("Package:", f"leadforge-core {m.package_version}" if m.package_version else None),
        ("Schema ver:", m.schema_version),
    )
    lines = [f"Bundle: {root}"]
    lines += [f"  {label:<15}{_shown(value)}" for label, value in head]
    for key, value in m.fields.items():
        label = _label(key)
        lines.append(f"  {label:<15}{_shown(value)}" if len(label) < 15 else f"  {label} {_shown(value)}")
    redacted = m.redacted_columns
    if redacted:
        shown = ", ".join(redacted) if len(redacted) <= 4 else ", ".join(redacted[:3]) + ", ..."
        noun = "column" if len(redacted) == 1 else "columns"
        lines.append(f"  {'Redactions:':<15}{len(redacted)} {noun} [{shown}]")
    lines += ["", "Tables:"]
    for name, entry in m.tables.items():
        lines.append(f"  {name:<25}{entry.row_count:>8} rows")
    if m.tasks:
        lines += ["", "Tasks:"]
        for task_id, task in m.tasks.items():
            lines.append(f"  {task_id}")
            lines.append("    " + "  ".join(f"{s}={task.rows[s]}" for s in ("train", "valid", "test")))
    lines += ["", f"Metadata dir:    {'present' if (root / 'metadata').is_dir() else 'absent'}"]
    if m.files is not None:
        lines.append(f"Files hashed:    {len(m.files)}")
    for f in m.findings[:5]:
        lines.append(f"Manifest problem: {f}")
    click.echo("\n".join(lines))


@main.command("new-scheme")
@click.argument("name")
@click.option(
    "--dir",
    "target",
    type=click.Path(path_type=Path, file_okay=True),
    default=None,
    help="Folder to create the distribution in (default: ./leadforge-scheme-NAME); must be new or empty.",
)
def new_scheme_cmd(name: str, target: Path | None) -> None:
    """Create a ready-to-install scheme plugin distribution named NAME (e.g. ticket_triage)."""
    from leadforge.api import core_version
    from leadforge.scaffold.render import SchemeNames, default_target, write_project

    names = SchemeNames.of(name, core_version())
    target = target if target is not None else default_target(name)
    written = write_project(names, target)
    click.echo(f"Created {names.distribution} in {target} ({len(written)} files):")
    for path in written:
        click.echo(f"  {path.relative_to(target).as_posix()}")
    click.echo(
        f"Scheme {names.scheme!r}, recipe {names.recipe!r}. Next:\n"
        f"  cd {target}\n"
        "  pip install -e '.[test]'\n"
        "  pytest\n"
        f"  leadforge generate --recipe {names.recipe} --seed 1 --out out/{names.scheme}"
    )
