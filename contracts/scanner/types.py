"""What class a receiver is, read from assignments and annotations (never by running code).

``x.m()`` can only be resolved to ``def m`` when the scanner knows what ``x`` is.  It is known
when the code says so:

- ``x = OrderManager(...)`` or ``x: OrderManager`` / ``x: OrderManager | None = ...`` in the
  function, or a parameter annotated ``x: OrderManager``;
- ``self.x = OrderManager(...)``, ``self.x: OrderManager``, a class-level ``x: OrderManager``,
  or ``self.x = param`` where ``param`` is annotated (the usual constructor injection);
- ``x = self.x`` (a local alias of a known attribute).

A receiver whose type is a class *outside* the scanned code (``pool: asyncpg.Pool``, or built
by an imported library, ``self.client = httpx.AsyncClient()``, ``await asyncpg.create_pool()``)
is known too, as external: its methods are not the scanned code's, so a same-named
``async def`` in the tree says nothing about it.  Anything else is unknown, and callers fall back to what they did
before (judging by name where that is safe).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from contracts.scanner.source import CodeBase, FunctionNode, SourceFile


@dataclass(frozen=True)
class TypeRef:
    """A receiver's class: ``name`` as spelled (last dotted part); ``scanned`` when the class
    is defined in the scanned code."""

    name: str
    scanned: bool


def receiver_type(code: CodeBase, source: SourceFile, expr: ast.expr, at: ast.AST) -> TypeRef | None:
    """The class of ``expr`` (a local name or ``self.attr``) at node ``at``, if the code says it."""
    from contracts.scanner.source import FunctionNode

    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "self":
        cls = source.enclosing_class(at)
        return attribute_type(code, source, cls, expr.attr) if cls is not None else None
    if isinstance(expr, ast.Name) and expr.id != "self":
        function = source.enclosing_function(at)
        if isinstance(function, FunctionNode):
            return _local_type(code, source, function, expr.id, getattr(at, "lineno", 10**9))
    return None


_RESOLVING: set[tuple[int, str]] = set()
"""Attributes being typed right now: ``self.a = self.b.make()`` / ``self.b = self.a.make()``
would otherwise chase each other forever."""


def attribute_type(code: CodeBase, source: SourceFile, cls: ast.ClassDef, attr: str,
                   depth: int = 0) -> TypeRef | None:
    """``self.attr``'s class from the class body: an annotation, or an assignment in a method."""
    key = (id(cls), attr)
    if key in _RESOLVING:
        return None
    _RESOLVING.add(key)
    try:
        return _attribute_type(code, source, cls, attr, depth)
    finally:
        _RESOLVING.discard(key)


def _attribute_type(code: CodeBase, source: SourceFile, cls: ast.ClassDef, attr: str, depth: int) -> TypeRef | None:
    """Own class body first (annotation, ``@property`` return annotation, assignments in the
    methods), then the scanned base classes (an attribute set in a base's ``__init__``)."""
    from contracts.scanner.source import FunctionNode

    for node in cls.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == attr:
            return annotation_type(code, node.annotation, source)
        if isinstance(node, FunctionNode) and node.name == attr and any(
                _last_name(d) in ("property", "cached_property") for d in node.decorator_list):
            return annotation_type(code, node.returns, source)
    for method, node in _self_assignments(cls).get(attr, ()):
        # ``self._fp: Any = fp``: an annotation that names no class defers to the value.
        found = annotation_type(code, node.annotation, source) if isinstance(node, ast.AnnAssign) else None
        if found is None and node.value is not None:
            found = _value_type(code, source, method, node.value, node.lineno, depth=depth + 1)
        if found is not None:
            return found
    from contracts.scanner.source import named_class

    for base in cls.bases:
        defs = code.classes.get(named_class(base) or "", [])
        if len(defs) == 1 and defs[0][1] is not cls:
            found = attribute_type(code, defs[0][0], defs[0][1], attr, depth + 1)
            if found is not None:
                return found
    return None


@lru_cache(maxsize=4096)
def _self_assignments(cls: ast.ClassDef) -> dict[str, list[tuple[FunctionNode, ast.Assign | ast.AnnAssign]]]:
    """``self.attr = ...`` / ``self.attr: T`` in the class's methods, by attribute (walked once)."""
    from contracts.scanner.source import FunctionNode

    found: dict[str, list[tuple[FunctionNode, ast.Assign | ast.AnnAssign]]] = {}
    for method in (n for n in cls.body if isinstance(n, FunctionNode)):
        for node in ast.walk(method):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Attribute):
                targets: list[ast.expr] = [node.target]
            elif isinstance(node, ast.Assign):
                targets = node.targets
            else:
                continue
            for target in targets:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                        and target.value.id == "self":
                    found.setdefault(target.attr, []).append((method, node))
    return found


