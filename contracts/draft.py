"""``simwire init``: a first registry and ``[tool.simwire]`` section drafted from the code's own
facts, so onboarding starts from what the code does rather than from a blank file.

What is read (nothing is imported or run):

- the publish and subscribe sites (``contracts.scanner``, with no registry): topics, the payload
  keys each publish site sends, publishers, subscribing components, the keys each handler reads;
- the files that reach the wall clock, entropy, threads or sockets (candidate ports);
- ``*.sql`` directories (migrations), their dialect guessed from the DDL, rollback files.

What a person must decide is left as ``TODO`` in the output: field types, which fields are
required, roles and which roles each mode requires, lineage, which flagged files really are
adapters.  Keys a handler reads that no publisher sends are listed as a TODO and *not* added
as fields: declaring them would hide the defect ``simwire check`` reports.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from contracts.config import STANDALONE_FILE
from contracts.registry import FIELD_TYPES, BusConventions
from contracts.scanner import scan
from contracts.scanner.model import ScanResult
from contracts.scanner.source import CodeBase

REGISTRY_MODULE = "simwire_registry"
_SKIPPED_DIRS = frozenset({"tests", "test", "docs", "build", "dist", "venv", "env", "node_modules", "examples"})
_POSTGRES = re.compile(r"\b(SERIAL|BIGSERIAL|TIMESTAMPTZ|TEXT|REFERENCES|PRIMARY\s+KEY|VARCHAR\s*\()", re.IGNORECASE)
_QUESTDB = re.compile(r"\b(PARTITION\s+BY|SYMBOL|DEDUP\s+UPSERT|WAL)\b|\btimestamp\s*\(\s*\w+\s*\)", re.IGNORECASE)
_ROLLBACK = re.compile(r"rollback|down|revert", re.IGNORECASE)


@dataclass(frozen=True)
class Draft:
    """The two texts ``simwire init`` writes, and where the configuration goes."""

    registry: str
    config: str
    config_in_pyproject: bool


def draft(root: Path) -> Draft:
    """Read the project at ``root`` and draft its registry and configuration."""
    root = root.resolve()
    paths = _source_paths(root)
    include = tuple(p for p in paths if p != ".")
    code = CodeBase.load(root, include)[0]
    publish, subscribe = _bus_names(code)
    constants = _topic_modules(code, (*publish, *subscribe))
    result = scan(root, BusConventions(publish=publish, subscribe=subscribe, topic_constants=constants),
                  include=include, ports=())
    migrations = _migration_dirs(root)
    pyproject = root / "pyproject.toml"
    in_pyproject = pyproject.is_file()
    return Draft(_registry_text(root.name, result),
                 _config_text(result, paths, migrations, root, in_pyproject, (publish, subscribe, constants)),
                 in_pyproject)


_PUBLISH_WORDS = ("publish", "emit", "send_event", "dispatch", "fire", "post_event", "broadcast")
_SUBSCRIBE_WORDS = ("subscribe", "on", "listen", "add_listener", "add_handler", "register_handler")


def _bus_names(code: CodeBase) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The bus method names the code uses: calls ``x.<word>("literal topic", ...)`` (or as a
    decorator, ``@x.<word>("topic")``) with a known publish / subscribe word."""
    used: dict[str, int] = defaultdict(int)
    for source in code.files:
        for node in source.nodes:
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args
                    and isinstance(node.args[0], ast.Constant | ast.Name | ast.Attribute)):
                used[node.func.attr] += 1
    publish = tuple(w for w in _PUBLISH_WORDS if used.get(w)) or ("publish",)
    subscribe = tuple(w for w in _SUBSCRIBE_WORDS if used.get(w)) or ("subscribe",)
    return publish, subscribe


def _topic_modules(code: CodeBase, names: tuple[str, ...]) -> tuple[str, ...]:
    """Modules whose constants name topics: those a bus call's first argument comes from
    (``bus.publish(topics.ORDER_CREATED, ...)``, ``from app.events import ORDER``)."""
    found: set[str] = set()
    for source in code.files:
        for node in source.nodes:
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in names and node.args):
                continue
            first = node.args[0]
            alias = first.value.id if isinstance(first, ast.Attribute) and isinstance(first.value, ast.Name) \
                else first.id if isinstance(first, ast.Name) else None
            imported = source.imports.get(alias) if alias else None
            if imported is None:
                continue
            module, attribute = imported
            for dotted in ([f"{module}.{attribute}", module] if attribute else [module]):
                target = code.module(dotted)
                if target is not None and (isinstance(first, ast.Attribute) or attribute in target.constants):
                    found.add(target.rel)
                    break
    return tuple(sorted(found))


def _source_paths(root: Path) -> list[str]:
    """Top-level directories holding Python code (not tests, docs, environments), or ``.``."""
    found = sorted(p.name for p in root.iterdir()
                   if p.is_dir() and not p.name.startswith((".", "_")) and p.name.lower() not in _SKIPPED_DIRS
                   and not p.name.lower().startswith("test") and (p / "pyvenv.cfg").exists() is False
                   and any(p.rglob("*.py")))
    return found or ["."]


