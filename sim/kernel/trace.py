"""The trace of a run: which task ran each step, where it then awaited, at what virtual time.

Kernels append raw ``(task index, code, f_lasti, time)`` tuples (cheap: no lines, no
strings on the hot path); :class:`Trace` turns them into :class:`TraceStep` rows on demand.
The trace hash is SHA-256 over the rendered rows, so it is stable across processes and
``PYTHONHASHSEED``.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import CodeType
from typing import Any

from sim.kernel.sites import format_suspension

RawStep = tuple[int, CodeType | None, int, float]
"""(task index into ``names``, code object of the await site or None, its ``f_lasti``,
virtual time)."""


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One task step: ``task`` ran, then was suspended at ``site`` (``<done>`` if it finished)."""

    index: int
    task: str
    site: str
    time: float

    def to_json(self) -> dict[str, Any]:
        return {"step": self.index, "task": self.task, "site": self.site, "time": self.time}


class Trace:
    """The steps of one run, with exports (JSON lines, Chrome/Perfetto, Mermaid)."""

    def __init__(self, names: list[str], raw: list[RawStep]) -> None:
        self.names = names
        self._raw = raw
        self._steps: list[TraceStep] | None = None

    @classmethod
    def from_steps(cls, steps: list[TraceStep]) -> Trace:
        """A trace read back from rendered steps (e.g. JSON lines from another process)."""
        names = list(dict.fromkeys(step.task for step in steps))
        trace = cls(names, [])
        trace._steps = steps
        return trace

    @property
    def steps(self) -> list[TraceStep]:
        if self._steps is None:
            sites: dict[tuple[CodeType | None, int], str] = {}
            names = self.names
            steps = []
            for index, (task, code, lasti, time) in enumerate(self._raw):
                key = (code, lasti)
                site = sites.get(key)
                if site is None:
                    site = sites[key] = format_suspension(code, lasti)
                steps.append(TraceStep(index, names[task], site, time))
            self._steps = steps
        return self._steps

    def __len__(self) -> int:
        return len(self.steps) if self._steps is not None else len(self._raw)

    def __iter__(self) -> Iterator[TraceStep]:
        return iter(self.steps)

    def hash(self, summary: str = "") -> str:
        """Hex SHA-256 of the steps (task, site, time) in order, then ``summary`` (the
        kernel adds what a trace-less run still has: choices, names, counts).

        Tasks and sites are numbered in order of first appearance and the columns hashed
        as packed arrays, with the name and site tables after them: the same content as
        the rendered rows, without formatting a string per step.
        """
        task_ids: dict[str, int] = {}
        site_ids: dict[str, int] = {}
        tasks, sites, times = array("q"), array("q"), array("d")
        for task, site, time in self._rows():
            task_id = task_ids.get(task)
            if task_id is None:
                task_id = task_ids[task] = len(task_ids)
            site_id = site_ids.get(site)
            if site_id is None:
                site_id = site_ids[site] = len(site_ids)
            tasks.append(task_id)
            sites.append(site_id)
            times.append(time)
        digest = hashlib.sha256()
        for column in (tasks, sites, times):
            digest.update(column.tobytes())
        digest.update("\n".join([*task_ids, "", *site_ids, "", summary]).encode())
        return digest.hexdigest()

    def _rows(self) -> Iterator[tuple[str, str, float]]:
        if self._steps is not None:
            for step in self._steps:
                yield step.task, step.site, step.time
            return
        names = self.names
        sites: dict[tuple[CodeType | None, int], str] = {}
        for task, code, lasti, time in self._raw:
            site = sites.get((code, lasti))
            if site is None:
                site = sites[(code, lasti)] = format_suspension(code, lasti)
            yield names[task], site, time

    def first_divergence(self, other: Trace) -> TraceStep | None:
        """The first step of ``self`` that differs from ``other`` (or the end of the shorter)."""
        mine, theirs = self.steps, other.steps
        for step, their in zip(mine, theirs, strict=False):
            if (step.task, step.site, step.time) != (their.task, their.site, their.time):
                return step
        if len(mine) > len(theirs):
            return mine[len(theirs)]
        if len(theirs) > len(mine):
            return TraceStep(len(mine), "<end of trace>", "<end of trace>", mine[-1].time if mine else 0.0)
        return None

    def to_jsonl(self) -> str:
        return "".join(json.dumps(step.to_json()) + "\n" for step in self.steps)

    def write_jsonl(self, path: str | Path) -> None:
        Path(path).write_text(self.to_jsonl())

    def to_chrome(self) -> dict[str, Any]:
        """Chrome/Perfetto trace JSON: one track per task, one instant event per step.

        Virtual seconds become microseconds on the timeline; open it in ui.perfetto.dev or
        chrome://tracing.
        """
        events: list[dict[str, Any]] = []
        for tid, name in enumerate(self.names):
            events.append({"ph": "M", "name": "thread_name", "pid": 1, "tid": tid, "args": {"name": name}})
        first: dict[str, float] = {}
        last: dict[str, float] = {}
        tids = {name: tid for tid, name in enumerate(self.names)}
        for step in self.steps:
            first.setdefault(step.task, step.time)
            last[step.task] = step.time
            events.append({
                "ph": "i", "s": "t", "name": step.site, "pid": 1, "tid": tids[step.task],
                "ts": step.time * 1e6, "args": {"step": step.index},
            })
        for name, start in first.items():
            events.append({
                "ph": "X", "name": name, "pid": 1, "tid": tids[name],
                "ts": start * 1e6, "dur": (last[name] - start) * 1e6,
            })
        return {"traceEvents": events, "displayTimeUnit": "ms"}

    def write_chrome(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_chrome()))

    def to_mermaid(self, *, limit: int = 200) -> str:
        """A Mermaid ``sequenceDiagram``: each step is a note on the task that ran it.

        An arrow marks each switch from one task to another, so the interleaving reads top
        to bottom; only the first ``limit`` steps are drawn.
        """
        steps = self.steps[:limit]
        aliases: dict[str, str] = {}
        lines = ["sequenceDiagram"]
        for step in steps:
            if step.task not in aliases:
                aliases[step.task] = f"T{len(aliases)}"
                lines.append(f"    participant {aliases[step.task]} as {_mermaid_text(step.task)}")
        previous: str | None = None
        for step in steps:
            alias = aliases[step.task]
            if previous is not None and previous != alias:
                lines.append(f"    {previous}->>{alias}: switch")
            lines.append(f"    Note over {alias}: #{step.index} t={step.time:g} awaits {_mermaid_text(step.site)}")
            previous = alias
        if len(self.steps) > limit:
            lines.append(f"    Note over T0: ... {len(self.steps) - limit} more steps")
        return "\n".join(lines) + "\n"


