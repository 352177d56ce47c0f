"""Behaviour snapshots: a run's event stream and final tables as compact, reviewable text.

The oracles judge whether a run is *consistent*; they cannot tell that the system now trades
differently (another fee, one more sample in an indicator window, signals in another order).
A snapshot pins a fixed seed's behaviour: one line per event with its scalar fields, and the
trading tables as compact rows.  A change of strategy semantics, fees or sequencing then shows
as a diff in review, where a person accepts it (``pytest --snapshot-update``, or
``simwire run ... --write-snapshot FILE``) or rejects it.

Independent of wall time, machine, ``TZ`` and ``PYTHONHASHSEED``: only event time (rendered
in UTC) and the run's own seeded ids appear, floats are printed to 10 significant digits,
fields are sorted by name, and long values (JSON documents such as a session's config) are
replaced by a short digest so a change still shows without flooding the diff.
"""

from __future__ import annotations

import difflib
import hashlib
import shlex
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from system import topics

HEADER = "# simwire behaviour snapshot"
LONG_VALUE = 60
"""Characters above which a value is shown as its digest."""
_SKIPPED_TOPICS = frozenset({topics.MARKET_PRICE_UPDATE, topics.INDICATOR_UPDATED})
"""Per-tick topics: their effect shows in the signals and marks they cause."""


