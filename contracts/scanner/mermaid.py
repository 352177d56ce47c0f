"""Mermaid ``flowchart LR`` of a wiring graph for one mode.

Components are boxes, topics are stadiums, tables are cylinders.  ``publish`` edges go
component -> topic, ``subscribe`` edges topic -> component labelled with the role, dotted
edges component -> table for writes.  A required consumer missing in the mode is a red node
fed by a red edge, so the gap of seed defect 1 is visible at a glance.
"""

from __future__ import annotations

import re

from contracts.scanner.wiring import WiringGraph

_MISSING_STYLE = "fill:#fde8e8,stroke:#d00,color:#d00,stroke-width:2px"
_UNREACHABLE_STYLE = "stroke:#d00,stroke-dasharray:4 3"


def render_mermaid(graph: WiringGraph, mode: str) -> str:
    view = graph.for_mode(mode)
    lines = [f"%% simwire wiring, mode {mode}", "flowchart LR",
             f"  classDef missing {_MISSING_STYLE}", f"  classDef unreachable {_UNREACHABLE_STYLE}"]
    for component in view.components:
        suffix = ":::unreachable" if component in view.unreachable else ""
        lines.append(f"  {_id('c', component)}[\"{component}\"]{suffix}")
    lines.extend(f"  {_id('t', topic)}([\"{topic}\"])" for topic in view.topics)
    tables = sorted({t for _, written in view.tables_written for t in written})
    lines.extend(f"  {_id('db', table)}[(\"{table}\")]" for table in tables)
    links: list[str] = []
    for edge in sorted(set((e.kind, e.component, e.topic, e.role) for e in view.edges)):
        kind, component, topic, role = edge
        if kind == "publish":
            links.append(f"  {_id('c', component)} --> {_id('t', topic)}")
        else:
            links.append(f"  {_id('t', topic)} -->|{role or '?'}| {_id('c', component)}")
    for component, written in view.tables_written:
        links.extend(f"  {_id('c', component)} -.->|writes| {_id('db', table)}" for table in written)
    red: list[int] = []
    for missing in view.missing:
        node = _id("missing", f"{missing.topic}_{missing.role}")
        lines.append(f"  {node}[\"missing: {missing.role}\"]:::missing")
        red.append(len(links))
        links.append(f"  {_id('t', missing.topic)} -->|{missing.role}| {node}")
    lines.extend(links)
    lines.extend(f"  linkStyle {index} stroke:#d00,stroke-width:2px" for index in red)
    return "\n".join(lines) + "\n"


def _id(prefix: str, name: str) -> str:
    """A Mermaid node id: names such as ``market.price_update`` contain characters it rejects."""
    return f"{prefix}_{re.sub(r'[^A-Za-z0-9_]', '_', name)}"
