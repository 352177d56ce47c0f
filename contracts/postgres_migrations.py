"""PostgreSQL migrations read into the same schema model as QuestDB's (``dialect = "postgres"``).

A code base on PostgreSQL has its tables in PostgreSQL DDL (``TEXT``, ``SERIAL``,
``TIMESTAMPTZ``, constraints, indexes, comments).  sqlglot reads that dialect completely, so
each statement is parsed by sqlglot and its effect on tables is applied to a
:class:`~contracts.schema.Schema` with ``dialect="postgres"``: the SQL checker then judges the
code's queries against it exactly as it does for QuestDB, minus QuestDB's own restrictions.

Types are stored as the QuestDB type holding the same values where there is one (``TEXT`` ->
``VARCHAR``, ``BIGINT`` -> ``LONG``), otherwise as PostgreSQL spells them (``TIMESTAMPTZ``,
``JSONB``), so every consumer of the model reads one vocabulary.  PostgreSQL tables have no
designated timestamp, partitioning, WAL or dedup keys.  Statements with no effect on columns
(indexes, comments, grants, functions, transactions) are accepted silently; a statement on
tables that sqlglot cannot read is a ``schema.not-modelled`` warning.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from contracts.schema import Applied, Column, MigrationError, Schema, Table, UnmodelledStatement

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # it logs every statement kept as a Command

_DIALECT = "postgres"
_T = exp.DataType.Type
_TYPES = {
    _T.TEXT: "VARCHAR", _T.VARCHAR: "VARCHAR", _T.CHAR: "VARCHAR", _T.NCHAR: "VARCHAR", _T.NVARCHAR: "VARCHAR",
    _T.INT: "INT", _T.SERIAL: "INT", _T.BIGINT: "LONG", _T.BIGSERIAL: "LONG", _T.SMALLINT: "SHORT",
    _T.SMALLSERIAL: "SHORT", _T.FLOAT: "FLOAT", _T.DOUBLE: "DOUBLE", _T.BOOLEAN: "BOOLEAN",
    _T.TIMESTAMP: "TIMESTAMP", _T.TIMESTAMPTZ: "TIMESTAMPTZ", _T.DATE: "DATE", _T.UUID: "UUID",
    _T.VARBINARY: "BINARY", _T.JSON: "JSON", _T.JSONB: "JSONB",
}


def apply_postgres(schema: Schema, sql: str, *, source: str) -> Iterator[Applied]:
    """Apply each PostgreSQL statement of ``sql`` to ``schema``; one failure never stops the rest."""
    try:
        statements = _split(sql)
    except TokenError as error:
        yield Applied("", 1, sql, MigrationError(source, 1, "well-formed SQL text", str(error).splitlines()[0]))
        return
    for line, text, tokens in statements:
        try:
            yield Applied(_Apply(schema, source, line, tokens).statement(text), line, text)
        except MigrationError as error:
            yield Applied("", line, text, error)


def _split(sql: str) -> list[tuple[int, str, list[Token]]]:
    """Statements on ``;`` tokens (dollar-quoted function bodies stay whole), with line and tokens."""
    tokens = sqlglot.tokenize(sql, read=_DIALECT)
    statements: list[tuple[int, str, list[Token]]] = []
    current: list[Token] = []
    for token in [*tokens, None]:
        if token is None or token.token_type == TokenType.SEMICOLON:
            if current:
                statements.append((current[0].line, sql[current[0].start:current[-1].end + 1], current))
            current = []
        else:
            current.append(token)
    return statements


class _Apply:
    def __init__(self, schema: Schema, source: str, line: int, tokens: list[Token]) -> None:
        self.schema = schema
        self.source = source
        self.line = line
        self.tokens = tokens
        self.cursor = 0

    def error(self, expected: str, seen: str) -> MigrationError:
        return MigrationError(self.source, self.line, expected, seen)

    def statement(self, text: str) -> str:
        try:
            tree = sqlglot.parse_one(text, read=_DIALECT)
        except (ParseError, TokenError) as error:
            raise self.error("a PostgreSQL statement", str(error).splitlines()[0]) from error
        if isinstance(tree, exp.Create):
            return self.create(tree)
        if isinstance(tree, exp.Alter) and str(tree.args.get("kind") or "").upper() == "TABLE":
            return self.alter(tree)
        if isinstance(tree, exp.Drop) and str(tree.args.get("kind") or "").upper() in ("TABLE", "VIEW"):
            return self.drop(tree)
        if isinstance(tree, exp.Insert | exp.Update):
            return type(tree).__name__.upper()
        if isinstance(tree, exp.Query):
            return "SELECT"
        if isinstance(tree, exp.Command) and str(tree.this).upper() in ("CREATE", "ALTER", "DROP") \
                and " TABLE " in f" {str(tree.expression).upper()} ":
            raise UnmodelledStatement(self.source, self.line, "a statement the schema model applies",
                                      f"{tree.this} {str(tree.expression)[:60]} (not modelled)")
        return tree.key.upper()  # indexes, comments, grants, functions, transactions: no columns change

    def create(self, tree: exp.Create) -> str:
        kind = str(tree.args.get("kind") or "").upper()
        if kind != "TABLE":
            if kind == "VIEW":
                self.schema.unmodelled.setdefault(tree.this.name.lower(), f"{self.source}:{self.line}")
            return f"CREATE {kind}"
        target = tree.this
        name = (target.this if isinstance(target, exp.Schema) else target).name.lower()
        if name in self.schema.tables:
            if tree.args.get("exists"):
                return "CREATE TABLE"
            raise self.error(f"a new table name (or IF NOT EXISTS); {name!r} was created at "
                             f"{self.schema.tables[name].source}", f"CREATE TABLE {name}")
        table = Table(name, {}, source=f"{self.source}:{self.line}")
        if not isinstance(target, exp.Schema):
            self.schema.unmodelled.setdefault(name, table.source)
            raise UnmodelledStatement(self.source, self.line, "a statement the schema model applies",
                                      "CREATE TABLE ... AS (columns of a query are not modelled)")
        for item in target.expressions:
            if isinstance(item, exp.ColumnDef):
                self.add_column(table, item)
            elif isinstance(item, exp.LikeProperty):
                like = self.table(item.this.name)
                table.columns.update((c.name, dataclasses.replace(c, source=table.source))
                                     for c in like.columns.values())
        self.schema.tables[name] = table
        self.schema.unmodelled.pop(name, None)
        return "CREATE TABLE"

    def table(self, name: str) -> Table:
        table = self.schema.tables.get(name.lower())
        if table is None:
            if name.lower() in self.schema.unmodelled:
                raise UnmodelledStatement(self.source, self.line, "a statement the schema model applies",
                                          f"a statement on {name.lower()!r}, created by a statement the model "
                                          f"does not apply ({self.schema.unmodelled[name.lower()]})")
            raise self.error("an existing table", f"unknown table {name.lower()!r}")
        return table

    def add_column(self, table: Table, definition: exp.ColumnDef) -> None:
        name = definition.name.lower()
        if name in table.columns:
            raise self.error(f"a new column name in table {table.name!r}", f"duplicate column {name!r}")
        table.columns[name] = Column(name, _type(definition.args.get("kind")), f"{self.source}:{self.line_of(name)}")

    def line_of(self, name: str) -> int:
        """The line of the next token spelling ``name`` (column definitions come in token order)."""
        for index in range(self.cursor, len(self.tokens)):
            if self.tokens[index].text.lower() == name:
                self.cursor = index + 1
                return self.tokens[index].line
        return self.line

    def alter(self, tree: exp.Alter) -> str:
        if tree.args.get("exists") and tree.this.name.lower() not in self.schema.tables:
            return "ALTER TABLE"  # ALTER TABLE IF EXISTS on a table that is not there: nothing happens
        original = self.table(tree.this.name)
        table = dataclasses.replace(original, columns=dict(original.columns))
        kinds = []
        for action in tree.args.get("actions") or ():
            kinds.append(self.action(table, action))
        if table.name != original.name:
            del self.schema.tables[original.name]
            self.schema.tables[table.name] = original
        for attribute in dataclasses.fields(Table):
            setattr(original, attribute.name, getattr(table, attribute.name))
        return kinds[0] if len(kinds) == 1 else "ALTER TABLE"

    def action(self, table: Table, action: exp.Expression) -> str:
        if isinstance(action, exp.ColumnDef):
            if action.args.get("exists") and action.name.lower() in table.columns:
                return "ADD COLUMN"
            self.add_column(table, action)
            return "ADD COLUMN"
        if isinstance(action, exp.Drop) and str(action.args.get("kind") or "").upper() == "COLUMN":
            for column in action.args.get("tables") or [action.this]:
                name = column.name.lower()
                if name not in table.columns and not action.args.get("exists"):
                    raise self.error(f"a column of {table.name!r} to drop", f"unknown column {name!r}")
                table.columns.pop(name, None)
            return "DROP COLUMN"
        if isinstance(action, exp.RenameColumn):
            old, new = action.this.name.lower(), action.args["to"].name.lower()
            if old not in table.columns:
                raise self.error(f"a column of {table.name!r} to rename", f"unknown column {old!r}")
            if new in table.columns:
                raise self.error(f"a new column name in table {table.name!r}", f"existing column {new!r}")
            table.columns = {(new if key == old else key): (dataclasses.replace(c, name=new) if key == old else c)
                             for key, c in table.columns.items()}
            return "RENAME COLUMN"
        if isinstance(action, exp.AlterColumn):
            name = action.this.name.lower()
            if name not in table.columns:
                raise self.error(f"a column of {table.name!r} to alter", f"unknown column {name!r}")
            if action.args.get("dtype") is not None:
                table.columns[name] = dataclasses.replace(table.columns[name], type=_type(action.args["dtype"]))
            return "ALTER COLUMN"
        if isinstance(action, exp.AlterRename):
            new = action.this.name.lower()
            if new in self.schema.tables:
                raise self.error("a new table name", f"existing table {new!r}")
            table.name = new
            return "RENAME TABLE"
        return action.key.upper()  # constraints, defaults, ownership: no columns change

    def drop(self, tree: exp.Drop) -> str:
        kind = str(tree.args.get("kind")).upper()
        for target in tree.args.get("tables") or [tree.this]:
            name = target.name.lower()
            if kind == "TABLE" and name not in self.schema.tables and name not in self.schema.unmodelled \
                    and not tree.args.get("exists"):
                raise self.error("an existing table to drop", f"unknown table {name!r}")
            self.schema.tables.pop(name, None)
            self.schema.unmodelled.pop(name, None)
        return f"DROP {kind}"


def _type(data_type: exp.Expression | None) -> str:
    if not isinstance(data_type, exp.DataType):
        return "UNKNOWN"
    if data_type.this == _T.DECIMAL:
        return data_type.sql(dialect=_DIALECT).upper().replace(" ", "")
    return _TYPES.get(data_type.this, data_type.sql(dialect=_DIALECT).upper())
