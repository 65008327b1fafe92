"""The support scheme's sections of ``leadforge report``: SLA breaches by ticket priority and
channel, and how long ticket messages are.

Read from the task rows, which both exposure modes ship (the tickets table is instructor-only);
a figure whose column is missing says "not available".
"""

from __future__ import annotations

from leadforge.bundle.reader import BundleView, Manifest
from leadforge.report.figures import column, histogram, rate_by
from leadforge.report.model import Section
from leadforge.report.read import Reader

TASK = "sla_breached"


def sections(bundle: BundleView, manifest: Manifest) -> list[Section]:
    reader = Reader(bundle, manifest)
    rows = reader.task_rows(TASK, reader.split_columns(TASK)) if TASK in manifest.tasks else None
    return [
        Section(
            "sla",
            "SLA breaches",
            (
                rate_by(
                    "breach-by-priority",
                    "Breach rate by priority",
                    rows,
                    "priority",
                    TASK,
                    what="breach rate",
                ),
                rate_by(
                    "breach-by-channel", "Breach rate by channel", rows, "channel", TASK, what="breach rate"
                ),
                histogram(
                    "message-length",
                    "Ticket message length",
                    column(rows, "message_chars"),
                    xlabel="characters",
                ),
            ),
            scheme="support",
            intro="Which tickets miss their first-response SLA.",
        )
    ]
