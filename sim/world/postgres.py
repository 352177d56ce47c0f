"""SimPostgres: the simulated world's PostgreSQL, for targets whose migrations are PostgreSQL's.

A team on PostgreSQL declares its migrations ``dialect = "postgres"`` (``[tool.simwire.migrations]``,
read into a :class:`contracts.config.MigrationsConfig`); the simulated world then builds this
database instead of the simulated QuestDB (``sim.harness.worlds.SimulatedWorld.migrate``).

Everything the two servers do alike is the simulated QuestDB's own code, reused as it is: the
parser (sqlglot's postgres grammar with ``$n`` parameters), the plans of ``INSERT ... VALUES``,
``UPDATE`` and ``SELECT``, expressions, parameter encoding, records, transactions, the fault
plan's latency and errors, the statement log and the runtime monitor's hook.  What is
PostgreSQL's own is here:

* **No QuestDB refusals**: ``DELETE``, ``OFFSET``, ``::timestamptz`` parse.  ``DELETE ... WHERE``
  runs (``DELETE n``); ``INSERT ... SELECT`` runs (a backfill inside a migration).
* **Rows are visible at once**: PostgreSQL tables have no WAL lag, no designated timestamp, no
  dedup; rows come back in insertion order unless ``ORDER BY`` says otherwise.
* **Column rules from the DDL**: ``SERIAL``/``BIGSERIAL``/``SMALLSERIAL`` and identity columns draw
  from a sequence per column, ``DEFAULT`` (a literal, ``now()``/``CURRENT_TIMESTAMP``) fills an
  omitted column, ``NOT NULL``, ``PRIMARY KEY``/``UNIQUE`` and ``REFERENCES`` (``ON DELETE
  CASCADE`` or refusing) are enforced with PostgreSQL's messages.  Indexes and comments are
  accepted and change nothing.
* **Types**: ``TIMESTAMPTZ`` answers aware UTC datetimes, ``JSONB`` is stored the server's way
  (``sim.world.questdb.types``).

Migrations apply statement by statement (``contracts.migrations.apply_in_order``, the same
reader ``simwire check`` uses for this dialect), and each data statement runs against the
tables as they stand at its line.  SQL outside this list is a ``QueryError`` naming the
statement; known differences: constraints added by ``ALTER TABLE ... ADD CONSTRAINT`` are
not enforced, ``UPDATE`` does not re-check constraints, ``col = NULL`` follows QuestDB (true
for NULL), a naive datetime for ``TIMESTAMPTZ`` is local time, as asyncpg takes it, and ``now()`` is the
virtual time from 2024-01-01T00:00:00Z (the virtualized ``datetime.now()``'s epoch).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import anyio.lowlevel
import sqlglot
from sqlglot import exp

from contracts.migrations import Migrations, apply_in_order
from contracts.postgres_migrations import apply_postgres
from contracts.schema import MigrationError, Schema
from sim.kernel.virtual_stdlib import EPOCH
from sim.world.questdb.database import ServerVersion, SimQuestDB
from sim.world.questdb.dialect import parse, position_of
from sim.world.questdb.expressions import ExpressionCompiler, Layout, Params, plan_access
from sim.world.questdb.plans import InsertPlan, SelectPlan, UpdatePlan, compile_node, table_layout
from sim.world.questdb.store import TableStore
from sim.world.questdb.types import encoder_for
from system.ports import DatabaseError, DataError, QueryError

SERVER_VERSION = ServerVersion(16, 0, 0, "final", 0)
_SERIAL = (exp.DataType.Type.SERIAL, exp.DataType.Type.BIGSERIAL, exp.DataType.Type.SMALLSERIAL)
_DATA = ("INSERT", "UPDATE", "DELETE")


class ConstraintViolation(DataError):
    """A row a constraint refuses (asyncpg: ``NotNullViolationError``, ``UniqueViolationError``,
    ``ForeignKeyViolationError``); ``constraint`` is its name as PostgreSQL would report it."""

    def __init__(self, message: str, *, constraint: str, detail: str = "") -> None:
        super().__init__(f"{message}" + (f" ({detail})" if detail else ""))
        self.constraint = constraint
        self.detail = detail


# --- column rules, read from CREATE TABLE / ADD COLUMN ------------------------------------------


@dataclass(frozen=True)
class Reference:
    """``columns`` of the child table must name a row of ``parent`` (``parent_columns``)."""

    name: str
    table: str
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]
    cascade: bool


@dataclass
class TableRules:
    """What PostgreSQL enforces on one table's rows beyond the column types."""

    defaults: dict[str, Callable[[], Any]] = field(default_factory=dict)
    not_null: set[str] = field(default_factory=set)
    unique: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Constraint name -> its columns (the primary key is one)."""
    references: list[Reference] = field(default_factory=list)


class _RuleReader:
    """Reads the rules of one ``CREATE TABLE`` or ``ALTER TABLE ... ADD COLUMN`` statement."""

    def __init__(self, db: SimPostgres, table: str, rules: TableRules, where: str) -> None:
        self.db, self.table, self.rules, self.where = db, table, rules, where

    def column(self, definition: exp.ColumnDef) -> None:
        name = definition.name.lower()
        kind = definition.args.get("kind")
        if isinstance(kind, exp.DataType) and kind.this in _SERIAL:
            self.rules.defaults[name] = self.db.sequence(self.table, name)
            self.rules.not_null.add(name)
        for constraint in definition.args.get("constraints") or ():
            rule = constraint.args.get("kind")
            if isinstance(rule, exp.NotNullColumnConstraint) and not rule.args.get("allow_null"):
                self.rules.not_null.add(name)
            elif isinstance(rule, exp.PrimaryKeyColumnConstraint):
                self.primary_key((name,))
            elif isinstance(rule, exp.UniqueColumnConstraint):
                self.rules.unique[f"{self.table}_{name}_key"] = (name,)
            elif isinstance(rule, exp.GeneratedAsIdentityColumnConstraint):
                self.rules.defaults[name] = self.db.sequence(self.table, name)
                self.rules.not_null.add(name)
            elif isinstance(rule, exp.DefaultColumnConstraint):
                self.rules.defaults[name] = self.default(name, rule.this)
            elif isinstance(rule, exp.Reference):
                self.reference((name,), rule)

    def table_constraint(self, item: exp.Expression) -> None:
        if isinstance(item, exp.PrimaryKey):
            self.primary_key(tuple(column.name.lower() for column in item.expressions))
        elif isinstance(item, exp.UniqueColumnConstraint) and isinstance(item.this, exp.Schema):
            columns = tuple(column.name.lower() for column in item.this.expressions)
            self.rules.unique[f"{self.table}_{'_'.join(columns)}_key"] = columns
        elif isinstance(item, exp.ForeignKey) and isinstance(item.args.get("reference"), exp.Reference):
            self.reference(tuple(column.name.lower() for column in item.expressions), item.args["reference"])

    def primary_key(self, columns: tuple[str, ...]) -> None:
        self.rules.unique[f"{self.table}_pkey"] = columns
        self.rules.not_null.update(columns)

    def reference(self, columns: tuple[str, ...], reference: exp.Reference) -> None:
        target = reference.this
        parent = (target.this if isinstance(target, exp.Schema) else target).name.lower()
        parent_columns = tuple(c.name.lower() for c in target.expressions) if isinstance(target, exp.Schema) else ()
        if not parent_columns:
            primary = self.db.rules_of(parent).unique.get(f"{parent}_pkey")
            if primary is None:
                raise MigrationError(self.where, 0, f"a primary key on {parent!r} for REFERENCES {parent}",
                                     "none (name the referenced columns)")
            parent_columns = primary
        options = " ".join(str(option).upper() for option in reference.args.get("options") or ())
        self.rules.references.append(Reference(f"{self.table}_{'_'.join(columns)}_fkey", self.table, columns,
                                               parent, parent_columns, "ON DELETE CASCADE" in options))

    def default(self, column: str, node: exp.Expression) -> Callable[[], Any]:
        if isinstance(node, exp.CurrentTimestamp) or (isinstance(node, exp.Anonymous)
                                                      and node.name.lower() in ("now", "transaction_timestamp")):
            return self.db.now
        try:
            value = ExpressionCompiler(node.sql(), Layout("", (), ()), Params()).value(node)
            constant = value((), ())
        except QueryError as error:
            raise MigrationError(self.where, 0, f"a DEFAULT for {self.table}.{column} the simulated PostgreSQL "
                                 f"computes (a literal, now())", node.sql()) from error
        return lambda: constant


# --- plans -----------------------------------------------------------------------------------


@dataclass
class PostgresInsert:
    """``INSERT ... VALUES`` or ``INSERT ... SELECT``: omitted columns take their DEFAULT (or the
    next value of their sequence), then NOT NULL is checked, when the statement is sent."""

    table: str
    encoders: tuple[Any, ...]
    width: int
    listed: tuple[int, ...]
    """Column positions the statement names, in its order."""
    values: Callable[[Sequence[Any]], list[list[Any]]]
    """args -> one list of values (in ``listed`` order) per row."""
    columns: tuple[str, ...]
    types: tuple[str, ...]
    rules: TableRules

    def rows(self, args: Sequence[Any]) -> list[list[Any]]:
        rows = []
        for values in self.values(args):
            row: list[Any] = [None] * self.width
            for position, value in zip(self.listed, values, strict=True):
                row[position] = value
            for position, column in enumerate(self.columns):
                if position not in self.listed and column in self.rules.defaults:
                    default = self.rules.defaults[column]()
                    row[position] = None if default is None else encoder_for(self.types[position])(default)
            for position, column in enumerate(self.columns):
                if row[position] is None and column in self.rules.not_null:
                    raise ConstraintViolation(f'null value in column "{column}" of relation "{self.table}" '
                                              f"violates not-null constraint",
                                              constraint=f"{self.table}_{column}_not_null")
            rows.append(row)
        return rows


@dataclass
class DeletePlan(UpdatePlan):
    """``DELETE FROM t [WHERE ...]``: the rows an UPDATE with the same WHERE would change."""

    tag: ClassVar[str] = "DELETE"


def compile_postgres(query: str, db: SimPostgres) -> PostgresInsert | UpdatePlan | SelectPlan:
    """A plan for one PostgreSQL statement; what the simulated PostgreSQL does not run is a
    QueryError naming the statement."""
    node = parse(query, questdb=False)
    if isinstance(node, exp.Delete):
        return _delete(query, node, db)
    if isinstance(node, exp.Insert):
        for option in ("conflict", "returning"):
            if node.args.get(option) is not None:
                raise _unsupported(query, f"INSERT ... {'ON CONFLICT' if option == 'conflict' else 'RETURNING'}")
        return _insert(query, node, db)
    if isinstance(node, exp.Update | exp.Select):
        if isinstance(node, exp.Update) and node.args.get("returning") is not None:
            raise _unsupported(query, "UPDATE ... RETURNING")
        return compile_node(query, node, db)
    raise _unsupported(query, (query.split() or ["an empty"])[0].upper())


def _unsupported(query: str, what: str) -> QueryError:
    shown = " ".join(query.split())
    return QueryError(f"the simulated PostgreSQL does not run {what} statements: {shown[:120]!r} "
                      f"(sim/world/postgres.py lists what it runs)", query=query, position=1)


def _table_of(query: str, node: exp.Expression, db: SimPostgres) -> str:
    target = node if isinstance(node, exp.Table) else node.find(exp.Table)
    assert target is not None
    name = target.name.lower()
    if db.table(name) is None:
        raise QueryError(f'relation "{name}" does not exist', query=query, position=position_of(query, target))
    return name


def _delete(query: str, node: exp.Delete, db: SimPostgres) -> DeletePlan:
    name = _table_of(query, node.this, db)
    table = db.table(name)
    assert table is not None
    params = Params()
    compiler = ExpressionCompiler(query, table_layout(table), params)
    where = node.args.get("where")
    access = plan_access(compiler, where.this if where is not None else None)
    return DeletePlan(name, params.encoders(), access, [])


def _insert(query: str, node: exp.Insert, db: SimPostgres) -> PostgresInsert:
    source = node.expression
    name = _table_of(query, node.this, db)
    table = db.table(name)
    assert table is not None
    columns = tuple(table.columns)
    types = tuple(column.type for column in table.columns.values())
    if isinstance(source, exp.Values):
        base = compile_node(query, node, db)
        assert isinstance(base, InsertPlan)
        listed = tuple(position for position, _ in base.tuples[0]) if base.tuples else ()

        def values(args: Sequence[Any]) -> list[list[Any]]:
            return [[value((), args) for _, value in assignments] for assignments in base.tuples]

        return PostgresInsert(name, base.encoders, base.width, listed, values, columns, types, db.rules_of(name))
    if not isinstance(source, exp.Select):
        raise _unsupported(query, f"INSERT ... {source.key.upper() if source is not None else 'DEFAULT VALUES'}")
    if isinstance(node.this, exp.Schema):
        named = [column.name.lower() for column in node.this.expressions]
        unknown = [column for column in named if column not in columns]
        if unknown:
            raise QueryError(f'column "{unknown[0]}" of relation "{name}" does not exist', query=query, position=1)
        listed = tuple(columns.index(column) for column in named)
    else:
        listed = tuple(range(len(columns)))
    select = compile_node(query, source, db)
    assert isinstance(select, SelectPlan)
    if len(select.index) != len(listed):
        raise QueryError(f"INSERT has {len(listed)} target columns but its SELECT {len(select.index)} expressions",
                         query=query, position=1)

    def selected(args: Sequence[Any]) -> list[list[Any]]:
        return [list(record) for record in select.run(db, args)]

    return PostgresInsert(name, select.encoders, len(columns), listed, selected, columns, types, db.rules_of(name))


# --- the database ------------------------------------------------------------------------------


class SimPostgres(SimQuestDB):
    """The simulated PostgreSQL: the simulated QuestDB's machinery with PostgreSQL's semantics."""

    dialect = "postgres"
    ddl_keywords = ("CREATE", "ALTER", "DROP", "COMMENT")
    compile_plan = staticmethod(compile_postgres)

    def __init__(self, schema: Schema | None = None, **options: Any) -> None:
        """As :class:`SimQuestDB`; the server's wall clock (``now()``) is the virtual time from
        the virtualized stdlib's epoch, so ``DEFAULT now()`` agrees with the app's own
        ``datetime.now()`` inside a simulated run."""
        self.rules: dict[str, TableRules] = {}
        self._sequences: dict[tuple[str, str], itertools.count[int]] = {}
        super().__init__(schema if schema is not None else Schema(dialect="postgres"), **options)

    async def apply_migrations(self, directory: Migrations) -> None:  # type: ignore[override]
        """Create the tables of the migrations on this (empty) database, statement by statement;
        data statements (a backfill) run where they stand.  Before the system starts: no faults."""
        await anyio.lowlevel.checkpoint()
        if self.schema.tables:
            raise DatabaseError(f"apply_migrations needs an empty database; it already has "
                                f"{', '.join(sorted(self.schema.tables))}")
        self.schema = Schema(dialect="postgres")
        for source, applied in apply_in_order(directory, self.schema):
            self._changed()
            where = f"{source}:{applied.line}"
            if applied.kind in ("CREATE TABLE", "ADD COLUMN", "ALTER TABLE"):
                self._note_rules(applied.text, where)
            elif applied.kind in _DATA:
                try:
                    self._execute(applied.text, (), None)
                except DatabaseError as error:
                    raise DatabaseError(f"{where}: migration statement failed on the simulated PostgreSQL: "
                                        f"{error}") from error

    def get_server_version(self) -> ServerVersion:
        return SERVER_VERSION

    def now(self) -> datetime:
        """``now()``/``CURRENT_TIMESTAMP``: the server's clock, on virtual time."""
        return datetime.fromtimestamp(EPOCH + self._clock(), UTC)

    # --- rules ---------------------------------------------------------------------------------

    def rules_of(self, table: str) -> TableRules:
        return self.rules.setdefault(table, TableRules())

    def sequence(self, table: str, column: str) -> Callable[[], int]:
        counter = self._sequences.setdefault((table, column), itertools.count(1))
        return lambda: next(counter)

    def _note_rules(self, text: str, where: str) -> None:
        try:
            tree = sqlglot.parse_one(text, read="postgres")
        except sqlglot.errors.ParseError:
            return  # apply_postgres read it; a form sqlglot cannot re-read carries no rules here
        if isinstance(tree, exp.Create) and isinstance(tree.this, exp.Schema):
            name = tree.this.this.name.lower()
            if name in self.rules and tree.args.get("exists"):
                return  # CREATE TABLE IF NOT EXISTS on a table that was there: nothing changes
            reader = _RuleReader(self, name, self.rules.setdefault(name, TableRules()), where)
            for item in tree.this.expressions:
                if isinstance(item, exp.ColumnDef):
                    reader.column(item)
                else:
                    reader.table_constraint(item)
        elif isinstance(tree, exp.Alter):
            name = tree.this.name.lower()
            reader = _RuleReader(self, name, self.rules_of(name), where)
            for action in tree.args.get("actions") or ():
                if isinstance(action, exp.ColumnDef):
                    reader.column(action)

    # --- statements ----------------------------------------------------------------------------

    def _write_op(self, plan: Any, args: list[Any]) -> tuple[Any, str | None]:
        if isinstance(plan, PostgresInsert):
            rows = plan.rows(args)
            return (lambda store: self._insert_rows(store, rows)), f"INSERT 0 {len(rows)}"
        if isinstance(plan, DeletePlan):
            return (lambda store: self._delete_rows(store, plan.matches(store, args))), None
        return super()._write_op(plan, args)

    def _insert_rows(self, store: TableStore, rows: list[list[Any]]) -> int:
        rules = self.rules_of(store.name)
        for row in rows:
            self._check_unique(store, rules, row)
            self._check_references(store, rules, row)
            store.insert(row)
        return len(rows)

    def _check_unique(self, store: TableStore, rules: TableRules, row: list[Any]) -> None:
        for constraint, columns in rules.unique.items():
            if not all(column in store.columns for column in columns):
                continue
            positions = [store.columns.index(column) for column in columns]
            key = [row[at] for at in positions]
            if None in key:
                continue  # NULLs are distinct
            if any([existing[at] for at in positions] == key for existing in store.all.rows):
                shown = ", ".join(columns), ", ".join(str(value) for value in key)
                raise ConstraintViolation(f'duplicate key value violates unique constraint "{constraint}"',
                                          constraint=constraint,
                                          detail=f"Key ({shown[0]})=({shown[1]}) already exists.")

    def _check_references(self, store: TableStore, rules: TableRules, row: list[Any]) -> None:
        for reference in rules.references:
            key = [row[store.columns.index(column)] for column in reference.columns if column in store.columns]
            if len(key) != len(reference.columns) or None in key:
                continue
            parent = self._stores.get(reference.parent)
            if parent is None or not _has_row(parent, reference.parent_columns, key):
                shown = ", ".join(reference.columns), ", ".join(str(value) for value in key)
                raise ConstraintViolation(f'insert or update on table "{store.name}" violates foreign key '
                                          f'constraint "{reference.name}"', constraint=reference.name,
                                          detail=f'Key ({shown[0]})=({shown[1]}) is not present in table '
                                                 f'"{reference.parent}".')

    def _delete_rows(self, store: TableStore, rows: list[list[Any]]) -> int:
        """Delete ``rows``; rows of other tables referencing them are deleted too (ON DELETE
        CASCADE) or the whole statement is refused, before anything changes."""
        doomed: dict[str, list[list[Any]]] = {}
        self._collect(store, rows, doomed)
        for name, victims in doomed.items():
            target = self._stores[name]
            for row in victims:
                target.delete(row)
        return len(rows)

    def _collect(self, store: TableStore, rows: list[list[Any]], doomed: dict[str, list[list[Any]]]) -> None:
        already = doomed.setdefault(store.name, [])
        fresh = [row for row in rows if not any(row is seen for seen in already)]
        already.extend(fresh)
        for reference in [r for rules in self.rules.values() for r in rules.references if r.parent == store.name]:
            child = self._stores.get(reference.table)
            if child is None or not all(c in child.columns for c in reference.columns):
                continue
            keys = [[row[store.columns.index(c)] for c in reference.parent_columns] for row in fresh]
            positions = [child.columns.index(c) for c in reference.columns]
            referencing = [row for row in child.all.rows if [row[at] for at in positions] in keys]
            if not referencing:
                continue
            if not reference.cascade:
                raise ConstraintViolation(f'update or delete on table "{store.name}" violates foreign key constraint '
                                          f'"{reference.name}" on table "{reference.table}"', constraint=reference.name)
            self._collect(child, referencing, doomed)

    # --- DDL -----------------------------------------------------------------------------------

    def _ddl(self, query: str) -> str:
        kinds = []
        try:
            for applied in apply_postgres(self.schema, query, source="<statement>"):
                if applied.error is not None:
                    raise QueryError(f"{applied.error.expected} expected, {applied.error.seen} seen", query=query,
                                     position=1)
                kinds.append(applied.kind)
                self._note_rules(applied.text, "<statement>")
        finally:
            self._changed()
        return kinds[-1] if kinds else "ALTER TABLE"

    def _changed(self) -> None:
        self._version += 1
        self._sync_tables()


def _has_row(store: TableStore, columns: tuple[str, ...], key: list[Any]) -> bool:
    if not all(column in store.columns for column in columns):
        return False
    positions = [store.columns.index(column) for column in columns]
    return any([row[at] for at in positions] == key for row in store.all.rows)
