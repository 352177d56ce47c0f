"""The production Database adapter translates asyncpg's errors into the port's taxonomy."""

from __future__ import annotations

from typing import Any

import asyncpg.exceptions as pg
import pytest

from system.adapters.asyncpg_database import AsyncpgDatabase
from system.ports import DataError, QueryError, TransientDatabaseError


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return request.param


class RaisingConnection:
    def __init__(self, error: BaseException | None) -> None:
        self.error = error
        self.seen: list[tuple[str, tuple[Any, ...]]] = []

    async def execute(self, query: str, *args: Any) -> str:
        self.seen.append((query, args))
        if self.error is not None:
            raise self.error
        return "INSERT 0 1"


class Pool:
    def __init__(self, connection: RaisingConnection) -> None:
        self.connection = connection

    def acquire(self) -> Any:
        connection = self.connection

        class Acquired:
            async def __aenter__(self) -> RaisingConnection:
                return connection

            async def __aexit__(self, *exc: object) -> None:
                return None

        return Acquired()


async def execute_with(error: BaseException | None) -> str:
    database = AsyncpgDatabase(Pool(RaisingConnection(error)))
    async with database.acquire() as connection:
        return await connection.execute("INSERT INTO t VALUES ($1)", 1)


def unknown_postgres_error(message: str, position: str | None) -> pg.UnknownPostgresError:
    error = pg.UnknownPostgresError(message)
    error.position = position  # type: ignore[attr-defined]
    return error


@pytest.mark.anyio
async def test_success_passes_through() -> None:
    assert await execute_with(None) == "INSERT 0 1"


@pytest.mark.anyio
@pytest.mark.parametrize("error", [
    ConnectionResetError("reset by peer"), TimeoutError(), pg.ConnectionDoesNotExistError("closed"),
    pg.TooManyConnectionsError("busy"), pg.CannotConnectNowError("starting up"),
])
async def test_connection_trouble_is_transient(error: BaseException) -> None:
    with pytest.raises(TransientDatabaseError) as caught:
        await execute_with(error)
    assert caught.value.__cause__ is error


@pytest.mark.anyio
async def test_questdb_rejections_are_query_errors_with_position() -> None:
    with pytest.raises(QueryError, match="Invalid column: nope") as caught:
        await execute_with(unknown_postgres_error("Invalid column: nope", "8"))
    assert caught.value.position == 8 and caught.value.query == "INSERT INTO t VALUES ($1)"


@pytest.mark.anyio
async def test_parameter_encoding_errors_are_data_errors() -> None:
    error = pg.DataError("invalid input for query argument $1: 1.5 (expected a datetime.date or "
                         "datetime.datetime instance, got 'float')")
    with pytest.raises(DataError, match="expected a datetime"):
        await execute_with(error)
