"""The scanned code base: every ``.py`` file under a root, parsed once, with the indexes the
rules share (parents, classes, functions, module constants, imports).

The scanner never imports the code it judges; everything here is read from the syntax tree,
so a broken or half-written module is reported (``static.syntax-error``) instead of crashing
the check.  Files are visited in sorted relative-path order so every result is deterministic.
"""

from __future__ import annotations

import ast
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from contracts.rules import violation
from contracts.scanner.types import receiver_type
from simwire.violation import Violation

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
_NEVER_SCANNED = frozenset({"__pycache__", "site-packages", "node_modules"})


@dataclass(eq=False)
class SourceFile:
    """One parsed module.  ``rel`` is its posix path relative to the scanned root."""

    rel: str
    module: str
    tree: ast.Module
    parents: dict[ast.AST, ast.AST] = field(default_factory=dict)
    nodes: list[ast.AST] = field(default_factory=list)   # every node, walked once
    constants: dict[str, ast.expr] = field(default_factory=dict)
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)

    def where(self, node: ast.AST) -> str:
        return f"{self.rel}:{getattr(node, 'lineno', 0)}"

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        current = self.parents.get(node)
        while current is not None:
            yield current
            current = self.parents.get(current)

    def enclosing_class(self, node: ast.AST) -> ast.ClassDef | None:
        return next((a for a in self.ancestors(node) if isinstance(a, ast.ClassDef)), None)

    def enclosing_function(self, node: ast.AST) -> FunctionNode | None:
        return next((a for a in self.ancestors(node) if isinstance(a, FunctionNode)), None)

    def component(self, node: ast.AST) -> str:
        """The component a site belongs to: its class, or ``module:<name>`` outside classes."""
        cls = self.enclosing_class(node)
        return cls.name if cls else f"module:{self.module}"


