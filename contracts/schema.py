"""The database schema model, built by replaying the QuestDB migrations.

The migrations in ``system/migrations/NNN_name.sql`` are the one source of truth for the
tables; everything else (the SQL checker, the runtime monitor, the simulated QuestDB, the
snapshot tests) reads the :class:`Schema` this module builds from them, so a migration that
renames a column breaks every consumer at once instead of one of them in production.

The parser is deliberately small and strict.  It understands the QuestDB DDL that a
migration needs (``CREATE TABLE`` with ``timestamp(col)``, ``PARTITION BY``, ``WAL`` and
``DEDUP UPSERT KEYS``; ``ALTER TABLE`` add/drop/rename column, dedup enable/disable;
``DROP TABLE``) and nothing else: anything it does not understand is a
:class:`MigrationError` naming the file, the line, what was expected and what was seen,
never something skipped.  sqlglot provides the tokens (comments, quoting, line numbers);
the grammar is QuestDB's, which no sqlglot dialect covers.

Names are case-insensitive in QuestDB, so table and column names are stored lower-case.
The rules QuestDB itself enforces on DDL are enforced here too (the designated timestamp is a
TIMESTAMP column; dedup keys exist, include the designated timestamp and need a WAL table;
a WAL table is partitioned), so a migration that the real server would reject fails here first.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlglot.errors import TokenError
from sqlglot.tokens import Token, Tokenizer, TokenType

# QuestDB column types (https://questdb.com/docs/reference/sql/datatypes/).  GEOHASH and
# DECIMAL carry a parenthesised argument; DOUBLE may be an array (``DOUBLE[]``).
COLUMN_TYPES = (
    "BOOLEAN", "BYTE", "SHORT", "CHAR", "INT", "LONG", "FLOAT", "DOUBLE", "DATE", "TIMESTAMP",
    "TIMESTAMP_NS", "STRING", "VARCHAR", "SYMBOL", "UUID", "IPV4", "LONG128", "LONG256",
    "BINARY", "GEOHASH", "DECIMAL", "INTERVAL",
)
PARTITION_UNITS = ("NONE", "HOUR", "DAY", "WEEK", "MONTH", "YEAR")
_DURATION_UNITS = ("US", "MS", "S", "M", "H", "D")
_MIGRATION_NAME = re.compile(r"^(\d+)_[A-Za-z0-9_]+\.sql$")


class MigrationError(Exception):
    """A migration the model cannot apply: where, what the grammar expected, what it found.

    ``line`` is 0 when the problem is the file itself (its name, number or absence).
    """

    def __init__(self, file: str, line: int, expected: str, seen: str) -> None:
        self.file = file
        self.line = line
        self.expected = expected
        self.seen = seen
        super().__init__(f"{file}:{line}: expected {expected}, seen {seen}")


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
    """Every table, by lower-case name."""

    tables: dict[str, Table] = field(default_factory=dict)


def parse_migrations(directory: Path | str) -> Schema:
    """Apply every ``NNN_name.sql`` in ``directory`` in numeric order and return the result.

    Numbers must run 1, 2, 3... without gaps or duplicates: a gap usually means a migration
    was deleted or not yet committed, and a duplicate means two branches picked the same
    number; either way the order the server saw is not the order on disk.
    """
    root = Path(directory)
    if not root.is_dir():
        raise MigrationError(str(root), 0, "a directory of NNN_name.sql migrations", "no such directory")
    numbered: dict[int, Path] = {}
    for path in sorted(root.iterdir()):
        if path.suffix != ".sql":
            continue
        match = _MIGRATION_NAME.match(path.name)
        if match is None:
            raise MigrationError(str(path), 0, "a file name like 001_create_orders.sql", repr(path.name))
        number = int(match.group(1))
        if number in numbered:
            raise MigrationError(str(path), 0, f"a unique migration number ({number} is also "
                                 f"{numbered[number].name})", f"duplicate number {number}")
        numbered[number] = path
    if not numbered:
        raise MigrationError(str(root), 0, "at least one NNN_name.sql migration", "none")
    schema = Schema()
    for expected_number, number in enumerate(sorted(numbered), start=1):
        path = numbered[number]
        if number != expected_number:
            raise MigrationError(str(path), 0, f"migration number {expected_number} next",
                                 f"{number} (migration {expected_number} is missing)")
        apply_ddl(schema, path.read_text(encoding="utf-8"), source=str(path))
    return schema


def apply_ddl(schema: Schema, sql: str, *, source: str) -> list[str]:
    """Apply every statement of ``sql`` to ``schema`` (mutated); return the kinds applied.

    ``source`` names the text in errors and in ``Column.source`` (``"file:line"``).  A
    statement either applies completely or raises; earlier statements stay applied, as they
    would on the server.
    """
    try:
        tokens = _words(Tokenizer().tokenize(sql))
    except TokenError as error:
        raise MigrationError(source, _line_of_token_error(error, sql), "well-formed SQL text",
                             str(error).splitlines()[0]) from error
    kinds = []
    for statement in _statements(tokens):
        kinds.append(_Statement(statement, source).apply(schema))
    return kinds


# --- tokens ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Word:
    """A token reduced to what the grammar needs: its text, whether it was quoted, its line."""

    text: str
    line: int
    quoted: bool = False

    @property
    def upper(self) -> str:
        return "" if self.quoted else self.text.upper()


def _words(tokens: list[Token]) -> list[_Word]:
    """sqlglot joins some keyword pairs (``PARTITION BY``) into one token; split them again."""
    words = []
    for token in tokens:
        quoted = token.token_type in (TokenType.IDENTIFIER, TokenType.STRING)
        if quoted:
            words.append(_Word(token.text, token.line, quoted=True))
        else:
            words.extend(_Word(part, token.line) for part in token.text.split())
    return words


def _statements(words: list[_Word]) -> Iterator[list[_Word]]:
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

    # statements

    def apply(self, schema: Schema) -> str:
        if self.accept("CREATE", "TABLE"):
            self.create_table(schema)
            return "CREATE TABLE"
        if self.accept("ALTER", "TABLE"):
            return self.alter_table(schema)
        if self.accept("DROP", "TABLE"):
            if_exists = self.accept("IF", "EXISTS")
            name = self.name("a table name")
            self.end()
            if name not in schema.tables and not if_exists:
                raise MigrationError(self.source, self.line(), "an existing table to drop",
                                     f"unknown table {name!r}")
            schema.tables.pop(name, None)
            return "DROP TABLE"
        raise self.fail("CREATE TABLE, ALTER TABLE or DROP TABLE")

    def create_table(self, schema: Schema) -> None:
        line = self.line()
        if_not_exists = self.accept("IF", "NOT", "EXISTS")
        name = self.name("a table name")
        if self.peek() == "AS":
            raise self.fail("a column list '(' (CREATE TABLE ... AS SELECT is not modelled)")
        table = Table(name, {}, source=self.where(line))
        self.expect("(")
        while True:
            self.add_column(table)
            if self.accept(")"):
                break
            if not self.accept(","):
                raise self.fail("',' or ')' after a column definition")
        clause_lines = self.table_options(table)
        self.end()
        if name in schema.tables:
            if if_not_exists:
                return
            raise MigrationError(self.source, line, f"a new table name (or IF NOT EXISTS); {name!r} "
                                 f"was created at {schema.tables[name].source}", f"CREATE TABLE {name}")
        _check_table(table, self.source, {"table": line, **clause_lines})
        schema.tables[name] = table

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
            raise self.fail("a QuestDB column type (" + ", ".join(COLUMN_TYPES) + ")")
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
        """``[CAPACITY n] [CACHE|NOCACHE] [INDEX [CAPACITY n]]``; symbol-only options checked."""
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
        return indexed

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
        if self.accept("WITH"):
            self.with_parameters()
        if self.peek() == "DEDUP":
            lines["dedup"] = self.line()
            self.expect("DEDUP", "UPSERT", "KEYS")
            table.dedup_keys = tuple(self.name_list("a dedup key column"))
        return lines

    def with_parameters(self) -> None:
        """``WITH maxUncommittedRows=n, o3MaxLag=10s``: storage tuning, not part of the model."""
        while True:
            self.name("a table parameter name")
            self.expect("=")
            if self.pos >= len(self.words):
                raise self.fail("a parameter value")
            self.pos += 1
            if self.peek() in _DURATION_UNITS:
                self.pos += 1  # "10s" arrives as two tokens
            if not self.accept(","):
                return

    def alter_table(self, schema: Schema) -> str:
        line = self.line()
        name = self.name("a table name")
        if name not in schema.tables:
            raise MigrationError(self.source, line, "an existing table", f"unknown table {name!r}")
        # Work on a copy so a statement that fails half-way leaves the model untouched.
        original = schema.tables[name]
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
        elif self.accept("DEDUP", "ENABLE", "UPSERT", "KEYS"):
            dedup_keys = tuple(self.name_list("a dedup key column"))
            _check_dedup(table, dedup_keys, self.source, line)
            table.dedup_keys = dedup_keys
            kind = "DEDUP ENABLE"
        elif self.accept("DEDUP", "DISABLE"):
            table.dedup_keys = ()
            kind = "DEDUP DISABLE"
        else:
            raise self.fail("ADD COLUMN, DROP COLUMN, RENAME COLUMN, DEDUP ENABLE UPSERT KEYS "
                            "or DEDUP DISABLE")
        self.end()
        # Commit into the same Table object: identity means "the same table" to consumers (the
        # simulated QuestDB keeps its rows across ALTER, and only DROP + CREATE makes a new one).
        for attribute in dataclasses.fields(Table):
            setattr(original, attribute.name, getattr(table, attribute.name))
        return kind

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
        _check_dedup(table, table.dedup_keys, source, lines["dedup"])


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
