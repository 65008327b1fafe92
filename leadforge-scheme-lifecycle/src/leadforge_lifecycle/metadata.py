"""Hidden truth for instructor bundles: the latent registry and the mechanism that actually ran.

``latent_registry.json`` holds the raw sampled latents (before account/customer blending).
``mechanism_summary.json`` holds the family's parameter tables (one object per mechanism) plus
everything the tier changed — the calibrated multipliers, the health and dunning lifts, the
telemetry noise — and the tier rates the world actually reached (from the figures
``write_bundle`` gathered).

The registry grows with every customer, so its text is rendered column-wise in Arrow (no Python
object per entity or value): each shard task renders its customers' members
(:func:`customer_part`) and hands them to core as a metadata part; ``write`` streams the
account section in fixed-size blocks, then the shards' parts in shard order. The bytes are the
ones ``json.dumps(registry, indent=2)`` would write for the whole mapping.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from leadforge.bundle import BundleWriter
from leadforge.columns import id_array

from leadforge_lifecycle.families import TRAITS
from leadforge_lifecycle.population import Accounts, CustomerBlock
from leadforge_lifecycle.stats import BundleStats
from leadforge_lifecycle.world import LifecycleWorld

DIGITS = 6
REGISTRY = "latent_registry.json"
#: Accounts rendered per block of the account section, so the section's text never sits in
#: memory whole (a 3M-customer world has a million accounts).
ACCOUNT_BLOCK = 50_000
#: ``|v|`` range where Arrow's float → string cast writes the digits ``repr`` writes (it only
#: drops the ``.0`` of whole numbers); values outside it are rare and formatted by ``repr``.
_PLAIN = (1e-4, 1e9)


def write(world: LifecycleWorld, writer: BundleWriter, stats: BundleStats) -> None:
    writer.write_metadata_chunks(REGISTRY, registry_chunks(world.accounts, writer.metadata_parts(REGISTRY)))
    writer.write_metadata_json("mechanism_summary.json", mechanism_summary(world, stats))


def registry_chunks(accounts: Accounts, customer_parts: Iterable[bytes]) -> Iterator[bytes]:
    """``latent_registry.json``: the account section, then the shards' customer parts in order.

    ``{"account_latents": {id: {...}}, "customer_latents": {id: {...}}}`` with the raw sampled
    latents, rounded to six decimals. Every member starts with ``,``; the first of each section
    drops it.
    """
    yield b'{\n  "account_latents": {'
    yield from _section(account_parts(accounts))
    yield b'\n  },\n  "customer_latents": {'
    yield from _section(customer_parts)
    yield b"\n  }\n}"


def _section(parts: Iterable[bytes]) -> Iterator[bytes]:
    first = True
    for part in parts:
        if first and part:
            part, first = part[1:], False
        yield part


def account_parts(accounts: Accounts) -> Iterator[bytes]:
    for first, block in accounts.blocks(ACCOUNT_BLOCK):
        yield members(
            "acct",
            np.arange(first + 1, first + len(block) + 1, dtype=np.int64),
            {
                "latent_budget_stability": block.budget_stability,
                "latent_organizational_stability": block.organizational_stability,
            },
        )


def customer_part(block: CustomerBlock) -> bytes:
    """One shard's members of ``customer_latents`` (raw latents, in trait order)."""
    return members("cust", block.numbers, {f"latent_{t}": block.latents.trait(t) for t in TRAITS})


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, type=pa.large_string())


def members(prefix: str, numbers: np.ndarray, columns: Mapping[str, np.ndarray]) -> bytes:
    """``,\\n    "<id>": {\\n      "<name>": <value>, …\\n    }`` for every entity, as one byte string.

    The nesting and indentation are those of ``json.dumps(indent=2)`` one level down.
    """
    n = int(numbers.size)
    if n == 0 or not columns:
        return b""
    parts: list[pa.Array | pa.Scalar] = [_text(',\n    "'), id_array(prefix, numbers)]
    for i, (name, values) in enumerate(columns.items()):
        parts += [_text(('": {' if i == 0 else ",") + '\n      "' + name + '": '), json_floats(values)]
    parts.append(_text("\n    }"))
    joined = pc.binary_join_element_wise(*parts, _text(""))
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int64)[joined.offset : joined.offset + n + 1]
    data = joined.buffers()[2]
    assert data is not None
    return bytes(memoryview(data)[offsets[0] : offsets[-1]])


def json_floats(values: np.ndarray) -> pa.Array:
    """Each value rounded to six decimals, as ``json.dumps`` writes a float (``repr``), column-wise.

    Arrow's cast writes the same shortest digits as ``repr`` but drops ``.0`` and switches to
    exponents at other magnitudes; whole numbers get ``.0`` back and the few values outside
    ``_PLAIN`` (at most a hundred distinct ones below 1e-4 after rounding) go through ``repr``.
    """
    v = np.round(np.asarray(values, dtype=np.float64), DIGITS)
    if not np.isfinite(v).all():
        raise ValueError("latent registry values must be finite")
    text = pc.cast(pa.array(v), pa.large_string())
    whole = v == np.trunc(v)
    if whole.any():
        text = pc.if_else(pa.array(whole), pc.binary_join_element_wise(text, _text(".0"), _text("")), text)
    size = np.abs(v)
    odd = (v != 0) & ((size < _PLAIN[0]) | (size >= _PLAIN[1]))
    if odd.any():
        unique, inverse = np.unique(v[odd], return_inverse=True)
        spelled = pa.array([repr(float(u)) for u in unique], type=pa.large_string()).take(pa.array(inverse))
        text = pc.replace_with_mask(text, pa.array(odd), spelled)
    return text


def mechanism_summary(world: LifecycleWorld, stats: BundleStats) -> dict[str, Any]:
    out = world.mechanism.summary()
    out["calibration"] = world.calibration.summary()
    r = stats.rates
    out["world_rates"] = {
        "customers": r.customers,
        "first_year_churn": round(r.first_year_churn, 6),
        "expansion_rate": round(r.expansion_rate, 6),
        "still_active_share": round(r.still_active_share, 6),
        "term_end_share": round(r.term_end_share, 6) if r.churned else None,
        "leavers_measured": r.leavers,
    }
    return out
