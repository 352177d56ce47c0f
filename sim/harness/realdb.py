"""The real-database tier: migrate a real server, replay statements on it, compare its schema,
and run a whole session against it (``simwire run --db DSN``).

Everything here speaks the system's ``Database`` port, so the same functions run on the
simulated QuestDB and on :class:`~system.adapters.asyncpg_database.AsyncpgDatabase` over a real
PostgreSQL or QuestDB: that is what lets ``tests/real`` replay one statement log on both and
compare the answers.  ``docs/real-database.md`` describes the tier and every known
QuestDB/PostgreSQL difference.

A session on a real server is **not deterministic**: the stock asyncio loop, the wall clock,
uuid ids and an unseeded random generator, as in production.  Only backtests are offered:
paper and live sessions replay their feed in real time.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlglot.tokens import Tokenizer, TokenType

from contracts.migrations import load_schema
from contracts.postgres_ddl import postgres_type, render_schema
from contracts.rules import violation
from contracts.schema import Schema
from sim.harness.trading_target import TRADING_TABLES, migrations_dir
from simwire.violation import Violation
from system.adapters.asyncpg_database import DatabaseSettings
from system.ports import Database, DatabaseError

INSERT_MARKET_DATA = (
    "INSERT INTO market_data (symbol, timestamp, price, volume, quote_volume) VALUES ($1, $2, $3, $4, $5)"
)
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
LOAD_CHUNK = 5_000
"""Rows per ``executemany`` when loading market data (one round trip each)."""


class RealDatabaseError(Exception):
    """The real server is not in a state the tier can work with (e.g. half-migrated)."""


def dialect_of(db: Any) -> str:
    """``questdb`` for the simulator and a real QuestDB, ``postgresql`` for PostgreSQL."""
    return getattr(db, "dialect", "questdb")


# --- migrations ----------------------------------------------------------------------------------


async def existing_tables(db: Database) -> set[str]:
    """Names (lower case) of the tables the server has, in the current schema on PostgreSQL."""
    if dialect_of(db) == "postgresql":
        query = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
    else:
        query = "SELECT table_name FROM tables()"
    async with db.acquire() as connection:
        return {str(row[0]).lower() for row in await connection.fetch(query)}


async def migrate(db: Database, directory: Path | str | None = None) -> list[str]:
    """Create the migrations' tables when none exists; returns the tables created ([] if all exist).

    QuestDB runs the migration files themselves, in order; PostgreSQL runs the DDL that
    :func:`contracts.postgres_ddl.render_schema` renders from their end state.  Some tables
    present and others missing is a :class:`RealDatabaseError`: the server was migrated by
    something else, and guessing would hide it.
    """
    directory = Path(directory) if directory is not None else migrations_dir()
    schema = load_schema(directory)
    wanted = sorted(schema.tables)
    present = await existing_tables(db)
    missing = [name for name in wanted if name not in present]
    if not missing:
        return []
    if len(missing) != len(wanted):
        raise RealDatabaseError(f"the database has some of the tables ({', '.join(n for n in wanted if n in present)}) "
                                f"but not {', '.join(missing)}: migrate it by hand or use an empty database")
    async with db.acquire() as connection:
        if dialect_of(db) == "postgresql":
            await connection.execute(render_schema(schema))
        else:
            for path in sorted(directory.glob("*.sql")):
                for statement in split_statements(path.read_text(encoding="utf-8")):
                    await connection.execute(statement)
    wait = getattr(db, "wait_for_wal", None)
    if wait is not None:
        await wait()
    return missing


def split_statements(script: str) -> list[str]:
    """The statements of a migration file, split on ``;`` tokens (never inside strings or comments)."""
    statements, start = [], 0
    for token in Tokenizer().tokenize(script):
        if token.token_type == TokenType.SEMICOLON:
            statements.append(script[start:token.start])
            start = token.end + 1
    statements.append(script[start:])
    return [code for code in map(_without_leading_comments, statements) if code]


def _without_leading_comments(text: str) -> str:
    """The statement from its first line of code (a DDL statement is known by its first word)."""
    lines = text.strip().splitlines()
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith("--")):
        lines.pop(0)
    return "\n".join(lines).strip()


# --- live schema -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveColumn:
    """One column as the server reports it.  ``type``: PostgreSQL's spelling or QuestDB's."""

    name: str
    type: str
    nullable: bool = True
    designated: bool = False
    upsert_key: bool = False


@dataclass
class LiveTable:
    name: str
    columns: dict[str, LiveColumn]
    dedup_trigger: bool = False
    """PostgreSQL only: the last-write-wins trigger that stands for DEDUP UPSERT KEYS is there."""


async def live_schema(db: Database) -> dict[str, LiveTable]:
    """The tables as the server describes them: ``information_schema`` on PostgreSQL,
    ``tables()`` and ``table_columns()`` on QuestDB (which report designated and upsert keys)."""
    tables: dict[str, LiveTable] = {}
    async with db.acquire() as connection:
        if dialect_of(db) == "postgresql":
            for row in await connection.fetch(
                    "SELECT table_name, column_name, data_type, is_nullable, datetime_precision"
                    " FROM information_schema.columns WHERE table_schema = current_schema()"
                    " ORDER BY table_name, ordinal_position"):
                kind = row["data_type"]
                if kind.startswith("timestamp") and row["datetime_precision"] not in (None, 6):
                    kind = kind.replace("timestamp", f"timestamp({row['datetime_precision']})", 1)
                table = tables.setdefault(row["table_name"], LiveTable(row["table_name"], {}))
                table.columns[row["column_name"]] = LiveColumn(row["column_name"], kind, row["is_nullable"] == "YES")
            for row in await connection.fetch(
                    "SELECT event_object_table, trigger_name FROM information_schema.triggers"
                    " WHERE trigger_schema = current_schema()"):
                if row["event_object_table"] in tables and row["trigger_name"].endswith("_dedup_upsert"):
                    tables[row["event_object_table"]].dedup_trigger = True
            return tables
        for (name,) in await connection.fetch("SELECT table_name FROM tables()"):
            if not _NAME.match(str(name).lower()):
                raise RealDatabaseError(f"unexpected table name {name!r} from tables()")
            # table_columns() takes a literal; the name was just checked to be a plain identifier.
            rows = await connection.fetch(f"SELECT * FROM table_columns('{name}')")
            tables[str(name).lower()] = LiveTable(str(name).lower(), {
                str(r["column"]).lower(): LiveColumn(str(r["column"]).lower(), str(r["type"]).upper(),
                                                     not r["designated"], bool(r["designated"]), bool(r["upsertKey"]))
                for r in rows})
    return tables


def compare_schema(model: Schema, live: dict[str, LiveTable], *, dialect: str, where: str = "") -> list[Violation]:
    """Every way the server's tables differ from the migrations' model, as violations.

    Tables the model does not know are ignored (a server may hold other applications' data).
    """
    found: list[Violation] = []
    for name in sorted(model.tables):
        table = model.tables[name]
        location = f"{where} table {name}".strip()
        server = live.get(name)
        if server is None:
            found.append(violation("schema.live-table-missing", f"table {name} is not on the server",
                                   location=location, expected=f"table {name} ({table.source})", seen="no such table"))
            continue
        for column in table.columns.values():
            seen = server.columns.get(column.name)
            expected_type = postgres_type(name, column) if dialect == "postgresql" else column.type
            if seen is None:
                found.append(violation("schema.live-column-missing",
                                       f"column {name}.{column.name} is not on the server", location=location,
                                       expected=f"{column.name} {expected_type}", seen="no such column"))
            elif seen.type != expected_type:
                found.append(violation("schema.live-column-type", f"column {name}.{column.name} has another type",
                                       location=location, expected=expected_type, seen=seen.type))
        for extra in server.columns:
            if extra not in table.columns:
                found.append(violation("schema.live-column-unexpected",
                                       f"column {name}.{extra} is on the server but not in the migrations",
                                       location=location, expected="only the migrations' columns",
                                       seen=f"{extra} {server.columns[extra].type}"))
        found += _compare_semantics(table, server, dialect=dialect, location=location)
    return found


def _compare_semantics(table: Any, server: LiveTable, *, dialect: str, location: str) -> list[Violation]:
    """Designated timestamp and dedup keys, as far as the server can tell them."""
    expected = {"designated": table.designated_timestamp, "dedup keys": sorted(table.dedup_keys)}
    if dialect == "postgresql":
        not_null = sorted(c.name for c in server.columns.values() if not c.nullable)
        seen = {"designated": not_null[0] if len(not_null) == 1 else (not_null or None),
                "dedup keys": sorted(table.dedup_keys) if server.dedup_trigger else []}
    else:
        designated = [c.name for c in server.columns.values() if c.designated]
        seen = {"designated": designated[0] if designated else None,
                "dedup keys": sorted(c.name for c in server.columns.values() if c.upsert_key)}
    if seen == expected:
        return []
    return [violation("schema.live-semantics", f"table {table.name}: designated timestamp or dedup keys differ",
                      location=location, expected=str(expected), seen=str(seen))]


# --- replaying statements ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one statement did: its error class (None when accepted) and, for a query, its rows."""

    error: str | None
    message: str = ""
    rows: tuple[tuple[Any, ...], ...] | None = None


async def replay(db: Database, statements: Iterable[tuple[str, Sequence[Any]]]) -> list[Outcome]:
    """Run each ``(query, args)`` on its own (as the system does: no transactions) and record it.

    Before a SELECT the WAL is let catch up (``wait_for_wal``, where the database has one), so
    a real QuestDB answers with every write before it, as the simulator without lag does.
    Only the port's errors are outcomes; anything else is a bug of the tier and propagates.
    """
    outcomes = []
    settle = getattr(db, "wait_for_wal", None)
    async with db.acquire() as connection:
        for query, args in statements:
            try:
                if query.lstrip()[:6].upper() == "SELECT":
                    if settle is not None:
                        await settle()
                    records = await connection.fetch(query, *args)
                    outcomes.append(Outcome(None, rows=tuple(tuple(record) for record in records)))
                else:
                    await connection.execute(query, *args)
                    outcomes.append(Outcome(None))
            except DatabaseError as error:
                outcomes.append(Outcome(type(error).__name__, str(error)))
    return outcomes


async def table_contents(db: Database, tables: Iterable[str] = TRADING_TABLES) -> dict[str, list[dict[str, Any]]]:
    """Each table's rows as dicts, in a canonical order (row order is not part of the contract)."""
    contents = {}
    settle = getattr(db, "wait_for_wal", None)
    if settle is not None:
        await settle()
    async with db.acquire() as connection:
        for name in tables:
            if not _NAME.match(name):
                raise ValueError(f"not a table name: {name!r}")
            rows = [dict(record.items()) for record in await connection.fetch(f"SELECT * FROM {name}")]
            contents[name] = sorted(rows, key=_row_key)
    return contents


def _row_key(row: dict[str, Any]) -> tuple[tuple[bool, str], ...]:
    return tuple((value is None, repr(value)) for value in row.values())


async def load_ticks(db: Database, ticks: Iterable[Any]) -> int:
    """Write market data through the port (naive UTC timestamps); dedup makes reloading harmless."""
    rows = [(t.symbol, naive_utc(t.timestamp), t.price, t.volume, t.quote_volume) for t in ticks]
    async with db.acquire() as connection:
        for at in range(0, len(rows), LOAD_CHUNK):
            await connection.executemany(INSERT_MARKET_DATA, rows[at:at + LOAD_CHUNK])
    return len(rows)


def naive_utc(moment: datetime) -> datetime:
    """What a TIMESTAMP parameter must be on both servers (an aware datetime is refused)."""
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


# --- a session on a real server ----------------------------------------------------------------------
#
# Driven by the one session driver (``sim.harness.session``) in a ``sim.harness.worlds.RealWorld``: only the
# ports differ from a simulated run, and the result is the same ``ScenarioResult``.


def redact(dsn: str) -> str:
    """The DSN without its password, for printing."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def run_on_database(settings: DatabaseSettings, spec: Any) -> Any:
    """One session of ``spec`` (a ``ScenarioSpec``) on the server of ``settings``, on the stock
    asyncio loop; a ``ScenarioResult`` judged like a simulated run (plus the live schema check).
    A spec the target cannot run on a real server is a ``SpecError`` before anything connects."""
    import anyio

    from sim.harness.session import SessionDriver
    from sim.harness.worlds import RealWorld

    driver = SessionDriver(spec, RealWorld(settings))
    started = time.perf_counter()
    error: BaseException | None = None
    try:
        anyio.run(driver.main, backend="asyncio")
    except (DatabaseError, RealDatabaseError, OSError):
        raise  # the server is unreachable or refused the migrations: not a finding about the system
    except Exception as raised:
        error = raised
    return driver.result(error=error, wall_seconds=time.perf_counter() - started)


def print_real_run(result: Any) -> None:
    from sim.cli.report import console, print_violations

    console.print("REAL DATABASE RUN - not deterministic (stock asyncio, wall clock, uuid ids); "
                  "nothing here can be replayed by seed", style="bold yellow", markup=False)
    world, summary = result.world, result.summary
    console.print(f"server: {world['server']} ({world['dialect']}) at {world['dsn']}", markup=False)
    if world["created_tables"]:
        console.print(f"migrated: created {', '.join(world['created_tables'])}", markup=False)
    states = ", ".join(f"session {s['session_id']}: {s['state']}" for s in summary.get("sessions", []))
    console.print(f"{states or 'no session'}; ticks {summary['ticks']:,}, "
                  f"signals {summary['signals']:,}, orders {summary['orders']:,}, fills {summary['fills']:,}; "
                  f"rows {summary['rows']}; {summary['wall_seconds']:.2f} s wall", markup=False)
    if result.violations:
        console.print(f"\n{len(result.violations)} violation(s):\n", style="bold red")
        print_violations(result.violations)
    else:
        console.print("clean: no violations", style="bold green")



def main_db(dsn: str, spec: Any, *, as_json: bool = False) -> int:
    """``simwire run --db DSN``: 0 clean, 1 violations or an unreachable server, 2 usage errors."""
    import json
    import sys

    print(f"simwire run --db {redact(dsn)}: REAL DATABASE, NOT DETERMINISTIC (stock asyncio, wall clock)",
          file=sys.stderr)
    from sim.harness.trading_target import TRADING

    try:
        settings = DatabaseSettings.from_env(dsn=dsn)
        TRADING.check(spec, simulated=False)
    except ValueError as error:  # ConfigError and SpecError included
        print(f"simwire run --db: {error}", file=sys.stderr)
        return 2
    try:
        result = run_on_database(settings, spec)
    except (DatabaseError, RealDatabaseError) as error:
        print(f"simwire run --db: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps(result.to_json(), indent=2, sort_keys=True, default=str))
    else:
        print_real_run(result)
    return 0 if result.clean else 1