def _migration_dirs(root: Path) -> list[tuple[str, str, list[str]]]:
    """(directory, dialect guess, rollback file names) for each directory of ``*.sql`` files."""
    found = []
    dirs = sorted({p.parent for p in root.rglob("*.sql")
                   if not any(part.startswith(".") for part in p.relative_to(root).parts)})
    for directory in dirs:
        files = sorted(directory.glob("*.sql"))
        text = "\n".join(f.read_text(encoding="utf-8-sig", errors="replace") for f in files)
        postgres, questdb = len(_POSTGRES.findall(text)), len(_QUESTDB.findall(text))
        dialect = "postgres" if postgres > questdb else "questdb"
        rollbacks = [f.name for f in files if _ROLLBACK.search(f.stem)]
        found.append((directory.relative_to(root).as_posix(), dialect, rollbacks))
    return found


def _snake(name: str) -> str:
    name = name.removeprefix("module:").rpartition(".")[2]
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _q(text: str) -> str:
    """A Python string literal in double quotes (the style of the code it lands in)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _packed(head: str, items: list[str], indent: str, tail: str = "", width: int = 110) -> list[str]:
    """``head(a, b, ...),`` on one line when it fits, else the items packed on indented lines
    between ``head(`` and ``),`` (``tail``, a comment, goes after the opening)."""
    one = f"{indent}{head}({', '.join(items)}{',' if len(items) == 1 and head.endswith('=') else ''}),{tail}"
    if len(one) <= width:
        return [one]
    lines, current = [f"{indent}{head}({tail}"], ""
    for item in items:
        if current and len(indent) + 4 + len(current) + len(item) + 1 > width:
            lines.append(f"{indent}    {current.rstrip()}")
            current = ""
        current += item + ", "
    lines += [f"{indent}    {current.rstrip()}", f"{indent}),"]
    return lines


def _tuple(head: str, items: list[str]) -> str:
    return f"{head}({', '.join(items)}{',' if len(items) == 1 else ''})"


def _items(items: list[str], indent: str, width: int = 110) -> list[str]:
    """Comma-separated items packed on lines of at most ``width`` characters."""
    lines, current = [], ""
    for item in items:
        if current and len(indent) + len(current) + len(item) + 1 > width:
            lines.append(f"{indent}{current.rstrip()}")
            current = ""
        current += item + ", "
    return [*lines, f"{indent}{current.rstrip()}"] if current else lines


def _registry_text(project: str, result: ScanResult) -> str:
    publishes: dict[str, list] = defaultdict(list)
    subscribes: dict[str, list] = defaultdict(list)
    for site in result.publishes:
        if site.topic is not None:
            publishes[site.topic].append(site)
    for site in result.subscribes:
        if site.topic is not None:
            subscribes[site.topic].append(site)
    lines = [
        f'"""Event contracts of {project}, drafted by `simwire init` from the publish and subscribe sites.',
        "",
        "Review every TODO: field types, required fields, role names, the roles each mode requires, lineage",
        '(docs/contracts.md, docs/contracts-generic.md)."""',
        "",
        "from contracts.registry import Consumer, Field, Registry, Topic",
        "",
        f"ANY = ({', '.join(_q(t) for t in FIELD_TYPES)})   # TODO: narrow each field's types",
        "",
        "",
        "def fields(*required: str, optional: tuple[str, ...] = ()) -> tuple[Field, ...]:",
        "    return (*(Field(n, ANY) for n in required), *(Field(n, ANY, required=False) for n in optional))",
        "",
        "",
        "TOPICS = (",
    ]
    for topic in sorted(set(publishes) | set(subscribes)):
        sites = publishes.get(topic, [])
        readable = [s for s in sites if s.keys is not None]
        keys = sorted({k for s in readable for k in s.keys or ()})
        always = ({k for k in keys if all(s.keys_complete and k in (s.keys or ()) for s in readable)}
                  if readable else set())
        read_by = subscribes.get(topic, [])
        unsent = sorted({k for s in read_by for k, _ in s.reads} - set(keys)) if readable else []
        if not sites:   # published elsewhere (another service?): what the handlers read is all there is
            keys = sorted({k for s in read_by for k, _ in s.reads})
            always = set()
        lines += ["    Topic(", f"        {_q(topic)},"]
        for site in sites:
            partial = "" if site.keys is not None and set(site.keys) == set(keys) else (
                f": {', '.join(site.keys)}" if site.keys is not None else ": payload not readable")
            lines.append(f"        # published by {site.component} at {site.location}{partial}")
        if not sites:
            lines.append("        # TODO: nothing in the scanned code publishes this topic")
        for site in read_by:
            owner = site.declared_component or site.component
            lines.append(f"        # read by {owner}.{site.handler.rpartition('.')[2]} at {site.location}")
        if unsent:
            lines.append(f"        # TODO: handlers read {', '.join(unsent)}, which no publisher sends")
        required = [_q(k) for k in keys if k in always]
        optional = [_q(k) for k in keys if k not in always]
        if optional:
            one = _packed("fields=fields", [*required, _tuple("optional=", optional)], "        ")
            lines += one if len(one) == 1 else [
                "        fields=fields(", *_items(required, "            "),
                *_packed("optional=", optional, "            "), "        ),"]
        else:
            lines += _packed("fields=fields", required, "        ")
        producers = sorted({s.component for s in sites})
        lines += _packed("producers=", [_q(p) for p in producers], "        ")
        consumers = sorted({(s.declared_component or s.component, s.role or _snake(s.declared_component or s.component))
                            for s in read_by})
        lines += _packed("consumers=", [f"Consumer({_q(c)}, {_q(r)})" for c, r in consumers], "        ",
                         "   # TODO: name the roles")
        lines.append('        required_roles={},   # TODO: {"live": ("<role>",)} for consumers that must be there')
        lines.append("    ),")
    lines += [
        ")",
        "",
        "REGISTRY = Registry(",
        f"    name={_q(project)},",
        '    modes=("live",),   # TODO: every mode the system runs in',
        "    topics={topic.name: topic for topic in TOPICS},",
        "    lineage=(),   # TODO: Lineage(topic, field, table, column) for each stored field",
        ")",
        "",
    ]
    return "\n".join(lines)


