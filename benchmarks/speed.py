"""Wall time and peak RSS of bundle generation, per scheme (each size in a fresh process).

    uv run python benchmarks/speed.py [--scheme lead_scoring|lifecycle] [--quick]

Runs ``speed_leadscoring.py`` and ``speed_lifecycle.py``, which print their own tables.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
SCRIPTS = {"lead_scoring": "speed_leadscoring.py", "lifecycle": "speed_lifecycle.py"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheme", choices=sorted(SCRIPTS), action="append")
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="arguments passed to each script")
    args = parser.parse_args()
    for scheme, script in SCRIPTS.items():
        if args.scheme and scheme not in args.scheme:
            continue
        print(f"## {scheme}\n", flush=True)
        subprocess.run([sys.executable, str(HERE / script), *args.extra], check=True)
        print(flush=True)


if __name__ == "__main__":
    main()
