"""Checking a bundle against its relational contract, for every scheme alike.

Keys unique and well formed, foreign keys resolving, dtypes exactly as declared, child rows not
before their parent, and — in public bundles — no row after its cutoff. Every table is read a
row group at a time, a few columns at once, and turned straight into integers (the number after
``<prefix>_``, days since 1970), so the check never holds a table's strings. The work is split
per file (a table's parts in a multi-shard bundle) into module-level jobs that any
:class:`~leadforge.engine.Engine` can run, and their partial results are merged in part order,
so the findings do not depend on where the jobs ran:

1. per part, a table's key numbers: count, malformed ones, range and whether they rise
   strictly. Then uniqueness across parts is a range comparison, and a table that others
   reference is held as its parts' ranges (:class:`ParentIndex`), nothing per entity;
2. per part of a referencing table, references resolved in the parent part whose range holds
   them — that part's keys and the days its children compare with read on demand and cached up
   to a budget (:class:`PartCache`) — with the counts of dangling, early and late rows.

So the check's memory is a few parts' worth whatever the bundle's size. Only a table whose
parts do not rise (hand-made or damaged) costs more: its duplicates are counted in a bitmap
(:class:`~leadforge.bundle.checks_keys.IdSet`) and, when referenced, its sorted key numbers are
held with their days.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from leadforge.bundle.checks_keys import IdSet, id_limit
from leadforge.bundle.contract import RelationalContract, TableContract
from leadforge.bundle.projection import NULL_INSTANT, US_PER_DAY, day_numbers, instants
from leadforge.bundle.reader import BATCH_ROWS, BundleView, confined, reading
from leadforge.columns import id_numbers_fast
from leadforge.engine import LOCAL
from leadforge.findings import Finding

if TYPE_CHECKING:
    from leadforge.engine import Engine
    from leadforge.progress import Progress

T = TypeVar("T")
R = TypeVar("R")

_CHECK = "relational"
_EPOCH = dt.date(1970, 1, 1)
_UNKNOWN_DAY = np.iinfo(np.int32).max
_EMPTY = np.zeros(0, dtype=np.int64)
_EMPTY32 = np.zeros(0, dtype=np.int32)
#: Parent parts one reference job may hold at once (a default shard's part is a few hundred kB).
PART_CACHE_BYTES = 32 * 1024 * 1024


def _times(values: pa.Array, instant: bool) -> np.ndarray:
    """A time column as integers: microseconds (``instant``: a timestamp column) or days;
    nulls become the unit's unknown value."""
    if instant:
        return instants(values)
    return day_numbers(values)


