"""SimQuestDB: an in-memory QuestDB behind the system's asyncpg-shaped Database port.

Built by applying the real migrations (``contracts.schema`` parses the DDL, so the simulator
and the schema checker can never disagree about a table).  Every call is an await point and a
place for the fault plan's latency and transient errors; ``docs/simulated-questdb.md`` lists
the semantics and every known difference from a real server.

WAL.  On a WAL table, writes go through a per-table queue: the statement is acknowledged
(its sequencer transaction counted) at once, and the change becomes visible when the virtual
clock reaches its apply time, ``now + lag`` with the lag drawn from the fault plan.  Apply
times never decrease within a table, so transactions apply in order.  Pending changes are
applied lazily, at the start of every statement: what a reader sees depends only on virtual
time, never on who else ran in between.  With no lag (the default) writes apply at once.

Suspension.  A transaction that fails when the WAL applies it (an injected ``suspend_rate``
fault, or a change that cannot be applied) *suspends* its table, as a real server does: the
failed transaction stays at the head of the queue, later writes are acknowledged and queue
behind it, readers see the table as of the failure, ``wal_tables()`` reports ``suspended``
with the error, and ``ALTER TABLE t RESUME WAL`` retries from the failed transaction
(``FROM TXN n`` skips to transaction ``n``).  ``suspended_tables()`` tells the oracles.

Time is read through ``clock`` (``anyio.current_time`` by default: virtual time under both
simulation kernels).
"""

from __future__ import annotations

import copy
import gc
import re
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import anyio
import anyio.lowlevel

from contracts.migrations import load_schema
from contracts.schema import MigrationError, Schema, Table, apply_ddl
from sim.world.faults import FaultPlan
from sim.world.questdb.dialect import offset_of
from sim.world.questdb.plans import InsertPlan, SelectPlan, UpdatePlan, compile_statement
from sim.world.questdb.records import SimRecord
from sim.world.questdb.store import TableStore
from sim.world.questdb.types import encode_args, encoder_for, passes_unchanged
from system.ports import DatabaseError, DataError, QueryError, TransientDatabaseError

DEFAULT_MIGRATIONS = Path(__file__).resolve().parents[3] / "system" / "migrations"
_KIND_AND_TABLE = re.compile(
    r"\s*(?P<kind>INSERT|UPDATE|DELETE|SELECT|ALTER|CREATE|DROP|SHOW)\b"
    r"(?:\s+INTO|\s+TABLE|\s+FROM)?\s*(?P<table>\w+(?=\s|\(|$))?(?:.*?\bFROM\s+(?P<source>\w+))?",
    re.IGNORECASE | re.DOTALL)
_WAL_CONTROL = re.compile(
    r"\s*ALTER\s+TABLE\s+(?P<table>\"[^\"]+\"|\w+)\s+(?P<verb>RESUME|SUSPEND)\s+WAL"
    r"(?:\s+FROM\s+(?:TXN|TRANSACTION)\s+(?P<txn>\d+))?\s*;?\s*$", re.IGNORECASE)

Plan = InsertPlan | UpdatePlan | SelectPlan
WriteOp = Callable[[TableStore], object]


class StatementObserver(Protocol):
    """The runtime monitor's hook: called after every statement (once per executemany row)."""

    def on_statement(self, query: str, args: tuple[Any, ...], error: BaseException | None) -> None: ...


class LoggedStatement(NamedTuple):
    """One statement as sent: for differential runs against a real server."""

    query: str
    args: tuple[Any, ...]
    error: str | None
    """``"DataError: ..."`` when the statement failed, None when it succeeded."""


def statement_counts(log: Iterable[Any]) -> dict[str, int]:
    """Statements by kind and table (``"UPDATE positions": 106``) from a statement log: what a run
    asks of QuestDB, where every UPDATE of a WAL table is one more transaction to apply."""
    counts: dict[str, int] = {}
    for statement in log:
        match = _KIND_AND_TABLE.match(statement.query)
        if match is None:
            key = "OTHER"
        else:
            kind = match["kind"].upper()
            key = f"{kind} {(match['source'] if kind == 'SELECT' else match['table']) or '?'}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


