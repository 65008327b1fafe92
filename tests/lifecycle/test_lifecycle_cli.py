"""The recipe from the command line: generate + validate in both modes, reruns, bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from leadforge.cli import main
from lifecycle_support import CALENDAR_TASKS, EARLY_TASKS, RECIPE, manifest, tree_hashes

LEADFORGE = str(Path(sys.executable).with_name("leadforge"))
SMALL = ("--n-customers", "300", "--seed", "11")
EPOCH = {"SOURCE_DATE_EPOCH": "1767225600"}


class Run:
    """Outcome of one CLI invocation."""

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run(*args: str) -> Run:
    """The CLI in-process (plugins, config resolution, generate and validate all run for real)."""
    result = CliRunner().invoke(main, list(args), env=EPOCH, catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


def test_installed_cli_end_to_end(tmp_path: Path) -> None:
    """The installed ``leadforge`` executable, in a fresh process: generate, then validate."""
    out = tmp_path / "b"
    env = {**os.environ, **EPOCH}
    gen = [LEADFORGE, "generate", "--recipe", RECIPE, "--mode", "student_public", "--out", str(out), "-q"]
    done = subprocess.run(
        [*gen, "--n-customers", "120"], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    check = subprocess.run(
        [LEADFORGE, "validate", str(out)], capture_output=True, text=True, env=env, check=False
    )
    assert check.returncode == 0 and "passed all checks" in check.stdout, check.stderr


@pytest.fixture(scope="module")
def cli_bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    out = {}
    for mode in ("research_instructor", "student_public"):
        path = root / mode
        done = run("generate", "--recipe", RECIPE, "--mode", mode, "--out", str(path), *SMALL)
        assert done.returncode == 0, done.stderr
        assert "passed all checks" in done.stdout
        out[mode] = path
    return out


@pytest.mark.parametrize("mode", ["research_instructor", "student_public"])
def test_generate_then_validate(cli_bundles: dict[str, Path], mode: str) -> None:
    path = cli_bundles[mode]
    done = run("validate", str(path))
    assert done.returncode == 0, done.stderr
    m = manifest(path)
    assert m["generation_scheme"] == "lifecycle"
    assert m["n_customers"] == 300
    expected = CALENDAR_TASKS if mode == "student_public" else (*CALENDAR_TASKS, *EARLY_TASKS)
    assert list(m["tasks"]) == list(expected)
    assert (path / "metadata").exists() == (mode == "research_instructor")


@pytest.mark.parametrize("mode", ["research_instructor", "student_public"])
def test_rerun_is_byte_identical(cli_bundles: dict[str, Path], tmp_path: Path, mode: str) -> None:
    """With SOURCE_DATE_EPOCH set, a second run gives the same bytes in every file."""
    again = tmp_path / "again"
    done = run("generate", "--recipe", RECIPE, "--mode", mode, "--out", str(again), "-q", *SMALL)
    assert done.returncode == 0, done.stderr
    assert tree_hashes(again) == tree_hashes(cli_bundles[mode])


def test_scheme_flags_reach_the_config(tmp_path: Path) -> None:
    out = tmp_path / "b"
    done = run(
        "generate", "--recipe", RECIPE, "--mode", "student_public", "--out", str(out), "-q", "--no-validate",
        "--n-customers", "60", "--observation-date", "2025-06-30", "--early-tenure-weeks", "6",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    m = manifest(out)
    assert (m["n_customers"], m["observation_date"], m["early_tenure_weeks"]) == (60, "2025-06-30", 6)
    assert m["forward_windows_days"] == [90, 365, 730]
    for key in ("n_leads", "n_contacts", "n_accounts", "primary_task", "snapshot_day"):
        assert key not in m  # no lead-scoring fields in a lifecycle manifest


@pytest.mark.parametrize(
    ("flags", "key"),
    [
        (("--observation-date", "2025-02-30"), "observation_date"),
        (("--observation-date", "yesterday"), "observation_date"),
        (("--early-tenure-weeks", "0"), "early_tenure_weeks"),
        (("--n-customers", "0"), "n_customers"),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, flags: tuple[str, str], key: str) -> None:
    out = tmp_path / "b"
    done = run("generate", "--recipe", RECIPE, "--out", str(out), *flags)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and key in lines[0] and "Traceback" not in done.stderr
    assert not out.exists()
