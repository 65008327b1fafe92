"""What every plugin says about a finished bundle: ``validate`` findings gathered into a report,
and ``realism_metrics`` gathered into one list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadforge.bundle.reader import BundleView, Manifest
from leadforge.engine import LOCAL
from leadforge.errors import BundleError, UsageError
from leadforge.findings import Finding, Severity, guarded
from leadforge.realism import RealismMetric

if TYPE_CHECKING:
    from leadforge.engine import Engine
    from leadforge.plugins import PluginHost
    from leadforge.progress import Progress

__all__ = [
    "Finding",
    "Severity",
    "ValidationReport",
    "check_bundle_dir",
    "guarded",
    "measure_realism",
    "validate_bundle",
]


@dataclass(frozen=True)
class ValidationReport:
    root: Path
    scheme: str
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "bundle": str(self.root),
            "scheme": self.scheme,
            "ok": self.ok,
            "errors": [f.to_json() for f in self.errors],
            "warnings": [f.to_json() for f in self.warnings],
        }


def check_bundle_dir(root: Path) -> None:
    """Raise :class:`BundleError` unless ``root`` is a directory with a manifest."""
    if not root.exists():
        raise BundleError(f"path does not exist: {root}")
    if not root.is_dir():
        raise BundleError(f"not a directory: {root}")
    if not (root / "manifest.json").is_file():
        raise BundleError(f"no manifest.json in {root}")


def validate_bundle(
    root: Path, host: PluginHost, *, engine: Engine | None = None, progress: Progress | None = None
) -> ValidationReport:
    """Run every installed plugin's ``validate`` hook on the bundle at ``root``.

    Core's heavy envelope work (hashing every file, reading every part's keys and references)
    runs as jobs on ``engine`` (in this process when ``None``) and is merged in part order, so
    the findings are the same whichever engine ran it; ``progress`` hears ``"validating"``.
    """
    check_bundle_dir(root)
    manifest = Manifest.load(root)
    bundle = BundleView(root, manifest, engine=engine or LOCAL, progress=progress)
    findings: list[Finding] = []
    caller = host.hook.validate
    for impl in reversed(caller.get_hookimpls()):
        others = [i.plugin for i in caller.get_hookimpls() if i.plugin is not impl.plugin]
        try:
            for batch in host.pm.subset_hook_caller("validate", remove_plugins=others)(
                bundle=bundle, manifest=manifest
            ):
                if batch is None:
                    continue
                if not isinstance(batch, list | tuple) or not all(isinstance(f, Finding) for f in batch):
                    findings.append(
                        Finding(
                            f"{impl.plugin_name}.validate", "validate hook did not return a list of Findings"
                        )
                    )
                    continue
                findings.extend(batch)
        except BundleError as exc:
            findings.append(Finding(f"{impl.plugin_name}.validate", str(exc)))
        except Exception as exc:
            findings.append(
                Finding(f"{impl.plugin_name}.validate", f"validate hook raised {type(exc).__name__}: {exc}")
            )
    scheme = manifest.scheme or "?"
    if scheme not in host.schemes:
        findings.append(
            Finding(
                "scheme",
                f"scheme {scheme!r} is not installed; only envelope checks ran",
                severity=Severity.WARNING,
            )
        )
    return ValidationReport(root=root, scheme=scheme, findings=tuple(findings))


def measure_realism(root: Path, host: PluginHost | None = None) -> list[RealismMetric]:
    """Every plugin's realism metrics for the bundle at ``root`` (envelope checked, not validated)."""
    from leadforge.plugins import get_host

    check_bundle_dir(root)
    manifest = Manifest.load(root)
    host = host or get_host()
    bundle = BundleView(root, manifest)
    metrics: list[RealismMetric] = []
    for batch in host.hook.realism_metrics(bundle=bundle, manifest=manifest):
        if batch is None:
            continue
        if not isinstance(batch, Sequence) or not all(isinstance(m, RealismMetric) for m in batch):
            raise UsageError("a realism_metrics hook did not return a list of RealismMetric")
        metrics.extend(m for m in batch if not (m.hidden and manifest.is_public))
    return metrics
