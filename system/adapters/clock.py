"""SystemClock: the Clock port on the machine's clocks."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import anyio


class SystemClock:
    """Wall time from ``datetime.now(UTC)``, intervals from ``time.monotonic``.

    ``sleep`` goes through anyio so it works on whichever event loop runs the system.
    """

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)
