"""``static.unawaited-async``: a coroutine function called and neither awaited nor spawned.

Without ``await`` the call only creates a coroutine object; the body never runs (the seed
report's ``_transition_to`` made async while a call site still called it plainly).

Which calls are coroutine calls, without running anything:
- ``self.m(...)`` where the enclosing class (or a scanned base) defines ``async def m``;
- ``f(...)`` where ``f`` is an ``async def`` of the module (or imported from a scanned one);
- ``mod.f(...)`` where ``mod`` is a scanned module imported by name;
- ``x.m(...)`` / ``self.x.m(...)`` where the code says what ``x`` is (an assignment from a
  constructor, an annotation, an annotated constructor parameter; ``contracts.scanner.types``)
  and that class's ``m`` is ``async def``.  A receiver of a class outside the scanned code is
  never judged (``pool: asyncpg.Pool``: its ``acquire`` is not the tree's ``acquire``);
- ``self.x.m(...)`` of unknown type when every definition named ``m`` in the tree is
  ``async def`` (an unambiguous name such as ``publish`` or ``start_session``) and ``m`` is not
  a method of a builtin type (``self._tasks.clear()`` is a dict's).
Decorated async functions are skipped (``@asynccontextmanager`` changes what a call returns),
and so are async generators (calling one returns an async iterator, not a coroutine).

A coroutine is *consumed* (not reported) when it is awaited, returned, yielded, used as an
``async with`` context or ``async for`` iterable, or handed to another call as an argument
(``create_task``, ``gather``, ``ensure_future``, ``inspect.isawaitable``, a project's own
``spawn``, ``tasks.append``): the receiver owns it.  Not when the receiver only looks at it
(``print``, a logger), takes it as data (the bus's publish, a database method), or is a
function of the scanned code that never awaits, spawns, returns or hands on that parameter.
Assigned to a name, it is consumed when that name is later used in one of those ways; a
coroutine only stored and tested
(``state = self._load(); if state:``) is the classic bug and is reported.
"""

from __future__ import annotations

import ast

from contracts.rules import violation
from contracts.scanner.source import CodeBase, SourceFile, own_nodes, parameters
from contracts.scanner.types import receiver_type
from simwire.violation import Violation

NOT_OWNERS = frozenset({
    "print", "str", "repr", "bool", "len", "format", "id", "type", "isinstance",
    "debug", "info", "warning", "warn", "error", "exception", "critical", "log",
})
"""Calls that look at a coroutine without taking it over: handing one to these is no await."""


def unawaited_calls(code: CodeBase, data_methods: tuple[str, ...] = ()) -> list[Violation]:
    """Every coroutine call not consumed; ``data_methods`` (the bus's publish and the database
    methods) take their arguments as data, so a coroutine handed to them is not consumed."""
    async_only = _unambiguous_async_names(code)
    ownership = _Ownership(code, frozenset(data_methods))
    found = []
    for source in code.files:
        for node in source.nodes:
            if not isinstance(node, ast.Call):
                continue
            name = _coroutine_call(code, source, node, async_only)
            if name is None or ownership.consumed(source, node):
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
            found = code.definition(source, func, call)
            if found is not None:
                return func.attr if _plain_async(found[1]) else None
            return func.attr if func.attr in async_only else None
        found = code.definition(source, func, call)   # a typed receiver, or a module's function
        if found is not None:
            return func.attr if _plain_async(found[1]) else None
        if receiver_type(code, source, func.value, call) is not None:
            return None   # a class outside the code, or a method the scanned class does not define
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


class _Ownership:
    """Whether a coroutine object is consumed where it appears (see the module docstring).

    Handing a coroutine to a call counts as handing it over unless the callee only looks at
    it (``NOT_OWNERS``), takes it as data (a bus publish or database method: a payload or a
    query argument that is a coroutine is the bug itself), or is a function of the scanned
    code whose parameter is never awaited, spawned, returned or handed on in turn."""

    def __init__(self, code: CodeBase, data_methods: frozenset[str]) -> None:
        self.code = code
        self.data_methods = data_methods

    def consumed(self, source: SourceFile, node: ast.expr, follow: bool = True, depth: int = 0) -> bool:
        child: ast.AST = node
        for ancestor in source.ancestors(node):
            if isinstance(ancestor, ast.Await | ast.Return | ast.Lambda | ast.Yield | ast.YieldFrom):
                return True
            if isinstance(ancestor, ast.withitem) and child is ancestor.context_expr:
                return True
            if isinstance(ancestor, ast.AsyncFor) and child is ancestor.iter:
                return True
            if isinstance(ancestor, ast.Call) and child is not ancestor.func:
                return self._handed_over(source, ancestor, child, depth)
            if isinstance(ancestor, ast.Assign | ast.AnnAssign) and follow:
                targets = ancestor.targets if isinstance(ancestor, ast.Assign) else [ancestor.target]
                return any(self._name_consumed(source, ancestor, target, depth) for target in targets)
            if isinstance(ancestor, ast.stmt):
                return False
            child = ancestor
        return False

    def _handed_over(self, source: SourceFile, call: ast.Call, child: ast.AST, depth: int) -> bool:
        name = _callee_name(call)
        if name in NOT_OWNERS or name in self.data_methods:
            return False
        target = self.code.definition(source, call.func, call)
        if target is None or depth >= 3:
            return True   # a library's or an unknown receiver's function: it takes the coroutine over
        param = _parameter_for(target[1], call, child)
        if param is None:
            return True
        owner, function = target
        return any(isinstance(n, ast.Name) and n.id == param and isinstance(n.ctx, ast.Load)
                   and self.consumed(owner, n, follow=True, depth=depth + 1) for n in own_nodes(function))

    def _name_consumed(self, source: SourceFile, assignment: ast.stmt, target: ast.expr, depth: int) -> bool:
        """``pending = self.m()``: consumed when a later use of ``pending`` is; stored on an
        object (``self._job = self.m()``) it is someone else's to await."""
        if isinstance(target, ast.Attribute | ast.Subscript):
            return True
        if not isinstance(target, ast.Name):
            return False
        scope = source.enclosing_function(assignment)
        nodes = own_nodes(scope) if scope is not None else source.nodes
        return any(isinstance(n, ast.Name) and n.id == target.id and isinstance(n.ctx, ast.Load)
                   and n.lineno >= assignment.lineno and self.consumed(source, n, follow=False, depth=depth)
                   for n in nodes)


def _parameter_for(function: ast.AST, call: ast.Call, child: ast.AST) -> str | None:
    """The parameter of ``function`` that receives ``child`` at ``call`` (None: ``*args``,
    ``**kwargs`` or a starred argument, which are not followed)."""
    if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    if isinstance(child, ast.keyword):
        return child.arg
    if child not in call.args or any(isinstance(a, ast.Starred) for a in call.args):
        return None
    names = parameters(function)
    index = call.args.index(child)
    return names[index] if index < len(names) else None


def _callee_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
