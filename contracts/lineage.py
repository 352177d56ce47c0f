"""The lineage oracle: every written row, column by column, against the event that caused it.

The registry maps each column of each table the system writes to the event field (or a
declared derivation: a constant, JSON of several fields, ...) it comes from.  Two checks
follow from that map, for any registry:

* statically, per statement shape (``lineage_gaps``): a column the statement writes that no
  lineage entry feeds and the registry does not declare as filled outside the events
  (``Registry.outside_events``) is ``contract.lineage-missing``;
* at run time (:class:`LineageOracle`, fed by the runtime monitor): every INSERT/UPDATE is
  attributed to the event it was written for, and each written argument is compared with
  what the lineage says that event puts there (``contract.lineage-mismatch``), at the moment
  it is written, so a later overwrite of the row cannot hide a wrong write.

Attribution is by key, not by timing: a statement names its row (an INSERT by the table's
key columns, an UPDATE by its WHERE), and the oracle keeps, per table, topic and row key, the
last few events whose lineage feeds that row, from the first publish on: however many other
publishes (ticks of any number of sessions) come between an event and its write, and whether
or not the table was written before, the event is still there.  The statement came from one
of them; if none of them explains every written value, the newest candidate is reported with
each differing column.  This needs no hook in the system's bus (the monitor only sees publishes and
statements, in order) and survives interleaved sessions and tasks: another task's events
for *other* rows never compete, and a retried or delayed write still finds its event.

Everything per statement shape (the columns, their lineage sources and comparators per
candidate topic) is compiled once per SQL text; a row costs a key tuple, a dictionary lookup
and one comparison per written column.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from contracts.registry.model import Lineage, Registry
from contracts.rules import violation
from contracts.schema import Schema
from contracts.sqlcheck import StatementPlan
from simwire.violation import Violation

HISTORY = 3
"""Events remembered per (table, topic, row key): enough for a write delayed past the next
event of its row (a retry, an interleaved task), few enough that a stale value rarely matches."""

_MISSING = object()
_EPOCH = datetime(1970, 1, 1)
_TIME_TYPES = frozenset({"TIMESTAMP", "TIMESTAMP_NS", "DATE"})
_TEXT_TYPES = frozenset({"STRING", "VARCHAR", "SYMBOL", "CHAR"})

Problem = tuple[tuple[str, ...], Callable[[str], Violation]]


def table_key(registry: Registry, schema: Schema, table: str) -> tuple[str, ...]:
    """The columns naming one row of ``table``: declared, else its dedup keys without the
    designated timestamp (which is a value to check, not an identity)."""
    declared = registry.table_keys.get(table)
    if declared is not None:
        return tuple(declared)
    model = schema.tables.get(table)
    if model is None:
        return ()
    return tuple(k for k in model.dedup_keys if k != model.designated_timestamp)


def row_key(plan: StatementPlan, registry: Registry, schema: Schema) -> tuple[str, dict[str, int]] | None:
    """The table an INSERT/UPDATE writes and where its row key is among the arguments
    (column -> 0-based position): an INSERT's key values, an UPDATE's WHERE.  None when the
    statement writes no single table or does not name one row by its key."""
    if plan.info.kind not in ("INSERT", "UPDATE") or len(plan.info.tables_written) != 1:
        return None
    table = plan.info.tables_written[0]
    insert = plan.info.kind == "INSERT"
    lookup = {b.column.name: b.index - 1 for b in plan.bindings.values() if b.written == insert}
    key = table_key(registry, schema, table)
    if not all(k in lookup for k in key):
        return None
    return table, {k: lookup[k] for k in key}


def lineage_gaps(plan: StatementPlan, registry: Registry, *, location: str = "") -> list[Violation]:
    """``contract.lineage-missing`` for each column ``plan`` writes that nothing accounts for.

    Only tables the registry maps at least one lineage entry into are judged: a registry
    without lineage for a table makes no claim about it."""
    if plan.info.kind not in ("INSERT", "UPDATE") or len(plan.info.tables_written) != 1:
        return []
    table = plan.info.tables_written[0]
    fed = {e.column for e in registry.lineage if e.table == table}
    if not fed:
        return []
    outside = set(registry.outside_events.get(table, ()))
    found = []
    for column in _written_columns(plan):
        if column not in fed and column not in outside:
            found.append(violation(
                "contract.lineage-missing", f"{table}.{column} is written but no lineage entry says which event "
                "field it comes from", location=location,
                expected=f"a Lineage(topic, field, {table!r}, {column!r}) or {table}.{column} in outside_events",
                seen=f"written by {' '.join(plan.sql.split())[:100]!r}", table=table, column=column))
    columns = [c for c in _written_columns(plan) if c not in outside]
    if found or not columns:
        return found
    by_topic: dict[str, set[str]] = {}
    for entry in registry.lineage:
        if entry.table == table:
            by_topic.setdefault(entry.topic, set()).add(entry.column)
    lacking = {topic: [c for c in columns if c not in mapped] for topic, mapped in sorted(by_topic.items())}
    if all(lacking.values()):  # each column has a source, but no one event explains the whole write
        closest = min(lacking, key=lambda topic: len(lacking[topic]))
        found.append(violation(
            "contract.lineage-missing", f"no single event's lineage covers every column this statement writes to "
            f"{table}, so no event can explain the write", location=location,
            expected=f"one topic with lineage into each of {', '.join(columns)}",
            seen=f"closest: {closest} lacks {', '.join(lacking[closest])}", table=table,
            column=lacking[closest][0]))
    return found


def check_declarations(registry: Registry, schema: Schema) -> list[Violation]:
    """The tables and columns the derived oracles name (``outside_events``, ``table_keys``,
    invariant tables) exist in the schema model: a typo would silently disable a check."""
    named = [(f"outside_events[{t!r}]", t, c) for t, cs in registry.outside_events.items() for c in cs]
    named += [(f"table_keys[{t!r}]", t, c) for t, cs in registry.table_keys.items() for c in cs]
    named += [(f"invariant {i.id!r}", t, "") for i in registry.invariants for t in i.tables]
    found = []
    for where, table, column in named:
        model = schema.tables.get(table)
        if model is not None and (not column or column in model.columns):
            continue
        what = f"{table}.{column}" if column else table
        found.append(violation(
            "contract.lineage-unknown-column", f"registry {registry.name} {where} names {what}, which the "
            "migrations do not create", location=f"registry {registry.name} {where}",
            expected=f"a {'column' if column else 'table'} of the schema model", seen=f"unknown {what}"))
    return found


def _written_columns(plan: StatementPlan) -> list[str]:
    """Every column the statement writes, bound or literal, in statement order."""
    columns = list(plan.inserted)
    for binding in sorted(plan.bindings.values(), key=lambda b: b.index):
        if binding.written and binding.column.name not in columns:
            columns.append(binding.column.name)
    return columns


# --- comparing one value -------------------------------------------------------------------------


def _as_seconds(value: object) -> float | None:
    """An instant as float epoch seconds (naive datetimes are UTC, as the database stores them)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.timestamp()
        return (value - _EPOCH).total_seconds()
    if isinstance(value, date):
        return (datetime(value.year, value.month, value.day) - _EPOCH).total_seconds()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _same_time(expected: object, seen: object) -> bool:
    a, b = _as_seconds(expected), _as_seconds(seen)
    if a is None or b is None:
        return expected == seen
    return abs(a - b) <= 1e-6


