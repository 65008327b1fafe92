"""What a scheme declares about each supervised task, and how its rows are split."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from leadforge.bundle.manifest import TaskManifest
from leadforge.bundle.splits import SplitFractions
from leadforge.enums import TASK_TYPES

NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class TaskSpec:
    """One supervised task: its ``task_manifest.json`` and how its rows are split.

    ``key_column`` identifies a row (e.g. ``lead_id``); splits are assigned from a hash of it
    and the seed. Classification tasks are stratified by ``label_column`` unless
    ``stratify`` is set to ``False``.
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

    def __post_init__(self) -> None:
        if self.task_type not in TASK_TYPES:
            raise ValueError(f"task {self.task_id}: task_type must be one of {TASK_TYPES}")
        if not NAME.match(self.task_id):
            raise ValueError(f"task id {self.task_id!r} is not a valid directory name")

    @property
    def stratified(self) -> bool:
        return self.task_type == "binary_classification" if self.stratify is None else self.stratify

    def manifest(self, stratified_by: str | None) -> TaskManifest:
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
        )
