"""A task split's keys, read for the envelope's checks: distinct, in one split only, and in the
same split in every task that shares them.

Id keys (``<prefix>_<digits>``, the task's primary-table key) are streamed into an
:class:`~leadforge.bundle.checks_keys.IdSet` per split, so memory follows the largest id — a
bit each — not the rows; other keys are read whole and compared with Arrow kernels.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leadforge.bundle.checks_keys import IdSet
from leadforge.bundle.manifest import SPLITS
from leadforge.bundle.reader import BundleView
from leadforge.bundle.relational import id_converter
from leadforge.findings import Finding


@dataclass(frozen=True)
class StringKeys:
    """A split's distinct string keys (sorted), how many rows hold each, and its nulls.

    For keys that are not all ``<prefix>_<digits>`` ids; compared with Arrow kernels, never as
    Python objects. Id keys are :class:`IdKeys` instead.
    """

    unique: pa.Array
    counts: np.ndarray
    nulls: int

    @property
    def duplicated(self) -> bool:
        return len(self.unique) != int(self.counts.sum())

    def show(self, idx: np.ndarray) -> list[str]:
        return [str(v) for v in self.unique.take(pa.array(idx)).to_pylist()]


@dataclass(frozen=True)
class IdKeys:
    """A split's id keys as their numbers in an :class:`IdSet` (memory: one bit per id, not per
    row), its nulls, and how many of its rows sit in another split than in the first task that
    shares the key (``moved``)."""

    ids: IdSet
    nulls: int
    prefix: str
    moved: int = 0

    @property
    def duplicated(self) -> bool:
        return self.ids.repeats > 0

    def show(self, numbers: np.ndarray) -> list[str]:
        return [f"{self.prefix}_{int(n):06d}" for n in numbers]


#: The first task's keys per split (index into SPLITS; ``None`` where a split was not read):
#: id sets, or string keys with their split per distinct key.
Assignment = tuple[str, tuple[IdSet | None, ...]] | tuple[str, StringKeys, np.ndarray]


def read_id_keys(
    bundle: BundleView,
    files: Sequence[str],
    column: str,
    prefix: str,
    limit: int,
    split: int,
    first: tuple[IdSet | None, ...] | None,
) -> IdKeys | None:
    """The key column of a split's files streamed into an :class:`IdSet`, counting on the way
    the rows a first task put in another split; ``None`` when a key is not a ``prefix`` id."""
    convert = id_converter(prefix)
    ids = IdSet(limit)
    nulls = moved = 0
    for batch in bundle.iter_batches(files, [column]):
        col = batch.column(0)
        numbers = convert(col)
        nulls += col.null_count
        good = numbers >= 0
        if int(np.count_nonzero(~good)) != col.null_count:
            return None
        numbers = numbers[good]
        ids.add(numbers)
        if first is not None:
            where = np.full(numbers.size, -1, dtype=np.int8)
            for i in reversed(range(len(first))):
                s = first[i]
                if s is not None:
                    where[s.contains(numbers)] = i
            moved += int(np.count_nonzero((where >= 0) & (where != split)))
    return IdKeys(ids, nulls, prefix, moved)


def read_string_keys(bundle: BundleView, files: Sequence[str], column: str) -> StringKeys:
    values = bundle.read_parquet(files, [column]).column(column)
    flat = (values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values).cast(
        pa.large_string()
    )
    valid = pc.drop_null(flat)
    distinct = pc.unique(valid)
    unique = pc.take(distinct, pc.sort_indices(distinct))
    codes = np.asarray(pc.index_in(valid, value_set=unique).to_numpy(zero_copy_only=False), dtype=np.int64)
    return StringKeys(unique, np.bincount(codes, minlength=len(unique)), flat.null_count)


def _positions(of: StringKeys, among: StringKeys) -> np.ndarray:
    """For each distinct value of ``of``, its index among ``among``'s distinct values (-1: absent)."""
    idx = pc.index_in(of.unique, value_set=among.unique)
    return np.asarray(pc.fill_null(idx, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


def keys_in_both(a: IdKeys | StringKeys, b: IdKeys | StringKeys) -> tuple[int, list[str]]:
    """How many distinct keys two splits share, and the smallest three (id keys never match
    string keys)."""
    if isinstance(a, IdKeys) and isinstance(b, IdKeys):
        count, first = a.ids.common(b.ids)
        return count, a.show(first)
    if isinstance(a, StringKeys) and isinstance(b, StringKeys):
        both = np.flatnonzero(_positions(a, b) >= 0)
        return int(both.size), a.show(both[:3])
    return 0, []


def shared_assignment(
    task_id: str,
    key_column: str,
    keys: dict[str, IdKeys | StringKeys],
    assignments: dict[str, Assignment],
) -> Iterator[Finding]:
    """Tasks that share a key column must put each key in the same split."""
    if key_column not in assignments:
        merged = assignment(task_id, keys)
        if merged is not None:
            assignments[key_column] = merged
        return
    first = assignments[key_column]
    differ = 0
    for split, k in keys.items():
        if isinstance(k, IdKeys):
            differ += k.moved if len(first) == 2 else 0
        elif len(first) == 3:
            _, first_keys, first_split = first
            pos = _positions(k, first_keys)
            hit = pos >= 0
            differ += int(k.counts[hit][first_split[pos[hit]] != SPLITS.index(split)].sum())
    if differ:
        yield Finding(
            "tasks",
            f"{differ} {key_column} value(s) sit in another split than in task {first[0]}; "
            "tasks sharing a key must share its split",
            where=f"tasks/{task_id}",
        )


def assignment(task_id: str, keys: dict[str, IdKeys | StringKeys]) -> Assignment | None:
    """One task's keys over all its splits, as the split each key sits in (the first one for a
    key in several: the overlap is reported on its own); ``None`` for a mix of kinds."""
    if all(isinstance(k, IdKeys) for k in keys.values()):
        sets = tuple(k.ids if isinstance(k, IdKeys) else None for k in (keys.get(s) for s in SPLITS))
        return task_id, sets
    strings = [(SPLITS.index(s), k) for s in SPLITS if isinstance(k := keys.get(s), StringKeys)]
    if len(strings) != len(keys):
        return None
    values_pa = pa.chunked_array([k.unique for _, k in strings], type=pa.large_string()).combine_chunks()
    splits = np.concatenate([np.full(len(k.unique), i, dtype=np.int8) for i, k in strings])
    unique_pa = pc.unique(values_pa)
    unique_pa = pc.take(unique_pa, pc.sort_indices(unique_pa))
    idx = np.asarray(
        pc.index_in(values_pa, value_set=unique_pa).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    split = np.zeros(len(unique_pa), dtype=np.int8)
    split[idx[::-1]] = splits[::-1]
    return task_id, StringKeys(unique_pa, np.ones(len(unique_pa), dtype=np.int64), 0), split
