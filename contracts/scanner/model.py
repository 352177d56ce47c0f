"""What the static scanner finds: sites in the source, each with its ``file:line``.

These are facts, not judgements; the rules (and the registry cross-checks) turn them into
violations.  Every collection is a sorted tuple so a scan is byte-for-byte reproducible.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from simwire.violation import Violation

T = TypeVar("T")


def location_key(location: str) -> tuple[str, int]:
    """``file:line`` ordered by file, then line number (``a.py:9`` before ``a.py:10``)."""
    file, _, line = location.rpartition(":")
    return (file, int(line)) if file and line.isdigit() else (location, 0)


def violation_order(item: Violation) -> tuple[tuple[str, int], str, str]:
    return location_key(item.location), item.rule, item.message


def by_location(items: Iterable[T]) -> list[T]:
    """Sites or violations in reading order: by file and line, then by their other fields."""
    def key(item: Any) -> tuple[tuple[str, int], Any]:
        return location_key(item.location), item
    return sorted(items, key=key)


@dataclass(frozen=True, order=True)
class PublishSite:
    """``bus.publish(topic, payload)``.  ``topic`` is None when it cannot be resolved;
    ``keys`` is None when the payload cannot be read, ``keys_complete`` False when only part."""

    location: str
    component: str
    topic: str | None
    topic_expr: str
    keys: tuple[str, ...] | None
    keys_complete: bool = True


@dataclass(frozen=True, order=True)
class SubscribeSite:
    """``bus.subscribe(topic, handler[, component=..., role=...])`` and what the handler reads.

    Without ``component=``, ``declared_component`` is the handler's owner; without ``role=``,
    ``role`` is None until the registry's consumer entry fills it.  ``unreadable_name`` is True
    when either is passed as an expression the scanner cannot read."""

    location: str
    component: str
    topic: str | None
    topic_expr: str
    role: str | None
    declared_component: str | None
    handler: str
    reads: tuple[tuple[str, str], ...] = ()   # (key, file:line of the read)
    unreadable_name: bool = False


@dataclass(frozen=True, order=True)
class SqlSite:
    """A statement handed to the database: resolved ``sql`` or the way it was ``formatted``."""

    location: str
    component: str
    method: str
    sql: str | None
    arg_count: int | None
    formatted: str | None = None
    expr: str = ""


@dataclass(frozen=True, order=True)
class FactorySite:
    """A ``create_*`` method and the places that reach it (calls or references)."""

    location: str
    component: str
    name: str
    references: tuple[str, ...]
    creates: tuple[str, ...]   # classes instantiated inside it


@dataclass(frozen=True)
class ScanResult:
    """Everything one scan found.  ``violations`` are the registry-free findings."""

    root: str
    files: int
    publishes: tuple[PublishSite, ...]
    subscribes: tuple[SubscribeSite, ...]
    sql: tuple[SqlSite, ...]
    factories: tuple[FactorySite, ...]
    instantiations: tuple[tuple[str, str], ...]   # (class, file:line) outside any factory
    violations: tuple[Violation, ...]

    def reachable(self, component: str) -> bool:
        """True if ``component`` is created outside factories, or by a factory that is called.

        A class nobody creates is not judged here (it may be created by the user's entry
        point); a class created only by dead factories is unreachable.
        """
        direct = any(cls == component for cls, _ in self.instantiations)
        via = [f for f in self.factories if component in f.creates]
        if direct or not via:
            return True
        return any(f.references for f in via)
