"""The leadforge plugin contract: every hook a plugin may implement, documented where declared.

A plugin is a module registered under the ``leadforge`` entry-point group::

    [project.entry-points.leadforge]
    support = "leadforge_support.plugin"

that declares the plugin-API range it supports and implements any subset of the hooks below
with :data:`leadforge.hookimpl`::

    LEADFORGE_PLUGIN_API = (2, 2)

    @hookimpl
    def register_schemes():
        return [SchemeInfo(name="support", ...)]

Two kinds of hook exist. *Collect* hooks are called on every plugin and their results are
concatenated. *First-result* hooks stop at the first plugin that returns something other
than ``None``: a scheme answers for its own scheme name and returns ``None`` for any other.

Hook specs only ever gain arguments; an implementation may accept any subset of them, so a
plugin written against an older core keeps loading.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from leadforge.bundle.reader import BundleView, Manifest
    from leadforge.bundle.writer import BundleWriter
    from leadforge.config import GenerationConfig
    from leadforge.findings import Finding
    from leadforge.realism import RealismMetric
    from leadforge.report.model import Section
    from leadforge.rng import RNG
    from leadforge.schemes import GenerateOption, SchemeInfo, World

PROJECT = "leadforge"
#: The plugin-API version this core implements. Plugins declare the range they support as
#: ``LEADFORGE_PLUGIN_API = (min, max)``; core refuses a plugin whose range excludes it.
PLUGIN_API = 2

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_schemes() -> list[SchemeInfo]:
    """Declare the generation schemes this plugin provides.

    Kind: collect. Called once per plugin when the plugin is loaded.

    Return a list of :class:`leadforge.schemes.SchemeInfo` (name, title, version, task
    types, supported exposure modes, params dataclass, difficulty-profile dataclass,
    narrative type). A scheme name claimed by two distributions makes that scheme unusable
    until one is removed; both distributions are named in the error.
    """
    raise NotImplementedError


@hookspec
def register_recipes() -> list[Path]:
    """Declare recipe folders this plugin ships.

    Kind: collect. Called once per plugin when the plugin is loaded.

    Return a list of folders, each holding ``recipe.yaml`` (required; it names its
    ``scheme``), and usually ``narrative.yaml`` and ``difficulty_profiles.yaml``. A malformed
    recipe is reported with its file and key and does not hide the other recipes.
    """
    raise NotImplementedError


@hookspec
def generate_options() -> list[GenerateOption]:
    """Contribute options to ``leadforge generate`` (like pytest's ``pytest_addoption``).

    Kind: collect. Called when the CLI is assembled.

    Return :class:`leadforge.schemes.GenerateOption` entries; each maps a flag such as
    ``--n-leads`` to one of the scheme's parameters. Using a flag with a recipe of another
    scheme is an error that says which scheme the flag belongs to.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def build_world(scheme: str, config: GenerationConfig, narrative: Any, rng: RNG) -> World | None:
    """Build the world for ``scheme``: the world-level truth, ready to be simulated.

    Kind: first result. Called once per generation, after config resolution.

    Return ``None`` unless ``scheme`` is yours. Otherwise sample what the whole world shares
    (structure, mechanism parameters, calendar, population plan) from ``rng`` and return an
    object with ``scheme`` and ``config`` attributes. Simulate lazily, shard by shard, in
    :func:`write_bundle`, so memory stays bounded by one shard. ``narrative`` is the recipe
    narrative parsed by your ``SchemeInfo.narrative_type`` (or ``None``). Raise
    :class:`leadforge.errors.InvalidConfigError` for a config your scheme cannot honour.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def write_bundle(world: World, writer: BundleWriter) -> Any:
    """Write the bundle for a world you built.

    Kind: first result. Called once per save, with a :class:`BundleWriter` that builds the
    bundle in a temporary folder, enforces your ``SchemeInfo.contract`` (public projection,
    ids, split assignment and row order) and hashes every file.

    Return ``None`` unless ``world.scheme`` is yours; otherwise declare the feature catalog
    and tasks, hand over full rows shard by shard with ``writer.write_shard``, write the
    dataset card and the manifest fields, and return what :func:`write_metadata` needs
    (anything but ``None``, e.g. ``True`` or the statistics you gathered). Core writes
    ``manifest.json`` and moves the bundle into place after this returns.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def write_metadata(world: World, writer: BundleWriter, written: Any) -> bool | None:
    """Write hidden truth into ``metadata/`` (instructor bundles only).

    Kind: first result. Called after :func:`write_bundle`, and only when the exposure mode
    writes metadata; core never calls it for ``student_public``. Core has already written
    ``metadata/world_spec.json``. ``written`` is what your :func:`write_bundle` returned,
    so nothing has to be smuggled on the (frozen) world. The rows are closed by then (core
    starts measuring the card's ceilings and lessons on them while this runs), so a table
    or task row written here is refused.

    Return ``None`` unless ``world.scheme`` is yours; otherwise write files with
    ``writer.write_metadata_json`` / ``writer.write_metadata_text`` and return ``True``.
    """
    raise NotImplementedError


@hookspec
def validate(bundle: BundleView, manifest: Manifest) -> list[Finding] | None:
    """Check a finished bundle.

    Kind: collect. Called by ``leadforge validate`` and after ``generate --validate``.

    ``bundle`` reads files lazily; ``manifest`` is the parsed ``manifest.json``. Core checks
    the envelope (files, hashes, sizes, row counts, exposure layout). A scheme checks its
    own invariants when ``manifest.scheme`` is its name and returns ``None`` otherwise; any
    plugin may add checks. Return :class:`leadforge.validation.Finding` objects; an empty
    list means nothing was found.
    """
    raise NotImplementedError


@hookspec
def realism_metrics(bundle: BundleView, manifest: Manifest) -> list[RealismMetric] | None:
    """Measure how the bundle's world compares with real B2B SaaS businesses.

    Kind: collect. Called by ``benchmarks/realism.py``, the report and the tests, on a bundle
    whose envelope core has checked.

    Return ``None`` unless ``manifest.scheme`` is yours; otherwise a list of
    :class:`leadforge.realism.RealismMetric`, each with the band a real business falls in and
    the published benchmark behind it. Compute from the public tables where you can; a metric
    that needs hidden metadata sets ``hidden=True`` and core drops it for public bundles.
    Read column-wise through ``bundle`` (sampled where a figure allows it) so memory stays
    flat in bundle size.
    """
    raise NotImplementedError


@hookspec
def report_sections(bundle: BundleView, manifest: Manifest) -> list[Section] | None:
    """Add the scheme's own sections to ``leadforge report``.

    Kind: collect. Called once per report, after core's own sections, on a bundle whose
    envelope core has checked.

    Return ``None`` unless ``manifest.scheme`` is yours; otherwise a list of
    :class:`leadforge.report.model.Section`, each holding :class:`~leadforge.report.model.Figure`
    objects: the data behind a picture (bars, lines, histogram, waterfall, graph) or a table,
    which core draws and also writes as JSON. Read columns by name through
    :class:`leadforge.report.read.Reader` (``Reader(bundle, manifest)``): it samples, streams, and
    answers ``None`` for a table or column the bundle lacks, which the figure should turn into
    ``missing(...)`` ("not available") rather than an error. In a public bundle
    (``manifest.is_public``) show nothing hidden: no metadata file, no hidden manifest field, no
    redacted column. An exception is shown as a "not available" section, not a failed report.
    """
    raise NotImplementedError
