"""The runtime monitor: every payload and statement of a simulated run, judged as it happens.

Attach a :class:`RuntimeMonitor` to a bus (``bus.add_observer(monitor)``) and to the
database (``database.add_observer(monitor)``).  The bus protocol is four duck-typed
callbacks, so any bus can be monitored by calling them::

    on_subscribe(subscription)            # subscription has .topic, .component, .role
    on_unsubscribe(subscription)
    on_publish(topic, payload, subscribers)    # subscribers: those live at this publish
    on_handler_error(subscription, topic, payload, error)

and the database protocol is one: ``on_statement(query, args, error)``, called after each
statement with its positional arguments (for ``executemany``, ``args`` is the list of
argument rows) and the exception it raised, if any.

What it reports (all aggregated: one violation per rule and topic/statement, with counts):
payloads that break the registry (unknown topic; missing, renamed, extra, ill-typed or None
fields; values outside an enumeration); publishes that reached no subscriber (dead letters)
or missed a role the registry requires in this mode, with the evidence (how many publishes,
who was live); handler errors; and statements that break the schema model (unknown
table/column, NULL in a dedup-key or required column, arguments asyncpg or QuestDB would
reject or silently corrupt, such as a float for a TIMESTAMP).

It also runs the oracles derived from the registry, when the registry declares them: every
written row against the event it came from (``contracts.lineage``), invariants and state
machines on every publish and write (``contracts.invariants``), and the bookkeeping of writes
whose last attempt failed (``contracts.drops``; judged by :meth:`RuntimeMonitor.silent_drops`
at the end of the run, with the failures the system recorded).

Cost on the hot path is a dictionary lookup per publish plus one exact ``type()`` test per
field: validators are compiled once per topic and statement plans once per SQL text; the
location hint is only called when a finding is seen for the first time.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any
from uuid import UUID

from contracts.drops import DropTracker
from contracts.invariants import InvariantOracle
from contracts.lineage import LineageOracle, lineage_gaps, row_key
from contracts.registry.model import Field, Registry, Topic
from contracts.rules import violation
from contracts.schema import Schema
from contracts.sqlcheck import Binding, StatementPlan, plan_statement
from contracts.validators import compile_payload_check
from simwire.violation import Violation

_MISSING = object()
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "float": (float, int),  # an int is a valid float; a bool is neither (checked below)
    "int": (int,),
    "bool": (bool,),
    "dict": (dict,),
    "list": (list, tuple),
    "none": (type(None),),
}


@dataclass
class _Finding:
    """One aggregated finding: the first occurrence in full, then a count."""

    violation: Violation
    count: int = 0
    samples: list[str] = field(default_factory=list)


class RuntimeMonitor:
    """Bus observer and statement observer checking a run against a registry and a schema.

    ``mode`` selects the required roles (``backtest``/``paper``/``live`` for the trading
    registry).  ``location_hint`` returns where the run is, e.g. ``"t=12.5s"`` from the
    virtual clock; it is appended to every finding's location.
    """

    def __init__(self, registry: Registry, schema: Schema, *, mode: str,
                 location_hint: Callable[[], str] | None = None) -> None:
        if mode not in registry.modes:
            raise ValueError(f"mode {mode!r} is not one of registry {registry.name!r} modes {registry.modes}")
        self.registry = registry
        self.schema = schema
        self.mode = mode
        self._hint = location_hint or (lambda: "")
        self._topics: dict[str, _TopicState] = {}
        self._statements: dict[str, _StatementCheck] = {}
        self._findings: dict[tuple[str, ...], _Finding] = {}
        # Oracles derived from the registry (contracts.lineage, .invariants, .drops): only
        # built when the registry declares what they need, so a bare registry costs nothing.
        self._lineage = LineageOracle(registry, schema) if registry.lineage else None
        self._invariants = (InvariantOracle(registry, schema)
                            if registry.entities or registry.invariants else None)
        self.drops = DropTracker()

    @property
    def publishes(self) -> dict[str, int]:
        """How many times each topic was published so far."""
        return {topic: state.publishes for topic, state in self._topics.items()}

    # -- bus observer ------------------------------------------------------------------------

    def on_subscribe(self, subscription: Any) -> None:
        topic = self.registry.topics.get(subscription.topic)
        if topic is None:
            self._unknown_topic(subscription.topic, f"subscribe by {subscription.component}:{subscription.role}")
            return
        if not any(c.component == subscription.component and c.role == subscription.role
                   for c in topic.consumers):
            declared = ", ".join(f"{c.component}:{c.role}" for c in topic.consumers)
            self._record(("contract.undeclared-consumer", topic.name, subscription.component, subscription.role),
                         lambda: violation(
                             "contract.undeclared-consumer", f"{subscription.component}:{subscription.role} "
                             f"subscribes to {topic.name!r} but the registry does not declare it",
                             location=self._where(f"topic {topic.name}"), expected=f"one of {declared}",
                             seen=f"{subscription.component}:{subscription.role}"))

    def on_unsubscribe(self, subscription: Any) -> None:
        """Nothing to check: who is live is taken from each publish's subscriber list."""

    def on_publish(self, topic: str, payload: Mapping[str, Any], subscribers: Sequence[Any]) -> None:
        state = self._topics.get(topic)
        if state is None:
            state = self._topics[topic] = self._compile(topic)
        state.publishes += 1
        validator = state.validator
        if validator is None:
            self._unknown_topic(topic, "publish")
            return
        if not validator.complete_and_clean(payload):  # the generated check, called here: once per publish
            for key, build in validator.problems(payload):
                self._record(("payload", topic, *key), lambda build=build: build(self._where(f"topic {topic}")),
                             sample=_short(payload))
        if state.lineage:
            self._lineage.on_publish(topic, payload)  # type: ignore[union-attr]
        if state.invariants:
            for key, build in self._invariants.on_publish(topic, payload):  # type: ignore[union-attr]
                self._record(key, lambda build=build: build(self._where(f"topic {topic}")), sample=_short(payload))
        if subscribers is not state.last_subscribers:
            # Buses keep one subscriber tuple until the next (un)subscribe: recompute only then
            # (a bus that mutates one list in place must pass a copy, or this verdict goes stale).
            state.last_subscribers = subscribers
            state.missing_roles = tuple(role for role in state.required_roles
                                        if not any(s.role == role for s in subscribers))
        if not subscribers:
            self._record(("contract.dead-letter", topic), lambda: violation(
                "contract.dead-letter", f"{topic!r} was published with nobody subscribed",
                location=self._where(f"topic {topic}"), expected="at least one live subscriber", seen="none"))
        for role in state.missing_roles:
            self._missing_role(topic, role, subscribers)

    def on_handler_error(self, subscription: Any, topic: str, payload: Mapping[str, Any],
                         error: BaseException) -> None:
        name = f"{subscription.component}:{subscription.role}"
        self._record(("contract.handler-error", topic, name, type(error).__name__), lambda: violation(
            "contract.handler-error", f"handler {name} raised {type(error).__name__} on {topic!r}: {error}",
            location=self._where(f"topic {topic}"), expected="the handler completes", seen=repr(error)),
            sample=_short(payload))

    # -- statement observer ------------------------------------------------------------------

    def on_statement(self, query: str, args: Sequence[Any], error: BaseException | None) -> None:
        check = self._statements.get(query)
        if check is None:
            check = self._statements[query] = _StatementCheck(plan_statement(query, self.schema, self.registry))
            gaps = lineage_gaps(check.plan, self.registry) if self._lineage is not None else []
            for static in [*check.plan.violations, *gaps]:
                self._record((static.rule, query, static.seen), lambda v=static: dataclasses.replace(
                    v, location=self._where(check.label)))
        rows = args if _is_many(args) else (args,)
        for row in rows:
            for key, build in check.problems(row):
                self._record((*key, query), lambda build=build: build(self._where(check.label)),
                             sample=repr(tuple(row))[:200])
            if check.writes:
                self._on_write(query, check, row, error)
        if error is not None and not _is_transient(error):
            self._record(("sql.runtime-error", query, type(error).__name__), lambda: violation(
                "sql.runtime-error", f"statement failed with {type(error).__name__}: {error}",
                location=self._where(check.label), expected="the statement succeeds", seen=str(error),
                sql=check.plan.sql))

    def _on_write(self, query: str, check: _StatementCheck, row: Sequence[Any], error: BaseException | None) -> None:
        """The derived oracles of one written row: lineage, row invariants, drop bookkeeping."""
        if self._lineage is not None:
            shape = self._lineage.shape(query, check.plan)
            if shape is not None:
                for key, build in self._lineage.check(shape, row):
                    self._record(key, lambda build=build: build(self._where(check.label)),
                             sample=repr(tuple(row))[:200])
        if self._invariants is not None:
            for key, build in self._invariants.on_statement(query, check.plan, row, error):
                self._record(key, lambda build=build: build(self._where(check.label)),
                             sample=repr(tuple(row))[:200])
        self.drops.on_write(query, row, error, lambda: self._describe_write(check, row))

    def _describe_write(self, check: _StatementCheck,
                        row: Sequence[Any]) -> tuple[str, tuple[tuple[str, Any], ...], str]:
        located = row_key(check.plan, self.registry, self.schema)
        table, positions = located or ("/".join(check.plan.info.tables_written), {})
        key = tuple((name, row[position]) for name, position in positions.items() if position < len(row))
        return table, key, self._where(check.label)

    def on_restart(self) -> None:
        """The system under test was restarted (a crash fault): see ``InvariantOracle.on_restart``."""
        if self._invariants is not None:
            self._invariants.on_restart()

    def silent_drops(self, recorded: Sequence[Any] = ()) -> list[Violation]:
        """``oracle.silent-drop``: writes whose last attempt failed, with no later success of the
        same write and no failure in ``recorded`` (the system's own records) naming the row."""
        return self.drops.violations(recorded)

    # -- results -------------------------------------------------------------------------------

    def violations(self) -> list[Violation]:
        """Every finding once, with ``details["count"]`` occurrences and a few samples."""
        result = []
        for finding in self._findings.values():
            first = finding.violation
            details = {**first.details, "count": finding.count}
            if first.rule == "contract.required-role-missing":
                details["publishes_total"] = self.publishes[details["topic"]]
            if finding.samples:
                details["samples"] = list(finding.samples)
            message = first.message if finding.count == 1 else f"{first.message} ({finding.count} times)"
            result.append(dataclasses.replace(first, message=message, details=details))
        return sorted(result, key=lambda v: (v.rule, v.location, v.message))

    # -- internals -------------------------------------------------------------------------

    def _compile(self, topic: str) -> _TopicState:
        declared = self.registry.topics.get(topic)
        return _TopicState(_PayloadValidator(declared) if declared else None,
                           self.registry.required_roles(topic, self.mode),
                           lineage=self._lineage is not None and topic in self._lineage.topics,
                           invariants=self._invariants is not None and self._invariants.watches(topic))

    def _where(self, subject: str) -> str:
        hint = self._hint()
        return f"{subject} at {hint}" if hint else subject

    def _record(self, key: tuple[str, ...], build: Callable[[], Violation], sample: str = "") -> None:
        finding = self._findings.get(key)
        if finding is None:
            finding = self._findings[key] = _Finding(build())
        finding.count += 1
        if sample and len(finding.samples) < 3:
            finding.samples.append(sample)

    def _unknown_topic(self, topic: str, action: str) -> None:
        self._record(("contract.unknown-topic", topic, action), lambda: violation(
            "contract.unknown-topic", f"{action} on topic {topic!r}, which the registry does not declare",
            location=self._where(f"topic {topic}"), expected=f"one of {', '.join(sorted(self.registry.topics))}",
            seen=repr(topic), **_close(topic, self.registry.topics)))

    def _missing_role(self, topic: str, role: str, subscribers: Sequence[Any]) -> None:
        live = sorted(f"{s.component}:{s.role}" for s in subscribers)
        key = ("contract.required-role-missing", topic, role)
        self._record(key, lambda: violation(
            "contract.required-role-missing", f"in {self.mode}, {topic!r} was published without a live "
            f"subscriber with role {role!r}", location=self._where(f"topic {topic}"),
            expected=f"a live subscriber with role {role!r} at every publish ({self.mode} mode)",
            seen=f"live: {', '.join(live) or 'nobody'}", mode=self.mode, role=role, topic=topic))
        seen_live = self._findings[key].violation.details.setdefault("live_subscribers", [])
        seen_live.extend(name for name in live if name not in seen_live)


