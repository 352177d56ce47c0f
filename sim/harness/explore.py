"""Seeded exploration: many full-system runs, each judged, failures reported with their repro.

Like FoundationDB's simulation, the harness checks its own determinism as it goes: every
``recheck_every``-th seed is run twice, the second time under another local time zone
(``sim.harness.timezones``), and any difference in trace hash or in what the run produced
(events, ticks, tables) is itself a failure (``kernel.nondeterminism``).

Where the runs execute is a *runner*: in this process, in a pool of local processes
(``workers``), or on a Dask cluster (:mod:`sim.harness.explore_cluster`).  Every runner runs the same
picklable :func:`run_one`, so outcomes, failures and repro lines are the same whichever ran
them; the report is sorted by seed, so completion order does not show.  Seeds are
independent, so a CI matrix can also shard them with ``--start``/``--seeds`` and no
coordinator (docs/ci.md).

An exploration can be interrupted (SIGINT, SIGTERM): :func:`explore` stops taking outcomes,
stops the runner, and returns what finished, marked ``interrupted``.  With a results file
(:mod:`sim.harness.explore_results`) the next exploration resumes where this one stopped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sim.harness.scenario import ScenarioSpec, run_scenario
from sim.harness.timezones import ALTERNATE_TZ, local_timezone
from simwire.violation import Severity, Violation

POLL_SECONDS = 0.25
"""How often a runner waiting for outcomes looks at the stop request."""

Job = tuple[ScenarioSpec, bool]
"""One run of a plan: the spec, and whether to run it twice to recheck determinism."""

Runner = Callable[[list[Job], Callable[[], bool]], Iterator["SeedOutcome"]]
"""Runs jobs and yields their outcomes as they finish (any order).  It polls the second
argument, ``stopping()``, at least every half second and ends when it is true; closing the
iterator early must stop the runs still going."""


@dataclass(frozen=True)
class SeedOutcome:
    spec: ScenarioSpec
    trace_hash: str
    violations: tuple[Violation, ...]
    wall_seconds: float
    coverage: frozenset[int] = frozenset()
    """The kernel's coverage of the run: hashes of (task, await site) pairs run back to back."""
    deliveries: frozenset[int] = frozenset()
    """The bus's delivery orders in the run: fingerprints of each publish (topic, subscribers in
    delivery order) and of each pair of consecutive publishes (:class:`sim.harness.recorder.DeliveryOrders`)."""

    @property
    def clean(self) -> bool:
        return not self.violations

    @property
    def rules(self) -> list[str]:
        return sorted({v.rule for v in self.violations})

    @property
    def key(self) -> tuple[int, str]:
        """What identifies a run within one plan (the rest of the spec is the plan's)."""
        return (self.spec.seed, self.spec.kernel)

    def to_line(self) -> dict[str, Any]:
        """The results-file form: everything :meth:`from_line` needs to rebuild this outcome."""
        spec = dataclasses.asdict(self.spec)
        spec["symbols"] = list(self.spec.symbols)
        return {"seed": self.spec.seed, "kernel": self.spec.kernel, "spec": spec, "trace_hash": self.trace_hash,
                "rules": self.rules, "violations": [v.to_json() for v in self.violations],
                "wall_seconds": round(self.wall_seconds, 3), "repro": self.spec.repro(),
                "coverage": sorted(self.coverage), "deliveries": sorted(self.deliveries)}

    @classmethod
    def from_line(cls, data: dict[str, Any]) -> SeedOutcome:
        """Raises ValueError (or KeyError/TypeError) when ``data`` is not a :meth:`to_line` dict."""
        raw = dict(data["spec"])
        raw["symbols"] = tuple(raw["symbols"])
        violations = []
        for item in data["violations"]:
            fields = dict(item)
            fields["severity"] = Severity(fields.get("severity", "error"))
            violations.append(Violation(**fields))
        return cls(ScenarioSpec(**raw), str(data["trace_hash"]), tuple(violations), float(data["wall_seconds"]),
                   frozenset(int(c) for c in data.get("coverage", ())),
                   frozenset(int(d) for d in data.get("deliveries", ())))


