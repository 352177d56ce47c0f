"""The host's time zone reached by a conversion: part of ``static.nondeterminism-source``.

A naive conversion gives the same answer as UTC on a UTC host and a different one anywhere
else: ``datetime.fromtimestamp(t)`` without ``tz``, ``datetime.now()`` without ``tz``,
``time.localtime``/``time.mktime``, ``.astimezone()`` with no zone.  A system that passes
every test on a UTC CI machine then moves every order timestamp by hours under ``TZ=Asia/Kolkata``
(and ``simwire determinism`` varies ``TZ`` to catch what this scan cannot see, such as
``.timestamp()`` of a naive datetime).

Unlike the wall-clock uses, these are findings in the adapters too: a Clock adapter may read
the wall clock, but never in local time.
"""

from __future__ import annotations

import ast

from contracts.config import glob_match
from contracts.scanner.determinism import _finding, _qualified
from contracts.scanner.source import CodeBase, SourceFile
from simwire.violation import Violation

_LOCAL = "the host's time zone (pass tz=UTC, or use calendar.timegm / time.gmtime)"

ZONE_ARGUMENT: dict[str, int] = {
    "datetime.datetime.fromtimestamp": 1, "datetime.datetime.now": 0, "datetime.date.fromtimestamp": 99,
}
"""Calls that convert in local time unless given a zone: the zone's positional index (99: never)."""
ALWAYS_LOCAL = ("time.localtime", "time.mktime", "time.ctime", "datetime.datetime.today", "datetime.date.today")
"""Calls that always convert in local time."""


def local_time_uses(code: CodeBase, ports: tuple[str, ...]) -> list[Violation]:
    """Every conversion through the host's time zone.  Outside the ports (files matching a
    ``ports`` glob) a ``datetime.now()`` is already a wall-clock finding, so it is reported once."""
    found: list[Violation] = []
    for source in code.files:
        in_adapters = any(glob_match(pattern, source.rel) for pattern in ports)
        for node in source.nodes:
            if isinstance(node, ast.Call):
                found += _local(source, node, report_wall_clock=in_adapters)
    return found


def _local(source: SourceFile, call: ast.Call, *, report_wall_clock: bool) -> list[Violation]:
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "astimezone" and not call.args and not call.keywords:
        return [_finding(source, call, ".astimezone() without a zone", _LOCAL)]
    if not isinstance(func, ast.Name | ast.Attribute):
        return []
    qualified = _qualified(source, func)
    if qualified is None:
        return []
    wall_clock = qualified in ("datetime.datetime.now", "datetime.datetime.today", "datetime.date.today",
                               "time.localtime", "time.ctime")
    if wall_clock and not report_wall_clock:
        return []  # already a wall-clock finding of this file
    if qualified in ALWAYS_LOCAL:
        return [_finding(source, call, qualified, _LOCAL)]
    index = ZONE_ARGUMENT.get(qualified)
    if index is None:
        return []
    zoned = len(call.args) > index or any(k.arg == "tz" for k in call.keywords)
    return [] if zoned else [_finding(source, call, f"{qualified} without tz", _LOCAL)]
