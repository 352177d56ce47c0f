"""AsyncpgDatabase: the Database port over an asyncpg pool (QuestDB's PG wire in production).

Besides delegation it does three things, each for a fact of ``questdb-facts.md``:

- **Errors** become the port's taxonomy, so the rest of the system can tell what to retry
  (``TransientDatabaseError``: the connection or the server went away or is overloaded) from
  what is a bug (``QueryError``: the server rejected the statement - QuestDB reports
  everything with sqlstate ``00000``, so only the message tells; ``DataError``: a parameter
  asyncpg could not encode for its column, e.g. an aware datetime for a TIMESTAMP).
  :func:`is_missing_table` reads the message of both servers.
- **WAL visibility**: QuestDB acknowledges a write before it is visible.
  :meth:`AsyncpgDatabase.wait_for_wal` polls ``wal_tables()`` until every table has applied
  what it acknowledged; call it before reading back what was just written.
- **Dialect**: the system's SQL is QuestDB's.  Against PostgreSQL (the real-server tier of
  the verification, ``docs/real-database.md``) :func:`postgres_sql` rewrites, with sqlglot,
  the four constructs PostgreSQL reads differently (``count()``, ``LIMIT lo, hi``, NULL
  equality, NULL ordering).  Against QuestDB every statement goes unchanged.

TIMESTAMP values are naive UTC datetimes in both directions (the column is ``timestamp
without time zone`` on both servers); the adapter converts nothing, so an aware datetime is
refused here exactly as the simulator refuses it.

Settings come from :class:`DatabaseSettings` (``SIMWIRE_DB_DSN`` and friends).  asyncpg is
imported lazily: it is an optional dependency (extra ``real``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import anyio
import sqlglot
from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.tokens import TokenType

from system.errors import ConfigError
from system.ports import DatabaseError, DataError, QueryError, Record, TransientDatabaseError

QUESTDB = "questdb"
POSTGRESQL = "postgresql"
ENVIRONMENT = {"dsn": "SIMWIRE_DB_DSN", "min_size": "SIMWIRE_DB_POOL_MIN", "max_size": "SIMWIRE_DB_POOL_MAX",
               "command_timeout": "SIMWIRE_DB_COMMAND_TIMEOUT", "wal_timeout": "SIMWIRE_DB_WAL_TIMEOUT"}
"""The environment variable of each :class:`DatabaseSettings` field."""
QUESTDB_TRANSIENT = ("table busy",)
"""QuestDB reports every error with sqlstate 00000: these messages mean "try again" (another
writer holds a non-WAL table); every other 00000 error is the statement's fault."""


