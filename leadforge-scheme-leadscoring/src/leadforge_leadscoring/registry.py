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

from collections.abc import Callable, Iterable, Iterator, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from leadforge.columns import id_array

from leadforge_leadscoring.population import Population, Shard

KEY = "latent_registry"
SECTIONS = (("account_latents", "acct"), ("contact_latents", "cnt"), ("lead_latents", "lead"))


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


def parts(shard: Shard, pop: Population) -> tuple[bytes, bytes, bytes]:
    """One shard's lines of each section (accounts, contacts, leads), each starting with ``,\\n``."""
    starts = (shard.account_start, shard.contact_start, shard.lead_start)
    traits = (pop.accounts.traits, pop.contacts.traits, pop.leads.traits)
    a, c, ld = (_lines(prefix, starts[k], traits[k]) for k, (_, prefix) in enumerate(SECTIONS))
    return a, c, ld


def part_key(section: int) -> str:
    return f"{KEY}-{section}"


def assemble(parts_of: Callable[[str], Iterable[bytes]]) -> Iterator[bytes]:
    """The whole registry as byte chunks, from every shard's parts in order (values rounded to 6
    decimals); one shard's section in memory at a time."""
    yield b"{\n"
    for k, (section, _) in enumerate(SECTIONS):
        yield f'  "{section}": {{'.encode("ascii")
        first = True
        for chunk in parts_of(part_key(k)):
            if not chunk:
                continue
            yield b"\n" + chunk[2:] if first else chunk
            first = False
        if not first:
            yield b"\n  "
        yield b"}" + (b"," if k < len(SECTIONS) - 1 else b"") + b"\n"
    yield b"}"