class SuspendedTable(NamedTuple):
    """A table whose WAL stopped applying (what ``wal_tables()`` shows for it)."""

    error: str
    writer_txn: int
    """The last transaction applied: readers see the table as of this one."""
    sequencer_txn: int
    """The last transaction acknowledged: everything after ``writer_txn`` is invisible."""


class _FailsWhenApplied:
    """A change the WAL fails to apply ``failures`` times (an injected suspension); the
    retry after that many ``RESUME WAL`` applies it."""

    def __init__(self, op: WriteOp, failures: int, message: str) -> None:
        self._op = op
        self._failures = failures
        self._message = message

    def __call__(self, store: TableStore) -> object:
        if self._failures:
            self._failures -= 1
            raise DataError(self._message)
        return self._op(store)


class ServerVersion(NamedTuple):
    """Shaped like ``asyncpg.ServerVersion``."""

    major: int
    minor: int
    micro: int
    releaselevel: str
    serial: int


SERVER_VERSION = ServerVersion(11, 3, 0, "final", 0)
"""What asyncpg reports for QuestDB 9.3 (questdb-facts.md), although ``version()`` says 12.3."""


class SimQuestDB:
    """The simulated server and its connection pool (``async with db.acquire() as conn``)."""

    dialect = "questdb"
    ddl_keywords: tuple[str, ...] = ("CREATE", "ALTER", "DROP")
    compile_plan = staticmethod(compile_statement)
    """SQL text -> plan; the simulated PostgreSQL (``sim.world.postgres``) reads its own dialect."""

    def __init__(self, schema: Schema | None = None, *, faults: FaultPlan | None = None, seed: int = 0,
                 clock: Callable[[], float] = anyio.current_time, log_statements: bool = True) -> None:
        """``schema``: the tables to start with (copied; none when omitted, see
        ``apply_migrations``).  ``faults`` and ``seed``: the fault plan's ``db`` site, drawn
        from this seed.  ``log_statements=False`` keeps ``statement_log`` empty (long runs)."""
        self.schema = copy.deepcopy(schema) if schema is not None else Schema()
        """The tables as the sequencer knows them: DDL applies here at once."""
        self.faults = faults or FaultPlan.preset("none")
        self.statement_log: list[LoggedStatement] = []
        self.wal_failures: list[tuple[str, BaseException]] = []
        """WAL transactions that failed when applied, each of which suspended its table."""
        self._injector = self.faults.injector("db", seed)
        self.fault_injectors = (self._injector,)
        """What the liveness phase switches off."""
        self._clock = clock
        self._log_statements = log_statements
        self._observers: list[StatementObserver] = []
        self._stores: dict[str, TableStore] = {}
        self._origins: dict[str, Table] = {}
        self._pending: dict[str, deque[tuple[float, int, WriteOp]]] = {}
        """Per table: acknowledged changes not yet applied, as (apply time, sequencer txn, change)."""
        self._plans: dict[str, tuple[int, Plan]] = {}
        self._version = 0
        self._sync_tables()

    @classmethod
    def from_migrations(cls, directory: Path | str = DEFAULT_MIGRATIONS, **options: Any) -> SimQuestDB:
        """A database whose tables are what ``directory``'s migrations leave behind."""
        return cls(load_schema(directory), **options)

    async def apply_migrations(self, directory: Path | str = DEFAULT_MIGRATIONS) -> None:
        """Create the tables of ``directory``'s migrations on this (empty) database, at once.

        Migrations run before the system starts, so they bypass faults and WAL lag.
        """
        await anyio.lowlevel.checkpoint()
        if self.schema.tables:
            raise DatabaseError(f"apply_migrations needs an empty database; it already has "
                                f"{', '.join(sorted(self.schema.tables))}")
        self.schema = load_schema(directory)
        self._version += 1
        self._sync_tables()

    # --- the Database port --------------------------------------------------------------------

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[SimConnection]:
        await anyio.lowlevel.checkpoint()
        connection = SimConnection(self)
        try:
            yield connection
        finally:
            connection.released = True

    def add_observer(self, observer: StatementObserver) -> None:
        self._observers.append(observer)

    # --- oracle and test helpers --------------------------------------------------------------

    def table_rows(self, name: str) -> list[dict[str, Any]]:
        """Rows visible now, in designated-timestamp order (WAL changes due by now applied).

        Outside a running event loop nothing new is applied: call ``await wait_for_wal()``
        at the end of a run to see every acknowledged write.
        """
        try:
            self._apply_due(self._clock())
        except RuntimeError:  # no event loop (sniffio's AsyncLibraryNotFoundError)
            pass
        return self._existing_store(name).dicts()

    async def wait_for_wal(self) -> None:
        """Sleep (virtual time) until every acknowledged write is visible, except on suspended
        tables, which never catch up by themselves (see :meth:`suspended_tables`)."""
        while True:
            now = self._clock()
            self._apply_due(now)
            due = [queue[0][0] for name, queue in self._pending.items()
                   if queue and not self._is_suspended(name)]
            if not due:
                return
            await anyio.sleep(max(min(due) - now, 0.0))

    def suspended_tables(self) -> dict[str, SuspendedTable]:
        """Tables whose WAL stopped applying: the error and the acknowledged transactions waiting."""
        return {name: SuspendedTable(store.suspended, store.writer_txn, store.sequencer_txn)
                for name, store in sorted(self._stores.items()) if store.suspended is not None}

    def load_rows(self, table: str, rows: Iterable[Sequence[Any] | Mapping[str, Any]]) -> int:
        """Bulk-load rows (mappings by column name, or sequences in column order) at once.

        For preparing data before a run: no await, no faults, no WAL lag, no observers, no
        log.  Values are checked exactly like statement parameters (DataError naming the
        table, the row and the column).
        """
        store = self._existing_store(table)
        rows = rows if isinstance(rows, list) else list(rows)
        with _collector_paused():
            count = self._load_whole_columns(store, rows)
            if count is None:
                count = self._load_row_by_row(table, store, rows)
        store.sequencer_txn += 1
        store.writer_txn += 1
        return count

    @staticmethod
    def _load_whole_columns(store: TableStore, rows: list[Any]) -> int | None:
        """The fast path of ``load_rows``: sequences of the right width whose every column the
        encoders would pass unchanged are checked a column at a time and handed to the store
        in one piece.  None: not such rows; the row-by-row path decides (and names errors)."""
        width = len(store.columns)
        if not rows or not set(map(type, rows)) <= {list, tuple} or set(map(len, rows)) != {width}:
            return None
        columns = list(zip(*rows, strict=True))
        if not all(passes_unchanged(kind, column) for kind, column in zip(store.types, columns, strict=True)):
            return None
        if store.ts_position is not None and None in columns[store.ts_position]:
            return None
        store.load(list(map(list, rows)))
        return len(rows)

    @staticmethod
    def _load_row_by_row(table: str, store: TableStore, rows: list[Any]) -> int:
        encoders = [encoder_for(kind) for kind in store.types]
        columns = store.columns
        known = set(columns)
        ts_at = store.ts_position
        insert = store.insert
        count = 0
        for number, row in enumerate(rows):
            if isinstance(row, Mapping):
                if row.keys() - known:
                    raise DataError(f"load_rows({table!r}) row {number}: expected the columns "
                                    f"{', '.join(columns)}, got {row!r}")
                row = [row.get(column) for column in columns]
            try:
                values = [None if value is None else encode(value)
                          for encode, value in zip(encoders, row, strict=True)]
            except (TypeError, ValueError):
                raise _load_error(table, number, columns, encoders, row) from None
            if ts_at is not None and values[ts_at] is None:
                raise DataError(f"load_rows({table!r}) row {number}: designated timestamp column cannot be NULL")
            insert(values)
            count += 1
        return count

    # --- Catalog (for plans) ------------------------------------------------------------------

    def table(self, name: str) -> Table | None:
        return self.schema.tables.get(name)

    def store(self, name: str) -> TableStore | None:
        return self._stores.get(name)

    def stores(self) -> list[TableStore]:
        return [self._stores[name] for name in sorted(self._stores)]

    # --- statements ---------------------------------------------------------------------------

    async def run_statement(self, query: str, args: tuple[Any, ...], pending: list[tuple[str, WriteOp]] | None
                            ) -> tuple[str, list[SimRecord]]:
        """One statement: await point, latency, injected fault, then the work itself."""
        return await self._observed(query, [args], self._timed(query, lambda: self._execute(query, args, pending)))

    async def run_many(self, query: str, rows: list[tuple[Any, ...]],
                       pending: list[tuple[str, WriteOp]] | None) -> None:
        """``executemany``: all rows checked before any is applied (asyncpg's is atomic)."""
        await self._observed(query, rows, self._timed(query, lambda: self._execute_many(query, rows, pending)))

    async def _timed(self, query: str, work: Callable[[], Any]) -> Any:
        await anyio.lowlevel.checkpoint()
        delay = self._injector.latency()
        if delay > 0:
            await anyio.sleep(delay)
        self._apply_due(self._clock())
        if self._injector.fails():
            raise TransientDatabaseError(f"injected fault (fault plan {self.faults.name!r}, site 'db'): "
                                         f"connection reset by peer during {query!r}")
        result = work()
        if self._injector.loses_ack():
            raise TransientDatabaseError(f"injected fault (fault plan {self.faults.name!r}, site 'db'): "
                                         f"connection reset by peer after {query!r} took effect")
        return result

    async def _observed(self, query: str, rows: list[tuple[Any, ...]], work: Awaitable[Any]) -> Any:
        error: BaseException | None = None
        try:
            return await work
        except BaseException as caught:
            error = caught
            raise
        finally:
            # a statement cancelled in flight (its task was cancelled, or its process died) never
            # reached the server: it is logged, and no observer judges it as a statement that ran
            ran = not isinstance(error, anyio.get_cancelled_exc_class())
            for args in rows:
                for observer in self._observers if ran else ():
                    observer.on_statement(query, args, error)
                if self._log_statements:
                    self.statement_log.append(LoggedStatement(
                        query, args, None if error is None else f"{type(error).__name__}: {error}"))

    def _execute(self, query: str, args: tuple[Any, ...], pending: list[tuple[str, WriteOp]] | None
                 ) -> tuple[str, list[SimRecord]]:
        control = _WAL_CONTROL.match(query)
        if control is not None:
            return self._wal_control(control["table"].strip('"'), control["verb"].upper(), control["txn"]), []
        if self._is_ddl(query):
            return self._ddl(query), []
        plan = self._plan(query)
        encoded = encode_args(plan.encoders, args)
        if isinstance(plan, SelectPlan):
            records = plan.run(self, encoded)
            return f"SELECT {len(records)}", records
        op, tag = self._write_op(plan, encoded)
        if tag is not None:
            self._write(plan.table, op, pending)
            return tag, []
        if self._stores[plan.table].wal:
            # questdb-facts.md: on a WAL table the UPDATE tag is not a row count; QuestDB
            # reports the table's transaction number, and so does this simulator.
            return f"UPDATE {self._write(plan.table, op, pending)}", []
        counts: list[int] = []
        self._write(plan.table, lambda store: counts.append(op(store)), pending)  # type: ignore[func-returns-value]
        return f"{plan.tag} {counts[0] if counts else 0}", []

    def _execute_many(self, query: str, rows: list[tuple[Any, ...]],
                      pending: list[tuple[str, WriteOp]] | None) -> None:
        plan = self._plan(query)
        if isinstance(plan, SelectPlan):
            for args in rows:
                plan.run(self, encode_args(plan.encoders, args))
            return
        ops = [self._write_op(plan, encode_args(plan.encoders, args, row=number))[0]
               for number, args in enumerate(rows)]
        for op in ops:
            self._write(plan.table, op, pending)

    def _write_op(self, plan: InsertPlan | UpdatePlan, args: list[Any]) -> tuple[WriteOp, str | None]:
        """The change to apply and its status tag (None: the UPDATE tag is decided by ``_execute``)."""
        if isinstance(plan, InsertPlan):
            rows = plan.rows(args)
            return (lambda store: store.bulk_insert(rows)), f"INSERT 0 {len(rows)}"
        return (lambda store: plan.apply(store, args)), None

    def _write(self, name: str, op: WriteOp, pending: list[tuple[str, WriteOp]] | None) -> int:
        """Submit a change (or buffer it in the open transaction); returns its transaction number."""
        store = self._stores[name]
        if pending is not None:
            pending.append((name, op))
            return store.sequencer_txn + 1
        return self.submit(name, op)

    def submit(self, name: str, op: WriteOp) -> int:
        store = self._stores.get(name)
        if store is None:
            raise QueryError(f"table does not exist [table={name}]")
        store.sequencer_txn += 1
        txn = store.sequencer_txn
        queue = self._pending.setdefault(name, deque())
        failures = self._injector.suspends() if store.wal else 0
        if failures:
            op = _FailsWhenApplied(op, failures, f"inconvertible value at WAL apply of {name} transaction {txn} "
                                                 f"(injected fault: fault plan {self.faults.name!r}, site 'db')")
        lag = self._injector.lag() if store.wal else 0.0
        if lag > 0 or queue or store.suspended is not None or isinstance(op, _FailsWhenApplied):
            due = self._clock() + lag
            queue.append((max(due, queue[-1][0]) if queue else due, txn, op))
            if lag == 0:
                self._apply_due(self._clock())
        else:
            store.writer_txn += 1
            try:
                op(store)
            except (TypeError, ArithmeticError) as error:  # e.g. SET price = price + 'x'
                raise QueryError(f"cannot apply the change to {name}: {error}") from error
        return txn

    def _apply_due(self, now: float) -> None:
        for name, queue in self._pending.items():
            store = self._stores.get(name)
            while queue and queue[0][0] <= now:
                if store is None:
                    queue.popleft()
                    continue
                if store.suspended is not None:
                    break
                _, txn, op = queue[0]
                try:
                    op(store)
                except Exception as error:  # must not surface in someone else's statement: it suspends
                    store.suspended = f"{type(error).__name__}: {error} [txn={txn}]"
                    self.wal_failures.append((name, error))
                    break
                queue.popleft()
                store.writer_txn = txn

    def _is_suspended(self, name: str) -> bool:
        store = self._stores.get(name)
        return store is not None and store.suspended is not None

    def _wal_control(self, name: str, verb: str, from_txn: str | None) -> str:
        """``ALTER TABLE t RESUME WAL [FROM TXN n]`` and ``ALTER TABLE t SUSPEND WAL``."""
        store = self._stores.get(name)
        if store is None:
            raise QueryError(f"table does not exist [table={name}]")
        if not store.wal:
            raise QueryError(f"{name} is not a WAL table; RESUME/SUSPEND WAL need a WAL table")
        if verb == "SUSPEND":
            store.suspended = store.suspended or "suspended by ALTER TABLE SUSPEND WAL"
            return "ALTER TABLE"
        queue = self._pending.get(name, deque())
        if from_txn is not None:
            target = int(from_txn)
            if not store.writer_txn < target <= store.sequencer_txn + 1:
                raise QueryError(f"RESUME WAL FROM TXN {target}: expected a transaction in "
                                 f"{store.writer_txn + 1}..{store.sequencer_txn + 1} for {name}")
            while queue and queue[0][1] < target:
                queue.popleft()
            store.writer_txn = target - 1
        store.suspended = None
        self._apply_due(self._clock())
        return "ALTER TABLE"

    def _plan(self, query: str) -> Plan:
        cached = self._plans.get(query)
        if cached is not None and cached[0] == self._version:
            return cached[1]
        plan = self.compile_plan(query, self)
        self._plans[query] = (self._version, plan)
        return plan

    # --- DDL ----------------------------------------------------------------------------------

    def _is_ddl(self, query: str) -> bool:
        words = query.lstrip().split(None, 1)
        return bool(words) and words[0].upper() in self.ddl_keywords

    def _ddl(self, query: str) -> str:
        try:
            kinds = apply_ddl(self.schema, query, source="<statement>")
        except MigrationError as error:
            raise QueryError(f"{error.expected} expected, {error.seen} seen", query=query,
                             position=offset_of(query, error.line, 1)) from error
        finally:
            self._version += 1
            self._sync_tables()
        last = kinds[-1] if kinds else "ALTER TABLE"
        return last if last in ("CREATE TABLE", "DROP TABLE") else "ALTER TABLE"

    def _sync_tables(self) -> None:
        """Bring the stores in line with the schema: CREATE and DROP at once, ALTER via the WAL."""
        for name in [name for name in self._stores if self.schema.tables.get(name) is not self._origins[name]]:
            del self._stores[name], self._origins[name]
            self._pending.pop(name, None)
        for name, table in self.schema.tables.items():
            store = self._stores.get(name)
            if store is None:
                self._stores[name] = TableStore(table)
                self._origins[name] = table
            elif _layout_of(store.table) != _layout_of(table):
                frozen = copy.deepcopy(table)
                self.submit(name, lambda target, frozen=frozen: self._resync(target, frozen))

    def _resync(self, store: TableStore, table: Table) -> None:
        store.sync(table)
        self._version += 1

    def _existing_store(self, name: str) -> TableStore:
        store = self._stores.get(name)
        if store is None:
            raise KeyError(f"no table {name!r} in the simulated QuestDB; tables: {', '.join(sorted(self._stores))}")
        return store


