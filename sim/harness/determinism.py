"""Determinism is checked, not assumed.

:func:`check_determinism` runs one target with one seed three times: twice in this process
and once in a fresh interpreter with a different ``PYTHONHASHSEED`` (which reorders every
set and dict of strings that leaks into scheduling).  All three trace hashes must agree;
otherwise the report names the first step where the traces part (step, task, site).
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


@dataclass
class DeterminismReport:
    identical: bool
    hashes: dict[str, str]
    divergence: TraceStep | None = None
    between: tuple[str, str] | None = None
    notes: list[str] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)
    """Per run, the digest of its outputs (events and rows; ``sim.harness.outputs``), when compared."""
    output_difference: str | None = None
    """The first differing event or row, when the traces agree and the outputs do not."""

    def render(self) -> str:
        lines = [f"{label:<32} {digest}" for label, digest in self.hashes.items()]
        lines += [f"{label:<32} outputs {digest}" for label, digest in self.digests.items()]
        if self.identical:
            lines.append("identical: every run produced the same trace" + (" and outputs" if self.digests else ""))
        else:
            assert self.between is not None
            lines.append(f"DIVERGED between {self.between[0]} and {self.between[1]}")
            if self.divergence is not None:
                step = self.divergence
                lines.append(f"  first divergence: step {step.index}, task {step.task}, "
                             f"at {step.site}, t={step.time:g}")
            if self.output_difference is not None:
                lines.append("  same schedule, different outputs; first difference: " + self.output_difference)
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
    notes: list[str] = []
    for label in ("in-process #1", "in-process #2"):
        result = run(factory(), seed=seed, policy=policy, kernel=kernel, **run_options)
        traces[label], hashes[label] = result.trace, result.trace_hash
    if subprocess_check and spec is not None:
        hash_seed = CHILD_HASH_SEED if os.environ.get("PYTHONHASHSEED") != CHILD_HASH_SEED else "2424"
        label = f"subprocess PYTHONHASHSEED={hash_seed}"
        traces[label], hashes[label] = _run_child(spec, seed, policy, kernel, hash_seed, run_options)
    elif subprocess_check:
        notes.append("subprocess run skipped: the target is not importable as 'module:function'")
    labels = list(traces)
    for other in labels[1:]:
        if hashes[other] != hashes[labels[0]]:
            return DeterminismReport(False, hashes, traces[other].first_divergence(traces[labels[0]]),
                                     (labels[0], other), notes)
    return DeterminismReport(True, hashes, notes=notes)


def _run_child(spec: str, seed: int, policy: str, kernel: str, hash_seed: str,
               run_options: dict[str, Any]) -> tuple[Trace, str]:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    env["PYTHONPATH"] = os.pathsep.join([os.getcwd(), *(p for p in sys.path if p)])
    command = [sys.executable, "-m", "sim.harness.determinism", spec, "--seed", str(seed),
               "--policy", policy, "--kernel", kernel, "--options", json.dumps(run_options)]
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"determinism subprocess failed ({' '.join(command)}):\n{completed.stderr}")
    lines = completed.stdout.splitlines()
    digest = json.loads(lines[0])["trace_hash"]
    rows = [json.loads(line) for line in lines[1:]]
    return Trace.from_steps([TraceStep(row["step"], row["task"], row["site"], row["time"]) for row in rows]), digest


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
    result = run(resolve(args.target)(), seed=args.seed, policy=args.policy, kernel=args.kernel,
                 **json.loads(args.options))
    sys.stdout.write(json.dumps({"trace_hash": result.trace_hash}) + "\n" + result.trace.to_jsonl())


if __name__ == "__main__":
    _child_main()
