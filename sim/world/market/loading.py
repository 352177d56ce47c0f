"""Writing ticks into the simulated QuestDB's ``market_data`` table for a backtest."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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


def _rows(ticks: Iterable[Tick], columns: list[str]) -> list[tuple[Any, ...]]:
    """Rows in the table's column order, straight from the Tick fields, built a column at a
    time (a bulk load of a day is a quarter of a million rows).

    Ticks of several symbols at one instant share one naive datetime (memory, and speed).
    """
    ticks = ticks if isinstance(ticks, Sequence) else list(ticks)
    values = [list(map(attrgetter(column), ticks)) for column in columns]
    at = columns.index("timestamp")
    naive = {aware: (aware if aware.tzinfo is UTC else aware.astimezone(UTC)).replace(tzinfo=None)
             for aware in dict.fromkeys(values[at])}
    values[at] = list(map(naive.__getitem__, values[at]))
    return list(zip(*values, strict=True))  # tuples: load_rows copies them into the table's own lists
