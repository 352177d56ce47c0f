"""AsyncpgDatabase: the Database port over an asyncpg pool (QuestDB's PG wire in production).

Its one job besides delegation is to translate driver errors into the port's taxonomy, so the
rest of the system can tell what to retry (``TransientDatabaseError``: the connection or the
server went away or is overloaded) from what is a bug (``QueryError``: QuestDB rejected the
statement - it reports everything with sqlstate ``00000``, so only the message tells;
``DataError``: a parameter asyncpg could not encode for its column, e.g. an aware datetime
for a TIMESTAMP).  asyncpg is imported lazily: it is an optional dependency (extra ``real``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from system.ports import DataError, QueryError, Record, TransientDatabaseError


class AsyncpgDatabase:
    def __init__(self, pool: Any) -> None:
        self._pool = pool

    @classmethod
    async def connect(cls, dsn: str, **pool_options: Any) -> AsyncpgDatabase:
        """Open a pool, e.g. ``postgresql://admin:quest@localhost:8812/qdb``."""
        import asyncpg

        with translated_errors("connect"):
            return cls(await asyncpg.create_pool(dsn, **pool_options))

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[AsyncpgConnection]:
        with translated_errors("acquire"):
            async with self._pool.acquire() as connection:
                yield AsyncpgConnection(connection)

    async def close(self) -> None:
        await self._pool.close()


class AsyncpgConnection:
    def __init__(self, connection: Any) -> None:
        self._connection = connection

    async def execute(self, query: str, *args: Any) -> str:
        with translated_errors(query):
            return await self._connection.execute(query, *args)

    async def executemany(self, query: str, args: Iterable[Sequence[Any]]) -> None:
        with translated_errors(query):
            await self._connection.executemany(query, args)

    async def fetch(self, query: str, *args: Any) -> list[Record]:
        with translated_errors(query):
            return await self._connection.fetch(query, *args)

    async def fetchrow(self, query: str, *args: Any) -> Record | None:
        with translated_errors(query):
            return await self._connection.fetchrow(query, *args)

    async def fetchval(self, query: str, *args: Any, column: int = 0) -> Any:
        with translated_errors(query):
            return await self._connection.fetchval(query, *args, column=column)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        with translated_errors("transaction"):
            async with self._connection.transaction():
                yield


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
    except (pg.PostgresError, pg.InterfaceError) as error:
        position = getattr(error, "position", None)
        raise QueryError(str(error), query=query,
                         position=int(position) if position and str(position).isdigit() else None) from error
