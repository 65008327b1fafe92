"""The scheme through the command line: generate + validate in both modes, and bad input."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from leadforge.cli import main

SAMPLE = ["--n-accounts", "90", "--n-contacts", "250", "--n-leads", "300"]


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


@pytest.mark.parametrize("mode", ["student_public", "research_instructor"])
def test_generate_then_validate(tmp_path: Path, mode: str) -> None:
    out = tmp_path / "b"
    code, text = run(
        "generate",
        "--recipe",
        "b2b_saas_procurement_v1",
        "--seed",
        "42",
        "--mode",
        mode,
        "--out",
        str(out),
        "-q",
        *SAMPLE,
    )
    assert code == 0, text
    code, text = run("validate", str(out))
    assert code == 0 and "OK" in text, text
    assert (out / "metadata").is_dir() == (mode == "research_instructor")
    tables = sorted(p.stem for p in (out / "tables").glob("*.parquet"))
    assert len(tables) == (7 if mode == "student_public" else 9)


def test_cli_bundles_are_byte_identical_with_a_pinned_epoch(tmp_path: Path) -> None:
    digests = []
    for name in ("a", "b"):
        out = tmp_path / name
        code, text = run(
            "generate",
            "--recipe",
            "b2b_saas_procurement_v1",
            "--seed",
            "3",
            "--out",
            str(out),
            "-q",
            "--no-validate",
            *SAMPLE,
            env={"SOURCE_DATE_EPOCH": "0"},
        )
        assert code == 0, text
        digests.append(
            {
                p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in out.rglob("*")
                if p.is_file()
            }
        )
    assert digests[0] == digests[1]


def test_scheme_flags_reach_the_config(tmp_path: Path) -> None:
    out = tmp_path / "b"
    code, text = run(
        "generate",
        "--recipe",
        "b2b_saas_procurement_v1",
        "--seed",
        "1",
        "--out",
        str(out),
        "-q",
        *SAMPLE,
        "--horizon-days",
        "60",
        "--label-window-days",
        "45",
        "--snapshot-day",
        "10",
        "--primary-task",
        "won_45d",
    )
    assert code == 0, text
    import json

    m = json.loads((out / "manifest.json").read_text())
    assert (m["horizon_days"], m["label_window_days"], m["snapshot_day"], m["primary_task"]) == (
        60,
        45,
        10,
        "won_45d",
    )
    assert list(m)[8:16] == [
        "n_accounts",
        "n_contacts",
        "n_leads",
        "horizon_days",
        "primary_task",
        "label_window_days",
        "snapshot_day",
        "shard_accounts",
    ]
    assert m["motif_family"] is None


@pytest.mark.parametrize(
    ("args", "override", "needle"),
    [
        (["--mode", "student_public"], "snapshot_day: null\n", "snapshot_day"),
        (["--label-window-days", "120"], None, "label_window_days"),
        (["--snapshot-day", "80", "--label-window-days", "60"], None, "snapshot_day"),
        (["--primary-task", "bad task"], None, "primary_task"),
        (["--n-leads", "0"], None, "n_leads"),
    ],
)
def test_bad_config_is_one_line_and_exit_2(
    tmp_path: Path, args: list[str], override: str | None, needle: str
) -> None:
    extra = []
    if override is not None:
        f = tmp_path / "override.yaml"
        f.write_text(override)
        extra = ["--override", str(f)]
    code, text = run(
        "generate", "--recipe", "b2b_saas_procurement_v1", "--out", str(tmp_path / "x"), *args, *extra
    )
    assert code == 2, text
    errors = [line for line in text.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and needle in errors[0], text
    assert "Traceback" not in text
    assert not (tmp_path / "x").exists()
