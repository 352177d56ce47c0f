"""``check(path)``: the whole static and schema check of one code base, as ``simwire check`` runs it.

1. Replay the migrations into the schema model (``contracts.migrations``: each bad statement is a finding).
2. Scan the source (``contracts.scanner``): sites plus the registry-free rules.
3. Cross-check the sites with the registry (payloads, handler reads, roles, services); with no
   registry, only the registry-independent cross-checks run (handler reads against what the
   code publishes, topics nobody publishes) and the report says so.
4. Run every SQL site through ``contracts.sqlcheck.check_statement`` with its argument count.
5. Check the registry's lineage and required columns against the schema.
6. Triage (``contracts.findings``): rules off in the configuration, per-path ignores, inline
   suppressions and the baseline's known findings are counted, not reported.

Nothing is imported from the code base; another system is checked by passing its path, its
registry, its migrations and its :class:`~contracts.config.Config`.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from contracts.baseline import new_findings
from contracts.config import BusConfig, Config, MigrationsConfig
from contracts.findings import Finding, Waived, triage
from contracts.migrations import parse_migrations
from contracts.registry import BusConventions, Registry
from contracts.scanner import ScanResult, registry_free_violations, registry_violations, scan
from contracts.scanner.model import violation_order
from contracts.schema import Schema
from contracts.sqlcheck import check_lineage, check_statement
from simwire.violation import Severity, Violation

NO_REGISTRY = Registry(name="(none)", modes=(), topics={})
"""Stands in where a registry is needed but none is configured (no topics, no requirements)."""


@dataclass(frozen=True)
class CheckReport:
    """The outcome of one check: the findings that count (``findings``), what was waived and
    why (``waived``), and ``notes`` on what was not checked.  ``scan`` is kept so callers can
    draw the wiring graph.  ``registry`` is None when only registry-independent rules ran."""

    findings: tuple[Finding, ...]
    files: int
    seconds: float
    scan: ScanResult
    registry: str | None = None
    waived: Waived = field(default_factory=Waived)
    notes: tuple[str, ...] = ()

    @property
    def violations(self) -> tuple[Violation, ...]:
        return tuple(f.violation for f in self.findings)

    @property
    def errors(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.severity is Severity.ERROR)

    def to_json(self) -> dict[str, Any]:
        """The stable JSON form (``--format json``): keys are only ever added."""
        return {"version": 1, "tool": "simwire", "registry": self.registry, "notes": list(self.notes),
                "violations": [f.to_json() for f in self.findings], "files": self.files,
                "seconds": round(self.seconds, 3),
                "waived": {"suppressed": self.waived.suppressed, "configured": self.waived.configured,
                           "baselined": self.waived.baselined}}


def check(path: Path | str, registry: Registry | None, migrations: Path | str | MigrationsConfig | None = None, *,
          callers: tuple[Path | str, ...] = (), config: Config | None = None,
          baseline: Counter[str] | None = None) -> CheckReport:
    """Check the code under ``path`` against ``registry`` (None: registry-independent rules
    only) and the migrations (a directory, a :class:`MigrationsConfig`, or by default
    ``<path>/migrations`` when it exists).  ``callers`` are entry-point directories whose
    calls to factories count (see :func:`contracts.scanner.scan`).  ``config`` supplies the
    scanned ``paths`` (below ``path``), ports, bus names and what is waived; ``baseline`` the
    known fingerprints.  Findings are sorted by location, then rule."""
    started = time.perf_counter()
    root = Path(path)
    config = config or Config(root=root.resolve())
    notes: list[str] = []
    if registry is None:
        notes.append("no registry configured: only registry-independent rules ran "
                     "(set `registry` in [tool.simwire] or pass --registry)")
    judged_by = registry or NO_REGISTRY
    schema, found = _schema(_migrations_config(root, migrations), notes)
    result = scan_code(root, registry, config, callers)
    found += result.violations
    found += registry_violations(result, registry) if registry is not None else registry_free_violations(result)
    if schema is not None:
        found += check_lineage(judged_by, schema)
        for site in result.sql:
            if site.sql is not None:
                found += check_statement(site.sql, schema, judged_by, location=site.location,
                                         arg_count=site.arg_count)
    ordered = tuple(sorted(_unique(found), key=violation_order))
    findings, waived = triage(ordered, config, root)
    if baseline is not None:
        findings, known = new_findings(findings, baseline)
        waived = replace(waived, baselined=known)
    return CheckReport(tuple(findings), result.files, time.perf_counter() - started, result,
                       registry.name if registry is not None else None, waived, tuple(notes))


def scan_code(root: Path, registry: Registry | None, config: Config,
              callers: tuple[Path | str, ...] = ()) -> ScanResult:
    """The scan ``check`` runs (also what ``simwire wiring`` draws): the configured paths below
    ``root``, ports and bus names, the registry's services and conventions."""
    judged_by = registry or NO_REGISTRY
    return scan(root, _conventions(judged_by.conventions, config.bus), services=judged_by.services,
                callers=callers or config.callers, ports=config.ports, include=_include(root, config))


def _conventions(base: BusConventions, bus: BusConfig) -> BusConventions:
    """The registry's conventions with the configuration's bus names in their place."""
    return BusConventions(
        publish=bus.publish or base.publish, subscribe=bus.subscribe or base.subscribe,
        unsubscribe=bus.unsubscribe or base.unsubscribe, db_methods=base.db_methods,
        topic_constants=bus.topic_constants or base.topic_constants,
    )


def _include(root: Path, config: Config) -> tuple[str, ...]:
    """The configured ``paths`` relative to the scan root (empty: everything under it)."""
    resolved = root.resolve()
    include = []
    for path in config.paths:
        try:
            include.append(path.resolve().relative_to(resolved).as_posix())
        except ValueError:
            continue
    return tuple(include)


def _migrations_config(root: Path, migrations: Path | str | MigrationsConfig | None) -> MigrationsConfig | None:
    if isinstance(migrations, MigrationsConfig):
        return migrations
    if migrations is not None:
        return MigrationsConfig(paths=(Path(migrations),))
    default = root / "migrations"
    return MigrationsConfig(paths=(default,)) if default.is_dir() else None


def _schema(migrations: MigrationsConfig | None, notes: list[str]) -> tuple[Schema | None, list[Violation]]:
    if migrations is None:
        notes.append("no migrations: SQL statements were not checked against a schema "
                     "(set [tool.simwire.migrations] paths or pass --migrations)")
        return None, []
    # Every statement is applied or reported with file:line; one bad statement hides nothing,
    # so the SQL is still checked against what the rest built (contracts/migrations.py).
    return parse_migrations(list(migrations.paths), dialect=migrations.dialect,
                            exclude=migrations.exclude, order=migrations.order)


def _unique(found: list[Violation]) -> list[Violation]:
    """One finding per (rule, location, message): a statement used twice is reported once."""
    seen: dict[tuple[str, str, str], Violation] = {}
    for item in found:
        seen.setdefault((item.rule, item.location, item.message), item)
    return list(seen.values())
