"""Statement logs of whole simulated runs, the input of the differential tests."""

from __future__ import annotations

from typing import Any

from sim.harness.scenario import ScenarioSpec, run_scenario


def logged_run(spec: ScenarioSpec) -> tuple[Any, list[tuple[str, tuple[Any, ...]]]]:
    """Run ``spec`` and return its result and every statement its simulated database received."""
    result = run_scenario(spec, trace=False)
    assert result.statement_log, [v.message for v in result.violations]
    return result, [(entry.query, entry.args) for entry in result.statement_log]


QUESTDB_OPERATIONS = ("wal_tables()", "RESUME WAL", "SUSPEND WAL")
"""Operating QuestDB's WAL (the system's storage health check): PostgreSQL has no WAL tables,
so these are not part of what the two servers must agree on (docs/real-database.md)."""


def portable(statements: list[tuple[str, tuple[Any, ...]]]) -> list[tuple[str, tuple[Any, ...]]]:
    """The statements both servers are expected to answer alike."""
    return [(query, args) for query, args in statements
            if not any(operation in query.upper() or operation in query for operation in QUESTDB_OPERATIONS)]
