"""The process dies: a kill switch and the ports of one incarnation of the system under test.

A crash (fault site ``process``, preset ``crash``) must look to the system as a real one
would: every task stops where it is and nothing it does afterwards reaches the world.  The
harness cancels the incarnation's tasks, and every port it was given is *severed*: from
the kill on, each call to the database, the exchange, the push stream or the clock's
``sleep`` raises :class:`ProcessKilled`, so cleanup code (``finally`` blocks, shielded
shutdown, retry loops) runs into a dead process instead of writing its last rows.  A call
already under way when the kill comes may have taken effect or not, depending on where the
schedule was: its reply is lost either way.  The world (database, exchange) is not severed:
the next incarnation gets fresh severable ports onto the same world.

``ProcessKilled`` derives from ``BaseException`` so that ``except Exception`` in the system
(a retry loop, a bus that isolates handler errors) cannot swallow the crash.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio


class ProcessKilled(BaseException):
    """The simulated process died; raised by every severed port after the kill."""


class KillSwitch:
    """One incarnation's life: ``kill()`` cancels its scope and severs its ports."""

    def __init__(self, incarnation: int) -> None:
        self.incarnation = incarnation
        self.killed = False
        self.scope = anyio.CancelScope()
        self._on_kill: list[Callable[[], None]] = []

    def on_kill(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` at the kill (before any task of the incarnation runs again)."""
        self._on_kill.append(callback)

    def kill(self) -> None:
        self.killed = True
        for callback in self._on_kill:
            callback()
        self.scope.cancel()

    def check(self, what: str) -> None:
        if self.killed:
            raise ProcessKilled(f"incarnation {self.incarnation} is dead ({what})")


class Severed:
    """``inner`` as one incarnation sees it: the same calls until the kill, then ProcessKilled.

    Async methods check before they start and after they return; async generators before
    each item; an async context manager (``database.acquire()``) hands out a severed
    connection.  Plain attributes and sync methods pass through (``clock.now()`` still tells
    the time to code that is dying)."""

    def __init__(self, inner: Any, switch: KillSwitch) -> None:
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_switch", switch)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not callable(attribute) or inspect.isclass(attribute):
            return attribute
        if inspect.iscoroutinefunction(attribute):
            return self._async(attribute, name)
        if inspect.isasyncgenfunction(attribute):
            return self._generator(attribute, name)
        if name in ("acquire", "transaction"):
            return self._context(attribute, name)
        return attribute

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._inner, name, value)

    def _async(self, call: Callable[..., Any], name: str) -> Callable[..., Any]:
        switch = self._switch

        async def severed(*args: Any, **kwargs: Any) -> Any:
            switch.check(name)
            result = await call(*args, **kwargs)
            switch.check(name)  # it may have happened; the reply is lost with the process
            return result

        return severed

    def _generator(self, call: Callable[..., Any], name: str) -> Callable[..., AsyncIterator[Any]]:
        switch = self._switch

        async def severed(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            switch.check(name)
            inner = call(*args, **kwargs)
            try:
                async for item in inner:
                    switch.check(name)
                    yield item
            finally:
                await inner.aclose()

        return severed

    def _context(self, call: Callable[..., Any], name: str) -> Callable[..., Any]:
        switch = self._switch

        def severed(*args: Any, **kwargs: Any) -> Any:
            switch.check(name)
            return _SeveredContext(call(*args, **kwargs), switch)

        return severed


class _SeveredContext:
    def __init__(self, inner: Any, switch: KillSwitch) -> None:
        self._inner, self._switch = inner, switch

    async def __aenter__(self) -> Any:
        self._switch.check("acquire")
        return Severed(await self._inner.__aenter__(), self._switch)

    async def __aexit__(self, *exc: object) -> bool | None:
        return await self._inner.__aexit__(*exc)
