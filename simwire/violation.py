"""The one finding type shared by every checker, detector and oracle.

Every tool in simwire (static rules, the runtime monitor, kernel detectors, end-of-run
oracles) reports a :class:`Violation`.  One shape means one renderer, one JSON form and one
way to say how to get back to the failure: the ``repro`` command.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class Severity(enum.StrEnum):
    """How bad a finding is.  ``error`` fails a run or a check; ``warning`` is shown only."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Violation:
    """A finding: which rule fired, where, what was expected and what was seen.

    ``location`` is ``file:line`` for static findings, or a run coordinate such as
    ``topic signal_generated at t=12.5s`` for runtime ones.  ``repro`` is the single
    command that reproduces the finding (empty for static findings, whose repro is
    ``simwire check``).
    """

    rule: str
    message: str
    location: str = ""
    expected: str = ""
    seen: str = ""
    severity: Severity = Severity.ERROR
    repro: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = str(self.severity)
        return data

    def with_repro(self, repro: str) -> Violation:
        """A copy carrying the command that reproduces it (filled in by the runner)."""
        return Violation(
            self.rule, self.message, self.location, self.expected, self.seen,
            self.severity, repro, dict(self.details),
        )

    def render(self) -> str:
        """One human-readable block: rule and place first, then expected/seen, then repro."""
        lines = [f"[{self.rule}] {self.message}"]
        if self.location:
            lines.append(f"  at:       {self.location}")
        if self.expected:
            lines.append(f"  expected: {self.expected}")
        if self.seen:
            lines.append(f"  seen:     {self.seen}")
        if self.repro:
            lines.append(f"  repro:    {self.repro}")
        return "\n".join(lines)
