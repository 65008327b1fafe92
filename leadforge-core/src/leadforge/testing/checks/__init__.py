"""The contract checks, one module per concept. Each yields one self-contained line per failure.

A check reads bundles from the :class:`~leadforge.testing.subject.Subject` it is given (each
bundle is generated once per run and shared), and raises :class:`Skip` when it does not apply
to the scheme, e.g. exposure monotonicity for a scheme with one exposure mode.
"""

from __future__ import annotations

from leadforge.testing.checks.base import Check, Skip
from leadforge.testing.checks.config import bad_config
from leadforge.testing.checks.determinism import determinism, seed_sensitivity
from leadforge.testing.checks.dictionary import dictionary
from leadforge.testing.checks.exposure import exposure_monotonicity
from leadforge.testing.checks.leaks import cut_gaps, id_numbers_leak, presence, row_order
from leadforge.testing.checks.manifest import manifest
from leadforge.testing.checks.splits import shared_splits, splits
from leadforge.testing.checks.validation import validate_fresh, validate_tampered

__all__ = ["CHECKS", "Check", "Skip", "check_named"]

CHECKS: tuple[Check, ...] = (
    Check(
        "determinism",
        "one seed gives byte-identical bundles (every file hashed, timestamp pinned), in every mode, "
        "also from the CLI in a fresh interpreter with another PYTHONHASHSEED",
        determinism,
    ),
    Check(
        "seed_sensitivity",
        "another seed gives different tables and splits with the same layout",
        seed_sensitivity,
    ),
    Check(
        "exposure_monotonicity",
        "public ⊆ instructor: no metadata/, no hidden manifest field, no redacted column, tables/columns/"
        "tasks/dictionary rows of the public bundle all exist in the instructor bundle, omissions declared",
        exposure_monotonicity,
    ),
    Check(
        "manifest",
        "manifest.json and task manifests read cleanly as validate reads them, laid out as the writer "
        "writes them, with the run's values and every file listed with its SHA-256 and size",
        manifest,
    ),
    Check("validate_fresh", "`validate` reports no error on a fresh bundle of each mode", validate_fresh),
    Check(
        "validate_tampered",
        "`validate` reports an edited, deleted or added file (and metadata/ in a public bundle) by name",
        validate_tampered,
    ),
    Check(
        "bad_config",
        "every supported tier and mode resolves; unknown keys, bad modes, negative counts and wrong types "
        "are refused with one-line InvalidConfigError/UsageError naming the key",
        bad_config,
    ),
    Check("splits", "every task has disjoint, non-empty train/valid/test splits with a usable label", splits),
    Check("shared_splits", "tasks sharing a key column put each key in the same split", shared_splits),
    Check(
        "dictionary",
        "feature_dictionary.csv covers every split column with its dtype and marks each label as target",
        dictionary,
    ),
    Check(
        "row_order",
        "split rows not in the writer's key order carry no label signal in their position or in "
        "single-class runs at the head or tail",
        row_order,
    ),
    Check(
        "id_numbers",
        "the task key's id number, and per entity the lowest/highest id and id gap of its rows in every "
        "referencing table, do not predict the label beyond the public time column",
        id_numbers_leak,
    ),
    Check(
        "cut_gaps",
        "public id gaps do not encode how many rows the public cut removed (compared with the instructor "
        "bundle of the same seed)",
        cut_gaps,
    ),
    Check(
        "presence",
        "having rows in a public table neither near-perfectly separates the label nor predicts it "
        "differently than core's projection of the instructor rows",
        presence,
    ),
)


def check_named(name: str) -> Check:
    for check in CHECKS:
        if check.name == name:
            return check
    raise KeyError(f"unknown conformance check {name!r}; known: {', '.join(c.name for c in CHECKS)}")
