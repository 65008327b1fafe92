"""``datapackage.json``: the bundle as a Frictionless Tabular Data Package.

Frictionless tooling (``frictionless validate``, CKAN, Data Package readers in many languages)
reads it to type each column, check primary and foreign keys across resources, and verify
checksums. One resource per table and per task split, typed from the same
:class:`~leadforge.bundle.dictionary.BundleFacts` as ``croissant.json``, so a public bundle's
package names only what that bundle holds.

A partitioned table's resource lists its parts as ``path``. Checksums go in ``checksums``
(path, ``sha256:`` hash and bytes of every file of the resource) rather than the standard
``hash`` and ``bytes``: a folder of parts has no single digest of its bytes, and the reference
validator (frictionless-py) reads Parquet without measuring its bytes, so it reports any
declared ``hash`` or ``bytes`` of a Parquet resource as a mismatch.
"""

from __future__ import annotations

import json
import re
from typing import Any

from leadforge.bundle.dictionary import BundleFacts, ColumnInfo, DataFiles, TableInfo, described

FILE = "datapackage.json"
FIELD_TYPES = {
    "string": "string",
    "Int64": "integer",
    "Float64": "number",
    "boolean": "boolean",
    "timestamp": "datetime",
    "date": "date",
}
PARQUET = {"format": "parquet", "mediatype": "application/vnd.apache.parquet"}
_NOT_NAME = re.compile(r"[^-a-z0-9._]+")


def name_of(text: str) -> str:
    """A Data Package name (lowercase letters, digits, ``-._``) for ``text``."""
    return _NOT_NAME.sub("-", text.lower()).strip("-") or "data"


def split_resource(task_id: str, split: str) -> str:
    return name_of(f"{task_id}.{split}")


def render(facts: BundleFacts) -> bytes:
    """The Data Package descriptor, as deterministic UTF-8 bytes."""
    resources: list[dict[str, Any]] = []
    for info in described(facts):
        if info.kind == "table":
            if info.data is not None:
                resources.append(_resource(facts, info, name_of(info.name), info.data, info.description))
            continue
        task_id = info.name.removeprefix("tasks/")
        for split, data in info.splits.items():
            desc = f"{info.description} The {split} split.".strip()
            resources.append(_resource(facts, info, split_resource(task_id, split), data, desc))
    doc: dict[str, Any] = {
        "profile": "tabular-data-package",
        "name": name_of(f"{facts.recipe_id}-{facts.mode}-seed{facts.seed}"),
        "title": facts.title,
        "description": f"{facts.description} {facts.provenance}",
        "version": facts.version,
        "licenses": [
            {
                "name": facts.license,
                "path": f"https://spdx.org/licenses/{facts.license}.html",
                "title": facts.license,
            }
        ],
        "contributors": [{"title": "leadforge", "role": "author"}],
        "keywords": ["synthetic data", "machine-generated", "CRM", facts.scheme],
        "resources": resources,
    }
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _resource(
    facts: BundleFacts, info: TableInfo, name: str, data: DataFiles, description: str
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "name": name,
        "path": list(data.files) if data.partitioned else data.files[0],
        "profile": "tabular-data-resource",
        **PARQUET,
    }
    if description:
        res["description"] = description
    res["checksums"] = [
        {"path": rel, "hash": f"sha256:{facts.files[rel].sha256}", "bytes": facts.files[rel].size}
        for rel in data.files
        if rel in facts.files
    ]
    schema: dict[str, Any] = {"fields": [_field(c) for c in info.columns]}
    if info.primary_key is not None:
        schema["primaryKey"] = [info.primary_key]
    fks = [
        {
            "fields": c.name,
            "reference": {
                "resource": "" if c.references[0] == info.name else name_of(c.references[0]),
                "fields": c.references[1],
            },
        }
        for c in info.columns
        if c.references is not None
    ]
    if fks:
        schema["foreignKeys"] = fks
    res["schema"] = schema
    return res


def _field(c: ColumnInfo) -> dict[str, Any]:
    f: dict[str, Any] = {"name": c.name, "type": FIELD_TYPES[c.dtype]}
    text = " ".join(t for t in (c.doc.description, c.doc.unit and f"Unit: {c.doc.unit}.") if t)
    if text:
        f["description"] = text
    if c.doc.values and c.dtype == "string":
        f["constraints"] = {"enum": list(c.doc.values)}
    return f