def _config_text(result: ScanResult, paths: list[str], migrations: list[tuple[str, str, list[str]]], root: Path,
                 in_pyproject: bool, bus: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]) -> str:
    prefix = "tool.simwire" if in_pyproject else ""
    header = f"[{prefix}]" if prefix else ""
    lines = ["# drafted by `simwire init`; see docs/contracts-generic.md for every key"]
    if header:
        lines.append(header)
    lines += [
        f"paths = {_toml_list(paths)}",
        f'registry = "{REGISTRY_MODULE}:REGISTRY"',
        'baseline = ".simwire-baseline.json"',
    ]
    flagged = sorted({v.location.rpartition(":")[0] for v in result.violations
                      if v.rule == "static.nondeterminism-source"})
    if flagged:
        lines.append("# TODO: keep only the files that implement ports (clock, ids, network); the others are")
        lines.append("# domain code reaching the real world, which `simwire check` reports")
        lines.append("ports = [")
        lines += [f"    # {_toml_str(path)}," for path in flagged]
        lines.append("]")
    else:
        lines.append('ports = ["**/adapters/**"]')
    for directory, dialect, rollbacks in migrations[:1]:
        lines += ["", f"[{prefix + '.' if prefix else ''}migrations]", f"paths = [{_toml_str(directory)}]",
                  f'dialect = "{dialect}"   # TODO: check (guessed from the DDL)']
        if rollbacks:
            lines.append('exclude = ["*rollback*", "*down*"]   # rollback files: ' + ", ".join(rollbacks))
    for directory, _, _ in migrations[1:]:
        lines.append(f"# TODO: more SQL in {directory}: add it to migrations.paths if it is schema")
    lines += ["", f"[{prefix + '.' if prefix else ''}bus]",
              f"publish = {_toml_list(list(bus[0]))}   # TODO: check (method names seen in the code)",
              f"subscribe = {_toml_list(list(bus[1]))}"]
    if bus[2]:
        lines.append(f"topic-constants = {_toml_list(list(bus[2]))}   # modules whose constants name topics")
    lines.append("")
    if any(p.startswith("test") for p in (q.name for q in root.iterdir() if q.is_dir())):
        lines += [f"[{prefix + '.' if prefix else ''}per-path-ignores]",
                  '"tests/**" = ["static.nondeterminism-source"]', ""]
    return "\n".join(lines)


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(_toml_str(v) for v in values) + "]"


def write_draft(root: Path, result: Draft, *, force: bool = False) -> list[Path]:
    """Write the registry module and the configuration; never overwrite without ``force``.
    Returns the files written.  Raises FileExistsError naming what already exists."""
    registry = root / f"{REGISTRY_MODULE}.py"
    config = root / ("pyproject.toml" if result.config_in_pyproject else STANDALONE_FILE)
    if registry.exists() and not force:
        raise FileExistsError(f"{registry} exists (pass --force to overwrite)")
    if result.config_in_pyproject:
        text = config.read_text(encoding="utf-8")
        if re.search(r"^\[tool\.simwire[\].]", text, re.MULTILINE):
            if not force:
                raise FileExistsError(f"{config} already has a [tool.simwire] section (pass --force to replace it)")
            text = _without_simwire_tables(text)
        config_text = text.rstrip("\n") + "\n\n" + result.config
    else:
        if config.exists() and not force:
            raise FileExistsError(f"{config} exists (pass --force to overwrite)")
        config_text = result.config
    registry.write_text(result.registry, encoding="utf-8")
    config.write_text(config_text, encoding="utf-8")
    return [registry, config]


def _without_simwire_tables(text: str) -> str:
    """``text`` without its ``[tool.simwire]`` and ``[tool.simwire.*]`` tables (the other
    tables, and the comments before them, are kept as they are)."""
    kept, skipping = [], False
    for line in text.splitlines():
        if line.startswith("["):
            skipping = re.match(r"\[tool\.simwire[\].]", line) is not None
        if not skipping:
            kept.append(line)
    return "\n".join(kept) + "\n"
