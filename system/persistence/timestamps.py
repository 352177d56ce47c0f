"""Conversions between the bus's float epoch seconds and the database's naive UTC datetimes.

QuestDB's TIMESTAMP arrives through asyncpg as ``timestamp without time zone``: a naive
datetime is stored exactly, an aware one is refused on the client and a float is refused or,
with a ``::timestamp`` cast, silently read as microseconds (``questdb-facts.md``).  So every
value crossing that boundary goes through these three functions and nowhere else.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1)


def to_db_timestamp(epoch_seconds: float) -> datetime:
    """Float epoch seconds (UTC) -> naive UTC datetime, exact to the microsecond."""
    if isinstance(epoch_seconds, bool) or not isinstance(epoch_seconds, int | float):
        raise TypeError(f"timestamp must be float epoch seconds, got {type(epoch_seconds).__name__}")
    return _EPOCH + timedelta(seconds=epoch_seconds)


def from_db_timestamp(value: datetime) -> float:
    """Naive UTC datetime from the database -> float epoch seconds.

    Same arithmetic as ``aware.timestamp()``, so a tick round-trips to the identical float.
    """
    return (value - _EPOCH).total_seconds()


def aware_to_db_timestamp(value: datetime) -> datetime:
    """Aware datetime (any offset) -> naive UTC.  A naive input is refused: its zone is unknown."""
    if value.tzinfo is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {value!r}")
    return value.astimezone(UTC).replace(tzinfo=None)
