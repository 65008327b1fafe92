"""Company names, domains, person names and e-mail addresses, drawn column-wise from word lists.

Word lists are recipe data: ``recipe.yaml`` may name a vocabulary file (``vocabulary:
../../vocabulary/en.yaml``, relative to the recipe folder and confined to the recipe pack's
folder); a recipe without one gets the compact default bundled here. Every name is drawn
from the rng (never derived from an entity number, which could leak order), and every
function works on whole columns with numpy draws and pyarrow ``take`` / string kernels, so
a million names cost about half a second.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leadforge.errors import InvalidRecipeError
from leadforge.yamlfile import load_mapping

if TYPE_CHECKING:
    from leadforge.recipes import Recipe

#: The ``recipe.yaml`` key naming a vocabulary file.
RECIPE_KEY = "vocabulary"
GENERAL = "general"

#: Shares of the five brand shapes: "Bluewater", "Silver Meridian", "Halcyon", "Whitmore" (each
#: followed by an industry word) and "Hale & Whitmore" (alone); every shape takes an optional
#: suffix. Brand words from the short lists get small shares so names stay distinct at scale.
NAME_SHAPES = (0.4, 0.4, 0.04, 0.06, 0.1)
_PAIR = 4
#: Share of names whose industry word comes from their own industry's list (when given).
INDUSTRY_WORD_SHARE = 0.75
#: E-mail local parts: first.last, flast, first.
EMAIL_PATTERNS = (0.6, 0.3, 0.1)

#: Top-level domain by country code; anything else gets ``.com``.
COUNTRY_TLDS: Mapping[str, str] = {
    "US": ".com",
    "UK": ".co.uk",
    "GB": ".co.uk",
    "CA": ".ca",
    "IE": ".ie",
    "FR": ".fr",
    "DE": ".de",
    "NL": ".nl",
    "ES": ".es",
    "SE": ".se",
    "AU": ".com.au",
    "NZ": ".co.nz",
    "SG": ".com.sg",
    "JP": ".co.jp",
    "IN": ".in",
    "BR": ".com.br",
    "MX": ".com.mx",
}

_DEFAULT_SUFFIXES = (
    "Inc.",
    "LLC",
    "Ltd",
    "Corp.",
    "Co.",
    "Group",
    "Partners",
    "Holdings",
    "Company",
    "Associates",
    "International",
    "Global",
)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_DEFAULT: dict[str, Any] = {
    "stems": _words(
        "Acadia Alder Allegro Alpine Altair Amber Anchor Apex Arbor Archer Argent Ascent Aspen "
        "Atlas Aurora Avalon Axiom Azure Banner Beacon Bedrock Birch Boulder Bramble Cadence "
        "Caliber Camden Canopy Capstone Cardinal Cascade Cedar Citadel Clarion Clover Cobalt "
        "Compass Concord Copper Coral Crescent Crest Cypress Delta Dover Ember Emerald Envoy "
        "Equinox Evergreen Falcon Fathom Flint Forge Fortis Foundry Frontier Garnet Gateway "
        "Granite Grove Halcyon Harbor Haven Hawthorne Helix Heritage Highland Horizon Hudson "
        "Indigo Ironwood Jasper Juniper Keystone Kestrel Landmark Lantern Latitude Laurel "
        "Legacy Liberty Linden Lodestar Lumen Magnolia Maple Mariner Meridian Mesa Milestone "
        "Mosaic Monarch Northstar Nova Oakridge Onyx Orchard Orion Osprey Paragon Pinnacle "
        "Pioneer Polaris Prairie Prism Quarry Radiant Raven Redwood Regent Ridgeline Sable "
        "Sage Sapphire Sentinel Sequoia Sierra Signal Skyline Solstice Spire Sterling Summit "
        "Tamarack Tandem Timber Topaz Trident Vanguard Vantage Vector Vertex Vista Walden "
        "Waypoint Willow Windward Zenith Zephyr"
    ),
    "prefixes": _words(
        "Ash Bay Birch Black Blue Bright Broad Brook Cedar Clear Copper Crown Deep East Elm "
        "Fair Far Fox Glen Gold Green Grey Harbor High Iron Lake Long Maple North Oak Pine Red "
        "River Rock Sand Silver Sky Stone Summit Sun West White Willow Wind Wood"
    ),
    "roots": _words(
        "bank bay bridge brook crest dale field ford gate glen grove haven hill land light line "
        "mark mont point port ridge rock shore side stone ton vale view water way wood worth"
    ),
    "modifiers": _words(
        "Advanced Allied American Applied Atlantic Central Coastal Consolidated Continental "
        "Eastern First General Integrated Metro Midwest Modern National Northern Pacific "
        "Precision Premier Prime Southern Strategic Superior United Universal Valley Western"
    ),
    "modifier_share": 0.35,
    "industry_words": {
        GENERAL: _words(
            "Advisors Analytics Brands Capital Communications Consulting Data Design Digital "
            "Dynamics Engineering Enterprises Equipment Goods Industries Labs Logistics "
            "Management Manufacturing Media Networks Resources Services Solutions Supply "
            "Systems Technologies Trading Ventures Works"
        )
    },
    "suffixes": _DEFAULT_SUFFIXES,
    "suffix_share": 0.6,
    "first_names": _words(
        "Aaron Adam Adrian Aisha Alan Alex Alice Alicia Amanda Amir Amy Ana Andrea Andrew "
        "Angela Anil Anna Anthony Arjun Ashley Ava Barbara Ben Beth Brandon Brian Caitlin "
        "Carlos Carol Catherine Charles Chen Chloe Chris Christina Claire Daniel David Deepak "
        "Diana Diego Donna Dylan Edward Elena Emily Emma Eric Ethan Fatima Fiona Frank Gabriel "
        "Gary George Grace Hannah Harry Hassan Heather Helen Henry Ian Isabel Jack James Jane "
        "Jason Javier Jennifer Jessica John Jose Joseph Julia Karen Kate Kenji Kevin Kim Laura "
        "Lauren Leah Liam Linda Lisa Lucas Luis Maria Mark Mary Matthew Maya Megan Mei Michael "
        "Michelle Miguel Mohammed Nadia Natalie Nathan Neha Nicole Noah Olivia Omar Owen Patrick "
        "Paul Peter Priya Rachel Rahul Raj Rebecca Richard Robert Rosa Ryan Samuel Sandra Sarah "
        "Scott Sean Sofia Sophie Stephen Steven Susan Thomas Tyler Victoria Wei William Yuki Zoe"
    ),
    "last_names": _words(
        "Adams Ahmed Ali Allen Alvarez Anderson Bailey Baker Banks Barnes Bell Bennett Brooks "
        "Brown Bryant Butler Campbell Carter Castillo Chan Chen Clark Collins Cook Cooper Cox "
        "Cruz Davies Davis Diaz Dixon Edwards Evans Fisher Flores Ford Foster Garcia Gibson "
        "Gomez Gonzalez Graham Gray Green Griffin Gupta Hall Hamilton Harris Hayes Henderson "
        "Hernandez Hill Holmes Howard Hughes Hunt Jackson James Jenkins Johnson Jones Jordan "
        "Kelly Khan Kim King Kumar Lee Lewis Li Lopez Martin Martinez Mason Miller Mitchell "
        "Moore Morales Morgan Morris Murphy Murray Nelson Nguyen Parker Patel Perez Perry "
        "Peterson Phillips Powell Price Ramirez Reed Reyes Richardson Rivera Roberts Robinson "
        "Rodriguez Rogers Ross Russell Sanchez Sanders Scott Shah Sharma Shaw Simmons Singh "
        "Smith Stewart Sullivan Tanaka Taylor Thomas Thompson Torres Turner Walker Wang Ward "
        "Watson White Williams Wilson Wong Wood Wright Wu Young Zhang"
    ),
}


@dataclass(frozen=True)
class Vocabulary:
    """Word lists for names; ``industry_words`` maps an industry key (or ``general``) to words."""

    stems: tuple[str, ...]
    prefixes: tuple[str, ...]
    roots: tuple[str, ...]
    modifiers: tuple[str, ...]
    modifier_share: float
    industry_words: Mapping[str, tuple[str, ...]]
    suffixes: tuple[str, ...]
    suffix_share: float
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    source: str = field(default="<built-in>", compare=False)

    @classmethod
    def default(cls) -> Vocabulary:
        """Core's compact built-in lists (for recipes that name no vocabulary file)."""
        return cls(**_DEFAULT)

    @classmethod
    def of(cls, recipe: Recipe) -> Vocabulary:
        """The vocabulary ``recipe.yaml`` names, or the built-in default when it names none."""
        from leadforge.recipes import RECIPE_FILE

        data = load_mapping(recipe.path / RECIPE_FILE)
        rel = data.get(RECIPE_KEY)
        if rel is None:
            return cls.default()
        path = confined_path(recipe.path, rel, f"{recipe.path / RECIPE_FILE}: {RECIPE_KEY}")
        return cls.load(path)

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        return cls.from_mapping(load_mapping(path), str(path))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], file: str) -> Vocabulary:
        """Strict parsing: every list non-empty, plain words without digits, known keys only."""
        _keys(data, {"company", "people"}, file, "")
        company = _section(data, "company", file)
        people = _section(data, "people", file)
        _keys(
            company,
            {"stems", "prefixes", "roots", "modifiers", "modifier_share", "industry_words"}
            | {"suffixes", "suffix_share"},
            file,
            "company.",
        )
        _keys(people, {"first_names", "last_names"}, file, "people.")
        industry = company.get("industry_words")
        if not isinstance(industry, Mapping) or GENERAL not in industry:
            raise InvalidRecipeError(
                f"{file}: company.industry_words must be a mapping with a {GENERAL!r} list"
            )
        shares = {k: _share(company, k, file) for k in ("suffix_share", "modifier_share")}
        return cls(
            stems=_word_list(company, "stems", file, "company."),
            prefixes=_word_list(company, "prefixes", file, "company."),
            roots=_word_list(company, "roots", file, "company."),
            modifiers=_word_list(company, "modifiers", file, "company."),
            modifier_share=shares["modifier_share"],
            industry_words={
                str(k): _word_list(industry, k, file, "company.industry_words.") for k in industry
            },
            suffixes=_word_list(company, "suffixes", file, "company.", punctuation=True),
            suffix_share=shares["suffix_share"],
            first_names=_word_list(people, "first_names", file, "people."),
            last_names=_word_list(people, "last_names", file, "people."),
            source=file,
        )


