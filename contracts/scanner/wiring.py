"""The wiring graph: who publishes what, who hears it under which role, which tables each
component writes, and which required consumers are missing per mode.

It is plain data (``to_json()`` is sorted and stable) so it can be snapshotted: a changed
publish site or a dropped subscriber shows up as a one-line diff in review.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts.registry.model import Registry
from contracts.scanner.crosscheck import MissingConsumer, missing_consumers, resolve_roles
from contracts.scanner.model import ScanResult
from contracts.sqlcheck import statement_tables


@dataclass(frozen=True, order=True)
class Edge:
    """``publish``: component -> topic; ``subscribe``: topic -> component (with its role)."""

    kind: str
    component: str
    topic: str
    role: str
    site: str


@dataclass(frozen=True)
class WiringGraph:
    components: tuple[str, ...]
    topics: tuple[str, ...]
    edges: tuple[Edge, ...]
    tables_written: tuple[tuple[str, tuple[str, ...]], ...]   # (component, tables), sorted
    missing: tuple[MissingConsumer, ...]
    unreachable: tuple[str, ...]   # components created only by factories nobody calls
    inactive: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Per mode, the components that do not run in it (the registry's ``Service.modes``), sorted."""

    def for_mode(self, mode: str) -> WiringGraph:
        """The graph of ``mode``: only its components (and the topics they still publish or hear,
        or that miss a required consumer), only its missing consumers."""
        off = set(dict(self.inactive).get(mode, ()))
        missing = tuple(m for m in self.missing if m.mode == mode)
        edges = tuple(e for e in self.edges if e.component not in off)
        components = tuple(c for c in self.components if c not in off)
        topics = {e.topic for e in edges} | {m.topic for m in missing}
        return WiringGraph(components, tuple(t for t in self.topics if t in topics), edges,
                           tuple(w for w in self.tables_written if w[0] not in off), missing,
                           tuple(c for c in self.unreachable if c not in off))

    def to_json(self) -> dict[str, Any]:
        return {
            "components": list(self.components),
            "topics": list(self.topics),
            "edges": [vars(e) for e in self.edges],
            "tables_written": {component: list(tables) for component, tables in self.tables_written},
            "missing_required_consumers": [
                {"mode": m.mode, "topic": m.topic, "role": m.role,
                 "unreachable_sites": [f"{c} ({where})" for c, where in m.unreachable]}
                for m in self.missing
            ],
            "unreachable_components": list(self.unreachable),
        }


def build_wiring(result: ScanResult, registry: Registry | None = None) -> WiringGraph:
    if registry is not None:
        result = resolve_roles(result, registry)
    edges = sorted(
        [Edge("publish", p.component, p.topic, "", p.location) for p in result.publishes if p.topic]
        + [Edge("subscribe", s.declared_component or s.component, s.topic, s.role or "", s.location)
           for s in result.subscribes if s.topic]
    )
    written: dict[str, set[str]] = {}
    for site in result.sql:
        if site.sql is not None:
            tables = statement_tables(site.sql).tables_written
            if tables:
                written.setdefault(site.component, set()).update(tables)
    missing = missing_consumers(result, registry) if registry else []
    components = {e.component for e in edges} | set(written)
    return WiringGraph(
        components=tuple(sorted(components)),
        topics=tuple(sorted({e.topic for e in edges} | {m.topic for m in missing})),
        edges=tuple(edges),
        tables_written=tuple(sorted((c, tuple(sorted(t))) for c, t in written.items())),
        missing=tuple(sorted(missing)),
        unreachable=tuple(sorted(c for c in components if not result.reachable(c))),
        inactive=tuple((mode, tuple(sorted(c for c in components if not registry.runs_in(c, mode))))
                       for mode in registry.modes) if registry else (),
    )