@dataclass(eq=False)
class CodeBase:
    """All modules under ``root`` plus name indexes across them."""

    root: Path
    files: list[SourceFile]
    by_module: dict[str, SourceFile]
    classes: dict[str, list[tuple[SourceFile, ast.ClassDef]]]
    functions: dict[str, list[tuple[SourceFile, FunctionNode]]]
    subclasses: dict[str, list[str]]
    _calls_by_name: dict[str, list[tuple[SourceFile, ast.Call]]] | None = None

    @classmethod
    def load(cls, root: Path | str, include: tuple[str, ...] = ()) -> tuple[CodeBase, list[Violation]]:
        """Parse every ``.py`` under ``root`` (only under the ``include`` paths, relative to
        ``root``, when given); unparsable files become violations, not crashes.

        Files are read as ``utf-8-sig``: a byte-order mark written by some editors is legal
        Python, not a syntax error.  Hidden directories, ``__pycache__`` and installed
        environments (``site-packages``) are never part of a code base."""
        root = Path(root).resolve()
        if not root.is_dir():
            raise NotADirectoryError(f"scan root is not a directory: {root}")
        wanted = tuple(p.strip("/") for p in include if p.strip("/") not in ("", "."))
        files: list[SourceFile] = []
        problems: list[Violation] = []
        for rel in _python_files(root, wanted):
            path = root / rel
            try:
                tree = ast.parse(path.read_text(encoding="utf-8-sig"), filename=rel)
            except (SyntaxError, UnicodeDecodeError) as error:
                line = getattr(error, "lineno", 0) or 0
                problems.append(violation(
                    "static.syntax-error", f"cannot parse {rel}", location=f"{rel}:{line}",
                    expected="valid Python 3.11 source", seen=str(error),
                ))
                continue
            files.append(_index_file(rel, _module_name(root, rel), tree))
        return cls._indexed(root, files), problems

    @classmethod
    def _indexed(cls, root: Path, files: list[SourceFile]) -> CodeBase:
        by_module: dict[str, SourceFile] = {}
        classes: dict[str, list[tuple[SourceFile, ast.ClassDef]]] = {}
        functions: dict[str, list[tuple[SourceFile, FunctionNode]]] = {}
        for source in files:
            by_module[source.module] = source
            for node in source.nodes:
                if isinstance(node, ast.ClassDef):
                    classes.setdefault(node.name, []).append((source, node))
                elif isinstance(node, FunctionNode):
                    functions.setdefault(node.name, []).append((source, node))
        subclasses: dict[str, list[str]] = {}
        for name, defs in sorted(classes.items()):
            for _, node in defs:
                for base in node.bases:
                    base_name = named_class(base)
                    if base_name in classes and name not in subclasses.get(base_name, []):
                        subclasses.setdefault(base_name, []).append(name)
        return cls(root, files, by_module, classes, functions, subclasses)

    def callers_of(self, name: str) -> list[tuple[SourceFile, ast.Call]]:
        """Calls ``name(...)`` or ``x.name(...)`` anywhere in the tree (index built once)."""
        if self._calls_by_name is None:
            self._calls_by_name = {}
            for source in self.files:
                for node in source.nodes:
                    if isinstance(node, ast.Call):
                        func = node.func
                        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                        if called:
                            self._calls_by_name.setdefault(called, []).append((source, node))
        return self._calls_by_name.get(name, [])

    def concrete(self, component: str) -> list[str]:
        """The classes a site in ``component`` runs as: its leaf subclasses in the tree, or
        itself.  A subscribe in a shared base class belongs to each concrete manager."""
        leaves: list[str] = []
        stack, seen = [component], set()
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            children = self.subclasses.get(name, [])
            if children:
                stack.extend(children)
            else:
                leaves.append(name)
        return sorted(leaves)

    def module(self, dotted: str) -> SourceFile | None:
        """The file for a dotted module name, with or without the root package prefix.

        When the root is itself a package (it has ``__init__.py``), its code imports its own
        modules under the package's import name, which need not be the folder's name (a copy
        of ``system/`` checked elsewhere), so any first segment is accepted as that prefix."""
        head, _, rest = dotted.partition(".")
        # Inside a package, ``import socket`` is the standard library's even when the package
        # has a ``socket.py`` of its own (which it imports as ``pkg.socket`` or relatively).
        shadowed = self.is_package and head in sys.stdlib_module_names
        if dotted in self.by_module and not shadowed:
            return self.by_module[dotted]
        if rest in self.by_module and (head == self.root.name or self.is_package):
            return self.by_module[rest]
        return None

    @property
    def is_package(self) -> bool:
        return self.root.name in self.by_module and any(f.rel == "__init__.py" for f in self.files)

    def method(self, cls: ast.ClassDef, name: str) -> FunctionNode | None:
        return next((n for n in cls.body if isinstance(n, FunctionNode) and n.name == name), None)

    def _imported_module(self, source: SourceFile, expr: ast.expr) -> SourceFile | None:
        """The scanned module a bare name was imported as (``import app.x as x``, ``from app
        import x``), unless a local variable of that name shadows it."""
        if not isinstance(expr, ast.Name) or expr.id not in source.imports:
            return None
        function = source.enclosing_function(expr)
        if function is not None and any(isinstance(n, ast.Name) and n.id == expr.id and isinstance(n.ctx, ast.Store)
                                        for n in ast.walk(function)):
            return None
        module, attribute = source.imports[expr.id]
        target = self.module(f"{module}.{attribute}" if attribute else module)
        return target if target is not source else None

    def class_method(self, class_name: str, name: str) -> tuple[SourceFile, FunctionNode] | None:
        """``name`` defined on the class or, breadth first, on its scanned bases.  A class name
        defined twice in the tree is ambiguous and resolves to nothing."""
        queue, seen = [class_name], set()
        while queue:
            current = queue.pop(0)
            defs = self.classes.get(current, [])
            if current in seen or len(defs) != 1:
                continue
            seen.add(current)
            owner, cls = defs[0]
            found = self.method(cls, name)
            if found is not None:
                return owner, found
            queue.extend(named_class(b) or "" for b in cls.bases)
        return None

    def module_function(self, source: SourceFile, name: str) -> FunctionNode | None:
        local = next((n for n in source.tree.body if isinstance(n, FunctionNode) and n.name == name), None)
        if local is not None:
            return local
        imported = source.imports.get(name)
        if imported and imported[1] is not None and (target := self.module(imported[0])):
            return self.module_function(target, imported[1]) if target is not source else None
        return None

    def callee(self, source: SourceFile, call: ast.Call) -> tuple[SourceFile, FunctionNode] | None:
        """The definition a call reaches, when it is ``self.m(...)`` or a module function."""
        return self.definition(source, call.func, call)

    def definition(self, source: SourceFile, func: ast.expr,
                   at: ast.AST) -> tuple[SourceFile, FunctionNode] | None:
        """The function ``func`` names at node ``at``: ``self.m`` (a method of the enclosing
        class or its bases), ``x.m`` / ``self.x.m`` with ``x`` of a known scanned class, or a
        module function (local or imported from a scanned module)."""
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
            cls = source.enclosing_class(at)
            found = self.method(cls, func.attr) if cls else None
            if found is None and cls is not None:
                return self.class_method(cls.name, func.attr)   # inherited
            return (source, found) if found else None
        if isinstance(func, ast.Attribute):
            module = self._imported_module(source, func.value)
            if module is not None:   # ``helpers.build(...)`` with ``from app import helpers``
                found = self.module_function(module, func.attr)
                return (module, found) if found is not None else None
            # ``x.m`` / ``self.x.m`` where the code says what x is (see contracts.scanner.types).
            known = receiver_type(self, source, func.value, at)
            return self.class_method(known.name, func.attr) if known is not None and known.scanned else None
        if isinstance(func, ast.Name):
            found = self.module_function(source, func.id)
            if found is None:
                return None
            owner = next((f for f in self.files if found in f.parents or found in f.tree.body), source)
            return owner, found
        return None


