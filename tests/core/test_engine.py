"""The engines: items in order whatever runs them, light items batched into a few tasks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from core_support import PINNED
from leadforge.api import Generator
from leadforge.bundle.manifest import Manifest
from leadforge.bundle.measured import TaskFiles
from leadforge.engine import LIGHT_TASKS_PER_WORKER, LOCAL, DaskEngine, LocalEngine, _interleaved
from leadforge.errors import GenerationError
from leadforge.plugins import PluginHost


@pytest.mark.parametrize(("n", "tasks"), [(0, 8), (1, 8), (7, 8), (8, 8), (9, 8), (298, 8), (22, 22)])
def test_groups_deal_every_item_once_into_at_most_the_tasks_asked(n: int, tasks: int) -> None:
    groups = _interleaved(n, tasks)
    assert sorted(i for g in groups for i in g) == list(range(n))
    assert len(groups) == min(n, tasks)
    assert all(g == sorted(g) for g in groups)
    if groups:
        assert max(map(len, groups)) - min(map(len, groups)) <= 1


def test_a_group_spans_the_list_rather_than_one_end_of_it() -> None:
    """Neighbouring jobs are often the same table's parts: each group takes some of every stretch."""
    groups = _interleaved(100, 4)
    assert all(g[0] < 4 and g[-1] >= 96 for g in groups)


def _square_plus(x: int, offset: int) -> int:
    if x < 0:
        raise ValueError(f"negative item {x}")
    return x * x + offset


@pytest.fixture(scope="module")
def dask_engine() -> Iterator[DaskEngine]:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as c,
        distributed.Client(c) as client,
    ):
        yield DaskEngine(client)


class _Counting:
    """Wraps a client and counts the tasks submitted through it."""

    def __init__(self, client: Any) -> None:
        self.client, self.submitted = client, 0

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        self.submitted += 1
        return self.client.submit(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


@pytest.mark.parametrize("light", [False, True])
def test_dask_results_come_back_in_item_order_with_progress_to_the_total(
    dask_engine: DaskEngine, light: bool
) -> None:
    counting = _Counting(dask_engine.client)
    engine = DaskEngine(counting)
    items = list(range(37))
    seen: list[tuple[int, int]] = []
    shared = engine.share(5)
    out = engine.map(_square_plus, items, shared, progress=lambda d, t: seen.append((d, t)), light=light)
    assert out == [x * x + 5 for x in items] == LOCAL.map(_square_plus, items, 5)
    assert seen[-1] == (37, 37) and all(t == 37 for _, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert counting.submitted == (2 * LIGHT_TASKS_PER_WORKER if light else 37)


def test_an_item_that_fails_in_a_batch_raises_its_own_error(dask_engine: DaskEngine) -> None:
    with pytest.raises(ValueError, match="negative item -3"):
        dask_engine.map(_square_plus, [1, 2, -3, 4, 5, 6, 7, 8, 9, 10], 0, light=True)


class _Recording(LocalEngine):
    """In this process, last item first (as a cluster may finish them), noting what each map ran."""

    def __init__(self) -> None:
        self.mapped: list[tuple[str, list[Any]]] = []

    def map(self, fn: Any, items: Any, *args: Any, progress: Any = None, light: bool = False) -> Any:
        self.mapped.append((getattr(fn, "__name__", "?"), list(items)))
        return super().map(fn, items[::-1], *args, progress=progress, light=light)[::-1]


WORLDS: dict[str, tuple[str, dict[str, Any]]] = {
    "toy": ("toy_v1", {"n_rows": 120}),
    "lead_scoring": ("b2b_saas_procurement_v1", {"n_leads": 600, "n_accounts": 200, "n_contacts": 500}),
}


def _host(world: str) -> PluginHost:
    if world == "toy":
        import toyplugin

        return PluginHost.from_plugins([("toy", toyplugin)])
    pytest.importorskip("leadforge_leadscoring")
    pytest.importorskip("leadforge_recipes")
    return PluginHost.discover()


@pytest.mark.parametrize("world", sorted(WORLDS))
@pytest.mark.parametrize("mode", ["research_instructor", "student_public"])
def test_the_cards_ceilings_and_lessons_run_as_jobs_on_the_writers_engine(
    tmp_path: Path, mode: str, world: str
) -> None:
    """Finalising hands every measured card section to the engine (so a cluster runs them side
    by side), and the card does not depend on the order they finish in."""
    recipe, params = WORLDS[world]
    gen = Generator.from_recipe(recipe, seed=3, exposure_mode=mode, host=_host(world), **params)
    engine = _Recording()
    root = gen.generate().save(tmp_path / "b", generation_timestamp=PINNED, engine=engine)
    jobs = [items for name, items in engine.mapped if name == "run_card_job"]
    assert len(jobs) == 1
    manifest = Manifest.load(root)
    assert {j.spec.task_id for j in jobs[0] if j.kind == "lessons"} == set(manifest.tasks)
    keyed = {j.spec.task_id for j in jobs[0] if j.kind == "ceiling"}
    assert keyed == set(manifest.oracles)
    assert bool(keyed) is (world == "lead_scoring" and mode == "research_instructor")
    for job in jobs[0]:  # what crosses to a worker is where the rows are, not the rows
        assert isinstance(job.rows, TaskFiles)
        assert all(rel.startswith(f"tasks/{job.spec.task_id}/") for files in job.rows.splits for rel in files)
    again = gen.generate().save(tmp_path / "c", generation_timestamp=PINNED)
    assert (root / "dataset_card.md").read_bytes() == (again / "dataset_card.md").read_bytes()
    if keyed:
        ceiling = root / "metadata" / "oracle" / "ceiling.json"
        assert ceiling.read_bytes() == (again / "metadata" / "oracle" / "ceiling.json").read_bytes()


def test_a_started_map_works_while_the_driver_does_and_fails_with_its_own_error(
    dask_engine: DaskEngine,
) -> None:
    pending = dask_engine.start(_square_plus, list(range(9)), 1)
    assert pending() == [x * x + 1 for x in range(9)] == LOCAL.start(_square_plus, list(range(9)), 1)()
    failing = dask_engine.start(_square_plus, [2, -7, 3], 0)
    with pytest.raises(ValueError, match="negative item -7"):
        failing()


def test_rows_are_sealed_before_the_metadata_so_the_cards_jobs_run_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Core closes the rows and starts the card's jobs before the scheme's ``write_metadata``; a
    table written after that is refused with a clear error."""
    import leadforge.bundle.writer as writer_module

    order: list[str] = []
    real_seal, real_json = (
        writer_module.BundleWriter.seal_rows,
        writer_module.BundleWriter.write_metadata_json,
    )

    def seal(self: Any) -> None:
        order.append("seal")
        real_seal(self)
        with pytest.raises(GenerationError, match="rows are already closed"):
            self.write_table(next(iter(self.contract)).name, {})

    def metadata(self: Any, name: str, data: Any) -> None:
        order.append(f"metadata:{name}")
        real_json(self, name, data)

    monkeypatch.setattr(writer_module.BundleWriter, "seal_rows", seal)
    monkeypatch.setattr(writer_module.BundleWriter, "write_metadata_json", metadata)
    recipe, params = WORLDS["toy"]
    gen = Generator.from_recipe(recipe, exposure_mode="research_instructor", host=_host("toy"), **params)
    gen.generate().save(tmp_path / "b", generation_timestamp=PINNED)
    assert order[0] == "seal" and any(o.startswith("metadata:") for o in order[1:])
