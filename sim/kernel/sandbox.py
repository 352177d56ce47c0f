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


def _refuse(what: str, owner: Any, name: str, run_thread: int) -> Callable[..., Any]:
    """Refuses on the run's thread; other threads of the process (a Dask worker's heartbeat, a
    test runner's watchdog) are not the simulated program and get the original."""
    original = getattr(owner, name)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() != run_thread:
            return original(*args, **kwargs)
        raise SimulationError(
            f"{what} called at {caller_site()}: real I/O, threads and blocking sleeps are not "
            f"allowed in a simulated run (use the injected ports / await anyio.sleep)"
        )

    return refuse


def forbid_real_io() -> Patches:
    """Install the refusals; call ``.restore()`` on the result to undo them."""
    patches = Patches()
    run_thread = threading.get_ident()  # the simulated program cannot start threads, so it all runs here
    targets: list[tuple[Any, str, str]] = [(socket.socket, "__init__", "socket.socket()")]
    targets += [(socket, name, f"socket.{name}()")
                for name in ("create_connection", "getaddrinfo", "gethostbyname", "socketpair", "create_server")]
    targets += [(subprocess.Popen, "__init__", "subprocess.Popen()"), (os, "system", "os.system()"),
                (threading.Thread, "start", "threading.Thread.start()"), (time, "sleep", "time.sleep()")]
    for owner, name, what in targets:
        patches.set(owner, name, _refuse(what, owner, name, run_thread))
    return patches
