"""Scale benchmark: generate and validate through the CLI from 10k to 10M leads, 1 and 2 workers.

    .venv/bin/python benchmarks/scale.py [--scheme lead_scoring] [--sizes 10000,100000]
        [--customers 10000,100000] [--workers 1,2] [--json scale.json] [--quick]
    .venv/bin/python benchmarks/scale.py --bundle BUNDLE [--bundle ...] [--workers 1]

Every measurement is a fresh ``leadforge generate ... --no-validate -q`` (then ``leadforge
validate``) process writing into a clean temporary folder, timed as a user would see it: wall
seconds, CPU seconds (user + sys of the process and every descendant, Dask workers included) and
the peak RSS of the largest single process in that tree. Driver and Dask workers are separate
processes, so the peak is the maximum ``VmHWM`` over the tree, sampled from ``/proc`` every
0.2 s, combined with ``wait4``'s exact high-water mark of the reaped processes.

The floor ratio is generate wall time over the time pure pyarrow needs to write the same bundle
Parquet files from memory (each file rewritten row group by row group, same codec and row-group
sizes): how far generation is from the cost of the bytes it produces. The speed-up is the 1-worker
wall time over the N-worker one at the same size. Bundles are removed after each size.

``--bundle`` measures only ``leadforge validate`` of bundles already on disk (once per worker
count; nothing generated or removed), so validation can be compared across code changes.

Linux only (``/proc``). The default sizes go up to 10M leads and 3M customers: run them on an idle
machine; ``--quick`` keeps sizes up to 100k leads and 20k customers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

LEADFORGE = str(Path(sys.executable).with_name("leadforge"))
LEAD_RECIPE = "b2b_saas_procurement_v1"
LIFECYCLE_RECIPE = "b2b_saas_ltv_v1"
LEAD_SIZES = (10_000, 100_000, 1_000_000, 3_000_000, 10_000_000)
CUSTOMER_SIZES = (10_000, 100_000, 1_000_000, 3_000_000)
QUICK_MAX = {"lead_scoring": 100_000, "lifecycle": 20_000}
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Measurement:
    """One command's cost; ``error`` is its last stderr line when it exited non-zero."""

    rc: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    tree_rss_mb: float
    processes: int
    error: str = ""


@dataclass(frozen=True)
class Scheme:
    """How a scheme's benchmark sizes map to CLI population flags."""

    name: str
    recipe: str
    size_key: str
    population: Callable[[int], dict[str, int]]


