"""``check(path)``: the whole static and schema check of one code base, as ``simwire check`` runs it.

1. Parse the migrations into the schema model (a broken migration is ``schema.migration-error``).
2. Scan the source (``contracts.scanner``): sites plus the registry-free rules.
3. Cross-check the sites with the registry (payloads, handler reads, roles, services).
4. Run every SQL site through ``contracts.sqlcheck.check_statement`` with its argument count.
5. Check the registry's lineage and required columns against the schema.

Nothing is imported from the code base; another system is checked by passing its path, its
registry and its migrations.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.registry import Registry
from contracts.rules import violation
from contracts.scanner import ScanResult, registry_violations, scan
from contracts.scanner.model import violation_order
from contracts.schema import MigrationError, Schema, parse_migrations
from contracts.sqlcheck import check_lineage, check_statement
from simwire.violation import Severity, Violation


@dataclass(frozen=True)
class CheckReport:
    """The outcome of one check.  ``scan`` is kept so callers can draw the wiring graph."""

    violations: tuple[Violation, ...]
    files: int
    seconds: float
    scan: ScanResult

    @property
    def errors(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.severity is Severity.ERROR)

    def to_json(self) -> dict[str, Any]:
        return {"violations": [v.to_json() for v in self.violations], "files": self.files,
                "seconds": round(self.seconds, 3)}


def check(path: Path | str, registry: Registry, migrations: Path | str | None = None, *,
          callers: tuple[Path | str, ...] = ()) -> CheckReport:
    """Check the code under ``path`` against ``registry`` and the migrations (default
    ``<path>/migrations``).  ``callers`` are entry-point directories whose calls to factories
    count (see :func:`contracts.scanner.scan`).  Findings are sorted by location, then rule."""
    started = time.perf_counter()
    root = Path(path)
    schema, found = _schema(Path(migrations) if migrations is not None else root / "migrations")
    result = scan(root, registry.conventions, services=registry.services, callers=callers)
    found += result.violations
    found += registry_violations(result, registry)
    if schema is not None:
        found += check_lineage(registry, schema)
        for site in result.sql:
            if site.sql is not None:
                found += check_statement(site.sql, schema, registry, location=site.location,
                                         arg_count=site.arg_count)
    ordered = tuple(sorted(_unique(found), key=violation_order))
    return CheckReport(ordered, result.files, time.perf_counter() - started, result)


def _schema(directory: Path) -> tuple[Schema | None, list[Violation]]:
    try:
        return parse_migrations(directory), []
    except MigrationError as error:
        return None, [violation(
            "schema.migration-error", "the migrations cannot be applied, so no SQL was checked",
            location=f"{error.file}:{error.line}", expected=error.expected, seen=error.seen,
        )]


def _unique(found: list[Violation]) -> list[Violation]:
    """One finding per (rule, location, message): a statement used twice is reported once."""
    seen: dict[tuple[str, str, str], Violation] = {}
    for item in found:
        seen.setdefault((item.rule, item.location, item.message), item)
    return list(seen.values())
