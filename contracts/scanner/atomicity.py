"""``static.check-then-act``: state read under a lock, acted on after the lock was released
across an ``await``.

A lock makes a read and the write that depends on it one step only while both are inside it.
Narrow the lock so that the read stays inside and the act moves out, and any task that runs at
the ``await`` in between can change the state: the act then works on a stale value (two tasks
both see "no position" and both open one; two tasks read a balance and the second write
overwrites the first).  In asyncio nothing interleaves without an ``await``, so a release
followed by an act with no ``await`` in between is not reported.

The shape recognised, in one ``async def`` of a class with lock attributes
(``contracts.scanner.locks``):

    async with self._lock:
        value = <expression reading self.X>          # the check
    ... await ...                                    # the lock is free here
    self.X ... = ... value ...                       # the act: a write of X using the value,
    if <test using value>: <writes X>                #   or a branch on it that writes X,
    if <test using value>: await self.m(...)         #   also through a method that writes X

The read may also happen in a getter of the same class that returns the state from inside
the lock (``value = await self._position(symbol)``): the lock is released when it returns.
An act inside the same lock again (re-acquired) is not reported when it re-reads the state it
acts on (re-checking is the fix); one that only uses the stale value under the new acquisition
is (``async with lock: p = self.X`` / ``await`` / ``async with lock: act on p``).
"""

from __future__ import annotations

import ast

from contracts.rules import violation
from contracts.scanner.locks import lock_attributes
from contracts.scanner.source import CodeBase, FunctionNode, SourceFile
from simwire.violation import Violation

_MUTATORS = frozenset({"append", "extend", "insert", "pop", "popitem", "remove", "discard", "add", "update",
                       "clear", "setdefault", "appendleft", "popleft"})


def check_then_act_violations(code: CodeBase) -> list[Violation]:
    found: list[Violation] = []
    for source in code.files:
        for cls in (n for n in source.nodes if isinstance(n, ast.ClassDef)):
            locks = lock_attributes(cls)
            if not locks:
                continue
            for method in (n for n in cls.body if isinstance(n, ast.AsyncFunctionDef)):
                found.extend(_in_method(code, source, cls, method, locks))
    return found


def _in_method(code: CodeBase, source: SourceFile, cls: ast.ClassDef, method: ast.AsyncFunctionDef,
               locks: frozenset[str]) -> list[Violation]:
    found = []
    candidates: list[tuple[ast.stmt, list[str], list[tuple[str, set[str], ast.stmt]]]] = []
    for block in (n for n in ast.walk(method) if isinstance(n, ast.AsyncWith | ast.With)):
        held = [name for item in block.items if (name := _self_attr(item.context_expr)) in locks]
        if held:
            candidates.append((block, held, _reads_under(block, locks)))
    candidates.extend(_reads_through_getters(cls, method, locks))
    for block, held, reads in candidates:
        for name, attrs, read_at in reads:
            act = _first_act(code, source, cls, method, block, held, name, attrs)
            if act is None:
                continue
            where, written = act
            found.append(violation(
                "static.check-then-act",
                f"{cls.name}.{method.name} reads self.{written} into {name!r} under {', '.join(held)} and acts on "
                f"it after the lock was released across an await",
                location=source.where(read_at),
                expected=f"the act on self.{written} inside the same `async with self.{held[0]}:` as the read "
                         f"(or re-read it under the lock)",
                seen=f"read at line {read_at.lineno}, lock released at line {block.end_lineno or block.lineno}, "
                     f"acted on at "
                     f"line {where}",
                lock=held[0], attribute=written,
            ))
    return found


def _reads_through_getters(cls: ast.ClassDef, method: FunctionNode, locks: frozenset[str],
                           ) -> list[tuple[ast.stmt, list[str], list[tuple[str, set[str], ast.stmt]]]]:
    """``value = await self.get_x(...)`` where ``get_x`` returns state of self from inside one of
    its locks: the read happened under that lock, which was released when ``get_x`` returned."""
    found = []
    for stmt in ast.walk(method):
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            continue
        value = stmt.value.value if isinstance(stmt.value, ast.Await) else stmt.value
        callee = _self_attr(value.func) if isinstance(value, ast.Call) else None
        getter = next((n for n in cls.body if isinstance(n, FunctionNode) and n.name == callee), None)
        if getter is None or getter is method:
            continue
        for block in (n for n in ast.walk(getter) if isinstance(n, ast.AsyncWith | ast.With)):
            held = [name for item in block.items if (name := _self_attr(item.context_expr)) in locks]
            attrs = {a for r in ast.walk(block) if isinstance(r, ast.Return) and r.value is not None
                     for n in ast.walk(r.value) if (a := _self_attr(n)) is not None and a not in locks}
            if held and attrs:
                found.append((stmt, held, [(stmt.targets[0].id, attrs, stmt)]))
                break
    return found


def _reads_under(block: ast.With | ast.AsyncWith, locks: frozenset[str]) -> list[tuple[str, set[str], ast.stmt]]:
    """``name = <expr reading self.X>`` in the lock block: (name, {X}, statement).  State the
    block also replaces after reading it (``batch = self._pending; self._pending = []``) was
    taken, not checked: what is done with it later no longer races with other tasks."""
    reads = []
    for stmt in ast.walk(block):
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            attrs = {a for n in ast.walk(stmt.value) if (a := _self_attr(n)) is not None and a not in locks}
            taken = {a for n in ast.walk(block) if getattr(n, "lineno", 0) > stmt.lineno and (
                isinstance(n, ast.Assign) or (isinstance(n, ast.Call) and _callee(n) == "clear"))
                for a in _written(n)}
            if attrs - taken:
                reads.append((stmt.targets[0].id, attrs - taken, stmt))
    return reads