def lead_population(n_leads: int) -> dict[str, int]:
    """The recipe's ratios (100k leads: 30k accounts, 84k contacts), as in ``speed_leadscoring``."""
    return {"n_leads": n_leads, "n_accounts": n_leads * 3 // 10, "n_contacts": n_leads * 84 // 100}


def customer_population(n_customers: int) -> dict[str, int]:
    return {"n_customers": n_customers}


SCHEMES = {
    "lead_scoring": Scheme("lead_scoring", LEAD_RECIPE, "n_leads", lead_population),
    "lifecycle": Scheme("lifecycle", LIFECYCLE_RECIPE, "n_customers", customer_population),
}


# -- measuring a process tree ------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, int, int] | None:
    """``(ppid, start ticks, own CPU ticks)`` of ``pid``; None once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    rest = raw[raw.rindex(b")") + 2 :].split()
    return int(rest[1]), int(rest[19]), int(rest[11]) + int(rest[12])


def _memory_kb(pid: int) -> tuple[int, int]:
    """``(VmHWM, VmRSS)`` in kB; zeros for a process that is gone or a zombie."""
    hwm = rss = 0
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0, 0
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1])
        elif line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    return hwm, rss


class TreeSampler:
    """Peak memory and CPU of a process and all its descendants, from periodic ``/proc`` scans.

    Processes are keyed by (pid, start time) so a reused pid is never merged with a dead one;
    a descendant that outlives its parent stays tracked once it has been seen.
    """

    def __init__(self, root: int) -> None:
        self.root = root
        self.known: set[tuple[int, int]] = set()
        self.cpu_ticks: dict[tuple[int, int], int] = {}
        self.peak_kb = 0
        self.tree_kb = 0

    def _tree(self) -> dict[int, tuple[int, int]]:
        parents: dict[int, list[int]] = {}
        info: dict[int, tuple[int, int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            stat = _stat(int(entry))
            if stat is not None:
                parents.setdefault(stat[0], []).append(int(entry))
                info[int(entry)] = (stat[1], stat[2])
        members: dict[int, tuple[int, int]] = {}
        todo = [self.root]
        while todo:
            pid = todo.pop()
            if pid in info and pid not in members:
                members[pid] = info[pid]
                todo.extend(parents.get(pid, ()))
        for pid, start in list(self.known):
            if pid not in members and info.get(pid, (None,))[0] == start:
                members[pid] = info[pid]
        return members

    def sample(self) -> None:
        total = 0
        for pid, (start, ticks) in self._tree().items():
            key = (pid, start)
            self.known.add(key)
            self.cpu_ticks[key] = max(ticks, self.cpu_ticks.get(key, 0))
            hwm, rss = _memory_kb(pid)
            self.peak_kb = max(self.peak_kb, hwm)
            total += rss
        self.tree_kb = max(self.tree_kb, total)

    @property
    def cpu_s(self) -> float:
        return sum(self.cpu_ticks.values()) / _TICKS


def _kill_group(pgid: int) -> None:
    """SIGKILL the session started for one measured command (its leftovers included)."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def run_measured(
    command: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    interval: float = 0.2,
    timeout: float | None = None,
) -> Measurement:
    """Run ``command`` (stdout discarded) and measure it and its descendants until it exits.

    CPU is the larger of ``wait4``'s figure (the child plus every descendant it reaped) and the
    sampled per-process sum (which also counts descendants never reaped); peak RSS likewise.
    The command runs in its own session, so a timeout, an interrupt or a descendant left behind
    ends the whole tree and nothing outlives the measurement.
    """
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=err, env=env, start_new_session=True
        )
        sampler = TreeSampler(proc.pid)
        timed_out = False
        try:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                sampler.sample()
                if timeout is not None and not timed_out and time.perf_counter() - start > timeout:
                    timed_out = True
                    _kill_group(proc.pid)
                time.sleep(interval)
        except BaseException:
            _kill_group(proc.pid)
            with suppress(ChildProcessError):
                os.wait4(proc.pid, 0)
            raise
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.sample()
        _kill_group(proc.pid)
        err.seek(0)
        lines = err.read().decode(errors="replace").strip().splitlines()
    rc = proc.returncode
    error = ""
    if timed_out:
        error = f"timed out after {timeout:.0f} s"
    elif rc:
        error = lines[-1].strip() if lines else f"exit code {rc}"
    return Measurement(
        rc=rc,
        wall_s=wall,
        cpu_s=max(usage.ru_utime + usage.ru_stime, sampler.cpu_s),
        peak_rss_mb=max(usage.ru_maxrss, sampler.peak_kb) / 1024,
        tree_rss_mb=sampler.tree_kb / 1024,
        processes=len(sampler.known),
        error=error,
    )


# -- the pure-pyarrow floor ----------------------------------------------------------------------


def _parquet_files(bundle: Path) -> Iterator[Path]:
    for path in sorted(bundle.rglob("*.parquet")):
        if path.is_file() and not path.is_symlink():
            yield path


def floor_seconds(bundle: Path, scratch: Path) -> dict[str, float]:
    """Seconds pyarrow spends writing every Parquet file of ``bundle`` again from memory.

    Each file is read one row group at a time (memory stays at one row group) and rewritten with
    the same codec and row-group sizes; only the writes are timed.
    """
    import pyarrow.parquet as pq

    seconds = 0.0
    files = rows = 0
    scratch.mkdir(parents=True, exist_ok=True)
    target = scratch / "floor.parquet"
    for path in _parquet_files(bundle):
        source = pq.ParquetFile(path)
        meta = source.metadata
        codec = meta.row_group(0).column(0).compression.lower() if meta.num_row_groups else "snappy"
        tick = time.perf_counter()
        writer = pq.ParquetWriter(target, source.schema_arrow, compression=codec)
        seconds += time.perf_counter() - tick
        for index in range(meta.num_row_groups):
            group = source.read_row_group(index)
            tick = time.perf_counter()
            writer.write_table(group, row_group_size=max(group.num_rows, 1))
            seconds += time.perf_counter() - tick
            rows += group.num_rows
        tick = time.perf_counter()
        writer.close()
        seconds += time.perf_counter() - tick
        files += 1
        target.unlink()
    return {"floor_s": seconds, "floor_files": files, "floor_rows": rows}