def render(spec: Any, events: Iterable[tuple[str, Mapping[str, Any]]],
           tables: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    """The snapshot text of one run (``spec``: its ScenarioSpec, for the header)."""
    lines = [f"{HEADER} of: {_describe(spec)}", "## events"]
    lines += [_event_line(topic, payload) for topic, payload in events if topic not in _SKIPPED_TOPICS]
    lines.append("## tables")
    for name in sorted(tables):
        rows = tables[name]
        columns = sorted({column for row in rows for column in row})
        lines.append(f"{name} ({len(rows)} rows): {' | '.join(columns)}")
        lines += ["  " + " | ".join(_value(row.get(column)) for column in columns) for row in rows]
    return "\n".join(lines) + "\n"


def of_result(result: Any) -> str:
    """The snapshot of a ScenarioResult (``sim.scenario.run_scenario``)."""
    events = result.record.recorder.timeline if result.record is not None else []
    return render(result.spec, events, result.tables)


def diff(expected: str, seen: str, *, limit: int = 40, expected_name: str = "expected",
         seen_name: str = "this run") -> list[str]:
    """Unified diff lines (at most ``limit``, then a count of the rest); empty when equal."""
    if expected == seen:
        return []
    lines = list(difflib.unified_diff(expected.splitlines(), seen.splitlines(), expected_name, seen_name,
                                      lineterm="", n=1))
    if len(lines) > limit:
        lines = [*lines[:limit], f"... {len(lines) - limit} more diff lines"]
    return lines


def compare_file(path: Path | str, seen: str) -> dict[str, Any]:
    """``{"file", "matches", "diff"}`` of a run's snapshot against the committed ``path``.

    A missing or unreadable file is a usage error (``SnapshotError``), never a silent pass."""
    path = Path(path)
    try:
        expected = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SnapshotError(f"--expect-snapshot {path}: cannot read it ({error.strerror or error}); "
                            f"write one with --write-snapshot {path}") from None
    if not expected.startswith(HEADER):
        raise SnapshotError(f"--expect-snapshot {path}: not a simwire behaviour snapshot "
                            f"(first line should start with {HEADER!r})")
    lines = diff(expected, seen, expected_name=str(path))
    return {"file": str(path), "matches": not lines, "diff": lines}


def write_file(path: Path | str, text: str) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise SnapshotError(f"--write-snapshot {path}: cannot write it ({error.strerror or error})") from None


class SnapshotError(ValueError):
    """A snapshot file that cannot be read, written or recognised; the message names the file."""


# --- rendering ------------------------------------------------------------------------------------


def _describe(spec: Any) -> str:
    """The command that reproduces the run: the header says how to regenerate the file."""
    return spec.repro()


def _event_line(topic: str, payload: Mapping[str, Any]) -> str:
    timestamp = payload.get("timestamp")
    when = _time(timestamp) if isinstance(timestamp, int | float) and not isinstance(timestamp, bool) else "-"
    fields = " ".join(f"{key}={_value(value)}" for key, value in sorted(payload.items())
                      if key != "timestamp" and not isinstance(value, Mapping | list | tuple))
    return f"{when} {topic} {fields}"


def _time(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat()
    text = str(value)
    if len(text) > LONG_VALUE or "\n" in text:
        return f"#{hashlib.sha256(text.encode()).hexdigest()[:10]}"
    return text


# --- the `simwire run` options ---------------------------------------------------------------------


def add_options(parser: Any) -> None:
    """``--expect-snapshot FILE`` / ``--write-snapshot FILE`` of ``simwire run``."""
    parser.add_argument("--expect-snapshot", metavar="FILE",
                        help="compare the run's behaviour snapshot (events and final tables, see README) with "
                             "FILE; a difference fails the run (exit 1) and prints the diff")
    parser.add_argument("--write-snapshot", metavar="FILE",
                        help="write the run's behaviour snapshot to FILE (accept a change of behaviour)")


def check_options(args: Any, result: Any) -> dict[str, Any] | None:
    """Apply the snapshot options to a finished run: ``None`` when neither was given, else
    ``{"file", "matches", "diff"}`` (``written`` instead of a comparison for --write-snapshot)."""
    expect, write = getattr(args, "expect_snapshot", None), getattr(args, "write_snapshot", None)
    if not expect and not write:
        return None
    text = of_result(result)
    if write:
        write_file(write, text)
        if not expect:
            return {"file": str(write), "matches": True, "diff": [], "written": True}
    return compare_file(expect, text)


def print_outcome(compared: dict[str, Any] | None) -> None:
    """One line (and the diff) for the text report of ``simwire run``."""
    if compared is None:
        return
    if compared.get("written"):
        print(f"behaviour snapshot written to {compared['file']}")
    elif compared["matches"]:
        print(f"behaviour snapshot: same as {compared['file']}")
    else:
        print(f"behaviour snapshot DIFFERS from {compared['file']} (accept with --write-snapshot "
              f"{compared['file']} if intended):")
        for line in compared["diff"]:
            print(f"  {line}")


# --- regenerating committed snapshot files -----------------------------------------------------------


def command_of(path: Path | str) -> list[str]:
    """The ``simwire run`` arguments recorded in a snapshot file's header."""
    path = Path(path)
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    prefix = f"{HEADER} of: simwire run "
    if not first.startswith(prefix):
        raise SnapshotError(f"{path}: first line is not {prefix!r}...")
    return shlex.split(first[len(prefix):])


def update(paths: Sequence[Path | str]) -> int:
    """Re-run each file's recorded command and write its snapshot again (after an intended change,
    e.g. new per-seed sub-seeds).  Returns the number of files whose content changed."""
    changed = 0
    for path in map(Path, paths):
        before = path.read_text(encoding="utf-8")
        command = [sys.executable, "-m", "sim", "run", *command_of(path), "--write-snapshot", str(path)]
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SnapshotError(f"{path}: {' '.join(command[2:])} exited {proc.returncode}: "
                                f"{(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
        changed += path.read_text(encoding="utf-8") != before
    return changed


if __name__ == "__main__":  # python -m sim.harness.snapshot FILE... : regenerate committed snapshot files
    files = sys.argv[1:]
    if not files:
        sys.exit("usage: python -m sim.harness.snapshot FILE...  (re-runs each file's header command)")
    try:
        print(f"{update(files)} of {len(files)} snapshot file(s) changed")
    except (SnapshotError, OSError) as error:
        sys.exit(f"python -m sim.harness.snapshot: {error}")
