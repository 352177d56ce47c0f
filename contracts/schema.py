"""The database schema model, built by replaying migrations, and QuestDB's DDL grammar.

The migrations (``system/migrations/NNN_name.sql`` here, any directory elsewhere) are the one
source of truth for the tables; everything else (the SQL checker, the runtime monitor, the
simulated QuestDB, the snapshot tests) reads the :class:`Schema` built from them, so a migration
that renames a column breaks every consumer at once instead of one of them in production.
Finding, ordering and reading the files is :mod:`contracts.migrations`; PostgreSQL DDL is
:mod:`contracts.postgres_migrations`; this module holds the model and QuestDB's statements.

Every statement QuestDB accepts in a migration is understood: the ones that shape tables
(``CREATE TABLE`` with ``timestamp(col)``, ``PARTITION BY``, ``WAL``, ``TTL``, ``DEDUP UPSERT
KEYS``, ``AS (SELECT ...)`` and ``(LIKE t)``; ``ALTER TABLE`` add/drop/rename/retype column,
add/drop index, dedup, ``SET TYPE [BYPASS] WAL``; ``RENAME TABLE``; ``DROP TABLE``) change
the model, the ones that only move data or storage (``VACUUM``, partitions, ``TTL``, DML...)
are recognised and leave it alone.  A statement QuestDB *refuses* (``CREATE INDEX``,
``COMMENT ON``, ``ADD COLUMN ... DEFAULT``, ``NOT NULL``...) is a :class:`RefusedStatement`
naming the form QuestDB accepts; a statement QuestDB accepts but the model cannot follow
(a materialized view, ``COPY``) is an :class:`UnmodelledStatement`.  sqlglot provides the
tokens (comments, quoting, line numbers); the grammar is QuestDB's, which no sqlglot dialect
covers.

Names are case-insensitive in QuestDB, so table and column names are stored lower-case.
The rules QuestDB itself enforces on DDL are enforced here too (the designated timestamp is a
TIMESTAMP column; dedup keys exist, include the designated timestamp and need a WAL table;
a WAL table is partitioned), so a migration that the real server would reject fails here first.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlglot.errors import TokenError
from sqlglot.tokens import Tokenizer, TokenType

# QuestDB column types (https://questdb.com/docs/reference/sql/datatypes/).  GEOHASH and
# DECIMAL carry a parenthesised argument; DOUBLE may be an array (``DOUBLE[]``).
COLUMN_TYPES = (
    "BOOLEAN", "BYTE", "SHORT", "CHAR", "INT", "LONG", "FLOAT", "DOUBLE", "DATE", "TIMESTAMP",
    "TIMESTAMP_NS", "STRING", "VARCHAR", "SYMBOL", "UUID", "IPV4", "LONG128", "LONG256",
    "BINARY", "GEOHASH", "DECIMAL", "INTERVAL",
)
PARTITION_UNITS = ("NONE", "HOUR", "DAY", "WEEK", "MONTH", "YEAR")
_DURATION_UNITS = ("US", "MS", "S", "M", "H", "D")
_TTL_UNITS = ("HOUR", "DAY", "WEEK", "MONTH", "YEAR", "H", "D", "W", "M", "Y")

# Statements QuestDB accepts that cannot change a table's columns (access, backups, session
# settings, view refreshes): applied silently, as no-ops.
_NO_TABLE_EFFECT = ("CHECKPOINT", "SNAPSHOT", "BACKUP", "CANCEL", "REFRESH", "GRANT", "REVOKE", "ASSUME", "EXIT",
                    "SHOW", "EXPLAIN", "SET", "COMPILE", "ADD", "REMOVE")
# Statements QuestDB accepts that may fill or create tables in ways the model cannot follow (warned).
_ACCEPTED_UNMODELLED = ("COPY",)
_ACCOUNTS = ("USER", "GROUP", "SERVICE")
# PostgreSQL objects QuestDB has no equivalent of: what the statement would have needed.
_REFUSED_CREATE = {"SEQUENCE": "sequences (ids come from the application)", "EXTENSION": "extensions",
                   "TRIGGER": "triggers", "FUNCTION": "user functions", "PROCEDURE": "procedures",
                   "SCHEMA": "schemas", "TYPE": "user types", "DATABASE": "CREATE DATABASE"}
_COLUMN_CONSTRAINTS = ("NOT", "NULL", "DEFAULT", "PRIMARY", "UNIQUE", "REFERENCES", "CHECK", "CONSTRAINT",
                       "GENERATED")
_TABLE_CONSTRAINTS = ("PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "CONSTRAINT")
_DEDUP_FORM = ("DEDUP UPSERT KEYS(ts, key, ...) on a WAL table for uniqueness (QuestDB has no "
               "PRIMARY KEY, UNIQUE, FOREIGN KEY or CHECK)")
_CONSTRAINT_FORMS = {
    "NOT": "no NOT NULL: every QuestDB column is nullable (the designated timestamp cannot be NULL)",
    "NULL": "no NULL marker: every QuestDB column is nullable",
    "DEFAULT": "no column DEFAULT: add the column, then UPDATE t SET c = value",
    "GENERATED": "no generated columns: compute the value in the writer",
    "PRIMARY": _DEDUP_FORM, "UNIQUE": _DEDUP_FORM, "FOREIGN": _DEDUP_FORM, "REFERENCES": _DEDUP_FORM,
    "CHECK": _DEDUP_FORM, "CONSTRAINT": _DEDUP_FORM,
}
# PostgreSQL type names met in QuestDB migrations, with the QuestDB type that holds the same values.
_POSTGRES_TYPES = {
    "TEXT": "VARCHAR (or SYMBOL for repeated values)", "INTEGER": "INT", "BIGINT": "LONG", "SMALLINT": "SHORT",
    "SERIAL": "LONG (QuestDB generates no ids)", "BIGSERIAL": "LONG (QuestDB generates no ids)", "REAL": "FLOAT",
    "NUMERIC": "DECIMAL(p, s) or DOUBLE", "TIMESTAMPTZ": "TIMESTAMP (always UTC)", "JSON": "VARCHAR",
    "JSONB": "VARCHAR", "BYTEA": "BINARY", "BOOL": "BOOLEAN", "INT4": "INT", "INT8": "LONG", "FLOAT8": "DOUBLE",
}
# ALTER TABLE forms that change storage or data, never the columns: recognised and skipped.
_STORAGE_ALTERATIONS = frozenset({
    ("ATTACH", "PARTITION"), ("DETACH", "PARTITION"), ("DROP", "PARTITION"), ("SQUASH", "PARTITIONS"),
    ("CONVERT", "PARTITION"), ("RESUME", "WAL"), ("SUSPEND", "WAL"), ("SET", "PARAM"), ("SET", "TTL"),
    ("SET", "STORAGE"),
})


class MigrationError(Exception):
    """A migration the model cannot apply: where, what the grammar expected, what it found.

    ``line`` is 0 when the problem is the file itself (its name, number, encoding or absence).
    ``rule`` is the catalogued rule the finding is reported under (``contracts/rules.py``).
    """

    rule = "schema.migration-error"

    def __init__(self, file: str, line: int, expected: str, seen: str) -> None:
        self.file = file
        self.line = line
        self.expected = expected
        self.seen = seen
        super().__init__(f"{file}:{line}: expected {expected}, seen {seen}")

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


class RefusedStatement(MigrationError):
    """A statement the real server refuses; ``expected`` names the form it accepts instead."""

    rule = "schema.refused-statement"


class UnmodelledStatement(MigrationError):
    """A statement the server accepts but the model cannot follow (a view, a bulk COPY...).

    Reported as a warning: the model goes on without it, and statements on what it created
    are reported the same way instead of as unknown tables.
    """

    rule = "schema.not-modelled"


@dataclass(frozen=True)
class Column:
    """One column.  ``type`` is the upper-case QuestDB type (``SYMBOL``, ``DOUBLE[]``...)."""

    name: str
    type: str
    source: str = ""
    indexed: bool = False


@dataclass
class Table:
    """One table as the migrations leave it.  ``columns`` keeps declaration order."""

    name: str
    columns: dict[str, Column]
    designated_timestamp: str | None = None
    partition_by: str | None = None
    wal: bool = False
    dedup_keys: tuple[str, ...] = ()
    source: str = ""


@dataclass
class Schema:
    """Every table, by lower-case name.

    ``dialect`` is the SQL the migrations were written in (``questdb`` or ``postgres``): the
    SQL checker applies QuestDB's PG-wire restrictions only to a QuestDB schema.
    ``unmodelled`` maps names created by statements the model cannot follow (views, ``CREATE
    TABLE AS`` over an expression) to where they were created, so queries on them are
    reported as unchecked rather than as unknown tables.
    """

    tables: dict[str, Table] = field(default_factory=dict)
    dialect: str = "questdb"
    unmodelled: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Applied:
    """One statement of a migration: its kind, where it starts, its text, and its failure.

    ``kind`` is what the statement did (``CREATE TABLE``, ``VACUUM TABLE``...) or, for data
    statements, ``INSERT``/``UPDATE``/``SELECT``: the caller checks those against the model.
    """

    kind: str
    line: int
    text: str
    error: MigrationError | None = None


DATA_STATEMENTS = ("INSERT", "UPDATE", "SELECT")
"""Kinds of :class:`Applied` that leave the model alone and are checked as SQL instead."""


def apply_ddl(schema: Schema, sql: str, *, source: str) -> list[str]:
    """Apply every statement of ``sql`` to ``schema`` (mutated); return the kinds applied.

    ``source`` names the text in errors and in ``Column.source`` (``"file:line"``).  A
    statement either applies completely or raises; earlier statements stay applied, as they
    would on the server.  This is the strict form (the simulated QuestDB's DDL);
    :func:`apply_each` reports every statement and goes on past failures.
    """
    kinds = []
    for applied in apply_each(schema, sql, source=source):
        if applied.error is not None:
            raise applied.error
        kinds.append(applied.kind)
    return kinds


def apply_each(schema: Schema, sql: str, *, source: str) -> Iterator[Applied]:
    """Apply the statements of ``sql`` one by one, yielding each outcome.

    A failed statement leaves the model as it was and the next one is still applied: one bad
    statement must not hide the other 200.  Text that cannot even be split into statements
    (an unterminated comment or string) is one failure for the whole text.
    """
    try:
        tokens = _text_words(sql)
    except TokenError as error:
        line = _line_of_token_error(error, sql)
        yield Applied("", line, sql, MigrationError(source, line, "well-formed SQL text",
                                                    str(error).splitlines()[0]))
        return
    for words in _statements(tokens):
        text = sql[words[0].start:words[-1].end + 1]
        statement = _Statement(words, source)
        try:
            yield Applied(statement.apply(schema), words[0].line, text)
        except MigrationError as error:
            yield Applied("", words[0].line, text, error)


# --- tokens ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Word:
    """A token reduced to what the grammar needs: its text, whether it was quoted, its line,
    and where it sits in the text (``start``..``end`` inclusive, to cut a statement out)."""

    text: str
    line: int
    quoted: bool = False
    start: int = 0
    end: int = 0

    @property
    def upper(self) -> str:
        return "" if self.quoted else self.text.upper()


@functools.lru_cache(maxsize=256)
def _text_words(sql: str) -> tuple[_Word, ...]:
    """The words of a whole migration text, kept per text: every run in a process (explore,
    mutants) applies the same migrations, and tokenizing them was a tenth of a short run."""
    return tuple(_words(sql))


def _words(sql: str, offset: int = 0, line: int = 0) -> list[_Word]:
    """The words of ``sql`` (``offset``/``line``: where it sits in an enclosing text).

    sqlglot joins some keyword pairs (``PARTITION BY``) into one token: they are split again.
    After a command keyword it does not parse (``VACUUM``, ``RENAME``, ``SHOW``) it keeps the
    rest of the statement as one string: that text is tokenized again, in place.
    """
    words: list[_Word] = []
    tokens = Tokenizer().tokenize(sql)
    command = False
    for token in tokens:
        if command and token.token_type == TokenType.STRING:
            start = sql.index(token.text, words[-1].end - offset + 1)
            words.extend(_words(token.text, offset + start, line + sql.count("\n", 0, start)))
        elif token.token_type in (TokenType.IDENTIFIER, TokenType.STRING):
            words.append(_Word(token.text, token.line + line, True, token.start + offset, token.end + offset))
        else:
            words.extend(_Word(part, token.line + line, False, token.start + offset, token.end + offset)
                         for part in token.text.split())
        command = token.token_type in Tokenizer.COMMANDS
    return words


def _statements(words: tuple[_Word, ...]) -> Iterator[list[_Word]]:
    statement: list[_Word] = []
    for word in words:
        if word.text == ";" and not word.quoted:
            if statement:
                yield statement
            statement = []
        else:
            statement.append(word)
    if statement:
        yield statement


def _line_of_token_error(error: TokenError, sql: str) -> int:
    match = re.search(r"[Ll]ine (\d+)", str(error))
    return int(match.group(1)) if match else sql.count("\n") + 1


# --- grammar -----------------------------------------------------------------------------------


class _Statement:
    """Recursive descent over one statement's words, raising MigrationError on the first surprise."""

    def __init__(self, words: list[_Word], source: str) -> None:
        self.words = words
        self.source = source
        self.pos = 0

    # cursor primitives

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.words[index].upper if index < len(self.words) else ""

    def line(self) -> int:
        word = self.words[min(self.pos, len(self.words) - 1)]
        return word.line

    def fail(self, expected: str) -> MigrationError:
        seen = repr(self.words[self.pos].text) if self.pos < len(self.words) else "end of statement"
        return MigrationError(self.source, self.line(), expected, seen)

    def accept(self, *keywords: str) -> bool:
        """Consume the keyword sequence if it is next; leave the cursor alone otherwise."""
        if all(self.peek(i) == keyword for i, keyword in enumerate(keywords)):
            self.pos += len(keywords)
            return True
        return False

    def expect(self, *keywords: str) -> None:
        if not self.accept(*keywords):
            raise self.fail(" ".join(keywords))

    def name(self, what: str) -> str:
        if self.pos >= len(self.words):
            raise self.fail(what)
        word = self.words[self.pos]
        if not word.quoted and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", word.text):
            raise self.fail(what)
        self.pos += 1
        return word.text.lower()

    def number(self, what: str) -> int:
        if not self.peek().isdigit():
            raise self.fail(what)
        self.pos += 1
        return int(self.words[self.pos - 1].text)

    def name_list(self, what: str) -> list[str]:
        self.expect("(")
        names = [self.name(what)]
        while self.accept(","):
            names.append(self.name(what))
        self.expect(")")
        return names

    def end(self) -> None:
        if self.pos < len(self.words):
            raise self.fail("end of statement (';')")

    def where(self, line: int | None = None) -> str:
        return f"{self.source}:{self.line() if line is None else line}"

    def refuse(self, what: str, accepted: str) -> RefusedStatement:
        return RefusedStatement(self.source, self.line(), accepted, f"{what} (QuestDB refuses it)")

    def unmodelled(self, what: str) -> UnmodelledStatement:
        return UnmodelledStatement(self.source, self.words[0].line, "a statement the schema model applies",
                                   f"{what} (accepted by QuestDB; not modelled, the model goes on without it)")

    def rest(self) -> None:
        """Skip the remainder: a statement recognised as leaving the model alone."""
        self.pos = len(self.words)

    def existing_table(self, schema: Schema, what: str = "a table name") -> Table:
        line = self.line()
        name = self.name(what)
        table = schema.tables.get(name)
        if table is not None:
            return table
        if name in schema.unmodelled:
            raise self.unmodelled(f"a statement on {name!r}, created at {schema.unmodelled[name]} by a "
                                  "statement the model does not apply")
        raise MigrationError(self.source, line, "an existing table", f"unknown table {name!r}")

    # statements

    def apply(self, schema: Schema) -> str:
        first = self.peek()
        if first == "CREATE":
            return self.create(schema)
        if self.accept("ALTER", "TABLE"):
            return self.alter_table(schema)
        accounts = first in ("ALTER", "DROP") and self.peek(1) in _ACCOUNTS
        view = first == "ALTER" and self.peek(1) in ("MATERIALIZED", "VIEW")
        if accounts or view or first in _NO_TABLE_EFFECT:
            self.rest()  # accounts, grants, backups, views (reported when created): no column changes
            return " ".join(word.text.upper() for word in self.words[:2])
        if first == "DROP":
            return self.drop(schema)
        if self.accept("RENAME", "TABLE"):
            return self.rename_table(schema)
        for keywords in (("TRUNCATE", "TABLE"), ("VACUUM", "TABLE"), ("REINDEX", "TABLE")):
            if self.accept(*keywords):
                self.accept("IF", "EXISTS")
                self.existing_table(schema)
                self.rest()
                return " ".join(keywords)
        if first in ("INSERT", "UPDATE", "SELECT", "WITH"):
            self.rest()
            return "SELECT" if first == "WITH" else first
        if first in ("BEGIN", "COMMIT", "ROLLBACK"):
            self.rest()
            return first
        if first == "DELETE":
            raise self.refuse("DELETE", "ALTER TABLE t DROP PARTITION LIST|WHERE ..., or TRUNCATE TABLE t "
                                        "(QuestDB deletes whole partitions, not rows)")
        if self.accept("COMMENT", "ON"):
            raise self.refuse("COMMENT ON", "a SQL comment (-- ...) in the migration file")
        if first in _ACCEPTED_UNMODELLED:
            raise self.unmodelled(" ".join(word.text.upper() for word in self.words[:2]))
        raise self.fail("a statement QuestDB accepts (CREATE TABLE, ALTER TABLE, DROP TABLE, RENAME TABLE, "
                        "TRUNCATE, VACUUM, INSERT, UPDATE, SELECT...)")

    def create(self, schema: Schema) -> str:
        self.expect("CREATE")
        if self.accept("ATOMIC"):
            pass
        elif self.accept("BATCH"):
            self.number("a batch size (integer)")
            if self.accept("O3MAXLAG"):
                self.duration("an o3MaxLag value")
        if self.accept("TABLE"):
            self.create_table(schema)
            return "CREATE TABLE"
        if self.peek() == "INDEX" or self.peek(1) == "INDEX":
            raise self.refuse("CREATE INDEX", "ALTER TABLE t ALTER COLUMN c ADD INDEX (SYMBOL columns only)")
        kind = self.peek()
        if kind in ("MATERIALIZED", "VIEW") or (kind == "OR" and self.peek(1) == "REPLACE"):
            self.accept("OR", "REPLACE")
            self.accept("MATERIALIZED")
            self.expect("VIEW")
            self.accept("IF", "NOT", "EXISTS")
            name = self.name("a view name")
            schema.unmodelled.setdefault(name, self.where(self.words[0].line))
            raise self.unmodelled("CREATE VIEW")
        if kind in _ACCOUNTS:
            self.rest()
            return f"CREATE {kind}"
        if kind in _REFUSED_CREATE:
            raise self.refuse(f"CREATE {kind}", "CREATE TABLE; QuestDB has no " + _REFUSED_CREATE[kind])
        raise self.fail("TABLE, MATERIALIZED VIEW or VIEW after CREATE")

    def drop(self, schema: Schema) -> str:
        self.expect("DROP")
        if self.accept("TABLE"):
            if_exists = self.accept("IF", "EXISTS")
            line = self.line()
            name = self.name("a table name")
            self.end()
            if name not in schema.tables and name not in schema.unmodelled and not if_exists:
                raise MigrationError(self.source, line, "an existing table to drop", f"unknown table {name!r}")
            schema.tables.pop(name, None)
            schema.unmodelled.pop(name, None)
            return "DROP TABLE"
        if self.accept("ALL", "TABLES"):
            schema.tables.clear()
            schema.unmodelled.clear()
            return "DROP ALL TABLES"
        if self.peek() == "INDEX":
            raise self.refuse("DROP INDEX", "ALTER TABLE t ALTER COLUMN c DROP INDEX")
        if self.accept("MATERIALIZED", "VIEW") or self.accept("VIEW"):
            self.accept("IF", "EXISTS")
            schema.unmodelled.pop(self.name("a view name"), None)
            self.rest()
            return "DROP VIEW"
        raise self.fail("TABLE, ALL TABLES or VIEW after DROP")

    def rename_table(self, schema: Schema) -> str:
        line = self.line()
        table = self.existing_table(schema)
        self.expect("TO")
        new = self.name("the new table name")
        self.end()
        if new in schema.tables:
            raise MigrationError(self.source, line, "a new table name", f"existing table {new!r}")
        del schema.tables[table.name]
        table.name = new
        schema.tables[new] = table
        return "RENAME TABLE"

    def create_table(self, schema: Schema) -> None:
        line = self.line()
        if_not_exists = self.accept("IF", "NOT", "EXISTS")
        name = self.name("a table name")
        table = Table(name, {}, source=self.where(line))
        if self.accept("AS"):
            if not self.select_columns(schema, table):
                schema.unmodelled.setdefault(name, table.source)
                raise self.unmodelled("CREATE TABLE ... AS (a query the model cannot derive columns from)")
            while self.accept(","):  # , CAST(col AS type) | , INDEX(col ...): QuestDB's retyping after AS
                if self.peek() == "INDEX":
                    self.index_clause(table)
                    continue
                self.expect("CAST", "(")
                line = self.line()
                column = self.name("a column of the query")
                self.expect("AS")
                if column not in table.columns:
                    raise MigrationError(self.source, line, f"a column of the query of {name!r}",
                                         f"unknown column {column!r}")
                new_type = self.column_type()
                indexed = self.column_options(new_type)
                self.expect(")")
                table.columns[column] = dataclasses.replace(table.columns[column], type=new_type, indexed=indexed)
        elif self.accept("(", "LIKE"):
            like = self.existing_table(schema, "the table to copy (LIKE)")
            self.expect(")")
            table = dataclasses.replace(like, name=name, columns=dict(like.columns), source=table.source)
        else:
            self.column_list(table)
        clause_lines = self.table_options(table)
        self.end()
        if name in schema.tables:
            if if_not_exists:
                return
            raise MigrationError(self.source, line, f"a new table name (or IF NOT EXISTS); {name!r} "
                                 f"was created at {schema.tables[name].source}", f"CREATE TABLE {name}")
        _check_table(table, self.source, {"table": line, **clause_lines})
        schema.tables[name] = table
        schema.unmodelled.pop(name, None)

    def column_list(self, table: Table) -> None:
        """``(col type [options], ... [, INDEX (col [CAPACITY n])])``."""
        self.expect("(")
        while True:
            if self.peek() == "INDEX" and self.peek(1) == "(":
                self.index_clause(table)
            elif self.peek() in _TABLE_CONSTRAINTS:
                raise self.refuse(f"a {self.peek()} table constraint", _CONSTRAINT_FORMS[self.peek()])
            else:
                self.add_column(table)
            if self.accept(")"):
                return
            if not self.accept(","):
                raise self.fail("',' or ')' after a column definition")

    def index_clause(self, table: Table) -> None:
        self.expect("INDEX", "(")
        line = self.line()
        name = self.name("an indexed column")
        column = table.columns.get(name)
        if column is None or column.type != "SYMBOL":
            raise MigrationError(self.source, line, "INDEX on a SYMBOL column of the table",
                                 f"INDEX on {name!r}" + (f" of type {column.type}" if column else " (no such column)"))
        while self.pos < len(self.words) and self.peek() != ")":
            self.pos += 1  # CAPACITY n | TYPE POSTING ...: storage, not part of the model
        self.expect(")")
        table.columns[name] = dataclasses.replace(column, indexed=True)

    def select_columns(self, schema: Schema, table: Table) -> bool:
        """``AS (SELECT a, b AS c, cast(d AS T) FROM t ...)``: the columns, when the query is that simple.

        Anything else (expressions, joins) leaves the table unmodelled; returns whether it was modelled.
        """
        self.expect("(")
        depth, start = 1, self.pos
        while self.pos < len(self.words) and depth:
            depth += {"(": 1, ")": -1}.get(self.words[self.pos].text if not self.words[self.pos].quoted else "", 0)
            self.pos += 1
        if depth:
            raise self.fail("')' closing the query of CREATE TABLE ... AS")
        columns = _derived_columns(self.words[start:self.pos - 1], schema, self.where(self.words[start].line))
        if columns is None:
            return False
        table.columns.update(columns)
        return True

    def add_column(self, table: Table) -> None:
        line = self.line()
        name = self.name("a column name")
        if name in table.columns:
            raise MigrationError(self.source, line, f"a new column name in table {table.name!r}",
                                 f"duplicate column {name!r}")
        column_type = self.column_type()
        indexed = self.column_options(column_type)
        table.columns[name] = Column(name, column_type, self.where(line), indexed)

    def column_type(self) -> str:
        word = self.peek()
        if word not in COLUMN_TYPES:
            hint = (f"; {word} is PostgreSQL: QuestDB's is {_POSTGRES_TYPES[word]} (or set dialect = \"postgres\" "
                    "for PostgreSQL migrations)") if word in _POSTGRES_TYPES else ""
            raise self.fail("a QuestDB column type (" + ", ".join(COLUMN_TYPES) + ")" + hint)
        self.pos += 1
        if word in ("GEOHASH", "DECIMAL"):
            return word + self.parenthesised_argument(word)
        if word == "DOUBLE":
            depth = 0
            while self.accept("[", "]"):
                depth += 1
            return word + "[]" * depth
        return word

    def parenthesised_argument(self, type_name: str) -> str:
        start = self.pos
        self.expect("(")
        while self.pos < len(self.words) and self.peek() != ")":
            self.pos += 1
        self.expect(")")
        if self.pos - start == 2:
            raise self.fail(f"a precision inside {type_name}( )")
        return "(" + "".join(word.text for word in self.words[start + 1:self.pos - 1]).lower() + ")"

    def column_options(self, column_type: str) -> bool:
        """``[CAPACITY n] [CACHE|NOCACHE] [INDEX [CAPACITY n]]``; symbol-only options checked,
        constraints QuestDB does not have refused with what to write instead."""
        indexed = False
        while self.peek() in ("CAPACITY", "CACHE", "NOCACHE", "INDEX"):
            if column_type != "SYMBOL" and self.peek() != "INDEX":
                raise self.fail(f"no SYMBOL option for a {column_type} column")
            if self.accept("CAPACITY"):
                self.number("a capacity (integer)")
            elif self.accept("INDEX"):
                if column_type != "SYMBOL":
                    raise MigrationError(self.source, self.line(), "INDEX only on SYMBOL columns",
                                         f"INDEX on a {column_type} column")
                indexed = True
                if self.accept("CAPACITY"):
                    self.number("an index capacity (integer)")
            else:
                self.pos += 1
        constraint = self.peek()
        if constraint in _COLUMN_CONSTRAINTS:
            raise self.refuse(f"{constraint} in a column definition", _CONSTRAINT_FORMS[constraint])
        return indexed

    def duration(self, what: str) -> None:
        """``10s``, ``2 DAYS``, ``1h``: a number, then a unit that may be its own token."""
        if self.pos >= len(self.words):
            raise self.fail(what)
        self.pos += 1
        if self.peek() in _DURATION_UNITS or self.peek().rstrip("S") in _TTL_UNITS:
            self.pos += 1

    def table_options(self, table: Table) -> dict[str, int]:
        """The clauses after the column list; returns the line of each, for error messages."""
        lines = {}
        if self.peek() == "TIMESTAMP":
            lines["timestamp"] = self.line()
            self.pos += 1
            table.designated_timestamp = self.name_list("the designated timestamp column")[0]
        if self.peek() == "PARTITION":
            lines["partition"] = self.line()
            self.expect("PARTITION", "BY")
            unit = self.peek()
            if unit not in PARTITION_UNITS:
                raise self.fail("a partition unit (" + ", ".join(PARTITION_UNITS) + ")")
            self.pos += 1
            table.partition_by = unit
        if self.accept("WAL"):
            table.wal = True
        elif self.accept("BYPASS", "WAL"):
            table.wal = False
        elif table.partition_by not in (None, "NONE"):
            table.wal = True  # QuestDB's default for partitioned tables (cairo.wal.enabled.default)
        while self.pos < len(self.words):
            if self.accept("WAL"):
                table.wal = True
            elif self.accept("BYPASS", "WAL"):
                table.wal = False
            elif self.accept("TTL"):
                self.duration("a TTL (n HOURS|DAYS|WEEKS|MONTHS|YEARS)")
            elif self.accept("WITH"):
                self.with_parameters()
            elif self.accept("IN", "VOLUME") or self.accept("OWNED", "BY"):
                self.pos += 1
            elif self.peek() == "DEDUP":
                lines["dedup"] = self.line()
                self.expect("DEDUP", "UPSERT", "KEYS")
                table.dedup_keys = tuple(self.name_list("a dedup key column"))
            else:
                break
        return lines

    def with_parameters(self) -> None:
        """``WITH maxUncommittedRows=n, o3MaxLag=10s``: storage tuning, not part of the model."""
        while True:
            self.name("a table parameter name")
            self.expect("=")
            self.duration("a parameter value")
            if not self.accept(","):
                return

    def alter_table(self, schema: Schema) -> str:
        line = self.line()
        original = self.existing_table(schema)
        # Work on a copy so a statement that fails half-way leaves the model untouched.
        table = dataclasses.replace(original, columns=dict(original.columns))
        if self.accept("ADD", "COLUMN"):
            if_not_exists = self.accept("IF", "NOT", "EXISTS")
            while True:
                if if_not_exists and self.peek().lower() in table.columns:
                    self.name("a column name")
                    self.column_options(self.column_type())
                else:
                    self.add_column(table)
                if not self.accept(","):
                    break
            kind = "ADD COLUMN"
        elif self.accept("DROP", "COLUMN"):
            self.drop_columns(table)
            kind = "DROP COLUMN"
        elif self.accept("RENAME", "COLUMN"):
            self.rename_column(table)
            kind = "RENAME COLUMN"
        elif self.accept("ALTER", "COLUMN"):
            kind = self.alter_column(table)
        elif self.accept("DEDUP", "ENABLE", "UPSERT", "KEYS"):
            dedup_keys = tuple(self.name_list("a dedup key column"))
            _check_dedup(table, dedup_keys, self.source, line)
            table.dedup_keys = dedup_keys
            kind = "DEDUP ENABLE"
        elif self.accept("DEDUP", "DISABLE"):
            table.dedup_keys = ()
            kind = "DEDUP DISABLE"
        elif self.accept("SET", "TYPE"):
            wal = not self.accept("BYPASS")
            self.expect("WAL")
            if wal and table.partition_by in (None, "NONE"):
                raise MigrationError(self.source, line, "a partitioned table to convert to WAL",
                                     f"SET TYPE WAL on {table.name!r} (PARTITION BY NONE)")
            table.wal = wal  # applied by the server at its next restart; the model is the end state
            kind = "SET TYPE " + ("WAL" if wal else "BYPASS WAL")
        elif (self.peek(), self.peek(1)) in _STORAGE_ALTERATIONS:
            kind = f"{self.peek()} {self.peek(1)}"
            self.rest()
        elif self.accept("RENAME", "TO"):
            raise self.refuse("ALTER TABLE ... RENAME TO", f"RENAME TABLE {table.name} TO new_name")
        elif self.peek() == "ADD" and self.peek(1) in ("CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK"):
            raise self.refuse("ADD " + self.peek(1), _CONSTRAINT_FORMS["PRIMARY"])
        else:
            raise self.fail("ADD COLUMN, DROP COLUMN, RENAME COLUMN, ALTER COLUMN, DEDUP ENABLE UPSERT KEYS, "
                            "DEDUP DISABLE, SET TYPE [BYPASS] WAL, SET PARAM, SET TTL or a partition operation")
        self.end()
        # Commit into the same Table object: identity means "the same table" to consumers (the
        # simulated QuestDB keeps its rows across ALTER, and only DROP + CREATE makes a new one).
        for attribute in dataclasses.fields(Table):
            setattr(original, attribute.name, getattr(table, attribute.name))
        return kind

    def alter_column(self, table: Table) -> str:
        """``ALTER COLUMN c ADD INDEX | DROP INDEX | TYPE t | CACHE | NOCACHE | SYMBOL CAPACITY n``."""
        line = self.line()
        name = self.name("a column name")
        column = table.columns.get(name)
        if column is None:
            raise MigrationError(self.source, line, f"a column of {table.name!r} to alter", f"unknown column {name!r}")
        if self.accept("ADD", "INDEX"):
            if column.type != "SYMBOL":
                raise MigrationError(self.source, line, "ADD INDEX on a SYMBOL column",
                                     f"{name!r} of type {column.type}")
            self.rest()
            table.columns[name] = dataclasses.replace(column, indexed=True)
            return "ADD INDEX"
        if self.accept("DROP", "INDEX"):
            table.columns[name] = dataclasses.replace(column, indexed=False)
            return "DROP INDEX"
        if self.accept("TYPE"):
            if name == table.designated_timestamp or name in table.dedup_keys:
                raise MigrationError(self.source, line, "a column that is not the designated timestamp or a "
                                     "dedup key", f"TYPE change of {name!r}")
            new_type = self.column_type()
            indexed = self.column_options(new_type)
            table.columns[name] = dataclasses.replace(column, type=new_type, indexed=indexed)
            return "ALTER COLUMN TYPE"
        if self.peek() in ("CACHE", "NOCACHE") or self.accept("SYMBOL", "CAPACITY"):
            self.rest()
            return "ALTER COLUMN " + self.words[self.pos - 1].text.upper()
        if self.peek() in ("SET", "DROP"):
            raise self.refuse(f"ALTER COLUMN ... {self.peek()} {self.peek(1)}",
                              "ALTER COLUMN c TYPE t (QuestDB columns have no defaults or NOT NULL)"
                              if self.peek(1) != "DATA" else f"ALTER TABLE {table.name} ALTER COLUMN {name} TYPE t")
        raise self.fail("ADD INDEX, DROP INDEX, TYPE, CACHE, NOCACHE or SYMBOL CAPACITY after ALTER COLUMN")

    def drop_columns(self, table: Table) -> None:
        while True:
            line = self.line()
            name = self.name("a column name")
            if name not in table.columns:
                raise MigrationError(self.source, line, f"a column of {table.name!r} to drop",
                                     f"unknown column {name!r}")
            if name == table.designated_timestamp or name in table.dedup_keys:
                role = "the designated timestamp" if name == table.designated_timestamp else "a dedup key"
                raise MigrationError(self.source, line, "a column that is not the designated "
                                     "timestamp or a dedup key", f"{name!r}, {role} of {table.name!r}")
            del table.columns[name]
            if not self.accept(","):
                return

    def rename_column(self, table: Table) -> None:
        line = self.line()
        old = self.name("a column name")
        self.expect("TO")
        new = self.name("the new column name")
        if old not in table.columns:
            raise MigrationError(self.source, line, f"a column of {table.name!r} to rename",
                                 f"unknown column {old!r}")
        if new in table.columns:
            raise MigrationError(self.source, line, f"a new column name in table {table.name!r}",
                                 f"existing column {new!r}")
        renamed = dataclasses.replace(table.columns[old], name=new)
        table.columns = {(new if key == old else key): (renamed if key == old else column)
                         for key, column in table.columns.items()}
        if table.designated_timestamp == old:
            table.designated_timestamp = new
        table.dedup_keys = tuple(new if key == old else key for key in table.dedup_keys)


def _check_table(table: Table, source: str, lines: dict[str, int]) -> None:
    """The CREATE TABLE rules QuestDB enforces itself; ``lines`` locates each clause."""
    line = lines.get("timestamp", lines["table"])
    designated = table.designated_timestamp
    if designated is not None:
        column = table.columns.get(designated)
        if column is None:
            raise MigrationError(source, line, f"timestamp(col) naming a column of {table.name!r}",
                                 f"unknown column {designated!r}")
        if column.type not in ("TIMESTAMP", "TIMESTAMP_NS"):
            raise MigrationError(source, line, "a TIMESTAMP column as the designated timestamp",
                                 f"{designated!r} of type {column.type}")
    line = lines.get("partition", lines["table"])
    if table.partition_by not in (None, "NONE") and designated is None:
        raise MigrationError(source, line, "timestamp(col) before PARTITION BY",
                             f"PARTITION BY {table.partition_by} without a designated timestamp")
    if table.wal and table.partition_by in (None, "NONE"):
        raise MigrationError(source, line, "PARTITION BY HOUR|DAY|WEEK|MONTH|YEAR on a WAL table",
                             f"WAL with PARTITION BY {table.partition_by or 'NONE'}")
    if table.dedup_keys:
        _check_dedup(table, table.dedup_keys, source, lines.get("dedup", lines["table"]))


def _check_dedup(table: Table, keys: tuple[str, ...], source: str, line: int) -> None:
    for key in keys:
        if key not in table.columns:
            raise MigrationError(source, line, f"dedup keys naming columns of {table.name!r}",
                                 f"unknown column {key!r}")
    if not table.wal:
        raise MigrationError(source, line, "DEDUP on a WAL table", f"DEDUP on non-WAL table {table.name!r}")
    if table.designated_timestamp not in keys:
        raise MigrationError(source, line, f"dedup keys including the designated timestamp "
                             f"{table.designated_timestamp!r}", f"KEYS({', '.join(keys)})")


def _derived_columns(words: list[_Word], schema: Schema, where: str) -> dict[str, Column] | None:
    """The columns of ``SELECT a, b AS c, cast(d AS T) [AS e] FROM t [WHERE ...]``, or None when
    the query is anything richer (expressions, joins, several sources): those are not guessed."""
    upper = [word.upper for word in words]
    if not upper or upper[0] != "SELECT" or "FROM" not in upper:
        return None
    frm = upper.index("FROM")
    source = schema.tables.get(words[frm + 1].text.lower()) if frm + 1 < len(words) else None
    if source is None or any(u in ("JOIN", ",") for u in upper[frm + 2:]):
        return None
    items: list[list[_Word]] = [[]]
    for word in words[1:frm]:
        if word.text == "," and not word.quoted:
            items.append([])
        else:
            items[-1].append(word)
    columns: dict[str, Column] = {}
    for item in items:
        texts = [word.upper for word in item]
        if texts == ["*"]:
            columns.update((c.name, dataclasses.replace(c, source=where)) for c in source.columns.values())
            continue
        alias = None
        if len(item) >= 3 and texts[-2] == "AS" and (texts[0] != "CAST" or texts[-3] == ")"):
            alias, item, texts = item[-1].text.lower(), item[:-2], texts[:-2]
        cast = None
        if texts[:2] == ["CAST", "("] and texts[-1] == ")" and "AS" in texts:
            cast = " ".join(texts[texts.index("AS") + 1:-1])
            item = item[2:texts.index("AS")]
            if cast not in COLUMN_TYPES:
                return None
        if len(item) != 1 or item[0].text.lower() not in source.columns:
            return None
        column = source.columns[item[0].text.lower()]
        name = alias or column.name
        columns[name] = Column(name, cast or column.type, where, column.indexed and cast is None)
    return columns


def __getattr__(name: str) -> object:
    """Point code written against the old ``contracts.schema.parse_migrations`` at its successors."""
    if name == "parse_migrations":
        raise ImportError("contracts.schema.parse_migrations moved to contracts.migrations: use "
                          "load_schema(paths) for a Schema (the first error raises), or parse_migrations(paths, "
                          "dialect=, exclude=, order=) for (schema, findings)")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
