"""What a scheme declares about each supervised task, and how its rows are split."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from leadforge.bundle.manifest import OutOfTime, TaskManifest
from leadforge.bundle.splits import SplitFractions
from leadforge.enums import TASK_TYPES

NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


ORACLE_METHODS = ("exact", "replicates")
#: the answer key's column of each row's true uplift (designed experiments)
UPLIFT = "uplift"


@dataclass(frozen=True)
class OracleSpec:
    """What the world itself knows about a task's label at the snapshot anchor.

    ``column`` is an extra column of the task rows the scheme hands over: the true
    probability of the label (classification) or the expected target (regression), integrated
    over the label window from the simulation's own hazards. ``method`` says how: ``"exact"``
    (closed form) or ``"replicates"`` (the mean over ``replicates`` futures simulated from the
    entity's state at the anchor with their own random substreams). Core never stores the
    column in a task split; instructor bundles get it in ``metadata/oracle/<task_id>.parquet``.
    ``uplift`` names a second hidden column, set when a designed experiment runs: each row's
    true uplift (the oracle under treatment minus the oracle under control), kept as the
    answer key's ``uplift`` column.
    """

    column: str
    method: str = "exact"
    replicates: int = 0
    description: str = ""
    uplift: str = ""

    def __post_init__(self) -> None:
        if self.method not in ORACLE_METHODS:
            raise ValueError(f"oracle method must be one of {ORACLE_METHODS}, got {self.method!r}")
        if (self.method == "replicates") != (self.replicates > 0):
            raise ValueError("an oracle by replicates needs replicates > 0; an exact one needs none")
        if not NAME.match(self.column):
            raise ValueError(f"oracle column {self.column!r} is not a valid column name")
        if self.uplift and (not NAME.match(self.uplift) or self.uplift == self.column):
            raise ValueError(f"uplift column {self.uplift!r} must be a valid name other than the oracle's")

    @property
    def hidden(self) -> tuple[str, ...]:
        """The task-row columns that never reach a split file."""
        return (self.column, self.uplift) if self.uplift else (self.column,)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"column": self.column, "method": self.method}
        if self.replicates:
            out["replicates"] = self.replicates
        if self.description:
            out["description"] = self.description
        if self.uplift:
            out["uplift"] = UPLIFT
        return out


@dataclass(frozen=True)
class TaskSpec:
    """One supervised task: its ``task_manifest.json`` and how its rows are split.

    ``key_column`` identifies a row (e.g. ``lead_id``); splits are assigned from a hash of it
    and the seed. Classification tasks are stratified by ``label_column`` unless
    ``stratify`` is set to ``False``. ``oracle`` names the column of the task rows that holds
    the world's own answer (see :class:`OracleSpec`). ``time_column`` names the task-row column
    that dates each row's cohort (its creation day or instant): core then records the task's
    out-of-time split in ``task_manifest.json`` and the card measures what it costs a model.
    ``segment_column`` names a categorical task-row column (a plan, a lead source) by which a
    twin's card breaks each effect down.
    """

    task_id: str
    task_type: str
    label_column: str
    label_window_days: int
    primary_table: str
    key_column: str
    description: str
    split: SplitFractions = field(default_factory=SplitFractions)
    stratify: bool | None = None
    oracle: OracleSpec | None = None
    time_column: str = ""
    segment_column: str = ""

    def __post_init__(self) -> None:
        if self.task_type not in TASK_TYPES:
            raise ValueError(f"task {self.task_id}: task_type must be one of {TASK_TYPES}")
        if not NAME.match(self.task_id):
            raise ValueError(f"task id {self.task_id!r} is not a valid directory name")
        if self.oracle is not None and self.oracle.column in (self.key_column, self.label_column):
            raise ValueError(f"task {self.task_id}: the oracle column must not be its key or label")

    @property
    def stratified(self) -> bool:
        return self.task_type == "binary_classification" if self.stratify is None else self.stratify

    def manifest(self, stratified_by: str | None, out_of_time: OutOfTime | None = None) -> TaskManifest:
        return TaskManifest(
            task_id=self.task_id,
            task_type=self.task_type,
            label_column=self.label_column,
            label_window_days=self.label_window_days,
            primary_table=self.primary_table,
            key_column=self.key_column,
            split=self.split.to_json(),
            stratified=stratified_by == f"{self.task_id}.{self.label_column}",
            stratified_by=stratified_by,
            description=self.description,
            out_of_time=out_of_time,
        )
