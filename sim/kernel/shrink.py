"""Shrinking a failing schedule towards fifo.

A schedule is a list of choices where 0 means "what fifo would do"; the *deviations* of a
schedule are its non-zero choices.  :func:`shrink` replays candidates and keeps any that
still fail the same way, greedily: the shortest failing prefix first (everything after it
runs fifo), then each deviation set to 0, then each remaining one made smaller.  The result
is 1-minimal: no single deviation can be removed.  Every candidate is a full replay, so the
cost is (number of choices + deviations) runs at most, bounded by ``max_runs``.

(Hypothesis' own engine shrinks the same way when it drives the kernel through
:class:`~sim.kernel.choices.HypothesisChoices`; this shrinker starts from a known failing
schedule instead, e.g. one saved by ``simwire`` or the pytest plugin.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sim.kernel.result import RunResult

Main = Callable[[], Awaitable[Any]]


class ShrinkError(ValueError):
    """The schedule to shrink does not fail in the first place."""


def failure_signature(result: RunResult) -> tuple[str, tuple[str, ...]]:
    """What "fails the same way" compares: the error type and the violated rules."""
    error = type(result.error).__name__ if result.error is not None else ""
    return error, tuple(sorted({violation.rule for violation in result.violations}))


def deviations(schedule: Sequence[int]) -> int:
    return sum(1 for choice in schedule if choice)


def _trimmed(schedule: Sequence[int]) -> list[int]:
    end = len(schedule)
    while end and not schedule[end - 1]:
        end -= 1
    return list(schedule[:end])


@dataclass
class ShrinkResult:
    schedule: list[int]
    result: RunResult
    runs: int
    original_deviations: int

    @property
    def deviations(self) -> int:
        return deviations(self.schedule)

    def to_mermaid(self) -> str:
        """The minimal interleaving as a Mermaid sequence diagram."""
        return self.result.trace.to_mermaid()


def shrink(
    main_factory: Callable[[], Main],
    schedule: Sequence[int],
    *,
    fails: Callable[[RunResult], bool] | None = None,
    max_runs: int = 500,
    **run_options: Any,
) -> ShrinkResult:
    """Reduce ``schedule`` while ``fails(result)`` holds (default: the same error type and
    violated rules as the original run).  ``run_options`` go to :func:`sim.kernel.run`
    (policy, kernel, pct_depth, ...); ``main_factory()`` gives a fresh ``main`` per run."""
    from sim.kernel import run

    runs = 0

    def replay(candidate: Sequence[int]) -> RunResult:
        nonlocal runs
        runs += 1
        return run(main_factory(), schedule=candidate, **run_options)

    original = replay(schedule)
    if fails is None:
        signature = failure_signature(original)
        if signature == ("", ()):
            raise ShrinkError("the schedule does not fail: no error and no violation when replayed")

        def fails(result: RunResult) -> bool:
            return failure_signature(result) == signature
    elif not fails(original):
        raise ShrinkError("the schedule does not fail the given predicate when replayed")

    best, best_result = _trimmed(original.schedule), original
    original_deviations = deviations(best)

    def attempt(candidate: list[int]) -> bool:
        nonlocal best, best_result
        if runs >= max_runs:
            return False
        result = replay(candidate)
        if not fails(result):
            return False
        best, best_result = _trimmed(result.schedule), result
        return True

    low, high = 0, len(best)
    while low < high and runs < max_runs:
        middle = (low + high) // 2
        if attempt(best[:middle]):
            high = min(middle, len(best))
        else:
            low = middle + 1
    improved = True
    while improved and runs < max_runs:
        improved = False
        for index in range(len(best) - 1, -1, -1):
            if index < len(best) and best[index] and attempt([*best[:index], 0, *best[index + 1:]]):
                improved = True
        for index in range(len(best)):
            if index < len(best) and best[index] > 1 and attempt([*best[:index], 1, *best[index + 1:]]):
                improved = True
    return ShrinkResult(best, best_result, runs, original_deviations)
