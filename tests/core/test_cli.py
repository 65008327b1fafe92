"""The CLI as a user meets it: exit codes, one-line errors, listings, JSON output."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import toyplugin
from click.testing import Result
from leadforge import hookimpl
from leadforge.params import param
from leadforge.plugins import PluginHost, set_host
from leadforge.schemes import GenerateOption, SchemeInfo, options_from_params

Run = Callable[..., Result]


def field(text: str, label: str) -> str:
    """The value ``inspect`` prints for ``label``; every value starts in the same column."""
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("Bundle:")]
    labelled = [line for line in lines if re.match(r"^ ?\s?[A-Z][\w ]*:\s", line)]
    columns = {len(line) - len(line.split(":", 1)[1].lstrip()) for line in labelled}
    assert len(columns) == 1, f"values are not aligned: {labelled}"
    (hit,) = [line for line in labelled if line.strip().startswith(f"{label}:")]
    return hit.split(":", 1)[1].strip()


def section(text: str, title: str) -> list[str]:
    """The indented lines under ``title`` up to the next blank line."""
    lines = text.splitlines()
    start = lines.index(title) + 1
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def one_line_error(result: Result, code: int, text: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ") and text in lines[0], lines[0]
    assert "Traceback" not in result.stderr


def test_generate_validate_inspect_round_trip(cli: Run, tmp_path: Path) -> None:
    out = tmp_path / "b"
    r = cli(
        "generate",
        "--recipe",
        "toy_v1",
        "--seed",
        "3",
        "--mode",
        "research_instructor",
        "--out",
        str(out),
    )
    assert r.exit_code == 0, r.stderr
    assert "Generating bundle with recipe 'toy_v1', seed=3, mode=research_instructor" in r.stdout
    assert f"Validating {out} ..." in r.stdout
    assert r.stdout.splitlines()[-1] == f"OK: bundle at {out} passed all checks."
    r = cli("inspect", str(out))
    assert r.exit_code == 0
    m = json.loads((out / "manifest.json").read_text())
    assert field(r.stdout, "Recipe") == "toy_v1" and field(r.stdout, "Scheme") == "toy"
    tables = section(r.stdout, "Tables:")
    assert [line.split()[0] for line in tables] == list(m["tables"])
    for line, entry in zip(tables, m["tables"].values(), strict=True):
        assert line.split()[1:] == [f"{entry['row_count']:,}", "rows"]
    assert len({line.rindex(" rows") for line in tables}) == 1, "counts are right-aligned"
    task = m["tasks"]["toy_task"]
    (line,) = section(r.stdout, "Tasks:")
    assert line.split() == [
        "toy_task",
        f"train={task['train_rows']}",
        f"valid={task['valid_rows']}",
        f"test={task['test_rows']}",
    ]
    assert field(r.stdout, "Metadata dir") == "present"
    r = cli("inspect", str(out), "--json")
    assert json.loads(r.stdout) == json.loads((out / "manifest.json").read_text())
    r = cli("validate", str(out), "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["ok"] is True


def test_inspect_shows_every_scheme_field_whatever_the_scheme(cli: Run, tmp_path: Path) -> None:
    from leadforge.bundle.manifest import CORE_KEYS

    out = tmp_path / "b"
    cli("generate", "-r", "toy_v1", "--mode", "student_public", "--out", str(out), "-q", "--no-validate")
    m = json.loads((out / "manifest.json").read_text())
    m["queue_model"] = "priority_then_age"
    m["shard_plan"] = {"shards": 3, "sizes": [100] * 40}
    (out / "manifest.json").write_text(json.dumps(m))
    text = cli("inspect", str(out)).stdout
    scheme_keys = [k for k in m if k not in CORE_KEYS]
    assert scheme_keys == ["n_rows", "threshold", "toy_extra", "queue_model", "shard_plan"]
    assert field(text, "N rows") == "150" and field(text, "Toy extra") == "True"
    assert field(text, "Threshold") == "?", "a hidden field is null in a public bundle"
    assert field(text, "Queue model") == "priority_then_age"
    shown = field(text, "Shard plan")
    assert shown.startswith("{") and shown.endswith("...") and len(shown) == 80


def test_scheme_options_and_override_file(cli: Run, tmp_path: Path) -> None:
    ov = tmp_path / "o.yaml"
    ov.write_text("n_rows: 90\nseed: 11\n")
    out = tmp_path / "b"
    r = cli(
        "generate",
        "-r",
        "toy_v1",
        "--out",
        str(out),
        "--override",
        str(ov),
        "--n-rows",
        "80",
        "-q",
        "--no-validate",
    )
    assert r.exit_code == 0, r.stderr
    m = json.loads((out / "manifest.json").read_text())
    assert (m["n_rows"], m["seed"]) == (80, 11)


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["generate", "-r", "nope", "--out", "X"], 2, "unknown recipe 'nope'; available recipes: toy_v1"),
        (
            ["generate", "-r", "toy_v1", "--mode", "public", "--out", "X"],
            2,
            "'public' is not one of 'student_public', 'research_instructor'",
        ),
        (
            ["generate", "-r", "toy_v1", "--difficulty", "hard", "--out", "X"],
            2,
            "'hard' is not one of 'intro', 'intermediate', 'advanced'",
        ),
        (["generate", "-r", "toy_v1", "--n-rows", "0", "--out", "X"], 2, "n_rows must be >= 1, got 0"),
        (["generate", "-r", "toy_v1", "--n-rows", "-4", "--out", "X"], 2, "n_rows must be >= 1, got -4"),
        (["generate", "-r", "toy_v1", "--seed", "-1", "--out", "X"], 2, "seed must be non-negative"),
        (["generate", "-r", "toy_v1", "--n-rows", "ten", "--out", "X"], 2, "'ten' is not a valid integer"),
        (
            ["generate", "-r", "toy_v1", "--override", "missing.yaml", "--out", "X"],
            2,
            "override file not found: missing.yaml",
        ),
        (["generate", "-r", "toy_v1"], 2, "generate needs --out DIR"),
        (["generate", "--bogus"], 2, "No such option '--bogus'"),
        (["frobnicate"], 2, "No such command 'frobnicate'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    cli: Run, args: list[str], code: int, text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    one_line_error(cli(*args), code, text)
    assert not (tmp_path / "X").exists()


def test_bad_override_contents(cli: Run, tmp_path: Path) -> None:
    ov = tmp_path / "o.yaml"
    ov.write_text("n_rowz: 5\n")
    one_line_error(
        cli("generate", "-r", "toy_v1", "--override", str(ov), "--out", str(tmp_path / "b")),
        2,
        "unknown key 'n_rowz' in the override file; did you mean 'n_rows'?",
    )
    ov.write_text(": : :\n")
    one_line_error(
        cli("generate", "-r", "toy_v1", "--override", str(ov), "--out", str(tmp_path / "b")),
        2,
        "invalid YAML",
    )


def test_out_that_is_a_file(cli: Run, tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    r = cli("generate", "-r", "toy_v1", "--out", str(f))
    one_line_error(r, 2, "exists and is not a directory")
    assert "Generating" not in r.stdout, "--out is checked before the world is simulated"


@dataclass(frozen=True)
class WidgetParams:
    n_widgets: int = param(5, help="widgets", minimum=1)


class WidgetPlugin:
    LEADFORGE_PLUGIN_API = (2, 2)

    @staticmethod
    @hookimpl
    def register_schemes() -> list[SchemeInfo]:
        return [
            SchemeInfo(name="widgets", title="w", version="1", params_type=WidgetParams, narrative_type=None)
        ]

    @staticmethod
    @hookimpl
    def generate_options() -> list[GenerateOption]:
        return options_from_params("widgets", WidgetParams, "n_widgets")


def test_option_of_another_scheme_is_an_error_that_says_so(tmp_path: Path) -> None:
    from click.testing import CliRunner
    from leadforge.cli import main

    set_host(PluginHost.from_plugins([("toy", toyplugin), ("widgets", WidgetPlugin())]))
    try:
        r = CliRunner().invoke(
            main, ["generate", "-r", "toy_v1", "--n-widgets", "3", "--out", str(tmp_path / "b")]
        )
        one_line_error(
            r, 2, "--n-widgets belongs to the widgets scheme, but recipe 'toy_v1' uses the toy scheme"
        )
        r = CliRunner().invoke(main, ["generate", "--help"])
        assert "[widgets] widgets" in r.stdout and "[toy] rows to simulate" in r.stdout
    finally:
        set_host(None)


def test_validate_and_inspect_errors(cli: Run, tmp_path: Path) -> None:
    r = cli("validate", str(tmp_path / "nothing"))
    one_line_error(r, 2, f"path does not exist: {tmp_path / 'nothing'}")
    (tmp_path / "empty").mkdir()
    r = cli("validate", str(tmp_path / "empty"))
    assert r.exit_code == 1 and "FAIL: no manifest.json in" in r.stderr
    out = tmp_path / "b"
    cli("generate", "-r", "toy_v1", "--mode", "research_instructor", "--out", str(out), "-q", "--no-validate")
    (out / "dataset_card.md").write_text("edited")
    r = cli("validate", str(out))
    assert r.exit_code == 1
    assert r.stderr.startswith(f"FAIL: 1 validation error(s) in {out}:")
    assert "dataset_card.md: SHA-256 mismatch" in r.stderr
    one_line_error(cli("inspect", str(tmp_path / "nothing")), 2, "path does not exist")
    one_line_error(
        cli("generate", "--from", str(tmp_path / "nothing"), "--out", str(out)), 2, "path does not exist"
    )
    (out / "manifest.json").write_text("[]")
    one_line_error(cli("inspect", str(out)), 1, "manifest.json in")


def test_plugins_and_list_recipes(cli: Run) -> None:
    r = cli("plugins")
    assert r.exit_code == 0 and "toy" in r.stdout and "ok" in r.stdout
    data = json.loads(cli("plugins", "--json").stdout)
    assert data["schemes"] == ["toy"]
    assert data["plugins"][0]["hooks"] == [
        "build_world",
        "generate_options",
        "register_recipes",
        "register_schemes",
        "validate",
        "write_bundle",
        "write_metadata",
    ]
    recipes = json.loads(cli("list-recipes", "--json").stdout)["recipes"]
    assert (
        recipes[0]["id"] == "toy_v1"
        and recipes[0]["status"] == "available"
        and recipes[0]["tasks"] == ["toy_task"]
    )
    text = cli("list-recipes").stdout
    assert text.splitlines()[0].split() == ["ID", "SCHEME", "TITLE", "TASKS", "MODES", "DIFFICULTY", "STATUS"]


def test_empty_installation_tells_how_to_get_schemes() -> None:
    from click.testing import CliRunner
    from leadforge.cli import main

    set_host(PluginHost.from_plugins([]))
    try:
        r = CliRunner().invoke(main, ["plugins"])
        assert "pip install leadforge-scheme-leadscoring" in r.stdout
        r = CliRunner().invoke(main, ["list-recipes"])
        assert "No recipes found. Install a recipe pack: pip install leadforge-recipes" in r.stdout
        r = CliRunner().invoke(main, ["generate", "-r", "b2b_saas_procurement_v1", "--out", "x"])
        assert r.exit_code == 2 and "none installed (pip install leadforge-recipes)" in r.stderr
    finally:
        set_host(None)


def test_real_process_has_no_traceback_and_version_works(tmp_path: Path) -> None:
    exe = (
        [sys.executable, "-m", "leadforge.cli"] if False else [str(Path(sys.executable).parent / "leadforge")]
    )
    r = subprocess.run([*exe, "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("leadforge ")
    r = subprocess.run([*exe, "validate", str(tmp_path / "missing")], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr, "a path that is not there is a usage error"
    (tmp_path / "empty").mkdir()
    r = subprocess.run([*exe, "validate", str(tmp_path / "empty")], capture_output=True, text=True)
    assert r.returncode == 1 and "Traceback" not in r.stderr, "a folder that is no bundle is a bad bundle"
    r = subprocess.run([*exe], capture_output=True, text=True)
    assert r.returncode == 2 and "Usage:" in r.stderr