_WORD = re.compile(r"^[A-Za-z][A-Za-z' -]*$")
_SUFFIX = re.compile(r"^[A-Za-z&][A-Za-z.& ]*$")


def _keys(data: Mapping[str, Any], known: set[str], file: str, prefix: str) -> None:
    for key in data:
        if key not in known:
            raise InvalidRecipeError(
                f"{file}: {prefix}{key} is not a vocabulary key; valid keys: {', '.join(sorted(known))}"
            )


def _share(data: Mapping[str, Any], key: str, file: str) -> float:
    value = data.get(key, 0.5)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidRecipeError(f"{file}: company.{key} must be a number within [0, 1], got {value!r}")
    return float(value)


def _section(data: Mapping[str, Any], key: str, file: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise InvalidRecipeError(f"{file}: {key} must be a mapping")
    return value


def _word_list(
    data: Mapping[str, Any], key: str, file: str, prefix: str, *, punctuation: bool = False
) -> tuple[str, ...]:
    value = data.get(key)
    pattern = _SUFFIX if punctuation else _WORD
    if not isinstance(value, list) or not value:
        raise InvalidRecipeError(f"{file}: {prefix}{key} must be a non-empty list of words")
    for word in value:
        if not isinstance(word, str) or not pattern.match(word) or len(word) > 40:
            raise InvalidRecipeError(
                f"{file}: {prefix}{key} has {word!r}, not a plain ASCII word without digits"
            )
    return tuple(value)


def pack_root(recipe_dir: Path) -> Path:
    """The recipe pack's folder: the Python package (a folder with ``__init__.py``) holding the
    recipe folder or its parent folder, else the folder holding the recipe folder."""
    for parent in (recipe_dir.parent, recipe_dir.parent.parent):
        if (parent / "__init__.py").is_file():
            return parent
    return recipe_dir.parent


def confined_path(recipe_dir: Path, rel: object, where: str) -> Path:
    """``rel`` resolved against the recipe folder, refused unless it stays inside the pack's
    folder and no part of it below that folder is a symbolic link."""
    if not isinstance(rel, str) or not rel.strip() or "\x00" in rel or "\\" in rel:
        raise InvalidRecipeError(f"{where} must be a relative path string, got {rel!r}")
    if os.path.isabs(rel):
        raise InvalidRecipeError(f"{where} must be relative to the recipe folder, got {rel!r}")
    root = Path(os.path.normpath(pack_root(recipe_dir)))
    target = Path(os.path.normpath(recipe_dir / rel))
    if target == root or root not in target.parents:
        raise InvalidRecipeError(f"{where} {rel!r} points outside the recipe pack folder {root}")
    current = root
    for part in target.relative_to(root).parts:
        current = current / part
        if current.is_symlink():
            raise InvalidRecipeError(f"{where} {rel!r} goes through a symbolic link ({current}); refused")
    return target


def _strings(words: tuple[str, ...]) -> pa.Array:
    return pa.array(words, type=pa.string())


def _take(words: tuple[str, ...], rng: np.random.Generator, n: int) -> pa.Array:
    return _strings(words).take(pa.array(rng.integers(0, len(words), n, dtype=np.int32)))


def _codes(values: pa.Array | pa.ChunkedArray | np.ndarray | list[str]) -> tuple[list[str], np.ndarray]:
    """Distinct values (``""`` last, for nulls) and each row's index into them."""
    arr = (
        values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(list(values), type=pa.string())
    )
    enc = arr.cast(pa.string()).dictionary_encode()
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    names = [str(x) for x in enc.dictionary.to_pylist()] + [""]
    idx = enc.indices.fill_null(len(names) - 1).to_numpy(zero_copy_only=False).astype(np.int64)
    return names, idx


def _industry_words(
    vocab: Vocabulary, rng: np.random.Generator, n: int, industries: pa.Array | np.ndarray | None
) -> pa.Array:
    """One industry word per row: from the row's industry list (``INDUSTRY_WORD_SHARE`` of
    rows whose industry has one), otherwise from ``general``."""
    u = rng.random(n)
    own = rng.random(n) < INDUSTRY_WORD_SHARE
    keys = [GENERAL, *sorted(k for k in vocab.industry_words if k != GENERAL)]
    flat = [w for k in keys for w in vocab.industry_words[k]]
    sizes = np.asarray([len(vocab.industry_words[k]) for k in keys], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    group = np.zeros(n, dtype=np.int64)
    if industries is not None:
        names, idx = _codes(industries)
        position = {k: i for i, k in enumerate(keys)}
        code_group = np.asarray([position.get(name, 0) for name in names], dtype=np.int64)
        group = np.where(own, code_group[idx], 0)
    pick = offsets[group] + np.minimum((u * sizes[group]).astype(np.int64), sizes[group] - 1)
    return _strings(tuple(flat)).take(pa.array(pick))


def company_names(
    vocab: Vocabulary,
    rng: np.random.Generator,
    n: int,
    industries: pa.Array | np.ndarray | None = None,
) -> pa.Array:
    """``n`` company names ("Bluewater Integrated Logistics Inc.", "Silver Meridian Analytics",
    "Hale & Whitmore LLC"); ``industries`` (one key per row, optional) picks fitting industry
    words.

    Every row consumes the same draws whatever its shape, so the stream is stable.
    """
    shape = np.searchsorted(np.cumsum(NAME_SHAPES), rng.random(n), side="right").clip(0, _PAIR)
    first = _take(vocab.prefixes, rng, n)
    stem = _take(vocab.stems, rng, n)
    last_a = _take(vocab.last_names, rng, n)
    brand = pc.choose(
        pa.array(shape.astype(np.int8)),
        pc.binary_join_element_wise(first, _take(vocab.roots, rng, n), ""),
        pc.binary_join_element_wise(first, stem, " "),
        stem,
        last_a,
        pc.binary_join_element_wise(last_a, _take(vocab.last_names, rng, n), " & "),
    )
    alone = pa.array(shape == _PAIR)
    none = pa.nulls(n, pa.string())
    modifier = _optional(_take(vocab.modifiers, rng, n), rng.random(n) < vocab.modifier_share, none)
    modifier = pc.if_else(alone, none, modifier)
    word = pc.if_else(alone, none, _industry_words(vocab, rng, n, industries))
    suffix = _optional(_take(vocab.suffixes, rng, n), rng.random(n) < vocab.suffix_share, none)
    return pc.binary_join_element_wise(brand, modifier, word, suffix, " ", null_handling="skip")


def _optional(values: pa.Array, keep: np.ndarray, none: pa.Array) -> pa.Array:
    return pc.if_else(pa.array(keep), values, none)


def _ascii_lower(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Lower-case ASCII letters only (accents folded, everything else dropped)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    ascii_only = pc.all(pc.fill_null(pc.string_is_ascii(values), True)).as_py() is not False
    folded = pc.utf8_lower(values if ascii_only else pc.utf8_normalize(values, form="NFKD"))
    return _letters(pc.cast(folded, pa.large_string()))


def _letters(values: pa.Array) -> pa.Array:
    """Keep only the bytes ``a``–``z`` of each string, as numpy over the string buffer (a regex
    replace per row is twenty times slower)."""
    n = len(values)
    _, offsets_buf, data_buf = values.buffers()
    if n == 0 or offsets_buf is None:
        return pa.array([], type=pa.string())
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[values.offset : values.offset + n + 1]
    whole = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    data = whole[offsets[0] : offsets[-1]]
    keep = (data >= 97) & (data <= 122)
    sizes = np.diff(offsets)
    # kept bytes per row; a trailing False lets every row start index into the array
    lengths = np.add.reduceat(np.append(keep, False).astype(np.int64), offsets[:-1] - offsets[0])
    lengths[sizes == 0] = 0
    new_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    out = pa.Array.from_buffers(
        pa.large_string(), n, [None, pa.py_buffer(new_offsets), pa.py_buffer(data[keep].tobytes())]
    )
    if values.null_count:
        out = pc.if_else(values.is_valid(), out, pa.scalar(None, pa.large_string()))
    return out.cast(pa.string())


def company_domains(
    names: pa.Array | pa.ChunkedArray,
    countries: pa.Array | np.ndarray | None = None,
    *,
    suffixes: tuple[str, ...] = _DEFAULT_SUFFIXES,
) -> pa.Array:
    """A web domain per company name: the name without its suffix, lower-case ASCII, plus a
    top-level domain by country (``.com`` when no country is given or it is unknown)."""
    if isinstance(names, pa.ChunkedArray):
        names = names.combine_chunks()
    ends = "|".join(re.escape(s) for s in sorted(set(suffixes), key=len, reverse=True))
    base = pc.replace_substring_regex(names, pattern=rf"(?:\s+(?:{ends}))+$", replacement="")
    base = _ascii_lower(base)
    base = pc.if_else(pc.equal(pc.utf8_length(base), 0), pa.scalar("company"), base)
    if countries is None:
        tld = pa.array(np.full(len(names), ".com", dtype=object), type=pa.string())
    else:
        codes, idx = _codes(countries)
        table = pa.array([COUNTRY_TLDS.get(c.upper(), ".com") for c in codes], type=pa.string())
        tld = table.take(pa.array(idx))
    return pc.binary_join_element_wise(base, tld, "")


def person_names(vocab: Vocabulary, rng: np.random.Generator, n: int) -> tuple[pa.Array, pa.Array]:
    """``n`` (first, last) name pairs drawn independently."""
    return _take(vocab.first_names, rng, n), _take(vocab.last_names, rng, n)


def email_addresses(
    first: pa.Array | pa.ChunkedArray,
    last: pa.Array | pa.ChunkedArray,
    domains: pa.Array | pa.ChunkedArray,
    rng: np.random.Generator,
) -> pa.Array:
    """Work e-mail addresses: ``first.last@``, ``flast@`` or ``first@`` the company domain."""
    f, la = _ascii_lower(first), _ascii_lower(last)
    n = len(f)
    pattern = np.searchsorted(np.cumsum(EMAIL_PATTERNS), rng.random(n), side="right").clip(0, 2)
    initial = pc.utf8_slice_codeunits(f, 0, 1)
    local = pc.choose(
        pa.array(pattern.astype(np.int8)),
        pc.binary_join_element_wise(f, la, "."),
        pc.binary_join_element_wise(initial, la, ""),
        f,
    )
    return pc.binary_join_element_wise(local, domains, "@")