@dataclass
class _TopicState:
    """Per-topic state on the hot path: the compiled validator and the last role verdict."""

    validator: _PayloadValidator | None
    required_roles: tuple[str, ...]
    lineage: bool = False
    """The topic feeds a table: its events are kept for the lineage oracle."""
    invariants: bool = False
    """An entity or invariant of the registry reads the topic."""
    publishes: int = 0
    last_subscribers: object = None
    missing_roles: tuple[str, ...] = ()


class _PayloadValidator:
    """One topic's payload rules.

    The hot path remembers payload *shapes* (keys and exact value types, in order) that
    passed once: a payload of a known shape only needs its enumerated values checked.  Any
    other payload takes the full check, field by field.
    """

    _MAX_SHAPES = 64  # publishers build payloads the same way each time; a handful is typical

    def __init__(self, topic: Topic) -> None:
        self.topic = topic
        self.declared = frozenset(f.name for f in topic.fields)
        self.checks = tuple(
            (f, frozenset(t for name in f.types for t in _PYTHON_TYPES[name]),
             frozenset(f.choices) | ({None} if f.choices and "none" in f.types else set()))
            for f in topic.fields
        )
        self.choice_checks = tuple(
            (spec.name, choices | ({_MISSING} if not spec.required else set()))
            for spec, _, choices in self.checks if choices
        )
        self.good_shapes: set[tuple[tuple[str, ...], tuple[type, ...]]] = set()
        self.complete_and_clean = compile_payload_check([(f.name, types, choices) for f, types, choices in self.checks])

    def problems(self, payload: Mapping[str, Any]) -> list[tuple[tuple[str, ...], Callable[[str], Violation]]]:
        if self.complete_and_clean(payload):  # the common case, one generated function per topic
            return []
        shape = (tuple(payload), tuple(map(type, payload.values())))
        if shape in self.good_shapes and all(payload.get(name, _MISSING) in allowed
                                             for name, allowed in self.choice_checks):
            return []
        found = self.check_fields(payload)
        clean = all(key[0] == "contract.payload-choice" for key, _ in found)
        if clean and len(self.good_shapes) < self._MAX_SHAPES:
            self.good_shapes.add(shape)
        return found

    def check_fields(self, payload: Mapping[str, Any]) -> list[tuple[tuple[str, ...], Callable[[str], Violation]]]:
        found: list[tuple[tuple[str, ...], Callable[[str], Violation]]] = []
        complete = payload.keys() == self.declared  # every field, nothing else
        for spec, types, choices in self.checks:
            value = payload[spec.name] if complete else payload.get(spec.name, _MISSING)
            if type(value) in types and (not choices or value in choices):
                continue  # the hot path: exact type, allowed value
            if value is _MISSING:
                if spec.required:
                    found.append(self._missing(spec, payload))
            elif value is None and "none" not in spec.types:
                found.append(self._problem("contract.payload-null", spec, "None", f"{spec.name} is None"))
            elif not _instance_of(value, spec.types):
                found.append(self._problem("contract.payload-type", spec, type(value).__name__,
                                           f"{spec.name} has type {type(value).__name__}"))
            elif choices and value not in choices:
                found.append(self._problem("contract.payload-choice", spec, repr(value),
                                           f"{spec.name}={value!r} is not an allowed value"))
        if not complete and not self.topic.allow_extra_fields:
            for extra in sorted(payload.keys() - self.declared):
                found.append(self._extra(extra))
        return found

    def _problem(self, rule: str, spec: Field, seen: str,
                 what: str) -> tuple[tuple[str, ...], Callable[[str], Violation]]:
        expected = "/".join(spec.types) + (f" in {list(spec.choices)}" if spec.choices else "")
        return (rule, spec.name), lambda where: violation(
            rule, f"payload of {self.topic.name!r}: {what}", location=where, expected=f"{spec.name}: {expected}",
            seen=seen)

    def _missing(self, spec: Field, payload: Mapping[str, Any]) -> tuple[tuple[str, ...], Callable[[str], Violation]]:
        extras = sorted(payload.keys() - self.declared)
        renamed = difflib.get_close_matches(spec.name, extras, n=1)
        hint = f" (renamed to {renamed[0]!r}?)" if renamed else ""
        return ("contract.payload-missing-field", spec.name), lambda where: violation(
            "contract.payload-missing-field", f"payload of {self.topic.name!r} lacks required field "
            f"{spec.name!r}{hint}", location=where, expected=f"{spec.name!r} ({'/'.join(spec.types)})",
            seen=f"keys {sorted(payload)}")

    def _extra(self, name: str) -> tuple[tuple[str, ...], Callable[[str], Violation]]:
        return ("contract.payload-unknown-field", name), lambda where: violation(
            "contract.payload-unknown-field", f"payload of {self.topic.name!r} carries undeclared field "
            f"{name!r}", location=where, expected=f"only {sorted(self.declared)}", seen=repr(name),
            **_close(name, self.declared))


