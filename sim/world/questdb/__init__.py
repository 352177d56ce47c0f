"""The simulated QuestDB: in-memory, asyncpg-shaped, built from the real migrations.

``SimQuestDB.from_migrations()`` is the usual entry point; see ``docs/simulated-questdb.md``
for the semantics and the known differences from a real server.
"""

from sim.world.questdb.database import (
    DEFAULT_MIGRATIONS,
    LoggedStatement,
    SimConnection,
    SimQuestDB,
    SimTransaction,
    StatementObserver,
)
from sim.world.questdb.records import SimRecord

__all__ = [
    "DEFAULT_MIGRATIONS",
    "LoggedStatement",
    "SimConnection",
    "SimQuestDB",
    "SimRecord",
    "SimTransaction",
    "StatementObserver",
]
