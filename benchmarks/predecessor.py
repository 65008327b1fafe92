"""Side by side with the predecessor: leadforge 1.0.0 from PyPI against this repo, same sizes.

    .venv/bin/python benchmarks/predecessor.py [--sizes 20000,100000] [--json predecessor.json]

Installs ``leadforge==1.0.0`` into its own venv under ``.bench/predecessor-venv`` (``python -m
venv`` + pip, reused when it is already there), then times ``leadforge generate`` of a
research_instructor lead-scoring bundle and ``leadforge validate`` of it with each version, every
command a fresh process in a clean temporary folder, measured as in ``scale.py`` (wall, CPU of
the process tree, peak RSS of its largest process). The predecessor has no ``--no-validate`` or
``-q``: its generate never validates. If it cannot be installed the reason is printed and only
this repo is measured.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from scale import (
    LEAD_RECIPE,
    LEADFORGE,
    Measurement,
    bench_env,
    folder_mb,
    lead_population,
    parse_sizes,
    population_flags,
    run_measured,
)

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".bench" / "predecessor-venv"
VERSION = "1.0.0"


class Unavailable(Exception):
    """The predecessor could not be installed; the message says why in one line."""


def _last_line(text: str, fallback: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else fallback


def ensure_predecessor(venv: Path = VENV) -> str:
    """Path of the predecessor's ``leadforge`` executable, installing it first if needed."""
    exe = venv / "bin" / "leadforge"
    if exe.exists() and VERSION in _version(str(exe)):
        return str(exe)
    venv.parent.mkdir(parents=True, exist_ok=True)
    made = subprocess.run(
        [sys.executable, "-m", "venv", "--clear", str(venv)], capture_output=True, text=True
    )
    if made.returncode:
        raise Unavailable(f"python -m venv failed: {_last_line(made.stderr, 'no output')}")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    done = subprocess.run([*pip, f"leadforge=={VERSION}"], capture_output=True, text=True)
    if done.returncode:
        raise Unavailable(f"pip install leadforge=={VERSION} failed: {_last_line(done.stderr, 'no output')}")
    found = _version(str(exe))
    if VERSION not in found:
        raise Unavailable(f"installed leadforge reports {found or 'nothing'!r}, expected {VERSION}")
    return str(exe)


def _version(exe: str) -> str:
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip()


@dataclass(frozen=True)
class SideRow:
    """One version's generate + validate at one size."""

    version: str
    n_leads: int
    gen: Measurement
    val: Measurement | None
    bundle_mb: float | None


def measure_version(
    version: str,
    leadforge: str,
    n_leads: int,
    tmp: Path,
    seed: int,
    extra: Sequence[str],
    timeout: float | None = None,
) -> SideRow:
    out = tmp / f"{version}-{n_leads}"
    shutil.rmtree(out, ignore_errors=True)
    command = [leadforge, "generate", "--recipe", LEAD_RECIPE, "--seed", str(seed)]
    command += ["--mode", "research_instructor", *population_flags(lead_population(n_leads))]
    gen = run_measured([*command, "--out", str(out), *extra], env=bench_env(), timeout=timeout)
    val = bundle_mb = None
    if gen.rc == 0:
        bundle_mb = folder_mb(out)
        val = run_measured([leadforge, "validate", str(out)], env=bench_env(), timeout=timeout)
    shutil.rmtree(out, ignore_errors=True)
    return SideRow(version, n_leads, gen, val, bundle_mb)


HEADER = (
    "| version | leads | gen wall s | gen CPU s | gen peak RSS MB | val wall s | val CPU s "
    "| val peak RSS MB | bundle MB | gen wall 1.0.0 / ours |"
)


def _cells(m: Measurement | None) -> list[str]:
    if m is None:
        return ["—"] * 3
    if m.rc:
        return ["failed", "—", "—"]
    return [f"{m.wall_s:,.1f}", f"{m.cpu_s:,.1f}", f"{m.peak_rss_mb:,.0f}"]


def table_line(row: SideRow, ratio: float | None) -> str:
    cells = [row.version, f"{row.n_leads:,}", *_cells(row.gen), *_cells(row.val)]
    cells += ["—" if row.bundle_mb is None else f"{row.bundle_mb:,.1f}"]
    cells += ["—" if ratio is None else f"{ratio:.1f}"]
    return "| " + " | ".join(cells) + " |"


def compare(
    sizes: Sequence[int], *, leadforge: str, tmp: Path, seed: int = 42, timeout: float | None = None
) -> dict[str, Any]:
    """Print the side-by-side table and return it as JSON-ready data."""
    print(f"\n## predecessor: leadforge {VERSION} vs this repo\n", flush=True)
    result: dict[str, Any] = {"version": VERSION, "venv": str(VENV), "rows": [], "unavailable": None}
    try:
        old: str | None = ensure_predecessor()
    except Unavailable as exc:
        print(f"predecessor skipped: {exc}", flush=True)
        result["unavailable"] = str(exc)
        old = None
    print(f"{HEADER}\n|" + "---|" * (HEADER.count(" | ") + 1), flush=True)
    for n in sizes:
        ours = measure_version("ours", leadforge, n, tmp, seed, ["--no-validate", "-q"], timeout)
        rows: list[tuple[SideRow, float | None]] = [(ours, None)]
        if old is not None:
            theirs = measure_version(VERSION, old, n, tmp, seed, [], timeout)
            ok = theirs.gen.rc == 0 and ours.gen.rc == 0
            rows.append((theirs, theirs.gen.wall_s / ours.gen.wall_s if ok else None))
        for row, ratio in rows:
            print(table_line(row, ratio), flush=True)
            for label, m in (("generate", row.gen), ("validate", row.val)):
                if m is not None and m.rc:
                    print(f"  {row.version} {label} failed: {m.error}", flush=True)
            result["rows"].append({**asdict(row), "gen_wall_ratio": ratio})
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--sizes", type=parse_sizes, default=[20_000, 100_000], help="lead counts")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--leadforge", default=LEADFORGE, help="this repo's leadforge executable")
    ap.add_argument("--tmp", type=Path, help="folder for the bundles (default: the system temp folder)")
    ap.add_argument("--timeout", type=float, help="kill a command after this many seconds (default: none)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="leadforge-predecessor-", dir=args.tmp))
    try:
        result = compare(args.sizes, leadforge=args.leadforge, tmp=tmp, seed=args.seed, timeout=args.timeout)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
