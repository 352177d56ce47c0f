"""The results file of an exploration: one JSON line per finished run, written as it finishes.

Streaming (not a report at the end) is what makes an exploration safe to stop: a CI job that
is cancelled, or a laptop that sleeps, keeps every finished seed, and ``--resume FILE`` runs
only the rest.  Each line is :meth:`sim.harness.explore.SeedOutcome.to_line`; a partial last line (the
process killed mid-write) is ignored on resume, anything else malformed is an error naming
the line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from sim.harness.explore import SeedOutcome
from sim.harness.scenario import ScenarioSpec


class ResultsFileError(ValueError):
    """A results file that cannot be resumed from; the message names the file and line."""


class ResultsWriter:
    """Appends one line per outcome and flushes it, so a killed process loses at most one line."""

    def __init__(self, path: Path) -> None:
        _drop_partial_last_line(path)
        self._file: IO[str] = path.open("a", encoding="utf-8")

    def write(self, outcome: SeedOutcome) -> None:
        self._file.write(json.dumps(outcome.to_line(), sort_keys=True) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def _drop_partial_last_line(path: Path) -> None:
    """A line cut by a kill mid-write would glue itself to the next line appended."""
    if not path.is_file():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as file:
            file.truncate(data.rfind(b"\n") + 1)


def read_results(path: Path, specs: list[ScenarioSpec]) -> list[SeedOutcome]:
    """The outcomes recorded in ``path`` for runs of ``specs`` (the plan being resumed).

    A recorded run of the plan's (seed, kernel) made with other options is refused: resuming
    it would mix two explorations in one report.  Runs outside the plan are ignored (a
    results file may hold a larger range).  A missing file resumes nothing."""
    if not path.exists():
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise ResultsFileError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except OSError as error:
        raise ResultsFileError(f"{path}: cannot read ({error.strerror})") from None
    planned = {(s.seed, s.kernel): s for s in specs}
    found: dict[tuple[int, str], SeedOutcome] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            outcome = SeedOutcome.from_line(json.loads(line))
        except json.JSONDecodeError:
            if number == len(lines):
                break  # cut short by a kill mid-write: that run is simply run again
            raise ResultsFileError(f"{path}:{number}: not a JSON line") from None
        except (KeyError, TypeError, ValueError) as error:
            raise ResultsFileError(f"{path}:{number}: not a simwire explore result ({error})") from None
        spec = planned.get(outcome.key)
        if spec is None:
            continue
        if spec != outcome.spec:
            raise ResultsFileError(
                f"{path}:{number}: seed {outcome.spec.seed} ({outcome.spec.kernel}) was explored with other "
                f"options ({outcome.spec.repro()}); resume with the same options, or use another file")
        found[outcome.key] = outcome
    return list(found.values())
