"""Deterministic kernels: run any asyncio/anyio coroutine function with virtual time and
a seeded, recorded, replayable schedule.

    result = sim.kernel.run(main, seed=7, policy="random")
    result.raise_for_error()
    replayed = sim.kernel.run(main, policy="random", schedule=result.schedule)
    assert replayed.trace_hash == result.trace_hash

See ``docs/kernel.md`` for the policies, replay and shrinking, and the detectors.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sim.kernel.choices import (
    ChoiceSource,
    HypothesisChoices,
    RecordingChoices,
    ReplayChoices,
    SeededChoices,
)
from sim.kernel.lockdep import LockDep
from sim.kernel.outcome import KernelOutcome
from sim.kernel.pct import PCTPriorities
from sim.kernel.result import Deadlock, RunResult, SimulationError, StepLimitExceeded
from sim.kernel.sandbox import forbid_real_io
from sim.kernel.trace import Trace, TraceStep
from sim.kernel.unawaited import UnawaitedWatch

T = TypeVar("T")

POLICIES = ("fifo", "random", "pct")
KERNELS = ("asyncio", "trio")
KERNEL_POLICIES: dict[str, tuple[str, ...]] = {"asyncio": POLICIES, "trio": ("fifo", "random")}
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


def run(
    main: Callable[[], Awaitable[T]],
    *,
    seed: int = 0,
    policy: str = "fifo",
    kernel: str = "asyncio",
    schedule: Sequence[int] | None = None,
    choices: ChoiceSource | None = None,
    pct_depth: int = 3,
    trace: bool = True,
    detectors: bool = True,
    max_steps: int | None = None,
    pct_horizon: int | None = None,
) -> RunResult:
    """Run ``main()`` under a deterministic kernel and return what happened.

    ``policy`` says how choices are used (``fifo``/``random``: order of each ready batch;
    ``pct``: priorities and change points); where they come from is, in order of
    precedence, ``choices`` (e.g. :class:`HypothesisChoices`), ``schedule`` (a recorded
    list, replayed then 0 = fifo once exhausted), or ``seed`` (``random``/``pct``).  With
    ``fifo`` and neither ``choices`` nor ``schedule``, no choice is ever made.

    ``trace=False`` keeps no per-step trace (the fast mode: the hash then covers the
    choices, the task names, the step count and the final virtual time);
    ``detectors=False`` skips lockdep and the unawaited-coroutine watch.
    ``max_steps`` bounds the steps run (asyncio: task steps and plain callbacks; trio:
    task steps), a livelock guard.  ``pct_horizon`` (default: drawn per run) is
    explained in :mod:`sim.kernel.pct`.

    Every violation carries ``repro``: the ``sim.run`` call that reproduces it.
    """
    check_options(kernel, policy)
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

    lockdep = LockDep() if detectors else None
    unawaited = UnawaitedWatch() if detectors else None
    started = time.perf_counter()
    if unawaited is not None:
        unawaited.start()
    if lockdep is not None:
        lockdep.install()
    try:
        if kernel == "asyncio":
            from sim.kernel.asyncio_runner import run_on_asyncio

            io_guard = forbid_real_io()
            try:
                outcome, _ = run_on_asyncio(
                    main, choices=recorder, pct=pct, record=trace, lockdep=lockdep, max_steps=max_steps,
                )
            finally:
                io_guard.restore()
        else:
            from sim.kernel.trio_runner import run_on_trio

            outcome = run_on_trio(
                main, choices=recorder, record=trace, lockdep=lockdep, max_steps=max_steps,
            )
    finally:
        if lockdep is not None:
            lockdep.uninstall()
        late: list[Any] = unawaited.stop() if unawaited is not None else []
    if lockdep is not None:
        outcome.violations += lockdep.violations()
    outcome.violations += late
    how = f"seed={seed}" if choices is None and schedule is None else f"schedule={recorder.record if recorder else []}"
    repro = f"sim.run({getattr(main, '__qualname__', 'main')}, {how}, policy={policy!r}, kernel={kernel!r})"
    outcome.violations = [v if v.repro else v.with_repro(repro) for v in outcome.violations]
    return _result(outcome, seed=seed, policy=policy, kernel=kernel,
                   schedule=recorder.record if recorder is not None else [],
                   wall=time.perf_counter() - started)


def _result(outcome: KernelOutcome, *, seed: int, policy: str, kernel: str, schedule: list[int],
            wall: float) -> RunResult:
    trace = Trace(outcome.names, outcome.raw)
    choices = list(schedule)
    while choices and not choices[-1]:
        choices.pop()  # a replayed list runs out into zeros: same run, same hash
    summary = f"{outcome.names}|{choices}|{outcome.steps}|{outcome.virtual_seconds!r}"
    return RunResult(
        value=outcome.value,
        error=outcome.error,
        trace_hash=trace.hash(summary),
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
    )


__all__ = [
    "ChoiceSource",
    "Deadlock",
    "HypothesisChoices",
    "ReplayChoices",
    "RunResult",
    "SeededChoices",
    "SimulationError",
    "StepLimitExceeded",
    "Trace",
    "TraceStep",
    "check_options",
    "run",
    "supported_policies",
]
