"""A module with no ports: wall clock, global random and uuid in its logic, imported the
way application code does (names bound at import, before any run)."""

from __future__ import annotations

import os
import secrets
import uuid
from datetime import datetime
from random import random
from time import monotonic, time

import anyio


async def fill_prices() -> list[tuple[str, float, str, float, float, str, str]]:
    out = []
    for _ in range(3):
        await anyio.sleep(random())
        out.append((datetime.now().isoformat(), round(random(), 12), str(uuid.uuid4()), time(), monotonic(),
                    os.urandom(4).hex(), secrets.token_hex(4)))
    return out
