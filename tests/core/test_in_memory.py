"""``Bundle.tables`` / ``Bundle.task()``: the bundle ``save`` writes, held in memory, with no disk touched."""

from __future__ import annotations

from pathlib import Path

import leadforge
import pytest
from core_support import require_first_party
from leadforge.api import Generator
from leadforge.bundle import files, shards
from leadforge.errors import UsageError

require_first_party()

PINNED = "2026-01-01T00:00:00+00:00"
WORLDS = [
    (
        "b2b_saas_procurement_v1",
        {"n_leads": 1200, "n_accounts": 360, "n_contacts": 1000, "shard_accounts": 100},
    ),
    ("b2b_saas_ltv_v1", {"n_customers": 900, "shard_size": 200}),
]


@pytest.mark.parametrize("mode", ["student_public", "research_instructor"])
@pytest.mark.parametrize(("recipe", "params"), WORLDS)
def test_memory_holds_exactly_what_save_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recipe: str, params: dict[str, int], mode: str
) -> None:
    bundle = Generator.from_recipe(recipe, seed=4, exposure_mode=mode, **params).generate()

    def no_disk(*args: object, **kwargs: object) -> None:
        raise AssertionError("the in-memory bundle wrote a file")

    with monkeypatch.context() as m:
        m.setattr(files.ParquetFile, "__init__", no_disk)
        m.setattr(files.HashingFile, "__init__", no_disk)
        m.setattr(shards, "store_part", no_disk)
        m.chdir(tmp_path)
        memory = bundle.in_memory()
        assert list(tmp_path.iterdir()) == []
    disk = leadforge.load(bundle.save(tmp_path / "b", generation_timestamp=PINNED))
    assert set(bundle.tables) == set(disk.tables)
    for name in disk.tables:
        assert bundle.tables[name].to_arrow().equals(disk.tables[name].to_arrow()), name
    for task_id in disk.task_ids:
        for split in ("train", "valid", "test"):
            assert (
                bundle.task(task_id, kind="arrow")
                .split(split)
                .equals(disk.task(task_id, kind="arrow").split(split))
            )
        assert bundle.task(task_id).train.equals(disk.task(task_id).train)
    for rel, data in memory.files.items():
        assert (tmp_path / "b" / rel).read_bytes() == data, rel
    assert ("metadata/world_spec.json" in memory.files) == (mode == "research_instructor")


def test_unknown_task_and_oversized_worlds_are_refused() -> None:
    small = Generator.from_recipe("b2b_saas_procurement_v1", n_leads=300).generate()
    with pytest.raises(UsageError, match="no task 'nope'"):
        small.task("nope")
    big = Generator.from_recipe("b2b_saas_procurement_v1", n_leads=20_000_000).generate()
    with pytest.raises(UsageError, match="too much to hold in memory"):
        big.in_memory()


def test_the_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    blocks = [b.split("```", 1)[0] for b in readme.split("```python\n")[1:]]
    example = [b for b in blocks if "bundle.tables[" in b]
    assert len(example) == 1
    monkeypatch.chdir(tmp_path)
    exec(compile(example[0], "README.md", "exec"), {})
    assert (tmp_path / "out" / "small" / "manifest.json").is_file()
