"""The SQL checker: one statement, judged against the schema model and the registry.

Statements are parsed with sqlglot (the ``postgres`` dialect reads asyncpg's ``$n``
placeholders) and checked for what QuestDB would reject or, worse, silently accept:

* tables and columns exist (``sql.unknown-table``, ``sql.unknown-column``);
* placeholders are ``$1..$n`` without gaps, match the argument count at the call site and,
  in an INSERT, the column count (``sql.placeholder-count``, ``sql.insert-arity``);
* every INSERT writes the designated timestamp, every dedup-key column and every column the
  registry requires (``sql.designated-timestamp-missing``, ``sql.dedup-key-missing``,
  ``sql.required-column-missing``): a NULL dedup key matches every other NULL, so rows
  silently overwrite each other (seed report, defect 2);
* UPDATE never sets the designated timestamp (``sql.update-designated-timestamp``);
* only SQL QuestDB's PG wire accepts (``sql.unsupported``): no OFFSET (use ``LIMIT lo, hi``),
  no ON CONFLICT, no DELETE, no ``::timestamptz`` (not for a PostgreSQL schema, whose server
  accepts them);
* QuestDB's time-series clauses (``SAMPLE BY``, ``LATEST BY``/``ON``, ``ASOF JOIN``...) make the
  statement ``sql.unchecked`` (a warning): no sqlglot dialect reads them.

``plan_statement`` does the parsing and schema work once per distinct statement; the runtime
monitor caches its :class:`StatementPlan` and only binds arguments on the hot path.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
import re
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.optimizer.scope import traverse_scope
from sqlglot.tokens import TokenType

from contracts.registry.model import Registry
from contracts.rules import violation
from contracts.schema import Column, Schema, Table
from simwire.violation import Violation, clip

# sqlglot logs a warning for every statement it keeps as an opaque Command (SHOW COLUMNS ...);
# the checker reports those itself, so the log line would only be noise.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

DIALECT = "postgres"
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.ILike)
# QuestDB's time-series clauses: no sqlglot dialect reads them, so a statement using one is
# reported as unchecked (a warning), never judged from a misreading.  Matched on word tokens,
# so the words inside a string literal do not count.
_QUESTDB_EXTENSIONS = (("SAMPLE", "BY"), ("LATEST", "BY"), ("LATEST", "ON"), ("ASOF", "JOIN"), ("LT", "JOIN"),
                       ("SPLICE", "JOIN"))
_WAL_CONTROL = re.compile(r"\s*ALTER\s+TABLE\s+\"?(\w+)\"?\s+(?:RESUME|SUSPEND)\s+WAL"
                          r"(?:\s+FROM\s+(?:TXN|TRANSACTION)\s+(?:\d+|\$\d+))?\s*;?\s*$", re.IGNORECASE)
"""Operating a WAL table from code (a health check resuming a suspended table) is not DDL."""


@dataclass(frozen=True)
class Binding:
    """Placeholder ``$index`` feeds ``column`` (of ``table``); ``cast`` is an explicit ``::type``."""

    index: int
    table: str
    column: Column
    cast: str | None = None
    written: bool = False  # an INSERT value or UPDATE SET, as opposed to a comparison


@dataclass(frozen=True)
class StatementInfo:
    """What a statement does, for the wiring graph: its kind and the tables it writes and reads."""

    kind: str  # INSERT, UPDATE, SELECT, DELETE, OTHER
    tables_written: tuple[str, ...]
    tables_read: tuple[str, ...]


@dataclass
class StatementPlan:
    """Everything knowable about a statement without its arguments.

    ``placeholders`` is the highest ``$n``; ``bindings`` maps placeholders to the columns they
    feed (for the monitor's type checks); ``inserted`` lists the columns of an INSERT in
    order (so a row of arguments can be checked for NULL keys); ``violations`` are the static
    findings, without location.
    """

    sql: str
    info: StatementInfo
    placeholders: int = 0
    bindings: dict[int, Binding] = field(default_factory=dict)
    inserted: tuple[str, ...] = ()
    must_write: dict[str, str] = field(default_factory=dict)  # column -> why (rule id)
    violations: list[Violation] = field(default_factory=list)


def check_statement(sql: str, schema: Schema, registry: Registry | None = None, *,
                    location: str = "", arg_count: int | None = None) -> list[Violation]:
    """Every finding about ``sql``; ``arg_count`` is the number of arguments at the call site
    when the caller could count them (``None``: unknown, e.g. ``*args`` or ``executemany``)."""
    plan = plan_statement(sql, schema, registry)
    found = [dataclasses.replace(v, location=location) for v in plan.violations]
    if arg_count is not None and arg_count != plan.placeholders and plan.info.kind != "OTHER":
        found.append(violation(
            "sql.placeholder-count", f"statement has {plan.placeholders} placeholder(s) but the call "
            f"passes {arg_count} argument(s)", location=location, expected=f"{plan.placeholders} argument(s)",
            seen=f"{arg_count} argument(s)", sql=_one_line(sql)))
    return found


def statement_tables(sql: str) -> StatementInfo:
    """The statement's kind and the tables it writes and reads (lower-case, sorted).

    Unparseable SQL gives kind ``OTHER`` and no tables; ``check_statement`` reports why.
    """
    try:
        statements = _parse(sql)
    except (ParseError, TokenError):
        return StatementInfo("OTHER", (), ())
    written: set[str] = set()
    read: set[str] = set()
    kinds = []
    for statement in statements:
        kind, target = _kind_and_target(statement)
        kinds.append(kind)
        if target:
            written.add(target)
        read.update(name for name in _table_names(statement) if name != target)
    kind = kinds[0] if len(set(kinds)) == 1 else "OTHER"
    return StatementInfo(kind, tuple(sorted(written)), tuple(sorted(read)))


def plan_statement(sql: str, schema: Schema, registry: Registry | None = None) -> StatementPlan:
    """Parse and check ``sql``; callers on a hot path cache the plan per statement text."""
    return _Planner(sql, schema, registry).plan()


def check_lineage(registry: Registry, schema: Schema) -> list[Violation]:
    """Registry against schema: every lineage target and required column exists, and each
    lineage field's type can be stored in its column."""
    found = []
    missing_tables = sorted({entry.table for entry in registry.lineage} - set(schema.tables))
    for name in missing_tables:
        found.append(violation(
            "contract.lineage-unknown-column", f"lineage points at table {name!r}, which the migrations do "
            "not create", location=f"registry {registry.name} lineage", expected="a table of the schema model",
            seen=f"unknown table {name!r}"))
    for entry in registry.lineage:
        where = f"lineage {entry.topic}.{entry.field} -> {entry.table}.{entry.column}"
        table = schema.tables.get(entry.table)
        if table is None:
            continue
        column = table.columns.get(entry.column)
        if column is None:
            found.append(violation(
                "contract.lineage-unknown-column", f"lineage points at a column the migrations do not "
                f"create: {entry.table}.{entry.column}", location=where, expected=f"a column of {entry.table}",
                seen=f"unknown column {entry.column!r}"))
            continue
        field_ = registry.topics[entry.topic].field_named(entry.field)
        if field_ is None or entry.derive is not None:
            continue  # a derived value: its type is the derivation's, checked at run time (contracts.lineage)
        base_type = column.type.split("(")[0]  # DECIMAL(12,2) stores what DECIMAL stores
        storable = [t for t in field_.types if t == "none" or base_type in _STORABLE.get(t, ())]
        if len(storable) != len(field_.types):
            found.append(violation(
                "contract.lineage-type", f"{entry.topic}.{entry.field} cannot be stored in "
                f"{entry.table}.{entry.column}", location=where,
                expected=f"a column type for {'/'.join(field_.types)}: {', '.join(_storable_for(field_.types))}",
                seen=f"{column.type} ({column.source})"))
    for table_name, columns in registry.required_columns.items():
        table = schema.tables.get(table_name)
        for name in columns:
            if table is None or name not in table.columns:
                found.append(violation(
                    "contract.required-column-unknown", f"registry requires {table_name}.{name}, which "
                    "the migrations do not create", location=f"registry {registry.name} required_columns",
                    expected="a column of the schema model", seen=f"unknown {'column' if table else 'table'}"))
    return found


# Field type -> column types that can hold it (times are float seconds converted by the writer).
_STORABLE = {
    "str": ("SYMBOL", "STRING", "VARCHAR", "CHAR", "UUID", "IPV4"),
    "float": ("DOUBLE", "FLOAT", "DECIMAL", "TIMESTAMP", "TIMESTAMP_NS", "DATE", "TIMESTAMPTZ"),
    "int": ("LONG", "INT", "SHORT", "BYTE", "DOUBLE", "FLOAT", "DECIMAL", "TIMESTAMP", "DATE", "TIMESTAMPTZ"),
    "bool": ("BOOLEAN",),
    "dict": ("STRING", "VARCHAR", "JSON", "JSONB"),
    "list": ("STRING", "VARCHAR", "JSON", "JSONB"),
}


def _storable_for(types: tuple[str, ...]) -> list[str]:
    return sorted({c for t in types for c in _STORABLE.get(t, ())})


# --- planning ------------------------------------------------------------------------------------


class _Planner:
    def __init__(self, sql: str, schema: Schema, registry: Registry | None) -> None:
        self.sql = sql
        self.schema = schema
        self.registry = registry
        self.plan_ = StatementPlan(sql, StatementInfo("OTHER", (), ()))

    def report(self, rule: str, message: str, expected: str, seen: str) -> None:
        self.plan_.violations.append(violation(rule, message, expected=expected, seen=seen, sql=_one_line(self.sql)))

    def plan(self) -> StatementPlan:
        wal_control = _WAL_CONTROL.match(self.sql)
        if wal_control is not None:
            table = self.schema.tables.get(wal_control.group(1).lower())
            if table is None:
                self.report("sql.unknown-table", f"table {wal_control.group(1)!r} does not exist in the schema "
                            "model", "a table created by the migrations", wal_control.group(1))
            elif not table.wal:
                self.report("sql.unsupported", "RESUME/SUSPEND WAL on a table without WAL",
                            "a WAL table", f"{table.name} (not WAL)")
            return self.plan_
        extension = _questdb_extension(self.sql)
        if extension:
            self.report("sql.unchecked", f"QuestDB extension {extension} is not understood by the "
                        "checker; statement not checked", "SQL the checker can parse", extension)
            return self.plan_
        try:
            statements = _parse(self.sql)
        except (ParseError, TokenError) as error:
            self.report("sql.syntax", "statement does not parse", "valid SQL", str(error).splitlines()[0])
            return self.plan_
        if len(statements) != 1:
            self.report("sql.multiple-statements", "one string holds several statements",
                        "one statement per call (asyncpg rejects several with arguments)",
                        f"{len(statements)} statements")
            return self.plan_
        statement = statements[0]
        if not self.is_statement(statement):
            return self.plan_
        self.plan_.info = statement_tables(self.sql)
        self.check_dialect(statement)
        self.check_placeholders(statement)
        if isinstance(statement, exp.Insert):
            self.check_insert(statement)
        elif isinstance(statement, exp.Update):
            self.check_update(statement)
        self.check_selects(statement)
        return self.plan_

    def is_statement(self, statement: exp.Expression) -> bool:
        """sqlglot reads "SELEC x" as an aliased column; only real DML is planned further."""
        if isinstance(statement, exp.Create | exp.Drop | exp.Alter | exp.TruncateTable):
            self.report("sql.unchecked", "DDL in code is not checked (migrations are the place for it)",
                        "INSERT, UPDATE, SELECT or SHOW", statement.key.upper())
            return False
        incomplete = ((isinstance(statement, exp.Select) and not statement.expressions)
                      or (isinstance(statement, exp.Update) and not statement.expressions))
        if incomplete or not isinstance(statement, exp.Insert | exp.Update | exp.Delete | exp.Query | exp.Command):
            self.report("sql.syntax", "statement does not parse as INSERT, UPDATE, SELECT or SHOW",
                        "valid SQL", clip(_one_line(self.sql), 80))
            return False
        return True

    # -- dialect

    def check_dialect(self, statement: exp.Expression) -> None:
        unsupported = []
        if isinstance(statement, exp.Delete):
            unsupported.append("DELETE (QuestDB has none: drop partitions or write a tombstone row)")
        if isinstance(statement, exp.Insert) and statement.args.get("conflict") is not None:
            unsupported.append("ON CONFLICT (QuestDB deduplicates with DEDUP UPSERT KEYS instead)")
        if any(t.token_type == TokenType.OFFSET for t in sqlglot.tokenize(self.sql, read=DIALECT)):
            unsupported.append("OFFSET (QuestDB pages with LIMIT lo, hi)")
        for cast in statement.find_all(exp.Cast):
            if cast.to.this in (exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.TIMESTAMPLTZ):
                unsupported.append("::timestamptz (QuestDB TIMESTAMP has no time zone)")
        if isinstance(statement, exp.Command) and str(statement.this).upper() != "SHOW":
            self.report("sql.unchecked", "statement kind not modelled by the checker; not checked",
                        "INSERT, UPDATE, SELECT or SHOW", str(statement.this))
        if self.schema.dialect != "questdb":
            return  # PostgreSQL migrations: the code talks to PostgreSQL, which accepts all of these
        for what in unsupported:
            self.report("sql.unsupported", "QuestDB's PG wire rejects this statement",
                        "SQL QuestDB accepts", what)

    # -- placeholders

    def check_placeholders(self, statement: exp.Expression) -> None:
        if any(True for _ in statement.find_all(exp.Placeholder)):
            self.report("sql.placeholder-style", "statement uses '?' placeholders", "$1, $2, ... (asyncpg)", "?")
        indices = sorted({_parameter_index(p) for p in statement.find_all(exp.Parameter)} - {None})
        self.plan_.placeholders = indices[-1] if indices else 0
        gaps = sorted(set(range(1, self.plan_.placeholders + 1)) - set(indices))
        if gaps:
            self.report("sql.placeholder-count", "placeholders are not numbered $1..$n without gaps",
                        f"$1..${self.plan_.placeholders}", "missing " + ", ".join(f"${i}" for i in gaps))

    # -- tables and columns

    def table(self, node: exp.Table) -> Table | None:
        name = node.name.lower()
        table = self.schema.tables.get(name)
        if table is None and name in self.schema.unmodelled:
            self.report("sql.unchecked", f"{name!r} was created by a migration statement the model does not "
                        f"follow ({self.schema.unmodelled[name]}); its columns are not checked",
                        "a table the schema model knows", name)
        elif table is None:
            self.report("sql.unknown-table", f"table {name!r} does not exist in the schema model",
                        "a table created by the migrations", name)
        return table

    def column(self, table: Table, name: str) -> Column | None:
        column = table.columns.get(name.lower())
        if column is None:
            self.report("sql.unknown-column", f"column {name!r} does not exist in table {table.name!r}",
                        f"a column of {table.name} ({', '.join(table.columns)})", name)
        return column

    def check_insert(self, insert: exp.Insert) -> None:
        target = insert.this
        table_node = target.this if isinstance(target, exp.Schema) else target
        table = self.table(table_node)
        if table is None:
            return
        if isinstance(target, exp.Schema):
            names = [identifier.name.lower() for identifier in target.expressions]
        else:
            names = list(table.columns)
        columns = [self.column(table, name) for name in names]
        self.plan_.inserted = tuple(names)
        rows = insert.expression.expressions if isinstance(insert.expression, exp.Values) else []
        nulls: set[str] = set()
        for number, row in enumerate(rows, start=1):
            values = row.expressions if isinstance(row, exp.Tuple) else [row]
            if len(values) != len(names):
                self.report("sql.insert-arity", f"row {number} of INSERT INTO {table.name} has {len(values)} "
                            f"value(s) for {len(names)} column(s)", f"{len(names)} values", f"{len(values)} values")
            for name, column, value in zip(names, columns, values, strict=False):
                if isinstance(value, exp.Null):
                    nulls.add(name)
                if column is not None:
                    self.bind(value, table, column, written=True)
        self.check_written(table, [n for n in names if n not in nulls], nulls)

    def required_columns(self, table: Table) -> dict[str, str]:
        """Columns that may never be NULL in a written row, each with the rule that says why."""
        required = {}
        if table.designated_timestamp:
            required[table.designated_timestamp] = "sql.designated-timestamp-missing"
        for key in table.dedup_keys:
            required.setdefault(key, "sql.dedup-key-missing")
        if self.registry is not None:
            for name in self.registry.required_columns.get(table.name, ()):
                required.setdefault(name, "sql.required-column-missing")
        return required

    def check_written(self, table: Table, written: list[str], nulls: set[str]) -> None:
        required = self.plan_.must_write = self.required_columns(table)
        why = {
            "sql.designated-timestamp-missing": "the designated timestamp cannot be NULL",
            "sql.dedup-key-missing": "a NULL dedup key matches every other NULL: rows overwrite each other",
            "sql.required-column-missing": f"registry {self.registry.name if self.registry else ''} "
                                           "requires it",
        }
        for name, rule in required.items():
            if name not in written:
                seen = "NULL literal" if name in nulls else f"columns ({', '.join(written)})"
                self.report(rule, f"INSERT INTO {table.name} does not write {name!r}: {why[rule]}",
                            f"{name!r} among the written columns", seen)

    def check_update(self, update: exp.Update) -> None:
        table = self.table(update.this)
        if table is None:
            return
        self.plan_.must_write = self.required_columns(table)
        for assignment in update.expressions:
            target = assignment.this
            if not isinstance(target, exp.Column):
                continue
            column = self.column(table, target.name)
            if column is None:
                continue
            if column.name == table.designated_timestamp:
                self.report("sql.update-designated-timestamp", f"UPDATE {table.name} sets the designated "
                            f"timestamp {column.name!r}", "designated timestamp left unchanged (QuestDB: "
                            "'Designated timestamp column cannot be updated')", f"SET {column.name} = ...")
            self.bind(assignment.expression, table, column, written=True)
        where = update.args.get("where")
        if where is not None:
            for node in where.find_all(exp.Column):
                self.column(table, node.name)
            self.bind_comparisons(where, {"": table})

    def check_selects(self, statement: exp.Expression) -> None:
        """Columns of every SELECT scope (including INSERT ... SELECT and subqueries)."""
        for scope in traverse_scope(statement):
            sources: dict[str, Table] = {}
            opaque = False
            for alias, source in scope.sources.items():
                if isinstance(source, exp.Table) and source.name:
                    table = self.table(source)
                    if table is None:
                        return  # unknown table already reported; its columns cannot be judged
                    sources[alias] = table
                else:
                    opaque = True  # a CTE, subquery or table function: columns not modelled
            lookup = dict(sources)
            if len(sources) == 1:
                lookup[""] = next(iter(sources.values()))  # unqualified columns belong to the one table
            for node in scope.columns:
                if node.table in lookup:
                    self.column(lookup[node.table], node.name)
                elif (not node.table and not opaque and sources
                      and not any(node.name.lower() in t.columns for t in sources.values())):
                    self.report("sql.unknown-column", f"column {node.name!r} is in none of the tables read",
                                f"a column of {', '.join(t.name for t in sources.values())}", node.name)
            self.bind_comparisons(scope.expression, lookup)

    # -- bindings

    def bind(self, value: exp.Expression, table: Table, column: Column, *, written: bool) -> None:
        cast = None
        if isinstance(value, exp.Cast):
            cast = value.to.sql(dialect=DIALECT).upper()
            value = value.this
        if isinstance(value, exp.Parameter):
            index = _parameter_index(value)
            if index is not None and index not in self.plan_.bindings:
                self.plan_.bindings[index] = Binding(index, table.name, column, cast, written)

    def bind_comparisons(self, where: exp.Expression, sources: dict[str, Table]) -> None:
        for comparison in where.find_all(*_COMPARISONS):
            left, right = comparison.this, comparison.expression
            if isinstance(right, exp.Column) and not isinstance(left, exp.Column):
                left, right = right, left
            if not isinstance(left, exp.Column):
                continue
            table = sources.get(left.table or "")
            column = table.columns.get(left.name.lower()) if table else None
            if table is not None and column is not None:
                self.bind(right, table, column, written=False)


@functools.lru_cache(maxsize=1024)
def _questdb_extension(sql: str) -> str | None:
    try:
        words = [part.upper() for token in sqlglot.tokenize(sql, read=DIALECT)
                 if token.token_type not in (TokenType.STRING, TokenType.IDENTIFIER) for part in token.text.split()]
    except TokenError:
        return None
    pairs = set(itertools.pairwise(words))
    return next((" ".join(pair) for pair in _QUESTDB_EXTENSIONS if pair in pairs), None)


@functools.lru_cache(maxsize=1024)
def _parse(sql: str) -> tuple[exp.Expression, ...]:
    """The statements of ``sql``, parsed once per process (each run's monitor plans the same
    statements again).  Shared between callers: the checks only read the trees."""
    return tuple(s for s in sqlglot.parse(sql, read=DIALECT) if s is not None)


def _kind_and_target(statement: exp.Expression) -> tuple[str, str | None]:
    if isinstance(statement, exp.Insert):
        target = statement.this.this if isinstance(statement.this, exp.Schema) else statement.this
        return "INSERT", target.name.lower()
    if isinstance(statement, exp.Update | exp.Delete):
        return type(statement).__name__.upper(), statement.this.name.lower()
    if isinstance(statement, exp.Select | exp.Union):
        return "SELECT", None
    return "OTHER", None


def _table_names(statement: exp.Expression) -> set[str]:
    ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
    return {t.name.lower() for t in statement.find_all(exp.Table) if t.name and t.name.lower() not in ctes}


def _parameter_index(parameter: exp.Parameter) -> int | None:
    text = parameter.this.name if isinstance(parameter.this, exp.Expression) else str(parameter.this)
    return int(text) if text.isdigit() else None


def _one_line(sql: str) -> str:
    return " ".join(sql.split())
