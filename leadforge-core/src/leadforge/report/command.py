"""The ``leadforge report`` click command."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from leadforge.errors import LeadforgeError, UsageError


@click.command("report")
@click.argument("bundle_path", metavar="BUNDLE")
@click.option(
    "--out",
    "-o",
    "out",
    metavar="FILE.html",
    help="Where to write the HTML page (default: <BUNDLE>-report.html beside the bundle).",
)
@click.option(
    "--json", "json_out", metavar="FILE|-", help="Also write every figure's data as JSON ('-': stdout)."
)
@click.option(
    "--no-validation", is_flag=True, help="Leave out the validation section (it hashes every file)."
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
def report(bundle_path: str, out: str | None, json_out: str | None, no_validation: bool, quiet: bool) -> None:
    """Write one self-contained HTML page of plots about a bundle (opens offline).

    \b
    leadforge report BUNDLE                       # BUNDLE-report.html
    leadforge report BUNDLE --out r.html --json r.json
    leadforge report BUNDLE --json -              # JSON on stdout only (no HTML)
    """
    from leadforge.plugins import get_host
    from leadforge.report.build import build_report
    from leadforge.report.render import to_html, to_json

    root = Path(bundle_path)
    html_path = None if (json_out == "-" and out is None) else Path(out) if out else _default_out(root)
    try:
        for target in (html_path, None if json_out in (None, "-") else Path(json_out)):
            if target is not None and _inside(target, root):
                raise UsageError(
                    f"{target}: write the report outside the bundle (a file inside it fails validation)"
                )
        if html_path is not None:
            from leadforge.report.plots import _pyplot

            _pyplot()
        result = build_report(root, get_host(), validate=not no_validation)
        if html_path is not None:
            _write(html_path, to_html(result))
        if json_out == "-":
            click.echo(to_json(result), nl=False)
        elif json_out:
            _write(Path(json_out), to_json(result))
    except LeadforgeError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    if not quiet and html_path is not None:
        figures = result.figures
        shown = sum(f.available for f in figures)
        click.echo(f"Wrote {html_path} ({shown} of {len(figures)} figures available).", err=json_out == "-")


def _default_out(root: Path) -> Path:
    """``<bundle>-report.html`` beside the bundle folder (also for ``.`` or a trailing slash)."""
    folder = root.resolve()
    return folder.parent / f"{folder.name or 'bundle'}-report.html"


def _inside(target: Path, root: Path) -> bool:
    try:
        target.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _write(path: Path, text: str) -> None:
    """Write atomically, so a failed run never leaves half a report."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
