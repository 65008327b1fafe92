"""docs/plugins.md cannot drift from the code (datasette's test_docs.py idea).

Every hook the plugin manager knows is documented under its own heading with its exact
signature and kind; every public dataclass has a field table that lists exactly its fields, in
order; every BundleWriter method is listed with its exact parameters; every quoted example is
still verbatim in the file it names; every environment variable, manifest key and conformance
check is mentioned.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path
from typing import Any

import pytest
from leadforge.bundle import (
    BundleWriter,
    Cutoff,
    ForeignKey,
    ManifestFields,
    PublicView,
    RelationalContract,
    SplitFractions,
    StructuralRedactions,
    TableContract,
    TaskSpec,
)
from leadforge.bundle.manifest import CORE_KEYS, ENVELOPE_KEYS, HEAD_KEYS, TAIL_KEYS
from leadforge.config import GenerationConfig
from leadforge.features import FeatureSpec
from leadforge.hookspecs import PLUGIN_API
from leadforge.plugins import PluginHost
from leadforge.schemes import GenerateOption, SchemeInfo
from leadforge.validation import Finding

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "plugins.md"
CORE = REPO / "leadforge-core" / "src" / "leadforge"
#: Every dataclass a scheme author builds or reads, each with a field table in the guide.
DATACLASSES = (
    SchemeInfo,
    GenerateOption,
    RelationalContract,
    TableContract,
    ForeignKey,
    PublicView,
    Cutoff,
    GenerationConfig,
    FeatureSpec,
    TaskSpec,
    SplitFractions,
    ManifestFields,
    StructuralRedactions,
    Finding,
)


@pytest.fixture(scope="module")
def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def hook_specs() -> dict[str, Any]:
    pm = PluginHost.from_plugins([]).pm
    callers = (getattr(pm.hook, name) for name in vars(pm.hook))
    return {c.name: c.spec for c in callers if getattr(c, "spec", None) is not None}


def signature_line(name: str, fn: Any) -> str:
    def text(annotation: Any) -> str:
        return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)

    sig = inspect.signature(fn)
    params = ", ".join(f"{p.name}: {text(p.annotation)}" for p in sig.parameters.values())
    return f"def {name}({params}) -> {text(sig.return_annotation)}:"


def section(guide: str, title: str) -> str:
    """The body of the numbered ``## N. <title>`` section."""
    match = re.search(rf"^## \d+\. {re.escape(title)}\s*$", guide, flags=re.M)
    assert match, f"docs/plugins.md has no '## N. {title}' section"
    return guide[match.end() :].split("\n## ", 1)[0]


def hook_sections(guide: str) -> dict[str, str]:
    """``### `name` `` section bodies of the hook reference."""
    parts = re.split(r"^### `(\w+)`\s*$", section(guide, "Hook reference"), flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def code_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.M | re.S)


def tables(text: str) -> list[list[list[str]]]:
    """Every Markdown table: rows (header and separator dropped) of stripped cells."""
    out: list[list[list[str]]] = []
    for block in re.findall(r"(?:^\|.*\|\s*\n)+", text, flags=re.M):
        lines = block.strip().splitlines()
        out.append([[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]])
    return out


def documented_fields(guide: str, cls: type) -> list[str]:
    """The names in the first column of the ``| field | meaning |`` table that follows the
    class's defining mention (its ``### Name`` heading, else ``leadforge.<module>.Name``)."""
    name = cls.__name__
    found = re.search(rf"^### {name}$", guide, flags=re.M) or re.search(
        rf"`leadforge\.[\w.]*\b{name}`", guide
    )
    assert found, f"docs/plugins.md has no '### {name}' heading and never names leadforge.<module>.{name}"
    rest = guide[found.end() :]
    assert "| field | meaning |" in rest, f"no field table follows the definition of {name}"
    rows = tables(rest[rest.index("| field | meaning |") :])[0]
    return [n for row in rows for n in re.findall(r"`(\w+)`", row[0])]


def writer_methods() -> dict[str, str]:
    """``name(params)`` as the guide must spell each public BundleWriter method."""
    out = {}
    for name, fn in inspect.getmembers(BundleWriter, inspect.isfunction):
        if name.startswith("_"):
            continue
        params, star = [], False
        for p in list(inspect.signature(fn).parameters.values())[1:]:
            if p.kind is inspect.Parameter.KEYWORD_ONLY and not star:
                params.append("*")
                star = True
            params.append(p.name)
        out[name] = f"{name}({', '.join(params)})"
    return out


def test_the_plugin_manager_has_the_hooks_we_document() -> None:
    assert len(hook_specs()) >= 7


