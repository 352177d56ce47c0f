"""Shrinking a failing session to its minimal interleaving, and replaying schedule files.

The kernel's shrinker (:func:`sim.kernel.shrink.shrink`) replays candidate schedules; here each
candidate is a whole session (a fresh :class:`~sim.harness.session.SessionDriver`, same spec), and
"still fails" means one of the violated rules of the original failure fires again, judged by
the driver exactly as ``simwire run`` judges.  The result is written as a schedule file (the
one format of :mod:`sim.harness.schedule_file`) and a Mermaid sequence diagram.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim.harness.schedule_file import ScheduleFile
from sim.harness.session import ScenarioResult, SessionDriver, run_scenario, scenario_main
from sim.harness.spec import ScenarioSpec

SHRINK_MAX_RUNS = 40
"""Replays a shrink may spend; each one is a full scenario run (a second or so)."""


def shrink_scenario(spec: ScenarioSpec, rules: set[str], out: Path, *, schedule: list[int] | None = None,
                    max_runs: int = SHRINK_MAX_RUNS, stem: str | None = None) -> dict[str, Any] | None:
    """Shrink the schedule of ``spec``'s run (or of ``schedule``) while any of ``rules`` still
    fires; write the schedule file and diagram under ``out``.  None when it does not fail."""
    from sim.kernel.shrink import ShrinkError, shrink

    original = run_scenario(spec, schedule=schedule)
    drivers: list[SessionDriver] = []

    def fresh_main() -> Any:
        driver, main = scenario_main(spec)
        drivers.append(driver)
        return main

    def fails(result: Any) -> bool:
        return bool({v.rule for v in drivers[-1].result(result).violations} & rules)

    try:
        shrunk = shrink(fresh_main, original.kernel_result.schedule, fails=fails, max_runs=max_runs,
                        seed=spec.scheduler_seed, policy=spec.policy, kernel=spec.kernel, pct_depth=spec.pct_depth,
                        virtualize=spec.virtualize)
    except ShrinkError:
        return None
    out.mkdir(parents=True, exist_ok=True)
    stem = stem or f"{spec.mode}-{spec.kernel}-{spec.policy}-seed{spec.seed}"
    schedule_path = out / f"{stem}.schedule.json"
    ScheduleFile.for_scenario(spec, shrunk.schedule, shrunk.result.trace_hash, sorted(rules)).save(schedule_path)
    diagram_path = out / f"{stem}.mmd"
    diagram_path.write_text(shrunk.to_mermaid())
    return {
        "schedule": str(schedule_path), "diagram": str(diagram_path), "deviations": shrunk.deviations,
        "original_deviations": shrunk.original_deviations, "runs": shrunk.runs,
        "replay": f"simwire replay {schedule_path}",
    }


def replay_scenario(recorded: ScheduleFile, path: str, *, trace: bool | None = None) -> tuple[ScenarioResult, str]:
    """Re-run a session-target schedule file; the result and the trace hash it should give."""
    return run_scenario(recorded.scenario_spec(path), schedule=recorded.choices, trace=trace), recorded.trace_hash
