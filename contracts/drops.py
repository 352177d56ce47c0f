"""Silent drops: a write whose last attempt failed, never succeeded later, and was not recorded.

A system that retries writes and, when the retries run out, *records* the failure (a
persistence-failure list, an error event) is honest about a lost row.  One that logs and moves
on loses the row silently, and a later write to the same row (the next mark-to-market of a
position) can make the final tables look right.  So the judgement is per *write*, not per
row: an INSERT or UPDATE counts as delivered only when the same statement with the same
arguments succeeded at some point (a retry after a transient error sends exactly that).  What
remains failed at the end of the run is ``oracle.silent-drop`` unless a recorded failure names
the row (its table and one of its key values).

Fed by the runtime monitor (``on_statement``); judged once, at the end of the run
(:meth:`DropTracker.violations`), with the failures the system recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from contracts.rules import violation
from simwire.violation import Violation


@dataclass(frozen=True)
class FailedWrite:
    """The last failed attempt of one write, as the monitor saw it."""

    sql: str
    table: str
    key: tuple[tuple[str, Any], ...]
    error: str
    location: str


class DropTracker:
    """Writes still failed: keyed by statement text and arguments, cleared by a success."""

    def __init__(self) -> None:
        self._failed: dict[tuple[str, object], FailedWrite] = {}

    def on_write(self, query: str, row: Sequence[Any], error: BaseException | None,
                 describe: Any) -> None:
        """Record one attempt.  ``describe()`` -> (table, key pairs, location), only called on
        a failure, so a success costs one dictionary pop (nothing while no write is pending)."""
        if error is None and not self._failed:
            return
        try:
            ident: tuple[str, object] = (query, tuple(row))
            hash(ident)
        except TypeError:
            ident = (query, repr(tuple(row)))
        if error is None:
            self._failed.pop(ident, None)
            return
        table, key, location = describe()
        self._failed[ident] = FailedWrite(" ".join(query.split()), table, key,
                                          f"{type(error).__name__}: {error}", location)

    @property
    def pending(self) -> list[FailedWrite]:
        """Writes whose last attempt failed, in the order they first failed."""
        return list(self._failed.values())

    def violations(self, recorded: Iterable[Any] = ()) -> list[Violation]:
        """``oracle.silent-drop`` per failed write no recorded failure accounts for.

        ``recorded``: the system's own failure records, each a ``(table, id)`` pair or an object
        with ``table`` and the row's id as ``entity_id``, ``entity`` or ``id`` (the trading
        system's ``PersistenceFailure``); a record without a table excuses every table."""
        excused = [_excuse(r) for r in recorded]
        by_statement: dict[str, list[FailedWrite]] = {}
        for write in self._failed.values():
            values = {str(value) for _, value in write.key}
            if not any((table is None or table == write.table) and ids & values for table, ids in excused):
                by_statement.setdefault(write.sql, []).append(write)
        found = []
        for sql, writes in by_statement.items():  # one finding per statement, like the monitor's
            first = writes[0]
            shown = ", ".join(f"{name}={value!s}" for name, value in first.key) or "(no key)"
            more = f" (and {len(writes) - 1} more write(s) of this statement)" if len(writes) > 1 else ""
            found.append(violation(
                "oracle.silent-drop", f"a write to {first.table} ({shown}) failed on its last attempt and was "
                f"neither retried to success nor recorded as a failure{more}", location=first.location,
                expected="a later success of the same write, or a recorded persistence failure for the row",
                seen=f"last attempt: {first.error}", sql=sql, table=first.table, count=len(writes),
                key={name: str(value) for name, value in first.key},
                keys=[{name: str(value) for name, value in w.key} for w in writes[:5]]))
        return found


def _excuse(record: Any) -> tuple[str | None, set[str]]:
    """The table and row ids a recorded failure names."""
    if isinstance(record, tuple) and len(record) == 2:
        return record[0], {str(record[1])}
    ids = {str(getattr(record, name)) for name in ("entity_id", "entity", "id") if getattr(record, name, None)}
    return getattr(record, "table", None), ids