class RecoveredTrace(Trace):
    """The trace of a lean run, recovered on first use by replaying the run's schedule with
    the trace on (determinism makes the replay exact; ``recover`` checks it)."""

    def __init__(self, recover: Callable[[], Trace]) -> None:
        self._recover: Callable[[], Trace] | None = recover

    def __getattr__(self, name: str) -> Any:
        if name in ("names", "_raw", "_steps") and self.__dict__.get("_recover") is not None:
            recover = self._recover
            self._recover = None
            assert recover is not None
            full = recover()
            self.names, self._raw, self._steps = full.names, full._raw, full._steps
            return getattr(self, name)
        raise AttributeError(name)


def coverage_of(names: list[str], raw: list[RawStep]) -> frozenset[int]:
    """Ordered pairs of (task, await site) for every two consecutive steps of different
    tasks, as stable 32-bit hashes (CRC-32 of the rendered pair: the same across processes
    and ``PYTHONHASHSEED``).  Task names drop their ``#n`` counter, so the pair "a handler
    ran right after the feed at this await" counts once however many handlers exist."""
    sites: dict[tuple[CodeType | None, int], str] = {}
    pairs: set[tuple[int, CodeType | None, int, int, CodeType | None, int]] = set()
    previous: tuple[int, CodeType | None, int] | None = None
    for task, code, lasti, _ in raw:
        if previous is not None and previous[0] != task:
            pairs.add((*previous, task, code, lasti))
        previous = (task, code, lasti)
    labels = [name.rsplit("#", 1)[0] for name in names]
    found = set()
    for task_a, code_a, lasti_a, task_b, code_b, lasti_b in pairs:
        rendered = []
        for task, code, lasti in ((task_a, code_a, lasti_a), (task_b, code_b, lasti_b)):
            site = sites.get((code, lasti))
            if site is None:
                site = sites[(code, lasti)] = format_suspension(code, lasti)
            rendered.append(f"{labels[task]}@{site}")
        found.add(zlib.crc32("->".join(rendered).encode()))
    return frozenset(found)


def _mermaid_text(text: str) -> str:
    """Mermaid ends a message at ``;`` (and ``#...;`` is an entity); keep labels literal."""
    return text.replace(";", ",")
