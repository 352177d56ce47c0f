"""What a kernel hands back to :func:`sim.kernel.run` (before hashing and timing)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sim.kernel.trace import RawStep
from simwire.violation import Violation


@dataclass
class KernelOutcome:
    """Filled in by a kernel runner; ``steps`` counts everything the scheduler ran, ``raw``
    only task steps (and only when the run keeps a trace)."""

    value: Any = None
    error: BaseException | None = None
    names: list[str] = field(default_factory=list)
    raw: list[RawStep] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    steps: int = 0
    virtual_seconds: float = 0.0
    contended_steps: int = 0
