"""``leadforge completion SHELL`` and the candidates click's completion machinery offers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from leadforge.cli import SHELLS, main
from leadforge.enums import Difficulty, ExposureMode
from leadforge.plugins import PluginHost, set_host

EXE = str(Path(sys.executable).parent / "leadforge")


def candidates(host: PluginHost, line: str) -> list[str]:
    """What bash completion offers for ``line`` (the word under the cursor is its last one)."""
    words = line.split(" ")
    set_host(host)
    try:
        r = CliRunner().invoke(
            main,
            [],
            prog_name="leadforge",
            env={
                "_LEADFORGE_COMPLETE": "bash_complete",
                "COMP_WORDS": line,
                "COMP_CWORD": str(len(words) - 1),
            },
        )
    finally:
        set_host(None)
    assert r.exit_code == 0, r.output
    return [item.split(",", 1)[1] for item in r.stdout.splitlines() if item]


@pytest.mark.parametrize("shell", SHELLS)
def test_each_shell_gets_a_script_wired_to_the_completion_variable(shell: str) -> None:
    r = CliRunner().invoke(main, ["completion", shell])
    assert r.exit_code == 0, r.stderr
    assert "_LEADFORGE_COMPLETE" in r.stdout and f"{shell}_complete" in r.stdout
    assert "leadforge" in r.stdout


def test_an_unknown_shell_is_a_usage_error() -> None:
    r = CliRunner().invoke(main, ["completion", "tcsh"])
    assert r.exit_code == 2 and "'tcsh' is not one of 'bash', 'zsh', 'fish'" in r.stderr


def test_commands_complete(toy_host: PluginHost) -> None:
    assert candidates(toy_host, "leadforge ") == sorted(candidates(toy_host, "leadforge "))
    assert {"generate", "validate", "inspect", "completion"} <= set(candidates(toy_host, "leadforge "))
    assert candidates(toy_host, "leadforge li") == ["list-recipes"]


def test_recipe_ids_modes_and_difficulties_complete(toy_host: PluginHost) -> None:
    assert candidates(toy_host, "leadforge generate --recipe ") == sorted(toy_host.recipes)
    assert candidates(toy_host, "leadforge generate -r to") == ["toy_v1"]
    assert candidates(toy_host, "leadforge generate -r x") == []
    assert candidates(toy_host, "leadforge generate --mode ") == [m.value for m in ExposureMode]
    assert candidates(toy_host, "leadforge generate --mode s") == ["student_public"]
    assert candidates(toy_host, "leadforge generate --difficulty ") == [d.value for d in Difficulty]
    assert "--n-rows" in candidates(toy_host, "leadforge generate --n"), "scheme flags complete too"


def test_scheme_names_and_shells_complete(toy_host: PluginHost) -> None:
    assert candidates(toy_host, "leadforge list-recipes --scheme ") == sorted(toy_host.schemes)
    assert candidates(toy_host, "leadforge completion ") == list(SHELLS)


def test_a_real_shell_session_gets_the_installed_recipes() -> None:
    pytest.importorskip("leadforge_recipes")
    proc = subprocess.run(
        [EXE],
        env={
            "_LEADFORGE_COMPLETE": "bash_complete",
            "COMP_WORDS": "leadforge generate --recipe b2b",
            "COMP_CWORD": "3",
            "PATH": str(Path(EXE).parent),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    offered = [line.split(",", 1)[1] for line in proc.stdout.splitlines()]
    assert offered and all(rid.startswith("b2b") for rid in offered)
    assert "b2b_saas_procurement_v1" in offered
