"""What the reference model has to report, and how it compares numbers.

A model check walks the events of one session in order; a system that is wrong once is
usually wrong many times over (every fill, every mark), so each rule reports its *first*
difference in full (the value, the expectation, the event it came from) and how many more
followed, instead of a page of near-identical findings.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from simwire.violation import Violation

REL_TOLERANCE = 1e-9
"""The model recomputes with plain sums where the system keeps rolling ones: the two differ
by float rounding only (relative ~1e-12 on two hours of data), far below any real defect
(one sample too many in a 300 s window moves a VWAP by ~1e-6)."""
ABS_TOLERANCE = 1e-9


def close(a: Any, b: Any, *, rel: float = REL_TOLERANCE) -> bool:
    """Equal numbers within the model's tolerance; anything else compared with ``==``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=rel, abs_tol=ABS_TOLERANCE)
    return a == b


def describe(topic: str, event: Mapping[str, Any]) -> str:
    """The event a finding came from, by its id and event time."""
    ident = next((f"{key}={event[key]}" for key in ("order_id", "position_id", "signal_id") if event.get(key)), "")
    where = f" {event.get('symbol')}" if event.get("symbol") else ""
    return f"{topic} {ident}{where} at t={event.get('timestamp')}".replace("  ", " ")


@dataclass
class Findings:
    """First difference per rule, plus a count of the ones after it."""

    session_id: str
    location: str = ""
    first: dict[str, Violation] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, rule: str, message: str, *, event: str, expected: Any, seen: Any) -> None:
        self.counts[rule] = self.counts.get(rule, 0) + 1
        if rule not in self.first:
            self.first[rule] = Violation(
                rule, f"session {self.session_id}: {message}",
                location=f"{event} {self.location}".strip(), expected=str(expected), seen=str(seen),
            )

    def violations(self) -> list[Violation]:
        found = []
        for rule, violation in self.first.items():
            more = self.counts[rule] - 1
            if more:
                suffix = f" (and {more} more difference{'s' if more > 1 else ''} of this rule)"
                violation = dataclasses.replace(violation, message=violation.message + suffix)
            found.append(violation)
        return found
