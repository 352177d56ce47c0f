"""Findings of ``simwire check`` as a team adopts them: where each sits in the code, its
stable fingerprint, and whether the code or the configuration waives it.

A finding's **fingerprint** is the hash of (rule, file, enclosing symbol, subject), never its
line number, so inserting a line above a known finding does not make it new again.  The subject
is the message with every ``file:line`` reduced to the file (messages and ``seen`` values of
some rules name other sites by line).

**Suppressions** live next to the code: ``# simwire: ignore[rule-id] reason`` on the finding's
line, or on the ``def``/``class`` line of any enclosing definition (then it covers the whole
body).  Several ids are separated by commas; an id may be a prefix (``static``).  The same
comment works in SQL files after ``--``.
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.config import Config, rule_matches
from contracts.scanner.model import location_key
from simwire.violation import Violation

_SUPPRESSION = re.compile(r"simwire:\s*ignore\[([^\]]*)\]")
_SITE = re.compile(r"(\S+?\.(?:py|sql)):\d+")


@dataclass(frozen=True)
class Finding:
    """A violation placed in the code: ``file``/``line`` (empty/0 when it is not in a file, such
    as a registry entry), the ``symbol`` enclosing it (``Class.method``) and its fingerprint."""

    violation: Violation
    file: str
    line: int
    symbol: str
    fingerprint: str

    def to_json(self) -> dict[str, Any]:
        from contracts.rules import help_uri

        return {**self.violation.to_json(), "fingerprint": self.fingerprint, "symbol": self.symbol,
                "help_uri": help_uri(self.violation.rule)}


@dataclass(frozen=True)
class Waived:
    """Findings left out of the result, counted so the output can say how many and why."""

    suppressed: int = 0      # by a `# simwire: ignore[...]` comment
    configured: int = 0      # by select / ignore / per-path-ignores
    baselined: int = 0       # known in the baseline file


class SourceIndex:
    """Reads each file a finding points at once: its lines (for suppressions) and its
    definitions (for enclosing symbols).  Files are looked up under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[str, tuple[list[str], list[tuple[int, int, str]]]] = {}

    def _load(self, rel: str) -> tuple[list[str], list[tuple[int, int, str]]]:
        if rel not in self._files:
            path = Path(rel) if Path(rel).is_absolute() else self.root / rel
            try:
                text = path.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError):
                text = ""
            self._files[rel] = (text.splitlines(), _definitions(text) if rel.endswith(".py") else [])
        return self._files[rel]

    def symbol(self, rel: str, line: int) -> str:
        """The innermost ``def``/``class`` containing ``line``, dotted (``Class.method``)."""
        _, definitions = self._load(rel)
        return max((d for d in definitions if d[0] <= line <= d[1]), key=lambda d: d[0], default=(0, 0, ""))[2]

    def suppressed(self, rel: str, line: int, rule_id: str) -> bool:
        lines, definitions = self._load(rel)
        candidates = [line] + [start for start, end, _ in definitions if start <= line <= end and start != line]
        for number in candidates:
            if 0 < number <= len(lines):
                for match in _SUPPRESSION.finditer(lines[number - 1]):
                    if any(rule_matches(p.strip(), rule_id) for p in match.group(1).split(",") if p.strip()):
                        return True
        return False


def _definitions(text: str) -> list[tuple[int, int, str]]:
    """(first line incl. decorators, last line, dotted name) of every def and class."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    found: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                found.append((start, child.end_lineno or child.lineno, name))
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def place(violation: Violation, index: SourceIndex) -> Finding:
    """The finding for ``violation``: its file, line, enclosing symbol and fingerprint."""
    file, line = location_key(violation.location)
    in_file = bool(line) and file.endswith((".py", ".sql"))
    if in_file and Path(file).is_absolute():
        # Migrations are often named by absolute path; fingerprints and SARIF need the
        # project-relative one, the same on every machine.
        try:
            file = Path(file).resolve().relative_to(index.root.resolve()).as_posix()
        except ValueError:
            pass
    symbol = index.symbol(file, line) if in_file else ""
    subject = _SITE.sub(r"\1", violation.message)
    key = "\x1f".join((violation.rule, file if in_file else "", symbol, subject))
    return Finding(violation, file if in_file else "", line if in_file else 0, symbol,
                   hashlib.sha256(key.encode()).hexdigest()[:16])


def triage(violations: tuple[Violation, ...], config: Config, root: Path) -> tuple[list[Finding], Waived]:
    """Place every violation, then drop what the configuration or a suppression waives.
    ``root`` is the directory the locations are relative to."""
    index = SourceIndex(root)
    kept: list[Finding] = []
    suppressed = configured = 0
    for violation in violations:
        finding = place(violation, index)
        if not config.rule_enabled(violation.rule) or (finding.file and config.ignored_at(
                _relative_to_config(root, config, finding.file), violation.rule)):
            configured += 1
        elif finding.file and index.suppressed(finding.file, finding.line, violation.rule):
            suppressed += 1
        else:
            kept.append(finding)
    return kept, Waived(suppressed=suppressed, configured=configured)


def _relative_to_config(root: Path, config: Config, rel: str) -> str:
    """``rel`` (relative to the scan root) as a path relative to the configuration's directory,
    which is what ``per-path-ignores`` globs are written against."""
    path = Path(rel) if Path(rel).is_absolute() else root / rel
    try:
        return path.resolve().relative_to(config.root.resolve()).as_posix()
    except ValueError:
        return rel
