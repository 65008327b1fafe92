"""Help as users of plugin hosts expect it: choices and defaults shown, ``-h`` everywhere,
tables and listings that fit the terminal."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
import toyplugin
from click.testing import CliRunner
from leadforge import cli as lfcli
from leadforge import hookimpl
from leadforge.enums import Difficulty, ExposureMode
from leadforge.params import param
from leadforge.plugins import PluginHost, set_host
from leadforge.schemes import GenerateOption, SchemeInfo
from test_cli import Run, field

EXE = str(Path(sys.executable).parent / "leadforge")


def option_help(text: str, flag: str) -> str:
    """The help block of ``flag`` in ``--help`` output, joined into one line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(flag) or f", {flag}" in line)
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if line.startswith("  -"):
            break
        block.append(line)
    return " ".join(" ".join(block).split())


def test_mode_difficulty_and_recipe_show_their_choices_and_defaults(cli: Run) -> None:
    text = cli("generate", "--help").stdout
    mode = option_help(text, "--mode")
    assert f"[{'|'.join(m.value for m in ExposureMode)}]" in mode
    assert "[default: student_public]" in mode
    tier = option_help(text, "--difficulty")
    assert f"[{'|'.join(d.value for d in Difficulty)}]" in tier
    assert "[default: intermediate]" in tier
    assert "one of toy_v1" in option_help(text, "--recipe")


def test_the_defaults_shown_are_the_ones_used() -> None:
    from leadforge.config import DEFAULT_DIFFICULTY, DEFAULT_MODE

    assert (DEFAULT_MODE.value, DEFAULT_DIFFICULTY.value) == (lfcli.DEFAULT_MODE, lfcli.DEFAULT_DIFFICULTY)


def test_recipe_ids_in_the_help_come_from_the_installed_packs(tmp_path: Path) -> None:
    class Pack:
        LEADFORGE_PLUGIN_API = (2, 2)

        @staticmethod
        @hookimpl
        def register_recipes() -> list[Path]:
            copy = tmp_path / "toy_v2"
            copy.mkdir()
            for f in (toyplugin.RECIPES / "toy_v1").iterdir():
                (copy / f.name).write_text(f.read_text().replace("id: toy_v1", "id: toy_v2"))
            return [copy]

    set_host(PluginHost.from_plugins([("toy", toyplugin), ("pack", Pack())]))
    try:
        text = CliRunner().invoke(lfcli.main, ["generate", "--help"]).stdout
    finally:
        set_host(None)
    assert "one of toy_v1, toy_v2" in option_help(text, "--recipe")


def test_dash_h_works_on_every_command(cli: Run) -> None:
    top = cli("-h")
    assert top.exit_code == 0 and "Commands:" in top.stdout and top.stdout == cli("--help").stdout
    names = lfcli.main.list_commands(click.Context(lfcli.main))  # type: ignore[attr-defined]
    assert {"generate", "validate", "inspect", "completion", "new-scheme"} <= set(names)
    for name in names:
        short, long = cli(name, "-h"), cli(name, "--help")
        assert short.exit_code == 0, (name, short.stderr)
        assert short.stdout == long.stdout and short.stdout.startswith(f"Usage: leadforge {name}")


@pytest.mark.parametrize("columns", [60, 80, 200])
def test_tables_fit_the_terminal(cli: Run, monkeypatch: pytest.MonkeyPatch, columns: int) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    for args in (["plugins"], ["list-recipes"]):
        text = cli(*args).stdout
        assert max(len(line) for line in text.splitlines()) < columns, text


def cells_of(text: str) -> list[list[str]]:
    """Read a printed table back: column spans from the dashes, a row starts with a first cell."""
    lines = text.splitlines()
    spans, pos = [], 0
    for dashes in lines[1].split("  "):
        spans.append((pos, pos + len(dashes)))
        pos += len(dashes) + 2
    rows: list[list[list[str]]] = []
    for line in [lines[0], *lines[2:]]:
        parts = [line[a:b].strip() for a, b in spans]
        if parts[0] or not rows:
            rows.append([[p] if p else [] for p in parts])
        else:
            for cell, p in zip(rows[-1], parts, strict=True):
                cell += [p] if p else []
    return [[" ".join(c) for c in row] for row in rows]


