"""The relational contract: what a scheme declares about its tables, so core can enforce it.

A scheme describes each table once — Arrow schema, primary key, id prefix, foreign keys, the
column that orders its rows in time, how ids are numbered, and its public projection — and
core does the rest: the writer applies the projection and assigns ids, ``validate`` checks
keys, references, dtypes, id formats and time order, and exports and documentation are
derived from the same declaration. No scheme has to get any of it right on its own.

Id numbering (see ``docs/architecture.md``):

* ``"plan"`` — the scheme writes final ids itself, numbered densely from counts it knows
  before any shard is simulated (accounts, leads, customers). Such a table is never cut in a
  public bundle, since a cut would leave gaps.
* ``"shard"`` — core numbers the rows. The scheme writes the primary key (and any foreign
  key pointing at such a table) as shard-local integers; core keeps the rows the projection
  keeps and numbers them ``shard_index * ID_BLOCK + rank + 1``. A shard's ids therefore depend
  on the config and its index only, and no id value or gap reveals a removed row.
* ``"owner"`` — like ``"shard"`` (shard-local integer keys from the scheme, dense ids after the
  cut in public bundles), but bundles that hold hidden truth number each row within the row
  its ``owner`` foreign key points at: ``owner_number * rows_per_owner + ordinal``, the ordinal
  counting the owner's rows in the scheme's order. One entity's ids then depend on nothing but
  its own rows, so twin worlds agree on every id an intervention cannot reach.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from leadforge.schema import DTYPES, TIME_DTYPES, Column, TableSchema

#: Ids of ``"shard"`` tables: shard ``k``'s rows are numbered from ``k * ID_BLOCK + 1``.
ID_BLOCK = 10**9
#: A cutoff more than a century from its anchor is a mistake (or a hostile manifest).
MAX_OFFSET_DAYS = 36_600
Numbering = Literal["plan", "shard", "owner"]
NUMBERINGS: tuple[Numbering, ...] = ("plan", "shard", "owner")
#: Rows an ``"owner"`` table leaves room for under each owner, unless it declares otherwise.
ROWS_PER_OWNER = 10_000


@dataclass(frozen=True)
class ForeignKey:
    """``column`` references the primary key of table ``parent``.

    ``not_before_parent`` asks validation to check that a child row's time column is not
    before its parent's (for tables that declare one).
    """

    column: str
    parent: str
    not_before_parent: bool = True
    nullable: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "parent": self.parent,
            "not_before_parent": self.not_before_parent,
            "nullable": self.nullable,
        }


@dataclass(frozen=True)
class Cutoff:
    """Where a public bundle cuts a table's rows: rows whose time column is later are removed.

    Either a fixed ``date`` (a row is kept iff its UTC day is on or before it), or relative to
    an anchor row: ``via`` is a foreign-key column of this table, ``anchor_column`` a time
    column of the parent it references (in the same shard). When both the anchor and the
    table's time column are timestamps, a row is kept iff its instant is at most the anchor
    plus ``offset_days`` × 24 h; otherwise iff its UTC day is at most the anchor's day plus
    ``offset_days``.
    """

    date: dt.date | None = None
    via: str | None = None
    anchor_column: str | None = None
    offset_days: int = 0

    def __post_init__(self) -> None:
        relative = self.via is not None or self.anchor_column is not None
        if (self.date is None) == (not relative) or (relative and not (self.via and self.anchor_column)):
            raise ValueError("a Cutoff is either a fixed date or (via, anchor_column)")
        if isinstance(self.offset_days, bool) or not -MAX_OFFSET_DAYS <= self.offset_days <= MAX_OFFSET_DAYS:
            raise ValueError(f"a Cutoff's offset_days must lie within ±{MAX_OFFSET_DAYS}")

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat() if self.date else None,
            "via": self.via,
            "anchor_column": self.anchor_column,
            "offset_days": self.offset_days,
        }


@dataclass(frozen=True)
class PublicView:
    """A table's public projection: omitted whole, or some columns dropped and rows cut."""

    omit: bool = False
    drop: tuple[str, ...] = ()
    cut: Cutoff | None = None

    def to_json(self) -> dict[str, Any]:
        return {"omit": self.omit, "drop": list(self.drop), "cut": self.cut.to_json() if self.cut else None}


#: The ``unit`` of a ``timestamp`` column: an instant, ``timestamp[us, tz=UTC]``.
UTC_TIMESTAMP = "UTC timestamp"
#: The ``unit`` of a ``date`` column: a calendar day, ``date32``.
DATE = "date"
#: The ``unit`` of a date column stored as text (bundles before schema 9, third-party schemes).
ISO_DATE = "ISO 8601 date"


