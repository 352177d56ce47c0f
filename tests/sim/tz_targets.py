"""Determinism targets for tests/sim/test_timezones.py: one whose outcome depends on the host's
time zone (the defect family ``simwire determinism`` must catch), one whose outcome does not."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio


class _Program:
    def __init__(self, zone: object) -> None:
        self.zone = zone
        self.stamp = ""

    async def main(self) -> None:
        await anyio.sleep(1)
        self.stamp = datetime.fromtimestamp(anyio.current_time(), self.zone).isoformat()  # type: ignore[arg-type]

    def outcome_digest(self) -> str:
        return self.stamp


def local_time_program() -> object:
    """Converts its event time in the host's time zone: same schedule, different outcome."""
    return _Program(None).main


def utc_program() -> object:
    return _Program(UTC).main
