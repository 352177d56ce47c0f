"""Stable, readable text renderings of the schema model and the registry, for snapshot tests.

A snapshot is only useful if its diff reads like the change that caused it: one line per
column, per field, per lineage entry, so adding ``signal_id`` to a migration shows up as one
added line.  Tables, topics and lineage are sorted by name (their order in the source is not
meaning); columns keep declaration order (it decides what ``INSERT ... VALUES`` without a
column list writes).  Source lines are left out so adding a comment to a migration does not
churn the snapshot.
"""

from __future__ import annotations

from contracts.registry.model import Field, Registry
from contracts.schema import Schema


def render_schema(schema: Schema) -> str:
    lines = []
    for name in sorted(schema.tables):
        table = schema.tables[name]
        lines.append(f"table {name}")
        lines.append(f"  designated timestamp: {table.designated_timestamp or '-'}")
        lines.append(f"  partition by: {table.partition_by or 'NONE'}")
        lines.append(f"  wal: {'yes' if table.wal else 'no'}")
        lines.append(f"  dedup upsert keys: {', '.join(table.dedup_keys) or '-'}")
        for column in table.columns.values():
            lines.append(f"  column {column.name}: {column.type}{' INDEX' if column.indexed else ''}")
    return "\n".join(lines) + "\n"


def render_registry(registry: Registry) -> str:
    lines = [f"registry {registry.name}", f"  modes: {', '.join(registry.modes)}"]
    for name in sorted(registry.topics):
        topic = registry.topics[name]
        lines.append(f"topic {name}")
        lines.append(f"  producers: {', '.join(sorted(topic.producers))}")
        lines.extend(f"  consumer {c.component}: {c.role}"
                     for c in sorted(topic.consumers, key=lambda c: (c.component, c.role)))
        lines.extend(f"  required in {mode}: {', '.join(sorted(topic.required_roles[mode]))}"
                     for mode in registry.modes if topic.required_roles.get(mode))
        if topic.allow_extra_fields:
            lines.append("  extra fields allowed")
        lines.extend(f"  field {_field(f)}" for f in sorted(topic.fields, key=lambda f: f.name))
    lines.append("lineage")
    lines.extend(f"  {e.source} -> {e.table}.{e.column}"
                 for e in sorted(registry.lineage, key=lambda e: (e.topic, e.field, e.table, e.column, e.how)))
    lines.extend(_oracle_lines(registry))
    lines.append("required columns")
    lines.extend(f"  {table}: {', '.join(registry.required_columns[table])}"
                 for table in sorted(registry.required_columns))
    lines.append("services")
    lines.extend(f"  {s.factory} -> {s.name} ({'optional' if s.optional else 'required'})"
                 for s in sorted(registry.services, key=lambda s: s.factory))
    conventions = registry.conventions
    lines.append("conventions")
    for attribute in ("publish", "subscribe", "unsubscribe", "db_methods", "topic_constants"):
        lines.append(f"  {attribute}: {', '.join(getattr(conventions, attribute)) or '-'}")
    return "\n".join(lines) + "\n"


def _field(spec: Field) -> str:
    text = f"{spec.name}{'' if spec.required else '?'}: {' | '.join(spec.types)}"
    if spec.choices:
        text += " in " + ", ".join(str(choice) for choice in spec.choices)
    return text


def _oracle_lines(registry: Registry) -> list[str]:
    """What the derived runtime oracles read: columns outside the events, entities with their
    state machines, invariants (only sections the registry declares, so others stay unchanged)."""
    lines = []
    if registry.outside_events:
        lines.append("outside events")
        lines.extend(f"  {table}: {', '.join(registry.outside_events[table])}"
                     for table in sorted(registry.outside_events))
    if registry.entities:
        lines.append("entities")
    for entity in sorted(registry.entities, key=lambda e: e.name):
        lines.append(f"  {entity.name} by {', '.join(entity.key)}: {', '.join(entity.topics)}")
        states = entity.states
        if states is not None:
            first = f"from {states.start}" if states.start else f"first {', '.join(states.initial)}"
            lines.append(f"    states of {states.field} ({first})")
            lines.extend(f"    {state} -> {', '.join(targets) or '(terminal)'}"
                         for state, targets in states.transitions.items())
            lines.extend(f"    {topic} means {state}" for topic, state in sorted(states.topic_states.items()))
    if registry.invariants:
        lines.append("invariants")
    for invariant in sorted(registry.invariants, key=lambda i: i.id):
        written = f" ({'/'.join(invariant.statements)} only)" if invariant.statements else ""
        on = [*invariant.topics, *(f"table {t}{written}" for t in invariant.tables)]
        lines.append(f"  {invariant.id} on {', '.join(on)}: {invariant.expected}")
    return lines
