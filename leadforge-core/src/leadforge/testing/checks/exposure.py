"""Public ⊆ instructor: a public bundle holds nothing its instructor twin does not, and no hidden truth."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow.compute as pc
import pyarrow.parquet as pq

from leadforge.bundle.manifest import SPLITS, Manifest
from leadforge.bundle.reader import BundleView, discover
from leadforge.testing.bundles import GeneratedBundle
from leadforge.testing.checks.base import INSTRUCTOR, PUBLIC, Skip, clip, dictionary_rows, parquet_files
from leadforge.testing.subject import Subject

#: Hidden string values shorter than this are too common to look for in public text.
MIN_HIDDEN_TEXT = 6
#: Hidden-truth keys by convention across schemes: null in a public manifest even when the
#: scheme forgets to declare them hidden (a public-only scheme has no instructor twin to compare).
CONVENTIONAL_HIDDEN = ("motif_family",)


def exposure_monotonicity(c: Subject) -> Iterator[str]:
    if PUBLIC not in c.modes:
        raise Skip(f"the recipe/scheme supports no {PUBLIC.value} mode")
    pub = c.bundle(PUBLIC)
    mp = pub.manifest()
    if (pub.path / "metadata").exists():
        yield "the student_public bundle contains metadata/"
    ins = c.bundle(INSTRUCTOR) if INSTRUCTOR in c.modes else None
    hidden = set(pub.hidden_fields or ()) | set((ins.hidden_fields or ()) if ins else ())
    for key in sorted(hidden):
        if mp.fields.get(key) is not None:
            yield f"the public manifest reveals the hidden field {key!r} = {clip(mp.fields[key])}"
    for key in CONVENTIONAL_HIDDEN:
        if key not in hidden and mp.fields.get(key) is not None:
            yield f"the public manifest reveals {key} = {mp.fields[key]!r} (must be null)"
    yield from _declared_redactions_absent(pub, mp)
    if ins is None:
        return
    mi = ins.manifest()
    yield from _hidden_values_in_public_text(pub, mi, hidden)
    if not (ins.path / "metadata").is_dir():
        yield "the research_instructor bundle has no metadata/"
    raw_i = ins.raw_manifest()
    extra_keys = [k for k in pub.raw_manifest() if k not in raw_i]
    if extra_keys:
        yield f"the public manifest has keys the instructor one lacks: {extra_keys}"
    yield from _tables_monotone(pub, mp, ins, mi)
    yield from _tasks_monotone(pub, mp, ins, mi)
    yield from _dictionary_monotone(pub, ins)


def _declared_redactions_absent(pub: GeneratedBundle, mp: Manifest) -> Iterator[str]:
    redacted = set(mp.redacted_columns)
    sr = mp.structural_redactions
    for table in sr.omitted_tables:
        if discover(pub.path, f"tables/{table}"):
            yield f"tables/{table} is in the public bundle although the manifest declares it omitted"
    for rel in parquet_files(pub.path):
        names = set(pq.read_schema(pub.path / rel).names)
        owner = rel.split("/")[1].removesuffix(".parquet") if rel.startswith("tables/") else None
        banned = redacted | (set(sr.columns.get(owner, ())) if owner is not None else set())
        present = sorted(names & banned)
        if present:
            yield f"{rel} keeps column(s) the public manifest declares redacted: {present}"


def _hidden_values_in_public_text(pub: GeneratedBundle, mi: Manifest, hidden: set[str]) -> Iterator[str]:
    values = {k: v for k in hidden if isinstance(v := mi.fields.get(k), str) and len(v) >= MIN_HIDDEN_TEXT}
    if not values:
        return
    for path in sorted(pub.path.rglob("*")):
        if not path.is_file() or path.suffix == ".parquet":
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        rel = path.relative_to(pub.path).as_posix()
        for key, value in sorted(values.items()):
            if value in text:
                yield f"{rel} of the public bundle mentions the hidden {key} value {value!r}"


def _tables_monotone(pub: GeneratedBundle, mp: Manifest, ins: GeneratedBundle, mi: Manifest) -> Iterator[str]:
    tp, ti = set(mp.tables), set(mi.tables)
    if tp - ti:
        yield f"public tables missing from the instructor bundle: {sorted(tp - ti)}"
    sr = mp.structural_redactions
    undeclared = sorted(ti - tp - set(sr.omitted_tables))
    if undeclared:
        yield (
            f"instructor tables {undeclared} are missing from the public bundle without being declared in "
            "structural_redactions.omitted_tables"
        )
    redacted = set(mp.redacted_columns)
    contract = mp.contract
    vp, vi = pub.view(), ins.view()
    for name in sorted(tp & ti):
        files_p, files_i = vp.table_files(name), vi.table_files(name)
        rel = files_p[0] if len(files_p) == 1 else f"tables/{name}"
        sp, si = vp.schema(files_p), vi.schema(files_i)
        extra = [n for n in sp.names if n not in si.names]
        if extra:
            yield f"{rel}: public columns the instructor table lacks: {extra}"
        missing = [n for n in si.names if n not in sp.names]
        undeclared_cols = sorted(set(missing) - redacted - set(sr.columns.get(name, ())))
        if undeclared_cols:
            yield (
                f"{rel}: instructor columns {undeclared_cols} are dropped from the public table "
                "without being declared in structural_redactions.columns or redacted_columns"
            )
        for col in sp.names:
            if col in si.names and sp.field(col).type != si.field(col).type:
                types = f"{sp.field(col).type} in public but {si.field(col).type} in instructor"
                yield f"{rel}:{col} has type {types}"
        rp, ri = mp.tables[name].row_count, mi.tables[name].row_count
        if rp > ri:
            yield f"{rel} has more rows in public ({rp}) than in instructor ({ri})"
        # Core renumbers "shard" tables after the public cut, so only plan ids name the same row in both.
        if contract is not None and name in contract and contract[name].numbering == "plan" and rp:
            yield from _ids_subset(rel, contract[name].primary_key, vp, vi, name)


def _ids_subset(rel: str, key: str, vp: BundleView, vi: BundleView, name: str) -> Iterator[str]:
    if key not in vp.schema(vp.table_files(name)).names or key not in vi.schema(vi.table_files(name)).names:
        return
    ids_i = vi.table(name, [key]).column(key)
    if pc.count_distinct(ids_i).as_py() != len(ids_i):
        return
    ids_p = vp.table(name, [key]).column(key)
    unknown = pc.sum(pc.invert(pc.is_in(ids_p, value_set=ids_i.combine_chunks()))).as_py() or 0
    if unknown:
        yield f"{rel}: {unknown} public {key} value(s) do not exist in the instructor table"


def _tasks_monotone(pub: GeneratedBundle, mp: Manifest, ins: GeneratedBundle, mi: Manifest) -> Iterator[str]:
    tp, ti = set(mp.tasks), set(mi.tasks)
    if tp - ti:
        yield f"public tasks missing from the instructor bundle: {sorted(tp - ti)}"
    redacted = set(mp.redacted_columns)
    for task in sorted(tp & ti):
        tm = pub.task_manifest(task)
        key = tm.key_column if tm is not None else None
        for split in SPLITS:
            vp, vi = pub.view(), ins.view()
            if not vp.has_split(task, split) or not vi.has_split(task, split):
                continue
            files = vp.split_files(task, split)
            rel = files[0] if len(files) == 1 else f"tasks/{task}/{split}"
            a, b = vp.split(task, split), vi.split(task, split)
            extra = [n for n in a.column_names if n not in b.column_names]
            if extra:
                yield f"{rel}: public columns the instructor split lacks: {extra}"
            missing = sorted(set(b.column_names) - set(a.column_names) - redacted)
            if missing:
                yield (
                    f"{rel}: instructor columns {missing} are missing from the public split "
                    "but not in redacted_columns"
                )
            if a.num_rows != b.num_rows:
                yield f"{rel}: {a.num_rows} rows in public, {b.num_rows} in instructor"
                continue
            if key is not None and key in a.column_names and key in b.column_names:
                a = a.take(pc.sort_indices(a, sort_keys=[(key, "ascending")]))
                b = b.take(pc.sort_indices(b, sort_keys=[(key, "ascending")]))
                if not a.column(key).equals(b.column(key)):
                    yield f"{rel}: the public and instructor splits hold different {key} values"
                    continue
            differ = [
                n for n in a.column_names if n in b.column_names and not a.column(n).equals(b.column(n))
            ]
            if differ:
                yield f"{rel}: values differ between public and instructor in column(s) {differ[:5]}"


def _dictionary_monotone(pub: GeneratedBundle, ins: GeneratedBundle) -> Iterator[str]:
    rows_p = {r["name"]: r for r in dictionary_rows(pub.path)}
    rows_i = {r["name"]: r for r in dictionary_rows(ins.path)}
    extra = sorted(set(rows_p) - set(rows_i))
    if extra:
        yield f"feature_dictionary.csv: public rows the instructor dictionary lacks: {extra}"
    changed = sorted(n for n in set(rows_p) & set(rows_i) if rows_p[n] != rows_i[n])
    if changed:
        yield f"feature_dictionary.csv: rows that differ between public and instructor: {changed}"