@pytest.mark.parametrize("hook", sorted(hook_specs()))
def test_each_hook_is_documented_with_its_exact_signature(hook: str, guide: str) -> None:
    sections = hook_sections(guide)
    assert hook in sections, f"docs/plugins.md has no '### `{hook}`' section in the hook reference"
    spec = hook_specs()[hook]
    blocks = code_blocks(sections[hook])
    assert blocks, f"the {hook} section shows no signature"
    assert blocks[0].strip() == signature_line(hook, spec.function), (
        f"the {hook} signature in docs/plugins.md differs from hookspecs.py"
    )
    kind = "first result" if spec.opts.get("firstresult") else "collect"
    assert f"Kind: {kind}." in sections[hook], f"the {hook} section must say 'Kind: {kind}.'"
    examples = [b for b in blocks if b.startswith("# examples/leadforge-scheme-support/")]
    assert any(f"def {hook}(" in b for b in examples), f"the {hook} section has no worked example"
    for name in inspect.signature(spec.function).parameters:
        assert f"`{name}`" in sections[hook] or name in blocks[0], (hook, name)


def test_no_section_documents_a_hook_that_does_not_exist(guide: str) -> None:
    assert set(hook_sections(guide)) == set(hook_specs())


def test_quoted_examples_are_verbatim_in_their_source(guide: str) -> None:
    quoted = [b for b in code_blocks(guide) if re.match(r"# (examples|leadforge-core)/", b)]
    assert len(quoted) >= 12
    for block in quoted:
        first, _, body = block.partition("\n")
        source = (REPO / first[2:].strip()).read_text(encoding="utf-8")
        assert body in source, f"docs/plugins.md quotes code that is no longer in {first[2:]}:\n{body}"


def test_every_environment_variable_is_documented(guide: str) -> None:
    names: set[str] = set()
    for path in (CORE / "plugins.py", CORE / "cli.py", CORE / "bundle" / "staging.py"):
        names |= set(re.findall(r"\b(?:LEADFORGE_[A-Z_]+|SOURCE_DATE_EPOCH)\b", path.read_text()))
    assert {"LEADFORGE_LOAD_PLUGINS", "LEADFORGE_DISABLE_PLUGINS", "LEADFORGE_STRICT_PLUGINS"} <= names
    missing = sorted(n for n in names if f"`{n}" not in guide)
    assert not missing, f"environment variables missing from docs/plugins.md: {missing}"


@pytest.mark.parametrize("cls", DATACLASSES, ids=lambda c: c.__name__)
def test_each_dataclass_has_a_table_of_exactly_its_fields(cls: type, guide: str) -> None:
    assert cls.__name__ in guide, f"docs/plugins.md never names {cls.__name__}"
    documented = documented_fields(guide, cls)
    actual = [f.name for f in dataclasses.fields(cls)]
    assert documented == actual, (
        f"the field table for {cls.__name__} in docs/plugins.md lists {documented}; the class has {actual}"
    )


def test_every_bundle_writer_method_is_listed_with_its_parameters(guide: str) -> None:
    body = section(guide, "Writing the bundle")
    rows = next(t for t in tables(body) if t and t[0][0].startswith("`declare_features("))
    listed = [re.fullmatch(r"`(.+)`", row[0]) for row in rows]
    assert all(listed), rows
    documented = sorted(m.group(1) for m in listed if m)
    assert documented == sorted(writer_methods().values())


def test_every_manifest_key_is_named_in_order(guide: str) -> None:
    body = section(guide, "Writing the bundle").split("Core writes `manifest.json` last", 1)[1]
    order = [*HEAD_KEYS, *ENVELOPE_KEYS, *TAIL_KEYS]
    assert set(order) == CORE_KEYS
    positions = [body.index(f"`{key}`") for key in order]
    assert positions == sorted(positions), "docs/plugins.md lists the manifest keys out of order"


def test_every_conformance_check_is_documented(guide: str) -> None:
    from leadforge.testing import CHECKS

    rows = next(t for t in tables(section(guide, "The conformance kit")) if t and t[0][0].startswith("`"))
    assert [row[0] for row in rows] == [f"`{c.name}`" for c in CHECKS]


def test_the_plugin_api_version_is_the_one_core_implements(guide: str) -> None:
    assert f"This leadforge-core implements plugin API {PLUGIN_API}" in guide
    assert f"LEADFORGE_PLUGIN_API = ({PLUGIN_API}, {PLUGIN_API})" in guide


def test_the_guide_stands_alone(guide: str) -> None:
    assert not re.search(r"§|\bdecision \d", guide, flags=re.I), "refer to nothing outside the repository"
