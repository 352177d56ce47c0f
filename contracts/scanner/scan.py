"""``scan(root)``: read a code base once and collect every site and registry-free finding."""

from __future__ import annotations

from pathlib import Path

from contracts.config import DEFAULT_PORTS
from contracts.registry.model import BusConventions, Service
from contracts.rules import violation
from contracts.scanner.atomicity import check_then_act_violations
from contracts.scanner.awaits import unawaited_calls
from contracts.scanner.bus_sites import publish_sites, subscribe_sites
from contracts.scanner.determinism import nondeterminism_sources
from contracts.scanner.factories import (
    factory_sites,
    instantiations,
    service_policy_violations,
    uncalled_factory_violations,
)
from contracts.scanner.locks import lock_order_violations
from contracts.scanner.model import PublishSite, ScanResult, SqlSite, SubscribeSite, violation_order
from contracts.scanner.resolve import Resolver
from contracts.scanner.source import CodeBase, SourceFile
from contracts.scanner.sql_sites import sql_sites
from simwire.violation import Violation

DEFAULT_FACTORY_PREFIXES = ("create_",)


def scan(root: Path | str, conventions: BusConventions | None = None, *,
         services: tuple[Service, ...] = (), callers: tuple[Path | str, ...] = (),
         factory_prefixes: tuple[str, ...] = DEFAULT_FACTORY_PREFIXES,
         ports: tuple[str, ...] = DEFAULT_PORTS, include: tuple[str, ...] = ()) -> ScanResult:
    """Scan every ``.py`` under ``root``.  ``conventions`` names the bus and database methods
    (default: ``publish``/``subscribe`` and asyncpg's); ``services`` are the registry's container
    services whose factories' error policy is checked; ``callers`` are directories of entry-point
    code (a CLI, a simulator) whose references to factories count as calls, and nothing else in
    them is checked; ``factory_prefixes`` says which methods are factories (``create_*``);
    ``ports`` are globs (relative to ``root``) of the port implementations, the only code
    allowed to reach the wall clock, entropy, threads and sockets; ``include`` restricts the
    scan to these paths below ``root`` (the configured ``paths``), so module names and
    locations stay relative to the project root."""
    conventions = conventions or BusConventions()
    code, problems = CodeBase.load(root, include)
    files = len(code.files) + len(problems)
    resolver = Resolver(code, _constant_modules(code, conventions.topic_constants))
    publishes = publish_sites(code, resolver, conventions.publish)
    subscribes = subscribe_sites(code, resolver, conventions.subscribe)
    statements, unresolved_sql = sql_sites(code, resolver, conventions.db_methods)
    # Callers are read for references only; what does not parse there is theirs to report.
    caller_code = tuple(CodeBase.load(directory)[0] for directory in callers)
    factories = factory_sites(code, factory_prefixes, caller_code)
    found: list[Violation] = [*problems, *unresolved_sql]
    found += [_formatting(site) for site in statements if site.formatted]
    found += _unresolved_bus_sites(publishes, subscribes)
    found += uncalled_factory_violations(factories)
    found += unawaited_calls(code, (*conventions.publish, *conventions.db_methods))
    found += lock_order_violations(code)
    found += check_then_act_violations(code)
    found += service_policy_violations(code, services)
    found += nondeterminism_sources(code, ports)
    return ScanResult(
        root=str(code.root), files=files,
        publishes=tuple(publishes), subscribes=tuple(subscribes), sql=tuple(statements),
        factories=tuple(factories), instantiations=tuple(instantiations(code, factories)),
        violations=tuple(sorted(found, key=violation_order)),
    )


def _constant_modules(code: CodeBase, paths: tuple[str, ...]) -> tuple[SourceFile, ...]:
    """Files named by ``topic_constants``; a path may be given relative to the root or to its
    parent (``system/topics.py`` when scanning ``system/``)."""
    wanted = [p.strip("/") for p in paths]
    return tuple(f for f in code.files
                 if any(f.rel == p or p.endswith("/" + f.rel) or f.rel.endswith("/" + p) for p in wanted))


def _formatting(site: SqlSite) -> Violation:
    return violation(
        "static.sql-built-by-formatting", f"SQL passed to {site.method}() is built by {site.formatted}",
        location=site.location, expected="a constant statement with $n placeholders and the values as arguments",
        seen=site.expr,
    )


def _unresolved_bus_sites(publishes: list[PublishSite], subscribes: list[SubscribeSite]) -> list[Violation]:
    found = []
    for site in [*publishes, *subscribes]:
        if site.topic is None:
            found.append(violation(
                "static.unresolved-topic", f"topic of {site.component}'s bus call cannot be read",
                location=site.location, expected="a string literal or a topic constant", seen=site.topic_expr,
            ))
    for site in publishes:
        if site.topic is not None and site.keys is None:
            found.append(violation(
                "static.unresolved-payload", f"payload of {site.topic} published by {site.component} cannot be read",
                location=site.location, expected="a dict literal, a local bound to one, or a helper returning one",
                seen="an expression the scanner does not follow",
            ))
    for site in subscribes:
        # Naming is optional (the registry's consumer entry gives the role); a name that is
        # passed but cannot be read is a site the registry cannot be matched against.
        if site.unreadable_name:
            found.append(violation(
                "static.subscribe-unnamed", f"{site.component} subscribes to {site.topic_expr} without a readable "
                "component= and role=", location=site.location,
                expected="component=\"<Class>\", role=\"<role>\" as string literals or constants, or neither",
                seen=f"component={site.declared_component!r} role={site.role!r}",
            ))
    return found
