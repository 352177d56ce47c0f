"""The project configuration: ``[tool.simwire]`` in ``pyproject.toml``, or a ``simwire.toml``.

A team adopts simwire by writing configuration, never by changing its code: which directories
to scan, which registry judges them, where the ports (adapters) live, how the bus methods are
spelled, which migrations build the schema, which rules run and which are waived where.

Where the configuration is found (the first that exists wins):

1. ``--config FILE``: a ``pyproject.toml`` (its ``[tool.simwire]`` table) or any other TOML
   file (its top-level keys; a ``[tool.simwire]`` table in it is accepted too);
2. otherwise, walking up from the scanned path (or the current directory): a ``simwire.toml``,
   or a ``pyproject.toml`` with a ``[tool.simwire]`` table.  The walk stops at the first
   ``pyproject.toml`` (the project's boundary) even when it has no such table.

Every path and glob in the file is relative to the file's directory, so the same file works
from any working directory.  Unknown keys, wrong types and unknown rule ids are errors naming
the key and the file (:class:`ConfigError`): a misspelt ``ignore`` must not silently waive
nothing.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.rules import RULES

DIALECTS = ("questdb", "postgres")
PROJECT_FILE = "pyproject.toml"
STANDALONE_FILE = "simwire.toml"
DEFAULT_PORTS = ("**/adapters/**",)
"""Without a configuration the ports are any directory named ``adapters`` (as before)."""


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class MigrationsConfig:
    """``[tool.simwire.migrations]``: the schema's source files, in the order they apply.

    ``exclude`` globs (e.g. ``*rollback*``) drop files such as rollbacks sharing a number;
    ``order`` lists file names explicitly where numbers collide or do not exist."""

    paths: tuple[Path, ...]
    dialect: str = "questdb"
    exclude: tuple[str, ...] = ()
    order: tuple[str, ...] = ()


@dataclass(frozen=True)
class BusConfig:
    """``[tool.simwire.bus]``: bus method names.  Empty means the registry's conventions."""

    publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()
    unsubscribe: tuple[str, ...] = ()
    topic_constants: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    """One project's configuration, with every path made absolute.

    ``source`` is the file read (None: the built-in defaults, used inside this repository).
    ``root`` is the directory paths and globs are relative to; locations in findings are
    relative to it too, so they match the repository's paths (SARIF, baselines)."""

    root: Path
    source: Path | None = None
    paths: tuple[Path, ...] = ()
    registry: str | None = None
    ports: tuple[str, ...] = DEFAULT_PORTS
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    baseline: Path | None = None
    callers: tuple[Path, ...] = ()
    migrations: MigrationsConfig | None = None
    bus: BusConfig = field(default_factory=BusConfig)
    per_path_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def rule_enabled(self, rule_id: str) -> bool:
        """``select`` (empty: every rule) minus ``ignore``, by id or id prefix."""
        if self.select and not any(rule_matches(p, rule_id) for p in self.select):
            return False
        return not any(rule_matches(p, rule_id) for p in self.ignore)

    def ignored_at(self, rel: str, rule_id: str) -> bool:
        """True when a ``per-path-ignores`` glob matching ``rel`` waives ``rule_id``."""
        return any(glob_match(pattern, rel) and any(rule_matches(p, rule_id) for p in rules)
                   for pattern, rules in self.per_path_ignores)

    def is_port(self, rel: str) -> bool:
        """True when the file ``rel`` (relative to ``root``) implements a port."""
        return any(glob_match(pattern, rel) for pattern in self.ports)


def rule_matches(pattern: str, rule_id: str) -> bool:
    """``static`` matches ``static.*``; ``static.lock-order`` matches itself only."""
    pattern = pattern.rstrip(".*")
    return rule_id == pattern or rule_id.startswith(pattern + ".")


def glob_match(pattern: str, rel: str) -> bool:
    """Posix glob with ``**`` (any number of directories); a pattern naming a directory also
    matches every file below it (``app/adapters`` covers ``app/adapters/clock.py``)."""
    regex = _glob_regex(pattern.strip("/").removeprefix("./"))
    parts = rel.split("/")
    return any(regex.fullmatch("/".join(parts[:end])) for end in range(1, len(parts) + 1))


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out, index = [], 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
        elif pattern.startswith("**", index):
            out.append(".*")
            index += 2
        elif pattern[index] == "*":
            out.append("[^/]*")
            index += 1
        elif pattern[index] == "?":
            out.append("[^/]")
            index += 1
        else:
            out.append(re.escape(pattern[index]))
            index += 1
    return re.compile("".join(out))


# -- finding and reading the file ---------------------------------------------------------------

def find_config(start: Path) -> Path | None:
    """The configuration file governing ``start`` (see the module docstring), or None."""
    here = start.resolve()
    if here.is_file():
        here = here.parent
    for directory in (here, *here.parents):
        standalone = directory / STANDALONE_FILE
        if standalone.is_file():
            return standalone
        project = directory / PROJECT_FILE
        if project.is_file():
            tool = _read_toml(project).get("tool", {})
            return project if isinstance(tool, dict) and "simwire" in tool else None
    return None


