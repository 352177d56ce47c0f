"""Await sites: where a task is suspended, as a short stable string ``file:line func``.

A site is captured after every task step, so this is on the hot path: the walk down the
``cr_await`` chain keeps only ``(code, f_lasti)`` (``f_lineno`` would search the line table
at every step) and the line and the string are found later, once per distinct site.  Paths
are made relative (to the working directory, to site-packages or to the standard library)
so that trace hashes do not depend on where the code is installed.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from types import CodeType, CoroutineType, GeneratorType

_LIBRARY_PARTS = (
    f"{os.sep}asyncio{os.sep}",
    f"{os.sep}anyio{os.sep}",
    f"{os.sep}trio{os.sep}",
    f"{os.sep}sniffio{os.sep}",
    f"{os.sep}sim{os.sep}kernel{os.sep}",
    f"{os.sep}contextlib.py",
)
"""Frames in these files are plumbing: a site names the first frame outside them."""

_ROOTS = sorted(
    {
        os.path.join(os.getcwd(), ""),
        # the checkout simwire runs from (editable installs): the same relative paths on every machine
        os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), ""),
        os.path.join(sysconfig.get_paths()["purelib"], ""),
        os.path.join(sysconfig.get_paths()["stdlib"], ""),
    },
    key=len,
    reverse=True,
)
"""Not ``sys.path``: it differs between processes (PYTHONPATH), and so would the hashes."""

_is_library: dict[CodeType, bool] = {}
_lines: dict[CodeType, dict[int, int | None]] = {}
_paths: dict[str, str] = {}


def short_path(filename: str) -> str:
    """``filename`` relative to the longest known root (cwd, site-packages, stdlib, sys.path)."""
    short = _paths.get(filename)
    if short is None:
        short = filename
        for root in _ROOTS:
            if filename.startswith(root):
                short = filename[len(root):]
                break
        short = short.replace(os.sep, "/")
        _paths[filename] = short
    return short


def is_library(code: CodeType) -> bool:
    """True for frames of the event loop, anyio, trio or this kernel."""
    known = _is_library.get(code)
    if known is None:
        filename = code.co_filename
        known = any(part in filename for part in _LIBRARY_PARTS) or filename.startswith("<")
        _is_library[code] = known
    return known


def suspended_at(coro: object) -> tuple[CodeType | None, int]:
    """``(code, f_lasti)`` of the innermost non-library frame ``coro`` is suspended in
    (:func:`format_suspension` renders it).

    Falls back to the innermost frame when every frame is plumbing, and to ``(None, 0)``
    when the coroutine has finished.
    """
    site_code: CodeType | None = None
    site_lasti = 0
    inner_code: CodeType | None = None
    inner_lasti = 0
    while True:
        kind = type(coro)
        if kind is CoroutineType:
            frame = coro.cr_frame  # type: ignore[attr-defined]
            next_coro = coro.cr_await  # type: ignore[attr-defined]
        elif kind is GeneratorType:
            frame = coro.gi_frame  # type: ignore[attr-defined]
            next_coro = coro.gi_yieldfrom  # type: ignore[attr-defined]
        else:  # a future's iterator, or None: the bottom of the chain
            break
        if frame is None:
            break
        code = frame.f_code
        inner_code, inner_lasti = code, frame.f_lasti
        library = _is_library.get(code)  # inlined cache hit of is_library(): a call per frame
        if library is None:
            library = is_library(code)
        if not library:
            site_code, site_lasti = inner_code, inner_lasti
        coro = next_coro
    if site_code is None:
        return inner_code, inner_lasti
    return site_code, site_lasti


def line_at(code: CodeType, lasti: int) -> int | None:
    """The line of the instruction at byte offset ``lasti``: what ``frame.f_lineno`` says
    (``None`` for an instruction without a line), from a table built once per code object."""
    if lasti < 0:  # not started yet
        return code.co_firstlineno
    lines = _lines.get(code)
    if lines is None:
        lines = _lines[code] = {
            offset: line for start, end, line in code.co_lines() for offset in range(start, end, 2)
        }
    return lines.get(lasti)


def format_suspension(code: CodeType | None, lasti: int) -> str:
    """:func:`format_site` of a :func:`suspended_at` result."""
    if code is None:
        return "<done>"
    return format_site(code, line_at(code, lasti))


def format_site(code: CodeType | None, line: int | None) -> str:
    """``path:line qualname`` or ``<done>`` for a finished task."""
    if code is None:
        return "<done>"
    return f"{short_path(code.co_filename)}:{line} {code.co_qualname}"


def caller_site(skip_library: bool = True) -> str:
    """The first frame of the caller outside library/kernel code, as ``path:line func``."""
    frame = sys._getframe(1)
    fallback = frame
    while frame is not None:
        if not (skip_library and (is_library(frame.f_code) or _is_stdlib_io(frame.f_code))):
            return format_site(frame.f_code, frame.f_lineno)
        frame = frame.f_back
    return format_site(fallback.f_code, fallback.f_lineno)


_IO_MODULES = ("socket.py", "subprocess.py", "threading.py", "selectors.py", f"concurrent{os.sep}")


def _is_stdlib_io(code: CodeType) -> bool:
    return code.co_filename.startswith(sysconfig.get_paths()["stdlib"]) and any(
        part in code.co_filename for part in _IO_MODULES
    )
