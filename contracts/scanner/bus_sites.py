"""Publish and subscribe sites on the event bus, with payload keys and handler reads.

The method names come from the registry's ``BusConventions`` so another code base with
``emit``/``on`` instead of ``publish``/``subscribe`` is read the same way.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from contracts.scanner.model import PublishSite, SubscribeSite, by_location, location_key
from contracts.scanner.resolve import Keys, Resolver, local_assignment
from contracts.scanner.source import CodeBase, FunctionNode, SourceFile, parameters

_GETTERS = ("get", "pop")


def _argument(call: ast.Call, index: int | None, keyword: str) -> ast.expr | None:
    """The argument passed as ``keyword=`` or at ``index`` (None: keyword-only)."""
    named = next((kw.value for kw in call.keywords if kw.arg == keyword), None)
    if named is not None or index is None:
        return named
    positional = [a for a in call.args if not isinstance(a, ast.Starred)]
    return positional[index] if len(positional) > index else None


def _method_calls(code: CodeBase, names: tuple[str, ...]) -> Iterator[tuple[SourceFile, ast.Call]]:
    """Calls ``x.publish(...)``, and ``publish(...)`` where a hot loop bound
    ``publish = self._bus.publish`` first."""
    for source in code.files:
        for node in source.nodes:
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in names:
                yield source, node
            elif isinstance(func, ast.Name) and (function := source.enclosing_function(node)) is not None:
                bound = local_assignment(function, func.id, node.lineno)
                if isinstance(bound, ast.Attribute) and bound.attr in names:
                    yield source, node


def publish_sites(code: CodeBase, resolver: Resolver, names: tuple[str, ...]) -> list[PublishSite]:
    """Direct publish calls, plus event tuples when the code relays them (see ``_event_tuples``)."""
    sites = []
    relays = False
    for source, call in _method_calls(code, names):
        topic_expr = _argument(call, 0, "topic")
        payload = _argument(call, 1, "payload")
        if topic_expr is None:
            continue
        if _loop_rows(resolver, source, call) == [] and _bound_by_loop(source, call, topic_expr):
            relays = True
            continue
        forwarded = _forwarding_sites(code, resolver, source, call, topic_expr, payload)
        if forwarded:
            sites.extend(forwarded)
            continue
        keys = resolver.keys(source, payload) if payload is not None else None
        for component in code.concrete(source.component(call)):
            sites.append(_publish_site(source, call, component, resolver.string(source, topic_expr),
                                       topic_expr, keys))
    if relays:
        sites.extend(_event_tuples(code, resolver))
    return by_location(sites)


def _forwarding_sites(code: CodeBase, resolver: Resolver, source: SourceFile, call: ast.Call,
                      topic_expr: ast.expr, payload: ast.expr | None) -> list[PublishSite]:
    """A publish wrapper (``async def _emit(self, topic, data): await self.bus.publish(topic,
    data)``): the topic is one of its parameters, so each call of the wrapper that the scanner
    can resolve (``self._emit``, a module function, a method of a receiver of known class) is
    the publish site, with the topic and payload passed there.  Empty when the topic is not a
    parameter or nothing calls the wrapper."""
    function = source.enclosing_function(call)
    if function is None or not isinstance(topic_expr, ast.Name):
        return []
    params = parameters(function)
    if topic_expr.id not in params or local_assignment(function, topic_expr.id, call.lineno) is not None:
        return []
    payload_param = payload.id if isinstance(payload, ast.Name) and payload.id in params \
        and local_assignment(function, payload.id, call.lineno) is None else None
    sites = []
    for caller_source, caller in code.callers_of(function.name):
        target = code.definition(caller_source, caller.func, caller)
        if target is None or target[1] is not function:
            continue
        topic_arg = _argument(caller, params.index(topic_expr.id), topic_expr.id)
        if topic_arg is None:
            continue
        if payload_param is not None:
            payload_arg = _argument(caller, params.index(payload_param), payload_param)
            keys = resolver.keys(caller_source, payload_arg) if payload_arg is not None else None
        else:
            keys = resolver.keys(source, payload) if payload is not None else None
        for component in code.concrete(caller_source.component(caller)):
            sites.append(_publish_site(caller_source, caller, component, resolver.string(caller_source, topic_arg),
                                       topic_arg, keys))
    return sites


def _publish_site(source: SourceFile, node: ast.AST, component: str, topic: str | None,
                  topic_expr: ast.expr, keys: Keys | None) -> PublishSite:
    return PublishSite(
        location=source.where(node), component=component, topic=topic, topic_expr=ast.unparse(topic_expr),
        keys=tuple(sorted(set(keys.names))) if keys else None, keys_complete=bool(keys and keys.complete),
    )


def _bound_by_loop(source: SourceFile, call: ast.Call, topic_expr: ast.expr) -> bool:
    """``for topic, payload in events: bus.publish(topic, payload)``: a relay of event tuples."""
    if not isinstance(topic_expr, ast.Name):
        return False
    loop = next((a for a in source.ancestors(call) if isinstance(a, ast.For | FunctionNode)), None)
    return isinstance(loop, ast.For) and any(
        isinstance(n, ast.Name) and n.id == topic_expr.id for n in ast.walk(loop.target))


def _event_tuples(code: CodeBase, resolver: Resolver) -> list[PublishSite]:
    """``(topics.ORDER_CREATED, {...})`` tuples built for a relay to publish.

    The tuple often lives on a record (``Order.created()``), so the publisher is the class that
    *calls* the function building it (one level), expanded to its concrete subclasses.
    """
    topic_names = {value for module in resolver.constant_modules
                   for value in (resolver.string(module, expr) for expr in module.constants.values()) if value}
    sites = []
    for source in code.files:
        for node in source.nodes:
            if not (isinstance(node, ast.Tuple) and len(node.elts) == 2):
                continue
            topic = resolver.string(source, node.elts[0])
            keys = resolver.keys(source, node.elts[1])
            if topic not in topic_names or (keys is None and not isinstance(node.elts[1], ast.Dict | ast.Name)):
                continue
            for component in _builders(code, source, node):
                sites.append(_publish_site(source, node, component, topic, node.elts[0], keys))
    return sites


def _builders(code: CodeBase, source: SourceFile, node: ast.AST) -> list[str]:
    function = source.enclosing_function(node)
    own = source.component(node)
    callers: set[str] = set()
    if function is not None:
        callers = {other.component(call) for other, call in code.callers_of(function.name)} - {own}
    return sorted({c for caller in sorted(callers or {own}) for c in code.concrete(caller)})


def subscribe_sites(code: CodeBase, resolver: Resolver, names: tuple[str, ...]) -> list[SubscribeSite]:
    """Subscribe calls (topic and handler positional or keyword, awaited or not) and decorator
    subscriptions (``@bus.subscribe("topic")`` / ``@on("topic")`` on a handler).

    Without ``component=``, the component is the class (or module) defining the handler; without
    ``role=``, the role is left to the registry's consumer entry for that component (see
    :func:`contracts.scanner.crosscheck.resolve_roles`), so code that names neither is read
    as it is."""
    sites = [*_decorator_sites(code, resolver, names)]
    calls = []
    for source, call in _method_calls(code, names):
        topic_arg = _argument(call, 0, "topic")
        handler_arg = _argument(call, 1, "handler")
        if topic_arg is not None and handler_arg is not None:
            calls.extend(_forwarded(code, source, call, topic_arg, handler_arg)
                         or [(source, call, topic_arg, handler_arg, source, call)])
    for source, call, topic_arg, handler_arg, named_in, named_at in calls:
        component_arg = _argument(named_at, None, "component")
        role = _argument(named_at, None, "role")
        role_name = resolver.string(named_in, role) if role is not None else None
        for row, bound in _loop_rows(resolver, source, call) or [(call, {})]:
            topic_expr = _substitute(topic_arg, bound)
            handler = _substitute(handler_arg, bound)
            target = code.definition(source, handler, call)
            reads = _sorted_reads(_handler_reads(code, *target)) if target else ()
            for component in code.concrete(source.component(call)):
                declared = (_declared(resolver, named_in, component_arg, component) if component_arg is not None
                            else _handler_owner(code, source, handler, call, component, target))
                sites.append(SubscribeSite(
                    location=source.where(row),
                    component=component,
                    topic=resolver.string(source, topic_expr),
                    topic_expr=ast.unparse(topic_expr),
                    role=role_name,
                    declared_component=declared,
                    handler=ast.unparse(handler),
                    reads=reads,
                    unreadable_name=_unreadable(component_arg, declared, role, role_name),
                ))
    return by_location(sites)


def _forwarded(code: CodeBase, source: SourceFile, call: ast.Call, topic_arg: ast.expr, handler_arg: ast.expr,
               ) -> list[tuple[SourceFile, ast.Call, ast.expr, ast.expr, SourceFile, ast.Call]]:
    """A subscribe wrapper (``def _on(self, topic, handler): self.bus.subscribe(topic,
    handler)``): each resolvable call of it subscribes, with its own topic and handler
    (component and role keywords stay those of the inner call)."""
    function = source.enclosing_function(call)
    if function is None:
        return []
    params = parameters(function)
    names = [a.id for a in (topic_arg, handler_arg) if isinstance(a, ast.Name)]
    if len(names) != 2 or any(n not in params or local_assignment(function, n, call.lineno) is not None
                              for n in names):
        return []
    found = []
    for caller_source, caller in code.callers_of(function.name):
        target = code.definition(caller_source, caller.func, caller)
        if target is None or target[1] is not function:
            continue
        topic = _argument(caller, params.index(names[0]), names[0])
        handler = _argument(caller, params.index(names[1]), names[1])
        if topic is not None and handler is not None:
            found.append((caller_source, caller, topic, handler, source, call))
    return found


def _sorted_reads(reads: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(set(reads), key=lambda read: (read[0], location_key(read[1]))))


def _handler_owner(code: CodeBase, source: SourceFile, handler: ast.expr, call: ast.Call, component: str,
                   target: tuple[SourceFile, FunctionNode] | None) -> str:
    """The component a handler belongs to: the subscribing class for ``self.m``, the class
    defining the function otherwise, ``module:<name>`` for a module function."""
    if isinstance(handler, ast.Attribute) and isinstance(handler.value, ast.Name) and handler.value.id == "self":
        return component
    if target is not None:
        owner, function = target
        cls = owner.enclosing_class(function)
        return cls.name if cls else f"module:{owner.module}"
    return component


def _decorator_sites(code: CodeBase, resolver: Resolver, names: tuple[str, ...]) -> list[SubscribeSite]:
    """``@bus.subscribe("topic")`` / ``@subscribe("topic")`` above a handler function."""
    sites = []
    for source in code.files:
        for function in (n for n in source.nodes if isinstance(n, FunctionNode)):
            for decorator in function.decorator_list:
                if not isinstance(decorator, ast.Call) or _callee(decorator) not in names:
                    continue
                topic_expr = _argument(decorator, 0, "topic")
                if topic_expr is None or _argument(decorator, 1, "handler") is not None:
                    continue
                role = _argument(decorator, None, "role")
                component_arg = _argument(decorator, None, "component")
                owner = source.component(function)
                reads = _sorted_reads(_handler_reads(code, source, function))
                for component in code.concrete(owner):
                    declared = (_declared(resolver, source, component_arg, component)
                                if component_arg is not None else component)
                    sites.append(SubscribeSite(
                        location=source.where(decorator), component=component,
                        topic=resolver.string(source, topic_expr), topic_expr=ast.unparse(topic_expr),
                        role=resolver.string(source, role) if role is not None else None,
                        declared_component=declared, handler=function.name, reads=reads,
                        unreadable_name=_unreadable(component_arg, declared, role, resolver.string(source, role)
                                                    if role is not None else None),
                    ))
    return sites


def _unreadable(component_arg: ast.expr | None, component: str | None, role_arg: ast.expr | None,
                role: str | None) -> bool:
    """A ``component=`` or ``role=`` passed as something the scanner cannot read."""
    return (component_arg is not None and component is None) or (role_arg is not None and role is None)


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _declared(resolver: Resolver, source: SourceFile, expr: ast.expr | None, concrete: str) -> str | None:
    """The ``component=`` name: a string, or ``type(self).__name__`` read as the concrete class."""
    if expr is None:
        return None
    text = resolver.string(source, expr)
    if text is not None:
        return text
    bound = resolver.binding(source, expr)
    value = bound[1] if bound else expr
    if ast.unparse(value) in ("type(self).__name__", "self.__class__.__name__"):
        return concrete
    return None


def _loop_rows(resolver: Resolver, source: SourceFile,
               call: ast.Call) -> list[tuple[ast.expr, dict[str, ast.expr]]]:
    """For a call inside ``for topic, handler in ROUTES:`` where ROUTES is a literal tuple of
    tuples (or a name bound to one): each row with its loop names bound, so a routing table
    gives one subscribe site per row."""
    loop = next((a for a in source.ancestors(call) if isinstance(a, ast.For | FunctionNode)), None)
    if not isinstance(loop, ast.For) or not isinstance(loop.target, ast.Tuple):
        return []
    rows = loop.iter
    if isinstance(rows, ast.Name) and (bound := resolver.binding(source, rows)) is not None:
        rows = bound[1]
    if not isinstance(rows, ast.Tuple | ast.List):
        return []
    names = [t.id if isinstance(t, ast.Name) else "" for t in loop.target.elts]
    return [(row, {n: e for n, e in zip(names, row.elts, strict=True) if n})
            for row in rows.elts if isinstance(row, ast.Tuple) and len(row.elts) == len(names)]


def _substitute(expr: ast.expr, bound: dict[str, ast.expr]) -> ast.expr:
    return bound.get(expr.id, expr) if isinstance(expr, ast.Name) else expr


def _handler_reads(code: CodeBase, owner: SourceFile, function: FunctionNode) -> list[tuple[str, str]]:
    param = _payload_param(function, 0)
    if param is None:
        return []
    reads = list(_reads(owner, function, param))
    # One level of helper: ``self._apply(data)`` or ``helper(payload=data)`` reads too.
    for node in ast.walk(function):
        if not isinstance(node, ast.Call):
            continue
        position = _position_of(node, param)
        if position is None:
            continue
        helper = code.callee(owner, node)
        if helper is None or helper[1] is function:
            continue
        helper_param = _payload_param(helper[1], position) if isinstance(position, int) else position
        if helper_param is not None:
            reads.extend(_reads(helper[0], helper[1], helper_param))
    return reads


def _payload_param(function: FunctionNode, index: int) -> str | None:
    params = parameters(function)
    return params[index] if len(params) > index else None


def _position_of(call: ast.Call, name: str) -> int | str | None:
    for index, arg in enumerate(call.args):
        if isinstance(arg, ast.Name) and arg.id == name:
            return index
    return next((kw.arg for kw in call.keywords
                 if kw.arg and isinstance(kw.value, ast.Name) and kw.value.id == name), None)


def _reads(source: SourceFile, function: FunctionNode, param: str) -> Iterator[tuple[str, str]]:
    for node in ast.walk(function):
        key: ast.expr | None = None
        if (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load)
                and isinstance(node.value, ast.Name) and node.value.id == param):
            key = node.slice
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in _GETTERS and isinstance(node.func.value, ast.Name)
              and node.func.value.id == param and node.args):
            key = node.args[0]
        elif (isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.In | ast.NotIn)
              and isinstance(node.comparators[0], ast.Name) and node.comparators[0].id == param):
            key = node.left
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            yield key.value, source.where(node)