class SimConnection:
    """One pooled connection: asyncpg's query methods, every one an await point."""

    def __init__(self, db: SimQuestDB) -> None:
        self._db = db
        self._pending: list[tuple[str, WriteOp]] | None = None
        self.released = False

    def _check(self) -> None:
        if self.released:
            raise DatabaseError("connection used after it was released to the pool")

    async def execute(self, query: str, *args: Any) -> str:
        self._check()
        tag, _ = await self._db.run_statement(query, args, self._pending)
        return tag

    async def executemany(self, query: str, args: Iterable[Sequence[Any]]) -> None:
        self._check()
        await self._db.run_many(query, [tuple(row) for row in args], self._pending)

    async def fetch(self, query: str, *args: Any) -> list[SimRecord]:
        self._check()
        _, records = await self._db.run_statement(query, args, self._pending)
        return records

    async def fetchrow(self, query: str, *args: Any) -> SimRecord | None:
        records = await self.fetch(query, *args)
        return records[0] if records else None

    async def fetchval(self, query: str, *args: Any, column: int = 0) -> Any:
        record = await self.fetchrow(query, *args)
        return None if record is None else record[column]

    def transaction(self) -> SimTransaction:
        return SimTransaction(self)

    def get_server_version(self) -> ServerVersion:
        return SERVER_VERSION


