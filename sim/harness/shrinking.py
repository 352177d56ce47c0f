"""Shrinking a failing full-system run to its minimal interleaving, and scenario schedule files.

The kernel's shrinker (:func:`sim.kernel.shrink.shrink`) replays candidate schedules; here each
candidate is a whole scenario (fresh world, same spec), and "still fails" means one of the
violated rules of the original failure fires again, kernel detectors and end-of-run oracles
alike.  The result is written as a *scenario schedule file* (the spec plus the choices, which
``simwire replay FILE`` re-runs) and a Mermaid sequence diagram of the interleaving.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from sim.harness.scenario import ScenarioResult, ScenarioSpec, _World, run_scenario

SHRINK_MAX_RUNS = 40
"""Replays a shrink may spend; each one is a full scenario run (a second or so)."""


def shrink_scenario(spec: ScenarioSpec, rules: set[str], out: Path, *,
                    max_runs: int = SHRINK_MAX_RUNS) -> dict[str, Any] | None:
    """Shrink the schedule of ``spec``'s run while any of ``rules`` still fires; write the
    schedule file and diagram under ``out``.  None when the failure does not reproduce."""
    from sim.kernel.shrink import ShrinkError, shrink

    original = run_scenario(spec)
    worlds: list[_World] = []

    def fresh_main() -> Any:
        world = _World(spec)
        worlds.append(world)
        return world.main

    def fails(result: Any) -> bool:
        found = {v.rule for v in result.violations} | {v.rule for v in worlds[-1].judge()}
        if result.error is not None:
            found.add("oracle.crash")
        return bool(found & rules)

    try:
        shrunk = shrink(fresh_main, original.kernel_result.schedule, fails=fails, max_runs=max_runs,
                        seed=spec.seed, policy=spec.policy, kernel=spec.kernel, pct_depth=spec.pct_depth)
    except ShrinkError:
        return None
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{spec.mode}-{spec.kernel}-{spec.policy}-seed{spec.seed}"
    schedule_path = out / f"{stem}.schedule.json"
    write_scenario_schedule(schedule_path, spec, shrunk.schedule, shrunk.result.trace_hash, sorted(rules))
    diagram_path = out / f"{stem}.mmd"
    diagram_path.write_text(shrunk.to_mermaid())
    return {
        "schedule": str(schedule_path), "diagram": str(diagram_path), "deviations": shrunk.deviations,
        "original_deviations": shrunk.original_deviations, "runs": shrunk.runs,
        "replay": f"simwire replay {schedule_path}",
    }


def write_scenario_schedule(path: Path, spec: ScenarioSpec, choices: list[int], trace_hash: str,
                            rules: list[str] | None = None) -> None:
    data = {"scenario": dataclasses.asdict(spec), "choices": list(choices), "trace_hash": trace_hash,
            "rules": rules or []}
    data["scenario"]["symbols"] = list(spec.symbols)
    path.write_text(json.dumps(data, indent=1) + "\n")


def read_scenario_schedule(path: str | Path) -> dict[str, Any] | None:
    """The file's content when it is a scenario schedule file, else None (a kernel schedule
    file, or not JSON: the kernel's reader reports those)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and "scenario" in data else None


def replay_scenario_schedule(data: dict[str, Any], source: str) -> tuple[ScenarioResult, str]:
    """Re-run a scenario schedule file; returns the result and the trace hash it should give."""
    raw = data.get("scenario")
    choices = data.get("choices", [])
    if not isinstance(raw, dict):
        raise ValueError(f"{source}: field 'scenario' must be an object of ScenarioSpec fields")
    known = {f.name for f in dataclasses.fields(ScenarioSpec)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"{source}: unknown scenario field(s) {', '.join(unknown)}")
    if not isinstance(choices, list) or not all(isinstance(c, int) and c >= 0 for c in choices):
        raise ValueError(f"{source}: field 'choices' must be a list of non-negative integers")
    spec = ScenarioSpec(**{**raw, "symbols": tuple(raw.get("symbols", ScenarioSpec().symbols))})
    return run_scenario(spec, schedule=choices), str(data.get("trace_hash", ""))