def _instance_of(value: object, types: tuple[str, ...]) -> bool:
    """Slow path for subclasses (a StrEnum is a str); a bool never passes for int or float."""
    if isinstance(value, bool):
        return "bool" in types
    return any(isinstance(value, _PYTHON_TYPES[name]) for name in types)


# --- statements -----------------------------------------------------------------------------------


def _timestamp_problem(value: object, cast: str | None) -> str | None:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return ("timezone-aware datetime (asyncpg DataError: can't subtract offset-naive and "
                    "offset-aware datetimes); pass a naive UTC datetime")
        return None
    if isinstance(value, date):
        return None
    if isinstance(value, int | float) and cast and cast.startswith("TIMESTAMP"):
        return (f"{type(value).__name__} through ::{cast.lower()} is read as microseconds since the epoch "
                "(silent corruption)")
    return f"{type(value).__name__} (asyncpg DataError: expected a datetime.date or datetime.datetime instance)"


def _number_problem(value: object, cast: str | None) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return None
    return f"{type(value).__name__} (asyncpg DataError: must be real number)"


def _integer_problem(value: object, cast: str | None) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return None
    if isinstance(value, float):
        return "float (QuestDB accepts it and drops the fraction)"
    return f"{type(value).__name__} (an integer is required)"


def _boolean_problem(value: object, cast: str | None) -> str | None:
    return None if isinstance(value, bool) else f"{type(value).__name__} (asyncpg DataError: a boolean is required)"