def _same_number(expected: object, seen: object) -> bool:
    if isinstance(expected, bool) or isinstance(seen, bool):
        return expected == seen
    if isinstance(expected, int | float) and isinstance(seen, int | float):
        return math.isclose(expected, seen, rel_tol=1e-9, abs_tol=1e-9)
    return expected == seen


def _same_text(expected: object, seen: object) -> bool:
    if isinstance(expected, dict | list) and isinstance(seen, str):
        try:
            return json.loads(seen) == expected
        except ValueError:
            return False
    if isinstance(seen, str) and not isinstance(expected, str) and expected is not None:
        return seen == str(expected)  # an enum or id object written as its text
    return expected == seen


def _comparator(column_type: str) -> Callable[[object, object], bool]:
    if column_type in _TIME_TYPES:
        return _same_time
    if column_type in _TEXT_TYPES:
        return _same_text
    return _same_number


def _key_value(value: object) -> object:
    """Row-key values as the index holds them: instants as seconds, the rest as is."""
    if isinstance(value, datetime | date):
        return _as_seconds(value)
    return value


def _show(value: object) -> str:
    if isinstance(value, datetime):
        return value.replace(tzinfo=value.tzinfo or UTC).isoformat()
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --- the run-time oracle -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """Where one column's value comes from in one topic's payload."""

    entry: Lineage

    def value(self, payload: Mapping[str, Any]) -> object:
        if self.entry.derive is not None:
            return self.entry.derive(payload)
        return payload.get(self.entry.field)


