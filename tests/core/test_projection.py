"""``project_shard``: one shard's rows cut, cascaded, numbered, remapped and projected."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pyarrow as pa
import pytest
from leadforge.bundle import ID_BLOCK, Cutoff, ForeignKey, PublicView, RelationalContract, TableContract
from leadforge.bundle.projection import project_shard
from leadforge.errors import GenerationError
from leadforge.schema import TableSchema

ACCOUNTS = TableSchema.of([("account_id", "string"), ("opened", "string"), ("tier", "string")])
VISITS = TableSchema.of(
    [("visit_id", "string"), ("account_id", "string"), ("at", "string"), ("score", "Float64")]
)
NOTES = TableSchema.of([("note_id", "string"), ("visit_id", "string"), ("at", "string")])
AUDIT = TableSchema.of([("audit_id", "string"), ("account_id", "string")])


def contract(visit_cut: Cutoff, *, notes: str = "shard") -> RelationalContract:
    return RelationalContract(
        (
            TableContract(
                "accounts",
                ACCOUNTS,
                "account_id",
                "acct",
                time_column="opened",
                public=PublicView(drop=("tier",)),
            ),
            TableContract(
                "visits",
                VISITS,
                "visit_id",
                "vis",
                foreign_keys=(ForeignKey("account_id", "accounts"),),
                time_column="at",
                numbering="shard",
                public=PublicView(cut=visit_cut),
            ),
            TableContract(
                "notes",
                NOTES,
                "note_id",
                "note",
                foreign_keys=(ForeignKey("visit_id", "visits"),),
                time_column="at",
                numbering=notes,  # type: ignore[arg-type]
            ),
            TableContract(
                "audit",
                AUDIT,
                "audit_id",
                "aud",
                foreign_keys=(ForeignKey("account_id", "accounts"),),
                public=PublicView(omit=True),
            ),
        )
    )


FIXED = Cutoff(date=dt.date(2025, 1, 10))
ANCHORED = Cutoff(via="account_id", anchor_column="opened", offset_days=2)


def chunks(note_ids: list[object] | None = None) -> dict[str, pa.Table]:
    accounts = pa.table(
        {
            "account_id": ["acct_000001", "acct_000002"],
            "opened": ["2025-01-01", "2025-01-08"],
            "tier": ["gold", "free"],
        }
    )
    # local keys deliberately out of order and sparse: core ranks rows, not keys
    visits = pa.table(
        {
            "visit_id": pa.array([40, 7, 12, 3, 99], pa.int64()),
            "account_id": ["acct_000001", "acct_000001", "acct_000002", "acct_000002", "acct_000001"],
            "at": ["2025-01-02", "2025-01-05", "2025-01-09", "2025-01-11", "2025-01-03"],
            "score": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    notes = pa.table(
        {
            "note_id": pa.array(note_ids or [0, 1, 2, 3], pa.int64()),
            "visit_id": pa.array([7, 3, 40, None], pa.int64()),
            "at": ["2025-01-05", "2025-01-12", "2025-01-02", "2025-01-02"],
        }
    )
    audit = pa.table({"audit_id": ["aud_000001"], "account_id": ["acct_000002"]})
    return {"accounts": accounts, "visits": visits, "notes": notes, "audit": audit}


def col(table: pa.Table, name: str) -> list[object]:
    return table.column(name).to_pylist()


def test_a_fixed_date_cut_removes_later_rows_and_numbers_the_rest_densely() -> None:
    out = project_shard(contract(FIXED), 2, chunks(), public=True)
    visits = out["visits"]
    assert col(visits, "at") == ["2025-01-02", "2025-01-05", "2025-01-09", "2025-01-03"]
    base = 2 * ID_BLOCK
    assert col(visits, "visit_id") == [f"vis_{base + r}" for r in (1, 2, 3, 4)]
    assert col(visits, "score") == [1.0, 2.0, 3.0, 5.0]


def test_an_anchored_cut_compares_each_row_with_its_parents_date() -> None:
    out = project_shard(contract(ANCHORED), 0, chunks(), public=True)
    # account 1 opened 01-01 (cut after 01-03), account 2 opened 01-08 (cut after 01-10)
    assert col(out["visits"], "at") == ["2025-01-02", "2025-01-09", "2025-01-03"]
    assert col(out["visits"], "visit_id") == ["vis_000001", "vis_000002", "vis_000003"]


def test_removals_cascade_to_children_and_references_follow_the_new_ids() -> None:
    out = project_shard(contract(FIXED), 1, chunks(), public=True)
    base = ID_BLOCK
    notes = out["notes"]
    # local visit 3 (dated 01-11) was cut, so its note goes; the null reference stays
    assert col(notes, "at") == ["2025-01-05", "2025-01-02", "2025-01-02"]
    assert col(notes, "note_id") == [f"note_{base + r}" for r in (1, 2, 3)]
    visit_of = dict(zip([40, 7, 12, 99], col(out["visits"], "visit_id"), strict=True))
    assert col(notes, "visit_id") == [visit_of[7], visit_of[40], None]


def test_instructor_rows_are_all_kept_but_still_numbered_by_shard() -> None:
    out = project_shard(contract(FIXED), 3, chunks(), public=False)
    base = 3 * ID_BLOCK
    assert col(out["visits"], "visit_id") == [f"vis_{base + r}" for r in range(1, 6)]
    assert col(out["notes"], "visit_id")[:3] == [f"vis_{base + 2}", f"vis_{base + 4}", f"vis_{base + 1}"]
    assert set(out) == {"accounts", "visits", "notes", "audit"} and "tier" in out["accounts"].column_names


def test_public_omits_and_drops_redaction_applies_in_every_mode() -> None:
    public = project_shard(contract(FIXED), 0, chunks(), public=True, redacted=["score"])
    assert list(public) == ["accounts", "visits", "notes"]
    assert public["accounts"].column_names == ["account_id", "opened"]
    assert "score" not in public["visits"].column_names
    instructor = project_shard(contract(FIXED), 0, chunks(), public=False, redacted=["score"])
    assert "score" not in instructor["visits"].column_names and "tier" in instructor["accounts"].column_names


def test_ids_depend_on_the_shard_index_and_rank_only() -> None:
    a = project_shard(contract(FIXED), 5, chunks([0, 1, 2, 3]), public=True)
    b = project_shard(contract(FIXED), 5, chunks([900, 17, 4, 88]), public=True)
    assert a["notes"].equals(b["notes"]) and a["visits"].equals(b["visits"])


def test_a_plan_numbered_table_that_would_lose_rows_is_refused() -> None:
    with pytest.raises(GenerationError, match="table notes lost rows with a removed parent row"):
        project_shard(contract(FIXED, notes="plan"), 0, _plan_notes(), public=True)


def _plan_notes() -> dict[str, pa.Table]:
    c = chunks()
    c["notes"] = pa.table(
        {
            "note_id": ["note_000001", "note_000002"],
            "visit_id": pa.array([7, 3], pa.int64()),
            "at": ["2025-01-05"] * 2,
        }
    )
    return c


def test_shard_references_must_resolve_within_the_shard() -> None:
    c = chunks()
    with pytest.raises(
        GenerationError, match="references a row its parent table does not hold in this shard"
    ):
        project_shard(
            contract(FIXED),
            0,
            {**c, "notes": c["notes"].set_column(1, "visit_id", pa.array([7, 3, 41, None], pa.int64()))},
            public=False,
        )
    with pytest.raises(GenerationError, match="whose rows must be written in the same shard"):
        project_shard(contract(FIXED), 0, {"notes": c["notes"]}, public=False)
    with pytest.raises(GenerationError, match="not declared in the scheme's relational contract"):
        project_shard(contract(FIXED), 0, {"orders": c["audit"]}, public=False)
    with pytest.raises(GenerationError, match="cut relative to accounts, which this shard does not hold"):
        project_shard(contract(ANCHORED), 0, {"visits": c["visits"]}, public=True)


def owned(visits: str = "owner", rows_per_owner: int = 10_000) -> RelationalContract:
    base = contract(FIXED)
    return RelationalContract(
        tuple(
            replace(t, numbering=visits, owner="account_id", rows_per_owner=rows_per_owner)  # type: ignore[arg-type]
            if t.name == "visits"
            else t
            for t in base
        )
    )


def test_owner_numbering_counts_rows_within_their_owner_outside_public_bundles() -> None:
    out = project_shard(owned(), 4, chunks(), public=False)
    # account 1 owns local visits 40, 7, 99 (in written order), account 2 owns 12, 3
    assert col(out["visits"], "visit_id") == [
        "vis_010000",
        "vis_010001",
        "vis_020000",
        "vis_020001",
        "vis_010002",
    ]
    assert col(out["notes"], "visit_id")[:3] == ["vis_010001", "vis_020001", "vis_010000"]
    # public bundles number densely after the cut, exactly like "shard"
    public = project_shard(owned(), 4, chunks(), public=True)
    shard = project_shard(contract(FIXED), 4, chunks(), public=True)
    assert public["visits"].equals(shard["visits"]) and public["notes"].equals(shard["notes"])


def test_an_owners_ids_do_not_depend_on_other_owners_rows() -> None:
    c = chunks()
    extra = pa.table(
        {
            "visit_id": pa.array([5, 6], pa.int64()),
            "account_id": ["acct_000001", "acct_000001"],
            "at": ["2025-01-01", "2025-01-01"],
            "score": [9.0, 9.0],
        }
    )
    # account 1 gains two visits written first; account 2's visits keep their ids
    more = {**c, "visits": pa.concat_tables([extra, c["visits"]])}
    a = project_shard(owned(), 0, c, public=False)["visits"].to_pandas()
    b = project_shard(owned(), 0, more, public=False)["visits"].to_pandas()
    two = [frame[frame["account_id"] == "acct_000002"].reset_index(drop=True) for frame in (a, b)]
    assert two[0].equals(two[1]) and len(two[0]) == 2


def test_an_owner_with_too_many_rows_is_a_generation_error() -> None:
    with pytest.raises(GenerationError, match=r"acct_000001 owns more than 1 rows"):
        project_shard(owned(rows_per_owner=1), 0, chunks(), public=False)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"owner": "account_id"}, "an owner is declared only with numbering='owner'"),
        ({"numbering": "owner"}, "needs owner= a non-null foreign key"),
        ({"numbering": "owner", "owner": "at"}, "needs owner= a non-null foreign key"),
        ({"numbering": "owner", "owner": "account_id", "rows_per_owner": 30}, "must be a power of ten"),
        ({"numbering": "serial"}, "numbering must be one of"),
    ],
)
def test_owner_declarations_are_checked(change: dict[str, object], words: str) -> None:
    visits = contract(FIXED)["visits"]
    with pytest.raises(ValueError, match=words):
        replace(visits, **change)  # type: ignore[arg-type]
