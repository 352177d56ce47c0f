"""``module:function`` targets: how the CLI and subprocesses find the code to run.

A target names either a coroutine function (run as ``main``) or a plain function that
returns a fresh coroutine function on each call (a *factory*, for programs that need new
state per run, such as a full-system scenario).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

Main = Callable[[], Awaitable[Any]]


class TargetError(ValueError):
    """A target spec that does not name something runnable."""


def resolve(spec: str) -> Callable[[], Main]:
    """The factory for ``spec``: each call returns the coroutine function to run."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise TargetError(f"target {spec!r}: expected 'module:function', e.g. 'tests.kernel.programs:lost_update'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise TargetError(f"target {spec!r}: cannot import module {module_name!r}: {error}") from error
    obj: Any = module
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise TargetError(f"target {spec!r}: module {module_name!r} has no attribute {attribute!r}") from None
    if inspect.iscoroutinefunction(obj):
        return lambda: obj
    if callable(obj):
        return obj  # type: ignore[no-any-return]
    raise TargetError(f"target {spec!r}: {attribute!r} is a {type(obj).__name__}, not a function")


def spec_of(function: Callable[..., Any]) -> str | None:
    """``module:qualname`` if ``function`` can be found again by :func:`resolve`, else None."""
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", "")
    if not module or not qualname or "<locals>" in qualname or module == "__main__":
        return None
    return f"{module}:{qualname}"
