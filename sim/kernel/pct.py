"""PCT: probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte,
"A Randomized Scheduler with Probabilistic Guarantees of Finding Bugs", ASPLOS 2010).

Each task gets a priority when it is created; at every step only the highest-priority ready
task runs.  ``depth - 1`` change points are sampled among the first ``horizon`` *contended*
steps (steps where two or more handles are ready); when the running task reaches change
point ``i`` its priority drops to ``i``, below every initial priority.  A bug of depth ``d``
(``d`` ordering constraints between tasks) is then found with probability at least
``1 / (n * k^(d-1))`` per run, for ``n`` tasks and ``k`` contended steps.

How to choose: ``depth`` is the number of ordering constraints your bug needs; most
real bugs have depth 1-3 (an atomicity violation is depth 2, an ABBA deadlock depth 2 or 3),
so the default 3 is a good start.  ``horizon`` should be about the number of contended
steps of a run (``RunResult.contended_steps`` after one run); too large wastes change
points beyond the end of the run, too small bunches them at the start.  Left unset, each
run draws it, swarm-style, from ``4, 8, ..., 2**14``, so a batch of seeds covers short and
long programs alike.

All draws come from a :class:`~sim.kernel.choices.ChoiceSource`; with all-zero draws every
task has the same priority and ties go to the oldest ready handle, which is fifo.
"""

from __future__ import annotations

from sim.kernel.choices import ChoiceSource

PRIORITY_SPAN = 1 << 20
"""Initial priorities are ``depth + choose(PRIORITY_SPAN)``; distinct with high probability."""

HORIZON_EXPONENTS = 13
"""A drawn horizon is ``4 << choose(HORIZON_EXPONENTS)``: 4 to 16384 contended steps."""


class PCTPriorities:
    """Priorities and change points of one PCT run."""

    __slots__ = ("_change_points", "_choose", "_depth", "contended_steps", "horizon", "priority")

    def __init__(self, choices: ChoiceSource, *, depth: int, horizon: int | None = None) -> None:
        if depth < 1:
            raise ValueError(f"pct_depth must be >= 1, got {depth}")
        if horizon is None:
            horizon = 4 << choices.choose(HORIZON_EXPONENTS)
        if horizon < 1:
            raise ValueError(f"pct_horizon must be >= 1, got {horizon}")
        self.horizon = horizon
        self._choose = choices.choose
        self._depth = depth
        self._change_points: dict[int, int] = {}
        for label in range(1, depth):
            step = choices.choose(horizon + 1)  # 0: no change point, so all-zero draws are fifo
            if step:
                self._change_points.setdefault(step, label)
        self.priority: dict[object, int] = {}
        self.contended_steps = 0

    def of(self, task: object) -> int:
        """The priority of ``task`` (assigned on first sight)."""
        priority = self.priority.get(task)
        if priority is None:
            priority = self.priority[task] = self._depth + self._choose(PRIORITY_SPAN)
        return priority

    def contended_step(self, task: object) -> None:
        """Count a step taken by ``task`` while others were ready; demote at a change point."""
        self.contended_steps += 1
        label = self._change_points.get(self.contended_steps)
        if label is not None:
            self.priority[task] = label