def annotation_type(code: CodeBase, annotation: ast.expr | None, source: SourceFile | None = None) -> TypeRef | None:
    """``T``, ``mod.T``, ``"T"``, ``T | None``, ``Optional[T]``, ``IO[bytes]`` (its class): the
    one class named, if one."""
    if annotation is None:
        return None
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return None
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        sides = [s for s in (annotation.left, annotation.right) if not _is_none(s)]
        return annotation_type(code, sides[0], source) if len(sides) == 1 else None
    if isinstance(annotation, ast.Subscript):
        outer = _last_name(annotation.value)
        if outer in ("Optional", "Annotated", "Final", "ClassVar"):
            inner = annotation.slice.elts[0] if isinstance(annotation.slice, ast.Tuple) else annotation.slice
            return annotation_type(code, inner, source)
        if outer == "Union":
            return None
        annotation = annotation.value   # ``IO[bytes]``, ``list[Order]``, ``Repo[T]``: the class itself
    name = _last_name(annotation)
    if name is None or name in ("Any", "object"):
        return None
    if source is not None and isinstance(annotation, ast.Attribute) and _from_outside(code, source, annotation):
        return TypeRef(name, False)   # ``threading.Event`` is not the tree's ``Event``
    return TypeRef(name, name in code.classes)


def _local_type(code: CodeBase, source: SourceFile, function: FunctionNode, name: str, line: int,
                depth: int = 0) -> TypeRef | None:
    if depth > 6:
        return None
    latest: tuple[int, TypeRef | None] | None = None
    for node in _local_assignments(function).get(name, ()):
        if node.lineno >= line or (latest is not None and node.lineno < latest[0]):
            continue
        if isinstance(node, ast.AnnAssign):
            latest = (node.lineno, annotation_type(code, node.annotation, source))
        else:
            latest = (node.lineno, _value_type(code, source, function, node.value, node.lineno, depth + 1))
    if latest is not None:
        return latest[1]
    args = function.args
    for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
        if arg.arg == name:
            return annotation_type(code, arg.annotation, source)
    return None


@lru_cache(maxsize=4096)
def _local_assignments(function: FunctionNode) -> dict[str, list[ast.Assign | ast.AnnAssign]]:
    """``name = ...`` / ``name: T = ...`` in the function, by name (walked once)."""
    found: dict[str, list[ast.Assign | ast.AnnAssign]] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found.setdefault(node.target.id, []).append(node)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, []).append(node)
    return found


def _value_type(code: CodeBase, source: SourceFile, function: FunctionNode, value: ast.expr, line: int,
                depth: int) -> TypeRef | None:
    """The class of an assigned value: a constructor call, an annotated name, ``self.attr``."""
    if isinstance(value, ast.Await):
        value = value.value
    if isinstance(value, ast.Call):
        name = _last_name(value.func)
        if name is not None and _from_outside(code, source, value.func):
            return TypeRef(name, False)   # httpx.AsyncClient(), threading.Event(), await asyncpg.create_pool()
        if name is not None and name in code.classes:
            return TypeRef(name, True)
        target = code.definition(source, value.func, value)   # a factory: its return annotation
        return annotation_type(code, target[1].returns, target[0]) if target is not None else None
    if isinstance(value, ast.Name):
        return _local_type(code, source, function, value.id, line, depth + 1)
    if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) and value.value.id == "self":
        cls = source.enclosing_class(function)
        if cls is not None and depth < 4:
            return attribute_type(code, source, cls, value.attr, depth + 1)
    return None


def _from_outside(code: CodeBase, source: SourceFile, func: ast.expr) -> bool:
    """``func`` is reached through an import of a module that is not part of the scanned code."""
    while isinstance(func, ast.Attribute):
        func = func.value
    if not isinstance(func, ast.Name) or func.id not in source.imports:
        return False
    module, attribute = source.imports[func.id]
    candidates = [module] + ([f"{module}.{attribute}"] if attribute else [])
    return not any(code.module(candidate) is not None for candidate in candidates) and not (
        attribute is not None and attribute in code.classes)


def _is_self_attr(node: ast.AST, attr: str) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == attr and isinstance(node.value, ast.Name)
            and node.value.id == "self")


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _last_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None