def test_a_narrow_table_wraps_between_words_and_keeps_every_word() -> None:
    rows = [("alpha", "one two three four five six seven eight", "x"), ("beta", "nine ten", "y")]
    text = lfcli._table(rows, ("NAME", "WORDS", "Z"), width=30)
    lines = text.splitlines()
    assert all(len(line) < 30 for line in lines) and len(lines) > 4, text
    assert cells_of(text) == [["NAME", "WORDS", "Z"], *map(list, rows)]


def test_a_table_that_cannot_fit_is_printed_as_blocks_without_broken_words() -> None:
    rows = [("plugin_one", "leadforge-scheme-something-long", "build_world, validate")]
    text = lfcli._table(rows, ("PLUGIN", "DISTRIBUTION", "HOOKS"), width=30)
    assert text.splitlines()[0] == "plugin_one"
    assert "  distribution  leadforge-scheme-something-long" in text.splitlines()
    assert "leadforge-scheme-something-long" in text and "build_world," in text


def test_inspect_aligns_long_labels(cli: Run, tmp_path: Path) -> None:
    out = tmp_path / "b"
    cli("generate", "-r", "toy_v1", "--out", str(out), "-q", "--no-validate")
    m = json.loads((out / "manifest.json").read_text())
    m["a_really_quite_long_scheme_field"] = 1
    (out / "manifest.json").write_text(json.dumps(m))
    text = cli("inspect", str(out)).stdout
    assert field(text, "A really quite long scheme field") == "1"  # field() asserts one value column
    assert field(text, "Recipe") == "toy_v1" and field(text, "Files hashed").isdigit()


class SharedA:
    LEADFORGE_PLUGIN_API = (2, 2)

    @staticmethod
    @hookimpl
    def register_schemes() -> list[SchemeInfo]:
        return [SchemeInfo(name="alpha", title="a", version="1", params_type=Sized, narrative_type=None)]

    @staticmethod
    @hookimpl
    def generate_options() -> list[GenerateOption]:
        return [GenerateOption("alpha", "--n-items", "n_items", int, "alpha items")]


class SharedB:
    LEADFORGE_PLUGIN_API = (2, 2)

    @staticmethod
    @hookimpl
    def register_schemes() -> list[SchemeInfo]:
        return [SchemeInfo(name="beta", title="b", version="1", params_type=Sized, narrative_type=None)]

    @staticmethod
    @hookimpl
    def generate_options() -> list[GenerateOption]:
        return [GenerateOption("beta", "--n-items", "n_items", int, "beta items")]


@dataclass(frozen=True)
class Sized:
    n_items: int = param(5, help="items", minimum=1)


def test_a_flag_two_schemes_share_shows_both_in_the_help() -> None:
    set_host(PluginHost.from_plugins([("a", SharedA()), ("b", SharedB())]))
    try:
        text = CliRunner().invoke(lfcli.main, ["generate", "--help"]).stdout
    finally:
        set_host(None)
    shown = option_help(text, "--n-items")
    assert "[alpha] alpha items" in shown and "[beta] beta items" in shown
    assert text.count("--n-items") == 1


def test_the_real_generate_help_lists_the_installed_recipes() -> None:
    """As a user's shell runs it (its speed is ``benchmarks/``' business, not a unit test's)."""
    proc = subprocess.run([EXE, "generate", "--help"], capture_output=True, text=True, check=True)
    text = " ".join(proc.stdout.split())  # click wraps the help to the terminal
    assert "--recipe ID" in text
    try:
        import leadforge_recipes  # noqa: F401
    except ImportError:
        assert "none installed: pip install leadforge-" in text  # click may break after the hyphen
    else:
        assert "b2b_saas_procurement_v1" in text