def _days(values: np.ndarray, instant: bool) -> np.ndarray:
    """Integers from :func:`_times` as days (unknown stays unknown)."""
    if not instant:
        return values
    return np.where(values == NULL_INSTANT, _UNKNOWN_DAY, values // US_PER_DAY)


def _common(
    mine: np.ndarray, mine_instant: bool, theirs: np.ndarray, theirs_instant: bool
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Both sides in one unit — instants when both are timestamps, days otherwise — with the
    unit's unknown value and length of a day."""
    if mine_instant and theirs_instant:
        return mine, theirs, NULL_INSTANT, US_PER_DAY
    return _days(mine, mine_instant), _days(theirs, theirs_instant), _UNKNOWN_DAY, 1


def table_where(bundle: BundleView, name: str) -> str:
    """How findings name a table: its file, or its folder when it is split in parts."""
    files = bundle.table_files(name)
    return files[0] if len(files) == 1 else f"tables/{name}" if files else f"tables/{name}.parquet"


def id_converter(prefix: str) -> Callable[[pa.Array], np.ndarray]:
    """Ids to their numbers, vectorised (string bytes read as numpy digits; Arrow kernels for
    other types); null or malformed is -1."""
    head = prefix + "_"

    def convert(values: pa.Array) -> np.ndarray:
        fast = id_numbers_fast(values, prefix)
        if fast is not None:
            return fast
        tail = pc.utf8_slice_codeunits(values, len(head))
        ok = pc.and_(pc.starts_with(values, head), pc.greater_equal(pc.utf8_length(values), len(head) + 6))
        ok = pc.and_(ok, pc.and_(pc.utf8_is_digit(tail), pc.less_equal(pc.utf8_length(tail), 18)))
        ok = pc.fill_null(ok, False)
        safe = pc.if_else(ok, tail, pa.scalar("-1", values.type))
        return np.asarray(pc.cast(safe, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)

    return convert


def id_numbers(values: pa.ChunkedArray | pa.Array, prefix: str) -> tuple[np.ndarray, int]:
    """The integer after ``<prefix>_`` of each well-formed id, and how many are malformed or null."""
    flat = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    numbers = id_converter(prefix)(flat)
    good = numbers >= 0
    return numbers[good], int(numbers.size - good.sum())


def _batches(root: str, rel: str, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
    """``columns`` of one bundle file, a batch at a time (on whichever worker runs the job)."""
    with reading(rel):
        pf = pq.ParquetFile(confined(Path(root), rel))
        yield from pf.iter_batches(batch_size=BATCH_ROWS, columns=list(columns), use_threads=False)


# -- phase 1: key numbers -------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyJob:
    """Read one file's primary key: with ``keep``, also the ``days`` columns its children compare
    with and (unless they are one run of consecutive numbers, or ``numbers`` asks for them
    anyway) the key numbers themselves."""

    rel: str
    column: str
    prefix: str
    keep: bool
    days: tuple[str, ...] = ()
    numbers: bool = False
    instant: tuple[bool, ...] = ()


@dataclass(frozen=True)
class KeyPart:
    """One file's key numbers: how many, how many malformed, their range, whether they rise
    strictly, and — when kept — the well-formed numbers in file order (``None`` when they are
    the run ``low..high``) with the times alongside (per well-formed row: int32 days, or int64
    microseconds for a timestamp column)."""

    rows: int
    bad: int
    low: int
    high: int
    rising: bool
    numbers: np.ndarray | None
    days: tuple[np.ndarray, ...]

    @property
    def good(self) -> int:
        return self.rows - self.bad

    @property
    def run(self) -> bool:
        """Whether the well-formed numbers are exactly ``low, low+1, …, high`` in order."""
        return self.rising and (self.good == 0 or self.high - self.low + 1 == self.good)


def scan_keys(job: KeyJob, root: str) -> KeyPart:
    convert = id_converter(job.prefix)
    rows = bad = 0
    low, high, last = np.iinfo(np.int64).max, -1, -1
    rising = True
    kept: list[np.ndarray] = []
    kept_days: list[list[np.ndarray]] = [[] for _ in job.days]
    for batch in _batches(root, job.rel, (job.column, *job.days)):
        numbers = convert(batch.column(0))
        good = numbers >= 0
        rows += numbers.size
        bad += int(numbers.size - np.count_nonzero(good))
        ok = numbers[good]
        if ok.size:
            low, high = min(low, int(ok.min())), max(high, int(ok.max()))
            rising = rising and int(ok[0]) > last and bool(np.all(ok[1:] > ok[:-1]))
            last = int(ok[-1])
        if job.keep:
            kept.append(ok)
            for i in range(len(job.days)):
                if job.instant and job.instant[i]:
                    kept_days[i].append(instants(batch.column(i + 1))[good])
                else:
                    kept_days[i].append(day_numbers(batch.column(i + 1))[good].astype(np.int32))
    part = KeyPart(
        rows, bad, low, high, rising, None, tuple(np.concatenate(d) if d else _EMPTY32 for d in kept_days)
    )
    if job.keep and (job.numbers or not part.run):
        return KeyPart(rows, bad, low, high, rising, np.concatenate(kept) if kept else _EMPTY, part.days)
    return part


@dataclass(frozen=True)
class ParentKeys:
    """A referenced table's well-formed keys with the days its children need, aligned.

    Keys are either ``numbers`` (sorted) or, as the writer numbers them, runs of consecutive
    numbers (``lows[i]`` up to ``highs[i]``, their days from ``starts[i]``), so a table of
    consecutive ids costs its days only.
    """

    numbers: np.ndarray | None
    days: dict[str, np.ndarray]
    lows: np.ndarray = field(default_factory=lambda: _EMPTY)
    highs: np.ndarray = field(default_factory=lambda: _EMPTY)
    starts: np.ndarray = field(default_factory=lambda: _EMPTY)

    def find(self, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each number: whether the table holds it, and where (an index into the days)."""
        if self.numbers is None:
            if self.lows.size == 0:
                return np.zeros(numbers.size, dtype=bool), np.zeros(numbers.size, dtype=np.int64)
            if self.lows.size == 1:
                low = int(self.lows[0])
                found = (numbers >= max(low, 0)) & (numbers <= self.highs[0])
                return found, np.where(found, int(self.starts[0]) + numbers - low, 0)
            run = np.maximum(np.searchsorted(self.lows, numbers, side="right") - 1, 0)
            found = (numbers >= self.lows[run]) & (numbers <= self.highs[run]) & (numbers >= 0)
            return found, np.where(found, self.starts[run] + numbers - self.lows[run], 0)
        if self.numbers.size == 0:
            return np.zeros(numbers.size, dtype=bool), np.zeros(numbers.size, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.numbers, numbers), self.numbers.size - 1)
        return (self.numbers[pos] == numbers) & (numbers >= 0), pos

    def resolve(
        self, numbers: np.ndarray, root: str, cache: PartCache
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Whether the table holds each number, and the days of the rows it holds, in order."""
        found, pos = self.find(numbers)
        return found, {d: v[pos[found]] for d, v in self.days.items()}

    @property
    def nbytes(self) -> int:
        held = [*self.days.values(), self.lows, self.highs, self.starts]
        return sum(a.nbytes for a in held) + (0 if self.numbers is None else self.numbers.nbytes)


def _disjoint_rising(parts: Sequence[KeyPart]) -> bool:
    """Whether every part rises strictly and each starts above the one before (so no duplicate)."""
    high = -1
    for p in parts:
        if not p.rising:
            return False
        if p.rows - p.bad == 0:
            continue
        if p.low <= high:
            return False
        high = p.high
    return True


@dataclass(frozen=True)
class ParentIndex:
    """A referenced table whose parts rise strictly, each above the last: only each part's key
    range is held. A reference is looked up in the one part whose range holds it, that part's
    keys and days read when first needed (:class:`PartCache`), so a worker holds a few parts —
    those its own part references, as a bundle's shards keep children beside their parents —
    and never the whole table."""

    name: str
    column: str
    prefix: str
    days: tuple[str, ...]
    instant: tuple[bool, ...]
    rels: tuple[str, ...]
    lows: np.ndarray
    highs: np.ndarray
    runs: np.ndarray

    def part(self, index: int, root: str) -> ParentKeys:
        """One part's keys and days; for a part of consecutive well-formed ids only its days
        are read (row ``i`` holds number ``low + i``)."""
        rel = self.rels[index]
        if not self.runs[index]:
            job = KeyJob(rel, self.column, self.prefix, True, self.days, instant=self.instant)
            return _runs([scan_keys(job, root)], self.days)
        cols: list[list[np.ndarray]] = [[] for _ in self.days]
        for batch in _batches(root, rel, self.days):
            for i, instant in enumerate(self.instant):
                values = batch.column(i)
                cols[i].append(instants(values) if instant else day_numbers(values).astype(np.int32))
        days = {d: np.concatenate(c) if c else _EMPTY32 for d, c in zip(self.days, cols, strict=True)}
        lows, highs = self.lows[index : index + 1], self.highs[index : index + 1]
        return ParentKeys(None, days, lows, highs, np.zeros(1, dtype=np.int64))

    def _one_part(self, numbers: np.ndarray) -> int | None:
        """The part whose range holds every well-formed number, if one does (the usual case: a
        child part references its own shard's parents)."""
        if not numbers.size or not self.lows.size:
            return None
        low, high = int(numbers.min()), int(numbers.max())
        if low < 0:
            good = numbers[numbers >= 0]
            if not good.size:
                return None
            low = int(good.min())
        part = int(np.searchsorted(self.lows, low, side="right")) - 1
        return part if part >= 0 and high <= int(self.highs[part]) else None

    def resolve(
        self, numbers: np.ndarray, root: str, cache: PartCache
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Whether the table holds each number, and the days of the rows it holds, in order."""
        one = self._one_part(numbers)
        if one is not None:
            keys = cache.get(self, one, root)
            hit, pos = keys.find(numbers)
            return hit, {d: keys.days[d][pos[hit]] for d in self.days}
        found = np.zeros(numbers.size, dtype=bool)
        days: dict[str, list[np.ndarray]] = {d: [] for d in self.days}
        rows: list[np.ndarray] = []
        if self.lows.size:
            part = np.searchsorted(self.lows, numbers, side="right") - 1
            inside = np.flatnonzero((part >= 0) & (numbers <= self.highs[np.maximum(part, 0)]))
            chunks: list[np.ndarray] = []
            if inside.size and bool(np.all(part[inside] == part[inside[0]])):
                chunks = [inside]
            elif inside.size:
                order = inside[np.argsort(part[inside], kind="stable")]
                groups = part[order]
                chunks = np.split(order, np.flatnonzero(groups[1:] != groups[:-1]) + 1)
            for chunk in chunks:
                keys = cache.get(self, int(part[chunk[0]]), root)
                hit, pos = keys.find(numbers[chunk])
                rows.append(chunk[hit])
                for d in self.days:
                    days[d].append(keys.days[d][pos[hit]])
        if not rows:
            return found, {d: _EMPTY for d in self.days}
        at = np.concatenate(rows)
        found[at] = True
        if len(rows) == 1:
            return found, {d: v[0] for d, v in days.items()}
        back = np.argsort(at, kind="stable")
        return found, {d: np.concatenate(v)[back] for d, v in days.items()}


class PartCache:
    """Parent parts read by one job, the least recently used dropped past ``budget`` bytes."""

    def __init__(self, budget: int = PART_CACHE_BYTES) -> None:
        self.budget = budget
        self.held: OrderedDict[tuple[str, int], ParentKeys] = OrderedDict()
        self.bytes = 0

    def get(self, index: ParentIndex, part: int, root: str) -> ParentKeys:
        key = (index.name, part)
        if key in self.held:
            self.held.move_to_end(key)
            return self.held[key]
        keys = index.part(part, root)
        self.held[key] = keys
        self.bytes += keys.nbytes
        while self.bytes > self.budget and len(self.held) > 1:
            _, dropped = self.held.popitem(last=False)
            self.bytes -= dropped.nbytes
        return keys


# -- phase 2: references --------------------------------------------------------------------------


@dataclass(frozen=True)
class RefSpec:
    """One foreign key to resolve: what to compare with the parent's days, if anything."""

    column: str
    parent: str
    prefix: str
    nullable: bool
    not_before: str | None = None
    anchor: str | None = None
    offset_days: int = 0
    not_before_instant: bool = False
    anchor_instant: bool = False


@dataclass(frozen=True)
class RefJob:
    """One file of a referencing table: its foreign keys, time column and fixed cutoff day."""

    rel: str
    refs: tuple[RefSpec, ...]
    time_column: str | None
    fixed_cut: int | None
    instant: bool = False


@dataclass(frozen=True)
class RefCounts:
    """One foreign key over one file: nulls, unresolved references (first one's number), early
    and late rows."""

    nulls: int = 0
    dangling: int = 0
    example: int | None = None
    early: int = 0
    late: int = 0

    def plus(self, other: RefCounts) -> RefCounts:
        return RefCounts(
            self.nulls + other.nulls,
            self.dangling + other.dangling,
            self.example if self.example is not None else other.example,
            self.early + other.early,
            self.late + other.late,
        )


@dataclass(frozen=True)
class RefPart:
    refs: tuple[RefCounts, ...]
    late_fixed: int


@dataclass(frozen=True)
class Parents:
    """The referenced tables' keys (part ranges, or all keys for a table whose parts do not
    rise), sent to each worker once."""

    keys: Mapping[str, ParentKeys | ParentIndex]


def scan_refs(job: RefJob, root: str, parents: Parents) -> RefPart:
    columns = list(
        dict.fromkeys([r.column for r in job.refs] + ([job.time_column] if job.time_column else []))
    )
    converters = [id_converter(r.prefix) for r in job.refs]
    counts = [RefCounts() for _ in job.refs]
    late_fixed = 0
    cache = PartCache()
    for batch in _batches(root, job.rel, columns):
        when = _times(batch.column(columns.index(job.time_column)), job.instant) if job.time_column else None
        for i, ref in enumerate(job.refs):
            col = batch.column(columns.index(ref.column))
            numbers = converters[i](col)
            found, theirs = parents.keys[ref.parent].resolve(numbers, root, cache)
            nulls = col.null_count
            missing = ~found & (numbers >= 0)
            example = int(numbers[missing][0]) if missing.any() else None
            early = late = 0
            if when is not None and ref.not_before is not None:
                mine, parent, unknown, _ = _common(
                    when[found],
                    job.instant,
                    theirs[ref.not_before].astype(np.int64),
                    ref.not_before_instant,
                )
                early = int(np.count_nonzero((mine != unknown) & (parent != unknown) & (mine < parent)))
            if when is not None and ref.anchor is not None:
                mine, anchor, unknown, day = _common(
                    when[found],
                    job.instant,
                    theirs[ref.anchor].astype(np.int64),
                    ref.anchor_instant,
                )
                known = (mine != unknown) & (anchor != unknown)
                limit = np.where(known, anchor, 0) + ref.offset_days * day
                late = int(np.count_nonzero(known & (mine > limit)))
            dangling = int(numbers.size - np.count_nonzero(found)) - nulls
            counts[i] = counts[i].plus(RefCounts(nulls, dangling, example, early, late))
        if when is not None and job.fixed_cut is not None:
            days = _days(when, job.instant)
            late_fixed += int(np.count_nonzero((days > job.fixed_cut) & (days < _UNKNOWN_DAY)))
    return RefPart(tuple(counts), late_fixed)


# -- the check ------------------------------------------------------------------------------------


def check_contract(
    bundle: BundleView, contract: RelationalContract, *, public: bool, redacted: tuple[str, ...] = ()
) -> Iterator[Finding]:
    engine = bundle.engine or LOCAL
    progress = bundle.progress
    root = str(bundle.root)
    present = set(bundle.table_names())
    expected = {t.name for t in contract if not (public and t.public.omit)}
    for name in sorted(present - set(contract.names)):
        yield Finding(
            _CHECK, "table is not declared in the relational contract", where=table_where(bundle, name)
        )
    for name in sorted(expected - present):
        yield Finding(_CHECK, "table of the relational contract is missing", where=table_where(bundle, name))

    checked: list[TableContract] = []
    head: dict[str, list[Finding]] = {}
    for t in contract:
        if t.name not in expected or t.name not in present:
            continue
        head[t.name] = list(_dtypes(bundle, t, public, redacted))
        if not head[t.name]:
            checked.append(t)

    refs = {
        t.name: _ref_specs(contract, t, public, {c.name for c in checked[: checked.index(t)]})
        for t in checked
    }
    needs = _parent_days(contract, refs)
    files = {t.name: bundle.table_files(t.name) for t in checked}
    key_jobs = [KeyJob(rel, t.primary_key, t.id_prefix, False) for t in checked for rel in files[t.name]]
    key_parts = _grouped(
        _run(engine, scan_keys, key_jobs, root, progress), [len(files[t.name]) for t in checked]
    )
    pk_findings: dict[str, list[Finding]] = {}
    parents: dict[str, ParentKeys | ParentIndex] = {}
    for t, parts in zip(checked, key_parts, strict=True):
        pk_findings[t.name] = _key_findings(bundle, t, parts)
        if _disjoint_rising(parts):
            if t.name in needs:
                parents[t.name] = _index(t, files[t.name], parts, needs[t.name], _instant(t, needs))
            continue
        if t.name in needs:
            redo = [
                KeyJob(rel, t.primary_key, t.id_prefix, True, needs[t.name], True, _instant(t, needs))
                for rel in files[t.name]
            ]
            repeats, example, parents[t.name] = _sorted_keys(
                _run(engine, scan_keys, redo, root, progress), needs[t.name]
            )
        else:
            repeats, example = _repeats(root, files[t.name], t, sum(p.good for p in parts))
        if repeats:
            message = f"{repeats} duplicate id(s), e.g. {t.id_prefix}_{example:06d}"
            pk_findings[t.name].append(Finding(_CHECK, message, where=_key_where(bundle, t)))

    ref_tables = [t for t in checked if refs[t.name] or _fixed_cut(t, public) is not None]
    ref_jobs = [
        RefJob(rel, refs[t.name], t.time_column, _fixed_cut(t, public), _is_instant(t, t.time_column))
        for t in ref_tables
        for rel in files[t.name]
    ]
    shared = engine.share(
        Parents({n: parents[n] for n in sorted({r.parent for t in ref_tables for r in refs[t.name]})})
    )
    ref_parts = dict(
        zip(
            (t.name for t in ref_tables),
            _grouped(
                _run(engine, scan_refs, ref_jobs, root, progress, shared),
                [len(files[t.name]) for t in ref_tables],
            ),
            strict=True,
        )
    )

    for t in contract:
        if t.name not in head:
            continue
        yield from head[t.name]
        if head[t.name]:
            continue
        yield from pk_findings[t.name]
        if t.name in ref_parts:
            yield from _ref_findings(bundle, t, contract, refs[t.name], ref_parts[t.name])


def _run(
    engine: Engine,
    fn: Callable[..., R],
    jobs: Sequence[Any],
    root: str,
    progress: Progress | None,
    *args: Any,
) -> list[R]:
    """``fn(job, root, *args)`` for every job on ``engine``, in job order."""
    if progress is None:
        return engine.map(fn, jobs, root, *args, light=True)

    def report(done: int, total: int) -> None:
        progress.update("validating", done, total)

    return engine.map(fn, jobs, root, *args, progress=report, light=True)


def _grouped(items: Sequence[T], sizes: Sequence[int]) -> list[list[T]]:
    out, start = [], 0
    for n in sizes:
        out.append(list(items[start : start + n]))
        start += n
    return out


def _ref_specs(
    contract: RelationalContract, t: TableContract, public: bool, earlier: set[str]
) -> tuple[RefSpec, ...]:
    """The foreign keys of ``t`` to check: parents checked before it, columns not withheld."""
    out = []
    for fk in t.foreign_keys:
        if fk.parent not in earlier or (public and fk.column in t.public.drop):
            continue
        parent = contract[fk.parent]
        cut = t.public.cut
        relative = public and cut is not None and cut.via == fk.column and t.time_column is not None
        not_before = (
            parent.time_column if fk.not_before_parent and t.time_column and parent.time_column else None
        )
        anchor = cut.anchor_column if relative and cut is not None else None
        out.append(
            RefSpec(
                fk.column,
                fk.parent,
                parent.id_prefix,
                fk.nullable,
                not_before,
                anchor,
                cut.offset_days if relative and cut is not None else 0,
                _is_instant(parent, not_before),
                _is_instant(parent, anchor),
            )
        )
    return tuple(out)


def _is_instant(t: TableContract, column: str | None) -> bool:
    """Whether ``column`` of ``t`` is a timestamp (compared in microseconds, not days)."""
    return column is not None and column in t.schema.names and t.schema.dtype(column) == "timestamp"


def _instant(t: TableContract, needs: Mapping[str, tuple[str, ...]]) -> tuple[bool, ...]:
    return tuple(_is_instant(t, c) for c in needs.get(t.name, ()))


def _parent_days(
    contract: RelationalContract, refs: dict[str, tuple[RefSpec, ...]]
) -> dict[str, tuple[str, ...]]:
    """Per referenced table, the time columns its children compare with (in a fixed order)."""
    needs: dict[str, dict[str, None]] = {}
    for specs in refs.values():
        for r in specs:
            cols = needs.setdefault(r.parent, {})
            for c in (r.not_before, r.anchor):
                if c is not None:
                    cols[c] = None
    return {name: tuple(cols) for name, cols in needs.items()}


def _fixed_cut(t: TableContract, public: bool) -> int | None:
    cut = t.public.cut
    if not public or cut is None or cut.date is None or t.time_column is None:
        return None
    return (cut.date - _EPOCH).days


def _dtypes(
    bundle: BundleView, t: TableContract, public: bool, redacted: tuple[str, ...]
) -> Iterator[Finding]:
    """Columns and dtypes of every file of the table (findings for the first file that differs)."""
    schema = t.public_schema(redacted) if public else t.schema.without(redacted)
    want = schema.arrow
    for rel in bundle.table_files(t.name):
        got = bundle.schema(rel)
        if got.names != want.names:
            yield Finding(_CHECK, f"columns {got.names} differ from the contract's {want.names}", where=rel)
            return
        wrong = [(f, got.field(f.name).type) for f in want if got.field(f.name).type != f.type]
        for f, actual in wrong:
            yield Finding(
                _CHECK, f"dtype {actual} differs from the contract's {f.type}", where=f"{rel}:{f.name}"
            )
        if wrong:
            return


def _key_where(bundle: BundleView, t: TableContract) -> str:
    return f"{table_where(bundle, t.name)}:{t.primary_key}"


def _key_findings(bundle: BundleView, t: TableContract, parts: Sequence[KeyPart]) -> list[Finding]:
    """The finding on malformed or null ids, if any."""
    bad = sum(p.bad for p in parts)
    if not bad:
        return []
    message = f"{bad} id(s) are null or not of the form {t.id_prefix}_<6+ digits>"
    return [Finding(_CHECK, message, where=_key_where(bundle, t))]


def _index(
    t: TableContract,
    rels: Sequence[str],
    parts: Sequence[KeyPart],
    days: tuple[str, ...],
    instant: tuple[bool, ...],
) -> ParentIndex:
    """A referenced table whose parts rise, each above the last, as its parts' key ranges."""
    held = [(rel, p) for rel, p in zip(rels, parts, strict=True) if p.good]
    return ParentIndex(
        t.name,
        t.primary_key,
        t.id_prefix,
        days,
        instant,
        tuple(rel for rel, _ in held),
        np.array([p.low for _, p in held], dtype=np.int64),
        np.array([p.high for _, p in held], dtype=np.int64),
        np.array([p.run and not p.bad for _, p in held], dtype=bool),
    )


def _repeats(root: str, rels: Sequence[str], t: TableContract, rows: int) -> tuple[int, int]:
    """Duplicate well-formed ids of a table whose parts do not rise, streamed into an
    :class:`IdSet` (a bit per id, not a number per row), and the smallest one."""
    ids = IdSet(id_limit(rows), track=True)
    convert = id_converter(t.id_prefix)
    for rel in rels:
        for batch in _batches(root, rel, (t.primary_key,)):
            numbers = convert(batch.column(0))
            ids.add(numbers[numbers >= 0])
    return ids.repeats, ids.first_repeat or 0


def _sorted_keys(parts: Sequence[KeyPart], days: tuple[str, ...]) -> tuple[int, int, ParentKeys]:
    """A referenced table whose parts do not rise: every key number sorted, with its days (the
    first row's for a repeated id), how many repeat and the smallest repeated."""
    numbers = np.concatenate([p.numbers for p in parts if p.numbers is not None] or [_EMPTY])
    order = np.argsort(numbers, kind="stable")
    ordered = numbers[order]
    dup = ordered[1:][ordered[1:] == ordered[:-1]]
    cols = [np.concatenate([p.days[i] for p in parts] or [_EMPTY32])[order] for i in range(len(days))]
    keys = ParentKeys(ordered, dict(zip(days, cols, strict=True)))
    return int(dup.size), int(dup[0]) if dup.size else 0, keys


def _runs(parts: Sequence[KeyPart], days: tuple[str, ...]) -> ParentKeys:
    """Keys of parts that rise strictly, each above the last: runs where they are consecutive,
    sorted numbers otherwise."""
    cols = {d: np.concatenate([p.days[i] for p in parts] or [_EMPTY32]) for i, d in enumerate(days)}
    held = [p for p in parts if p.good]
    if all(p.numbers is None for p in parts):
        lows = np.array([p.low for p in held], dtype=np.int64)
        highs = np.array([p.high for p in held], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum([p.good for p in held])[:-1]]).astype(np.int64)
        return ParentKeys(None, cols, lows, highs, starts)
    numbers = np.concatenate(
        [p.numbers if p.numbers is not None else np.arange(p.low, p.high + 1) for p in held] or [_EMPTY]
    )
    return ParentKeys(numbers, cols)


def _ref_findings(
    bundle: BundleView,
    t: TableContract,
    contract: RelationalContract,
    specs: tuple[RefSpec, ...],
    parts: Sequence[RefPart],
) -> Iterator[Finding]:
    rel = table_where(bundle, t.name)
    for i, spec in enumerate(specs):
        c = RefCounts()
        for p in parts:
            c = c.plus(p.refs[i])
        where = f"{rel}:{spec.column}"
        if c.nulls and not spec.nullable:
            yield Finding(_CHECK, f"{c.nulls} null reference(s) to {spec.parent}", where=where)
        if c.dangling:
            example = f", e.g. {spec.prefix}_{c.example:06d}" if c.example is not None else ""
            yield Finding(
                _CHECK, f"{c.dangling} reference(s) to {spec.parent} do not resolve{example}", where=where
            )
        if c.early:
            yield Finding(
                _CHECK,
                f"{c.early} row(s) dated before the {spec.parent} row they reference ({t.time_column} < "
                f"{spec.parent}.{contract[spec.parent].time_column})",
                where=rel,
            )
        if c.late:
            yield Finding(_CHECK, f"{c.late} row(s) dated after the public cutoff", where=rel)
    late = sum(p.late_fixed for p in parts)
    if late:
        yield Finding(_CHECK, f"{late} row(s) dated after the public cutoff", where=rel)