@dataclass(frozen=True)
class ColumnDoc:
    """What one column means, for the data dictionary and the dataset metadata files.

    ``unit`` is free text (``USD``, ``seconds``, :data:`UTC_TIMESTAMP`, :data:`DATE`); ``values`` lists the
    allowed values of a categorical column when they are fixed by the scheme (empty when
    open-ended or drawn from the recipe).
    """

    description: str = ""
    unit: str = ""
    values: tuple[str, ...] = ()

    @classmethod
    def identifier(cls, what: str) -> ColumnDoc:
        """A primary key's doc: ``Identifier of the <what>.``"""
        return cls(f"Identifier of the {what}.")

    @classmethod
    def reference(cls, what: str) -> ColumnDoc:
        """A foreign key's doc: ``The <what> this row belongs to.``"""
        return cls(f"The {what} this row belongs to.")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"description": self.description}
        if self.unit:
            out["unit"] = self.unit
        if self.values:
            out["values"] = list(self.values)
        return out

    @classmethod
    def from_json(cls, data: Any) -> ColumnDoc:
        if not isinstance(data, Mapping):
            raise TypeError("a column doc must be an object")
        values = data.get("values") or ()
        if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
            raise TypeError("a column doc's values must be a list of strings")
        return cls(str(data.get("description", "")), str(data.get("unit", "")), tuple(values))


@dataclass(frozen=True)
class TableContract:
    """One table of a scheme: its full (instructor) schema and the promises around it."""

    name: str
    schema: TableSchema
    primary_key: str
    id_prefix: str
    foreign_keys: tuple[ForeignKey, ...] = ()
    time_column: str | None = None
    numbering: Numbering = "plan"
    #: ``"owner"`` numbering: the foreign-key column whose row owns this one, and how many rows
    #: one owner may hold (a power of ten, so an id reads as the owner's number then the ordinal).
    owner: str | None = None
    rows_per_owner: int = ROWS_PER_OWNER
    public: PublicView = field(default_factory=PublicView)
    description: str = ""
    #: column name -> what it means; columns without an entry are simply undocumented.
    column_docs: Mapping[str, ColumnDoc] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        names = self.schema.names
        undeclared = [c for c in self.column_docs if c not in names]
        if undeclared:
            raise ValueError(f"table {self.name}: column docs name unknown columns {undeclared}")
        for col in (self.primary_key, self.time_column, *(fk.column for fk in self.foreign_keys)):
            if col is not None and col not in names:
                raise ValueError(f"table {self.name}: column {col!r} is not in its schema")
        if self.time_column is not None and self.schema.dtype(self.time_column) not in (
            "string",
            *TIME_DTYPES,
        ):
            raise ValueError(
                f"table {self.name}: time column {self.time_column!r} must be a timestamp, date or "
                "ISO-text column"
            )
        if self.schema.dtype(self.primary_key) != "string":
            raise ValueError(f"table {self.name}: primary key {self.primary_key!r} must be a string column")
        if not self.id_prefix.isidentifier():
            raise ValueError(f"table {self.name}: id prefix {self.id_prefix!r} must be an identifier")
        missing = [c for c in self.public.drop if c not in names]
        if missing:
            raise ValueError(f"table {self.name}: public drop names unknown columns {missing}")
        if self.public.drop and self.primary_key in self.public.drop:
            raise ValueError(f"table {self.name}: the primary key cannot be dropped")
        self._check_numbering()
        cut = self.public.cut
        if cut is not None:
            if self.time_column is None:
                raise ValueError(f"table {self.name}: a cut table needs a time column")
            if self.numbering == "plan":
                raise ValueError(
                    f"table {self.name}: a table cut in public bundles must use numbering='shard' "
                    "or 'owner' (plan-numbered ids would show gaps where rows were removed)"
                )
            if cut.via is not None and cut.via not in {fk.column for fk in self.foreign_keys}:
                raise ValueError(f"table {self.name}: cutoff via {cut.via!r} is not a foreign key")

    def _check_numbering(self) -> None:
        if self.numbering not in NUMBERINGS:
            raise ValueError(f"table {self.name}: numbering must be one of {list(NUMBERINGS)}")
        if self.numbering != "owner":
            if self.owner is not None:
                raise ValueError(f"table {self.name}: an owner is declared only with numbering='owner'")
            return
        fk = {f.column: f for f in self.foreign_keys}.get(self.owner or "")
        if fk is None or fk.parent == self.name or fk.nullable:
            raise ValueError(
                f"table {self.name}: numbering='owner' needs owner= a non-null foreign key to another table"
            )
        k = self.rows_per_owner
        if isinstance(k, bool) or not isinstance(k, int) or k < 1 or 10 ** (len(str(k)) - 1) != k:
            raise ValueError(f"table {self.name}: rows_per_owner must be a power of ten, got {k!r}")

    @property
    def core_numbered(self) -> bool:
        """Core assigns this table's ids; the scheme writes shard-local integer keys."""
        return self.numbering != "plan"

    def public_schema(self, redacted: Iterable[str] = ()) -> TableSchema:
        return self.schema.without((*self.public.drop, *redacted))

    def doc(self, column: str) -> ColumnDoc:
        return self.column_docs.get(column) or ColumnDoc()

    def foreign_key(self, column: str) -> ForeignKey:
        for fk in self.foreign_keys:
            if fk.column == column:
                return fk
        raise KeyError(column)

    def to_json(self) -> dict[str, Any]:
        names = self.schema.names
        return {
            "primary_key": self.primary_key,
            "id_prefix": self.id_prefix,
            "numbering": self.numbering,
            **({"owner": self.owner, "rows_per_owner": self.rows_per_owner} if self.owner else {}),
            "time_column": self.time_column,
            "foreign_keys": [fk.to_json() for fk in self.foreign_keys],
            "columns": {c.name: c.dtype for c in self.schema.columns},
            "public": self.public.to_json(),
            "description": self.description,
            **(
                {"column_docs": {c: self.column_docs[c].to_json() for c in names if c in self.column_docs}}
                if self.column_docs
                else {}
            ),
        }


