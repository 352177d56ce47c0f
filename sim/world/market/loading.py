"""Writing ticks into the simulated QuestDB's ``market_data`` table for a backtest."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC
from operator import attrgetter
from typing import Any

import anyio.lowlevel

from sim.world.questdb import SimQuestDB
from system.ports import Tick

MARKET_DATA = "market_data"


async def load_into(db: SimQuestDB, ticks: Iterable[Tick]) -> int:
    """Bulk-load ``ticks``; returns the number of rows written (before dedup).

    Timestamps become naive UTC, as asyncpg sends a TIMESTAMP and as the replay's queries
    compare them.  Uses ``db.load_rows``: no faults or lag, the data exists before the run.
    """
    await anyio.lowlevel.checkpoint()
    store = db.store(MARKET_DATA)
    if store is None:
        raise LookupError(f"load_into: the database has no {MARKET_DATA} table (are the migrations applied?)")
    unknown = [column for column in store.columns if column not in Tick.__slots__]
    if unknown:
        raise LookupError(f"load_into: {MARKET_DATA} columns {unknown} are not fields of Tick")
    return db.load_rows(MARKET_DATA, _rows(ticks, store.columns))


def _rows(ticks: Iterable[Tick], columns: list[str]) -> Iterator[list[Any]]:
    """Rows in the table's column order, straight from the Tick fields.

    Ticks of several symbols at one instant share one naive datetime (memory, and speed).
    """
    fields = attrgetter(*columns)
    at = columns.index("timestamp")
    aware = naive = None
    for tick in ticks:
        row = list(fields(tick))
        if tick.timestamp is not aware:
            aware = tick.timestamp
            naive = (aware if aware.tzinfo is UTC else aware.astimezone(UTC)).replace(tzinfo=None)
        row[at] = naive
        yield row
