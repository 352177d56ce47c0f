"""Event-contract registries and how to load one by name.

``load_registry()`` returns the trading system's registry (``contracts/registry/trading.py``);
``load_registry("pkg.module:NAME")`` or ``load_registry("path/to/file.py[:NAME]")`` loads a
user's own, so the same rules judge another code base.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import traceback
from pathlib import Path

from contracts.registry.model import (
    FIELD_TYPES,
    BusConventions,
    Consumer,
    Entity,
    Field,
    Invariant,
    Lineage,
    Registry,
    RegistryError,
    Service,
    StateMachine,
    Topic,
)

__all__ = [
    "FIELD_TYPES", "BusConventions", "Consumer", "Entity", "Field", "Invariant", "Lineage", "Registry",
    "RegistryError", "Service", "StateMachine", "Topic", "load_registry",
]

DEFAULT_SPEC = "contracts.registry.trading:REGISTRY"


def load_registry(spec: str | None = None) -> Registry:
    """Load a :class:`Registry` named by ``spec`` (None: the trading system's).

    ``spec`` is ``"pkg.module:NAME"`` (an importable module) or ``"path/to/file.py[:NAME]"``
    (a file, loaded without touching ``sys.path``); ``NAME`` defaults to ``REGISTRY``.
    """
    spec = spec or DEFAULT_SPEC
    target, name = spec, "REGISTRY"
    head, sep, tail = spec.rpartition(":")
    if sep and re.fullmatch(r"[A-Za-z_]\w*", tail):
        target, name = head, tail
    if target.endswith(".py") or "/" in target:
        module = _module_from_file(Path(target), spec)
    else:
        try:
            module = importlib.import_module(target)
        except Exception as error:  # a registry module that fails to import is the user's input, not a crash
            failure = _import_failure(error)
            raise RegistryError(f"registry spec {spec!r}: cannot import {target!r}: {failure}") from error
    registry = getattr(module, name, None)
    if not isinstance(registry, Registry):
        raise RegistryError(f"registry spec {spec!r}: expected {target} to define {name} as a "
                            f"contracts.registry.Registry, seen {type(registry).__name__}")
    return registry


def _module_from_file(path: Path, spec: str) -> object:
    if not path.is_file():
        raise RegistryError(f"registry spec {spec!r}: no such file {str(path)!r}")
    module_spec = importlib.util.spec_from_file_location(f"_simwire_registry_{path.stem}", path)
    if module_spec is None or module_spec.loader is None:
        raise RegistryError(f"registry spec {spec!r}: {str(path)!r} is not a loadable Python file")
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as error:
        raise RegistryError(f"registry spec {spec!r}: cannot load {str(path)!r}: {_import_failure(error)}") from error
    return module


def _import_failure(error: Exception) -> str:
    """What went wrong and where: a SyntaxError names its file and line, anything else the line
    of the registry file that raised it."""
    if isinstance(error, SyntaxError):
        return f"SyntaxError at {error.filename}:{error.lineno}: {error.msg}"
    frames = traceback.extract_tb(error.__traceback__)
    where = next((f"{f.filename}:{f.lineno}" for f in reversed(frames) if "importlib" not in f.filename), "")
    return f"{type(error).__name__}: {error}" + (f" (at {where})" if where else "")
