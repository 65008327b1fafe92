"""``latent_registry.json``: every entity's latent traits, rendered shard by shard.

A million-lead world has millions of trait values, so the JSON text is assembled in Arrow
(one line per entity, no Python object per value). The layout is one entity per line,
which stays valid JSON whatever the size::

    {
      "account_latents": {
        "acct_000001": {"latent_account_fit": 0.612, ...},
        ...
      },
      "contact_latents": {...},
      "lead_latents": {...}
    }
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from leadforge.columns import id_array

from leadforge_leadscoring.population import Population, Shard

SECTIONS = (("account_latents", "acct"), ("contact_latents", "cnt"), ("lead_latents", "lead"))


@dataclass(frozen=True)
class ShardLatents:
    """Trait arrays of one shard's accounts, contacts and leads, with their first id numbers."""

    starts: tuple[int, int, int]
    traits: tuple[Mapping[str, np.ndarray], Mapping[str, np.ndarray], Mapping[str, np.ndarray]]

    @classmethod
    def of(cls, shard: Shard, pop: Population) -> ShardLatents:
        return cls(
            (shard.account_start, shard.contact_start, shard.lead_start),
            (pop.accounts.traits, pop.contacts.traits, pop.leads.traits),
        )


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, type=pa.large_string())


def _lines(prefix: str, start: int, traits: Mapping[str, np.ndarray]) -> bytes:
    """``,\\n    "<id>": {"<trait>": <value>, ...}`` for every entity, as one byte string."""
    names = sorted(traits)
    if not names:
        return b""
    n = traits[names[0]].size
    if n == 0:
        return b""
    ids = id_array(prefix, np.arange(start + 1, start + n + 1))
    parts: list[pa.Array | pa.Scalar] = [_text(',\n    "'), ids]
    for i, name in enumerate(names):
        values = pc.cast(pa.array(np.round(traits[name], 6)), pa.large_string())
        parts += [_text(('": {"' if i == 0 else ', "') + name + '": '), values]
    parts.append(_text("}"))
    joined = pc.binary_join_element_wise(*parts, _text(""))
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int64)[joined.offset : joined.offset + n + 1]
    data = joined.buffers()[2]
    assert data is not None
    return bytes(data.to_pybytes()[offsets[0] : offsets[-1]])


def render(shards: Iterable[ShardLatents]) -> str:
    """The whole registry as JSON text (values rounded to 6 decimals)."""
    chunks: list[list[bytes]] = [[], [], []]
    for latents in shards:
        for k, (_, prefix) in enumerate(SECTIONS):
            chunks[k].append(_lines(prefix, latents.starts[k], latents.traits[k]))
    out = ["{"]
    for k, (section, _) in enumerate(SECTIONS):
        body = b"".join(chunks[k])
        text = body[2:].decode("ascii") if body else ""
        out.append(
            f'  "{section}": {{' + ("\n" + text + "\n  " if text else "") + "}" + ("," if k < 2 else "")
        )
    out.append("}")
    return "\n".join(out)