def measure_floor(bundle: Path, scratch: Path) -> dict[str, float]:
    """:func:`floor_seconds` in a fresh interpreter, so its memory never builds up here."""
    out = subprocess.run(
        [sys.executable, __file__, "--floor-of", str(bundle), "--floor-scratch", str(scratch)],
        capture_output=True,
        text=True,
    )
    if out.returncode:
        lines = out.stderr.strip().splitlines()
        raise RuntimeError(lines[-1] if lines else f"floor exit code {out.returncode}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# -- the sweep --------------------------------------------------------------------------------------


def cli_flags(leadforge: str, command: str) -> str:
    """``leadforge <command> --help`` text ("" if it fails), to detect optional flags."""
    out = subprocess.run([leadforge, command, "--help"], capture_output=True, text=True)
    return out.stdout if out.returncode == 0 else ""


def population_flags(population: dict[str, int]) -> list[str]:
    return [part for key, value in population.items() for part in (f"--{key.replace('_', '-')}", str(value))]


def bench_env() -> dict[str, str]:
    """The caller's environment with a pinned timestamp, so every run writes the same bytes."""
    return {**os.environ, "SOURCE_DATE_EPOCH": "0"}


@dataclass(frozen=True)
class Row:
    """One (scheme, size, workers) measurement, as printed and as written to JSON."""

    scheme: str
    size_key: str
    size: int
    workers: int
    gen: Measurement
    val: Measurement | None
    val_workers: int | None
    bundle_mb: float | None
    floor_s: float | None
    floor_error: str
    gen_speedup: float | None
    val_speedup: float | None
    load_before: tuple[float, float, float]

    @property
    def floor_ratio(self) -> float | None:
        if self.gen.rc or not self.floor_s:
            return None
        return self.gen.wall_s / self.floor_s

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "floor_ratio": self.floor_ratio}


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 2**20


@dataclass(frozen=True)
class Plan:
    """What every measurement of one run shares."""

    leadforge: str
    tmp: Path
    seed: int = 42
    validate: bool = True
    floor: bool = True
    val_has_workers: bool = False
    interval: float = 0.2
    timeout: float | None = None

    def run(self, command: Sequence[str]) -> Measurement:
        return run_measured(command, env=bench_env(), interval=self.interval, timeout=self.timeout)


def measure_size(
    scheme: Scheme, size: int, workers: Sequence[int], plan: Plan, report: Callable[[Row], None]
) -> list[Row]:
    """Generate (and validate) one size once per worker count; the floor from the first bundle."""
    rows: list[Row] = []
    floor_s: float | None = None
    floor_error = ""
    for count in workers:
        load = os.getloadavg()
        out = plan.tmp / f"{scheme.name}-{size}-w{count}"
        shutil.rmtree(out, ignore_errors=True)
        command = [plan.leadforge, "generate", "--recipe", scheme.recipe, "--seed", str(plan.seed)]
        command += ["--mode", "research_instructor", *population_flags(scheme.population(size))]
        command += ["--out", str(out), "--no-validate", "-q"]
        if count != 1:
            command += ["--workers", str(count)]
        gen = plan.run(command)
        val = val_workers = bundle_mb = None
        if gen.rc == 0:
            bundle_mb = folder_mb(out)
            if plan.validate and (count == 1 or plan.val_has_workers):
                val_workers = count
                check = [plan.leadforge, "validate", str(out)]
                if count != 1:
                    check += ["--workers", str(count)]
                val = plan.run(check)
            if plan.floor and floor_s is None and not floor_error:
                try:
                    floor_s = measure_floor(out, plan.tmp / "floor-scratch")["floor_s"]
                except (RuntimeError, ValueError) as exc:
                    floor_error = str(exc)
        shutil.rmtree(out, ignore_errors=True)
        base = rows[0] if rows and rows[0].workers == 1 and count != 1 else None
        row = Row(
            scheme=scheme.name,
            size_key=scheme.size_key,
            size=size,
            workers=count,
            gen=gen,
            val=val,
            val_workers=val_workers,
            bundle_mb=bundle_mb,
            floor_s=floor_s,
            floor_error=floor_error,
            gen_speedup=None if base is None else _ratio(base.gen, gen),
            val_speedup=None if base is None else _ratio(base.val, val),
            load_before=load,
        )
        rows.append(row)
        report(row)
    return rows


