"""Assembling a bundle's report: core's sections, then every scheme's ``report_sections``."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from leadforge.bundle.reader import Manifest
from leadforge.report import baselines, checks, core_sections
from leadforge.report.model import Report, Section, missing
from leadforge.report.read import CachedView, Reader

if TYPE_CHECKING:
    from leadforge.plugins import PluginHost


def build_report(root: Path, host: PluginHost | None = None, *, validate: bool = True) -> Report:
    """Every figure of the bundle at ``root``; ``validate=False`` leaves out the (hashing) validation."""
    from leadforge.plugins import get_host
    from leadforge.validation import check_bundle_dir

    check_bundle_dir(root)
    host = host or get_host()
    manifest = Manifest.load(root)
    reader = Reader(CachedView(root, manifest), manifest)
    # Validation (hashing every file) runs on a thread beside the figures: both spend most of
    # their time in Arrow, numpy and hashlib, which release the GIL, so with a second core the
    # full report takes little longer than the validation alone. The figures are built in the
    # order that lets the run's column cache serve most reads (the realism metrics read ids the
    # scheme's funnel read) and shown in the order a reader wants.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="leadforge-validate") as pool:
        pending = pool.submit(checks.validation, root, host) if validate else None
        base = baselines.section(reader)
        schemes = scheme_sections(reader, host)
        real = core_sections.realism(reader, host)
        checked = checks.section(root, manifest, pending.result() if pending is not None else None)
    sections = [
        core_sections.overview(reader),
        core_sections.structure(reader),
        checked,
        base,
        real,
        *schemes,
    ]
    m = manifest
    title = f"{m.recipe_id or 'bundle'} — {m.exposure_mode or '?'}, {m.difficulty or '?'}, seed {m.seed}"
    bundle = {
        "recipe_id": manifest.recipe_id,
        "scheme": manifest.scheme,
        "exposure_mode": manifest.exposure_mode,
        "difficulty": manifest.difficulty,
        "seed": manifest.seed,
        "bundle_schema_version": manifest.schema_version,
        "package_version": manifest.package_version,
        "config_digest": manifest.config_digest,
    }
    return Report(title, bundle, tuple(_unique(sections)))


def scheme_sections(reader: Reader, host: PluginHost) -> list[Section]:
    """Each plugin's sections; a plugin whose hook fails shows one "not available" section."""
    out: list[Section] = []
    kwargs = {"bundle": reader.bundle, "manifest": reader.manifest}
    for impl in reversed(host.hook.report_sections.get_hookimpls()):
        try:
            got = impl.function(**{k: kwargs[k] for k in impl.argnames})
        except Exception as exc:
            why = f"the {impl.plugin_name} plugin's report_sections raised {type(exc).__name__}: {exc}"
            out.append(
                Section(
                    f"{impl.plugin_name}-error",
                    impl.plugin_name,
                    (missing("error", "Sections", "text", why[:300]),),
                )
            )
            continue
        if got is None:
            continue
        if not isinstance(got, Sequence) or not all(isinstance(s, Section) for s in got):
            why = f"the {impl.plugin_name} plugin's report_sections did not return a list of Section"
            out.append(
                Section(
                    f"{impl.plugin_name}-error",
                    impl.plugin_name,
                    (missing("error", "Sections", "text", why),),
                )
            )
            continue
        out.extend(got)
    return out


def _unique(sections: Sequence[Section]) -> list[Section]:
    seen: set[str] = set()
    out = []
    for s in sections:
        sid, n = s.id, 2
        while sid in seen:
            sid, n = f"{s.id}-{n}", n + 1
        seen.add(sid)
        out.append(s if sid == s.id else Section(sid, s.title, s.figures, s.intro, s.scheme))
    return out
