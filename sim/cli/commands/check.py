"""``simwire check``: the static and schema contract check of a code base (default: ``system/``).

Exit 0 when no error-severity finding (warnings are printed, not failed), 1 when there are
errors, 2 on usage errors (bad flag, missing directory, registry that cannot be loaded).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.registry import Registry, RegistryError, load_registry

USAGE = 2


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check publishers, subscribers, SQL and migrations against the contracts",
        description="Scan a code base's source (never importing it) and check it against an event registry "
                    "and its migrations: payload fields, handler reads, required consumers, factories, "
                    "un-awaited coroutines, lock order, every SQL statement. Exit 0 clean, 1 violations, "
                    "2 usage errors. Rule ids are listed in docs/rules.md.",
    )
    add_target_options(parser)
    parser.add_argument("--migrations", type=Path, default=None,
                        help="directory of NNN_name.sql migrations (default: <path>/migrations)")
    parser.add_argument("--json", action="store_true",
                        help='print {"violations": [...], "files": n, "seconds": s} instead of text')
    parser.set_defaults(func=main)


@dataclass(frozen=True)
class Target:
    """What to scan: the code, its registry, and the entry-point code calling into it."""

    path: Path
    registry: Registry
    callers: tuple[Path, ...]


def add_target_options(parser: argparse.ArgumentParser) -> None:
    """``--path``, ``--registry`` and ``--callers``, shared with ``simwire wiring``."""
    parser.add_argument("--path", type=Path, default=None,
                        help="root of the code to scan (default: the installed `system` package)")
    parser.add_argument("--registry", default=None, metavar="SPEC",
                        help="'pkg.module:NAME' or 'path/to/file.py[:NAME]' (default: the trading registry)")
    parser.add_argument("--callers", type=Path, action="append", default=None, metavar="DIR",
                        help="entry-point code outside --path whose calls to create_* factories count as "
                             "calls (repeatable; default with no --path: the `sim` package, which starts "
                             "the trading system)")


def resolve_target(args: argparse.Namespace, command: str) -> Target | None:
    """The target named by the flags, or None after printing a usage error."""
    path = args.path if args.path is not None else package_path("system")
    if path is None or not path.is_dir():
        _usage(command, f"--path {path}: not a directory")
        return None
    callers = args.callers
    if callers is None:
        callers = [p for p in (package_path("sim"),) if p is not None] if args.path is None else []
    missing = [str(c) for c in callers if not c.is_dir()]
    if missing:
        _usage(command, f"--callers {', '.join(missing)}: not a directory")
        return None
    try:
        return Target(path, load_registry(args.registry), tuple(callers))
    except RegistryError as error:
        _usage(command, str(error))
        return None


def package_path(name: str) -> Path | None:
    """An installed package's directory, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def main(args: argparse.Namespace) -> int:
    from contracts.check import check
    from sim.cli.report import console, print_violations

    target = resolve_target(args, "check")
    if target is None:
        return USAGE
    migrations = args.migrations if args.migrations is not None else target.path / "migrations"
    if not migrations.is_dir():
        _usage("check", f"--migrations {migrations}: not a directory")
        return USAGE
    report = check(target.path, target.registry, migrations, callers=target.callers)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, sort_keys=True))
    else:
        print_violations(report.violations)
        warnings = len(report.violations) - len(report.errors)
        console.print(f"{len(report.errors)} error(s), {warnings} warning(s) in {report.files} files "
                      f"({report.seconds:.2f} s) — registry {target.registry.name}, path {target.path}",
                      markup=False,
                      style="bold red" if report.errors else "bold green")
    return 1 if report.errors else 0


def _usage(command: str, message: str) -> None:
    print(f"simwire {command}: error: {message}", file=sys.stderr)
