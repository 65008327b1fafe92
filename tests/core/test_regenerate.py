"""``generate --from BUNDLE`` and the card's reproduce command both rebuild a bundle byte for byte."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from core_support import require_first_party

require_first_party()

EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}


def _hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **EPOCH}
    return subprocess.run(
        [sys.executable, "-m", "leadforge", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


CASES = [
    ("b2b_saas_procurement_v1", "student_public", ["--n-leads", "900", "--difficulty", "advanced"]),
    ("b2b_saas_ltv_v1", "research_instructor", ["--n-customers", "300"]),
]


@pytest.mark.parametrize(("recipe", "mode", "flags"), CASES)
def test_from_rebuilds_the_bundle_byte_for_byte(
    tmp_path: Path, recipe: str, mode: str, flags: list[str]
) -> None:
    (tmp_path / "cfg.yaml").write_text("seed: 5\n")
    first = _cli(
        "generate",
        "--recipe",
        recipe,
        "--mode",
        mode,
        "--override",
        "cfg.yaml",
        *flags,
        "--out",
        "a",
        "-q",
        cwd=tmp_path,
    )
    assert first.returncode == 0, first.stderr
    again = _cli("generate", "--from", "a", "--out", "b", "-q", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "warning" not in again.stderr
    assert _hashes(tmp_path / "b") == _hashes(tmp_path / "a")


def test_the_cards_command_lists_every_non_default_option_and_reproduces(tmp_path: Path) -> None:
    """Flags for the sizes given, an override file for a parameter without a flag."""
    (tmp_path / "in.yaml").write_text("shard_accounts: 100\nsnapshot_day: 21\n")
    made = _cli(
        "generate",
        "--recipe",
        "b2b_saas_procurement_v1",
        "--seed",
        "3",
        "--n-leads",
        "1200",
        "--override",
        "in.yaml",
        "--out",
        "a",
        "-q",
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stderr
    card = (tmp_path / "a" / "dataset_card.md").read_text()
    command = re.search(r"^    (leadforge generate .*)$", card, re.MULTILINE)
    assert command is not None
    args = shlex.split(command.group(1))
    assert "--n-leads" in args and "--snapshot-day" in args and "--override" in args
    held = re.search(r"with `cfg.yaml` holding `\{(.*)\}`", card)
    assert held is not None and "shard_accounts: 100" in held.group(1)
    (tmp_path / "cfg.yaml").write_text(held.group(1).replace(", ", "\n") + "\n")
    args[args.index("<dir>")] = "b"
    rerun = _cli(*args[1:], "-q", cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert _hashes(tmp_path / "b") == _hashes(tmp_path / "a")


def test_from_changes_what_a_flag_names_and_warns_on_other_versions(tmp_path: Path) -> None:
    made = _cli(
        "generate",
        "--recipe",
        "b2b_saas_procurement_v1",
        "--n-leads",
        "600",
        "--out",
        "a",
        "-q",
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stderr
    twin = _cli("generate", "--from", "a", "--mode", "research_instructor", "--out", "b", "-q", cwd=tmp_path)
    assert twin.returncode == 0, twin.stderr
    m = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert m["exposure_mode"] == "research_instructor" and m["generation_params"]["n_leads"] == 600
    manifest = tmp_path / "a" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["plugins"][0]["version"] = "0.0.1"
    manifest.write_text(json.dumps(data))
    warned = _cli(
        "generate", "--from", "a", "--out", "c", "--no-validate", cwd=tmp_path
    )  # -q silences warnings
    assert warned.returncode == 0, warned.stderr
    assert "warning: versions differ" in warned.stderr and "0.0.1 ->" in warned.stderr


def test_from_without_recorded_parameters_is_one_line(tmp_path: Path) -> None:
    made = _cli(
        "generate",
        "--recipe",
        "b2b_saas_procurement_v1",
        "--n-leads",
        "300",
        "--out",
        "a",
        "-q",
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stderr
    manifest = tmp_path / "a" / "manifest.json"
    data = json.loads(manifest.read_text())
    del data["generation_params"]
    manifest.write_text(json.dumps(data))
    out = _cli("generate", "--from", "a", "--out", "b", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "records no generation_params" in out.stderr
    both = _cli("generate", "--from", "a", "--recipe", "b2b_saas_procurement_v1", cwd=tmp_path)
    assert both.returncode == 2 and "drop --recipe" in both.stderr