class SimTransaction:
    """Writes inside are buffered and submitted together at commit, dropped on rollback.

    Reads inside the transaction do not see its own uncommitted writes (QuestDB does not
    expose uncommitted WAL data either).  Nesting is refused rather than faked.
    """

    def __init__(self, connection: SimConnection) -> None:
        self._connection = connection

    async def __aenter__(self) -> SimTransaction:
        if self._connection._pending is not None:
            raise DatabaseError("nested transactions are not supported by the simulated QuestDB")
        await anyio.lowlevel.checkpoint()
        self._connection._pending = []
        return self

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> bool:
        pending, self._connection._pending = self._connection._pending or [], None
        await anyio.lowlevel.checkpoint()
        if exc_type is None:
            for name, op in pending:
                self._connection._db.submit(name, op)
        return False


def _layout_of(table: Table) -> tuple[Any, ...]:
    return (tuple(table.columns.values()), table.designated_timestamp, table.dedup_keys)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector around a bulk load.

    A day of market data is a quarter of a million new row lists, none of them in a cycle;
    each 700 allocations would start a young collection that walks them again, and the
    survivors soon trigger full collections over everything alive (a bulk load ran 3-5x
    slower with the collector on than off).  Reference counting still frees as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load_error(table: str, number: int, columns: list[str], encoders: list[Callable[[Any], Any]],
                row: Sequence[Any]) -> DataError:
    """The DataError for a ``load_rows`` row of the wrong length or with a value that does not encode."""
    if len(row) != len(columns):
        return DataError(f"load_rows({table!r}) row {number}: expected the columns {', '.join(columns)}, "
                         f"got {row!r}")
    for column, encode, value in zip(columns, encoders, row, strict=True):
        try:
            if value is not None:
                encode(value)
        except (TypeError, ValueError) as error:
            return DataError(f"load_rows({table!r}) row {number} column {column!r}: {value!r} ({error})")
    raise AssertionError("called for a row that encodes")
