"""What a simulated run returns, and the errors the kernel itself raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sim.kernel.trace import Trace
from simwire.violation import Violation


class SimulationError(Exception):
    """The program did something a simulated run cannot allow (real I/O, threads,
    ``time.sleep``) or the run could not finish (deadlock, step limit).  The message names
    the call site."""


class Deadlock(SimulationError):
    """Nothing is ready, no timer is pending, and ``main`` has not returned."""


class StepLimitExceeded(SimulationError):
    """The run took more than ``max_steps`` steps (a livelock, or a limit set too low)."""


@dataclass
class RunResult:
    """The outcome of :func:`sim.kernel.run`.

    ``error`` is the exception ``main`` raised (or the kernel's :class:`SimulationError`);
    it is captured, not raised, so that the trace and violations are always available.
    ``schedule`` is every choice the policy made: pass it back as ``run(schedule=...)``
    (same policy and kernel) to replay the run exactly.
    """

    value: Any
    error: BaseException | None
    trace_hash: str
    steps: int
    schedule: list[int]
    trace: Trace
    violations: list[Violation] = field(default_factory=list)
    virtual_seconds: float = 0.0
    wall_seconds: float = 0.0
    seed: int = 0
    policy: str = "fifo"
    kernel: str = "asyncio"
    contended_steps: int = 0
    """Steps taken while two or more handles were ready (pct only; sizes ``pct_horizon``)."""

    @property
    def ok(self) -> bool:
        """No error and no violation."""
        return self.error is None and not self.violations

    def raise_for_error(self) -> None:
        """Re-raise ``error`` if ``main`` failed (violations alone do not raise)."""
        if self.error is not None:
            raise self.error

    def summary(self) -> str:
        """One line: knobs first, then the outcome, as a run log would print it."""
        outcome = "ok" if self.error is None else f"error {type(self.error).__name__}: {self.error}"
        return (
            f"kernel={self.kernel} policy={self.policy} seed={self.seed} steps={self.steps} "
            f"virtual={self.virtual_seconds:g}s wall={self.wall_seconds:.3f}s "
            f"violations={len(self.violations)} hash={self.trace_hash[:16]} {outcome}"
        )

    def render(self) -> str:
        """The summary line, then every violation block."""
        return "\n".join([self.summary(), *(violation.render() for violation in self.violations)])