def named_class(expr: ast.expr) -> str | None:
    """The class a base-class or type expression names: ``Base``, ``mod.Base``, ``Base[T]``."""
    if isinstance(expr, ast.Subscript):
        expr = expr.value
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return expr.id if isinstance(expr, ast.Name) else None


def _python_files(root: Path, include: tuple[str, ...]) -> list[str]:
    """Posix paths (relative to ``root``) of the ``.py`` files below ``root`` or below each
    ``include`` path, sorted.  Hidden directories, caches and virtual environments (a
    directory holding ``pyvenv.cfg``) are pruned, never walked."""
    found: set[str] = set()
    for start in [root / w for w in include] or [root]:
        if start.is_file():
            if start.suffix == ".py":
                found.add(start.relative_to(root).as_posix())
            continue
        for directory, subdirs, names in os.walk(start):
            subdirs[:] = [d for d in subdirs if not d.startswith(".") and d not in _NEVER_SCANNED
                          and not (Path(directory) / d / "pyvenv.cfg").exists()]
            here = Path(directory).relative_to(root)
            found.update((here / n).as_posix() for n in names if n.endswith(".py"))
    return sorted(found)


def parameters(function: FunctionNode) -> list[str]:
    """Positional parameter names, without a leading ``self``/``cls``."""
    names = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
    return names[1:] if names and names[0] in ("self", "cls") else names


def own_nodes(function: FunctionNode) -> list[ast.AST]:
    """Nodes of ``function``'s body, excluding nested functions, lambdas and classes."""
    nodes: list[ast.AST] = []
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(child for child in ast.iter_child_nodes(node)
                     if not isinstance(child, FunctionNode | ast.ClassDef | ast.Lambda))
    return nodes


def _module_name(root: Path, rel: str) -> str:
    parts = list(Path(rel).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) if parts else root.name


def _index_file(rel: str, module: str, tree: ast.Module) -> SourceFile:
    source = SourceFile(rel, module, tree)
    for parent in ast.walk(tree):
        source.nodes.append(parent)
        for child in ast.iter_child_nodes(parent):
            source.parents[child] = parent
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            source.constants[stmt.targets[0].id] = stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            source.constants[stmt.target.id] = stmt.value
    package = module if rel.endswith("__init__.py") else module.rpartition(".")[0]
    for node in source.nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                source.imports[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0], None)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(package, node.module, node.level)
            for alias in node.names:
                # ``from pkg import mod`` and ``from mod import NAME`` look alike; both readings
                # are kept and resolved lazily against the files that exist.
                source.imports[alias.asname or alias.name] = (base, alias.name)
    return source


def _absolute(package: str, module: str | None, level: int) -> str:
    if level == 0:
        return module or ""
    parts = package.split(".") if package else []
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    if module:
        parts.append(module)
    return ".".join(parts)
