"""``BundleWriter``: the one way a scheme puts files into a bundle.

The writer builds the bundle in a staging folder next to ``--out``; core moves it into
place only after every file is written and ``manifest.json`` records a SHA-256 and size for
each of them. It enforces the scheme's relational contract on the way (see
:mod:`leadforge.bundle.projection`): public projection, ids, split assignment and row order
are core's, so every scheme's bundle keeps the same promises.
"""

from __future__ import annotations

import hashlib
import math
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from leadforge.bundle import croissant, datapackage, dictionary
from leadforge.bundle.ceiling import CEILING_FILE, Ceiling
from leadforge.bundle.ceiling import card_section as ceiling_card
from leadforge.bundle.contract import RelationalContract
from leadforge.bundle.effects import (
    EFFECTS_FILE,
    EFFECTS_SCHEMA,
    average,
    by_segment,
    card_section,
    effects_table,
    inherited_splits,
    task_rows,
)
from leadforge.bundle.engineered import ROWS_PER_READ, Relations
from leadforge.bundle.files import HashingFile, ParquetFile, Written, write_parquet
from leadforge.bundle.lessons import card_section as lessons_card
from leadforge.bundle.lessons import out_of_time
from leadforge.bundle.manifest import (
    CORE_KEYS,
    MANIFEST,
    SCHEMA_VERSION,
    TASK_MANIFEST,
    FileEntry,
    Manifest,
    ManifestFields,
    OutOfTime,
    PluginRef,
    StructuralRedactions,
    TableEntry,
    TaskEntry,
    parts_digest,
)
from leadforge.bundle.measured import CardJob, Measured, TaskFiles, TaskRows, run_card_job
from leadforge.bundle.oracle import (
    ORACLE_STAGING,
    SPLIT_COLUMN,
    oracle_file,
    oracle_part,
    oracle_rows,
    stored,
)
from leadforge.bundle.shards import (
    PARTS_DIR,
    ShardOut,
    ShardResult,
    ShardSink,
    SinkTask,
    absolute,
    run_shard,
    split_part,
    store_part,
    table_part,
)
from leadforge.bundle.splits import SPLITS
from leadforge.bundle.tasks import NAME, TaskSpec
from leadforge.bundle.uplift import arms, mean_uplift
from leadforge.bundle.uplift import card_section as uplift_card
from leadforge.config import GenerationConfig
from leadforge.engine import LOCAL, Engine
from leadforge.enums import ExposureMode
from leadforge.errors import ExposureError, GenerationError
from leadforge.experiment import TREATMENT_COLUMN
from leadforge.features import FeatureSpec, redacted_names, render_dictionary, visible
from leadforge.params import to_json as params_json
from leadforge.progress import NullProgress, Progress
from leadforge.reproduce import Reproduction
from leadforge.schema import TableData, TableSchema
from leadforge.yamlfile import dump_json

CARD = "dataset_card.md"
ROWS_SEALED = "the bundle's rows are already closed: rows are written in write_bundle, not after it"
DICTIONARY = "feature_dictionary.csv"
METADATA = "metadata"
CARD_FOOTER = (
    "## Documentation\n\n"
    "Every column of every table and task, with its type, unit, allowed values and what a public "
    "bundle keeps of it: `data_dictionary.csv` (printed with an ER diagram by "
    "`leadforge inspect <dir> --schema`). Standard metadata for dataset tools: `croissant.json` "
    "(Croissant 1.0) and `datapackage.json` (Frictionless Data Package). Tables of a bundle written in "
    "several shards are folders of parts (`tables/<name>/part-*.parquet`); "
    '`pandas.read_parquet("tables/<name>")` and `leadforge.load(<dir>)` read either layout.\n'
)
R = TypeVar("R")


@dataclass(frozen=True)
class _Sealed:
    """What :meth:`BundleWriter.seal_rows` closed, and the card's jobs it started."""

    tables: dict[str, TableEntry]
    tasks: dict[str, TaskEntry]
    cuts: dict[str, OutOfTime]
    relations: dict[str, Relations]
    measured: Callable[[], Measured]


