"""No real I/O in a simulated run.

While a run is active, the entry points to the outside world raise
:class:`~sim.kernel.result.SimulationError` naming the caller's ``file:line``: sockets,
DNS, subprocesses, threads (hence thread pools and ``anyio.to_thread``) and
``time.sleep``.  Everything is restored when the run ends.

Gap: a name bound before the run (``from time import sleep``) keeps the real function;
patch sites are module attributes and class methods, which covers the usual spellings.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

from sim.kernel.patches import Patches
from sim.kernel.result import SimulationError
from sim.kernel.sites import caller_site


def _refuse(what: str) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise SimulationError(
            f"{what} called at {caller_site()}: real I/O, threads and blocking sleeps are not "
            f"allowed in a simulated run (use the injected ports / await anyio.sleep)"
        )

    return refuse


def forbid_real_io() -> Patches:
    """Install the refusals; call ``.restore()`` on the result to undo them."""
    patches = Patches()
    patches.set(socket.socket, "__init__", _refuse("socket.socket()"))
    for name in ("create_connection", "getaddrinfo", "gethostbyname", "socketpair", "create_server"):
        patches.set(socket, name, _refuse(f"socket.{name}()"))
    patches.set(subprocess.Popen, "__init__", _refuse("subprocess.Popen()"))
    patches.set(os, "system", _refuse("os.system()"))
    patches.set(threading.Thread, "start", _refuse("threading.Thread.start()"))
    patches.set(time, "sleep", _refuse("time.sleep()"))
    return patches
