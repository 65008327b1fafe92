"""Checking a bundle against its relational contract, for every scheme alike.

Keys unique and well formed, foreign keys resolving, dtypes exactly as declared, child rows not
before their parent, and — in public bundles — no row after its cutoff. Keys are compared as
integers (the number after ``<prefix>_``), column by column, so a check reads two columns at
a time, not whole tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leadforge.bundle.contract import RelationalContract, TableContract
from leadforge.bundle.projection import day_numbers
from leadforge.bundle.reader import BundleView
from leadforge.findings import Finding

_CHECK = "relational"
_EPOCH = dt.date(1970, 1, 1)
_MAX_EXAMPLES = 3


def check_contract(
    bundle: BundleView, contract: RelationalContract, *, public: bool, redacted: tuple[str, ...] = ()
) -> Iterator[Finding]:
    present = set(bundle.table_names())
    expected = {t.name for t in contract if not (public and t.public.omit)}
    for name in sorted(present - set(contract.names)):
        yield Finding(_CHECK, "table is not declared in the relational contract", where=_rel(name))
    for name in sorted(expected - present):
        yield Finding(_CHECK, "table of the relational contract is missing", where=_rel(name))
    keys: dict[str, np.ndarray] = {}
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
            if fk.parent in keys and (not public or fk.column not in t.public.drop):
                yield from _foreign_key(
                    bundle, t, fk.column, contract[fk.parent], keys[fk.parent], fk.nullable
                )
                if fk.not_before_parent and t.time_column and contract[fk.parent].time_column:
                    yield from _not_before(bundle, t, fk.column, contract[fk.parent])
        if public and t.public.cut is not None:
            yield from _after_cutoff(bundle, t, contract)


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


def id_numbers(values: pa.ChunkedArray, prefix: str) -> tuple[np.ndarray, int]:
    """The integer after ``<prefix>_`` of each id, and how many ids are malformed (nulls too)."""
    head = prefix + "_"
    ok = pc.and_(pc.starts_with(values, head), pc.greater_equal(pc.utf8_length(values), len(head) + 6))
    tail = pc.utf8_slice_codeunits(values, len(head))
    ok = pc.and_(ok, pc.utf8_is_digit(tail))
    ok = pc.fill_null(ok, False)
    good = pc.filter(tail, ok)
    bad = len(values) - len(good)
    short = pc.less_equal(pc.utf8_length(good), 18)
    numbers = pc.cast(pc.filter(good, short), pa.int64())
    bad += len(good) - len(numbers)
    return np.asarray(numbers.to_numpy(zero_copy_only=False), dtype=np.int64), bad


def _primary_key(bundle: BundleView, t: TableContract) -> tuple[list[Finding], np.ndarray]:
    """Findings on the key column, and its id numbers sorted (for resolving references)."""
    where = f"{_rel(t.name)}:{t.primary_key}"
    col = bundle.table(t.name, [t.primary_key]).column(t.primary_key)
    numbers, bad = id_numbers(col, t.id_prefix)
    found = []
    if bad:
        message = f"{bad} id(s) are null or not of the form {t.id_prefix}_<6+ digits>"
        found.append(Finding(_CHECK, message, where=where))
    ordered = np.sort(numbers)
    dup = ordered[1:][ordered[1:] == ordered[:-1]]
    if dup.size:
        message = f"{dup.size} duplicate id(s), e.g. {t.id_prefix}_{int(dup[0]):06d}"
        found.append(Finding(_CHECK, message, where=where))
    return found, ordered


def _foreign_key(
    bundle: BundleView,
    t: TableContract,
    column: str,
    parent: TableContract,
    parent_keys: np.ndarray,
    nullable: bool,
) -> Iterator[Finding]:
    where = f"{_rel(t.name)}:{column}"
    col = bundle.table(t.name, [column]).column(column)
    if col.null_count and not nullable:
        yield Finding(_CHECK, f"{col.null_count} null reference(s) to {parent.name}", where=where)
    values = pc.drop_null(col)
    numbers, bad = id_numbers(values, parent.id_prefix)
    pos = np.searchsorted(parent_keys, numbers)
    pos[pos >= parent_keys.size] = 0
    dangling = numbers[parent_keys[pos] != numbers] if parent_keys.size else numbers
    if bad or dangling.size:
        example = f", e.g. {parent.id_prefix}_{int(dangling[0]):06d}" if dangling.size else ""
        yield Finding(
            _CHECK,
            f"{bad + dangling.size} reference(s) to {parent.name} do not resolve{example}",
            where=where,
        )


def _parent_positions(
    bundle: BundleView, t: TableContract, column: str, parent: TableContract
) -> tuple[np.ndarray, np.ndarray]:
    """For each child row with a resolvable reference: its row and its parent's row."""
    child = bundle.table(t.name, [column]).column(column)
    parent_ids = bundle.table(parent.name, [parent.primary_key]).column(parent.primary_key)
    idx = pc.index_in(child, value_set=parent_ids.combine_chunks())
    rows = np.flatnonzero(np.asarray(pc.is_valid(idx).to_numpy(zero_copy_only=False), dtype=bool))
    pos = np.asarray(pc.drop_null(idx).to_numpy(zero_copy_only=False), dtype=np.int64)
    return rows, pos


def _not_before(
    bundle: BundleView, t: TableContract, column: str, parent: TableContract
) -> Iterator[Finding]:
    assert t.time_column and parent.time_column
    rows, pos = _parent_positions(bundle, t, column, parent)
    mine = day_numbers(bundle.table(t.name, [t.time_column]).column(t.time_column))[rows]
    theirs = day_numbers(bundle.table(parent.name, [parent.time_column]).column(parent.time_column))[pos]
    known = (mine < np.iinfo(np.int32).max) & (theirs < np.iinfo(np.int32).max)
    early = int(np.count_nonzero(known & (mine < theirs)))
    if early:
        yield Finding(
            _CHECK,
            f"{early} row(s) dated before the {parent.name} row they reference ({t.time_column} < "
            f"{parent.name}.{parent.time_column})",
            where=_rel(t.name),
        )


def _after_cutoff(bundle: BundleView, t: TableContract, contract: RelationalContract) -> Iterator[Finding]:
    cut = t.public.cut
    assert cut is not None and t.time_column is not None
    when = day_numbers(bundle.table(t.name, [t.time_column]).column(t.time_column))
    if cut.date is not None:
        late = int(np.count_nonzero((when > (cut.date - _EPOCH).days) & (when < np.iinfo(np.int32).max)))
    else:
        assert cut.via is not None and cut.anchor_column is not None
        parent = contract[t.foreign_key(cut.via).parent]
        rows, pos = _parent_positions(bundle, t, cut.via, parent)
        anchor = day_numbers(bundle.table(parent.name, [cut.anchor_column]).column(cut.anchor_column))
        late = int(np.count_nonzero(when[rows] > anchor[pos] + cut.offset_days))
    if late:
        yield Finding(_CHECK, f"{late} row(s) dated after the public cutoff", where=_rel(t.name))
