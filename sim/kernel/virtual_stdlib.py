"""Virtualized stdlib nondeterminism inside a simulated run.

Code that has no ports (``datetime.now()`` for a cooldown, the global ``random`` for a fill
price, ``uuid4()`` for an id) would make the same seed give different outputs.  While a run
is active (``sim.run(..., virtualize=True)``, the default) these read the run instead:

* clocks: ``time.time/monotonic/perf_counter`` (and ``_ns``), ``datetime.datetime.now/
  utcnow/today``: the kernel's virtual time; wall-clock ones start at :data:`EPOCH`
  (2024-01-01T00:00:00Z), the monotonic ones at 0 like the loop's clock;
* randomness: the ``random`` module's global functions, ``uuid.uuid1/uuid4``,
  ``os.urandom`` and ``secrets``: one :class:`random.Random` stream per source, seeded from
  the run's seed salted with the source's name (``"random"``, ``"uuid"``, ``"urandom"``,
  ``"secrets"``), so adding a call of one kind never shifts another kind's values, and
  never the scheduler's choices (their own stream);
* ``time.sleep``: refused by :mod:`sim.kernel.sandbox`, naming the call site (a sleep
  inside a coroutine would block the loop; ``await anyio.sleep`` is the virtual one).

Everything is restored when the run ends.  Names bound before the run (``from time import
time``, ``from datetime import datetime``, ``from random import random``) are found by a
scan of the loaded modules' globals and patched too (and restored), except in the standard
library, site-packages and simwire itself.  The harness's own modules (``sim.*``,
``contracts.*``) keep the real clocks: they time runs for reports.

Limits: ``datetime.datetime`` is a C type whose methods cannot be replaced, so the name is
rebound to a subclass whose ``now/utcnow/today`` read the run and whose other constructors
return plain ``datetime`` objects; ``isinstance``/``issubclass`` against it behave as
against ``datetime``, but ``type(x) is datetime`` with the rebound name is false.
``datetime.date.today``, ``random.Random()`` without a seed, ``random.SystemRandom`` and
C extensions reading the clock are not virtualized.
"""

from __future__ import annotations

import datetime as _datetime_module
import os
import random
import secrets
import sys
import sysconfig
import time
import uuid
from collections.abc import Callable
from typing import Any

from sim.kernel.patches import Patches

EPOCH = 1_704_067_200.0
"""``time.time()`` at virtual time 0: 2024-01-01T00:00:00Z."""

_REAL = {
    "time": time.time, "time_ns": time.time_ns, "monotonic": time.monotonic,
    "monotonic_ns": time.monotonic_ns, "perf_counter": time.perf_counter,
    "perf_counter_ns": time.perf_counter_ns,
}
REAL_PERF_COUNTER = _REAL["perf_counter"]
"""For clocks that must keep reading real time while the run is virtualized (trio's
MockClock reads its "real" clock on every ``current_time()``)."""
_RealDatetime = _datetime_module.datetime
_HARNESS = ("sim.", "contracts.", "simwire.")
_SKIP_ROOTS = tuple(
    os.path.join(path, "") for path in {sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"],
                                        sysconfig.get_paths()["platlib"]}
)
_RANDOM_FUNCTIONS = (
    "random", "uniform", "randint", "randrange", "choice", "choices", "shuffle", "sample", "gauss",
    "normalvariate", "lognormvariate", "expovariate", "vonmisesvariate", "gammavariate", "triangular",
    "betavariate", "paretovariate", "weibullvariate", "getrandbits", "randbytes", "seed", "getstate",
    "setstate", "binomialvariate",
)


def _virtual_now() -> float:
    """The running kernel's virtual time (asyncio: the loop's clock; trio: the MockClock)."""
    import asyncio

    loop = asyncio.events._get_running_loop()
    if loop is not None:
        return loop.time()
    import trio

    try:
        return trio.current_time()
    except RuntimeError:
        return 0.0


def _from_harness() -> bool:
    return sys._getframe(2).f_globals.get("__name__", "").startswith(_HARNESS)


