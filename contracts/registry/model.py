"""The event-contract registry: what each topic carries, who sends it, who must hear it.

A :class:`Registry` is plain data.  It is declared once, apart from the code it judges (like a
Pact file), and read by every checker: the static scanner compares publish sites and handler
reads with it, the SQL checker takes its required columns, the runtime monitor validates each
payload against it.  Construction validates the registry itself, so a typo in a role or a
lineage entry fails where it is written rather than as a confusing finding later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

FIELD_TYPES = ("str", "float", "int", "bool", "dict", "list", "none")


class RegistryError(Exception):
    """A registry that contradicts itself, or a registry spec that cannot be loaded."""


@dataclass(frozen=True)
class Field:
    """One payload key.  ``types`` are names from FIELD_TYPES; an int is accepted where a float is.

    ``required=False`` means the key may be absent; whether it may be ``None`` is said by
    ``"none"`` in ``types``.  ``choices``, when given, lists every allowed value (enumerations
    such as ``signal_type``).
    """

    name: str
    types: tuple[str, ...]
    required: bool = True
    choices: tuple[object, ...] = ()

    def __post_init__(self) -> None:
        unknown = [t for t in self.types if t not in FIELD_TYPES]
        if not self.types or unknown:
            raise RegistryError(f"field {self.name!r}: types must be a non-empty subset of "
                                f"{FIELD_TYPES}, got {self.types!r}")


@dataclass(frozen=True)
class Consumer:
    """A subscriber the contract expects: the bus's ``component`` and ``role`` names."""

    component: str
    role: str


