"""tally as a simwire target: ``simwire run --target examples.tally.target:TARGET``.

Everything simwire needs to know of tally is here: how to build it from the world's ports,
how to drive one session, which tables hold its record and what must hold at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from examples.tally.app import TOTAL_EVERY, TallyService
from sim.harness.targets import BaseTarget, Ports, SessionRecord
from simwire.violation import Violation

PERIOD = 60.0
"""Seconds between two readings of a meter."""


class TallySystem:
    """Adapts the service to the driver's start -> run -> stop (``sim.harness.targets.System``)."""

    def __init__(self, service: TallyService, seconds: float) -> None:
        self.service, self.seconds, self.bus = service, seconds, service.bus

    async def start(self) -> None:
        self.service.start()

    async def run(self) -> None:
        await self.service.run_for(self.seconds)

    async def stop(self) -> None:
        self.service.stop()

    async def facts(self) -> dict[str, Any]:
        return {"totals": dict(self.service.aggregator.totals)}

    def row_scope(self) -> None:
        return None

    async def close(self) -> None:
        return None


class TallyTarget(BaseTarget):
    name = "tally"
    modes = ("backtest",)
    tables = ("readings", "totals")

    def migrations(self) -> Path:
        return Path(__file__).parent / "migrations"

    def registry(self) -> Any:
        from examples.tally.registry import REGISTRY

        return REGISTRY

    async def build(self, ports: Ports) -> TallySystem:
        spec = ports.spec
        service = TallyService(clock=ports.clock, ids=ports.ids, random=ports.random, database=ports.database,
                               meters=spec.symbols, period=PERIOD * spec.tick_seconds)
        return TallySystem(service, spec.hours * 3600)

    def judge(self, record: SessionRecord) -> list[Violation]:
        """The generic oracles, plus tally's own: every reading stored once, totals add up."""
        found = super().judge(record)
        readings = record.recorder.of("reading")
        stored = {row["reading_id"] for row in record.tables.get("readings", [])}
        lost = [str(r.get("reading_id")) for r in readings if r.get("reading_id") not in stored]
        if lost or len(record.tables.get("readings", [])) != len(readings):
            found.append(Violation("oracle.not-persisted", f"{len(lost)} of {len(readings)} readings have no row "
                                   f"(rows: {len(record.tables.get('readings', []))})", location=record.location,
                                   expected="one row per published reading", seen=", ".join(lost[:3])))
        by_meter: dict[str, list[float]] = {}
        for reading in readings:
            by_meter.setdefault(reading.get("meter"), []).append(reading.get("value") or 0.0)
        for meter, (count, total) in sorted(record.facts.get("totals", {}).items()):
            values = by_meter.get(meter, [])
            if count != len(values) or abs(total - sum(values)) > 1e-3:
                found.append(Violation("oracle.accounting", f"meter {meter}: total {total} over {count} readings, "
                                       f"but {len(values)} readings sum to {sum(values):.6f}",
                                       location=record.location, expected="totals add up the readings",
                                       seen=f"{count} / {total}"))
        expected_totals = sum(len(v) // TOTAL_EVERY for v in by_meter.values())
        if len(record.tables.get("totals", [])) != expected_totals:
            found.append(Violation("oracle.not-persisted", f"{len(record.tables.get('totals', []))} total rows, "
                                   f"expected {expected_totals}", location=record.location,
                                   expected=f"one row every {TOTAL_EVERY} readings per meter",
                                   seen=str(len(record.tables.get("totals", [])))))
        return found


TARGET = TallyTarget()
