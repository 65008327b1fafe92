"""Export to a folder of CSV files: one per table and task split, plus ``schema.json`` and a README.

CSV carries no types or keys, so ``schema.json`` lists each file's columns with their types,
primary key and foreign keys, in the order the tables must be loaded (parents first).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.csv as pacsv

from leadforge.export.source import Source, check_rows

README = """# leadforge export (CSV)

Exported from a leadforge bundle ({recipe}, seed {seed}, {mode}).

- One CSV file per table (`<table>.csv`) and per task split (`<task>_<split>.csv`), with a header row.
- `schema.json` lists every file's columns and types (`text`, `int`, `float`, `bool`,
  `date` as YYYY-MM-DD, `timestamptz` as an instant in UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ,
  `timestamp` as the bundle's ISO text without a zone), its primary key and foreign keys, in
  `load_order` (parents before children).
- Empty unquoted fields are nulls; text values are always quoted.
- `bundle_manifest.csv` holds the bundle's provenance (recipe, seed, mode, versions,
  timestamp) and `bundle_files.csv` the SHA-256 and size of every file of the bundle.
"""


def write(source: Source, folder: Path) -> None:
    """Write every table of ``source`` into the (new, empty) ``folder``."""
    for table in source.tables:
        rows = 0
        with pacsv.CSVWriter(folder / f"{table.name}.csv", table.text_schema) as out:
            for batch in source.batches(table, typed=False):
                out.write_batch(batch)
                rows += batch.num_rows
        check_rows(table, rows)
    m = source.manifest
    schema = {
        "format": "leadforge-csv-export/1",
        "load_order": [t.name for t in source.tables],
        "tables": {t.name: {"file": f"{t.name}.csv", **t.describe()} for t in source.tables},
    }
    (folder / "schema.json").write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
    text = README.format(recipe=m.recipe_id, seed=m.seed, mode=m.exposure_mode)
    (folder / "README.md").write_text(text, encoding="utf-8")
