"""``static.lock-order``: two locks of one object taken in opposite orders on two paths.

For each class, every ``async with self._a:`` (or ``with``) inside ``async with self._b:``
adds the edge ``_b -> _a`` to the class's lock-order graph, also when the inner lock is taken
by a ``self.method()`` called while holding the outer one (one level deep).  Any cycle means
two tasks can each hold one lock and wait for the other: the ABBA deadlock of the seed
report (``_lock`` / ``_order_sequence_lock``).  A self-loop is a non-reentrant lock taken
again by its holder; a re-entrant one (``threading.RLock``, ``multiprocessing.RLock``) may be
taken again by design, so only its cycles with other locks count.  The runtime twin is the
kernel's ``kernel.lock-order`` (lockdep).
"""

from __future__ import annotations

import ast
from collections import deque
from dataclasses import dataclass

from contracts.rules import violation
from contracts.scanner.source import CodeBase, FunctionNode, SourceFile
from simwire.violation import Violation

_LOCK_TYPES = ("Lock", "RLock", "Semaphore", "BoundedSemaphore", "Condition", "CapacityLimiter")
_LOCK_WORDS = frozenset({"lock", "rlock", "mutex", "semaphore"})   # in names: ``_order_lock``, not ``_clock``


@dataclass(frozen=True, order=True)
class _Edge:
    held: str
    taken: str
    path: str   # "Class.method (file:line)" or "Class.a (file:l) -> Class.b (file:l)"


def lock_order_violations(code: CodeBase) -> list[Violation]:
    found = []
    for source in code.files:
        for cls in (n for n in source.nodes if isinstance(n, ast.ClassDef)):
            locks = lock_attributes(cls)
            if locks:
                reentrant = _reentrant_locks(cls)
                edges = [e for e in _edges(code, source, cls, locks) if not (e.held == e.taken in reentrant)]
                found.extend(_cycles(source, cls, edges))
    return found


def lock_attributes(cls: ast.ClassDef) -> frozenset[str]:
    names = set()
    for node in ast.walk(cls):
        if not isinstance(node, ast.Assign | ast.AnnAssign):
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if _self_attr(target) is None:
                continue
            value = node.value
            callee = ""
            if isinstance(value, ast.Call):
                func = value.func
                callee = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if callee.endswith(_LOCK_TYPES) or _LOCK_WORDS & set(target.attr.lower().split("_")):
                names.add(target.attr)
    return frozenset(names)


def _reentrant_locks(cls: ast.ClassDef) -> frozenset[str]:
    """Attributes assigned an ``RLock()`` (any module's): re-taking them is not a deadlock."""
    names = set()
    for node in ast.walk(cls):
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Call):
            func = node.value.func
            callee = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if callee == "RLock":
                names.update(name for t in targets if (name := _self_attr(t)) is not None)
    return frozenset(names)


def _self_attr(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return node.attr
    return None


def _acquired(node: ast.With | ast.AsyncWith, locks: frozenset[str]) -> list[str]:
    return [name for item in node.items if (name := _self_attr(item.context_expr)) in locks]


def _direct_locks(method: FunctionNode, locks: frozenset[str]) -> list[str]:
    return [name for node in ast.walk(method) if isinstance(node, ast.With | ast.AsyncWith)
            for name in _acquired(node, locks)]


def _held_at(source: SourceFile, node: ast.AST, method: FunctionNode, locks: frozenset[str]) -> list[str]:
    held: list[str] = []
    for ancestor in source.ancestors(node):
        if ancestor is method:
            break
        if isinstance(ancestor, ast.With | ast.AsyncWith) and node not in ancestor.items:
            held = _acquired(ancestor, locks) + held
    return held


def _edges(code: CodeBase, source: SourceFile, cls: ast.ClassDef, locks: frozenset[str]) -> list[_Edge]:
    edges = []
    methods = [n for n in cls.body if isinstance(n, FunctionNode)]
    for method in methods:
        here = f"{cls.name}.{method.name}"
        for node in ast.walk(method):
            if isinstance(node, ast.With | ast.AsyncWith):
                held = _held_at(source, node, method, locks)
                taken = _acquired(node, locks)
                # ``async with self._a, self._b:`` takes _a then _b.
                for index, name in enumerate(taken):
                    for outer in [*held, *taken[:index]]:
                        edges.append(_Edge(outer, name, f"{here} ({source.where(node)})"))
            elif isinstance(node, ast.Call) and (callee := _self_attr(node.func)):
                held = _held_at(source, node, method, locks)
                target = code.method(cls, callee)
                if not held or target is None or target is method:
                    continue
                path = f"{here} ({source.where(node)}) -> {cls.name}.{callee} ({source.where(target)})"
                edges.extend(_Edge(outer, name, path) for name in _direct_locks(target, locks) for outer in held)
    return sorted(set(edges))


def _cycles(source: SourceFile, cls: ast.ClassDef, edges: list[_Edge]) -> list[Violation]:
    first: dict[tuple[str, str], _Edge] = {}
    for edge in edges:
        first.setdefault((edge.held, edge.taken), edge)
    reported: set[frozenset[tuple[str, str]]] = set()
    found = []
    for (held, taken), edge in sorted(first.items()):
        back = _path(first, taken, held)
        if back is None:
            continue
        cycle = [edge, *back] if held != taken else [edge]
        key = frozenset((e.held, e.taken) for e in cycle)
        if key in reported:
            continue
        reported.add(key)
        order = " -> ".join([cycle[0].held, *(e.taken for e in cycle)])
        paths = "; ".join(f"{e.held} then {e.taken} in {e.path}" for e in cycle)
        message = (f"{cls.name} takes {held} again while holding it" if held == taken
                   else f"{cls.name} takes its locks in opposite orders: {order}")
        found.append(violation(
            "static.lock-order", message, location=source.where(cls),
            expected="one fixed acquisition order for every path (or a single lock)",
            seen=paths, cycle=[e.held for e in cycle],
        ))
    return found


def _path(edges: dict[tuple[str, str], _Edge], start: str, goal: str) -> list[_Edge] | None:
    """Shortest edge path ``start -> ... -> goal`` (empty when start == goal)."""
    if start == goal:
        return []
    queue: deque[tuple[str, list[_Edge]]] = deque([(start, [])])
    seen = {start}
    while queue:
        node, trail = queue.popleft()
        for (held, taken), edge in sorted(edges.items()):
            if held != node or taken in seen:
                continue
            if taken == goal:
                return [*trail, edge]
            seen.add(taken)
            queue.append((taken, [*trail, edge]))
    return None
