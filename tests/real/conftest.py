"""Fixtures of the real-database tier: a throwaway PostgreSQL server, QuestDB in Docker.

``postgres_server`` starts one server for the whole test session (``postgres_server.py``);
``pg_database`` gives each test a fresh, empty database on it.  ``questdb_dsn`` starts the
``questdb/questdb`` image through testcontainers where a Docker engine answers.  Where either
cannot run, the tests that need it skip, and the reasons are printed at the end of the run
(pytest hides skip reasons by default).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.real.postgres_server import PostgresServer, create_database, drop_database, unavailable_reason

QUESTDB_IMAGE = "questdb/questdb:9.3.0"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # asyncpg runs on asyncio only


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"no PostgreSQL server: {reason}")
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_dsn(postgres_server: PostgresServer) -> Iterator[str]:
    """The DSN of a new empty database (dropped afterwards); for sync and async tests alike."""
    dsn = create_database(postgres_server)
    yield dsn
    drop_database(postgres_server, dsn)


@pytest.fixture
async def pg_database(pg_dsn: str) -> AsyncIterator[object]:
    """An ``AsyncpgDatabase`` on a new database migrated through the PostgreSQL DDL renderer."""
    from sim.harness.realdb import migrate
    from system.adapters.asyncpg_database import AsyncpgDatabase

    database = await AsyncpgDatabase.connect(pg_dsn)
    try:
        await migrate(database)
        yield database
    finally:
        await database.close()


@pytest.fixture(scope="session")
def questdb_dsn() -> Iterator[str]:
    """A real QuestDB's PG wire (port 8812, user admin) in a container, ready for queries."""
    try:
        import docker
    except ImportError:
        pytest.skip("testcontainers/docker not installed (pip install -e '.[real]'); the QuestDB tests run "
                    "where they are and a Docker engine is reachable")
    try:
        docker.from_env().ping()
    except Exception as error:  # any failure to reach the engine means: no Docker here
        pytest.skip(f"no Docker engine reachable ({type(error).__name__}: {error}); the QuestDB tests "
                    f"run where one is")
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import HttpWaitStrategy

    # QuestDB answers HTTP queries on 9000 once it accepts connections, PG wire included.
    container = (DockerContainer(QUESTDB_IMAGE).with_exposed_ports(8812, 9000)
                 .waiting_for(HttpWaitStrategy(9000, "/exec?query=SELECT%201").for_status_code(200)))
    with container:
        host = container.get_container_host_ip()
        yield f"postgresql://admin:quest@{host}:{container.get_exposed_port(8812)}/qdb"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print why real-database tests skipped, even without ``-rs``."""
    reasons = sorted({str(report.longrepr[2]) for report in terminalreporter.stats.get("skipped", [])
                      if "tests/real" in report.nodeid and isinstance(report.longrepr, tuple)})
    for reason in reasons:
        terminalreporter.write_line(f"tests/real skipped: {reason.removeprefix('Skipped: ')}")