def _first_act(code: CodeBase, source: SourceFile, cls: ast.ClassDef, method: FunctionNode,
               block: ast.stmt, held: list[str], name: str,
               attrs: set[str]) -> tuple[int, str] | None:
    """The first statement after ``block`` that acts on ``name`` once an await has passed."""
    end = block.end_lineno or block.lineno
    awaited_at = min((n.lineno for n in ast.walk(method) if _suspends(n) and n.lineno > end
                      and not _inside(source, n, block)), default=None)
    if awaited_at is None:
        return None
    tainted = {name}   # the value and what is computed from it (``order = self._new(..., position)``)
    for stmt in sorted((n for n in ast.walk(method) if isinstance(n, ast.stmt) and n.lineno > end),
                       key=lambda n: n.lineno):
        if _rechecked(source, stmt, held, attrs) or not any(_uses(stmt, t) for t in tainted):
            continue
        if _rebinds(method, name, end, stmt.lineno):
            return None
        written = _acted_on(code, cls, stmt, attrs, held)
        if written is not None and (stmt.end_lineno or stmt.lineno) >= awaited_at:
            return stmt.lineno, written
        if isinstance(stmt, ast.Assign):
            tainted.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
    return None


def _acted_on(code: CodeBase, cls: ast.ClassDef, stmt: ast.stmt, attrs: set[str], held: list[str]) -> str | None:
    """The attribute of ``attrs`` that ``stmt`` writes: itself, in a branch, or through the
    ``self.m()`` calls it makes (followed a few calls deep, into overriding subclasses too),
    unless the method called takes the lock again: then it re-checks under it."""
    scope: list[ast.AST] = [stmt] if not isinstance(stmt, ast.If | ast.While) else [*stmt.body, *stmt.orelse]
    nodes = [n for part in scope for n in ast.walk(part)]
    written = {a for n in nodes for a in _written(n)}
    for node in nodes:
        if isinstance(node, ast.Call) and (callee := _self_attr(node.func)) is not None:
            written |= _method_writes(code, cls.name, callee, held, depth=0, seen=set())
    hit = written & attrs
    return sorted(hit)[0] if hit else None


def _method_writes(code: CodeBase, cls: str, name: str, held: list[str], depth: int,
                   seen: set[tuple[str, str]]) -> set[str]:
    """Attributes of self written by ``cls.name`` and the self-methods it calls, in ``cls`` and
    in each concrete subclass (an abstract ``_execute`` runs as its override)."""
    if depth > 3 or (cls, name) in seen:
        return set()
    seen.add((cls, name))
    written: set[str] = set()
    for concrete in sorted({cls, *code.concrete(cls)}):
        found = code.class_method(concrete, name)
        if found is None or _takes(found[1], held):
            continue
        for node in ast.walk(found[1]):
            written |= _written(node)
            if isinstance(node, ast.Call) and (callee := _self_attr(node.func)) is not None:
                written |= _method_writes(code, concrete, callee, held, depth + 1, seen)
    return written


def _written(node: ast.AST) -> set[str]:
    """Attributes of self that ``node`` changes: assignment, augmented assignment, item
    assignment or deletion, or a mutating method call (``self.X.append(...)``)."""
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    elif isinstance(node, ast.Delete):
        targets = node.targets
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
        targets = [node.func.value]
    written = set()
    for target in targets:
        # ``self.X[k] = v``, ``self.X.setdefault(k, {})[j] = v``: the root attribute is written.
        while isinstance(target, ast.Subscript | ast.Call) or (
                isinstance(target, ast.Attribute) and _self_attr(target) is None):
            target = target.value if isinstance(target, ast.Subscript | ast.Attribute) else target.func
        if (attr := _self_attr(target)) is not None:
            written.add(attr)
    return written


def _takes(method: FunctionNode, held: list[str]) -> bool:
    return any(isinstance(n, ast.With | ast.AsyncWith) and any(_self_attr(i.context_expr) in held for i in n.items)
               for n in ast.walk(method))


def _callee(call: ast.Call) -> str:
    return call.func.attr if isinstance(call.func, ast.Attribute) else ""


def _suspends(node: ast.AST) -> bool:
    return isinstance(node, ast.Await | ast.AsyncWith | ast.AsyncFor)


def _uses(stmt: ast.stmt, name: str) -> bool:
    test = [stmt.test] if isinstance(stmt, ast.If | ast.While) else [stmt]
    return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)
               for part in test for n in ast.walk(part))


def _rebinds(method: FunctionNode, name: str, after: int, before: int) -> bool:
    """``name`` assigned again between the lock's end and the act: the act uses a new value."""
    return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store)
               and after < n.lineno < before for n in ast.walk(method))


def _rechecked(source: SourceFile, stmt: ast.stmt, held: list[str], attrs: set[str]) -> bool:
    """``stmt`` runs under the lock again *and* reads the checked state afresh (in its test, for
    a branch or loop): the stale value is checked again, not acted on blindly."""
    if not _under_lock(source, stmt, held):
        return False
    read = [stmt.test] if isinstance(stmt, ast.If | ast.While) else [stmt]
    return any(isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Load) and _self_attr(n) in attrs
               for part in read for n in ast.walk(part))


def _under_lock(source: SourceFile, node: ast.AST, held: list[str]) -> bool:
    """``node`` is (or is inside) an ``async with`` of one of the ``held`` locks."""
    return any(isinstance(a, ast.With | ast.AsyncWith) and any(_self_attr(i.context_expr) in held for i in a.items)
               for a in (node, *source.ancestors(node)))


def _inside(source: SourceFile, node: ast.AST, block: ast.AST) -> bool:
    return any(a is block for a in source.ancestors(node))


def _self_attr(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return node.attr
    return None
