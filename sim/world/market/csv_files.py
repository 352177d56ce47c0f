"""Loading ticks from CSV: ``symbol,timestamp,price,volume[,quote_volume]`` with a header.

``timestamp`` is ISO-8601 (``2025-01-06T00:00:01Z``, ``+00:00`` or any offset; a time without
an offset is read as UTC) or integer epoch milliseconds.  ``quote_volume`` defaults to
``price * volume``.  Every malformed value is a :class:`CsvError` naming the file, the line and
the column, and so is a second row for the same symbol and timestamp (the market_data dedup
key would silently keep only the last one).  Rows are returned sorted by timestamp, file
order kept among equal timestamps.
"""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

from system.ports import Tick

REQUIRED = ("symbol", "timestamp", "price", "volume")
OPTIONAL = ("quote_volume",)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class CsvError(ValueError):
    """A CSV problem at ``file:line`` in ``column``."""

    def __init__(self, path: Path | str, line: int, column: str | None, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.column = column
        where = f"{path}:{line}" + (f": column {column!r}" if column else "")
        super().__init__(f"{where}: {problem}")


def load_csv(path: Path | str) -> list[Tick]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise CsvError(path, 1, None, f"empty file; expected a header {','.join(REQUIRED)}[,quote_volume]")
        columns = [name.strip().lower() for name in header]
        missing = [name for name in REQUIRED if name not in columns]
        extra = [name for name in columns if name not in REQUIRED + OPTIONAL]
        if missing or extra or len(set(columns)) != len(columns):
            raise CsvError(path, 1, None, f"header {header} must name {','.join(REQUIRED)} and optionally "
                           f"quote_volume, once each (missing {missing}, unknown {extra})")
        ticks: list[Tick] = []
        first_seen: dict[tuple[str, datetime], int] = {}
        for values in reader:
            line = reader.line_num
            if not values or all(not value.strip() for value in values):
                continue
            if len(values) != len(columns):
                raise CsvError(path, line, None, f"expected {len(columns)} values, found {len(values)}")
            row = dict(zip(columns, (value.strip() for value in values), strict=True))
            tick = _tick(path, line, row)
            key = (tick.symbol, tick.timestamp)
            if key in first_seen:
                raise CsvError(path, line, "timestamp", f"duplicate tick for {tick.symbol} at "
                               f"{tick.timestamp.isoformat()} (first on line {first_seen[key]})")
            first_seen[key] = line
            ticks.append(tick)
    ticks.sort(key=lambda tick: tick.timestamp)
    return ticks


def _tick(path: Path | str, line: int, row: dict[str, str]) -> Tick:
    symbol = row["symbol"]
    if not symbol:
        raise CsvError(path, line, "symbol", "empty symbol")
    price = _number(path, line, row, "price", positive=True)
    volume = _number(path, line, row, "volume", positive=False)
    quote = _number(path, line, row, "quote_volume", positive=False) if row.get("quote_volume") else price * volume
    return Tick(symbol, _timestamp(path, line, row["timestamp"]), price, volume, quote)


def _number(path: Path | str, line: int, row: dict[str, str], column: str, *, positive: bool) -> float:
    text = row[column]
    try:
        value = float(text)
    except ValueError:
        raise CsvError(path, line, column, f"not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise CsvError(path, line, column, f"must be a finite number {'> 0' if positive else '>= 0'}, got {text!r}")
    return value


def _timestamp(path: Path | str, line: int, text: str) -> datetime:
    if text.isdigit():
        return _EPOCH + timedelta(milliseconds=int(text))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise CsvError(path, line, "timestamp", f"not ISO-8601 or epoch milliseconds: {text!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
