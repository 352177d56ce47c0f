"""Resolving expressions to the values a rule needs: a string (topic name, SQL text) or the
set of keys of a payload dict.

Only what can be read without running the code is resolved: literals, module constants
(also imported from another scanned module), local names bound to a literal, and helpers
(``self._payload(...)``) returning one, up to ``MAX_DEPTH`` steps.  Anything else resolves to
``None`` so the caller can say "unresolved" instead of guessing.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache

from contracts.scanner.source import CodeBase, FunctionNode, SourceFile

MAX_DEPTH = 8   # names and helper calls followed per expression; stops self-referencing bindings


@dataclass(frozen=True)
class Keys:
    """Payload keys: ``complete`` is False when a part of the dict could not be read."""

    names: tuple[str, ...]
    complete: bool


class Resolver:
    """String and payload resolution against one code base.

    ``constant_modules`` are extra modules whose constants are visible by bare attribute
    name, e.g. ``topics.SIGNAL_GENERATED`` when ``topics`` is the registry's topic module.
    """

    def __init__(self, code: CodeBase, constant_modules: tuple[SourceFile, ...] = ()) -> None:
        self.code = code
        self.constant_modules = constant_modules

    # -- strings -----------------------------------------------------------------------

    def string(self, source: SourceFile, expr: ast.expr, depth: int = 0) -> str | None:
        if depth > MAX_DEPTH:
            return None
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return expr.value
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            left = self.string(source, expr.left, depth + 1)
            right = self.string(source, expr.right, depth + 1)
            return left + right if left is not None and right is not None else None
        bound = self.binding(source, expr)
        if bound is not None:
            owner, value = bound
            return self.string(owner, value, depth + 1)
        return None

    def formatting(self, source: SourceFile, expr: ast.expr, depth: int = 0) -> str | None:
        """How a string expression is assembled at run time, if it is (else ``None``)."""
        if depth > MAX_DEPTH:
            return None
        if isinstance(expr, ast.JoinedStr) and any(isinstance(v, ast.FormattedValue) for v in expr.values):
            return "f-string"
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mod):
            return "% formatting"
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add) and self.string(source, expr) is None:
            return "+ concatenation"
        if (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute)
                and expr.func.attr == "format"):
            return ".format()"
        bound = self.binding(source, expr)
        if bound is not None:
            owner, value = bound
            return self.formatting(owner, value, depth + 1)
        return None

    def binding(self, source: SourceFile, expr: ast.expr) -> tuple[SourceFile, ast.expr] | None:
        """The expression a name or ``module.NAME`` is bound to (local, module or imported)."""
        if isinstance(expr, ast.Name):
            function = source.enclosing_function(expr)
            if function is not None:
                local = local_assignment(function, expr.id, expr.lineno)
                if local is not None:
                    return source, local
            if expr.id in source.constants:
                return source, source.constants[expr.id]
            imported = source.imports.get(expr.id)
            if imported and imported[1] is not None:
                target = self.code.module(imported[0])
                if target is not None and imported[1] in target.constants:
                    return target, target.constants[imported[1]]
            return None
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
            for target in self._modules_named(source, expr.value.id):
                if expr.attr in target.constants:
                    return target, target.constants[expr.attr]
        return None

    def _modules_named(self, source: SourceFile, alias: str) -> list[SourceFile]:
        found: list[SourceFile] = []
        imported = source.imports.get(alias)
        if imported is not None:
            dotted = f"{imported[0]}.{imported[1]}" if imported[1] else imported[0]
            for candidate in (dotted, imported[0]):
                target = self.code.module(candidate)
                if target is not None:
                    found.append(target)
        found.extend(m for m in self.constant_modules if m.module.rpartition(".")[2] == alias)
        return found

    # -- payload keys ------------------------------------------------------------------

    def keys(self, source: SourceFile, expr: ast.expr, depth: int = 0) -> Keys | None:
        """Keys of a payload: a dict literal, ``dict(k=...)``, a local name bound to one (plus
        ``name["k"] = ...``, ``name.update(...)``, ``name.setdefault("k", ...)``), or a helper
        (``self._signal(...)``) returning one, through up to ``MAX_DEPTH`` names and calls."""
        if depth > MAX_DEPTH:
            return None
        if isinstance(expr, ast.Dict):
            return self._dict_keys(source, expr, depth)
        if isinstance(expr, ast.Name):
            function = source.enclosing_function(expr)
            if function is not None and local_assignment(function, expr.id, 10**9) is not None:
                return self._name_keys(source, function, expr.id, depth + 1)
            bound = self.binding(source, expr)   # a module constant, also imported
            return self.keys(bound[0], bound[1], depth + 1) if bound is not None else None
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "dict":
            return self._dict_call_keys(source, expr, depth)
        if isinstance(expr, ast.Call):
            target = self.code.callee(source, expr)
            if target is not None:
                return self._returned_keys(*target, depth + 1)
        return None

    def _dict_call_keys(self, source: SourceFile, call: ast.Call, depth: int) -> Keys:
        """``dict(base, k=v, **more)``: the keys of every positional mapping and ``**`` spread."""
        names = [kw.arg for kw in call.keywords if kw.arg]
        complete = len(call.args) <= 1
        for part in [*call.args[:1], *(kw.value for kw in call.keywords if kw.arg is None)]:
            spread = self.keys(source, part, depth + 1)
            names.extend(spread.names if spread else ())
            complete = complete and bool(spread and spread.complete)
        return Keys(tuple(names), complete)

    def _dict_keys(self, source: SourceFile, node: ast.Dict, depth: int) -> Keys:
        names: list[str] = []
        complete = True
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:
                spread = self.keys(source, value, depth)
                names.extend(spread.names if spread else ())
                complete = complete and bool(spread and spread.complete)
            elif isinstance(key, ast.Constant) and isinstance(key.value, str):
                names.append(key.value)
            else:
                complete = False
        return Keys(tuple(names), complete)

    def _name_keys(self, source: SourceFile, function: FunctionNode, name: str, depth: int) -> Keys | None:
        bound: list[Keys | None] = []
        extra: list[str] = []
        complete = True
        for node in ast.walk(function):
            if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if _is_name(target, name):
                        bound.append(self.keys(source, node.value, depth))
                    elif isinstance(target, ast.Subscript) and _is_name(target.value, name):
                        key = _const_str(target.slice)
                        if key is None:
                            complete = False
                        else:
                            extra.append(key)
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and _is_name(node.func.value, name) and node.func.attr in ("update", "setdefault")):
                if node.func.attr == "setdefault" and node.args and (key := _const_str(node.args[0])):
                    extra.append(key)
                    continue
                extra.extend(kw.arg for kw in node.keywords if kw.arg)
                for arg in node.args:
                    value = self.keys(source, arg, depth)
                    extra.extend(value.names if value else ())
                    complete = complete and bool(value and value.complete)
        if not bound or any(b is None for b in bound):
            return None
        names = tuple(n for b in bound if b for n in b.names) + tuple(extra)
        return Keys(names, complete and all(b.complete for b in bound if b))

    def _returned_keys(self, source: SourceFile, function: FunctionNode, depth: int) -> Keys | None:
        """Keys of every dict ``function`` can return (``return None`` paths are ignored)."""
        results = [
            self.keys(source, node.value, depth)
            for node in ast.walk(function)
            if isinstance(node, ast.Return) and node.value is not None
            and not (isinstance(node.value, ast.Constant) and node.value.value is None)
        ]
        if not results or any(r is None for r in results):
            return None
        names = tuple(dict.fromkeys(n for r in results if r for n in r.names))
        return Keys(names, all(r.complete for r in results if r))


def _is_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _const_str(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def local_assignment(function: FunctionNode, name: str, before_line: int) -> ast.expr | None:
    """The last ``name = value`` in ``function`` above ``before_line`` (None if none)."""
    earlier = [(line, value) for line, value in _assignments(function).get(name, ()) if line < before_line]
    return max(earlier, key=lambda pair: pair[0])[1] if earlier else None


@lru_cache(maxsize=4096)
def _assignments(function: FunctionNode) -> dict[str, list[tuple[int, ast.expr]]]:
    """Every ``name = value`` in ``function`` by name (cached: the rules ask again and again)."""
    found: dict[str, list[tuple[int, ast.expr]]] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, []).append((node.lineno, node.value))
    return found
