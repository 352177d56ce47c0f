"""Oracles of storage health: nothing acknowledged stays invisible, nothing new is opened blind.

QuestDB acknowledges a write before its WAL applies it, and a failed apply suspends the table
without an error to anyone (``docs/simulated-questdb.md``).  Two things must hold on a system
that handles it:

- ``oracle.wal-suspended``: at the end of the run no table is still suspended: every write the
  database acknowledged is visible to readers (the final tables the other oracles read are the
  whole record, not the part before a failure);
- ``oracle.entry-while-suspended``: between ``storage.table_suspended`` and
  ``storage.table_resumed`` of a trading-record table, no entry order is created — a position
  opened then could not be recorded where anyone would see it.

The second is judged as the events happen (a bus observer), since the order of events, not the
end state, is what it is about.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sim.harness.observing import PublishObserver
from sim.world.questdb import SimQuestDB
from simwire.violation import Violation
from system import topics

ENTRY_SIGNAL_TYPES = ("Z1",)
"""The signal type whose orders open or grow a position (``docs/architecture.md``)."""


class StorageGateWatch(PublishObserver):
    """A bus observer: remembers suspended tables and every entry created while one was."""

    def __init__(self) -> None:
        self._suspended: dict[str, str] = {}
        self.entries_while_suspended: list[tuple[str, str, str]] = []
        """(order_id, session_id, suspended tables) of each entry created while a table was suspended."""


    def on_publish(self, topic: str, payload: Mapping[str, Any], subscribers: tuple[Any, ...]) -> None:
        if topic == topics.STORAGE_TABLE_SUSPENDED:
            self._suspended[str(payload.get("table"))] = str(payload.get("error"))
        elif topic == topics.STORAGE_TABLE_RESUMED:
            self._suspended.pop(str(payload.get("table")), None)
        elif topic == topics.ORDER_CREATED and self._suspended:
            metadata = payload.get("metadata") or {}
            if metadata.get("signal_type") in ENTRY_SIGNAL_TYPES:
                self.entries_while_suspended.append(
                    (str(payload.get("order_id")), str(payload.get("session_id")), ", ".join(self._suspended)))

    def violations(self, location: str) -> list[Violation]:
        if not self.entries_while_suspended:
            return []
        order_id, session_id, tables = self.entries_while_suspended[0]
        return [Violation(
            "oracle.entry-while-suspended",
            f"{len(self.entries_while_suspended)} entry order(s) created while a table of the trading record "
            f"was suspended (first: {order_id} of {session_id}, tables {tables})",
            location=location,
            expected="no new position opened between storage.table_suspended and storage.table_resumed",
            seen=f"order_created {order_id} (session {session_id}) while {tables} suspended",
        )]


def suspended_at_end(database: SimQuestDB, location: str) -> list[Violation]:
    """``oracle.wal-suspended``: every acknowledged write is visible once the system has stopped."""
    return [
        Violation(
            "oracle.wal-suspended",
            f"table {name} is still suspended after the run: {table.sequencer_txn - table.writer_txn} "
            f"acknowledged transaction(s) are invisible to every reader",
            location=f"{name} {location}",
            expected="every suspended table detected and resumed (ALTER TABLE t RESUME WAL) before the system stops",
            seen=f"suspended since transaction {table.writer_txn + 1} of {table.sequencer_txn}: {table.error}",
        )
        for name, table in database.suspended_tables().items()
    ]
