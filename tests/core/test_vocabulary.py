"""Names and contact details drawn column-wise from recipe word lists."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from leadforge.errors import InvalidRecipeError
from leadforge.recipes import load_recipe
from leadforge.vocabulary import (
    Vocabulary,
    company_domains,
    company_names,
    email_addresses,
    person_names,
)

PACK = Path(__file__).resolve().parents[2] / "leadforge-recipes" / "src" / "leadforge_recipes"
EN = PACK / "vocabulary" / "en.yaml"
INDUSTRIES = ["manufacturing", "logistics", "professional_services", "healthcare_non_clinical"]

RECIPE = """\
id: vocab_toy
title: Vocabulary toy
scheme: toy
description: A recipe for vocabulary tests.
supported_modes: [student_public]
supported_difficulty: [intro]
"""


@pytest.fixture(scope="module")
def en() -> Vocabulary:
    return Vocabulary.load(EN)


def _distinct(values: pa.Array) -> float:
    return float(pc.count_distinct(values).as_py()) / len(values)


def test_first_party_vocabulary_is_large(en: Vocabulary) -> None:
    assert len(en.first_names) >= 500 and len(en.last_names) >= 800
    assert len(en.stems) >= 300
    assert set(INDUSTRIES) <= set(en.industry_words)


@pytest.mark.slow
def test_company_names_stay_distinct_at_a_million(en: Vocabulary) -> None:
    n = 1_000_000
    industries = pa.array(np.random.default_rng(0).choice(INDUSTRIES, n))
    assert _distinct(company_names(en, np.random.default_rng(1), n, industries)) >= 0.95
    assert _distinct(company_names(en, np.random.default_rng(2), n)) >= 0.95


def test_company_names_are_distinct_and_free_of_digits(en: Vocabulary) -> None:
    names = company_names(en, np.random.default_rng(5), 10_000, pa.array(INDUSTRIES * 2_500))
    assert names.type == pa.string() and names.null_count == 0
    assert _distinct(names) >= 0.99
    assert not pc.any(pc.match_substring_regex(names, r"[0-9_]")).as_py()
    assert pc.min(pc.utf8_length(names)).as_py() >= 3
    shapes = {
        "pair": pc.mean(pc.cast(pc.match_substring(names, " & "), pa.int8())).as_py(),
        "suffix": pc.mean(
            pc.cast(pc.match_substring_regex(names, r" (Inc\.|LLC|Ltd|Corp\.|Co\.)$"), pa.int8())
        ).as_py(),
    }
    assert 0.05 < shapes["pair"] < 0.15
    assert 0.1 < shapes["suffix"] < 0.5


def test_industry_words_follow_the_industry(en: Vocabulary) -> None:
    n = 4_000
    logistics = en.industry_words["logistics"]

    def share(industry: pa.Array | None) -> float:
        names = company_names(en, np.random.default_rng(9), n, industry).to_pylist()
        return sum(any(w in name for w in logistics) for name in names) / n

    assert share(pa.array(["logistics"] * n)) > 0.6 > 0.2 > share(None)


def test_domains_derive_from_names_and_countries() -> None:
    names = pa.array(
        ["Halcyon Freight Partners", "Hale & Whitmore LLC", "Bluewater Analytics", "Zoë Labs Inc."]
    )
    domains = company_domains(names, pa.array(["US", "UK", None, "DE"])).to_pylist()
    assert domains == ["halcyonfreight.com", "halewhitmore.co.uk", "bluewateranalytics.com", "zoelabs.de"]
    assert company_domains(names).to_pylist()[1] == "halewhitmore.com"


def test_emails_match_the_person_and_the_company(en: Vocabulary) -> None:
    rng = np.random.default_rng(4)
    n = 20_000
    names = company_names(en, rng, n)
    domains = company_domains(names, pa.array(["US", "UK"] * (n // 2)))
    first, last = person_names(en, rng, n)
    emails = email_addresses(first, last, domains, rng)
    assert emails.null_count == 0
    pattern = re.compile(r"^[a-z]+(\.[a-z]+)?@[a-z]+(\.[a-z]+)+$")
    rows = list(
        zip(emails.to_pylist(), first.to_pylist(), last.to_pylist(), domains.to_pylist(), strict=True)
    )
    shapes = {"first.last": 0, "flast": 0, "first": 0}
    for email, f, la, d in rows:
        assert pattern.match(email), email
        local, domain = email.split("@")
        assert domain == d
        f, la = re.sub("[^a-z]", "", f.lower()), re.sub("[^a-z]", "", la.lower())
        if local == f"{f}.{la}":
            shapes["first.last"] += 1
        elif local == f[0] + la:
            shapes["flast"] += 1
        else:
            assert local == f
            shapes["first"] += 1
    assert shapes["first.last"] > shapes["flast"] > shapes["first"] > 0


def test_draws_are_deterministic(en: Vocabulary) -> None:
    def run() -> str:
        rng = np.random.default_rng(42)
        names = company_names(en, rng, 2_000, pa.array(INDUSTRIES * 500))
        first, last = person_names(en, rng, 2_000)
        emails = email_addresses(first, last, company_domains(names), rng)
        text = "\n".join(names.to_pylist() + emails.to_pylist())
        return hashlib.sha256(text.encode()).hexdigest()

    assert run() == run()


def _recipe(tmp_path: Path, extra: str = "") -> Path:
    pack = tmp_path / "pack"
    folder = pack / "recipes" / "vocab_toy"
    folder.mkdir(parents=True)
    (pack / "__init__.py").write_text("")
    (folder / "recipe.yaml").write_text(RECIPE + extra)
    return folder


def test_recipe_without_a_vocabulary_gets_the_default(tmp_path: Path) -> None:
    recipe = load_recipe(_recipe(tmp_path), "test")
    vocab = Vocabulary.of(recipe)
    assert vocab == Vocabulary.default()
    assert len(company_names(vocab, np.random.default_rng(0), 100)) == 100


def test_recipe_names_a_vocabulary_inside_its_pack(tmp_path: Path) -> None:
    folder = _recipe(tmp_path, "vocabulary: ../../vocabulary/en.yaml\n")
    (folder.parents[1] / "vocabulary").mkdir()
    (folder.parents[1] / "vocabulary" / "en.yaml").write_bytes(EN.read_bytes())
    assert Vocabulary.of(load_recipe(folder, "test")) == Vocabulary.load(EN)


@pytest.mark.parametrize("rel", ["../../../outside.yaml", "/etc/passwd", "../../..", "", 3])
def test_hostile_vocabulary_paths_are_refused(tmp_path: Path, rel: object) -> None:
    (tmp_path / "outside.yaml").write_bytes(EN.read_bytes())
    folder = _recipe(
        tmp_path, f"vocabulary: {rel!r}\n" if not isinstance(rel, int) else f"vocabulary: {rel}\n"
    )
    with pytest.raises(InvalidRecipeError, match="vocabulary") as info:
        Vocabulary.of(load_recipe(folder, "test"))
    assert "\n" not in str(info.value)


def test_symlinked_vocabulary_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside.yaml").write_bytes(EN.read_bytes())
    folder = _recipe(tmp_path, "vocabulary: ../../vocabulary/en.yaml\n")
    (folder.parents[1] / "vocabulary").mkdir()
    (folder.parents[1] / "vocabulary" / "en.yaml").symlink_to(tmp_path / "outside.yaml")
    with pytest.raises(InvalidRecipeError, match="symbolic link"):
        Vocabulary.of(load_recipe(folder, "test"))


@pytest.mark.parametrize(
    ("patch", "key"),
    [
        ({"first_names": ["Ann", "R2D2"]}, "people.first_names"),
        ({"last_names": []}, "people.last_names"),
        ({"nicknames": ["Al"]}, "people.nicknames"),
    ],
)
def test_bad_word_lists_are_one_line_errors(en: Vocabulary, patch: dict[str, object], key: str) -> None:
    people = {"first_names": list(en.first_names), "last_names": list(en.last_names), **patch}
    company = {
        "stems": list(en.stems),
        "prefixes": list(en.prefixes),
        "roots": list(en.roots),
        "modifiers": list(en.modifiers),
        "industry_words": {k: list(v) for k, v in en.industry_words.items()},
        "suffixes": list(en.suffixes),
    }
    with pytest.raises(InvalidRecipeError, match=key.replace(".", r"\.")):
        Vocabulary.from_mapping({"company": company, "people": people}, "v.yaml")


def test_domains_keep_only_letters_whatever_the_text() -> None:
    rng = np.random.default_rng(8)
    texts = ["".join(chr(c) for c in rng.integers(32, 127, rng.integers(0, 12))) for _ in range(3_000)]
    texts += ["Émile Café", "", "Ørsted & Søn"]
    got = company_domains(pa.array(texts), suffixes=("Inc.",)).to_pylist()
    for text, domain in zip(texts, got, strict=True):
        base = re.sub(r"(?:\s+(?:Inc\.))+$", "", text)
        letters = re.sub("[^a-z]", "", unicodedata.normalize("NFKD", base).lower())
        assert domain == (letters or "company") + ".com", text
