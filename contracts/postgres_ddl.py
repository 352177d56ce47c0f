"""PostgreSQL DDL for the schema model: a real server that keeps QuestDB's semantics.

The simulated QuestDB is checked against a real PostgreSQL server (``tests/real``), so the
tables there must behave like QuestDB's wherever the system or the oracles can tell:

- **DEDUP UPSERT KEYS** become a ``BEFORE INSERT`` row trigger that deletes the row with the
  same key first: the last write wins and plain INSERTs stay plain (``ON CONFLICT`` would
  need other SQL, which QuestDB refuses).  Keys compare with ``IS NOT DISTINCT FROM``, so
  NULL matches NULL as in QuestDB.  The designated timestamp (always a key, never NULL) is
  compared with ``=`` so the index on it serves the trigger's DELETE.
- The **designated timestamp** is ``NOT NULL`` and a ``BEFORE UPDATE OF`` statement trigger
  refuses to SET it, with QuestDB's message, whether or not a row matches.
- **Types** map to the PostgreSQL type whose asyncpg codec accepts and refuses the same
  Python values (``TIMESTAMP`` -> ``timestamp`` without time zone: naive datetimes only).
  Every other column is nullable, as in QuestDB.

``render_schema(schema)`` gives the script; ``postgres_type(column)`` is what the live-schema
comparison expects to find in ``information_schema``.  Types with no faithful equivalent
(GEOHASH, DECIMAL, arrays, ...) raise :class:`UnsupportedType` naming the column.
"""

from __future__ import annotations

from contracts.schema import Column, Schema, Table

PG_TYPES: dict[str, str] = {
    "BOOLEAN": "boolean",
    "BYTE": "smallint",
    "SHORT": "smallint",
    "INT": "integer",
    "LONG": "bigint",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "DATE": "timestamp(3) without time zone",  # QuestDB DATE: milliseconds
    "TIMESTAMP": "timestamp without time zone",
    "CHAR": "text",
    "STRING": "text",
    "VARCHAR": "text",
    "SYMBOL": "text",
    "UUID": "uuid",
    "BINARY": "bytea",
}
"""QuestDB type -> PostgreSQL type, as ``information_schema.columns.data_type`` spells it
(apart from the precision of ``DATE``, which ``datetime_precision`` reports)."""

DESIGNATED_UPDATE_MESSAGE = "Designated timestamp column cannot be updated"
"""QuestDB's message (questdb-facts.md), raised by the trigger so both servers say the same."""


class UnsupportedType(ValueError):
    """A column type with no PostgreSQL equivalent that keeps QuestDB's behaviour."""

    def __init__(self, table: str, column: Column) -> None:
        self.table = table
        self.column = column
        super().__init__(f"{table}.{column.name}: QuestDB type {column.type} has no PostgreSQL equivalent "
                         f"here (supported: {', '.join(PG_TYPES)}); declared at {column.source or '?'}")


def postgres_type(table: str, column: Column) -> str:
    try:
        return PG_TYPES[column.type]
    except KeyError:
        raise UnsupportedType(table, column) from None


def render_schema(schema: Schema) -> str:
    """The whole script, tables in name order; run it on an empty database (plain ``execute``)."""
    return "\n\n".join(render_table(schema.tables[name]) for name in sorted(schema.tables)) + "\n"


def render_table(table: Table) -> str:
    """``CREATE TABLE`` plus the index and triggers that carry QuestDB's semantics."""
    name = table.name
    designated = table.designated_timestamp
    columns = []
    for column in table.columns.values():
        not_null = " NOT NULL" if column.name == designated else ""
        columns.append(f"    {_quote(column.name)} {postgres_type(name, column)}{not_null}")
    parts = [f"CREATE TABLE {_quote(name)} (\n" + ",\n".join(columns) + "\n);"]
    if designated is not None:
        keys = (designated, *(key for key in table.dedup_keys if key != designated))
        parts.append(f"CREATE INDEX {_quote(name + '_designated')} ON {_quote(name)} "
                     f"({', '.join(_quote(key) for key in keys)});")
        parts.append(_refuse_designated_update(table, designated))
    if table.dedup_keys:
        parts.append(_dedup_trigger(table))
    return "\n".join(parts)


def _dedup_trigger(table: Table) -> str:
    """Last write wins: delete the row holding the new row's key before inserting it."""
    matches = [f"{_quote(key)} = NEW.{_quote(key)}" if key == table.designated_timestamp
               else f"{_quote(key)} IS NOT DISTINCT FROM NEW.{_quote(key)}" for key in table.dedup_keys]
    function = _quote(f"{table.name}_dedup_upsert")
    return (
        f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $body$\n"
        f"BEGIN\n"
        f"    DELETE FROM {_quote(table.name)} WHERE {' AND '.join(matches)};\n"
        f"    RETURN NEW;\n"
        f"END\n"
        f"$body$;\n"
        f"CREATE TRIGGER {_quote(table.name + '_dedup_upsert')} BEFORE INSERT ON {_quote(table.name)}\n"
        f"    FOR EACH ROW EXECUTE FUNCTION {function}();"
    )


def _refuse_designated_update(table: Table, designated: str) -> str:
    """A statement trigger: QuestDB refuses the statement itself, even when no row matches."""
    function = _quote(f"{table.name}_designated_fixed")
    return (
        f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $body$\n"
        f"BEGIN\n"
        f"    RAISE EXCEPTION '{DESIGNATED_UPDATE_MESSAGE}';\n"
        f"END\n"
        f"$body$;\n"
        f"CREATE TRIGGER {_quote(table.name + '_designated_fixed')} BEFORE UPDATE OF {_quote(designated)}\n"
        f"    ON {_quote(table.name)} FOR EACH STATEMENT EXECUTE FUNCTION {function}();"
    )


def _quote(identifier: str) -> str:
    """Double-quoted: ``timestamp`` is a column name here and a type name in PostgreSQL."""
    return '"' + identifier.replace('"', '""') + '"'
