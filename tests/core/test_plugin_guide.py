"""docs/plugins.md cannot drift from the code (datasette's test_docs.py idea).

Every hook the plugin manager knows is documented under its own heading with its exact
signature and kind; every quoted worked example is still verbatim in the file it names; every
environment variable, dataclass field, BundleWriter method and conformance check is mentioned.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path
from typing import Any

import pytest
from leadforge.bundle import BundleWriter, ManifestFields, SplitFractions, StructuralRedactions, TaskSpec
from leadforge.features import FeatureSpec
from leadforge.hookspecs import PLUGIN_API
from leadforge.plugins import PluginHost
from leadforge.schemes import GenerateOption, SchemeInfo
from leadforge.testing import CHECKS
from leadforge.validation import Finding

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "plugins.md"
CORE = REPO / "leadforge-core" / "src" / "leadforge"


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


def hook_sections(guide: str) -> dict[str, str]:
    """``### `name` `` section bodies of the hook reference."""
    reference = guide.split("## 2. Hook reference", 1)[1].split("\n## ", 1)[0]
    parts = re.split(r"^### `(\w+)`\s*$", reference, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def code_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.M | re.S)


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


def test_no_section_documents_a_hook_that_does_not_exist(guide: str) -> None:
    assert set(hook_sections(guide)) == set(hook_specs())


def test_quoted_examples_are_verbatim_in_their_source(guide: str) -> None:
    quoted = [b for b in code_blocks(guide) if b.startswith("# examples/")]
    assert len(quoted) >= 10
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


@pytest.mark.parametrize(
    "cls",
    [
        SchemeInfo,
        GenerateOption,
        ManifestFields,
        StructuralRedactions,
        TaskSpec,
        SplitFractions,
        FeatureSpec,
        Finding,
    ],
)
def test_every_field_of_the_public_dataclasses_is_documented(cls: type, guide: str) -> None:
    missing = [f.name for f in dataclasses.fields(cls) if f"`{f.name}`" not in guide and f.name not in guide]
    assert not missing, f"{cls.__name__} fields missing from docs/plugins.md: {missing}"
    assert cls.__name__ in guide


def test_every_bundle_writer_method_is_documented(guide: str) -> None:
    methods = [n for n, _ in inspect.getmembers(BundleWriter, inspect.isfunction) if not n.startswith("_")]
    assert "declare_features" in methods
    missing = [m for m in methods if f"`{m}(" not in guide]
    assert not missing, f"BundleWriter methods missing from docs/plugins.md: {missing}"


def test_every_conformance_check_is_documented(guide: str) -> None:
    table = guide.split("## 9. The conformance kit", 1)[1]
    missing = [c.name for c in CHECKS if f"| `{c.name}` |" not in table]
    assert not missing, f"conformance checks missing from the table in docs/plugins.md: {missing}"


def test_the_plugin_api_version_is_the_one_core_implements(guide: str) -> None:
    assert f"This leadforge-core implements plugin API {PLUGIN_API}" in guide
    assert f"LEADFORGE_PLUGIN_API = ({PLUGIN_API}, {PLUGIN_API})" in guide
