"""Time zones in determinism checks: the same seed must give the same run whatever ``TZ`` says.

A conversion in local time (``datetime.fromtimestamp(t)`` without ``tz``, ``.timestamp()`` of a
naive datetime, ``time.mktime``) is invisible on a UTC host and moves every timestamp by hours
on any other.  The schedule may not even change (virtual time does not depend on it), so the determinism
checks compare what the run *produced* as well (``sim.harness.outputs``), and their
subprocess and recheck runs use ``ALTERNATE_TZ`` (+05:30, an offset that is not a whole
number of hours either).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

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
