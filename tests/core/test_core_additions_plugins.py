"""Core additions made for the conformance kit (issue 3).

- ``Bundle.manifest_fields`` records what the scheme declared on ``save`` (the kit reads the
  hidden-truth keys from it).
- ``BundleWriter.finalize`` refuses manifest fields that would overwrite a core key or each
  other; before, ``ManifestFields(config={"seed": 0})`` silently replaced the real seed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from leadforge.api import Generator
from leadforge.bundle import BundleWriter, ManifestFields
from leadforge.config import GenerationConfig
from leadforge.enums import Difficulty, ExposureMode
from leadforge.errors import GenerationError
from leadforge.features import FeatureSpec
from leadforge.params import param
from leadforge.plugins import PluginHost


def test_save_records_the_manifest_fields_the_scheme_declared(toy_host: PluginHost, tmp_path: Path) -> None:
    for mode, hidden_value in (("research_instructor", True), ("student_public", False)):
        bundle = Generator.from_recipe("toy_v1", seed=3, exposure_mode=mode, host=toy_host).generate()
        before = bundle.manifest_fields
        assert before is None
        out = bundle.save(tmp_path / mode, generation_timestamp="2026-01-01T00:00:00+00:00")
        fields = bundle.manifest_fields
        assert fields is not None and set(fields.hidden) == {"threshold"}
        manifest = json.loads((out / "manifest.json").read_text())
        assert (manifest["threshold"] is not None) is hidden_value
        assert manifest["threshold"] == (fields.hidden["threshold"] if hidden_value else None)


@dataclass(frozen=True)
class P:
    n: int = param(1, help="n")


def finalize_with(root: Path, fields: ManifestFields) -> dict[str, object]:
    config = GenerationConfig("r_v1", "s", 5, ExposureMode.RESEARCH_INSTRUCTOR, Difficulty.INTRO, P())
    writer = BundleWriter(root, config)
    writer.declare_features([FeatureSpec("x", "Float64", "x", "f")])
    writer.set_manifest_fields(fields)
    writer.write_dataset_card("# card")
    return writer.finalize(timestamp="t", plugins=[], package_version="0")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (ManifestFields(config={"seed": 0}), "manifest config field 'seed' collides with a core key"),
        (ManifestFields(hidden={"exposure_mode": "x"}), "manifest hidden field 'exposure_mode' collides"),
        (ManifestFields(extra={"files": {}}), "manifest extra field 'files' collides with a core key"),
        (
            ManifestFields(config={"k": 1}, hidden={"k": 2}),
            "manifest field 'k' is set in both config and hidden",
        ),
        (
            ManifestFields(hidden={"k": 1}, extra={"k": 2}),
            "manifest field 'k' is set in both hidden and extra",
        ),
    ],
)
def test_manifest_fields_may_not_overwrite_core_keys(
    fields: ManifestFields, message: str, tmp_path: Path
) -> None:
    with pytest.raises(GenerationError, match=message):
        finalize_with(tmp_path / "b", fields)


def test_distinct_manifest_fields_still_land_in_place(tmp_path: Path) -> None:
    manifest = finalize_with(tmp_path / "b", ManifestFields(config={"n": 1}, hidden={"h": 2}, extra={"e": 3}))
    keys = list(manifest)
    assert manifest["seed"] == 5 and manifest["n"] == 1 and manifest["h"] == 2 and manifest["e"] == 3
    assert keys.index("difficulty") < keys.index("n") < keys.index("h") < keys.index("redacted_columns")
    assert keys.index("tasks") < keys.index("e") < keys.index("config_digest")
