"""The baseline: the findings a code base had when it adopted simwire, by fingerprint.

``simwire check --baseline FILE --baseline-write`` records today's findings; afterwards
``simwire check --baseline FILE`` fails only on findings that are not in it.  Entries are
counted per fingerprint (two identical un-awaited calls in one function are two findings with
one fingerprint), so a third copy is new although its fingerprint is known.  The file is
sorted JSON with the rule, file, symbol and message beside each fingerprint, so a review can
read what was accepted.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from contracts.findings import Finding

VERSION = 1


class BaselineError(ValueError):
    """A baseline file that cannot be read; the message names the file."""


def write_baseline(path: Path, findings: list[Finding]) -> None:
    counts = Counter(f.fingerprint for f in findings)
    first: dict[str, Finding] = {}
    for finding in findings:
        first.setdefault(finding.fingerprint, finding)
    entries = [
        {"fingerprint": fp, "count": counts[fp], "rule": f.violation.rule, "file": f.file, "symbol": f.symbol,
         "message": f.violation.message}
        for fp, f in sorted(first.items(), key=lambda item: (item[1].file, item[1].violation.rule, item[0]))
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": VERSION, "tool": "simwire", "findings": entries}, indent=2) + "\n")


def read_baseline(path: Path) -> Counter[str]:
    """Fingerprint -> how many findings with it are known."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != VERSION:
            raise BaselineError(f"baseline {path}: version {data.get('version')!r}, expected {VERSION}")
        return Counter({entry["fingerprint"]: int(entry.get("count", 1)) for entry in data["findings"]})
    except FileNotFoundError:
        raise BaselineError(f"baseline {path}: no such file (create it with --baseline-write)") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        if isinstance(error, BaselineError):
            raise
        raise BaselineError(f"baseline {path}: not a simwire baseline ({error})") from None


def new_findings(findings: list[Finding], known: Counter[str]) -> tuple[list[Finding], int]:
    """The findings beyond the baseline's counts, and how many were known."""
    remaining = Counter(known)
    new: list[Finding] = []
    for finding in findings:
        if remaining[finding.fingerprint] > 0:
            remaining[finding.fingerprint] -= 1
        else:
            new.append(finding)
    return new, len(findings) - len(new)
