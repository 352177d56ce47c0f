"""Determinism of outputs, not only of schedules.

Two runs can take the same schedule (same trace hash) and still differ in what they *produce*:
a fill price drawn from the global ``random`` module, a cooldown timed with ``datetime.now()``.
So the determinism check of a session compares, for each of its runs, the trace hash **and** a
digest of the outputs — every event the target published (per topic, in order) and every row
of its declared tables (in the order read back).  A difference names the first differing
event or row and both versions of it.

:func:`check_session_determinism` runs one spec four times — twice in this process, once in
a fresh interpreter with another ``PYTHONHASHSEED`` (``python -m sim.harness.outputs``), which
reorders every set of strings that leaks into the outputs, and once with another local time
zone (``TZ=Asia/Kolkata``), which moves every timestamp a naive local-time conversion makes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from typing import Any

from sim.harness.determinism import DeterminismReport, child_variations
from sim.harness.spec import ScenarioSpec
from sim.kernel.trace import Trace, TraceStep

Item = tuple[str, str]
"""``(label, canonical text)`` of one output: ``("event order_created #3", "{...}")``."""


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr, separators=(",", ":"))


def output_groups(result: Any) -> list[tuple[str, list[Any]]]:
    """The outputs of a judged session (``ScenarioResult``) in a canonical order, grouped:
    ``(kind, values)``, each value labelled ``"{kind} #{index}"`` as an item."""
    groups: list[tuple[str, list[Any]]] = []
    record = result.record
    if record is not None:
        recorder = record.recorder
        groups += [(f"event {topic}", [dict(p) for p in recorder.events[topic]]) for topic in sorted(recorder.events)]
        groups += [(f"tick of session {session}", recorder.ticks[session])
                   for session in sorted(recorder.ticks, key=str)]
    groups += [(f"row {table}", result.tables[table]) for table in sorted(result.tables)]
    return groups


def output_items(result: Any) -> list[Item]:
    """The outputs of a judged session, labelled, in a canonical order."""
    return [(f"{kind} #{index}", _canonical(value))
            for kind, values in output_groups(result) for index, value in enumerate(values)]


def output_difference(first: Any, second: Any) -> str | None:
    """``first_difference`` of two judged sessions' outputs.  Each group is first compared as
    one canonical text (equal JSON arrays have equal elements), which is a few C calls where
    the items are tens of thousands of ``json.dumps``; only when some group differs are the
    items made, to name the first difference."""
    groups, others = output_groups(first), output_groups(second)
    if len(groups) == len(others) and all(
            kind == other_kind and _canonical(values) == _canonical(other_values)
            for (kind, values), (other_kind, other_values) in zip(groups, others, strict=True)):
        return None
    return first_difference(output_items(first), output_items(second))


def digest(items: list[Item]) -> str:
    h = hashlib.sha256()
    for label, text in items:
        h.update(label.encode())
        h.update(b"\0")
        h.update(text.encode())
        h.update(b"\n")
    return h.hexdigest()


def first_difference(first: list[Item], second: list[Item]) -> str | None:
    """``"row orders #4: {...} != {...}"`` for the first output that differs, None when equal."""
    for (label, text), (other_label, other_text) in zip(first, second, strict=False):
        if label != other_label:
            return f"{label} here, {other_label} in the other run (an output is missing or extra before it)"
        if text != other_text:
            return f"{label}: {text[:400]} != {other_text[:400]}"
    if len(first) != len(second):
        longer, shorter = (first, second) if len(first) > len(second) else (second, first)
        return f"{longer[len(shorter)][0]}: present in one run only ({len(first)} vs {len(second)} outputs)"
    return None


def check_session_determinism(spec: ScenarioSpec, *, choices: list[int] | None = None,
                              subprocess_check: bool = True) -> DeterminismReport:
    """Run ``spec`` three times; identical when trace hashes and output digests all agree."""
    from sim.harness.session import run_scenario

    traces: dict[str, Trace] = {}
    hashes: dict[str, str] = {}
    outputs: dict[str, list[Item]] = {}
    for label in ("in-process #1", "in-process #2"):
        result = run_scenario(spec, schedule=choices)
        traces[label], hashes[label] = result.kernel_result.trace, result.trace_hash
        outputs[label] = output_items(result)
    if subprocess_check:
        for label, variation in child_variations():
            traces[label], hashes[label], outputs[label] = _run_child(spec, choices, variation)
    digests = {label: digest(items) for label, items in outputs.items()}
    labels = list(traces)
    for other in labels[1:]:
        if hashes[other] != hashes[labels[0]]:
            return DeterminismReport(False, hashes, traces[other].first_divergence(traces[labels[0]]),
                                     (labels[0], other), digests=digests)
        if digests[other] != digests[labels[0]]:
            return DeterminismReport(False, hashes, None, (labels[0], other), digests=digests,
                                     output_difference=first_difference(outputs[labels[0]], outputs[other]))
    return DeterminismReport(True, hashes, digests=digests)


def _run_child(spec: ScenarioSpec, choices: list[int] | None,
               variation: dict[str, str]) -> tuple[Trace, str, list[Item]]:
    env = dict(os.environ, **variation)
    env["PYTHONPATH"] = os.pathsep.join([os.getcwd(), *(p for p in sys.path if p)])
    command = [sys.executable, "-m", "sim.harness.outputs", json.dumps(spec.to_json()),
               "--choices", json.dumps(choices)]
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"determinism subprocess failed ({' '.join(command)}):\n{completed.stderr}")
    data = json.loads(completed.stdout)
    steps = [TraceStep(row["step"], row["task"], row["site"], row["time"]) for row in data["trace"]]
    return Trace.from_steps(steps), data["trace_hash"], [tuple(item) for item in data["outputs"]]


def _child_main() -> None:
    """Subprocess side: run the spec once, print the trace hash, the trace and the outputs as JSON."""
    parser = argparse.ArgumentParser(prog="python -m sim.harness.outputs")
    parser.add_argument("spec", help="the ScenarioSpec as JSON")
    parser.add_argument("--choices", default="null")
    args = parser.parse_args()
    from sim.harness.session import run_scenario

    spec = ScenarioSpec.from_json(json.loads(args.spec), "sim.harness.outputs")
    result = run_scenario(spec, schedule=json.loads(args.choices), trace=True)
    json.dump({"trace_hash": result.trace_hash, "trace": [step.to_json() for step in result.kernel_result.trace.steps],
               "outputs": output_items(result)}, sys.stdout)


if __name__ == "__main__":
    _child_main()
