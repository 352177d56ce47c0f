"""SQL sites: statements handed to the database port, with the argument count at the call.

A statement is read where it reaches one of the conventions' ``db_methods``
(``conn.execute(SQL, a, b)``).  Code often routes statements through a small retry helper
(``async def _execute(self, query, *args): ... await conn.execute(query, *args)``); such a
*pass-through* helper is recognised and its own call sites become the SQL sites, so the
argument count is still checked where the values are written.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from contracts.rules import violation
from contracts.scanner.model import SqlSite, by_location
from contracts.scanner.resolve import Resolver, local_assignment
from contracts.scanner.source import CodeBase, FunctionNode, SourceFile, parameters
from simwire.violation import Violation


@dataclass(frozen=True)
class _Wrapper:
    """A function forwarding its parameter ``index`` to a db method as the statement.

    How the statement's arguments reach the db call, so they can be counted at the wrapper's
    call sites: ``varargs`` (``*args`` of the wrapper), ``tuple`` (parameter ``args_index`` is
    the tuple itself) or ``thunk`` (parameter ``args_index`` is a callable returning it, as in
    ``lambda: (a, b)``); ``""`` when they cannot be counted.
    """

    name: str
    index: int
    args_kind: str = ""
    args_index: int = -1


def sql_sites(code: CodeBase, resolver: Resolver,
              db_methods: tuple[str, ...]) -> tuple[list[SqlSite], list[Violation]]:
    sites: list[SqlSite] = []
    problems: list[Violation] = []
    wrappers: dict[str, _Wrapper] = {}

    def record(source: SourceFile, call: ast.Call, query: ast.expr | None, method: str,
               arg_count: int | None) -> None:
        site = _site(resolver, source, call, query, method, arg_count) if query is not None else None
        if site is not None:
            sites.append(site)
            return
        problems.append(violation(
            "static.sql-unresolved", f"statement passed to {method}() cannot be read statically",
            location=source.where(call), expected="a string constant (module-level, local or literal)",
            seen=ast.unparse(query) if query is not None else ast.unparse(call),
        ))

    for source in code.files:
        for call in _calls(source, db_methods):
            query = _first(call)
            wrapper = _as_wrapper(source, call, query) if query is not None else None
            if wrapper is not None:
                # An adapter implementing the port (``async def execute(self, query, *args)``)
                # is not a helper: its callers are already db-method sites.
                if wrapper.name not in db_methods:
                    wrappers[wrapper.name] = wrapper
            else:
                method = call.func.attr
                record(source, call, query, method, _positional_count(call, 1) if method != "executemany" else None)
    pending = sorted(wrappers)
    while pending:
        name = pending.pop(0)
        wrapper = wrappers[name]
        for source, call in code.callers_of(name):
            forwarded = call.args[wrapper.index] if len(call.args) > wrapper.index else None
            outer = (_as_wrapper(source, call, forwarded, wrapper.index)
                     if isinstance(forwarded, ast.Name) else None)
            if outer is not None:
                # A helper calling a helper: the outer one's callers are the sites.
                if outer.name not in wrappers and outer.name not in db_methods:
                    countable = wrapper.args_kind == "varargs"
                    wrappers[outer.name] = outer if countable else _Wrapper(outer.name, outer.index)
                    pending.append(outer.name)
                continue
            starred = any(isinstance(a, ast.Starred) for a in call.args)
            query = call.args[wrapper.index] if len(call.args) > wrapper.index and not starred else None
            record(source, call, query, name, _wrapped_arg_count(resolver, source, call, wrapper))
    return by_location(sites), problems


def _calls(source: SourceFile, names: tuple[str, ...]) -> list[ast.Call]:
    return [node for node in source.nodes
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in names]


def _first(call: ast.Call) -> ast.expr | None:
    if call.args and not isinstance(call.args[0], ast.Starred):
        return call.args[0]
    return next((kw.value for kw in call.keywords if kw.arg in ("query", "sql")), None)


def _positional_count(call: ast.Call, start: int) -> int | None:
    rest = call.args[start:]
    return None if any(isinstance(a, ast.Starred) for a in rest) else len(rest)


def _site(resolver: Resolver, source: SourceFile, call: ast.Call, query: ast.expr,
          method: str, arg_count: int | None) -> SqlSite | None:
    """The site, or None when the statement is neither readable nor visibly formatted."""
    formatted = resolver.formatting(source, query)
    sql = None if formatted else resolver.string(source, query)
    if sql is None and formatted is None:
        return None
    return SqlSite(source.where(call), source.component(call), method, sql, arg_count, formatted,
                   ast.unparse(query))


def _as_wrapper(source: SourceFile, call: ast.Call, query: ast.expr, position: int = 0) -> _Wrapper | None:
    """The enclosing function (or closure owner) whose parameter is the statement, if any.
    ``position`` is where the statement sits among ``call``'s arguments."""
    if not isinstance(query, ast.Name):
        return None
    for function in (a for a in source.ancestors(call) if isinstance(a, FunctionNode)):
        params = parameters(function)
        if query.id not in params:
            continue
        return _Wrapper(function.name, params.index(query.id),
                        *_args_source(call.args[position + 1:], call, function, params))
    return None


def _args_source(rest: list[ast.expr], call: ast.Call, function: FunctionNode,
                 params: list[str]) -> tuple[str, int]:
    """How the arguments after the statement reach ``call`` (see :class:`_Wrapper`)."""
    if len(rest) != 1 or not isinstance(rest[0], ast.Starred) or not isinstance(rest[0].value, ast.Name):
        return "", -1
    name = rest[0].value.id
    if function.args.vararg and name == function.args.vararg.arg:
        return "varargs", -1
    if name in params:
        return "tuple", params.index(name)
    bound = local_assignment(function, name, call.lineno)
    if (isinstance(bound, ast.Call) and isinstance(bound.func, ast.Name) and not bound.args
            and bound.func.id in params):
        return "thunk", params.index(bound.func.id)
    return "", -1


def _wrapped_arg_count(resolver: Resolver, source: SourceFile, call: ast.Call, wrapper: _Wrapper) -> int | None:
    if wrapper.args_kind == "varargs":
        return _positional_count(call, wrapper.index + 1)
    if wrapper.args_kind not in ("tuple", "thunk") or len(call.args) <= wrapper.args_index:
        return None
    value = call.args[wrapper.args_index]
    if wrapper.args_kind == "thunk":
        if not isinstance(value, ast.Lambda):
            return None
        value = value.body
    bound = resolver.binding(source, value) if isinstance(value, ast.Name) else None
    if bound is not None:
        value = bound[1]
    if isinstance(value, ast.Tuple) and not any(isinstance(e, ast.Starred) for e in value.elts):
        return len(value.elts)
    return None
