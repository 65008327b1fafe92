"""One shard's rows, as the bundle will hold them: cut, cascaded, numbered and projected.

The writer hands every shard through :func:`project_shard`. In a public bundle the tables the
contract omits are skipped, rows after their cutoff are removed (and so are the rows that
referenced a removed row), and the columns the contract or the feature catalog withholds are
dropped. In every bundle the core-numbered tables get their ids here: from the shard index and
the rank of each kept row (``"shard"``, and ``"owner"`` in public bundles), or from the owner's
number and the row's ordinal among its owner's rows (``"owner"`` in bundles that hold hidden
truth). Ids therefore depend on nothing but the config and the shard.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leadforge.bundle.contract import ID_BLOCK, RelationalContract, TableContract
from leadforge.columns import grouped_id_numbers, id_array
from leadforge.errors import GenerationError
from leadforge.rng import ordinals

_EPOCH = dt.date(1970, 1, 1)
#: Above this many values, date strings are parsed once per distinct value.
_FEW_DATES = 4096
US_PER_DAY = 86_400_000_000
#: What a null instant becomes in :func:`instants` (later than any real one).
NULL_INSTANT = np.iinfo(np.int64).max
_NULL_DAY = np.iinfo(np.int32).max


@dataclass(frozen=True)
class _Kept:
    """A table's rows after projection: the original key of each kept row and its final id."""

    local: pa.Array
    final: pa.Array


def project_shard(
    contract: RelationalContract,
    shard: int,
    chunks: Mapping[str, pa.Table],
    *,
    public: bool,
    redacted: Sequence[str] = (),
) -> dict[str, pa.Table]:
    """The shard's tables ready to append, in contract order (omitted tables absent)."""
    unknown = [n for n in chunks if n not in contract]
    if unknown:
        raise GenerationError(f"tables {unknown} are not declared in the scheme's relational contract")
    if shard < 0:
        raise GenerationError(f"shard index must be >= 0, got {shard}")
    kept: dict[str, _Kept] = {}
    removed: dict[str, pa.Array] = {}
    full: dict[str, pa.Table] = {}
    out: dict[str, pa.Table] = {}
    for t in contract:
        if t.name not in chunks:
            continue
        table = chunks[t.name]
        full[t.name] = table
        keep = np.ones(table.num_rows, dtype=bool)
        if public and t.public.cut is not None:
            keep &= _within_cutoff(contract, t, table, full)
        for fk in t.foreign_keys:
            if fk.parent in removed and fk.parent != t.name:
                keep &= _not_removed(table.column(fk.column), removed[fk.parent])
        if not keep.all():
            if not t.core_numbered:
                raise GenerationError(
                    f"table {t.name} lost rows with a removed parent row; its ids would show the gap, "
                    "so it must use numbering='shard' or 'owner'"
                )
            removed[t.name] = _combined(table.column(t.primary_key)).filter(pa.array(~keep))
            table = table.filter(pa.array(keep))
        refs = [fk for fk in t.foreign_keys if contract[fk.parent].core_numbered]
        for fk in (fk for fk in refs if fk.parent != t.name):
            table = _remap_column(table, t, fk.column, kept.get(fk.parent))
        if t.core_numbered:
            pk = _combined(table.column(t.primary_key))
            if t.numbering == "owner" and not public:
                numbers = _owner_numbers(contract, t, table)
            else:
                if table.num_rows >= ID_BLOCK:
                    raise GenerationError(
                        f"table {t.name}: shard {shard} holds more than {ID_BLOCK - 1} rows"
                    )
                numbers = shard * ID_BLOCK + np.arange(1, table.num_rows + 1, dtype=np.int64)
            final = id_array(t.id_prefix, numbers)
            kept[t.name] = _Kept(pk, final)
            table = table.set_column(table.schema.get_field_index(t.primary_key), t.primary_key, final)
        for fk in (fk for fk in refs if fk.parent == t.name):
            table = _remap_column(table, t, fk.column, kept.get(fk.parent))
        if public and t.public.omit:
            continue
        drop = [c for c in (*(t.public.drop if public else ()), *redacted) if c in table.column_names]
        out[t.name] = table.drop_columns(drop) if drop else table
    return out


def _remap_column(table: pa.Table, t: TableContract, column: str, parent: _Kept | None) -> pa.Table:
    if parent is None:
        fk = t.foreign_key(column)
        raise GenerationError(
            f"table {t.name}: foreign key {column} points at {fk.parent}, whose rows must be written "
            "in the same shard"
        )
    idx = table.schema.get_field_index(column)
    return table.set_column(idx, column, _remap(table.column(column), parent))


def _owner_numbers(contract: RelationalContract, t: TableContract, table: pa.Table) -> np.ndarray:
    """``owner_number * rows_per_owner + ordinal``: each row's ordinal counts its owner's rows
    before it, so the ids of one owner's rows depend on those rows alone."""
    assert t.owner is not None
    prefix = contract[t.foreign_key(t.owner).parent].id_prefix
    owners = grouped_id_numbers(_combined(table.column(t.owner)).cast(pa.large_string()), prefix)
    assert owners is not None
    if owners.size and owners.min() < 1:
        raise GenerationError(f"table {t.name}: owner column {t.owner} holds a null or malformed id")
    ordinal = ordinals(owners)
    k = t.rows_per_owner
    if ordinal.size and ordinal.max() >= k:
        worst = int(owners[int(np.argmax(ordinal))])
        raise GenerationError(
            f"table {t.name}: {prefix}_{worst:06d} owns more than {k} rows (rows_per_owner)"
        )
    if owners.size and int(owners.max()) > (np.iinfo(np.int64).max - k) // k:
        raise GenerationError(f"table {t.name}: owner numbers too large for rows_per_owner={k}")
    numbers: np.ndarray = owners.astype(np.int64) * k + ordinal
    return numbers