def _ratio(base: Measurement | None, other: Measurement | None) -> float | None:
    if base is None or other is None or base.rc or other.rc or other.wall_s <= 0:
        return None
    return base.wall_s / other.wall_s


@dataclass(frozen=True)
class BundleRow:
    """``leadforge validate`` of an existing bundle (``--bundle``): its size from the manifest."""

    bundle: str
    scheme: str
    rows: dict[str, int]
    workers: int
    val: Measurement
    load_before: tuple[float, float, float]


def manifest_rows(bundle: Path) -> tuple[str, dict[str, int]]:
    """The bundle's scheme and each table's row count, from its manifest ("?" and {} if unreadable)."""
    try:
        raw = json.loads((bundle / "manifest.json").read_text())
        tables = raw.get("tables", {})
        return str(raw.get("generation_scheme", "?")), {k: int(v["row_count"]) for k, v in tables.items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return "?", {}


def measure_bundle(bundle: Path, workers: int, plan: Plan) -> BundleRow:
    """Validate an existing bundle, so one generated bundle can be validated again and again."""
    load = os.getloadavg()
    command = [plan.leadforge, "validate", str(bundle)]
    if workers != 1:
        command += ["--workers", str(workers)]
    scheme, rows = manifest_rows(bundle)
    return BundleRow(str(bundle), scheme, rows, workers, plan.run(command), load)


BUNDLE_HEADER = "| bundle | scheme | entities | workers | val wall s | val CPU s | val peak RSS MB |"


def bundle_line(row: BundleRow) -> str:
    entities = next((row.rows[k] for k in ("leads", "customers") if k in row.rows), None)
    cells = [row.bundle, row.scheme, "?" if entities is None else f"{entities:,}", str(row.workers)]
    return "| " + " | ".join(cells + _cells(row.val)) + " |"


# -- output -----------------------------------------------------------------------------------------

HEADER = (
    "| scheme | size | workers | gen wall s | gen CPU s | gen peak RSS MB | val wall s | val CPU s "
    "| val peak RSS MB | floor ratio | gen speed-up | val speed-up |"
)


def _num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _cells(m: Measurement | None) -> list[str]:
    if m is None:
        return ["—", "—", "—"]
    if m.rc:
        return ["failed", "—", "—"]
    return [_num(m.wall_s), _num(m.cpu_s), _num(m.peak_rss_mb, 0)]


def table_line(row: Row) -> str:
    cells = [row.scheme, f"{row.size:,} {row.size_key.removeprefix('n_')}", str(row.workers)]
    cells += _cells(row.gen) + _cells(row.val)
    cells += [_num(row.floor_ratio), _num(row.gen_speedup, 2), _num(row.val_speedup, 2)]
    return "| " + " | ".join(cells) + " |"


def machine(leadforge: str) -> dict[str, Any]:
    version = subprocess.run([leadforge, "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "leadforge": version,
        "loadavg_start": os.getloadavg(),
    }


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive integers, got {text!r}")
    return sizes


def _arguments() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--scheme", action="append", choices=sorted(SCHEMES), help="default: both")
    ap.add_argument("--sizes", type=parse_sizes, default=list(LEAD_SIZES), help="lead counts")
    ap.add_argument("--customers", type=parse_sizes, default=list(CUSTOMER_SIZES), help="customer counts")
    ap.add_argument("--workers", type=parse_sizes, default=[1, 2], help="worker counts, e.g. 1,2")
    ap.add_argument("--quick", action="store_true", help="only sizes up to 100k leads / 20k customers")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--no-validate", dest="validate", action="store_false", help="skip `leadforge validate`")
    ap.add_argument("--no-floor", dest="floor", action="store_false", help="skip the pyarrow floor")
    ap.add_argument("--json", type=Path, help="write the results here (rewritten after every row)")
    ap.add_argument("--tmp", type=Path, help="folder for the bundles (default: the system temp folder)")
    ap.add_argument("--leadforge", default=LEADFORGE, help="the leadforge executable to measure")
    ap.add_argument("--interval", type=float, default=0.2, help="/proc sampling period, seconds")
    ap.add_argument("--timeout", type=float, help="kill a command after this many seconds (default: none)")
    ap.add_argument(
        "--bundle",
        type=Path,
        action="append",
        help="only validate this existing bundle (repeatable; generates nothing, removes nothing)",
    )
    ap.add_argument("--floor-of", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--floor-scratch", type=Path, help=argparse.SUPPRESS)
    return ap


def main() -> None:
    args = _arguments().parse_args()
    if args.floor_of is not None:
        print(json.dumps(floor_seconds(args.floor_of, args.floor_scratch or args.floor_of.parent)))
        return
    if not Path("/proc/self/stat").exists():
        raise SystemExit("scale.py needs Linux /proc to measure process trees")
    notes: list[str] = []
    workers = sorted(set(args.workers))
    if any(w != 1 for w in workers) and "--workers" not in cli_flags(args.leadforge, "generate"):
        notes.append("`leadforge generate` has no --workers flag: multi-worker rows skipped")
        workers = [1]
    val_has_workers = "--workers" in cli_flags(args.leadforge, "validate")
    if args.validate and any(w != 1 for w in workers) and not val_has_workers:
        notes.append("`leadforge validate` has no --workers flag: validation measured at 1 worker only")
    host = machine(args.leadforge)
    plan = Plan(
        leadforge=args.leadforge,
        tmp=Path(tempfile.mkdtemp(prefix="leadforge-scale-", dir=args.tmp)),
        seed=args.seed,
        validate=args.validate,
        floor=args.floor,
        val_has_workers=val_has_workers,
        interval=args.interval,
        timeout=args.timeout,
    )
    result: dict[str, Any] = {
        "benchmark": "scale",
        "machine": host,
        "config": {**asdict(plan), "tmp": str(plan.tmp), "workers": workers},
        "notes": notes,
        "rows": [],
    }

    def save() -> None:
        if args.json is not None:
            args.json.write_text(json.dumps(result, indent=2) + "\n")

    def note(text: str) -> None:
        print(f"note: {text}", flush=True)
        notes.append(text)
        save()

    def report(row: Row) -> None:
        print(table_line(row), flush=True)
        for label, m in (("generate", row.gen), ("validate", row.val)):
            if m is not None and m.rc:
                print(f"  {label} failed: {m.error}", flush=True)
        if row.floor_error:
            print(f"  floor failed: {row.floor_error}", flush=True)
        result["rows"].append(row.as_json())
        save()

    print(f"cpu count {os.cpu_count()}, load {os.getloadavg()[0]:.1f}, {result['machine']['leadforge']}")
    if args.bundle:
        shutil.rmtree(plan.tmp, ignore_errors=True)
        print(f"\n{BUNDLE_HEADER}\n|" + "---|" * BUNDLE_HEADER.count(" | ") + "---|", flush=True)
        for bundle in args.bundle:
            for count in workers:
                row = measure_bundle(bundle, count, plan)
                print(bundle_line(row), flush=True)
                if row.val.rc:
                    print(f"  validate failed: {row.val.error}", flush=True)
                result["rows"].append(asdict(row))
                save()
        return
    for text in notes:
        print(f"note: {text}")
    print(f"\n{HEADER}\n|" + "---|" * HEADER.count(" | ") + "---|", flush=True)
    sizes = {"lead_scoring": args.sizes, "lifecycle": args.customers}
    try:
        for name in args.scheme or list(SCHEMES):
            chosen = [n for n in sizes[name] if not args.quick or n <= QUICK_MAX[name]]
            for size in chosen:
                rows = measure_size(SCHEMES[name], size, workers, plan, report)
                if all(row.gen.rc for row in rows):
                    bigger = [n for n in chosen if n > size]
                    if bigger:
                        note(f"{name}: every generate failed at {size:,}; skipped {bigger}")
                    break
    finally:
        shutil.rmtree(plan.tmp, ignore_errors=True)
    save()


if __name__ == "__main__":
    main()
