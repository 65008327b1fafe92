"""The ``leadforge export`` click command."""

from __future__ import annotations

import sys

import click

from leadforge.errors import LeadforgeError
from leadforge.export import STORES, export_bundle


@click.command("export")
@click.argument("bundle_path", metavar="BUNDLE")
@click.option("--to", "store", required=True, type=click.Choice(STORES), help="The store to export to.")
@click.argument("target")
@click.option(
    "--replace", is_flag=True, help="Replace a non-empty target file or folder, or same-named tables."
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
def export_cmd(bundle_path: str, store: str, target: str, replace: bool, quiet: bool) -> None:
    """Export a validated bundle to DuckDB, SQLite, CSV files or PostgreSQL.

    \b
    leadforge export BUNDLE --to duckdb FILE
    leadforge export BUNDLE --to sqlite FILE
    leadforge export BUNDLE --to csv DIR
    leadforge export BUNDLE --to postgresql postgresql://user@host/db
    """
    from leadforge.plugins import get_host

    try:
        result = export_bundle(bundle_path, store, target, replace=replace, host=get_host())
    except LeadforgeError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    if not quiet:
        shown = target if store != "postgresql" else "the PostgreSQL database"
        click.echo(f"Exported {len(result.tables)} tables ({result.rows} rows) to {shown}.")
