"""Wall time and peak RSS of one command, run as the only child of a fresh interpreter.

Shared by the speed scripts: start-up and imports are part of what a user waits for, so each
measurement is a whole ``leadforge`` process. Peak RSS is ``getrusage(RUSAGE_CHILDREN)`` of a
one-child wrapper, so it is exactly that process's high-water mark.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

LEADFORGE = str(Path(sys.executable).with_name("leadforge"))

_WRAPPER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
wall = time.perf_counter() - start
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": done.returncode, "wall_s": wall, "peak_rss_mb": peak_kb / 1024}))
"""


def measure(command: list[str]) -> dict[str, float]:
    """``{"wall_s", "peak_rss_mb"}`` of ``command``; exits if the command fails."""
    out = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *command], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        raise SystemExit(f"command failed: {' '.join(command)}")
    return result


def folder_mb(path: Path) -> float:
    """Total size of the files below ``path`` in MiB."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def time_generate(
    recipe: str, params: dict[str, int], out: Path, validate: bool, seed: int = 42
) -> dict[str, float]:
    """Time ``leadforge generate`` of a research_instructor bundle (and ``validate`` if asked)."""
    flags = [part for key, value in params.items() for part in (f"--{key.replace('_', '-')}", str(value))]
    command = [
        LEADFORGE,
        "generate",
        "--recipe",
        recipe,
        "--seed",
        str(seed),
        "--mode",
        "research_instructor",
    ]
    gen = measure([*command, *flags, "--out", str(out), "--no-validate", "-q"])
    row = {"wall_s": gen["wall_s"], "peak_rss_mb": gen["peak_rss_mb"], "bundle_mb": folder_mb(out)}
    if validate:
        val = measure([LEADFORGE, "validate", str(out)])
        row["validate_wall_s"] = val["wall_s"]
        row["validate_peak_rss_mb"] = val["peak_rss_mb"]
    return row


def format_row(label: str, row: dict[str, float]) -> str:
    text = (
        f"{label}  wall={row['wall_s']:6.1f} s  peak_rss={row['peak_rss_mb']:7.0f} MB  "
        f"bundle={row['bundle_mb']:6.1f} MB"
    )
    if "validate_wall_s" in row:
        text += f"  validate={row['validate_wall_s']:5.1f} s / {row['validate_peak_rss_mb']:.0f} MB"
    return text


def speed_main(
    doc: str,
    recipe: str,
    size_key: str,
    sizes: Sequence[int],
    population: Callable[[int], dict[str, int]],
    quick_max: int,
) -> list[dict[str, float]]:
    """The command line of a speed script: one fresh bundle per size, a line per size."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=list(sizes))
    ap.add_argument("--validate", action="store_true", help="also time `leadforge validate` on each bundle")
    ap.add_argument("--quick", action="store_true", help=f"only sizes up to {quick_max:,}")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    chosen = [n for n in args.sizes if n <= quick_max] if args.quick else args.sizes
    os.environ["SOURCE_DATE_EPOCH"] = "0"
    print(f"cpu count: {os.cpu_count()}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in chosen:
            row = {
                size_key: n,
                **time_generate(recipe, population(n), Path(tmp) / f"b{n}", args.validate, args.seed),
            }
            rows.append(row)
            print(format_row(f"{size_key}={n:>9}", row), flush=True)
    return rows