@dataclass
class Exploration:
    outcomes: list[SeedOutcome] = field(default_factory=list)
    wall_seconds: float = 0.0
    planned: int = 0
    interrupted: str = ""
    """The signal that stopped the exploration early (``SIGINT``/``SIGTERM``), or empty."""
    resumed: int = 0
    """Outcomes taken from a results file instead of being run again."""

    @property
    def failures(self) -> list[SeedOutcome]:
        return [o for o in self.outcomes if not o.clean]

    def to_json(self) -> dict[str, Any]:
        report: dict[str, Any] = {
            "runs": len(self.outcomes),
            "start": min((o.spec.seed for o in self.outcomes), default=0),
            "failures": [
                {"seed": o.spec.seed, "kernel": o.spec.kernel, "policy": o.spec.policy, "rules": o.rules,
                 "repro": o.spec.repro(), "violations": [v.to_json() for v in o.violations]}
                for o in self.failures
            ],
            "clean": not self.failures,
            "wall_seconds": round(self.wall_seconds, 3),
            "seeds_per_second": round(self.ran / self.wall_seconds, 3) if self.wall_seconds else None,
            "coverage": self.coverage(),
        }
        if self.interrupted:  # only then: a resumed exploration's final report equals an uninterrupted one
            report["interrupted"] = self.interrupted
            report["planned"] = self.planned
        return report

    def coverage(self) -> dict[str, Any]:
        """What the exploration has seen: distinct orderings of pairs of await sites across tasks
        and distinct bus delivery orders over all runs, and how the counts grew (runs in seed
        order), so a plateau is visible.  A run adds coverage when it adds either kind."""
        seen: set[int] = set()
        delivered: set[int] = set()
        growth: list[int] = []
        delivery_growth: list[int] = []
        adding = 0
        for outcome in self.outcomes:
            before = (len(seen), len(delivered))
            seen |= outcome.coverage
            delivered |= outcome.deliveries
            adding += (len(seen), len(delivered)) != before
            growth.append(len(seen))
            delivery_growth.append(len(delivered))
        new_by = [len(self.outcomes) * k // 4 for k in (1, 2, 3)]
        return {"await_site_pairs": len(seen), "deliveries": len(delivered), "runs_adding_coverage": adding,
                "at_quarters": [growth[i - 1] for i in new_by if i > 0],
                "deliveries_at_quarters": [delivery_growth[i - 1] for i in new_by if i > 0]}

    @property
    def ran(self) -> int:
        """Runs done by this exploration (not taken from a results file)."""
        return len(self.outcomes) - self.resumed


class StopRequest:
    """Set by SIGINT or SIGTERM while an exploration runs; runners poll it between outcomes.

    The first signal only asks: the runs that finish are kept and reported.  A second one
    raises KeyboardInterrupt, for a user who does not want to wait for the runner to stop.
    """

    def __init__(self) -> None:
        self.signal_name = ""

    def __call__(self) -> bool:
        return bool(self.signal_name)

    def request(self, signal_name: str) -> None:
        if self.signal_name:
            raise KeyboardInterrupt(signal_name)
        self.signal_name = signal_name

    @contextlib.contextmanager
    def on_signals(self) -> Iterator[StopRequest]:
        """Route SIGINT and SIGTERM to :meth:`request` inside the block (main thread only)."""
        def handler(signum: int, _frame: Any) -> None:
            self.request(signal.Signals(signum).name)

        previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for signum, old in previous.items():
                signal.signal(signum, old)


def _never() -> bool:
    return False


def plan(base: ScenarioSpec, *, seeds: int, start: int, kernels: tuple[str, ...]) -> list[ScenarioSpec]:
    """The runs of an exploration, in the order they are reported."""
    return [dataclasses.replace(base, seed=seed, kernel=kernel)
            for seed in range(start, start + seeds) for kernel in kernels]


def jobs(specs: list[ScenarioSpec], recheck_every: int) -> list[Job]:
    """Which runs are rechecked depends on their place in the plan only, so every runner (and
    a resumed exploration) rechecks the same ones."""
    return [(spec, recheck_every > 0 and i % recheck_every == 0) for i, spec in enumerate(specs)]


def run_one(spec: ScenarioSpec, recheck: bool = False) -> SeedOutcome:
    started = time.perf_counter()
    result = run_scenario(spec, trace=False, coverage=True)
    violations = list(result.violations)
    if recheck:
        with local_timezone(ALTERNATE_TZ):  # the rerun also varies TZ: local-time conversions show
            again = run_scenario(spec, trace=False)
        if again.trace_hash != result.trace_hash:
            violations.append(Violation(
                "kernel.nondeterminism",
                f"seed {spec.seed} gave two different trace hashes in one process (the second under TZ={ALTERNATE_TZ})",
                location=f"seed {spec.seed} on {spec.kernel}",
                expected=result.trace_hash, seen=again.trace_hash, repro=spec.repro(),
            ))
        else:
            violations += outputs_differ(spec, result, again)
    coverage = getattr(result.kernel_result, "coverage", frozenset())
    orders = result.record.recorder.delivery_orders if result.record is not None else None
    deliveries = frozenset(orders.seen) if orders is not None else frozenset()
    return SeedOutcome(spec, result.trace_hash, tuple(violations), time.perf_counter() - started, coverage,
                       deliveries)


def outputs_differ(spec: ScenarioSpec, first: Any, second: Any) -> list[Violation]:
    """``kernel.nondeterminism`` when two runs of one schedule produced different events or rows."""
    from sim.harness.outputs import output_difference

    difference = output_difference(first, second)
    if difference is None:
        return []
    return [Violation("kernel.nondeterminism",
                      f"seed {spec.seed} took the same schedule twice but produced different outputs",
                      location=f"seed {spec.seed} on {spec.kernel}", expected="the same events and rows",
                      seen=difference, repro=spec.repro())]


def explore(specs: list[ScenarioSpec], *, workers: int = 1, recheck_every: int = 10, first_failure: bool = False,
            on_outcome: Callable[[SeedOutcome], None] | None = None, runner: Runner | None = None,
            done: Iterable[SeedOutcome] = (), stop: Callable[[], bool] = _never) -> Exploration:
    """Run every spec (or until the first failure with ``first_failure``, in seed order when
    ``workers`` is 1).  ``done`` are outcomes of an earlier, interrupted exploration of the same
    plan: they are reported and not run again.  ``runner`` defaults to local processes.  When
    ``stop`` (a :class:`StopRequest`) becomes true, the exploration returns what finished."""
    started = time.perf_counter()
    exploration = Exploration(planned=len(specs))
    finished = {o.key: o for o in done}
    exploration.outcomes = [finished[s.seed, s.kernel] for s in specs if (s.seed, s.kernel) in finished]
    exploration.resumed = len(exploration.outcomes)
    todo = [job for job in jobs(specs, recheck_every) if (job[0].seed, job[0].kernel) not in finished]
    if first_failure and any(not o.clean for o in exploration.outcomes):
        todo = []  # the failure the earlier exploration stopped at is the answer
    outcomes = (runner or local_runner(workers))(todo, stop)
    try:
        for outcome in outcomes:
            exploration.outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
            if first_failure and not outcome.clean:
                break
    finally:
        outcomes.close()
    if stop() and len(exploration.outcomes) < len(specs):
        exploration.interrupted = getattr(stop, "signal_name", "") or "stopped"
    exploration.outcomes.sort(key=lambda o: (o.spec.seed, o.spec.kernel))
    exploration.wall_seconds = time.perf_counter() - started
    return exploration


def local_runner(workers: int) -> Runner:
    """Runs in this process (``workers`` 1, in plan order) or in a pool of local processes."""
    return _in_process if workers <= 1 else lambda todo, stopping: _in_pool(todo, stopping, workers)


def _in_process(todo: list[Job], stopping: Callable[[], bool]) -> Iterator[SeedOutcome]:
    for spec, recheck in todo:
        if stopping():
            return
        yield run_one(spec, recheck)


def _run_job(job: Job) -> SeedOutcome:
    return run_one(*job)


def ignore_sigint() -> None:
    """Workers leave Ctrl-C to the parent, which stops them itself after collecting results."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _in_pool(todo: list[Job], stopping: Callable[[], bool], workers: int) -> Iterator[SeedOutcome]:
    context = multiprocessing.get_context("spawn")
    pool = context.Pool(workers, initializer=ignore_sigint)
    completed = False
    try:
        results = pool.imap_unordered(_run_job, todo, chunksize=1)
        remaining = len(todo)
        while remaining and not stopping():
            try:
                outcome = results.next(timeout=POLL_SECONDS)
            except multiprocessing.TimeoutError:
                continue
            remaining -= 1
            yield outcome
        completed = not remaining
    finally:
        if completed:
            pool.close()
        else:  # stopped early: the runs still going are abandoned
            pool.terminate()
        pool.join()