def _text_problem(value: object, cast: str | None) -> str | None:
    if isinstance(value, str):
        return None
    if isinstance(value, dict | list | tuple):
        return f"{type(value).__name__} (asyncpg DataError: expected str; store JSON with json.dumps)"
    return f"{type(value).__name__} (asyncpg DataError: expected str)"


def _uuid_problem(value: object, cast: str | None) -> str | None:
    return None if isinstance(value, str | UUID) else f"{type(value).__name__} (a UUID or str is required)"


_TYPE_CHECKS: dict[str, Callable[[object, str | None], str | None]] = {
    "TIMESTAMP": _timestamp_problem, "TIMESTAMP_NS": _timestamp_problem, "DATE": _timestamp_problem,
    "DOUBLE": _number_problem, "FLOAT": _number_problem,
    "LONG": _integer_problem, "INT": _integer_problem, "SHORT": _integer_problem, "BYTE": _integer_problem,
    "BOOLEAN": _boolean_problem,
    "SYMBOL": _text_problem, "STRING": _text_problem, "VARCHAR": _text_problem, "CHAR": _text_problem,
    "UUID": _uuid_problem,
}


class _StatementCheck:
    """One statement's plan, reduced to what checking a row of arguments needs."""

    def __init__(self, plan: StatementPlan) -> None:
        self.plan = plan
        self.label = f"statement {' '.join(plan.sql.split())[:80]!r}"
        self.writes = plan.info.kind in ("INSERT", "UPDATE")
        self.bindings = tuple(
            (binding.index - 1, binding, _TYPE_CHECKS.get(binding.column.type),
             plan.must_write.get(binding.column.name) if binding.written else None)
            for binding in sorted(plan.bindings.values(), key=lambda b: b.index)
        )

    def problems(self, row: Sequence[Any]) -> list[tuple[tuple[str, ...], Callable[[str], Violation]]]:
        found: list[tuple[tuple[str, ...], Callable[[str], Violation]]] = []
        if self.plan.info.kind != "OTHER" and len(row) != self.plan.placeholders:
            found.append((("sql.placeholder-count",), lambda where: violation(
                "sql.placeholder-count", f"statement executed with {len(row)} argument(s) for "
                f"{self.plan.placeholders} placeholder(s)", location=where,
                expected=f"{self.plan.placeholders} arguments", seen=f"{len(row)} arguments", sql=self.plan.sql)))
            return found
        for position, binding, type_problem, must_write in self.bindings:
            value = row[position]
            column = f"{binding.table}.{binding.column.name}"
            if value is None:
                if must_write:
                    found.append((("sql.null-key", column), partial(self._null_key, binding, must_write)))
                continue
            problem = type_problem(value, binding.cast) if type_problem else None
            if problem is not None:
                key = ("sql.param-type", column, type(value).__name__)
                found.append((key, partial(self._param_type, binding, problem)))
        return found

    def _null_key(self, binding: Binding, why: str, where: str) -> Violation:
        column = f"{binding.table}.{binding.column.name}"
        return violation("sql.null-key", f"NULL written to {column} (${binding.index}), which {_WHY_NOT_NULL[why]}",
                         location=where, expected=f"a value for {column}", seen="None", sql=self.plan.sql)

    def _param_type(self, binding: Binding, problem: str, where: str) -> Violation:
        column = f"{binding.table}.{binding.column.name}"
        return violation("sql.param-type", f"${binding.index} for {column} ({binding.column.type}) has an "
                         "incompatible type", location=where, expected=f"a value for {binding.column.type}",
                         seen=problem, sql=self.plan.sql)


_WHY_NOT_NULL = {
    "sql.designated-timestamp-missing": "is the designated timestamp (cannot be NULL)",
    "sql.dedup-key-missing": "is a dedup key (NULL matches NULL: rows overwrite each other)",
    "sql.required-column-missing": "the registry requires",
}


def _is_many(args: Sequence[Any]) -> bool:
    """executemany passes a list of argument rows; execute passes one tuple of arguments."""
    return isinstance(args, list) and bool(args) and all(isinstance(row, tuple | list) for row in args)


def _is_transient(error: BaseException) -> bool:
    """Injected transient faults are the system's to retry, not a contract breach.  Matched by
    class name so contracts never imports system (``TransientDatabaseError`` and subclasses)."""
    return any("Transient" in cls.__name__ for cls in type(error).__mro__)


def _close(name: str, known: Any) -> dict[str, Any]:
    matches = difflib.get_close_matches(name, list(known), n=1)
    return {"did_you_mean": matches[0]} if matches else {}


def _short(payload: Mapping[str, Any]) -> str:
    return repr(dict(payload))[:200]
