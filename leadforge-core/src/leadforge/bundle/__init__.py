"""The bundle envelope: contract, writing, reading and splitting, shared by every scheme."""

from leadforge.bundle.contract import (
    ID_BLOCK,
    ColumnDoc,
    Cutoff,
    ForeignKey,
    PublicView,
    RelationalContract,
    TableContract,
)
from leadforge.bundle.manifest import (
    SCHEMA_VERSION,
    Manifest,
    ManifestFields,
    StructuralRedactions,
    TaskManifest,
)
from leadforge.bundle.splits import SplitFractions
from leadforge.bundle.tasks import OracleSpec, TaskSpec
from leadforge.bundle.writer import BundleWriter, ShardOut

__all__ = [
    "ID_BLOCK",
    "SCHEMA_VERSION",
    "BundleWriter",
    "ColumnDoc",
    "Cutoff",
    "ForeignKey",
    "Manifest",
    "ManifestFields",
    "OracleSpec",
    "PublicView",
    "RelationalContract",
    "ShardOut",
    "SplitFractions",
    "StructuralRedactions",
    "TableContract",
    "TaskManifest",
    "TaskSpec",
]
