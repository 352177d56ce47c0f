"""Generated market data made once per data seed: in this process, and across processes.

Every run of a scenario needs the ticks its data seed generates, and the same data seed comes
back often: explore runs each seed on two kernels and rechecks some twice, every mutant's
probes explore the same seeds again, CI runs the same scenarios on every push.  Generating is
pure (``generators.iter_ticks`` depends on its arguments and its own code only), so
:func:`market_ticks` keeps the result:

- in memory, for the life of the process (bounded by :data:`MEMORY_TICKS`; the run holds
  the same tuple, so a single run pays nothing extra);
- in a file per generation, under :func:`cache_dir`, named by a content hash of the
  generation parameters, of the generator's source and of this file's format, so a change of
  either generator or format can never serve stale data.  Writers write a temporary file and
  rename it into place (atomic on POSIX), so concurrent workers never read half a file; a
  file that cannot be read is regenerated and rewritten, never trusted.

The file is columnar (symbol and time indexes, three float arrays) because rebuilding ticks
from columns is several times cheaper than generating them or unpickling objects.
``SIMWIRE_CACHE_DIR`` chooses the directory; ``off`` (or empty) turns the file cache off.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import sys
import tempfile
from array import array
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from sim.world.market import generators
from system.ports import Tick

FORMAT = b"simwire-market-columns-1"
"""Bump when the file layout below changes (it is part of every file's name)."""

MEMORY_TICKS = 300_000
"""At most this many ticks stay in this process's memory cache (a day of three symbols; a
longer generation is not kept).  Small on purpose: a kept tick is a live object every full
garbage collection walks, and explore moves on to a new data seed after at most a few runs."""

_memory: OrderedDict[str, tuple[Tick, ...]] = OrderedDict()


def cache_dir() -> Path | None:
    """Where the files live: ``$SIMWIRE_CACHE_DIR``, else ``$XDG_CACHE_HOME/simwire/market``,
    else ``~/.cache/simwire/market``; None when ``SIMWIRE_CACHE_DIR`` is ``off`` or empty."""
    chosen = os.environ.get("SIMWIRE_CACHE_DIR")
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no home directory to be found: no file cache
            return None
    return Path(base) / "simwire" / "market"


@lru_cache(maxsize=1)
def generator_version() -> str:
    """A hash of the generator's source (and Python's version): any edit invalidates every file."""
    python = f"{sys.version_info[0]}.{sys.version_info[1]}".encode()  # random's algorithms may change
    return hashlib.sha256(Path(generators.__file__).read_bytes() + FORMAT + python).hexdigest()[:16]


def cache_key(symbols: Sequence[str], *, start: datetime, hours: float, tick_seconds: float, seed: int,
              regimes: Mapping[str, str] | None = None) -> str:
    """The content hash naming one generation (parameters + generator version)."""
    chosen = {**generators.DEFAULT_REGIMES, **(regimes or {})}
    params = {"symbols": list(symbols), "regimes": [chosen.get(s, "walk") for s in symbols],
              "start": start.isoformat(), "hours": repr(float(hours)), "tick_seconds": repr(float(tick_seconds)),
              "seed": seed, "generator": generator_version()}
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:32]


def market_ticks(symbols: Sequence[str], *, start: datetime, hours: float, tick_seconds: float = 1.0, seed: int,
                 regimes: Mapping[str, str] | None = None) -> tuple[Tick, ...]:
    """Exactly ``generators.generate(...)``'s ticks (as a tuple: it is shared, never mutate it),
    made at most once per process and, with the file cache on, once per machine."""
    key = cache_key(symbols, start=start, hours=hours, tick_seconds=tick_seconds, seed=seed, regimes=regimes)
    ticks = _memory.get(key)
    if ticks is not None:
        _memory.move_to_end(key)
        return ticks
    directory = cache_dir()
    path = directory / f"{key}.bin" if directory is not None else None
    times = _times(start, hours, tick_seconds)
    ticks = _read(path, times) if path is not None else None
    if ticks is None:
        ticks = tuple(generators.iter_ticks(symbols, start=start, hours=hours, tick_seconds=tick_seconds,
                                            seed=seed, regimes=regimes))
        if path is not None:
            _write(path, ticks, symbols, times)
    _remember(key, ticks)
    return ticks


def clear_memory() -> None:
    """Forget the in-process cache (tests; a long-lived process that changed its data)."""
    _memory.clear()


def _remember(key: str, ticks: tuple[Tick, ...]) -> None:
    if len(ticks) > MEMORY_TICKS:
        return
    _memory[key] = ticks
    while sum(len(kept) for kept in _memory.values()) > MEMORY_TICKS:
        _memory.popitem(last=False)


def _times(start: datetime, hours: float, tick_seconds: float) -> list[datetime]:
    """The tick instants exactly as the generator computes them (one shared object per instant)."""
    count = int(hours * 3600 / tick_seconds + 1e-9)
    return [start + timedelta(seconds=index * tick_seconds) for index in range(count)]


# --- the file: header, then columns ------------------------------------------------------------
# FORMAT, a 4-byte header length, a JSON header {"symbols": [...], "count": n}, then the
# columns: symbol index (uint16), time index (uint32), price, volume, quote_volume (float64).

_COLUMNS = (("H", "symbol"), ("I", "time"), ("d", "price"), ("d", "volume"), ("d", "quote_volume"))


def _write(path: Path, ticks: tuple[Tick, ...], symbols: Sequence[str], times: list[datetime]) -> None:
    """Write atomically (temporary file + rename); a failure to write only costs the next run time."""
    symbol_at = {symbol: at for at, symbol in enumerate(symbols)}
    time_at = {instant: at for at, instant in enumerate(times)}
    columns = (
        array("H", [symbol_at[t.symbol] for t in ticks]),
        array("I", [time_at[t.timestamp] for t in ticks]),
        array("d", [t.price for t in ticks]),
        array("d", [t.volume for t in ticks]),
        array("d", [t.quote_volume for t in ticks]),
    )
    header = json.dumps({"symbols": list(symbols), "count": len(ticks)}).encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(FORMAT + struct.pack("<I", len(header)) + header)
                for column in columns:
                    out.write(column.tobytes())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError:
        pass  # a read-only or full disk: the data is still correct, only not kept


def _read(path: Path, times: list[datetime]) -> tuple[Tick, ...] | None:
    """The ticks stored in ``path``, or None when it is missing or not a whole, valid file."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        if not data.startswith(FORMAT):
            return None
        at = len(FORMAT)
        (size,) = struct.unpack_from("<I", data, at)
        header = json.loads(data[at + 4: at + 4 + size])
        symbols, count = list(header["symbols"]), int(header["count"])
        at += 4 + size
        columns = []
        for code, _name in _COLUMNS:
            column = array(code)
            width = column.itemsize * count
            if len(data) < at + width:
                return None
            column.frombytes(data[at: at + width])
            columns.append(column)
            at += width
        if at != len(data):
            return None
        names = [symbols[index] for index in columns[0]]
        instants = [times[index] for index in columns[1]]
        return tuple(map(Tick, names, instants, columns[2], columns[3], columns[4]))
    except (ValueError, KeyError, IndexError, TypeError, struct.error):
        return None