def _clock(name: str, offset: float, ns: bool) -> Callable[[], Any]:
    real = _REAL[name]

    if ns:
        def virtual_ns() -> int:
            if _from_harness():
                return real()
            return round((offset + _virtual_now()) * 1e9)
        virtual_ns.__name__ = name
        return virtual_ns

    def virtual() -> float:
        if _from_harness():
            return real()
        return offset + _virtual_now()
    virtual.__name__ = name
    return virtual


class _DatetimeType(type):
    """Lets ``isinstance(x, datetime)`` stay true for plain datetimes when the name is rebound."""

    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, _RealDatetime)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, _RealDatetime)


class VirtualDatetime(_RealDatetime, metaclass=_DatetimeType):
    """``datetime.datetime`` during a run: ``now``/``utcnow``/``today`` read virtual time;
    every constructor returns a plain ``datetime`` (never an instance of this class)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
        return _RealDatetime(*args, **kwargs)

    @classmethod
    def now(cls, tz: Any = None) -> Any:  # type: ignore[override]
        return _RealDatetime.fromtimestamp(EPOCH + _virtual_now(), tz)

    @classmethod
    def utcnow(cls) -> Any:  # type: ignore[override]
        return _RealDatetime.fromtimestamp(EPOCH + _virtual_now(), _datetime_module.UTC).replace(tzinfo=None)

    @classmethod
    def today(cls) -> Any:  # type: ignore[override]
        return cls.now()


VirtualDatetime.__module__ = "datetime"
VirtualDatetime.__qualname__ = VirtualDatetime.__name__ = "datetime"


def virtualize(seed: int) -> Patches:
    """Install the virtual clocks and seeded streams for a run of ``seed``; ``.restore()``
    undoes everything (module attributes and rebound names alike)."""
    patches = Patches()
    replacements: dict[int, Any] = {}

    def swap(owner: Any, name: str, value: Any) -> None:
        original = patches.set(owner, name, value)
        replacements[id(original)] = value

    for name in _REAL:
        swap(time, name, _clock(name, EPOCH if name.startswith("time") else 0.0, name.endswith("_ns")))
    swap(_datetime_module, "datetime", VirtualDatetime)

    stream = random.Random(f"{seed}:random")
    for name in _RANDOM_FUNCTIONS:
        if hasattr(random, name) and hasattr(stream, name):
            swap(random, name, getattr(stream, name))

    ids = random.Random(f"{seed}:uuid")
    swap(uuid, "uuid4", lambda: uuid.UUID(bytes=ids.randbytes(16), version=4))
    real_uuid1 = uuid.uuid1
    swap(uuid, "uuid1", lambda node=None, clock_seq=None: real_uuid1(
        node if node is not None else ids.getrandbits(48) | (1 << 40),  # multicast bit: not a real MAC
        clock_seq if clock_seq is not None else ids.getrandbits(14)))
    patches.set(uuid, "_last_timestamp", None)  # uuid1 keeps it across calls: reset per run

    entropy = random.Random(f"{seed}:urandom")
    swap(os, "urandom", entropy.randbytes)

    secret = random.Random(f"{seed}:secrets")
    patches.set(secrets, "_sysrand", secret)
    for name, value in (("choice", secret.choice), ("randbits", secret.getrandbits)):
        swap(secrets, name, value)

    _rebind_imported_names(patches, replacements)
    return patches


def _rebind_imported_names(patches: Patches, replacements: dict[int, Any]) -> None:
    """Patch names bound by ``from time import time`` & co. in user modules."""
    for module_name, module in list(sys.modules.items()):
        if module is None or module_name.startswith(("sim.", "contracts.", "simwire", "_")) or ("." not in module_name \
                and module_name in sys.stdlib_module_names):
            continue
        filename = getattr(module, "__file__", None) or ""
        if module_name != "__main__" and (not filename or filename.startswith(_SKIP_ROOTS)):
            continue
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for name, value in list(namespace.items()):
            replacement = replacements.get(id(value))
            if replacement is not None and replacement is not value:
                patches.set(module, name, replacement)
