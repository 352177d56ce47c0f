"""The random walk: any ready task can be held back for several steps, on both kernels;
its zero schedule is fifo; pct runs on trio through the same scheduling hook."""

from __future__ import annotations

import anyio
import pytest

import sim
from tests.kernel import programs

KERNELS = ["asyncio", "trio"]


def first_seed(main, policy, kernel, predicate, seeds=20):
    for seed in range(seeds):
        if predicate(sim.run(main, seed=seed, policy=policy, kernel=kernel, detectors=False)):
            return seed
    return None


def lost(result):
    return isinstance(result.error, programs.LostUpdate) or (
        isinstance(result.error, BaseExceptionGroup)
        and any(isinstance(e, programs.LostUpdate) for e in result.error.exceptions)
    )


@pytest.mark.parametrize("kernel", KERNELS)
def test_the_walk_holds_a_task_back_for_three_steps(kernel):
    assert not lost(sim.run(programs.held_back_withdrawal, kernel=kernel))  # fifo passes
    assert first_seed(programs.held_back_withdrawal, "random", kernel, lost) is not None


def test_a_batch_shuffle_cannot_hold_a_task_back():
    assert first_seed(programs.held_back_withdrawal, "shuffle", "asyncio", lost) is None


@pytest.mark.parametrize("kernel", KERNELS)
def test_pct_exposes_the_held_back_bug(kernel):
    assert first_seed(programs.held_back_withdrawal, "pct", kernel, lost, seeds=60) is not None


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("policy", ["random", "shuffle"])
def test_an_all_zero_schedule_is_the_fifo_run(kernel, policy):
    fifo = sim.run(programs.busy_day, kernel=kernel)
    drawn = sim.run(programs.busy_day, kernel=kernel, policy=policy, seed=3)
    zeros = sim.run(programs.busy_day, kernel=kernel, policy=policy, schedule=[0] * len(drawn.schedule))
    assert [(s.task, s.site, s.time) for s in zeros.trace] == [(s.task, s.site, s.time) for s in fifo.trace]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("policy", ["random", "pct"])
def test_a_walk_replays_exactly_and_seeds_differ(kernel, policy):
    runs = [sim.run(programs.busy_day, kernel=kernel, policy=policy, seed=seed) for seed in range(6)]
    assert len({run.trace_hash for run in runs}) > 1
    for run in runs[:3]:
        again = sim.run(programs.busy_day, kernel=kernel, policy=policy, schedule=run.schedule)
        assert again.trace_hash == run.trace_hash


def test_fifo_ignores_the_seed():
    hashes = {sim.run(programs.busy_day, seed=seed).trace_hash for seed in range(5)}
    assert len(hashes) == 1


NEW_BUGS = {
    "check-then-act": (programs.check_then_act, programs.Oversold),
    "late-subscribe": (programs.late_subscribe, programs.MissedEvent),
    "starvation": (programs.starved_heartbeat, programs.Starved),
}


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("bug", list(NEW_BUGS))
def test_the_walk_exposes_what_fifo_hides(bug, kernel):
    main, kind = NEW_BUGS[bug]
    assert not programs.raised(kind)(sim.run(main, kernel=kernel))
    assert first_seed(main, "random", kernel, programs.raised(kind)) is not None


@pytest.mark.parametrize("kernel", KERNELS)
def test_the_docs_hypothesis_example_finds_the_held_back_bug(kernel):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from sim.kernel import HypothesisChoices

    @settings(max_examples=100, deadline=None, database=None)
    @given(st.data())
    def never_oversold(data):
        sim.run(programs.held_back_withdrawal, kernel=kernel, choices=HypothesisChoices(data)).raise_for_error()

    with pytest.raises(BaseException) as raised_error:  # LostUpdate, maybe inside a group
        never_oversold()
    assert programs.raised(programs.LostUpdate)(type("R", (), {"error": raised_error.value})())


@pytest.mark.parametrize("kernel", KERNELS)
def test_jitter_swaps_timers_that_are_nearly_tied(kernel):
    stale = programs.raised(programs.StaleRead)
    assert first_seed(programs.near_timer_tie, "random", kernel, stale) is None  # 1 ms apart: never ready together

    def jittered(seed):
        return sim.run(programs.near_timer_tie, seed=seed, policy="random", kernel=kernel, jitter=0.01,
                       detectors=False)

    found = next(seed for seed in range(20) if stale(jittered(seed)))
    failing = jittered(found)
    again = sim.run(programs.near_timer_tie, policy="random", kernel=kernel, jitter=0.01, detectors=False,
                    schedule=failing.schedule)
    assert stale(again) and again.trace_hash == failing.trace_hash
    zeros = sim.run(programs.near_timer_tie, policy="random", kernel=kernel, jitter=0.01,
                    schedule=[0] * len(failing.schedule))
    assert zeros.ok and zeros.virtual_seconds == 1.001


def test_jitter_must_be_a_finite_non_negative_number():
    with pytest.raises(ValueError, match="jitter must be a finite number of seconds >= 0"):
        sim.run(programs.near_timer_tie, jitter=-1)


async def cancel_many() -> None:
    """One failing child cancels four sleeping siblings: anyio delivers the cancellation by
    iterating sets of scopes and tasks, whose hash order is their memory addresses."""

    async def sleeper() -> None:
        await anyio.sleep(10)

    async def boom() -> None:
        await anyio.sleep(1)
        raise ValueError("boom")

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(sleeper)
        tg.start_soon(boom)


@pytest.mark.parametrize("kernel", KERNELS)
def test_cancellation_order_does_not_depend_on_memory_addresses(kernel):
    hashes = set()
    ballast = []
    for i in range(12):
        ballast.append([object() for _ in range(37 * i)])  # moves where the next run's objects land
        first = sim.run(cancel_many, seed=1, policy="random", kernel=kernel, detectors=False)
        again = sim.run(cancel_many, policy="random", kernel=kernel, detectors=False, schedule=first.schedule)
        hashes |= {first.trace_hash, again.trace_hash}
    assert len(hashes) == 1
