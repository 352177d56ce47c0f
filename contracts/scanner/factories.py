"""Factories: ``create_*`` methods never called, and the error policy of container services.

Seed defect 1 was a factory (``create_backtest_order_manager``) defined, correct, and called
from nowhere, so backtests silently ran without an order manager.  A factory counts as used
when its name is referenced anywhere else in the tree: a call, a bound-method reference, or a
string (``getattr(self, "create_x")`` dispatch tables).

Seed defect 8 was an inconsistent error policy.  The registry lists each service with
``optional``: an optional factory must log why and return ``None`` rather than raise; a
required one must raise (typed) rather than return ``None``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from contracts.registry.model import Service
from contracts.rules import violation
from contracts.scanner.model import FactorySite, by_location
from contracts.scanner.source import CodeBase, FunctionNode, SourceFile, own_nodes
from simwire.violation import Violation

_LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})


def factory_sites(code: CodeBase, prefixes: tuple[str, ...], callers: tuple[CodeBase, ...] = ()) -> list[FactorySite]:
    """Factories of ``code`` with every reference to them in ``code`` and in ``callers``
    (entry-point code outside the scanned tree, searched for references only)."""
    defs = [(source, cls, node)
            for source in code.files
            for cls in source.nodes if isinstance(cls, ast.ClassDef)
            for node in cls.body
            if isinstance(node, FunctionNode) and node.name.startswith(prefixes)]
    names = frozenset(node.name for _, _, node in defs)
    references = _references(code, names)
    for caller in callers:
        for name, found in _references(caller, names, strings=False).items():
            references.setdefault(name, []).extend((f"{caller.root.name}/{where}", None) for where, _ in found)
    return by_location(
        FactorySite(
            location=source.where(node), component=cls.name, name=node.name,
            references=tuple(sorted(loc for loc, owner in references.get(node.name, []) if owner is not node)),
            creates=tuple(sorted(_instantiated(code, node))),
        )
        for source, cls, node in defs
    )


def instantiations(code: CodeBase, factories: Iterable[FactorySite]) -> list[tuple[str, str]]:
    """``(class, file:line)`` for every scanned class created outside a factory."""
    factory_locations = {f.location for f in factories}
    found = []
    for source in code.files:
        for node in source.nodes:
            name = _class_called(code, node)
            if name is None:
                continue
            function = source.enclosing_function(node)
            if function is None or source.where(function) not in factory_locations:
                found.append((name, source.where(node)))
    return sorted(found)


def uncalled_factory_violations(factories: Iterable[FactorySite]) -> list[Violation]:
    return [
        violation(
            "static.factory-never-called", f"factory {f.component}.{f.name}() is defined but never called",
            location=f.location, expected=f"a call to {f.name}() on the path that needs "
            + (", ".join(f.creates) if f.creates else "what it creates"),
            seen="no call, reference or getattr name anywhere in the scanned tree",
        )
        for f in factories if not f.references
    ]


def service_policy_violations(code: CodeBase, services: Iterable[Service]) -> list[Violation]:
    """Check each registry ``Service(name, factory, optional)`` against its factory's body."""
    found = []
    for service in services:
        class_name, method_name = _split_factory(service.factory)
        matches = [(source, node) for source, node in code.functions.get(method_name, [])
                   if class_name is None or _owner_name(source, node) == class_name]
        if not matches:
            found.append(violation(
                "static.service-factory-missing", f"service {service.name}: factory {service.factory} not found",
                location=f"registry service {service.name}", expected=f"a definition of {service.factory}",
                seen="no such function in the scanned tree",
            ))
        for source, node in matches:
            found.extend(_policy(source, node, service))
    return found


