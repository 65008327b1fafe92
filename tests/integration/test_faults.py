"""Generation killed at any point: the previous bundle is intact or wholly replaced, nothing
else at or beside ``--out`` changes, and the next run succeeds and cleans up.

Real processes, real signals: SIGTERM must clean up like Ctrl-C and print one line; SIGKILL
cannot be caught, so the next run has to repair what it left.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("leadforge_leadscoring")
pytest.importorskip("leadforge_recipes")

LEADFORGE = [sys.executable, "-m", "leadforge"]
ARGS = ["generate", "--recipe", "b2b_saas_procurement_v1", "--mode", "research_instructor", "-q"]
ENV = {**os.environ, "SOURCE_DATE_EPOCH": "1767225600"}


def run(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LEADFORGE, *ARGS, "--out", str(out), *extra], capture_output=True, text=True, env=ENV, timeout=300
    )


def digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def started(out: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*LEADFORGE, *ARGS, "--out", str(out), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )


def wait_for_staging(parent: Path, proc: subprocess.Popen[str], limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        if any(".partial-" in p.name for p in parent.iterdir()):
            return
        time.sleep(0.02)


@pytest.fixture
def old_bundle(tmp_path: Path) -> tuple[Path, str]:
    out = tmp_path / "work" / "bundle"
    out.parent.mkdir()
    (out.parent / "neighbour.txt").write_text("mine")
    r = run(out, "--n-leads", "300", "--seed", "1")
    assert r.returncode == 0, r.stderr
    return out, digest(out)


def test_sigterm_cleans_up_prints_one_line_and_keeps_the_old_bundle(old_bundle: tuple[Path, str]) -> None:
    out, before = old_bundle
    proc = started(out, "--n-leads", "200000", "--seed", "2")
    wait_for_staging(out.parent, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert err.strip().splitlines() == ["Terminated; nothing was written."]
    assert digest(out) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["bundle", "neighbour.txt"]


@pytest.mark.slow
def test_sigkill_at_random_points_never_loses_the_bundle(old_bundle: tuple[Path, str]) -> None:
    out, before = old_bundle
    rng = random.Random(20261201)
    for _ in range(6):
        proc = started(out, "--n-leads", str(rng.choice([300, 3000, 30000])), "--seed", "5")
        time.sleep(rng.uniform(0.0, 4.0))
        proc.kill()
        proc.communicate(timeout=60)
        if digest(out) != before:
            check = subprocess.run(
                [*LEADFORGE, "validate", str(out)], capture_output=True, text=True, env=ENV
            )
            assert check.returncode == 0, check.stderr
            before = digest(out)
        assert (out.parent / "neighbour.txt").read_text() == "mine"
    r = run(out, "--n-leads", "300", "--seed", "6")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == ["bundle", "neighbour.txt"]
