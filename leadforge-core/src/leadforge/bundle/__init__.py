"""The bundle envelope: writing, reading and splitting, shared by every scheme."""

from leadforge.bundle.splits import SplitFractions
from leadforge.bundle.writer import (
    SCHEMA_VERSION,
    BundleWriter,
    ManifestFields,
    StructuralRedactions,
    TableSink,
    TaskSink,
    TaskSpec,
)

__all__ = [
    "SCHEMA_VERSION",
    "BundleWriter",
    "ManifestFields",
    "SplitFractions",
    "StructuralRedactions",
    "TableSink",
    "TaskSink",
    "TaskSpec",
]