def _combined(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _not_removed(fk: pa.ChunkedArray, parent_removed: pa.Array) -> np.ndarray:
    """Rows whose reference is null or not one of the parent rows the projection removed.

    A reference to a row the scheme never wrote is kept, so that remapping reports it instead
    of the row silently vanishing.
    """
    gone = pc.fill_null(pc.is_in(fk, value_set=parent_removed), False)
    return ~np.asarray(gone.to_numpy(zero_copy_only=False), dtype=bool)


def _remap(fk: pa.ChunkedArray, parent: _Kept) -> pa.Array:
    idx = pc.index_in(fk, value_set=parent.local)
    missing = pc.and_(pc.is_null(idx), pc.is_valid(fk))
    if pc.any(missing).as_py():
        raise GenerationError("a foreign key references a row its parent table does not hold in this shard")
    return parent.final.take(idx)


def day_numbers(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Days since 1970-01-01 (UTC days for timestamps) of ISO date strings, dates or timestamps;
    nulls become a huge value."""
    arr = _combined(values)
    if (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)) and len(arr) > _FEW_DATES:
        # a calendar holds few distinct days: parse each once, then look every row up
        encoded = arr.dictionary_encode()
        known = np.append(day_numbers(encoded.dictionary), np.iinfo(np.int32).max)
        index = pc.fill_null(encoded.indices, len(encoded.dictionary))
        return np.asarray(known[np.asarray(index.to_numpy(zero_copy_only=False), dtype=np.int64)])
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        day = pc.cast(
            pc.strptime(pc.utf8_slice_codeunits(arr, 0, 10), format="%Y-%m-%d", unit="s"), pa.date32()
        )
    elif pa.types.is_timestamp(arr.type):
        us = instants(arr)
        return np.where(us == NULL_INSTANT, _NULL_DAY, us // US_PER_DAY)
    elif pa.types.is_date(arr.type):
        day = pc.cast(arr, pa.date32())
    else:
        raise GenerationError(f"time column of type {arr.type} cannot be compared with a cutoff")
    days = pc.cast(day, pa.int32())
    return np.asarray(
        pc.fill_null(days, np.iinfo(np.int32).max).to_numpy(zero_copy_only=False), dtype=np.int64
    )


def instants(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Microseconds since the epoch (UTC) of a timestamp column; nulls become :data:`NULL_INSTANT`.

    A timestamp without a time zone is read as UTC.
    """
    arr = _combined(values)
    if not pa.types.is_timestamp(arr.type):
        raise GenerationError(f"column of type {arr.type} is not a timestamp")
    if arr.type.unit != "us":
        arr = pc.cast(arr, pa.timestamp("us", tz=arr.type.tz))
    ints = pc.fill_null(arr.cast(pa.int64()), NULL_INSTANT)
    return np.asarray(ints.to_numpy(zero_copy_only=False), dtype=np.int64)


def inside_cutoff(
    when: pa.ChunkedArray | pa.Array, anchor: pa.ChunkedArray | pa.Array, offset_days: int
) -> np.ndarray:
    """Whether each row is inside a cutoff ``offset_days`` after its own anchor (row-aligned).

    Two timestamps compare as instants (``when <= anchor + offset_days × 24 h``); any other pair
    compares UTC days (``day(when) <= day(anchor) + offset_days``). A null ``when`` is outside,
    a null anchor keeps the row. Schemes compute snapshot windows with this same rule.
    """
    w, a = _combined(when), _combined(anchor)
    if pa.types.is_timestamp(w.type) and pa.types.is_timestamp(a.type):
        mine, theirs = instants(w), instants(a)
        limit = np.where(theirs == NULL_INSTANT, NULL_INSTANT, theirs + offset_days * US_PER_DAY)
        return np.asarray((mine <= limit) & ((mine != NULL_INSTANT) | (theirs == NULL_INSTANT)))
    days, anchor_days = day_numbers(w), day_numbers(a)
    limit = np.where(anchor_days == _NULL_DAY, np.iinfo(np.int64).max, anchor_days + offset_days)
    return np.asarray((days <= limit) & ((days != _NULL_DAY) | (anchor_days == _NULL_DAY)))


def _within_cutoff(
    contract: RelationalContract, t: TableContract, table: pa.Table, full: Mapping[str, pa.Table]
) -> np.ndarray:
    cut = t.public.cut
    assert cut is not None and t.time_column is not None
    when = table.column(t.time_column)
    if cut.date is not None:
        return np.asarray(day_numbers(when) <= (cut.date - _EPOCH).days)
    assert cut.via is not None and cut.anchor_column is not None
    parent_name = t.foreign_key(cut.via).parent
    parent = full.get(parent_name)
    if parent is None:
        raise GenerationError(
            f"table {t.name} is cut relative to {parent_name}, which this shard does not hold"
        )
    pk = _combined(parent.column(contract[parent_name].primary_key))
    idx = pc.index_in(table.column(cut.via), value_set=pk)
    if idx.null_count:
        raise GenerationError(f"table {t.name}: {cut.via} references rows missing from {parent_name}")
    anchor = _combined(parent.column(cut.anchor_column)).take(idx)
    return inside_cutoff(when, anchor, cut.offset_days)
