"""Each known-bug program passes a plain asyncio run and fifo, and the kernel exposes it."""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path

import pytest

import sim
from sim.kernel import Deadlock
from tests.kernel import programs

SEARCH = 60
"""Seeds tried per policy; measured medians are 1-2 (random) and under 30 (pct)."""


def first_failing_seed(main, policy, predicate, kernel="asyncio"):
    for seed in range(SEARCH):
        if predicate(sim.run(main, policy=policy, seed=seed, kernel=kernel, detectors=False)):
            return seed
    return None


def stock_run(main):
    """The stock asyncio loop, for programs that never sleep (tests never wait on the wall clock)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the unawaited program warns, nothing more
        return asyncio.run(main())


@pytest.mark.parametrize(
    ("main", "predicate"),
    [
        (programs.lost_update, lambda r: isinstance(r.error, programs.LostUpdate)),
        (programs.deadlock, lambda r: isinstance(r.error, Deadlock)),
        (programs.timer_tie, lambda r: r.error is not None and r.error.exceptions[0].__class__ is programs.StaleRead),
    ],
    ids=["lost-update", "deadlock", "timer-tie"],
)
@pytest.mark.parametrize("policy", ["random", "pct"])
def test_reordering_exposes_what_fifo_hides(main, predicate, policy):
    if main is not programs.timer_tie:
        stock_run(main)  # the stock loop passes
    assert not predicate(sim.run(main, detectors=False))
    assert first_failing_seed(main, policy, predicate) is not None


@pytest.mark.parametrize(
    ("main", "predicate"),
    [
        (programs.lost_update, lambda r: isinstance(r.error, programs.LostUpdate)),
        (programs.deadlock, lambda r: isinstance(r.error, Deadlock)),
    ],
    ids=["lost-update", "deadlock"],
)
def test_trio_kernel_exposes_reordering_bugs(main, predicate):
    assert not predicate(sim.run(main, kernel="trio", detectors=False))
    assert first_failing_seed(main, "random", predicate, kernel="trio") is not None


def rules(result):
    return [violation.rule for violation in result.violations]


@pytest.mark.parametrize("kernel", ["asyncio", "trio"])
def test_lockdep_reports_abba_even_without_deadlock(kernel):
    stock_run(programs.abba_locks)
    result = sim.run(programs.abba_locks, kernel=kernel)
    assert result.error is None
    assert rules(result) == ["kernel.lock-order"]
    [violation] = result.violations
    assert "programs.py" in violation.message
    assert "abba_locks.accounts" in violation.message and "abba_locks.ledger" in violation.message
    assert "transfer" in violation.seen and "audit" in violation.seen


@pytest.mark.parametrize("kernel", ["asyncio", "trio"])
def test_unawaited_coroutine_is_reported_with_its_creation_site(kernel):
    assert stock_run(programs.unawaited_coroutine) == ["order created"]
    result = sim.run(programs.unawaited_coroutine, kernel=kernel)
    assert rules(result) == ["kernel.unawaited"]
    [violation] = result.violations
    assert "_notify" in violation.message
    source = Path(programs.__file__).read_text().splitlines()
    line = next(n for n, text in enumerate(source, 1) if '"order filled"' in text)
    assert violation.location == f"tests/kernel/programs.py:{line} unawaited_coroutine"


def test_leaked_task_is_reported():
    result = sim.run(programs.leaked_task)
    assert result.value == "done"
    assert rules(result) == ["kernel.leaked-task"]
    assert "heartbeat#1" in result.violations[0].message
    assert result.violations[0].repro == "sim.run(leaked_task, seed=0, policy='fifo', kernel='asyncio')"


def test_deadlock_names_every_blocked_task_and_what_it_waits_for():
    seed = first_failing_seed(programs.deadlock, "random", lambda r: isinstance(r.error, Deadlock))
    result = sim.run(programs.deadlock, policy="random", seed=seed)
    deadlock = next(v for v in result.violations if v.rule == "kernel.deadlock")
    waits = {task["task"]: task["waits_for"] for task in deadlock.details["tasks"]}
    assert "programs.py:82 deadlock.b" in waits["deadlock.<locals>.first#1"]
    assert "held by deadlock.<locals>.second#1" in waits["deadlock.<locals>.first#1"]
    assert "held by deadlock.<locals>.first#1" in waits["deadlock.<locals>.second#1"]
    assert all(task["stack"] for task in deadlock.details["tasks"])
