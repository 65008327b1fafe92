"""``feature_dictionary.csv`` documents every split column with its dtype and marks each label."""

from __future__ import annotations

from collections.abc import Iterator

from leadforge.bundle.manifest import SPLITS
from leadforge.features import DICTIONARY_HEADER
from leadforge.testing.bundles import GeneratedBundle
from leadforge.testing.checks.base import dictionary_rows
from leadforge.testing.subject import Subject

ARROW_DTYPES = {
    "string": ("string", "large_string"),
    "Int64": ("int64",),
    "Float64": ("double",),
    "boolean": ("bool",),
    "timestamp": ("timestamp[us, tz=UTC]",),
    "date": ("date32[day]",),
}


def dictionary(c: Subject) -> Iterator[str]:
    for mode in c.modes:
        yield from (f"{mode.value} {p}" for p in _dictionary_problems(c.bundle(mode)))


def _dictionary_problems(b: GeneratedBundle) -> Iterator[str]:
    path = b.path / "feature_dictionary.csv"
    if not path.exists():
        yield "feature_dictionary.csv is missing"
        return
    header = path.read_text(encoding="utf-8").splitlines()[:1]
    if header != [",".join(DICTIONARY_HEADER)]:
        yield f"feature_dictionary.csv header must be {','.join(DICTIONARY_HEADER)}, got {header}"
        return
    rows = dictionary_rows(b.path)
    names = [r["name"] for r in rows]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        yield f"feature_dictionary.csv lists {dupes} more than once"
    by_name = {r["name"]: r for r in rows}
    for r in rows:
        if r["dtype"] not in ARROW_DTYPES:
            valid = sorted(ARROW_DTYPES)
            yield f"feature_dictionary.csv:{r['name']} has dtype {r['dtype']!r}, not one of {valid}"
        if r["is_target"] not in ("True", "False") or r["leakage_risk"] not in ("True", "False"):
            yield f"feature_dictionary.csv:{r['name']}: is_target/leakage_risk must be True or False"
    m = b.manifest()
    for col in m.redacted_columns:
        if col in by_name:
            yield f"feature_dictionary.csv lists the redacted column {col!r}"
    for task in sorted(m.tasks):
        tm = b.task_manifest(task)
        for split in SPLITS:
            view = b.view()
            if not view.has_split(task, split):
                continue
            files = view.split_files(task, split)
            rel = files[0] if len(files) == 1 else f"tasks/{task}/{split}"
            schema = view.schema(files)
            missing = [n for n in schema.names if n not in by_name]
            if missing:
                yield f"{rel}: columns missing from feature_dictionary.csv: {missing}"
            for n in schema.names:
                if n in by_name and str(schema.field(n).type) not in ARROW_DTYPES.get(
                    by_name[n]["dtype"], ()
                ):
                    yield f"{rel}:{n} is {schema.field(n).type} but the dictionary says {by_name[n]['dtype']}"
        if tm is not None and tm.label_column in by_name and by_name[tm.label_column]["is_target"] != "True":
            label = tm.label_column
            yield f"feature_dictionary.csv: the label {label!r} of task {task} is not marked is_target"