def load_config(path: Path | None, *, default_root: Path | None = None) -> Config:
    """Read ``path`` into a :class:`Config` (None: the defaults rooted at ``default_root``)."""
    if path is None:
        return Config(root=(default_root or Path.cwd()).resolve())
    path = path.resolve()
    if not path.is_file():
        raise ConfigError(f"--config {path}: no such file")
    data = _read_toml(path)
    tool = data.get("tool", {})
    table = tool.get("simwire") if isinstance(tool, dict) else None
    if table is None:
        if path.name == PROJECT_FILE:
            raise ConfigError(f"{path}: has no [tool.simwire] table")
        table = data
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: tool.simwire must be a table ([tool.simwire]), seen {table!r}")
    return _parse(table, path)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None


_TOP_KEYS = ("paths", "registry", "ports", "select", "ignore", "baseline", "callers", "migrations", "bus",
             "per-path-ignores")
_MIGRATION_KEYS = ("paths", "dialect", "exclude", "order")
_BUS_KEYS = ("publish", "subscribe", "unsubscribe", "topic-constants")


def _parse(table: dict[str, Any], source: Path) -> Config:
    reader = _Reader(source)
    reader.known(table, _TOP_KEYS, "[tool.simwire]")
    root = source.parent
    migrations = None
    if "migrations" in table:
        section = reader.table(table, "migrations")
        reader.known(section, _MIGRATION_KEYS, "[tool.simwire.migrations]")
        dialect = reader.string(section, "dialect", "migrations.dialect") or "questdb"
        if dialect not in DIALECTS:
            raise ConfigError(f"{source}: migrations.dialect = {dialect!r}: expected one of {', '.join(DIALECTS)}")
        migrations = MigrationsConfig(
            paths=tuple(root / p for p in reader.strings(section, "paths", "migrations.paths") or ("migrations",)),
            dialect=dialect,
            exclude=reader.strings(section, "exclude", "migrations.exclude"),
            order=reader.strings(section, "order", "migrations.order"),
        )
    bus = BusConfig()
    if "bus" in table:
        section = reader.table(table, "bus")
        reader.known(section, _BUS_KEYS, "[tool.simwire.bus]")
        bus = BusConfig(*(reader.strings(section, key, f"bus.{key}") for key in _BUS_KEYS))
    per_path: list[tuple[str, tuple[str, ...]]] = []
    if "per-path-ignores" in table:
        section = reader.table(table, "per-path-ignores")
        for pattern in section:
            per_path.append((pattern, reader.rules(section, pattern, f"per-path-ignores.{pattern!r}")))
    baseline = reader.string(table, "baseline", "baseline")
    return Config(
        root=root, source=source,
        paths=tuple(root / p for p in reader.strings(table, "paths", "paths")),
        registry=_registry_spec(reader.string(table, "registry", "registry"), root),
        ports=reader.strings(table, "ports", "ports") if "ports" in table else DEFAULT_PORTS,
        select=reader.rules(table, "select", "select"),
        ignore=reader.rules(table, "ignore", "ignore"),
        baseline=root / baseline if baseline else None,
        callers=tuple(root / p for p in reader.strings(table, "callers", "callers")),
        migrations=migrations, bus=bus, per_path_ignores=tuple(per_path),
    )


def _registry_spec(spec: str | None, root: Path) -> str | None:
    """A file spec is made absolute; ``module:attr`` is kept (imported with ``root`` on the path)."""
    if spec is None:
        return None
    target, sep, attr = spec.rpartition(":") if re.search(r":[A-Za-z_]\w*$", spec) else (spec, "", "")
    if target.endswith(".py") or "/" in target:
        return f"{root / target}{sep}{attr}"
    return spec


class _Reader:
    """Typed access to TOML values, each error naming the file and the key."""

    def __init__(self, source: Path) -> None:
        self.source = source

    def known(self, table: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
        unknown = sorted(k for k in table if k not in keys)
        if unknown:
            raise ConfigError(f"{self.source}: unknown key(s) {', '.join(unknown)} in {where}; "
                              f"known: {', '.join(keys)}")

    def table(self, table: dict[str, Any], key: str) -> dict[str, Any]:
        value = table[key]
        if not isinstance(value, dict):
            raise ConfigError(f"{self.source}: {key} must be a table ([tool.simwire.{key}])")
        return value

    def string(self, table: dict[str, Any], key: str, name: str) -> str | None:
        value = table.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{self.source}: {name} must be a string, seen {value!r}")
        return value

    def strings(self, table: dict[str, Any], key: str, name: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{self.source}: {name} must be a list of strings, seen {value!r}")
        return tuple(value)

    def rules(self, table: dict[str, Any], key: str, name: str) -> tuple[str, ...]:
        """Rule ids or prefixes, each matching at least one catalogued rule."""
        patterns = self.strings(table, key, name)
        for pattern in patterns:
            if not any(rule_matches(pattern, r.id) for r in RULES):
                raise ConfigError(f"{self.source}: {name}: {pattern!r} is no rule id or prefix "
                                  f"(see docs/rules.md)")
        return patterns
