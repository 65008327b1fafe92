"""The relational contract refuses declarations core could not keep, and survives the manifest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from leadforge.bundle import Cutoff, ForeignKey, PublicView, RelationalContract, TableContract
from leadforge.schema import TableSchema

PARENTS = TableSchema.of([("parent_id", "string"), ("opened", "string"), ("size", "Int64")])
CHILDREN = TableSchema.of(
    [("child_id", "string"), ("parent_id", "string"), ("at", "string"), ("n", "Int64"), ("note", "string")]
)


def parent(**kw: Any) -> TableContract:
    return TableContract("parents", PARENTS, "parent_id", "par", **{"time_column": "opened", **kw})


def child(**kw: Any) -> TableContract:
    args: dict[str, Any] = {
        "foreign_keys": (ForeignKey("parent_id", "parents"),),
        "time_column": "at",
        "numbering": "shard",
        **kw,
    }
    return TableContract("children", CHILDREN, "child_id", "kid", **args)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: parent(public=PublicView(cut=Cutoff(date=dt.date(2025, 3, 1)))),
            "must use numbering='shard'",
        ),
        (lambda: TableContract("t", PARENTS, "nope_id", "t"), "column 'nope_id' is not in its schema"),
        (lambda: parent(time_column="when"), "column 'when' is not in its schema"),
        (
            lambda: child(foreign_keys=(ForeignKey("ghost_id", "parents"),)),
            "column 'ghost_id' is not in its schema",
        ),
        (
            lambda: parent(public=PublicView(drop=("size", "colour"))),
            r"public drop names unknown columns \['colour'\]",
        ),
        (lambda: parent(public=PublicView(drop=("parent_id",))), "the primary key cannot be dropped"),
        (lambda: TableContract("t", PARENTS, "size", "t"), "primary key 'size' must be a string column"),
        (lambda: TableContract("t", PARENTS, "parent_id", "p-x"), "id prefix 'p-x' must be an identifier"),
        (
            lambda: child(time_column=None, public=PublicView(cut=Cutoff(date=dt.date(2025, 3, 1)))),
            "a cut table needs a time column",
        ),
        (
            lambda: child(public=PublicView(cut=Cutoff(via="note", anchor_column="opened"))),
            "cutoff via 'note' is not a foreign key",
        ),
    ],
)
def test_a_table_contract_refuses_what_core_could_not_keep(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        (lambda: (child(),), "foreign key parent_id names 'parents', declared later or not at all"),
        (lambda: (child(), parent()), "foreign key parent_id names 'parents', declared later or not at all"),
        (
            lambda: (child(foreign_keys=(ForeignKey("parent_id", "orders"),)),),
            "names 'orders', declared later or not at all",
        ),
        (lambda: (parent(), parent()), "table parents is declared twice"),
        (
            lambda: (parent(public=PublicView(omit=True)), child()),
            "references parents, which public bundles omit",
        ),
        (
            lambda: (parent(), child(public=PublicView(cut=Cutoff(via="parent_id", anchor_column="closed")))),
            "cutoff anchor 'closed' is not a column of parents",
        ),
    ],
)
def test_a_contract_refuses_references_it_could_not_resolve(
    tables: Callable[[], tuple[TableContract, ...]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RelationalContract(tables())


@pytest.mark.parametrize(
    "kw",
    [{}, {"date": dt.date(2025, 1, 1), "via": "parent_id", "anchor_column": "opened"}, {"via": "parent_id"}],
)
def test_a_cutoff_is_a_fixed_date_or_an_anchor_never_both(kw: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="either a fixed date or"):
        Cutoff(**kw)


def full_contract() -> RelationalContract:
    return RelationalContract(
        (
            parent(public=PublicView(drop=("size",)), description="the parents"),
            child(
                foreign_keys=(ForeignKey("parent_id", "parents", not_before_parent=False, nullable=True),),
                public=PublicView(cut=Cutoff(via="parent_id", anchor_column="opened", offset_days=3)),
            ),
            TableContract(
                "late",
                CHILDREN,
                "child_id",
                "late",
                foreign_keys=(ForeignKey("parent_id", "parents"),),
                time_column="at",
                numbering="shard",
                public=PublicView(drop=("note",), cut=Cutoff(date=dt.date(2025, 6, 30))),
            ),
            TableContract("hidden", PARENTS, "parent_id", "hid", public=PublicView(omit=True)),
        )
    )


def test_the_contract_round_trips_through_json() -> None:
    contract = full_contract()
    assert RelationalContract.from_json(contract.to_json()) == contract
    assert contract.names == ["parents", "children", "late", "hidden"]
    assert [t.name for t in contract.public_tables()] == ["parents", "children", "late"]
    assert "late" in contract and "nope" not in contract and contract["late"].id_prefix == "late"
    assert contract["children"].public_schema(["n"]).names == ["child_id", "parent_id", "at", "note"]
    assert contract["late"].public_schema().names == ["child_id", "parent_id", "at", "n"]
    with pytest.raises(KeyError):
        contract["nope"]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(parents=[]),
        lambda d: d["parents"].update(columns={"parent_id": "str"}),
        lambda d: d["parents"].pop("primary_key"),
        lambda d: d["children"].update(foreign_keys="parent_id"),
        lambda d: d["children"]["public"].update(cut={"date": "soon"}),
        lambda d: d["children"].update(numbering="plan"),
        lambda d: d.pop("parents"),
    ],
)
def test_a_malformed_recorded_contract_is_a_value_error(mutate: Callable[[dict[str, Any]], object]) -> None:
    data = full_contract().to_json()
    mutate(data)
    with pytest.raises(ValueError):
        RelationalContract.from_json(data)
