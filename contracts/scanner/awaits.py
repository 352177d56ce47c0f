"""``static.unawaited-async``: a coroutine function called and neither awaited nor spawned.

Without ``await`` the call only creates a coroutine object; the body never runs (the seed
report's ``_transition_to`` made async while a call site still called it plainly).

Which calls are coroutine calls, without running anything:
- ``self.m(...)`` where the enclosing class defines ``async def m``;
- ``f(...)`` where ``f`` is an ``async def`` of the module (or imported from a scanned one);
- ``self.x.m(...)`` (a collaborator held by the object) when every definition named ``m`` in
  the tree is ``async def`` (an unambiguous name such as ``publish`` or ``start_session``) and
  ``m`` is not a method of a builtin type (``self._tasks.clear()`` is a dict's).
Decorated async functions are skipped (``@asynccontextmanager`` changes what a call returns),
and so are async generators (calling one returns an async iterator, not a coroutine).
"""

from __future__ import annotations

import ast

from contracts.rules import violation
from contracts.scanner.source import CodeBase, SourceFile, own_nodes
from simwire.violation import Violation

SPAWNERS = frozenset({
    "start_soon", "start", "create_task", "ensure_future", "gather", "wait", "wait_for", "shield",
    "run", "run_until_complete", "run_coroutine_threadsafe", "as_completed", "TaskGroup", "timeout",
})


def unawaited_calls(code: CodeBase) -> list[Violation]:
    async_only = _unambiguous_async_names(code)
    found = []
    for source in code.files:
        for node in source.nodes:
            if not isinstance(node, ast.Call):
                continue
            name = _coroutine_call(code, source, node, async_only)
            if name is None or _consumed(source, node):
                continue
            found.append(violation(
                "static.unawaited-async", f"coroutine {name}() is called but never awaited",
                location=source.where(node), expected=f"await {ast.unparse(node)} (or spawn it in a task group)",
                seen=ast.unparse(node), function=name,
            ))
    return found


_BUILTIN_METHODS = frozenset(
    name for kind in (dict, list, set, str, bytes, bytearray, tuple, frozenset, int, float, object)
    for name in dir(kind))


def _unambiguous_async_names(code: CodeBase) -> frozenset[str]:
    return frozenset(name for name, defs in code.functions.items()
                     if name not in _BUILTIN_METHODS and all(_plain_async(d) for _, d in defs))


def _coroutine_call(code: CodeBase, source: SourceFile, call: ast.Call,
                    async_only: frozenset[str]) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute):
        if _is_self(func.value):
            cls = source.enclosing_class(call)
            method = code.method(cls, func.attr) if cls else None
            if method is not None:
                return func.attr if _plain_async(method) else None
            return func.attr if func.attr in async_only else None
        held = isinstance(func.value, ast.Attribute) and _is_self(func.value.value)
        return func.attr if held and func.attr in async_only else None
    if isinstance(func, ast.Name):
        function = code.module_function(source, func.id)
        return func.id if function is not None and _plain_async(function) else None
    return None


def _is_self(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "self"


def _plain_async(function: ast.AST) -> bool:
    """An undecorated ``async def`` that is not an async generator: calling it makes a coroutine."""
    if not isinstance(function, ast.AsyncFunctionDef) or function.decorator_list:
        return False
    return not any(isinstance(n, ast.Yield | ast.YieldFrom) for n in own_nodes(function))


def _consumed(source: SourceFile, call: ast.Call) -> bool:
    """Awaited, spawned, or returned to a caller who will.  Assigning the coroutine to a name
    is *not* consuming it: ``state = self._load()`` without await is the classic bug."""
    for ancestor in source.ancestors(call):
        if isinstance(ancestor, ast.Await | ast.Return | ast.Lambda):
            return True
        if isinstance(ancestor, ast.Call) and _callee_name(ancestor) in SPAWNERS:
            return True
        if isinstance(ancestor, ast.stmt):
            return False
    return False


def _callee_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
