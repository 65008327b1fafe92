"""One seeded root for all randomness, split into named substreams.

A substream is derived from ``SHA-256("<seed>:<name>")`` and nothing else, so the draws of
one stream never depend on which other streams exist or in which order they were created.
Adding a new stream therefore never changes the data an existing stream produces.

Children namespace their streams (``rng.child("shard").generator("7")`` derives from the
name ``"shard::7"``); that is how a scheme gives every shard its own independent stream.
"""

from __future__ import annotations

import hashlib
from typing import cast

import numpy as np


class RNG:
    """Named, order-independent random substreams rooted at one seed."""

    __slots__ = ("_prefix", "seed")

    def __init__(self, seed: int, _prefix: str = "") -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}")
        if seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed}")
        self.seed = seed
        self._prefix = _prefix

    def _digest(self, name: str) -> bytes:
        return hashlib.sha256(f"{self.seed}:{self._prefix}{name}".encode()).digest()

    def child(self, name: str) -> RNG:
        """A namespace of substreams: ``child("a").generator("b")`` is stream ``"a::b"``."""
        return RNG(self.seed, f"{self._prefix}{name}::")

    def generator(self, name: str) -> np.random.Generator:
        """A numpy PCG64 generator seeded from the full 256-bit digest of the stream name."""
        entropy = int.from_bytes(self._digest(name), "little")
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))

    def key(self, name: str) -> int:
        """A 64-bit integer derived from the stream name, for hashing rows by id."""
        return int.from_bytes(self._digest(name)[:8], "little")

    def shard(self, index: int) -> RNG:
        """Shard ``index``'s namespace (``shard::<index>::``): core derives it, so every scheme
        gives each shard the same independent substreams whoever simulates it."""
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ValueError(f"shard index must be a non-negative int, got {index!r}")
        return self.child("shard").child(str(index))


_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def mix64(values: np.ndarray, salt: int) -> np.ndarray:
    """SplitMix64 finaliser over uint64 values: a cheap, well-mixed per-row hash."""
    with np.errstate(over="ignore"):
        z = values.astype(np.uint64) ^ np.uint64(salt & 0xFFFFFFFFFFFFFFFF)
        z = (z + np.uint64(0x9E3779B97F4A7C15)) & _MASK64
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK64
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK64
        return z ^ (z >> np.uint64(31))


def hash_uniform(values: np.ndarray, salt: int) -> np.ndarray:
    """Map uint64 keys to deterministic uniforms in [0, 1) that depend only on key and salt."""
    return (mix64(values, salt) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def stable_order(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")``, as a radix sort when the keys are integers that fit
    in 16 bits (a shard's local entity numbers)."""
    keys = np.asarray(keys)
    small = bool(keys.size) and keys.dtype.kind in "iu" and int(keys.min()) >= 0 and int(keys.max()) < 1 << 16
    return np.argsort(keys.astype(np.uint16) if small else keys, kind="stable")


def ordinals(groups: np.ndarray) -> np.ndarray:
    """Each row's place (0, 1, …) among the rows of its group, in row order: with a row's group
    it keys the row by what belongs to that group alone, whatever other groups hold."""
    groups = np.asarray(groups)
    n = groups.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if bool(np.all(groups[1:] >= groups[:-1])):
        order = None  # already grouped (a table's rows by owner): no sort
        ranked = groups
    else:
        order = stable_order(groups)
        ranked = groups[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    place = np.arange(n, dtype=np.int64) - np.repeat(starts, np.diff(np.r_[starts, n]))
    if order is None:
        return place
    out = np.empty(n, dtype=np.int64)
    out[order] = place
    return out


def entity_keys(numbers: np.ndarray, ordinal: np.ndarray) -> np.ndarray:
    """uint64 keys ``number << 24 | ordinal`` of rows owned by entities (an entity's n-th event)."""
    return (np.asarray(numbers, dtype=np.uint64) << np.uint64(24)) | np.asarray(ordinal, dtype=np.uint64)


class KeyedUniforms:
    """Stands in for a generator's ``random(n)`` over keyed rows: each call hashes every row's
    key with a fresh salt, so a row's uniforms depend on its key alone. Code that draws from
    a ``np.random.Generator`` row by row then gives an entity the same draws whatever rows the
    other entities have (common random numbers across twin worlds)."""

    def __init__(self, keys: np.ndarray, salt: int) -> None:
        self.keys, self.salt, self.calls = np.asarray(keys, dtype=np.uint64), salt, 0

    def random(self, n: int) -> np.ndarray:
        if n != self.keys.size:
            raise ValueError(f"expected {self.keys.size} uniforms, asked for {n}")
        self.calls += 1
        return hash_uniform(self.keys, self.salt + self.calls)

    def generator(self) -> np.random.Generator:
        """This source, typed as the generator the drawing code expects."""
        return cast("np.random.Generator", self)
