"""``static.nondeterminism-source``: the wall clock, OS entropy, global randomness, threads or
sockets reached directly instead of through an injected port.

A simulation can only replay a run whose time, ids, randomness and I/O all come through the
ports it replaces.  One direct ``datetime.now()`` or ``uuid.uuid4()`` makes the same seed give
a different run, and the kernel's run-time guard cannot see every such call (a name bound at
import, ``from time import sleep``, is out of its reach).  The scan reads names, never runs
code: a use is judged by what its name resolves to through the file's imports.

The port implementations live in adapter modules (files matching a ``ports`` glob, relative
to the scanned root; by default any directory named ``adapters``, configurable with
``ports = [...]`` in ``[tool.simwire]``); those are exactly where these calls belong.
"""

from __future__ import annotations

import ast

from contracts.config import DEFAULT_PORTS, glob_match
from contracts.rules import violation
from contracts.scanner.source import CodeBase, SourceFile
from simwire.violation import Violation

_CLOCK = "the wall clock (use the Clock port)"
_ENTROPY = "OS entropy (use the Ids or Random port)"
_RANDOM = "the process-global random generator (use the Random port)"
_THREADS = "threads (the simulation schedules tasks, not threads)"
_SOCKETS = "a network connection (inject the client or transport from an adapter)"

FORBIDDEN_CALLS: dict[str, str] = {
    **{f"time.{name}": _CLOCK for name in (
        "time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns", "sleep",
        "localtime", "gmtime", "ctime", "asctime", "strftime")},
    **{f"datetime.{kind}.{name}": _CLOCK for kind, name in (
        ("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"))},
    "uuid.uuid1": _ENTROPY, "uuid.uuid4": _ENTROPY, "os.urandom": _ENTROPY, "os.getrandom": _ENTROPY,
    **{f"random.{name}": _RANDOM for name in (
        "random", "uniform", "randint", "randrange", "choice", "choices", "shuffle", "sample", "gauss",
        "normalvariate", "lognormvariate", "expovariate", "triangular", "betavariate", "gammavariate",
        "getrandbits", "randbytes", "seed", "SystemRandom")},
    "asyncio.to_thread": _THREADS,
    **{f"asyncio.{name}": _SOCKETS for name in (
        "open_connection", "start_server", "open_unix_connection", "start_unix_server")},
    **{f"anyio.{name}": _SOCKETS for name in (
        "connect_tcp", "connect_unix", "create_tcp_listener", "create_unix_listener", "create_udp_socket")},
    "asyncpg.connect": _SOCKETS, "asyncpg.create_pool": _SOCKETS, "websockets.connect": _SOCKETS,
}
"""Qualified names that must not be used outside the adapters, and what each one reaches."""

FORBIDDEN_MODULES: dict[str, str] = {
    "threading": _THREADS, "_thread": _THREADS, "concurrent.futures": _THREADS, "multiprocessing": _THREADS,
    "anyio.to_thread": _THREADS, "secrets": _ENTROPY, "socket": _SOCKETS, "ssl": _SOCKETS,
}
"""Modules whose import alone is the finding (everything in them reaches the real world)."""

_SEEDLESS = {"random.Random": _ENTROPY}
"""Constructors that draw OS entropy when called without a seed."""
_NEED_TRANSPORT = {"httpx.AsyncClient": _SOCKETS, "httpx.Client": _SOCKETS}
"""Clients that open real connections unless a ``transport=`` is injected."""


def nondeterminism_sources(code: CodeBase, ports: tuple[str, ...] = DEFAULT_PORTS) -> list[Violation]:
    """Every direct use outside the files matching a ``ports`` glob (posix, ``**`` allowed)."""
    found: list[Violation] = []
    for source in code.files:
        if any(glob_match(pattern, source.rel) for pattern in ports):
            continue
        for node in source.nodes:
            if isinstance(node, ast.Import | ast.ImportFrom):
                found += _forbidden_imports(source, node)
            elif isinstance(node, ast.Name | ast.Attribute) and not isinstance(source.parents.get(node),
                                                                                  ast.Attribute):
                found += _forbidden_use(source, node)
    return found


def _forbidden_imports(source: SourceFile, node: ast.Import | ast.ImportFrom) -> list[Violation]:
    if isinstance(node, ast.ImportFrom):
        if node.level:
            return []
        modules = [node.module or ""] + [f"{node.module}.{alias.name}" for alias in node.names]
    else:
        modules = [alias.name for alias in node.names]
    for module in modules:
        banned = next((m for m in FORBIDDEN_MODULES if module == m or module.startswith(m + ".")), None)
        if banned is not None:
            return [_finding(source, node, f"import {banned}", FORBIDDEN_MODULES[banned])]
    return []


def _forbidden_use(source: SourceFile, node: ast.Name | ast.Attribute) -> list[Violation]:
    if isinstance(node, ast.Attribute) and node.attr == "run_in_executor":
        return [_finding(source, node, "loop.run_in_executor", _THREADS)]
    if not isinstance(node.ctx, ast.Load):
        return []
    qualified = _qualified(source, node)
    if qualified is None:
        return []
    reaches = FORBIDDEN_CALLS.get(qualified)
    call = source.parents.get(node)
    if reaches is None and isinstance(call, ast.Call) and call.func is node:
        if qualified in _SEEDLESS and not call.args and not call.keywords:
            reaches = _SEEDLESS[qualified]
        elif qualified in _NEED_TRANSPORT and not any(k.arg == "transport" for k in call.keywords):
            reaches = _NEED_TRANSPORT[qualified]
    return [] if reaches is None else [_finding(source, node, qualified, reaches)]


def _qualified(source: SourceFile, node: ast.expr) -> str | None:
    """``a.b.c`` with ``a`` replaced by what the file imported it as; None for local names."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    imported = source.imports.get(node.id) if isinstance(node, ast.Name) else None
    if imported is None:
        return None
    module, attribute = imported
    return ".".join([f"{module}.{attribute}" if attribute else module, *reversed(parts)])


def _finding(source: SourceFile, node: ast.AST, what: str, reaches: str) -> Violation:
    return violation(
        "static.nondeterminism-source",
        f"{source.component(node)} uses {what}, which reaches {reaches.split(' (')[0]}",
        location=source.where(node), expected=f"no direct use outside the adapters: {reaches}",
        seen=ast.unparse(node),
    )