__all__ = ["BundleWriter", "ShardOut", "TaskSpec"]


class BundleWriter:
    """Writes one bundle into ``root`` (a staging folder core later moves into place).

    A scheme declares its feature catalog and tasks, then hands over full rows shard by
    shard — through :meth:`map_shards` (shards run on the writer's engine, in this process
    or on Dask workers) or :meth:`write_shard` (in this process, in order); the writer applies
    the relational contract (public projection, ids, split assignment, row order) so the
    scheme cannot get them wrong.
    """

    def __init__(
        self,
        root: Path,
        config: GenerationConfig,
        contract: RelationalContract,
        *,
        split_salt: int,
        progress: Progress | None = None,
        engine: Engine | None = None,
        reproduce: Reproduction | None = None,
        factual: Path | None = None,
    ) -> None:
        self.root = root
        #: the finished factual bundle this one is the intervened twin of (see ``bundle.effects``)
        self.factual = factual
        self._inherited: dict[str, tuple[Any, Any]] | None = None
        self.config = config
        #: how to make this bundle again, for the dataset card (``reproduce.markdown()``)
        self.reproduce = reproduce or Reproduction.of(config)
        self.contract = contract
        self.mode: ExposureMode = config.exposure_mode
        self.public = self.mode is ExposureMode.STUDENT_PUBLIC
        self.progress_reporter = progress or NullProgress()
        self.engine: Engine = engine or LOCAL
        self.split_salt = split_salt
        self.catalog: list[FeatureSpec] | None = None
        self.redacted_columns: list[str] = []
        self.manifest_fields = ManifestFields()
        self._tables: dict[str, ParquetFile] = {}
        self._tasks: dict[str, SinkTask] = {}
        self._split_files: dict[tuple[str, str], ParquetFile] = {}
        self._oracle_files: dict[tuple[str, str], ParquetFile] = {}
        #: partitioned layout: shard count, and every part written so far (relative path -> file)
        self._shard_count = 0
        self._parts: dict[str, Written] = {}
        self._part_tables: set[str] = set()
        self._files: dict[str, FileEntry] = {}
        self._card_written = False
        self._card_text = ""
        self._closed = False
        #: after :meth:`seal_rows`: tables, tasks, out-of-time cuts, relations, and the card's jobs
        self._sealed: _Sealed | None = None
        self._make_root()

    def _make_root(self) -> None:
        self.root.mkdir(parents=True, exist_ok=False)
        (self.root / "tables").mkdir()

    # -- what the scheme declares ---------------------------------------------------------

    def declare_features(self, catalog: Sequence[FeatureSpec]) -> None:
        """Declare the task-table catalog; must come before any table or task is written.

        Its visible rows become ``feature_dictionary.csv``; features it redacts for this
        mode are dropped from every table and split.
        """
        if self._tables or self._tasks or self._parts:
            raise GenerationError("declare_features() must be called before writing data")
        names = [f.name for f in catalog]
        if len(set(names)) != len(names):
            raise GenerationError(f"duplicate feature names in catalog: {names}")
        self.catalog = list(catalog)
        self.redacted_columns = redacted_names(catalog, self.mode)

    def declare_task(self, spec: TaskSpec, schema: TableSchema) -> None:
        """Declare a task before its rows arrive through :meth:`write_shard` or :meth:`map_shards`.

        Tasks that share a ``key_column`` share one split assignment per key: the first
        stratified task declared with that key decides it (stratified by its label).
        """
        self._check_name(spec.task_id, self._tasks)
        full = schema.without(self.redacted_columns)
        hidden = spec.oracle.hidden if spec.oracle else ()
        for col in (spec.key_column, spec.label_column, *hidden):
            if col not in full.names:
                raise GenerationError(f"task {spec.task_id}: column {col!r} is not in its schema")
        for col in hidden:
            if full.dtype(col) != "Float64":
                raise GenerationError(f"task {spec.task_id}: the oracle column {col!r} must be Float64")
        schema = full.without(list(hidden))
        same_key = [t.spec for t in self._tasks.values() if t.spec.key_column == spec.key_column]
        leaders = [s for s in same_key if s.stratified] or same_key[:1]
        leader = leaders[0] if leaders else spec
        if leader.task_id != spec.task_id and not leader.stratified and spec.stratified:
            raise GenerationError(
                f"task {spec.task_id} is stratified but shares key {spec.key_column!r} with the "
                f"unstratified task {leader.task_id} declared before it; declare the stratified one first"
            )
        self._tasks[spec.task_id] = SinkTask(spec, schema, leader, full)

    def set_manifest_fields(self, fields: ManifestFields) -> None:
        _check_manifest_keys(fields)
        self.manifest_fields = fields

    def progress(self, stage: str, done: int, total: int) -> None:
        self.progress_reporter.update(stage, done, total)

    # -- data -----------------------------------------------------------------------------

    def map_shards(
        self, task: Callable[[ShardOut], R], count: int, *, stage: str = "simulating shards"
    ) -> list[R]:
        """Run ``task(out)`` for shards ``0 … count-1`` on the writer's engine; results in index order.

        ``task`` (picklable: a module-level function bound with :func:`functools.partial`)
        simulates shard ``out.index`` and hands its full rows to ``out.write``. One shard is
        written in this process into single files; more shards are written by the workers,
        one part file per table and split each (``tables/<name>/part-<k>.parquet``), so the
        layout depends on ``count`` (the config) only, never on the number of workers.
        """
        if self._closed:
            raise GenerationError(ROWS_SEALED)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise GenerationError(f"map_shards needs a shard count >= 1, got {count!r}")
        report = partial(self.progress, stage)
        report(0, count)
        if count == 1 and not self._shard_count:
            out = ShardOut(0, self._sink(), _direct=self)
            value = task(out)
            report(1, 1)
            return [value]
        if self._shard_count and self._shard_count != count:
            raise GenerationError(
                f"map_shards was called with {self._shard_count} shards before, now {count}"
            )
        if self._split_files:
            raise GenerationError("task rows were written with write_shard; map_shards cannot add parts")
        self._shard_count = count
        engine = self.engine
        results: list[ShardResult[R]] = engine.map(
            run_shard, range(count), engine.share(task), engine.share(self._sink()), progress=report
        )
        for res in results:
            for rel, written in (*res.tables.items(), *res.splits.items(), *res.oracles.items()):
                if rel in self._parts:
                    raise GenerationError(f"{rel} is written twice")
                self._parts[rel] = written
            self._part_tables.update(rel.split("/")[1] for rel in res.tables)
        clash = self._part_tables & set(self._tables)
        if clash:
            raise GenerationError(f"tables {sorted(clash)} are written both whole and in shards")
        return [res.value for res in results]

    def write_shard(
        self,
        index: int,
        tables: Mapping[str, TableData] | None = None,
        tasks: Mapping[str, TableData] | None = None,
    ) -> None:
        """Append shard ``index``'s full rows in this process: one row group per table and split file.

        ``tables`` maps contract table names to full (instructor) rows; ``"shard"``-numbered
        keys are shard-local integers. Task rows are assigned to splits by key and written
        in key order.
        """
        if self._closed:
            raise GenerationError(ROWS_SEALED)
        sink = self._sink()
        for name, table in sink.tables(index, tables or {}).items():
            if name in self._part_tables:
                raise GenerationError(f"table {name!r} is written both whole and in shards")
            self._table_file(name).write(table)
        splits = sink.splits(tasks or {})
        if splits and self._shard_count:
            raise GenerationError("task rows go through map_shards in a bundle written in shards")
        for tid, parts in splits.items():
            spec = self._tasks[tid].spec
            for split, table in zip(SPLITS, parts, strict=True):
                self._split_file(tid, split).write(stored(spec, table))
            schema = self._tasks[tid].oracle_schema
            if schema is not None and self.mode.writes_metadata:
                rows = oracle_rows(spec, schema, parts)
                for split in SPLITS:
                    mine = rows.filter(pc.equal(rows.column(SPLIT_COLUMN), split))
                    self._oracle_file(tid, split, schema).write(mine)

    def rows_written(self) -> dict[str, int]:
        """Rows appended so far to each table, as the bundle holds them (after the projection):
        what a dataset card states, without the scheme re-deriving core's cuts."""
        rows = {name: f.rows for name, f in self._tables.items()}
        for rel, written in self._parts.items():
            if rel.startswith("tables/"):
                name = rel.split("/")[1]
                rows[name] = rows.get(name, 0) + written.rows
        return {t.name: rows[t.name] for t in self.contract if t.name in rows}

    def write_table(self, name: str, data: TableData) -> None:
        """Write a whole table at once (shard 0): for small tables not simulated in shards."""
        self.write_shard(0, {name: data})

    def write_dataset_card(self, text: str) -> None:
        """``dataset_card.md``: the scheme's text, then core's pointer to the files core writes for
        every bundle (so no card can forget its data dictionary)."""
        self._card_text = text.rstrip("\n") + "\n\n"
        self._card_written = True

    def write_metadata_json(self, name: str, data: Any) -> None:
        self._check_metadata(name)
        self._write_json(f"{METADATA}/{name}", data)

    def write_metadata_text(self, name: str, text: str) -> None:
        self._check_metadata(name)
        self._write_bytes(f"{METADATA}/{name}", text.encode("utf-8"))

    def write_metadata_chunks(self, name: str, chunks: Iterable[bytes]) -> None:
        """Write ``metadata/<name>`` from byte chunks, hashed as they stream to disk.

        For hidden truth that grows with the population (one entry per entity): a scheme
        can produce it shard by shard instead of holding the whole file in memory.
        """
        self._check_metadata(name)
        rel = f"{METADATA}/{name}"
        (self.root / METADATA).mkdir(exist_ok=True)
        out = HashingFile(self.root / rel)
        try:
            for chunk in chunks:
                out.write(chunk)
        finally:
            out.close()
        self._record_file(rel, out.sha.hexdigest(), out.size)

    def _keep_part(self, key: str, index: int, data: bytes) -> None:
        """Where a shard run in this process leaves a metadata fragment (see ``ShardOut.metadata_part``)."""
        store_part(self.root, key, index, data)

    def metadata_parts(self, key: str) -> Iterator[bytes]:
        """The fragments shards wrote with ``out.metadata_part(key, …)``, in shard order, one at a
        time; each is removed once read (they never become bundle files)."""
        folder = self.root / PARTS_DIR / key
        if not NAME.match(key) or not folder.is_dir():
            return
        for path in sorted(folder.iterdir()):
            data = path.read_bytes()
            path.unlink()
            yield data
        folder.rmdir()

    # -- finishing ------------------------------------------------------------------------

    def seal_rows(self) -> None:
        """The scheme has written every row: close the table and task files and start the card's
        measured sections on the engine, so a cluster measures them while the driver writes the
        metadata. Called by core after ``write_bundle`` (and by :meth:`finalize` if not before);
        rows written after it are refused."""
        self._seal()

    def _seal(self) -> _Sealed:
        if self._sealed is not None:
            return self._sealed
        tables: dict[str, TableEntry] = {}
        for t in self.contract:
            if self.public and t.public.omit:
                continue
            if t.name in self._part_tables:
                tables[t.name] = self._partitioned_table(t.name)
                continue
            rel = f"tables/{t.name}.parquet"
            done = self._table_file(t.name).close()
            tables[t.name] = TableEntry(done.rows, rel, done.sha256)
            self._record_file(rel, done.sha256, done.size)
        tasks: dict[str, TaskEntry] = {}
        cuts: dict[str, OutOfTime] = {}
        for tid, task in self._tasks.items():
            tasks[tid] = self._partitioned_task(task) if self._shard_count > 1 else self._single_task(task)
            cut = self._out_of_time(tasks, tid)
            if cut is not None:
                cuts[tid] = cut
            self._write_json(
                f"tasks/{tid}/{TASK_MANIFEST}", task.spec.manifest(task.stratified_by, cut).to_json()
            )
            self._finish_oracle(task)
        shutil.rmtree(self.root / ORACLE_STAGING, ignore_errors=True)
        self._closed = True
        relations = self._relations({n: [self.root / rel for rel in t.files] for n, t in tables.items()})
        self._sealed = _Sealed(tables, tasks, cuts, relations, self._measure(tasks, cuts, relations))
        return self._sealed

    def finalize(self, *, timestamp: str, plugins: Sequence[PluginRef], package_version: str) -> Manifest:
        """Close every file, write the dictionary and the manifest; return the manifest."""
        if self.catalog is None:
            raise GenerationError("the scheme did not declare its feature catalog")
        if not self._card_written:
            raise GenerationError("the scheme did not write a dataset card")
        shutil.rmtree(self.root / PARTS_DIR, ignore_errors=True)
        sealed = self._seal()
        tables, tasks, cuts, relations = sealed.tables, sealed.tasks, sealed.cuts, sealed.relations
        measured = sealed.measured()
        card = self._card_text
        if self.mode.writes_metadata:
            card += self._write_ceilings(measured.ceilings)
        if self.factual is not None and self.mode.writes_metadata:
            card += self._write_effects(tasks)
        card += self._rows_sections(tasks, cuts, measured, relations)
        self._write_bytes(CARD, (card + CARD_FOOTER).encode("utf-8"))
        self._write_bytes(DICTIONARY, render_dictionary(visible(self.catalog, self.mode)).encode("utf-8"))
        if self.public and (self.root / METADATA).exists():
            raise ExposureError("public bundle must not contain metadata/")
        mf = self.manifest_fields
        fields = {
            **dict(mf.config),
            **{k: (None if self.public else v) for k, v in mf.hidden.items()},
            **dict(mf.extra),
        }
        manifest = Manifest(
            schema_version=SCHEMA_VERSION,
            package_version=package_version,
            scheme=self.config.scheme,
            recipe_id=self.config.recipe_id,
            seed=self.config.seed,
            generation_timestamp=timestamp,
            exposure_mode=self.mode.value,
            difficulty=self.config.difficulty.value,
            fields=fields,
            redacted_columns=tuple(self.redacted_columns),
            relational_snapshot_safe=self.public,
            structural_redactions=StructuralRedactions.of(self.contract)
            if self.public
            else StructuralRedactions(),
            tables=tables,
            tasks=tasks,
            hidden_fields=tuple(mf.hidden),
            contract=self.contract,
            config_digest=self.config.digest(),
            params=params_json(self.config.params),
            interventions=tuple(str(iv) for iv in self.config.interventions),
            experiment=None if self.config.experiment is None else str(self.config.experiment),
            oracles=self._oracle_entries(),
            plugins=tuple(plugins),
            files=dict(self._files),
            extra_keys=tuple(mf.extra),
        )
        task_docs = {tid: (t.spec.manifest(t.stratified_by), t.schema) for tid, t in self._tasks.items()}
        facts = dictionary.facts_from_manifest(manifest, task_docs, self.catalog)
        self._write_bytes(dictionary.FILE, dictionary.render(facts))
        facts = replace(facts, files=dict(self._files))
        self._write_bytes(croissant.FILE, croissant.render(facts))
        self._write_bytes(datapackage.FILE, datapackage.render(facts))
        manifest = replace(manifest, files=dict(self._files))
        (self.root / MANIFEST).write_bytes(dump_json(manifest.to_json()))
        return manifest

    def abort(self) -> None:
        """Close every open file after a failure, so nothing complains when they are collected."""
        self._closed = True
        for f in (*self._tables.values(), *self._split_files.values(), *self._oracle_files.values()):
            f.abort()

    # -- internals ------------------------------------------------------------------------

    def _oracle_entries(self) -> dict[str, dict[str, Any]]:
        """The manifest's ``oracles``: each answer key's method and files (instructor bundles)."""
        if not self.mode.writes_metadata:
            return {}
        out: dict[str, dict[str, Any]] = {}
        for tid, task in self._tasks.items():
            if task.spec.oracle is None:
                continue
            out[tid] = {
                **task.spec.oracle.to_json(),
                "files": self._oracle_rels(tid),
                "ceiling": CEILING_FILE,
            }
        return out

    def _oracle_rels(self, task_id: str) -> list[str]:
        """The task's answer-key file, or its parts in shard order."""
        if self._shard_count > 1:
            return [oracle_part(task_id, k) for k in range(self._shard_count)]
        return [oracle_file(task_id)]

    def _relations(self, sources: Mapping[str, Sequence[Path | pa.Table]]) -> dict[str, Relations]:
        """Per task, the tables a student can join to its rows (``sources``: the tables' parts)."""
        return {
            tid: Relations.of(self.contract, sources, t.spec.primary_table) for tid, t in self._tasks.items()
        }

    def _task_rows(self, tasks: Mapping[str, TaskEntry], task_id: str, *, oracle: bool) -> TaskRows:
        """Where a card job reads the task's rows (and, with ``oracle``, its answer key)."""
        splits = tuple(tasks[task_id].files(task_id, s) for s in SPLITS)
        return TaskFiles(str(self.root), splits, tuple(self._oracle_rels(task_id)) if oracle else ())

    def _measure(
        self,
        tasks: Mapping[str, TaskEntry],
        cuts: Mapping[str, OutOfTime],
        relations: Mapping[str, Relations],
    ) -> Callable[[], Measured]:
        """The card's ceilings (instructor bundles) and lessons, started as jobs on the engine;
        calling the result waits for them."""
        leaky = frozenset(f.name for f in self.catalog or () if f.leakage_risk)
        jobs = [
            CardJob("ceiling", t.spec, self._task_rows(tasks, tid, oracle=True), leaky)
            for tid, t in self._tasks.items()
            if self.mode.writes_metadata and t.spec.oracle is not None
        ]
        jobs += [
            CardJob(
                "lessons",
                t.spec,
                self._task_rows(tasks, tid, oracle=False),
                leaky,
                cuts.get(tid),
                relations[tid] if self.public else None,
            )
            for tid, t in self._tasks.items()
        ]
        pending = self.engine.start(run_card_job, jobs)
        return lambda: Measured.of(jobs, pending())

    def _write_ceilings(self, found: Sequence[Ceiling]) -> str:
        """``metadata/oracle/ceiling.json`` and the card's answer-key section ("" without oracles)."""
        if not found:
            return ""
        self._write_json(CEILING_FILE, {"tasks": [c.to_json() for c in found]})
        return ceiling_card(found) + "\n"

    def _uplift_truth(self, task_id: str) -> float:
        """The answer key's mean true uplift (NaN when it has none)."""
        return mean_uplift(self.root, self._oracle_rels(task_id))

    def _split_tables(
        self, tasks: Mapping[str, TaskEntry], task_id: str, columns: list[str] | None = None
    ) -> Iterator[pa.Table]:
        """A finished task's rows, split by split, in batches (``columns``: only those)."""
        for split in SPLITS:
            for rel in tasks[task_id].files(task_id, split):
                batches = pq.ParquetFile(self.root / rel).iter_batches(ROWS_PER_READ, columns=columns)
                yield from (pa.Table.from_batches([b]) for b in batches)

    def _out_of_time(self, tasks: Mapping[str, TaskEntry], task_id: str) -> OutOfTime | None:
        spec = self._tasks[task_id].spec
        if not spec.time_column:
            return None
        return out_of_time(spec, self._split_tables(tasks, task_id, [spec.time_column]))

    def _rows_sections(
        self,
        tasks: Mapping[str, TaskEntry],
        cuts: Mapping[str, OutOfTime],
        measured: Measured,
        relations: Mapping[str, Relations],
    ) -> str:
        """The card's sections measured on the task rows: the designed experiment (its truth only
        in instructor bundles) and the lessons ("" for each when it has nothing to say)."""
        text = ""
        if self.config.experiment is not None:
            found = []
            for tid, task in self._tasks.items():
                names = [TREATMENT_COLUMN, task.spec.label_column]
                if TREATMENT_COLUMN not in task.schema.names:
                    continue
                keyed = self.mode.writes_metadata and task.spec.oracle is not None
                truth = self._uplift_truth(tid) if keyed else math.nan
                summary = arms(task.spec, self._split_tables(tasks, tid, names), truth)
                if summary is not None:
                    found.append(summary)
            text += uplift_card(str(self.config.experiment), found, self.mode.writes_metadata) + "\n"
        lessons = [
            lesson
            for tid, lesson in measured.lessons.items()
            if lesson is not None and (lesson.traps or tid in cuts or relations[tid].children)
        ]
        return text + (lessons_card(lessons, cuts, public=self.public) + "\n" if lessons else "")

    def _write_effects(self, tasks: Mapping[str, TaskEntry]) -> str:
        """``metadata/effects.parquet`` against the factual twin; the card's section on it."""
        assert self.factual is not None
        factual = Manifest.load(self.factual)
        path = self.root / EFFECTS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        out = ParquetFile(path, EFFECTS_SCHEMA)
        averages, segments = [], []
        try:
            for tid in sorted(tasks):
                if tid not in factual.tasks:
                    continue
                before = task_rows(self.factual, tid, factual.tasks[tid])
                after = task_rows(self.root, tid, tasks[tid], self._tasks[tid].spec.segment_column)
                table = effects_table(tid, before, after)
                out.write(table)
                averages.append(average(table))
                segments += by_segment(table, after)
        finally:
            done = out.close()
        self._record_file(EFFECTS_FILE, done.sha256, done.size)
        return card_section(averages, [str(iv) for iv in self.config.interventions], segments) + "\n"

    def _inherited_splits(self) -> dict[str, tuple[Any, Any]]:
        if self.factual is None:
            return {}
        if self._inherited is None:
            self._inherited = inherited_splits(self.factual, Manifest.load(self.factual))
        return self._inherited

    def _sink(self) -> ShardSink:
        return ShardSink(
            root=absolute(self.root),
            contract=self.contract,
            public=self.public,
            writes_metadata=self.mode.writes_metadata,
            redacted=tuple(self.redacted_columns),
            tasks=dict(self._tasks),
            split_salt=self.split_salt,
            inherited=self._inherited_splits(),
        )

    def _table_file(self, name: str) -> ParquetFile:
        if name not in self._tables:
            self._tables[name] = ParquetFile(
                self.root / "tables" / f"{name}.parquet", self._sink().table_schema(name)
            )
        return self._tables[name]

    def _split_file(self, task_id: str, split: str) -> ParquetFile:
        key = (task_id, split)
        if key not in self._split_files:
            path = self.root / "tasks" / task_id / f"{split}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            self._split_files[key] = ParquetFile(path, self._tasks[task_id].schema.arrow)
        return self._split_files[key]

    def _oracle_file(self, task_id: str, split: str, schema: Any) -> ParquetFile:
        """One split's oracle rows, kept aside until :meth:`finalize` joins them in split order."""
        key = (task_id, split)
        if key not in self._oracle_files:
            path = self.root / ORACLE_STAGING / task_id / f"{split}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            self._oracle_files[key] = ParquetFile(path, schema)
        return self._oracle_files[key]

    def _finish_oracle(self, task: SinkTask) -> None:
        """Close (or fill with empty parts) the task's oracle file(s), in instructor bundles."""
        schema = task.oracle_schema
        if schema is None or not self.mode.writes_metadata:
            return
        tid = task.spec.task_id
        if self._shard_count > 1:
            for rel in self._oracle_rels(tid):
                self._part(rel, lambda: schema)
            return
        path = self.root / oracle_file(tid)
        path.parent.mkdir(parents=True, exist_ok=True)
        out = ParquetFile(path, schema)
        try:
            for split in SPLITS:
                staged = self._oracle_file(tid, split, schema)
                staged.close()
                for batch in pq.ParquetFile(staged.path).iter_batches():
                    out.write(pa.Table.from_batches([batch], schema))
        finally:
            done = out.close()
        self._record_file(oracle_file(tid), done.sha256, done.size)

    def _part(self, rel: str, schema_of: Callable[[], Any]) -> Written:
        """A shard's part, or an empty one if that shard wrote no rows for it."""
        if rel not in self._parts:
            self._parts[rel] = write_parquet(self.root / rel, schema_of(), None)
        done = self._parts[rel]
        self._record_file(rel, done.sha256, done.size)
        return done

    def _partitioned_table(self, name: str) -> TableEntry:
        schema = partial(self._sink().table_schema, name)
        parts = [table_part(name, k) for k in range(self._shard_count)]
        done = [self._part(rel, schema) for rel in parts]
        return TableEntry(
            sum(d.rows for d in done), f"tables/{name}", parts_digest([d.sha256 for d in done]), tuple(parts)
        )

    def _partitioned_task(self, task: SinkTask) -> TaskEntry:
        tid = task.spec.task_id
        counts, shas, parts = {}, {}, {}
        for split in SPLITS:
            rels = [split_part(tid, split, k) for k in range(self._shard_count)]
            done = [self._part(rel, lambda: task.schema.arrow) for rel in rels]
            counts[split] = sum(d.rows for d in done)
            shas[split] = parts_digest([d.sha256 for d in done])
            parts[split] = tuple(rels)
        return TaskEntry(counts, shas, parts)

    def _single_task(self, task: SinkTask) -> TaskEntry:
        tid = task.spec.task_id
        counts, shas = {}, {}
        for split in SPLITS:
            done = self._split_file(tid, split).close()
            counts[split], shas[split] = done.rows, done.sha256
            self._record_file(f"tasks/{tid}/{split}.parquet", done.sha256, done.size)
        return TaskEntry(counts, shas)

    def _check_name(self, name: str, taken: Mapping[str, Any]) -> None:
        if not NAME.match(name):
            raise GenerationError(f"{name!r} is not a valid table or task name")
        if name in taken:
            raise GenerationError(f"{name!r} is written twice")

    def _check_metadata(self, name: str) -> None:
        if not self.mode.writes_metadata:
            raise ExposureError(
                f"refusing to write hidden truth metadata/{name} into a {self.mode.value} bundle"
            )
        if not NAME.match(name):
            raise GenerationError(f"{name!r} is not a valid metadata file name")

    def _record_file(self, rel: str, sha: str, size: int) -> None:
        if rel in self._files:
            raise GenerationError(f"{rel} is written twice")
        self._files[rel] = FileEntry(sha, size)

    def _write_json(self, rel: str, data: Any) -> None:
        self._write_bytes(rel, dump_json(data))

    def _write_bytes(self, rel: str, data: bytes) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self._record_file(rel, hashlib.sha256(data).hexdigest(), len(data))


def _check_manifest_keys(fields: ManifestFields) -> None:
    """Refuse scheme fields that would silently overwrite a core key or each other."""
    seen: dict[str, str] = {}
    for section, keys in (("config", fields.config), ("hidden", fields.hidden), ("extra", fields.extra)):
        for key in keys:
            if key in CORE_KEYS:
                raise GenerationError(f"manifest {section} field {key!r} collides with a core key")
            if key in seen:
                raise GenerationError(f"manifest field {key!r} is set in both {seen[key]} and {section}")
            seen[key] = section