def _key_of(sources: tuple[_Source, ...]) -> Callable[[Mapping[str, Any]], tuple[object, ...]]:
    """The row key an event carries, as the index holds it (a one-column plain field, the
    usual case, without the generic loop: this runs on every publish of a fed topic)."""
    if len(sources) == 1 and sources[0].entry.derive is None:
        field = sources[0].entry.field

        def one(payload: Mapping[str, Any]) -> tuple[object, ...]:
            value = payload.get(field)
            return (value,) if value.__class__ is str else (_key_value(value),)
        return one
    return lambda payload: tuple(_key_value(source.value(payload)) for source in sources)


@dataclass(frozen=True)
class _Candidate:
    """One topic that may have caused a statement shape: its history and per-column checks."""

    topic: str
    history: dict[tuple[object, ...], deque[tuple[int, Mapping[str, Any]]]]
    checks: tuple[tuple[int, str, _Source, Callable[[object, object], bool]], ...]


@dataclass(frozen=True)
class _Shape:
    """One statement text, compiled: its table, row key positions and candidate topics."""

    table: str
    label: str
    key_positions: tuple[int, ...]
    candidates: tuple[_Candidate, ...]
    event_optional: bool
    """It writes a column filled outside the events: a row may have no causing event."""


class LineageOracle:
    """Run-time half of the lineage oracle; the runtime monitor forwards publishes and statements."""

    def __init__(self, registry: Registry, schema: Schema) -> None:
        self.registry = registry
        self.schema = schema
        self._sources: dict[str, dict[str, dict[str, _Source]]] = {}  # table -> topic -> column -> source
        for entry in registry.lineage:
            if entry.table in schema.tables:
                self._sources.setdefault(entry.table, {}).setdefault(entry.topic, {})[entry.column] = _Source(entry)
        self._histories: dict[tuple[str, str], dict[tuple[object, ...], deque[tuple[int, Mapping[str, Any]]]]] = {}
        self.topics = frozenset(topic for by_topic in self._sources.values() for topic in by_topic)
        """Topics feeding some table: the monitor forwards only these."""
        # Every (table, topic) whose events carry the table's key is indexed from the first
        # publish on, not from the table's first write: a write may come any number of
        # publishes after its event (a retry, a busy pool, other sessions' ticks), and a
        # bounded back-fill of recent publishes loses it.  Per publish this costs one key per
        # table the topic feeds (O(1)); memory is HISTORY events per row key, as for any
        # written table (a tick-fed table keyed by symbol holds one deque per symbol).
        self._indexers: dict[str, list[tuple[Callable[[Mapping[str, Any]], tuple[object, ...]], dict[Any, Any]]]] = {}
        for table, by_topic in sorted(self._sources.items()):
            key = table_key(registry, schema, table)
            for topic, columns in sorted(by_topic.items()):
                if all(k in columns for k in key):
                    history = self._histories[(table, topic)] = {}
                    self._indexers.setdefault(topic, []).append((_key_of(tuple(columns[k] for k in key)), history))
        self._shapes: dict[str, _Shape | None] = {}
        self._sequence = 0

    def on_publish(self, topic: str, payload: Mapping[str, Any]) -> None:
        """Called for topics in :attr:`topics` only."""
        self._sequence += 1
        indexers = self._indexers.get(topic)
        if indexers:
            entry = (self._sequence, payload)
            for key_of, history in indexers:
                try:
                    key = key_of(payload)
                    events = history.get(key)
                    if events is None:
                        events = history[key] = deque((entry,), maxlen=HISTORY)
                    else:
                        events.append(entry)
                except TypeError:  # an unhashable key value: the payload monitor reports its type
                    continue

    def shape(self, query: str, plan: StatementPlan) -> _Shape | None:
        """The compiled shape of ``query`` (None: it writes no table lineage feeds)."""
        if query in self._shapes:
            return self._shapes[query]
        shape = self._shapes[query] = self._compile(plan)
        return shape

    def check(self, shape: _Shape, row: Sequence[Any]) -> list[Problem]:
        """Problems of one row of arguments of a statement of ``shape``."""
        try:
            key = tuple(_key_value(row[i]) for i in shape.key_positions)
            best: tuple[int, _Candidate, Mapping[str, Any], list[str]] | None = None
            for candidate in shape.candidates:
                events = candidate.history.get(key)
                if not events:
                    continue
                for sequence, payload in reversed(events):
                    differing = [column for position, column, source, same in candidate.checks
                                 if not same(source.value(payload), row[position])]
                    if not differing:
                        return []
                    if best is None or sequence > best[0]:
                        best = (sequence, candidate, payload, differing)
        except (IndexError, TypeError):
            return []  # wrong argument count or unhashable key: reported by the statement checks
        if best is None:
            if shape.event_optional or not self._sequence:
                return []  # no bus observed (a database-only monitor) cannot attribute anything
            return [self._no_event(shape, key, row)]
        return [self._mismatch(shape, best[1], best[2], best[3], row)]

    # -- compiling --------------------------------------------------------------------------

    def _compile(self, plan: StatementPlan) -> _Shape | None:
        located = row_key(plan, self.registry, self.schema)
        if located is None:
            return None  # the statement does not name one row: it cannot be attributed
        table, key_positions = located
        by_topic = self._sources.get(table)
        model = self.schema.tables.get(table)
        if not by_topic or model is None:
            return None
        written = {b.column.name: b.index - 1 for b in plan.bindings.values() if b.written}
        outside = set(self.registry.outside_events.get(table, ()))
        columns = [c for c in _written_columns(plan) if c not in outside]
        candidates = []
        for topic, sources in sorted(by_topic.items()):
            if (table, topic) not in self._histories or not all(c in sources for c in columns):
                continue
            checks = tuple((written[c], c, sources[c], _comparator(model.columns[c].type))
                           for c in columns if c in written)
            candidates.append(_Candidate(topic, self._histories[(table, topic)], checks))
        label = f"statement {' '.join(plan.sql.split())[:80]!r}"
        # No candidate: a registry gap, reported once by ``lineage_gaps``; no claim per row.
        return _Shape(table, label, tuple(key_positions.values()), tuple(candidates),
                      event_optional=not candidates or bool(outside & set(_written_columns(plan))))

    # -- findings -----------------------------------------------------------------------------

    def _mismatch(self, shape: _Shape, candidate: _Candidate, payload: Mapping[str, Any],
                  differing: list[str], row: Sequence[Any]) -> Problem:
        by_column = {column: (position, source) for position, column, source, _ in candidate.checks}
        parts_expected, parts_seen = [], []
        for column in differing:
            position, source = by_column[column]
            parts_expected.append(f"{column} = {_show(source.value(payload))} ({source.entry.source})")
            parts_seen.append(f"{column} = {_show(row[position])} (${position + 1})")
        key = ("contract.lineage-mismatch", shape.table, candidate.topic, *differing)
        ident = _identity(payload, self.registry, candidate.topic)

        def build(where: str) -> Violation:
            return violation(
                "contract.lineage-mismatch", f"{shape.table} row written for {candidate.topic} {ident} differs "
                f"from the event in {', '.join(differing)}", location=where,
                expected="; ".join(parts_expected), seen="; ".join(parts_seen), table=shape.table,
                topic=candidate.topic, columns=list(differing))
        return key, build

    def _no_event(self, shape: _Shape, key: tuple[object, ...], row: Sequence[Any]) -> Problem:
        topics = ", ".join(c.topic for c in shape.candidates)
        names = table_key(self.registry, self.schema, shape.table)
        shown = ", ".join(f"{n}={_show(v)}" for n, v in zip(names, key, strict=False))

        def build(where: str) -> Violation:
            return violation(
                "contract.lineage-no-event", f"{shape.table} row ({shown}) written with no event it could come from",
                location=where, expected=f"a preceding event of {topics} for this row",
                seen=f"no such event; arguments {_show(tuple(row))}", table=shape.table)
        return ("contract.lineage-no-event", shape.table, shape.label), build


def _identity(payload: Mapping[str, Any], registry: Registry, topic: str) -> str:
    entity = registry.entity_of(topic)
    names = entity.key if entity else ()
    return " ".join(f"{n}={payload.get(n)!s}" for n in names)