def _policy(source: SourceFile, function: FunctionNode, service: Service) -> list[Violation]:
    where = source.where(function)
    label = f"{service.name} ({function.name})"
    problems = []
    if service.optional:
        raising = _uncaught_raises(source, function)
        if raising:
            problems.append(violation(
                "static.optional-factory-raises", f"optional service {label} raises instead of returning None",
                location=source.where(raising[0]), expected="log the reason and return None",
                seen=ast.unparse(raising[0]),
            ))
        returns_none, logs = bool(_none_returns(function)), _logs(function)
        if not returns_none or not logs:
            problems.append(violation(
                "static.optional-factory-silent",
                f"optional service {label} must log a reason and return None when unavailable",
                location=where, expected="a logged reason and `return None` on the failure path",
                seen=f"return None: {'yes' if returns_none else 'no'}, logged: {'yes' if logs else 'no'}",
            ))
    else:
        returns = _none_returns(function)
        annotation = ast.unparse(function.returns) if function.returns else ""
        if returns or _optional_annotation(function.returns):
            first = returns[0] if returns else function
            problems.append(violation(
                "static.required-factory-returns-none",
                f"required service {label} can return None; callers will fail far from the cause",
                location=source.where(first), expected="raise a typed error (e.g. ServiceUnavailable)",
                seen=ast.unparse(first) if returns else f"-> {annotation}",
            ))
    return problems


def _split_factory(spec: str) -> tuple[str | None, str]:
    dotted = spec.rpartition(":")[2]
    parts = dotted.split(".")
    return (parts[-2] if len(parts) > 1 else None), parts[-1]


def _owner_name(source: SourceFile, node: FunctionNode) -> str | None:
    cls = source.enclosing_class(node)
    return cls.name if cls else None


def _uncaught_raises(source: SourceFile, function: FunctionNode) -> list[ast.Raise]:
    """``raise`` statements not inside the body of a ``try`` that has handlers."""
    found = []
    for node in own_nodes(function):
        if not isinstance(node, ast.Raise):
            continue
        caught = False
        child: ast.AST = node
        for ancestor in source.ancestors(node):
            if ancestor is function:
                break
            if isinstance(ancestor, ast.Try) and ancestor.handlers and child in ancestor.body:
                caught = True
                break
            child = ancestor
        if not caught:
            found.append(node)
    return sorted(found, key=lambda n: n.lineno)


def _none_returns(function: FunctionNode) -> list[ast.Return]:
    """``return`` and ``return None`` statements of the function itself, in line order."""
    found = [n for n in own_nodes(function) if isinstance(n, ast.Return)
             and (n.value is None or (isinstance(n.value, ast.Constant) and n.value.value is None))]
    return sorted(found, key=lambda n: n.lineno)


def _logs(function: FunctionNode) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in _LOG_METHODS
               for n in own_nodes(function))


def _optional_annotation(annotation: ast.expr | None) -> bool:
    if annotation is None:
        return False
    text = ast.unparse(annotation).replace(" ", "")
    return text.startswith("Optional[") or "|None" in text or text.startswith("None|")


def _references(code: CodeBase, names: frozenset[str], *,
                strings: bool = True) -> dict[str, list[tuple[str, ast.AST | None]]]:
    """Every mention of a factory name, with the enclosing def.  ``strings`` counts string
    constants too (``getattr`` dispatch); not in callers, whose strings may merely describe."""
    found: dict[str, list[tuple[str, ast.AST | None]]] = {}
    for source in code.files:
        for node in source.nodes:
            name = None
            if isinstance(node, ast.Attribute) and node.attr in names:
                name = node.attr
            elif isinstance(node, ast.Name) and node.id in names:
                name = node.id
            elif strings and isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
                name = node.value
            if name is not None:
                found.setdefault(name, []).append((source.where(node), source.enclosing_function(node)))
    return found


def _class_called(code: CodeBase, node: ast.AST) -> str | None:
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    return name if name in code.classes else None


def _instantiated(code: CodeBase, function: FunctionNode) -> set[str]:
    """Scanned classes a factory builds: named in its body (called, or handed to a helper such
    as ``self._build(OrderManager, ...)``) or in its return annotation; not the exceptions it raises."""
    raised = {id(n) for r in ast.walk(function) if isinstance(r, ast.Raise) for n in ast.walk(r)}
    nodes = [*ast.walk(function), *(ast.walk(function.returns) if function.returns else ())]
    return {node.id for node in nodes
            if isinstance(node, ast.Name) and node.id in code.classes and id(node) not in raised
            and not _in_annotation(function, node)}


def _in_annotation(function: FunctionNode, node: ast.Name) -> bool:
    arguments = function.args
    params = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    return any(p.annotation is not None and node in ast.walk(p.annotation) for p in params)