@dataclass(frozen=True)
class Topic:
    """One topic.  ``required_roles[mode]`` lists the roles that must be live-subscribed at
    every publish in that mode (a signal nobody executes is the seed report's defect 1)."""

    name: str
    fields: tuple[Field, ...]
    producers: tuple[str, ...]
    consumers: tuple[Consumer, ...]
    required_roles: Mapping[str, tuple[str, ...]]
    allow_extra_fields: bool = False

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise RegistryError(f"topic {self.name!r}: duplicate fields {duplicates}")
        declared_roles = {c.role for c in self.consumers}
        for mode, roles in self.required_roles.items():
            missing = [r for r in roles if r not in declared_roles]
            if missing:
                raise RegistryError(f"topic {self.name!r}: mode {mode!r} requires roles {missing} "
                                    f"that no declared consumer has (consumers: {self.consumers})")

    def field_named(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


View = Mapping[str, Any]
"""What a derivation or an invariant reads: one payload, an entity's merged events, or a row."""


@dataclass(frozen=True)
class Lineage:
    """What ends up in ``table.column`` when an event of ``topic`` is written.

    Plain form: ``topic.field`` is stored as is (a float epoch field in a TIMESTAMP column is
    compared as that instant, a dict/list field in a text column as its JSON).  With
    ``derive``, the column holds ``derive(payload)`` instead, and ``how`` says it in words
    for the snapshot and the findings (``Lineage.constant`` and ``Lineage.derived`` build
    these); ``field`` may then be empty.  The runtime monitor checks every written row
    against the event that caused it, column by column (``contracts.lineage``).
    """

    topic: str
    field: str
    table: str
    column: str
    derive: Callable[[View], Any] | None = field(default=None, compare=False)
    how: str = ""

    @classmethod
    def constant(cls, topic: str, table: str, column: str, value: object) -> Lineage:
        """An event of ``topic`` always writes ``value`` into ``table.column``."""
        return cls(topic, "", table, column, derive=lambda _payload: value, how=f"constant {value!r}")

    @classmethod
    def derived(cls, topic: str, table: str, column: str, derive: Callable[[View], Any], how: str,
                field: str = "") -> Lineage:
        """``table.column`` holds ``derive(payload)``; ``how`` describes it (``"json of {'reason': reason}"``)."""
        return cls(topic, field, table, column, derive=derive, how=how)

    @property
    def source(self) -> str:
        """``topic.field`` or ``topic: how``, as the snapshot and findings print it."""
        if self.derive is None:
            return f"{self.topic}.{self.field}"
        return f"{self.topic}: {self.how or 'derived'}"


@dataclass(frozen=True)
class StateMachine:
    """The states an entity may pass through, read from ``field`` of its merged events.

    ``topic_states`` gives the state a topic implies when its payload has no such field
    (``order_cancelled`` means CANCELLED); ``previous_field`` is a payload field naming the
    state being left (``old_state``), which must then equal the state last seen.  A state
    may follow itself only if ``transitions`` lists it (a second FILLED is a duplicate fill).
    """

    field: str
    initial: tuple[str, ...]
    transitions: Mapping[str, tuple[str, ...]]
    topic_states: Mapping[str, str] = field(default_factory=dict)
    previous_field: str = ""
    start: str = ""
    """The state before the first event (a session is IDLE before it is STARTING); when given,
    the first event is a transition from it, otherwise its state must be one of ``initial``."""

    def __post_init__(self) -> None:
        known = set(self.transitions)
        named = {*self.initial, *self.topic_states.values(), *((self.start,) if self.start else ()),
                 *(state for targets in self.transitions.values() for state in targets)}
        unknown = sorted(named - known)
        if unknown:
            raise RegistryError(f"state machine on {self.field!r}: states {unknown} are used but have no "
                                f"entry in transitions (declare terminal states with an empty tuple)")


@dataclass(frozen=True)
class Entity:
    """One kind of thing the events describe over time (an order, a position, a session).

    ``key`` are the payload fields naming one instance; every event of ``topics`` carrying
    them is merged into that instance's view (later fields win), so an invariant can read a
    field one event does not repeat (a position's ``side`` from ``position_opened`` when
    ``position_updated`` arrives).  ``states``: the instance's declared state machine.
    """

    name: str
    key: tuple[str, ...]
    topics: tuple[str, ...]
    states: StateMachine | None = None


@dataclass(frozen=True)
class Invariant:
    """A property every payload of ``topics`` (seen as its entity's merged view) and every
    row written to ``tables`` (merged per key) must have, checked as the run goes.

    ``holds(view)`` returns True when the property holds; it is only called when every name
    of ``fields`` is in the view (an UPDATE writing two columns of a row checks only what the
    row then holds), and ``fields`` are what a finding shows as *seen*.  ``expected`` is the
    property in words.  ``when(view)``, if given, limits the invariant to views it accepts.
    """

    id: str
    expected: str
    fields: tuple[str, ...]
    holds: Callable[[View], bool] = field(compare=False)
    topics: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    when: Callable[[View], bool] | None = field(default=None, compare=False)
    statements: tuple[str, ...] = ()
    """The kinds of statement (``INSERT``, ``UPDATE``) whose rows of ``tables`` are checked;
    empty: every write.  A property that holds when a row is made and may then change with it
    (brackets set at opening, an entry price an add moves) names ``("INSERT",)``."""

    def __post_init__(self) -> None:
        if not self.topics and not self.tables:
            raise RegistryError(f"invariant {self.id!r}: give the topics and/or tables it is checked on")


@dataclass(frozen=True)
class Service:
    """A container factory.  Optional services return None with a logged reason when they
    cannot be built; required ones raise.  Mixing the two is the seed report's defect 8."""

    name: str
    factory: str
    optional: bool
    modes: tuple[str, ...] = ()
    """The modes whose sessions create this component (empty: every mode): the wiring graph of a
    mode leaves the others' components out, and only these count as a mode's consumers."""


@dataclass(frozen=True)
class BusConventions:
    """How the scanned code spells bus and database calls, so the static scan fits another
    code base without code changes.  ``topic_constants`` are module paths (relative to the
    scanned root) whose module-level string constants name topics."""

    publish: tuple[str, ...] = ("publish",)
    subscribe: tuple[str, ...] = ("subscribe",)
    unsubscribe: tuple[str, ...] = ("unsubscribe",)
    db_methods: tuple[str, ...] = ("execute", "executemany", "fetch", "fetchrow", "fetchval")
    topic_constants: tuple[str, ...] = ()


@dataclass(frozen=True)
class Registry:
    """Every topic of one system, its lineage into tables, required columns and services."""

    name: str
    modes: tuple[str, ...]
    topics: Mapping[str, Topic]
    lineage: tuple[Lineage, ...] = ()
    required_columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    services: tuple[Service, ...] = ()
    conventions: BusConventions = BusConventions()
    outside_events: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Per table, columns a write fills from something other than an event (a session's
    configuration written when it is created): they need no lineage and are not compared."""
    table_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Per table, the columns naming one row; default: its dedup keys without the designated
    timestamp.  Lineage uses them to find the event a written row came from."""
    entities: tuple[Entity, ...] = ()
    invariants: tuple[Invariant, ...] = ()

    def __post_init__(self) -> None:
        for key, topic in self.topics.items():
            if key != topic.name:
                raise RegistryError(f"registry {self.name!r}: topic keyed {key!r} is named {topic.name!r}")
            unknown_modes = [m for m in topic.required_roles if m not in self.modes]
            if unknown_modes:
                raise RegistryError(f"topic {key!r}: required_roles for unknown modes {unknown_modes} "
                                    f"(modes: {self.modes})")
        for entry in self.lineage:
            topic = self.topics.get(entry.topic)
            if topic is None:
                raise RegistryError(f"lineage {entry.source} -> {entry.table}.{entry.column}: unknown topic")
            if (entry.field or entry.derive is None) and topic.field_named(entry.field) is None:
                raise RegistryError(f"lineage {entry.source} -> {entry.table}.{entry.column}: no field "
                                    f"{entry.field!r} on topic {entry.topic!r}")
        self._check_oracles()
        for service in self.services:
            unknown = [m for m in service.modes if m not in self.modes]
            if unknown:
                raise RegistryError(f"service {service.name!r}: unknown modes {unknown} (modes: {self.modes})")
        factories = [s.factory for s in self.services]
        duplicates = sorted({f for f in factories if factories.count(f) > 1})
        if duplicates:
            raise RegistryError(f"registry {self.name!r}: services declared twice: {duplicates}")

    def _check_oracles(self) -> None:
        """Entities and invariants name topics and fields that exist (a typo fails here)."""
        ids = [i.id for i in self.invariants]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise RegistryError(f"registry {self.name!r}: invariants declared twice: {duplicates}")
        for entity in self.entities:
            for name in entity.topics:
                topic = self.topics.get(name)
                if topic is None:
                    raise RegistryError(f"entity {entity.name!r}: unknown topic {name!r}")
                missing = [k for k in entity.key if topic.field_named(k) is None]
                if missing:
                    raise RegistryError(f"entity {entity.name!r}: topic {name!r} lacks key fields {missing}")
            states = entity.states
            if states is not None:
                unknown = sorted(set(states.topic_states) - set(entity.topics))
                if unknown:
                    raise RegistryError(f"entity {entity.name!r}: topic_states for topics it does not "
                                        f"declare: {unknown}")
        for invariant in self.invariants:
            unknown = [t for t in invariant.topics if t not in self.topics]
            if unknown:
                raise RegistryError(f"invariant {invariant.id!r}: unknown topics {unknown}")

    def entity_of(self, topic: str) -> Entity | None:
        """The entity whose events include ``topic`` (the first declared), if any."""
        return next((e for e in self.entities if topic in e.topics), None)

    def runs_in(self, component: str, mode: str) -> bool:
        """Whether ``component`` runs in ``mode``: unless a service of that name declares its
        modes, it runs in every mode."""
        declared = [s.modes for s in self.services if s.name == component]
        return not declared or any(not modes or mode in modes for modes in declared)

    def required_roles(self, topic: str, mode: str) -> tuple[str, ...]:
        """Roles that must be live-subscribed when ``topic`` is published in ``mode``."""
        declared = self.topics.get(topic)
        return declared.required_roles.get(mode, ()) if declared else ()
