"""Bounded retry of one database operation on ``TransientDatabaseError``.

Only transient errors are retried: a ``QueryError`` or ``DataError`` is a bug in a statement
or a payload and retrying would only hide it.  Retrying a write is safe because every trading
table has ``DEDUP UPSERT KEYS``: if the first try was applied and only its acknowledgement was
lost, the second overwrites the same row instead of adding one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from system.config import RetryPolicy
from system.ports import Clock, TransientDatabaseError

log = logging.getLogger(__name__)

T = TypeVar("T")


async def retry_transient(operation: Callable[[], Awaitable[T]], *, policy: RetryPolicy, clock: Clock,
                          what: str) -> T:
    """Await ``operation()`` up to ``policy.attempts`` times; re-raise the last transient error."""
    attempt = 1
    while True:
        try:
            return await operation()
        except TransientDatabaseError as error:
            if attempt >= policy.attempts:
                raise
            delay = policy.delay(attempt)
            log.warning("db.retry %s attempt=%d/%d delay=%.3fs error=%s",
                        what, attempt, policy.attempts, delay, error)
            await clock.sleep(delay)
            attempt += 1
