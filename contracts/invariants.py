"""Invariants and state machines declared in the registry, checked on every publish and write.

The registry declares *entities* (an order, a position, a session: a key and the topics that
describe one instance over time) with an optional state machine, and *invariants*: Python
predicates over a view, each with an id and the property in words.  This module keeps, as the
run goes:

* per entity instance, the merge of its events so far (later fields win), so an invariant can
  read a field one event does not repeat: ``position_updated`` carries no ``side``, the
  position's ``position_opened`` did;
* per row of a table an invariant names, the merge of the values written to it so far
  (INSERT starts the row, UPDATE changes the columns it sets; only statements that succeeded);
* per entity instance, its state, so each event's state is checked as a transition from the
  previous one (``contract.state-transition``).

An invariant is evaluated only when every field it names is in the view, so an UPDATE that
sets two columns of a row is judged on the row it leaves.  A broken invariant is
``contract.invariant`` with the invariant's id, ``expected`` (its words) and ``seen`` (the
values of its fields); a predicate that raises is reported the same way, with the error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contracts.lineage import row_key, table_key
from contracts.registry.model import Entity, Invariant, Registry
from contracts.rules import violation
from contracts.schema import Schema
from contracts.sqlcheck import StatementPlan
from simwire.violation import Violation

Problem = tuple[tuple[str, ...], Callable[[str], Violation]]


@dataclass(frozen=True)
class _RowShape:
    """One statement text writing a table some invariant names: where its row key and
    written columns are among the arguments."""

    table: str
    insert: bool
    key_positions: tuple[int, ...]
    written: tuple[tuple[str, int], ...]
    invariants: tuple[Invariant, ...]


class InvariantOracle:
    """Run-time checker of a registry's entities and invariants; fed by the runtime monitor."""

    def __init__(self, registry: Registry, schema: Schema) -> None:
        self.registry = registry
        self.schema = schema
        self._entity: dict[str, Entity] = {}
        for entity in registry.entities:
            for topic in entity.topics:
                self._entity.setdefault(topic, entity)
        self._on_topic: dict[str, tuple[Invariant, ...]] = {}
        self._on_table: dict[str, tuple[Invariant, ...]] = {}
        for invariant in registry.invariants:
            for topic in invariant.topics:
                self._on_topic[topic] = (*self._on_topic.get(topic, ()), invariant)
            for table in invariant.tables:
                self._on_table[table] = (*self._on_table.get(table, ()), invariant)
        self._views: dict[tuple[str, tuple[object, ...]], dict[str, Any]] = {}
        self._states: dict[tuple[str, tuple[object, ...]], str] = {}
        self._rows: dict[tuple[str, tuple[object, ...]], dict[str, Any]] = {}
        self._shapes: dict[str, _RowShape | None] = {}
        self._restarted: set[tuple[str, tuple[object, ...]]] = set()

    def on_restart(self) -> None:
        """The process died and a new one took over: what the dead one published of an entity
        may not have reached the record, so each entity's next event may make its last state
        again, and may say (``previous_field``) it leaves the state the record kept."""
        self._restarted = set(self._states)

    def watches(self, topic: str) -> bool:
        """Does an entity or invariant read ``topic``?  (The monitor skips the others.)"""
        return topic in self._entity or topic in self._on_topic

    # -- events -------------------------------------------------------------------------------

    def on_publish(self, topic: str, payload: Mapping[str, Any]) -> list[Problem]:
        entity = self._entity.get(topic)
        invariants = self._on_topic.get(topic)
        if entity is None and invariants is None:
            return []
        found: list[Problem] = []
        view: Mapping[str, Any] = payload
        if entity is not None:
            key = tuple(payload.get(name) for name in entity.key)
            try:
                merged = self._views.setdefault((entity.name, key), {})
            except TypeError:
                return []  # an unhashable key: the payload checks report its type
            merged.update(payload)
            view = merged
            if entity.states is not None:
                found += self._transition(entity, key, topic, payload)
        for invariant in invariants or ():
            problem = _judge(invariant, view, f"{topic}{_ident(entity, payload)}", ("topic", topic))
            if problem is not None:
                found.append(problem)
        return found

    def _transition(self, entity: Entity, key: tuple[object, ...], topic: str,
                    payload: Mapping[str, Any]) -> list[Problem]:
        states = entity.states
        assert states is not None
        new = states.topic_states.get(topic) or payload.get(states.field)
        if new is None:
            return []
        new = str(new)
        previous = self._states.get((entity.name, key))
        self._states[(entity.name, key)] = new
        ident = _ident(entity, payload)
        if (entity.name, key) in self._restarted:
            self._restarted.discard((entity.name, key))
            if new == previous:
                return []
            claimed = payload.get(states.previous_field) if states.previous_field else None
            previous = str(claimed) if claimed is not None else previous
        elif states.previous_field and previous is not None:
            claimed = payload.get(states.previous_field)
            if claimed is not None and str(claimed) != previous:
                return [(("contract.state-transition", entity.name, "previous", previous, str(claimed)),
                         lambda where: violation(
                             "contract.state-transition", f"{entity.name}{ident}: {topic} says it leaves "
                             f"{claimed} but the last state seen was {previous}", location=where,
                             expected=f"{states.previous_field} = {previous}", seen=f"{states.previous_field} = "
                             f"{claimed}", entity=entity.name, topic=topic))]
        origin = previous if previous is not None else (states.start or None)
        if origin is None:
            if new in states.initial:
                return []
            allowed = states.initial
            seen = f"first state {new}"
        else:
            allowed = states.transitions.get(origin, ())
            if new in allowed:
                return []
            seen = f"{origin} -> {new}"
        expected = (f"from {origin}: one of {', '.join(allowed)}" if origin is not None and allowed
                    else f"nothing after {origin} (terminal)" if origin is not None
                    else f"a first state among {', '.join(allowed)}")
        return [(("contract.state-transition", entity.name, seen),
                 lambda where: violation(
                     "contract.state-transition", f"{entity.name}{ident}: {seen} on {topic} is not a declared "
                     "transition", location=where, expected=expected, seen=seen, entity=entity.name, topic=topic))]

    # -- rows -----------------------------------------------------------------------------------

    def on_statement(self, query: str, plan: StatementPlan, row: Sequence[Any],
                     error: BaseException | None) -> list[Problem]:
        if not self._on_table or error is not None:
            return []
        shape = self._shapes.get(query, False)
        if shape is False:
            shape = self._shapes[query] = self._compile(plan)
        if shape is None:
            return []
        try:
            key = tuple(row[i] for i in shape.key_positions)
            values = {column: row[position] for column, position in shape.written}
            if shape.insert:
                merged = self._rows[(shape.table, key)] = values
            else:
                merged = self._rows.setdefault((shape.table, key), {})
                merged.update(values)
        except (IndexError, TypeError):
            return []  # wrong argument count or unhashable key: the statement checks report it
        where = " ".join(f"{name}={value}" for name, value in zip(
            table_key(self.registry, self.schema, shape.table), key, strict=False))
        found = []
        for invariant in shape.invariants:
            problem = _judge(invariant, merged, f"{shape.table} row {where}", ("table", shape.table))
            if problem is not None:
                found.append(problem)
        return found

    def _compile(self, plan: StatementPlan) -> _RowShape | None:
        located = row_key(plan, self.registry, self.schema)
        if located is None or not located[1]:
            return None
        table, key_positions = located
        kind = plan.info.kind
        invariants = tuple(i for i in self._on_table.get(table, ()) if not i.statements or kind in i.statements)
        if not invariants:
            return None
        written = tuple((b.column.name, b.index - 1) for b in sorted(plan.bindings.values(), key=lambda b: b.index)
                        if b.written)
        return _RowShape(table, plan.info.kind == "INSERT", tuple(key_positions.values()), written, invariants)


def _judge(invariant: Invariant, view: Mapping[str, Any], subject: str,
           scope: tuple[str, str]) -> Problem | None:
    if not all(name in view for name in invariant.fields):
        return None
    try:
        if invariant.when is not None and not invariant.when(view):
            return None
        if invariant.holds(view):
            return None
        outcome = ""
    except Exception as error:  # a predicate that cannot judge these values is a finding too
        outcome = f" (the check raised {type(error).__name__}: {error})"
    seen = ", ".join(f"{name}={view[name]!r}" for name in invariant.fields) + outcome
    return (("contract.invariant", invariant.id, *scope), lambda where: violation(
        "contract.invariant", f"invariant {invariant.id} does not hold for {subject}", location=where,
        expected=invariant.expected, seen=seen, invariant=invariant.id))


def _ident(entity: Entity | None, payload: Mapping[str, Any]) -> str:
    if entity is None:
        return ""
    return " " + " ".join(f"{name}={payload.get(name)!s}" for name in entity.key)
