"""Production adapters of the ports: the only code in ``system/`` that touches the real world.

The simulator replaces every one of them (``sim.world.ports``, ``sim.world.questdb``); nothing else in
``system/`` reads the wall clock, makes uuids, uses global randomness or opens sockets.
"""

from system.adapters.asyncpg_database import AsyncpgDatabase
from system.adapters.clock import SystemClock
from system.adapters.ids import UuidIds
from system.adapters.random import StdRandom

__all__ = ["AsyncpgDatabase", "StdRandom", "SystemClock", "UuidIds"]
