"""Deterministic kernels: run any asyncio/anyio coroutine function with virtual time and
a seeded, recorded, replayable schedule.

    result = sim.kernel.run(main, seed=7, policy="random")
    result.raise_for_error()
    replayed = sim.kernel.run(main, policy="random", schedule=result.schedule)
    assert replayed.trace_hash == result.trace_hash

See ``docs/kernel.md`` for the policies, replay and shrinking, and the detectors.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sim.kernel.choices import (
    ChoiceSource,
    HypothesisChoices,
    PerturbedChoices,
    RecordingChoices,
    ReplayChoices,
    SeededChoices,
)
from sim.kernel.jitter import jitter_draw, jitter_trio_sleeps
from sim.kernel.livelock import DEFAULT_MAX_STEPS, DEFAULT_MAX_VIRTUAL_SECONDS
from sim.kernel.lockdep import LockDep
from sim.kernel.outcome import KernelOutcome
from sim.kernel.pct import PCTPriorities
from sim.kernel.result import Deadlock, RunResult, SimulationError, StepLimitExceeded, ViolationsFound
from sim.kernel.sandbox import forbid_real_io
from sim.kernel.trace import RecoveredTrace, Trace, TraceStep, coverage_of
from sim.kernel.unawaited import UnawaitedWatch
from sim.kernel.virtual_stdlib import virtualize as virtualize_stdlib

T = TypeVar("T")

POLICIES = ("fifo", "random", "shuffle", "pct")
"""``random`` is the random walk (one draw per step among all ready tasks), ``shuffle`` the
older per-batch shuffle; see docs/kernel.md for how to choose."""
_TRIO_MODES = {"fifo": "walk", "random": "walk", "shuffle": "batch", "pct": "pct"}
"""``fifo`` with explicit ``choices``/``schedule`` walks like ``random`` (without, it never draws)."""
KERNELS = ("asyncio", "trio")
KERNEL_POLICIES: dict[str, tuple[str, ...]] = {"asyncio": POLICIES, "trio": POLICIES}
"""The policies each kernel supports: the one declaration every caller validates against."""


def supported_policies(kernel: str) -> tuple[str, ...]:
    """The policies ``kernel`` runs (empty for an unknown kernel)."""
    return KERNEL_POLICIES.get(kernel, ())


def check_options(kernel: str, policy: str) -> None:
    """Raise ValueError naming the knob when ``kernel`` or ``policy`` is unknown or the pair unsupported."""
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; expected one of {', '.join(POLICIES)}")
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; expected one of {', '.join(KERNELS)}")
    if policy not in supported_policies(kernel):
        able = [name for name in KERNELS if policy in supported_policies(name)]
        raise ValueError(f"policy {policy!r} needs the {' or '.join(able)} kernel (the {kernel} kernel runs "
                         f"{', '.join(supported_policies(kernel))}; see docs/kernel.md)")


_full_trace = False


def full_trace() -> bool:
    """Whether the simulated run in progress records its full trace (``trace=True``).  What only
    annotates that trace (the harness's data timeline) does its per-event work only then; a
    lean run's trace, recovered by replaying, is recorded by a run for which this is true."""
    return _full_trace


def run(
    main: Callable[[], Awaitable[T]],
    *,
    seed: int = 0,
    policy: str = "fifo",
    kernel: str = "asyncio",
    schedule: Sequence[int] | None = None,
    choices: ChoiceSource | None = None,
    pct_depth: int = 3,
    trace: bool | None = None,
    detectors: bool = True,
    max_steps: int | None = DEFAULT_MAX_STEPS,
    pct_horizon: int | None = None,
    max_virtual_seconds: float | None = DEFAULT_MAX_VIRTUAL_SECONDS,
    virtualize: bool = True,
    coverage: bool = False,
    origins: bool = False,
    jitter: float = 0.0,
) -> RunResult:
    """Run ``main()`` under a deterministic kernel and return what happened.

    ``policy`` says how choices are used (``random``: a random walk, one draw per step
    among all ready tasks; ``shuffle``: the order of each ready batch; ``pct``: priorities
    and change points; ``fifo``: none, or the walk's when ``choices``/``schedule`` is given);
    where they come from is, in order of precedence, ``choices`` (e.g.
    :class:`HypothesisChoices`), ``schedule`` (a recorded list, replayed then 0 = fifo once
    exhausted), or ``seed``.  With ``fifo`` and neither ``choices`` nor ``schedule``, no
    choice is ever made, so the seed is ignored.

    ``trace``: by default (``None``) the run is lean — no per-step trace, the hash covers the
    choices, the task names, the step count and the final virtual time — and
    ``RunResult.trace`` is recovered on first use by replaying the recorded schedule with
    the trace on; ``trace=True`` records it now (and hashes every step); ``trace=False``
    never has one.  ``coverage=True`` fills ``RunResult.coverage`` (see
    :func:`sim.kernel.trace.coverage_of`; a traced run always has it);
    ``detectors=False`` skips lockdep and the unawaited-coroutine watch.  ``origins=True``
    records where every coroutine is created during the run (costly on coroutine-heavy
    code); by default a ``kernel.unawaited`` finding gets its creating line by a replay of
    the schedule with origins on, only when there is a finding.
    ``jitter`` (seconds, default 0: off) delays every future timer by a drawn
    ``0..jitter`` so that timers falling due nearly together fire in either order
    (:mod:`sim.kernel.jitter`); it needs a choice source (a policy other than fifo, or
    ``choices``/``schedule``).
    ``max_steps`` bounds the steps run (asyncio: task steps and plain callbacks; trio:
    task steps) and ``max_virtual_seconds`` the virtual time (both on by default, ``None``
    lifts them); hitting one ends the run with :class:`StepLimitExceeded` and a
    ``kernel.livelock`` violation naming the tasks still looping.  ``virtualize`` (on by
    default) makes the stdlib's clocks, ``random``, ``uuid``, ``os.urandom`` and ``secrets``
    deterministic inside the run (:mod:`sim.kernel.virtual_stdlib`).  ``pct_horizon``
    (default: drawn per run) is explained in :mod:`sim.kernel.pct`.

    Every violation carries ``repro``: the ``sim.run`` call that reproduces it.
    """
    check_options(kernel, policy)
    if not (jitter >= 0 and math.isfinite(jitter)):
        raise ValueError(f"jitter must be a finite number of seconds >= 0, got {jitter!r}")
    if not callable(main):
        raise TypeError(f"sim.run expects a coroutine function (called with no arguments), got {main!r}")
    source: ChoiceSource | None
    if choices is not None:
        source = choices
    elif schedule is not None:
        source = ReplayChoices(schedule)
    elif policy == "fifo":
        source = None
    else:
        source = SeededChoices(seed)
    recorder = RecordingChoices(source) if source is not None else None
    pct = None
    if policy == "pct":
        assert recorder is not None  # pct always draws: from choices, schedule or seed
        pct = PCTPriorities(recorder, depth=pct_depth, horizon=pct_horizon)

    record = trace is True or coverage
    lockdep = LockDep() if detectors else None
    unawaited = UnawaitedWatch(origins=origins) if detectors else None
    started = time.perf_counter()
    if unawaited is not None:
        unawaited.start()
    if lockdep is not None:
        lockdep.install()
    stdlib = virtualize_stdlib(seed) if virtualize else None
    global _full_trace
    outer_full_trace, _full_trace = _full_trace, trace is True
    draw_delay = jitter_draw(recorder.choose, jitter) if jitter and recorder is not None else None
    try:
        if kernel == "asyncio":
            from sim.kernel.asyncio_runner import run_on_asyncio

            io_guard = forbid_real_io()
            try:
                outcome, _ = run_on_asyncio(
                    main, choices=recorder, pct=pct, record=record, lockdep=lockdep, max_steps=max_steps,
                    walk=policy in ("random", "fifo"), max_virtual_seconds=max_virtual_seconds,
                    jitter=draw_delay,
                )
            finally:
                io_guard.restore()
        else:
            from sim.kernel.trio_runner import run_on_trio

            jittered = jitter_trio_sleeps(draw_delay) if draw_delay is not None else None
            try:
                outcome = run_on_trio(
                    main, choices=recorder, record=record, lockdep=lockdep, max_steps=max_steps,
                    mode=_TRIO_MODES[policy], pct=pct, max_virtual_seconds=max_virtual_seconds,
                )
            finally:
                if jittered is not None:
                    jittered.restore()
    finally:
        _full_trace = outer_full_trace
        if stdlib is not None:
            stdlib.restore()
        if lockdep is not None:
            lockdep.uninstall()
        late: list[Any] = unawaited.stop() if unawaited is not None else []
    if lockdep is not None:
        outcome.violations += lockdep.violations()
    if unawaited is not None and not unawaited.sites_known:
        late = _unawaited_with_origins(late, lambda: run(
            main, seed=seed, policy=policy, kernel=kernel, schedule=recorder.record if recorder is not None else None,
            pct_depth=pct_depth, trace=False, detectors=True, max_steps=max_steps, pct_horizon=pct_horizon,
            max_virtual_seconds=max_virtual_seconds, virtualize=virtualize, origins=True, jitter=jitter,
        ), outcome)
    outcome.violations += late
    how = f"seed={seed}" if choices is None and schedule is None else f"schedule={recorder.record if recorder else []}"
    repro = f"sim.run({getattr(main, '__qualname__', 'main')}, {how}, policy={policy!r}, kernel={kernel!r})"
    outcome.violations = [v if v.repro else v.with_repro(repro) for v in outcome.violations]
    recorded = recorder.record if recorder is not None else []

    def recover() -> Trace:
        """Replay this run's schedule with the trace on; refuse if it is not the same run."""
        again = run(main, seed=seed, policy=policy, kernel=kernel,
                    schedule=recorded if recorder is not None else None, pct_depth=pct_depth, trace=True,
                    detectors=False, max_steps=max_steps, pct_horizon=pct_horizon,
                    max_virtual_seconds=max_virtual_seconds, virtualize=virtualize, jitter=jitter)
        if (again.steps, again.virtual_seconds, again.trace.names) != (outcome.steps, outcome.virtual_seconds,
                                                                       outcome.names):
            raise SimulationError(
                f"the trace of {repro} cannot be recovered: replaying its schedule gave another run "
                f"({again.steps} steps to t={again.virtual_seconds:g}s instead of {outcome.steps} to "
                f"t={outcome.virtual_seconds:g}s); does main keep state between runs? Pass trace=True to record it"
            )
        return again.trace

    full = Trace(outcome.names, outcome.raw)
    if trace is True:
        kept = full
    elif trace is None:
        kept = RecoveredTrace(recover)
    else:
        kept = Trace(outcome.names, [])
    return _result(outcome, seed=seed, policy=policy, kernel=kernel, schedule=recorded, trace=kept,
                   hashed=Trace(outcome.names, []),  # one hash whatever is recorded: see docs/kernel.md
                   coverage=coverage_of(outcome.names, outcome.raw) if record else frozenset(),
                   wall=time.perf_counter() - started)


def _unawaited_with_origins(found: list[Any], replay: Callable[[], RunResult], outcome: KernelOutcome) -> list[Any]:
    """The creating lines of never-awaited coroutines, from a replay with origins on; the
    findings as they are (naming the coroutine functions' definitions) if the replay is not
    the same run or finds something else."""
    again = replay()
    if (again.steps, again.virtual_seconds) != (outcome.steps, outcome.virtual_seconds):
        return found
    recovered = [v for v in again.violations if v.rule == "kernel.unawaited"]
    if sum(v.details["count"] for v in recovered) != sum(v.details["count"] for v in found):
        return found
    return recovered


def _result(outcome: KernelOutcome, *, seed: int, policy: str, kernel: str, schedule: list[int], trace: Trace,
            hashed: Trace, coverage: frozenset[int], wall: float) -> RunResult:
    choices = list(schedule)
    while choices and not choices[-1]:
        choices.pop()  # a replayed list runs out into zeros: same run, same hash
    summary = f"{outcome.names}|{choices}|{outcome.steps}|{outcome.virtual_seconds!r}"
    return RunResult(
        value=outcome.value,
        error=outcome.error,
        trace_hash=hashed.hash(summary),
        steps=outcome.steps,
        schedule=schedule,
        trace=trace,
        violations=outcome.violations,
        virtual_seconds=outcome.virtual_seconds,
        wall_seconds=wall,
        seed=seed,
        policy=policy,
        kernel=kernel,
        contended_steps=outcome.contended_steps,
        coverage=coverage,
    )


__all__ = [
    "ChoiceSource",
    "Deadlock",
    "HypothesisChoices",
    "PerturbedChoices",
    "ReplayChoices",
    "RunResult",
    "SeededChoices",
    "SimulationError",
    "StepLimitExceeded",
    "Trace",
    "TraceStep",
    "ViolationsFound",
    "check_options",
    "full_trace",
    "run",
    "supported_policies",
]
