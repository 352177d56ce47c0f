"""Progress of a long command on stderr: plain lines, on a terminal and in a CI log alike.

A CI log is not a terminal, and a bar that redraws itself prints nothing there; an
exploration of 40 minutes with an empty log looks hung.  So a line is printed at most every
``interval`` seconds (done/total, failures, runs per second, time left), and always a last
one at the end: the same text everywhere, greppable, no control characters.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

LINE_INTERVAL_SECONDS = 5.0


def format_duration(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class ProgressLines:
    """Counts finished runs and failures; prints at most one line per ``interval`` seconds.

    Lines come from :meth:`update` (a run finished) and from :meth:`tick`, which a ticker
    thread (:meth:`ticking`) calls every ``interval`` seconds, so a log shows progress on time
    even while one long run is going (a 24-hour live session takes minutes).  The clock is
    bound when this module is imported, so a simulated run's virtual clock never reaches it.
    """

    def __init__(self, total: int, *, label: str = "runs", stream: TextIO | None = None,
                 interval: float = LINE_INTERVAL_SECONDS, clock: Callable[[], float] = time.monotonic,
                 done: int = 0, failures: int = 0) -> None:
        self.total, self.label, self.interval, self._clock = total, label, interval, clock
        self._stream = stream if stream is not None else sys.stderr
        self.done, self.failures = done, failures
        self._already = done  # resumed runs do not count towards the rate
        self._started = clock()
        self._last_line = self._started
        self._lock = threading.Lock()

    def update(self, failed: bool) -> None:
        with self._lock:
            self.done += 1
            self.failures += failed
        self.tick()

    def tick(self) -> None:
        """Print a line if none was printed for ``interval`` seconds."""
        with self._lock:
            now = self._clock()
            if now - self._last_line < self.interval:
                return
            self._last_line = now
            self._print(now)

    def close(self) -> None:
        with self._lock:
            self._print(self._clock())

    @contextlib.contextmanager
    def ticking(self) -> Iterator[ProgressLines]:
        """A daemon thread calls :meth:`tick` every ``interval`` seconds inside the block."""
        stopped = threading.Event()

        def run() -> None:
            while not stopped.wait(self.interval):
                self.tick()

        ticker = threading.Thread(target=run, name="simwire-progress", daemon=True)
        ticker.start()
        try:
            yield self
        finally:
            stopped.set()
            ticker.join()

    def line(self, now: float) -> str:
        elapsed = now - self._started
        ran = self.done - self._already
        rate = ran / elapsed if elapsed > 0 else 0.0
        text = f"{self.done}/{self.total} {self.label}, {self.failures} failing, {rate:.2f} {self.label}/s"
        left = self.total - self.done
        if left and rate > 0:
            text += f", ETA {format_duration(left / rate)}"
        return text

    def _print(self, now: float) -> None:
        print(self.line(now), file=self._stream, flush=True)
