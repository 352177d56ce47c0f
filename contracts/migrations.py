"""Migration files as a code base has them: found, ordered, read, and replayed into the schema model.

:func:`parse_migrations` is what ``simwire check`` and the ``[tool.simwire.migrations]``
configuration call.  It never stops at the first problem: every file and every statement
is applied or reported with ``file:line``, because a code base adopting simwire has
hundreds of statements written for a real server, and one the model cannot follow must not
hide the rest.  :func:`load_schema` is the strict form for this repository's own
migrations (the simulator, the snapshots): any error raises.

Files are ordered by the number their name starts with (``001_x.sql``, ``V2__x.sql``,
``20240101_x.sql``).  Two files with one number (a rollback beside its migration, two
branches that picked the same number) have no order anyone can know: that is an error
unless ``exclude`` drops one of them (``"*rollback*"``) or ``order`` lists them in the order
the server ran them.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from contracts.config import MigrationsConfig
from contracts.postgres_migrations import apply_postgres
from contracts.rules import rule, violation
from contracts.schema import DATA_STATEMENTS, Applied, MigrationError, Schema, apply_each
from contracts.sqlcheck import check_statement
from simwire.violation import Severity, Violation

DIALECTS = ("questdb", "postgres")
_NUMBERED = re.compile(r"^[Vv]?(\d+)(?:$|[^0-9])")

_MESSAGES = {
    "schema.migration-error": "migration statement cannot be parsed or applied; skipped, the rest goes on",
    "schema.refused-statement": "QuestDB refuses this migration statement",
    "schema.not-modelled": "migration statement not modelled; the schema model goes on without it",
    "schema.empty-migration": "migration file holds no statement",
    "schema.migration-gap": "migration numbers have a gap",
}


class EmptyMigration(MigrationError):
    """A migration file with no statement: usually a file committed before its content."""

    rule = "schema.empty-migration"


class MigrationGap(MigrationError):
    """A number missing between two migrations: deleted, or not committed yet."""

    rule = "schema.migration-gap"


@dataclass(frozen=True)
class MigrationFile:
    """One migration: its path and the number that places it (None: its name has none)."""

    path: Path
    number: int | None


Migrations = Path | str | Iterable[Path | str] | MigrationsConfig
"""Where migrations are: directories or ``.sql`` files, or a :class:`MigrationsConfig` (the
``[tool.simwire.migrations]`` selection), which carries its own dialect, exclusions and order."""


def dialect_of(migrations: Migrations | None) -> str:
    """The SQL dialect ``migrations`` are written in: a :class:`MigrationsConfig` says; plain
    paths are QuestDB's (this repository's own migrations)."""
    return migrations.dialect if isinstance(migrations, MigrationsConfig) else "questdb"


def parse_migrations(paths: Migrations, *, dialect: str = "questdb",
                     exclude: Sequence[str] = (), order: Sequence[str] = ()) -> tuple[Schema, list[Violation]]:
    """Replay the migrations under ``paths`` (directories or ``.sql`` files) into a schema.

    ``dialect`` is ``questdb`` or ``postgres``; ``exclude`` are globs matched against each
    file's name (``"*rollback*"``, ``"*.down.sql"``); ``order`` lists file names in the order the
    server applied them: files that share a number are placed by it, and when it lists every
    file it is the whole order (names without numbers included).  Returns the schema as far as
    it could be built and every finding (``schema.*`` for the files and DDL, ``sql.*`` for data
    statements inside migrations, checked against the schema as it stood at that point).
    A :class:`MigrationsConfig` as ``paths`` brings its own ``dialect``, ``exclude`` and ``order``.
    """
    schema, problems, found = _replay(paths, dialect=dialect, exclude=exclude, order=order)
    return schema, [_as_violation(problem) for problem in problems] + found


def load_schema(paths: Migrations, *, dialect: str = "questdb",
                exclude: Sequence[str] = (), order: Sequence[str] = ()) -> Schema:
    """The schema of migrations that must apply cleanly; the first error raises MigrationError.

    Warnings (an empty file, a gap, a statement the model does not follow) do not raise.
    """
    schema, problems, _ = _replay(paths, dialect=dialect, exclude=exclude, order=order)
    errors = [problem for problem in problems if _severity(problem) is Severity.ERROR]
    if errors:
        raise errors[0]
    return schema


def migration_files(paths: Path | str | Iterable[Path | str], *, exclude: Sequence[str] = (),
                    order: Sequence[str] = ()) -> tuple[list[MigrationFile], list[MigrationError]]:
    """The files to apply, in order, and the problems that kept a file out or its place unknown."""
    problems: list[MigrationError] = []
    candidates: list[tuple[Path, str]] = []  # each file with its name relative to its root, for globs
    for root in _as_paths(paths):
        if root.is_dir():
            candidates.extend((path, path.name) for path in sorted(root.iterdir()) if path.suffix.lower() == ".sql")
        elif root.is_file():
            candidates.append((root, root.name))
        else:
            problems.append(MigrationError(str(root), 0, "a directory of migrations or a .sql file",
                                           "no such file or directory"))
    files: list[MigrationFile] = []
    for path, relative in candidates:
        if not any(fnmatch.fnmatch(relative, glob) for glob in exclude):
            match = _NUMBERED.match(path.name)
            files.append(MigrationFile(path, int(match.group(1)) if match else None))
    if not files and not problems:
        problems.append(MigrationError(", ".join(str(p) for p in _as_paths(paths)) or "(no paths)", 0,
                                       "at least one numbered .sql migration", "none"))
    _unknown_in_order(files, order, problems)
    if order and {f.path.name for f in files} <= set(order):
        # Every migration is listed: the list is the order, numbers or not.
        position = {name: index for index, name in enumerate(order)}
        return sorted(files, key=lambda f: position[f.path.name]), problems
    for item in files:
        if item.number is None:
            problems.append(MigrationError(str(item.path), 0, "a file name starting with its number (001_create_orders"
                                           ".sql), the file in [tool.simwire.migrations] exclude, or every migration "
                                           "listed in its order", repr(item.path.name)))
    return _ordered([f for f in files if f.number is not None], order, problems), problems


def _unknown_in_order(files: list[MigrationFile], order: Sequence[str], problems: list[MigrationError]) -> None:
    names = {f.path.name for f in files}
    for name in order:
        if name not in names:
            problems.append(MigrationError(name, 0, "a migration file name in [tool.simwire.migrations] order",
                                           "no such migration (excluded, or misspelt)"))


def _ordered(files: list[MigrationFile], order: Sequence[str], problems: list[MigrationError]) -> list[MigrationFile]:
    """Sort by number; within one number, by position in ``order`` (every such file must be listed)."""
    position = {name: index for index, name in enumerate(order)}
    by_number: dict[int, list[MigrationFile]] = {}
    for item in files:
        assert item.number is not None  # unnumbered files were reported by the caller
        by_number.setdefault(item.number, []).append(item)
    ordered = []
    previous = None
    for number in sorted(by_number):
        group = by_number[number]
        if len(group) > 1:
            unlisted = [f for f in group if _place(f, position) is None]
            if unlisted:
                listed = ", ".join(f.path.name for f in group)
                problems.append(MigrationError(str(unlisted[0].path), 0, "one migration per number, or these in "
                                               "[tool.simwire.migrations] order, or the rollback in exclude "
                                               "(e.g. \"*rollback*\")", f"number {number} shared by {listed}"))
                group = [f for f in group if f not in unlisted]
            group = sorted(group, key=lambda f: _place(f, position) or 0)
        if previous is not None and number > previous + 1:
            problems.append(MigrationGap(str(by_number[number][0].path), 0, f"migration {previous + 1} next",
                                         f"{number} (numbers {previous + 1}..{number - 1} are missing)"))
        previous = number
        ordered.extend(group)
    return ordered


def _place(item: MigrationFile, position: dict[str, int]) -> int | None:
    return position.get(item.path.name)


def apply_in_order(migrations: Migrations, schema: Schema) -> Iterator[tuple[str, Applied]]:
    """Apply ``migrations`` to ``schema`` statement by statement, yielding ``(file, applied)``
    after each one, so a caller can run the data statements (a backfill ``INSERT ... SELECT``)
    against its own database exactly where the server would.  Strict like :func:`load_schema`:
    the first error raises :class:`MigrationError`; warnings do not."""
    paths, dialect, exclude, order = _selection(migrations, schema.dialect, (), ())
    schema.dialect = dialect
    files, problems = migration_files(paths, exclude=exclude, order=order)
    for problem in problems:
        if _severity(problem) is Severity.ERROR:
            raise problem
    problems = []
    for source, applied in _statements(files, schema, dialect, problems):
        if applied.error is not None and _severity(applied.error) is Severity.ERROR:
            raise applied.error
        yield source, applied
    for problem in problems:
        if _severity(problem) is Severity.ERROR:
            raise problem


def _selection(migrations: Migrations, dialect: str, exclude: Sequence[str], order: Sequence[str]
               ) -> tuple[Path | str | Iterable[Path | str], str, Sequence[str], Sequence[str]]:
    if isinstance(migrations, MigrationsConfig):
        return migrations.paths, migrations.dialect, migrations.exclude, migrations.order
    if dialect not in DIALECTS:
        raise ValueError(f"migrations dialect must be one of {', '.join(DIALECTS)}, not {dialect!r}")
    return migrations, dialect, exclude, order


def _statements(files: list[MigrationFile], schema: Schema, dialect: str,
                problems: list[MigrationError]) -> Iterator[tuple[str, Applied]]:
    """Each statement of ``files`` applied to ``schema``; unreadable and empty files noted in ``problems``."""
    apply = apply_each if dialect == "questdb" else apply_postgres
    for item in files:
        source = str(item.path)
        try:
            text = item.path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as error:
            problems.append(MigrationError(source, 0, "UTF-8 text", f"byte 0x{error.object[error.start]:02x} at "
                                           f"offset {error.start}, which is not UTF-8"))
            continue
        statements = 0
        for applied in apply(schema, text, source=source):
            statements += 1
            if applied.error is not None:
                problems.append(applied.error)
            yield source, applied
        if statements == 0:
            problems.append(EmptyMigration(source, 0, "at least one statement", "an empty file (or comments only)"))


def _replay(paths: Migrations, *, dialect: str, exclude: Sequence[str],
            order: Sequence[str]) -> tuple[Schema, list[MigrationError], list[Violation]]:
    paths, dialect, exclude, order = _selection(paths, dialect, exclude, order)
    files, problems = migration_files(paths, exclude=exclude, order=order)
    schema = Schema(dialect=dialect)
    found: list[Violation] = []
    for source, applied in _statements(files, schema, dialect, problems):
        if applied.error is None and applied.kind in DATA_STATEMENTS:
            found += _check_data_statement(applied.text, schema, f"{source}:{applied.line}")
    problems.sort(key=lambda problem: (_file_index(files, problem.file), problem.line))
    return schema, problems, found


def _file_index(files: list[MigrationFile], name: str) -> int:
    """Where a problem's file sits in the apply order (problems read in the order they happen)."""
    return next((index for index, item in enumerate(files) if str(item.path) == name), -1)


def _check_data_statement(sql: str, schema: Schema, location: str) -> list[Violation]:
    return check_statement(sql, schema, location=location)


def _severity(problem: MigrationError) -> Severity:
    return rule(problem.rule).severity


def _as_violation(problem: MigrationError) -> Violation:
    message = _MESSAGES[problem.rule]
    if problem.rule == "schema.migration-error" and not problem.line:
        message = "migration file cannot be used (its name, number, place or encoding); skipped, the rest goes on"
    return violation(problem.rule, message, location=problem.location, expected=problem.expected, seen=problem.seen)


def _as_paths(paths: Path | str | Iterable[Path | str]) -> list[Path]:
    if isinstance(paths, str | Path):
        return [Path(paths)]
    return [Path(path) for path in paths]
