"""Checking a bundle against its relational contract, for every scheme alike.

Keys unique and well formed, foreign keys resolving, dtypes exactly as declared, child rows not
before their parent, and — in public bundles — no row after its cutoff. Columns are streamed a
row group at a time and turned straight into integers (the number after ``<prefix>_``, days
since 1970), so the check holds a few int64 arrays, never a table's strings, and references
are resolved by binary search over sorted key numbers rather than by string joins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from leadforge.bundle.contract import RelationalContract, TableContract
from leadforge.bundle.projection import day_numbers
from leadforge.bundle.reader import BundleView, reading
from leadforge.findings import Finding

_CHECK = "relational"
_EPOCH = dt.date(1970, 1, 1)
_UNKNOWN_DAY = np.iinfo(np.int32).max


@dataclass(frozen=True)
class _Keys:
    """A table's key numbers sorted, and the file row each sorted number came from."""

    sorted_numbers: np.ndarray
    rows: np.ndarray

    def find(self, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each number: whether the table holds it, and (where it does) the file row."""
        if self.sorted_numbers.size == 0:
            return np.zeros(numbers.size, dtype=bool), np.zeros(numbers.size, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.sorted_numbers, numbers), self.sorted_numbers.size - 1)
        found = self.sorted_numbers[pos] == numbers
        return found, self.rows[pos]


def check_contract(
    bundle: BundleView, contract: RelationalContract, *, public: bool, redacted: tuple[str, ...] = ()
) -> Iterator[Finding]:
    present = set(bundle.table_names())
    expected = {t.name for t in contract if not (public and t.public.omit)}
    for name in sorted(present - set(contract.names)):
        yield Finding(_CHECK, "table is not declared in the relational contract", where=_rel(name))
    for name in sorted(expected - present):
        yield Finding(_CHECK, "table of the relational contract is missing", where=_rel(name))
    keys: dict[str, _Keys] = {}
    for t in contract:
        if t.name not in expected or t.name not in present:
            continue
        findings = list(_dtypes(bundle, t, public, redacted))
        yield from findings
        if findings:
            continue
        problems, keys[t.name] = _primary_key(bundle, t)
        yield from problems
        for fk in t.foreign_keys:
            parent = contract[fk.parent]
            if fk.parent not in keys or (public and fk.column in t.public.drop):
                continue
            numbers, found, rows, problems = _references(
                bundle, t, fk.column, parent, keys[fk.parent], fk.nullable
            )
            yield from problems
            if fk.not_before_parent and t.time_column and parent.time_column:
                yield from _not_before(bundle, t, parent, numbers, found, rows)
            cut = t.public.cut
            if public and cut is not None and cut.via == fk.column:
                yield from _after_relative_cutoff(bundle, t, parent, found, rows)
        if public and t.public.cut is not None and t.public.cut.date is not None:
            yield from _after_fixed_cutoff(bundle, t)


def _rel(name: str) -> str:
    return f"tables/{name}.parquet"


def _dtypes(
    bundle: BundleView, t: TableContract, public: bool, redacted: tuple[str, ...]
) -> Iterator[Finding]:
    schema = t.public_schema(redacted) if public else t.schema.without(redacted)
    want = schema.arrow
    got = bundle.schema(_rel(t.name))
    if got.names != want.names:
        yield Finding(
            _CHECK, f"columns {got.names} differ from the contract's {want.names}", where=_rel(t.name)
        )
        return
    for f in want:
        actual = got.field(f.name).type
        if actual != f.type:
            yield Finding(
                _CHECK,
                f"dtype {actual} differs from the contract's {f.type}",
                where=f"{_rel(t.name)}:{f.name}",
            )


def _stream(
    bundle: BundleView, rel: str, column: str, convert: Callable[[pa.Array], np.ndarray]
) -> np.ndarray:
    """One column converted a row group at a time, concatenated (the strings are never all held)."""
    parts: list[np.ndarray] = []
    with reading(rel):
        f = pq.ParquetFile(bundle.path(rel))
        for i in range(f.num_row_groups):
            col = f.read_row_group(i, columns=[column]).column(0)
            parts.append(convert(col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _id_converter(prefix: str) -> Callable[[pa.Array], np.ndarray]:
    """Ids to their numbers; a null or malformed id becomes -1."""
    head = prefix + "_"

    def convert(values: pa.Array) -> np.ndarray:
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
    numbers = _id_converter(prefix)(flat)
    good = numbers >= 0
    return numbers[good], int(numbers.size - good.sum())


def _primary_key(bundle: BundleView, t: TableContract) -> tuple[list[Finding], _Keys]:
    """Findings on the key column, and its numbers sorted (for resolving references)."""
    where = f"{_rel(t.name)}:{t.primary_key}"
    numbers = _stream(bundle, _rel(t.name), t.primary_key, _id_converter(t.id_prefix))
    found = []
    bad = int(np.count_nonzero(numbers < 0))
    if bad:
        message = f"{bad} id(s) are null or not of the form {t.id_prefix}_<6+ digits>"
        found.append(Finding(_CHECK, message, where=where))
    order = np.argsort(numbers, kind="stable")
    ordered = numbers[order]
    dup = ordered[1:][(ordered[1:] == ordered[:-1]) & (ordered[1:] >= 0)]
    if dup.size:
        message = f"{dup.size} duplicate id(s), e.g. {t.id_prefix}_{int(dup[0]):06d}"
        found.append(Finding(_CHECK, message, where=where))
    return found, _Keys(ordered, order)


def _references(
    bundle: BundleView, t: TableContract, column: str, parent: TableContract, keys: _Keys, nullable: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Finding]]:
    """The column's id numbers (-1 where null or malformed), whether each resolves, the parent row."""
    where = f"{_rel(t.name)}:{column}"
    rel = _rel(t.name)
    nulls = int(_stream(bundle, rel, column, lambda a: np.asarray([a.null_count])).sum())
    numbers = _stream(bundle, rel, column, _id_converter(parent.id_prefix))
    found, rows = keys.find(numbers)
    found &= numbers >= 0
    problems = []
    if nulls and not nullable:
        problems.append(Finding(_CHECK, f"{nulls} null reference(s) to {parent.name}", where=where))
    dangling = int(np.count_nonzero(~found)) - nulls
    if dangling:
        bad = numbers[~found & (numbers >= 0)]
        example = f", e.g. {parent.id_prefix}_{int(bad[0]):06d}" if bad.size else ""
        problems.append(
            Finding(_CHECK, f"{dangling} reference(s) to {parent.name} do not resolve{example}", where=where)
        )
    return numbers, found, rows, problems


def _days(bundle: BundleView, t: TableContract, column: str) -> np.ndarray:
    return _stream(bundle, _rel(t.name), column, day_numbers)


def _not_before(
    bundle: BundleView,
    t: TableContract,
    parent: TableContract,
    numbers: np.ndarray,
    found: np.ndarray,
    rows: np.ndarray,
) -> Iterator[Finding]:
    assert t.time_column and parent.time_column
    mine = _days(bundle, t, t.time_column)[found]
    theirs = _days(bundle, parent, parent.time_column)[rows[found]]
    known = (mine < _UNKNOWN_DAY) & (theirs < _UNKNOWN_DAY)
    early = int(np.count_nonzero(known & (mine < theirs)))
    if early:
        yield Finding(
            _CHECK,
            f"{early} row(s) dated before the {parent.name} row they reference ({t.time_column} < "
            f"{parent.name}.{parent.time_column})",
            where=_rel(t.name),
        )


def _after_relative_cutoff(
    bundle: BundleView, t: TableContract, parent: TableContract, found: np.ndarray, rows: np.ndarray
) -> Iterator[Finding]:
    cut = t.public.cut
    assert cut is not None and cut.anchor_column is not None and t.time_column is not None
    when = _days(bundle, t, t.time_column)[found]
    anchor = _days(bundle, parent, cut.anchor_column)[rows[found]]
    late = int(np.count_nonzero((when > anchor + cut.offset_days) & (when < _UNKNOWN_DAY)))
    if late:
        yield Finding(_CHECK, f"{late} row(s) dated after the public cutoff", where=_rel(t.name))


def _after_fixed_cutoff(bundle: BundleView, t: TableContract) -> Iterator[Finding]:
    cut = t.public.cut
    assert cut is not None and cut.date is not None and t.time_column is not None
    when = _days(bundle, t, t.time_column)
    late = int(np.count_nonzero((when > (cut.date - _EPOCH).days) & (when < _UNKNOWN_DAY)))
    if late:
        yield Finding(_CHECK, f"{late} row(s) dated after the public cutoff", where=_rel(t.name))
