"""The event-contract registry: what each topic carries, who sends it, who must hear it.

A :class:`Registry` is plain data.  It is declared once, apart from the code it judges (like a
Pact file), and read by every checker: the static scanner compares publish sites and handler
reads with it, the SQL checker takes its required columns, the runtime monitor validates each
payload against it.  Construction validates the registry itself, so a typo in a role or a
lineage entry fails where it is written rather than as a confusing finding later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class Lineage:
    """``topic.field`` is what ends up in ``table.column`` (checked against the schema model)."""

    topic: str
    field: str
    table: str
    column: str


@dataclass(frozen=True)
class Service:
    """A container factory.  Optional services return None with a logged reason when they
    cannot be built; required ones raise.  Mixing the two is the seed report's defect 8."""

    name: str
    factory: str
    optional: bool


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
            if topic is None or topic.field_named(entry.field) is None:
                raise RegistryError(f"lineage {entry}: no field {entry.field!r} on topic {entry.topic!r}")
        factories = [s.factory for s in self.services]
        duplicates = sorted({f for f in factories if factories.count(f) > 1})
        if duplicates:
            raise RegistryError(f"registry {self.name!r}: services declared twice: {duplicates}")

    def required_roles(self, topic: str, mode: str) -> tuple[str, ...]:
        """Roles that must be live-subscribed when ``topic`` is published in ``mode``."""
        declared = self.topics.get(topic)
        return declared.required_roles.get(mode, ()) if declared else ()
