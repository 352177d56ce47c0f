"""``simwire check``: the static and schema contract check of a code base (default: ``system/``).

Exit 0 when no error-severity finding (warnings are printed, not failed), 1 when there are
errors, 2 on usage errors (bad flag, missing directory, registry or configuration that cannot
be loaded).  The project configuration (``[tool.simwire]``, see contracts/config.py) supplies
every default a flag can override.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from contracts.config import Config, ConfigError, MigrationsConfig, find_config, load_config
from contracts.registry import Registry, RegistryError, load_registry
from contracts.scanner.model import ScanResult

USAGE = 2
FORMATS = ("text", "json", "sarif")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check publishers, subscribers, SQL and migrations against the contracts",
        description="Scan a code base's source (never importing it) and check it against an event registry "
                    "and its migrations: payload fields, handler reads, required consumers, factories, "
                    "un-awaited coroutines, lock order, every SQL statement. Settings come from [tool.simwire] "
                    "in pyproject.toml (or --config FILE); flags override them. Exit 0 clean, 1 violations, "
                    "2 usage errors. Rule ids are listed in docs/rules.md.",
    )
    add_target_options(parser)
    parser.add_argument("--migrations", type=Path, default=None, metavar="DIR",
                        help="directory of NNN_name.sql migrations (default: [tool.simwire.migrations] paths, "
                             "else <path>/migrations when it exists)")
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="text (default), json (stable: keys are only added) or sarif (SARIF 2.1.0 for "
                             "code-review tools)")
    parser.add_argument("--json", action="store_true", help="the same as --format json")
    parser.add_argument("--baseline", type=Path, default=None, metavar="FILE",
                        help="known findings by fingerprint: only findings not in FILE are reported "
                             "(default: `baseline` in [tool.simwire])")
    parser.add_argument("--baseline-write", action="store_true",
                        help="record today's findings in the baseline file and exit 0")
    parser.set_defaults(func=main)


@dataclass(frozen=True)
class Target:
    """What to scan: the scan root, its registry (``judged`` False: none was configured and
    ``registry`` is an empty stand-in), the entry-point code calling into it, the migrations
    and the project configuration."""

    path: Path
    registry: Registry
    callers: tuple[Path, ...]
    config: Config
    judged: bool = True
    migrations: MigrationsConfig | None = None

    def scan(self) -> ScanResult:
        """The scan ``simwire check`` runs on this target (configured paths, ports, bus names)."""
        from contracts.check import scan_code

        return scan_code(self.path, self.registry if self.judged else None, self.config, self.callers)


def add_target_options(parser: argparse.ArgumentParser) -> None:
    """``--path``, ``--registry``, ``--callers`` and ``--config``, shared with ``simwire wiring``."""
    parser.add_argument("--path", type=Path, default=None,
                        help="the code to scan (default: `paths` of [tool.simwire], else the installed `system` "
                             "package)")
    parser.add_argument("--registry", default=None, metavar="SPEC",
                        help="'pkg.module:NAME' or 'path/to/file.py[:NAME]' (default: `registry` of "
                             "[tool.simwire]; the trading registry for `system`; none elsewhere, and then "
                             "only registry-independent rules run)")
    parser.add_argument("--callers", type=Path, action="append", default=None, metavar="DIR",
                        help="entry-point code outside --path whose calls to create_* factories count as "
                             "calls (repeatable; default: `callers` of [tool.simwire]; in this repository "
                             "the `sim` package, which starts the trading system)")
    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help="a pyproject.toml with [tool.simwire], or a simwire.toml (default: found by walking "
                             "up from --path or the current directory)")


def resolve_target(args: argparse.Namespace, command: str) -> Target | None:
    """The target named by the flags and the configuration, or None after a usage error."""
    try:
        config_file = args.config if args.config is not None else find_config(args.path or Path.cwd())
        config = load_config(config_file, default_root=args.path)
    except ConfigError as error:
        _usage(command, str(error))
        return None
    if args.path is not None and not args.path.is_dir():
        _usage(command, f"--path {args.path}: not a directory")
        return None
    configured = config.source is not None
    if configured:
        root = config.root
        if args.path is not None:
            if not _inside(args.path, root):
                _usage(command, f"--path {args.path}: outside the project of {config.source}")
                return None
            config = replace(config, paths=(args.path.resolve(),))
        missing = [str(p) for p in config.paths if not p.exists()]
        if missing:
            _usage(command, f"{config.source}: paths {', '.join(missing)} do not exist")
            return None
    else:
        root = args.path if args.path is not None else package_path("system")
        if root is None or not root.is_dir():
            _usage(command, f"--path {root}: not a directory")
            return None
    # This repository's own system (no configuration, `--path` absent or naming the installed
    # `system` package) keeps its defaults: the trading registry and `sim` as the caller.
    system = package_path("system")
    in_repository = not configured and (args.path is None or (system is not None and _same(args.path, system)))
    callers = args.callers if args.callers is not None else list(config.callers)
    if not callers and in_repository:
        callers = [p for p in (package_path("sim"),) if p is not None]
    missing = [str(c) for c in callers if not c.is_dir()]
    if missing:
        _usage(command, f"--callers {', '.join(missing)}: not a directory")
        return None
    spec = args.registry or config.registry
    try:
        if spec is None and not in_repository:
            from contracts.check import NO_REGISTRY

            return Target(root, NO_REGISTRY, tuple(callers), config, judged=False, migrations=config.migrations)
        registry = _load_registry(spec, config.root if configured else None)
    except RegistryError as error:
        _usage(command, str(error))
        return None
    return Target(root, registry, tuple(callers), config, migrations=config.migrations)


def _load_registry(spec: str | None, project: Path | None) -> Registry:
    """Load the registry; a ``module:attr`` of the project is imported from the project's
    directory, as ``python -m`` would from there."""
    if project is not None and spec is not None:
        spec = _project_file_spec(spec, project)
        sys.path.insert(0, str(project))
    try:
        return load_registry(spec)
    except RegistryError:
        raise
    except Exception as error:   # the user's module itself failed: say where, not a traceback
        raise RegistryError(f"registry spec {spec!r}: loading it raised {type(error).__name__}: {error}") from error
    finally:
        if project is not None and spec is not None:
            sys.path.remove(str(project))


def _project_file_spec(spec: str, project: Path) -> str:
    """``pkg.mod:NAME`` of the project as ``<project>/pkg/mod.py:NAME``: loaded from its file,
    so two projects checked in one process (tests, a monorepo) that both call their registry
    module ``simwire_registry`` do not share the first one imported."""
    module, sep, name = spec.partition(":")
    if module.endswith(".py") or "/" in module:
        return spec
    base = project.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return f"{candidate}{sep}{name}"
    return spec


def _same(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def _inside(path: Path, root: Path) -> bool:
    return path.resolve() == root.resolve() or root.resolve() in path.resolve().parents


def package_path(name: str) -> Path | None:
    """An installed package's directory, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def main(args: argparse.Namespace) -> int:
    from contracts.baseline import BaselineError, read_baseline, write_baseline
    from contracts.check import check

    target = resolve_target(args, "check")
    if target is None:
        return USAGE
    migrations: Path | MigrationsConfig | None = target.migrations
    if args.migrations is not None:
        if not args.migrations.is_dir():
            _usage("check", f"--migrations {args.migrations}: not a directory")
            return USAGE
        migrations = args.migrations
    baseline_file = args.baseline or target.config.baseline
    if args.baseline_write and baseline_file is None:
        _usage("check", "--baseline-write needs --baseline FILE (or `baseline` in [tool.simwire])")
        return USAGE
    known: Counter[str] | None = None
    if args.baseline is None and baseline_file is not None and not baseline_file.exists():
        # Configured but not written yet (the state right after `simwire init`): nothing is known.
        print(f"simwire check: note: baseline {baseline_file} does not exist yet; every finding is new "
              "(record today's with --baseline-write)", file=sys.stderr)
        baseline_file = None if not args.baseline_write else baseline_file
    if baseline_file is not None and not args.baseline_write:
        try:
            known = read_baseline(baseline_file)
        except BaselineError as error:
            _usage("check", str(error))
            return USAGE
    report = check(target.path, target.registry if target.judged else None, migrations,
                   callers=target.callers, config=target.config, baseline=known)
    if args.baseline_write:
        assert baseline_file is not None
        write_baseline(baseline_file, list(report.findings))
        print(f"simwire check: wrote {len(report.findings)} finding(s) to {baseline_file}", file=sys.stderr)
        return 0
    fmt = "json" if args.json else (args.format or "text")
    if fmt == "json":
        print(json.dumps(report.to_json(), indent=2, sort_keys=True))
    elif fmt == "sarif":
        from contracts.sarif import to_sarif

        print(json.dumps(to_sarif(list(report.findings), version=_version(), notes=report.notes), indent=2))
    else:
        _print_text(report, target)
    return 1 if report.errors else 0


def _print_text(report: Any, target: Target) -> None:
    from contracts.rules import help_uri
    from sim.cli.report import console

    for violation in report.violations:
        style = "red" if str(violation.severity) == "error" else "yellow"
        console.print(f"{violation.render()}\n  docs:     {help_uri(violation.rule)}\n", style=style, markup=False)
    for note in report.notes:
        console.print(f"note: {note}", markup=False, style="yellow")
    waived = report.waived
    parts = [f"{n} {what}" for n, what in ((waived.suppressed, "suppressed in the code"),
                                           (waived.configured, "waived by the configuration"),
                                           (waived.baselined, "known in the baseline")) if n]
    registry = target.registry.name if target.judged else "none (registry-independent rules only)"
    warnings = len(report.violations) - len(report.errors)
    console.print(f"{len(report.errors)} error(s), {warnings} warning(s) in {report.files} files "
                  f"({report.seconds:.2f} s) — registry {registry}, path {target.path}"
                  + (f"; {', '.join(parts)}" if parts else ""),
                  markup=False, style="bold red" if report.errors else "bold green")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("simwire")
    except PackageNotFoundError:
        return "0.0.0"


def _usage(command: str, message: str) -> None:
    print(f"simwire {command}: error: {message}", file=sys.stderr)