@dataclass(frozen=True)
class RelationalContract:
    """Every table of a bundle, in write order; parents come before their children."""

    tables: tuple[TableContract, ...]

    def __post_init__(self) -> None:
        seen: dict[str, TableContract] = {}
        for t in self.tables:
            if t.name in seen:
                raise ValueError(f"table {t.name} is declared twice")
            for fk in t.foreign_keys:
                parent = seen.get(fk.parent) if fk.parent != t.name else t
                if parent is None:
                    raise ValueError(
                        f"table {t.name}: foreign key {fk.column} names {fk.parent!r}, "
                        "declared later or not at all"
                    )
                if parent.public.omit and not t.public.omit:
                    raise ValueError(f"table {t.name} references {fk.parent}, which public bundles omit")
            cut = t.public.cut
            if cut is not None and cut.via is not None:
                anchor = t.foreign_key(cut.via).parent
                parent = t if anchor == t.name else seen[anchor]
                if cut.anchor_column not in parent.schema.names:
                    raise ValueError(
                        f"table {t.name}: cutoff anchor {cut.anchor_column!r} is not a column "
                        f"of {parent.name}"
                    )
            seen[t.name] = t

    def __iter__(self) -> Iterator[TableContract]:
        return iter(self.tables)

    def __contains__(self, name: object) -> bool:
        return any(t.name == name for t in self.tables)

    def __getitem__(self, name: str) -> TableContract:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tables]

    def public_tables(self) -> list[TableContract]:
        return [t for t in self.tables if not t.public.omit]

    def to_json(self) -> dict[str, Any]:
        return {t.name: t.to_json() for t in self.tables}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RelationalContract:
        """Parse the contract a manifest records; raises ``ValueError`` on a malformed one."""
        if not isinstance(data, Mapping):
            raise ValueError("relational_contract is not an object")
        tables = []
        for name, t in data.items():
            if not isinstance(t, Mapping):
                raise ValueError(f"relational_contract.{name} is not an object")
            cols = t.get("columns")
            if not isinstance(cols, Mapping) or any(d not in DTYPES for d in cols.values()):
                raise ValueError(f"relational_contract.{name}.columns must map names to {DTYPES}")
            schema = TableSchema(tuple(Column(str(c), d) for c, d in cols.items()))
            fks = t.get("foreign_keys") or []
            pub = t.get("public") or {}
            cut = pub.get("cut") if isinstance(pub, Mapping) else None
            docs = t.get("column_docs") or {}
            try:
                tables.append(
                    TableContract(
                        name=str(name),
                        schema=schema,
                        primary_key=str(t["primary_key"]),
                        id_prefix=str(t["id_prefix"]),
                        foreign_keys=tuple(
                            ForeignKey(
                                str(fk["column"]),
                                str(fk["parent"]),
                                bool(fk.get("not_before_parent", True)),
                                bool(fk.get("nullable", False)),
                            )
                            for fk in fks
                        ),
                        time_column=t.get("time_column"),
                        numbering=t.get("numbering", "plan"),
                        owner=t.get("owner"),
                        rows_per_owner=t.get("rows_per_owner", ROWS_PER_OWNER),
                        public=PublicView(
                            omit=bool(pub.get("omit", False)),
                            drop=tuple(pub.get("drop") or ()),
                            cut=None
                            if not cut
                            else Cutoff(
                                date=dt.date.fromisoformat(cut["date"]) if cut.get("date") else None,
                                via=cut.get("via"),
                                anchor_column=cut.get("anchor_column"),
                                offset_days=int(cut.get("offset_days", 0)),
                            ),
                        ),
                        description=str(t.get("description", "")),
                        column_docs={str(c): ColumnDoc.from_json(d) for c, d in docs.items()},
                    )
                )
            except (KeyError, TypeError, AttributeError) as exc:
                raise ValueError(f"relational_contract.{name}: malformed ({exc})") from None
        return cls(tuple(tables))
