"""The lifecycle scheme's own bundle checks (core checks the envelope and the relational contract:
tables, dtypes, keys, references, time order, public cutoffs).

* :mod:`.tasks` — the task set, task manifests and split columns match the mode; the dictionary
  flags targets and traps; a public card does not describe early tasks;
* :mod:`.tables` — the manifest records lifecycle's contract; one subscription per customer;
* :mod:`.events` — every customer's events chain its MRR and (instructor) end on the
  subscription's terminal values;
* :mod:`.invoices` — invoices bill the MRR in effect and carry their payment events; a public
  invoice shows no status decided after the observation date;
* :mod:`.labels` — (instructor) every target equals the invoices or churn it summarises;
* :mod:`.snapshot` — every task row's features are recomputed from the rows up to its cutoff,
  and each cohort is the customers alive at it.

Every finding names the file and, where it can, the column. The row checks run shard by shard
when the bundle is written in shards (each shard's customers with their own rows), so a sound
bundle costs one shard's memory; when a shard has findings the checks run again on the whole
bundle, so the findings are the same whichever layout it is written in. The shards are checked
on the validation's engine (``validate --workers N``), each in its own job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from leadforge.bundle.reader import BundleView, Manifest
from leadforge.engine import LOCAL
from leadforge.errors import BundleError
from leadforge.findings import Finding, guarded

from leadforge_lifecycle.checks import events, invoices, labels, snapshot, tables, tasks
from leadforge_lifecycle.checks.frames import Context

Check = Callable[[Context], Iterator[Finding]]

#: Checks that read files' shapes only.
SHAPE: tuple[tuple[str, Check], ...] = (
    (tasks.CHECK, tasks.task_set),
    (tasks.CHECK, tasks.dictionary),
    ("lifecycle.leak", tasks.public_card),
    (tables.CHECK, tables.recorded_contract),
)
#: Checks that read rows; they need every table to have its contract's columns.
ROWS: tuple[tuple[str, Check], ...] = (
    (tables.CHECK, tables.subscriptions),
    (events.CHECK, events.chain),
    (invoices.CHECK, invoices.chain),
    (labels.CHECK, labels.targets),
    (snapshot.CHECK, snapshot.features),
)


def run(bundle: BundleView, manifest: Manifest) -> list[Finding]:
    try:
        ctx = Context(bundle, manifest)
    except BundleError as exc:
        return [Finding("lifecycle.manifest", str(exc), where="manifest.json")]
    findings: list[Finding] = []
    for name, check in SHAPE:
        findings += guarded(name, check, ctx)
    if findings or not ctx.tables_hold_their_contract():
        return findings
    shards = ctx.shards()
    if shards is not None and shards > 1:
        engine = bundle.engine or LOCAL
        progress = bundle.progress

        def report(done: int, total: int) -> None:
            if progress is not None:
                progress.update("checking lifecycle shards", done, total)

        clean = engine.map(_shard_is_clean, range(shards), str(bundle.root), progress=report)
        if all(clean):
            return findings
    return findings + _rows(ctx)


def _shard_is_clean(index: int, root: str) -> bool:
    """On any worker: whether one shard's customers and their rows pass every row check."""
    manifest = Manifest.load(Path(root))
    return not _rows(Context(BundleView(Path(root), manifest), manifest, index))


def _rows(ctx: Context) -> list[Finding]:
    findings: list[Finding] = []
    for name, check in ROWS:
        findings += guarded(name, check, ctx)
    return findings
