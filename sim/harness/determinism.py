"""Determinism is checked, not assumed.

:func:`check_determinism` runs one target with one seed four times: twice in this process,
once in a fresh interpreter with a different ``PYTHONHASHSEED`` (which reorders every set and
dict of strings that leaks into scheduling) and once in a fresh interpreter with another local
time zone (``TZ``, see :mod:`sim.harness.timezones`: a naive local-time conversion moves
timestamps without changing any schedule).  All trace hashes must agree, and so must the
*outcomes* (recorded events and tables) of targets that can say what they produced (a bound
``main`` whose object has ``outcome_digest()``, as a full-system scenario does); otherwise the
report names the first step where the traces part (step, task, site), or the runs whose
outcomes differ.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sim.harness.targets import Main, resolve, spec_of
from sim.kernel.trace import Trace, TraceStep

CHILD_HASH_SEED = "4242"
"""PYTHONHASHSEED of the subprocess run (a different one is picked if ours is the same)."""
CHILD_TZ = "Asia/Kolkata"
"""TZ of the time-zone subprocess run (UTC is picked if ours is the same): ``sim.harness.timezones.ALTERNATE_TZ``."""


@dataclass
class DeterminismReport:
    identical: bool
    hashes: dict[str, str]
    divergence: TraceStep | None = None
    between: tuple[str, str] | None = None
    notes: list[str] = field(default_factory=list)
    outcomes: dict[str, str] = field(default_factory=dict)
    """Per run, the hash of what it produced (events, tables), for targets that report one."""

    def render(self) -> str:
        lines = [f"{label:<32} {digest}" for label, digest in self.hashes.items()]
        if self.identical:
            produced = " and the same events and tables" if self.outcomes else ""
            lines.append(f"identical: every run produced the same trace{produced}")
        else:
            assert self.between is not None
            if self.divergence is None and self.outcomes:
                lines.append(f"OUTCOMES DIFFER between {self.between[0]} and {self.between[1]} (same trace, "
                             "different events or tables: local time, or state outside the schedule)")
                lines += [f"  outcome {label:<24} {digest}" for label, digest in self.outcomes.items()]
                lines += [f"note: {note}" for note in self.notes]
                return "\n".join(lines)
            lines.append(f"DIVERGED between {self.between[0]} and {self.between[1]}")
            if self.divergence is not None:
                step = self.divergence
                lines.append(f"  first divergence: step {step.index}, task {step.task}, "
                             f"at {step.site}, t={step.time:g}")
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


def check_determinism(
    target_factory: Callable[[], Main] | str,
    seed: int = 0,
    policy: str = "random",
    kernel: str = "asyncio",
    *,
    subprocess_check: bool = True,
    **run_options: Any,
) -> DeterminismReport:
    """Run the target three times with the same seed and compare the traces.

    ``target_factory`` is a ``module:function`` spec or a callable returning a fresh
    coroutine function per run; the subprocess run needs a spec (given, or derived from a
    module-level callable) and is skipped with a note otherwise.
    """
    from sim.kernel import run

    if isinstance(target_factory, str):
        spec: str | None = target_factory
        factory = resolve(target_factory)
    else:
        spec, factory = spec_of(target_factory), target_factory
    traces: dict[str, Trace] = {}
    hashes: dict[str, str] = {}
    outcomes: dict[str, str] = {}
    notes: list[str] = []
    for label in ("in-process #1", "in-process #2"):
        main = factory()
        result = run(main, seed=seed, policy=policy, kernel=kernel, **run_options)
        traces[label], hashes[label] = result.trace, result.trace_hash
        if (outcome := _outcome(main)) is not None:
            outcomes[label] = outcome
    if subprocess_check and spec is not None:
        hash_seed = CHILD_HASH_SEED if os.environ.get("PYTHONHASHSEED") != CHILD_HASH_SEED else "2424"
        zone = CHILD_TZ if os.environ.get("TZ") != CHILD_TZ else "UTC"
        for label, env in ((f"subprocess PYTHONHASHSEED={hash_seed}", {"PYTHONHASHSEED": hash_seed}),
                           (f"subprocess TZ={zone}", {"TZ": zone})):
            traces[label], hashes[label], outcome = _run_child(spec, seed, policy, kernel, env, run_options)
            if outcome is not None:
                outcomes[label] = outcome
    elif subprocess_check:
        notes.append("subprocess runs skipped: the target is not importable as 'module:function'")
    labels = list(traces)
    for other in labels[1:]:
        if hashes[other] != hashes[labels[0]]:
            return DeterminismReport(False, hashes, traces[other].first_divergence(traces[labels[0]]),
                                     (labels[0], other), notes, outcomes)
        if outcomes.get(other) != outcomes.get(labels[0]):
            return DeterminismReport(False, hashes, None, (labels[0], other), notes, outcomes)
    return DeterminismReport(True, hashes, notes=notes, outcomes=outcomes)


def _outcome(main: Main) -> str | None:
    """The outcome digest of a finished run, if its target can report one."""
    report = getattr(getattr(main, "__self__", None), "outcome_digest", None)
    return report() if callable(report) else None


def _run_child(spec: str, seed: int, policy: str, kernel: str, variation: dict[str, str],
               run_options: dict[str, Any]) -> tuple[Trace, str, str | None]:
    env = dict(os.environ, **variation)
    env["PYTHONPATH"] = os.pathsep.join([os.getcwd(), *(p for p in sys.path if p)])
    command = [sys.executable, "-m", "sim.harness.determinism", spec, "--seed", str(seed),
               "--policy", policy, "--kernel", kernel, "--options", json.dumps(run_options)]
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"determinism subprocess failed ({' '.join(command)}):\n{completed.stderr}")
    lines = completed.stdout.splitlines()
    head = json.loads(lines[0])
    rows = [json.loads(line) for line in lines[1:]]
    trace = Trace.from_steps([TraceStep(row["step"], row["task"], row["site"], row["time"]) for row in rows])
    return trace, head["trace_hash"], head.get("outcome")


def _child_main() -> None:
    """Subprocess side: run once, print the hash then the trace as JSON lines."""
    from sim.kernel import run

    parser = argparse.ArgumentParser(prog="python -m sim.harness.determinism")
    parser.add_argument("target")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--policy", default="random")
    parser.add_argument("--kernel", default="asyncio")
    parser.add_argument("--options", default="{}")
    args = parser.parse_args()
    main = resolve(args.target)()
    result = run(main, seed=args.seed, policy=args.policy, kernel=args.kernel, **json.loads(args.options))
    head = {"trace_hash": result.trace_hash, "outcome": _outcome(main)}
    sys.stdout.write(json.dumps(head) + "\n" + result.trace.to_jsonl())


if __name__ == "__main__":
    _child_main()
