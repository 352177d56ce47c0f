"""The two worlds a session can run in; each only builds ports and knows its database.

* :class:`SimulatedWorld` — virtual clock, seeded ids, the system's Random on its own salted
  sub-seed, the simulated QuestDB with the spec's fault plan.  Deterministic: one spec, one run.
* :class:`RealWorld` — the production adapters (wall clock, uuid ids, unseeded random) over a
  real PostgreSQL or QuestDB.  Not deterministic; the world adds its own check (the live schema
  against the migrations).

The session driver (:mod:`sim.harness.session`) asks a world only what :class:`World` declares.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Protocol

from sim.harness.spec import ScenarioSpec
from sim.harness.targets import Ports
from simwire.violation import Violation

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class World(Protocol):
    """Where a session runs: what the session driver asks of a world (and nothing more)."""

    simulated: bool

    async def ports(self, spec: ScenarioSpec, migrations: Any = None) -> Ports: ...
    async def migrate(self, db: Any, directory: Path) -> None: ...
    async def settle(self, db: Any) -> None: ...
    async def read_tables(self, db: Any, tables: tuple[str, ...],
                          scope: tuple[str, list[str]] | None) -> dict[str, list[dict[str, Any]]]: ...
    def statement_log(self, db: Any) -> list[Any]: ...
    async def close(self, db: Any) -> None: ...
    def violations(self) -> list[Violation]: ...
    def describe(self) -> dict[str, Any]: ...
    def location(self, spec: ScenarioSpec) -> str: ...


class SimulatedWorld:
    simulated = True

    def __init__(self) -> None:
        self._violations: list[Violation] = []
        self._where = ""

    async def ports(self, spec: ScenarioSpec, migrations: Any = None) -> Ports:
        """The run's ports; its database speaks the dialect of the target's ``migrations``: the
        simulated QuestDB, or the simulated PostgreSQL for migrations in the ``postgres``
        dialect (a ``MigrationsConfig`` saying so, ``docs/targets.md``)."""
        from contracts.migrations import dialect_of
        from sim.world.ports import DEFAULT_EPOCH, SeededIds, SeededRandom, VirtualClock
        from sim.world.questdb import SimQuestDB

        self._where = f"(seed {spec.seed})"
        plan = spec.fault_plan()
        database: Any
        if migrations is not None and dialect_of(migrations) == "postgres":
            from sim.world.postgres import SimPostgres

            database = SimPostgres(faults=plan, seed=spec.seed)
        else:
            database = SimQuestDB(faults=plan, seed=spec.seed)
        return Ports(spec, clock=VirtualClock(DEFAULT_EPOCH), ids=SeededIds(),
                     random=SeededRandom(spec.sub_seed("random")), database=database, simulated=True, faults=plan)

    async def migrate(self, db: Any, directory: Any) -> None:
        await db.apply_migrations(directory)

    async def settle(self, db: Any) -> None:
        """The WAL applies within its bound (``oracle.liveness-wal``, ``sim.harness.liveness``) and
        no table is left suspended (``oracle.wal-suspended``, ``sim.harness.storage_oracle``)."""
        from sim.harness.liveness import wal_applied
        from sim.harness.storage_oracle import suspended_at_end

        self._violations += await wal_applied(db)
        self._violations += suspended_at_end(db, self._where)

    async def read_tables(self, db: Any, tables: tuple[str, ...],
                          scope: tuple[str, list[str]] | None) -> dict[str, list[dict[str, Any]]]:
        """Every row (a simulated database holds this run only), in the order it was written."""
        return {name: db.table_rows(name) for name in tables}

    def statement_log(self, db: Any) -> list[Any]:
        return list(db.statement_log)

    async def close(self, db: Any) -> None:
        return None

    def violations(self) -> list[Violation]:
        return list(self._violations)

    def describe(self) -> dict[str, Any]:
        return {"deterministic": True}

    def location(self, spec: ScenarioSpec) -> str:
        return f"(seed {spec.seed})"


class RealWorld:
    """A real server behind ``system.adapters.AsyncpgDatabase``; one world per run."""

    simulated = False

    def __init__(self, settings: Any) -> None:
        from sim.harness.realdb import redact

        self.settings = settings
        self.dsn = redact(settings.dsn)
        self.server = ""
        self.dialect = ""
        self.created_tables: list[str] = []
        self._schema_findings: list[Violation] = []
        self._migrations: Path | None = None

    async def ports(self, spec: ScenarioSpec, migrations: Any = None) -> Ports:
        from system.adapters import AsyncpgDatabase, StdRandom, SystemClock, UuidIds

        db = await AsyncpgDatabase.connect(self.settings)
        async with db.acquire() as connection:
            self.server = str(await connection.fetchval("SELECT version()"))
        self.dialect = db.dialect
        return Ports(spec, clock=SystemClock(), ids=UuidIds(), random=StdRandom(), database=db, simulated=False)

    async def migrate(self, db: Any, directory: Path) -> None:
        from sim.harness.realdb import migrate

        self._migrations = directory
        self.created_tables = await migrate(db, directory)

    async def settle(self, db: Any) -> None:
        await db.wait_for_wal()

    async def read_tables(self, db: Any, tables: tuple[str, ...],
                          scope: tuple[str, list[str]] | None) -> dict[str, list[dict[str, Any]]]:
        """The rows of this run only (a real server keeps earlier runs): ``scope`` filters them;
        then the world's own check, the live schema against the migrations."""
        from contracts.migrations import load_schema
        from sim.harness.realdb import compare_schema, live_schema

        contents: dict[str, list[dict[str, Any]]] = {}
        async with db.acquire() as connection:
            for name in tables:
                if not _NAME.match(name):
                    raise ValueError(f"not a table name: {name!r}")
                if scope is None:
                    records = await connection.fetch(f"SELECT * FROM {name}")
                else:
                    column, values = scope
                    if not _NAME.match(column):
                        raise ValueError(f"not a column name: {column!r}")
                    records = [r for value in values
                               for r in await connection.fetch(f"SELECT * FROM {name} WHERE {column} = $1", value)]
                contents[name] = [dict(record.items()) for record in records]
        if self._migrations is not None:
            self._schema_findings = compare_schema(load_schema(self._migrations), await live_schema(db),
                                                   dialect=db.dialect, where=self.dsn)
        return contents

    def statement_log(self, db: Any) -> list[Any]:
        return []

    async def close(self, db: Any) -> None:
        await db.close()

    def violations(self) -> list[Violation]:
        return list(self._schema_findings)

    def describe(self) -> dict[str, Any]:
        return {"deterministic": False, "dsn": self.dsn, "server": self.server, "dialect": self.dialect,
                "created_tables": self.created_tables}

    def location(self, spec: ScenarioSpec) -> str:
        return f"(real run on {self.dsn})"
