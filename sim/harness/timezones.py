"""Time zones in determinism checks: the same seed must give the same run whatever ``TZ`` says.

A conversion in local time (``datetime.fromtimestamp(t)`` without ``tz``, ``.timestamp()`` of a
naive datetime, ``time.mktime``) is invisible on a UTC host and moves every timestamp by hours
on any other.  The schedule may not even change (virtual time does not depend on it), so the
determinism checks compare what the run *produced* as well: :func:`outcome_digest` hashes the
recorded trading events and the tables, and the rechecks run a second time under
``ALTERNATE_TZ`` (+05:30, a zone whose offset is not a whole number of hours either).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

ALTERNATE_TZ = "Asia/Kolkata"


@contextmanager
def local_timezone(name: str) -> Iterator[None]:
    """Run the body with the process's local time zone set to ``name`` (restored after).

    ``time.tzset`` re-reads ``TZ``, so everything converting through the C library's local
    time (``time.localtime``, naive ``datetime`` conversions) sees the new zone at once."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


def outcome_digest(events: Iterable[tuple[str, Mapping[str, Any]]],
                   tables: Mapping[str, Iterable[Mapping[str, Any]]]) -> str:
    """One hash of what a run produced: every recorded event in publish order, every table row.

    Keys are sorted and values rendered by ``repr`` for non-JSON types (datetimes keep their
    zone in the text), so two runs hash equal exactly when they produced the same record."""
    digest = hashlib.sha256()
    for topic, payload in events:
        digest.update(json.dumps([topic, payload], sort_keys=True, default=repr).encode())
    for name in sorted(tables):
        for row in tables[name]:
            digest.update(json.dumps([name, row], sort_keys=True, default=repr).encode())
    return digest.hexdigest()


def run_outcome(recorder: Any, tables: Mapping[str, Iterable[Mapping[str, Any]]]) -> str:
    """:func:`outcome_digest` of a scenario: its recorded trading events, ticks and tables."""
    ticks = [("tick", {"session_id": sid, "ticks": rows}) for sid, rows in sorted(recorder.ticks.items())]
    return outcome_digest([*recorder.timeline, *ticks], tables)
