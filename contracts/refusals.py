"""Refusals nobody injected: the exchange or the database said no, and the fault plan did not.

The simulators know which refusals they injected (a fault plan's ``reject_rate``, ``error_rate``,
rate-limit faults); they record every *other* refusal as a :class:`Refusal`.  Such a refusal is
the system sending something wrong — a broken signature makes the exchange answer 602 to every
request, an order outside the contract's limits gets 600 — and a run where every order was
refused can otherwise look clean (no fills, nothing to disagree about).

Answers are not refusals: "order not found" to a lookup, a per-order error in a batch cancel
of an order that already completed (a race the system must handle), are the exchange
reporting facts.  What a simulator counts is its own decision; this module only judges.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from contracts.rules import violation
from simwire.violation import Violation


@dataclass(frozen=True)
class Refusal:
    """One refusal the fault plan did not inject: where, which request, the code and message."""

    site: str
    request: str
    code: str
    message: str
    at: str = ""


def uninjected_refusals(refusals: Iterable[Refusal]) -> list[Violation]:
    """One ``oracle.uninjected-refusal`` per (site, request, code), with the count and the first."""
    groups: dict[tuple[str, str, str], list[Refusal]] = {}
    for refusal in refusals:
        groups.setdefault((refusal.site, refusal.request, refusal.code), []).append(refusal)
    found = []
    for (site, request, code), group in groups.items():
        first = group[0]
        times = "" if len(group) == 1 else f" ({len(group)} times)"
        found.append(violation(
            "oracle.uninjected-refusal", f"the {site} refused {request} with {code}{times}, and the fault plan "
            "injected no such refusal", location=f"{site} {request}" + (f" at {first.at}" if first.at else ""),
            expected="every refusal injected by the fault plan", seen=f"{code}: {first.message}",
            count=len(group), site=site, code=code))
    return found
