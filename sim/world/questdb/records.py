"""Result rows shaped like ``asyncpg.Record``.

A record is read-only and detached from the table: later writes never change a row the caller
already holds.  Records of one result share one name -> position map, so a 1000-row batch
costs one tuple per row and nothing more.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class SimRecord:
    """``r["col"]``, ``r[0]``, ``r[1:3]``, ``keys()``, ``values()``, ``items()``, ``get()``, ``len``.

    Iterating yields values, as ``asyncpg.Record`` does (not keys, unlike a dict).
    """

    __slots__ = ("_index", "_values")

    def __init__(self, index: Mapping[str, int], values: tuple[Any, ...]) -> None:
        self._index = index
        self._values = values

    def __getitem__(self, key: int | str | slice) -> Any:
        if isinstance(key, str):
            try:
                return self._values[self._index[key]]
            except KeyError:
                raise KeyError(key) from None
        return self._values[key]

    def get(self, key: str, default: Any = None) -> Any:
        position = self._index.get(key)
        return default if position is None else self._values[position]

    def keys(self) -> Iterator[str]:
        return iter(self._index)

    def values(self) -> Iterator[Any]:
        return iter(self._values)

    def items(self) -> Iterator[tuple[str, Any]]:
        return zip(self._index, self._values, strict=True)

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SimRecord):
            return self._values == other._values and list(self._index) == list(other._index)
        if isinstance(other, tuple):
            return self._values == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = " ".join(f"{name}={value!r}" for name, value in self.items())
        return f"<Record {fields}>"