@dataclass(frozen=True)
class DatabaseSettings:
    """How to reach the database.  ``dsn`` e.g. ``postgresql://admin:quest@localhost:8812/qdb``.

    ``wal_timeout``: how long :meth:`AsyncpgDatabase.wait_for_wal` waits for QuestDB to apply
    its WAL (typically tens of ms; a table that takes seconds is suspended or overloaded).
    """

    dsn: str
    min_size: int = 1
    max_size: int = 10
    command_timeout: float = 30.0
    wal_timeout: float = 10.0

    def __post_init__(self) -> None:
        if not self.dsn.startswith(("postgresql://", "postgres://")):
            raise ConfigError("DatabaseSettings.dsn", f"expected postgresql://user:password@host:port/db, "
                                                      f"got {self.dsn!r}")
        if not 1 <= self.min_size <= self.max_size:
            raise ConfigError("DatabaseSettings.max_size", f"expected 1 <= min_size <= max_size, got "
                                                           f"{self.min_size} and {self.max_size}")
        for name in ("command_timeout", "wal_timeout"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"DatabaseSettings.{name}", f"expected a positive number of seconds, "
                                                               f"got {getattr(self, name)!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, **overrides: Any) -> DatabaseSettings:
        """Settings from the environment; ``overrides`` (e.g. ``dsn=`` from a CLI flag) win."""
        values: dict[str, Any] = {}
        for name, variable in ENVIRONMENT.items():
            if variable not in environ:
                continue
            text = environ[variable]
            try:
                values[name] = text if name == "dsn" else (int(text) if name.endswith("size") else float(text))
            except ValueError:
                raise ConfigError(variable, f"expected a number, got {text!r}") from None
        values.update({name: value for name, value in overrides.items() if value is not None})
        if "dsn" not in values:
            raise ConfigError(ENVIRONMENT["dsn"], "no database given: set it or pass a DSN "
                                              "(e.g. postgresql://admin:quest@localhost:8812/qdb)")
        return cls(**values)


class AsyncpgDatabase:
    """The pool.  ``dialect`` is :data:`QUESTDB` or :data:`POSTGRESQL` (see :meth:`connect`)."""

    def __init__(self, pool: Any, *, dialect: str = QUESTDB, wal_timeout: float = 10.0) -> None:
        if dialect not in (QUESTDB, POSTGRESQL):
            raise ConfigError("AsyncpgDatabase.dialect", f"expected {QUESTDB!r} or {POSTGRESQL!r}, got {dialect!r}")
        self._pool = pool
        self.dialect = dialect
        self._wal_timeout = wal_timeout

    @classmethod
    async def connect(cls, settings: DatabaseSettings | str) -> AsyncpgDatabase:
        """Open a pool and ask the server what it is (``version()`` names QuestDB)."""
        import asyncpg

        if isinstance(settings, str):
            settings = DatabaseSettings(settings)
        with translated_errors("connect"):
            pool = await asyncpg.create_pool(settings.dsn, min_size=settings.min_size, max_size=settings.max_size,
                                             command_timeout=settings.command_timeout)
        try:
            with translated_errors("SELECT version()"):
                version = await pool.fetchval("SELECT version()")
        except BaseException:
            await pool.close()
            raise
        dialect = QUESTDB if "questdb" in str(version).lower() else POSTGRESQL
        return cls(pool, dialect=dialect, wal_timeout=settings.wal_timeout)

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[AsyncpgConnection]:
        with translated_errors("acquire"):
            async with self._pool.acquire() as connection:
                yield AsyncpgConnection(connection, self.dialect)

    async def wait_for_wal(self, *, poll: float = 0.01) -> None:
        """Return once every QuestDB WAL table shows what it acknowledged (a no-op on PostgreSQL).

        QuestDB applies WAL writes asynchronously: a SELECT straight after an UPDATE can still
        see the old row.  Raises ``QueryError`` for a suspended table (it will never catch up)
        and ``TransientDatabaseError`` after ``wal_timeout`` seconds.
        """
        if self.dialect != QUESTDB:
            return
        query = "SELECT name, suspended, writerTxn, sequencerTxn FROM wal_tables()"
        with anyio.move_on_after(self._wal_timeout):
            while True:
                async with self.acquire() as connection:
                    rows = await connection.fetch(query)
                suspended = sorted(row["name"] for row in rows if row["suspended"])
                if suspended:
                    raise QueryError(f"WAL tables suspended: {', '.join(suspended)}", query=query)
                if all(row["writerTxn"] >= row["sequencerTxn"] for row in rows):
                    return
                await anyio.sleep(poll)
        raise TransientDatabaseError(f"the WAL did not catch up within {self._wal_timeout} s ({query!r})")

    async def close(self) -> None:
        await self._pool.close()


class AsyncpgConnection:
    """One pooled connection.  Each method passes the statement on under its own name, rewritten
    for PostgreSQL first (``simwire check`` follows a statement parameter only by its name)."""

    def __init__(self, connection: Any, dialect: str = QUESTDB) -> None:
        self._connection = connection
        self._rewrite = postgres_sql if dialect == POSTGRESQL else _unchanged

    async def execute(self, query: str, *args: Any) -> str:
        with translated_errors(query):
            query = self._rewrite(query)
            return await self._connection.execute(query, *args)

    async def executemany(self, query: str, args: Iterable[Sequence[Any]]) -> None:
        with translated_errors(query):
            query = self._rewrite(query)
            await self._connection.executemany(query, args)

    async def fetch(self, query: str, *args: Any) -> list[Record]:
        with translated_errors(query):
            query = self._rewrite(query)
            return await self._connection.fetch(query, *args)

    async def fetchrow(self, query: str, *args: Any) -> Record | None:
        with translated_errors(query):
            query = self._rewrite(query)
            return await self._connection.fetchrow(query, *args)

    async def fetchval(self, query: str, *args: Any, column: int = 0) -> Any:
        with translated_errors(query):
            query = self._rewrite(query)
            return await self._connection.fetchval(query, *args, column=column)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        with translated_errors("transaction"):
            async with self._connection.transaction():
                yield


def is_missing_table(error: DatabaseError) -> bool:
    """Whether the server said the table does not exist.

    QuestDB: ``table does not exist [table=x]`` with sqlstate 00000 (only the message tells);
    PostgreSQL: ``relation "x" does not exist`` (sqlstate 42P01).
    """
    message = str(error)
    return "table does not exist" in message or ("relation" in message and "does not exist" in message)


@contextmanager
def translated_errors(query: str) -> Iterator[None]:
    """Re-raise asyncpg's and the network's errors as the port's, the original chained."""
    import asyncpg.exceptions as pg

    try:
        yield
    except (pg.PostgresConnectionError, pg.InsufficientResourcesError, pg.OperatorInterventionError,
            ConnectionError, TimeoutError, OSError) as error:
        raise TransientDatabaseError(f"{type(error).__name__}: {error}") from error
    except (pg.DataError, ValueError) as error:  # parameter encoding (asyncpg raises both kinds)
        raise DataError(f"{error} (in {query!r})") from error
    except pg.InterfaceError as error:
        if "arguments for this query" in str(error):  # asyncpg checks the count on the client
            raise DataError(f"{error} (in {query!r})") from error
        raise QueryError(str(error), query=query) from error
    except pg.PostgresError as error:
        if getattr(error, "sqlstate", None) == "00000" and str(error).startswith(QUESTDB_TRANSIENT):
            raise TransientDatabaseError(f"QuestDB: {error}") from error
        position = getattr(error, "position", None)
        raise QueryError(str(error), query=query,
                         position=int(position) if position and str(position).isdigit() else None) from error


# --- the PostgreSQL shim --------------------------------------------------------------------------


class DollarParameters(Postgres):
    """Postgres, with ``$`` read as the parameter sigil (QuestDB has no dollar quoting); also the
    simulated QuestDB's tokenizer (``sim.world.questdb.dialect``)."""

    class Tokenizer(Postgres.Tokenizer):
        HEREDOC_STRINGS: list[str | tuple[str, str]] = []  # noqa: RUF012 (sqlglot's class-level tables)
        SINGLE_TOKENS = {**Postgres.Tokenizer.SINGLE_TOKENS, "$": TokenType.PARAMETER}  # noqa: RUF012


def _unchanged(query: str) -> str:
    return query


@lru_cache(maxsize=512)
def postgres_sql(query: str) -> str:
    """``query`` as PostgreSQL must read it to answer as QuestDB does; unchanged when nothing differs.

    Four rewrites, each for a QuestDB rule PostgreSQL does not share:

    - ``count()`` -> ``count(*)`` (PostgreSQL wants the star);
    - ``LIMIT lo, hi`` (rows lo+1..hi) -> ``LIMIT hi - lo OFFSET lo``: sqlglot reads the comma
      form as MySQL's ``LIMIT offset, count``, keeping ``lo`` as the offset and ``hi`` as the
      limit, so only the limit changes (both cast: PostgreSQL cannot type ``$5 - $4``);
    - ``a = b`` -> ``a IS NOT DISTINCT FROM b`` and ``<>`` likewise: in QuestDB NULL equals
      NULL, so ``WHERE order_id = $1`` with NULL finds the rows whose id is NULL;
    - ``ORDER BY`` puts NULL first when ascending, last when descending (QuestDB's NULL is the
      smallest value; PostgreSQL's is the largest).

    A statement sqlglot cannot parse goes unchanged, for the server to reject.
    """
    if query.lstrip()[:6].upper() not in ("SELECT", "UPDATE", "INSERT"):
        return query  # DDL and the rest: nothing to rewrite
    dialect = DollarParameters()
    try:
        tree = sqlglot.parse_one(query, dialect=dialect)
    except sqlglot.errors.SqlglotError:
        return query
    before = tree.sql(dialect="postgres")
    for count in tree.find_all(exp.Count):
        if count.this is None:
            count.set("this", exp.Star())
    for node in list(tree.find_all(exp.EQ, exp.NEQ)):
        if isinstance(node.parent, exp.Update) and node.arg_key == "expressions":
            continue  # SET col = value
        null_safe = exp.NullSafeEQ if isinstance(node, exp.EQ) else exp.NullSafeNEQ
        node.replace(null_safe(this=node.this, expression=node.expression))
    for ordered in tree.find_all(exp.Ordered):
        ordered.set("nulls_first", not ordered.args.get("desc"))
    if not any(token.token_type == TokenType.OFFSET for token in dialect.tokenize(query)):
        for select in tree.find_all(exp.Select):
            limit, offset = select.args.get("limit"), select.args.get("offset")
            if limit is None or offset is None:
                continue
            lo = exp.cast(offset.expression.copy(), "BIGINT")
            hi = exp.cast(limit.expression.copy(), "BIGINT")
            limit.set("expression", exp.Greatest(this=exp.Sub(this=hi, expression=lo.copy()),
                                                 expressions=[exp.Literal.number(0)]))
            offset.set("expression", lo)
    rewritten = tree.sql(dialect="postgres")
    return query if rewritten == before else rewritten
