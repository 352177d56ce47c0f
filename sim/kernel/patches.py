"""Temporary monkeypatches that are always undone, in reverse order."""

from __future__ import annotations

from typing import Any


class Patches:
    """Set attributes now, restore the originals on :meth:`restore` (idempotent)."""

    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any]] = []

    def set(self, owner: Any, name: str, value: Any) -> Any:
        """Replace ``owner.name`` with ``value``; return the original."""
        original = getattr(owner, name)
        self._saved.append((owner, name, original))
        setattr(owner, name, value)
        return original

    def restore(self) -> None:
        while self._saved:
            owner, name, original = self._saved.pop()
            setattr(owner, name, original)
