"""Parameter encoding per QuestDB column type, as strict as asyncpg's client-side codecs.

QuestDB describes each ``$n`` parameter with the PostgreSQL type of the column it meets, and
asyncpg then encodes the Python value with that type's codec.  A value the codec cannot encode
never reaches the server: asyncpg raises ``DataError("invalid input for query argument $n:
<repr> (<reason>)")``.  The reasons below are asyncpg's own (``asyncpg/pgproto/codecs``), so a
test that passes here fails in the same place against a real server.

The one case where asyncpg is *lenient* is reproduced too: integer codecs call ``int()`` on
anything that has ``__int__``, so a float written to a LONG column is truncated (5.5 -> 5).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from system.ports import DataError

Encoder = Callable[[Any], Any]
"""Returns the value as stored, or raises TypeError/ValueError with asyncpg's reason."""


def _timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            # asyncpg computes ``value - pg_epoch`` with a naive epoch.
            raise TypeError("can't subtract offset-naive and offset-aware datetimes")
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    raise TypeError(f"expected a datetime.date or datetime.datetime instance, got {type(value).__name__!r}")


def _real(value: Any) -> float:
    if type(value) is float:
        return value
    if isinstance(value, int | float | Decimal):
        return float(value)
    raise TypeError(f"must be real number, not {type(value).__name__}")


def _integer(value: Any) -> int:
    if isinstance(value, int):
        return int(value)
    if hasattr(type(value), "__int__"):
        return int(value)
    raise TypeError(f"'{type(value).__name__}' object cannot be interpreted as an integer")


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise TypeError(f"a boolean is required (got type {type(value).__name__})")


def _text(value: Any) -> str:
    if type(value) is str or isinstance(value, str):
        return value
    raise TypeError(f"expected str, got {type(value).__name__}")


def _untyped(value: Any) -> Any:
    return value


# PostgreSQL's own types (only a ``dialect = "postgres"`` schema has them: ``sim.world.postgres``).


def _timestamptz(value: Any) -> datetime:
    """asyncpg's ``timestamptz`` codec: an aware datetime is converted to UTC; a naive one is
    taken as the process's local time (``astimezone``), as asyncpg does; a date is its local
    midnight.  The server answers in UTC, so that is what is stored."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day).astimezone(UTC)
    raise TypeError(f"expected a datetime.date or datetime.datetime instance, got {type(value).__name__!r}")


def _json(value: Any) -> str:
    """asyncpg sends ``json`` as text (no codec configured: a dict is refused client-side);
    the server refuses text that is not JSON."""
    text = _text(value)
    try:
        json.loads(text)
    except ValueError as error:
        raise ValueError(f"invalid input syntax for type json: {error}") from None
    return text


def _jsonb(value: Any) -> str:
    """``jsonb`` is stored parsed and printed back the server's way: object keys shortest
    first (then by bytes), the last of duplicate keys kept, ``", "`` and ``": "`` separators."""
    return _jsonb_text(json.loads(_json(value)))


def _jsonb_text(value: Any) -> str:
    if isinstance(value, dict):
        keys = sorted(value, key=lambda key: (len(key.encode()), key.encode()))
        return "{" + ", ".join(f"{json.dumps(key)}: {_jsonb_text(value[key])}" for key in keys) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_jsonb_text(item) for item in value) + "]"
    return json.dumps(value)


_ENCODERS: dict[str, Encoder] = {
    "TIMESTAMP": _timestamp,
    "TIMESTAMP_NS": _timestamp,
    "DATE": _timestamp,
    "DOUBLE": _real,
    "FLOAT": _real,
    "LONG": _integer,
    "INT": _integer,
    "SHORT": _integer,
    "BYTE": _integer,
    "BOOLEAN": _boolean,
    "STRING": _text,
    "VARCHAR": _text,
    "SYMBOL": _text,
    "CHAR": _text,
    "TIMESTAMPTZ": _timestamptz,
    "JSON": _json,
    "JSONB": _jsonb,
}


def encoder_for(column_type: str | None) -> Encoder:
    """The encoder for a column type; types outside the table above pass values through.

    ``None`` is a parameter whose type the statement does not fix (e.g. ``SELECT $1``).
    """
    if column_type is None:
        return _untyped
    return _ENCODERS.get(column_type.upper(), _untyped)


def passes_unchanged(column_type: str | None, values: Sequence[Any]) -> bool:
    """True when the column's encoder returns every one of ``values`` as it is (NULL included).

    Lets a bulk load check a whole column with a few C-level passes instead of calling the
    encoder per value; False means "not sure", and the caller encodes value by value (which
    also produces the precise error for a bad one).
    """
    encoder = encoder_for(column_type)
    if encoder is _untyped:
        return True
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if encoder is _real:
        return kinds <= {float}
    if encoder is _text:
        return kinds <= {str}
    if encoder is _timestamp:
        return kinds <= {datetime} and all(value.tzinfo is None for value in set(values) if value is not None)
    return False


def encode_args(encoders: tuple[Encoder, ...], args: tuple[Any, ...], *, row: int | None = None) -> list[Any]:
    """Encode every argument; NULL (None) is valid for every type, as on the wire.

    ``row`` is the element number inside an ``executemany`` sequence, named in the error
    exactly as asyncpg names it.
    """
    if len(args) != len(encoders):
        raise DataError(f"the server expects {len(encoders)} argument{'s' if len(encoders) != 1 else ''} "
                        f"for this query, {len(args)} {'was' if len(args) == 1 else 'were'} passed")
    encoded = []
    for index, (encode, value) in enumerate(zip(encoders, args, strict=True)):
        if value is None:
            encoded.append(None)
            continue
        try:
            encoded.append(encode(value))
        except (TypeError, ValueError) as error:
            where = f"${index + 1}" if row is None else f"${index + 1} in element #{row} of executemany() sequence"
            shown = repr(value)
            if len(shown) > 40:
                shown = shown[:40] + "..."
            raise DataError(f"invalid input for query argument {where}: {shown} ({error})") from error
    return encoded


def literal_for(column_type: str | None, value: Any) -> Any:
    """A SQL literal compared with or assigned to a column: QuestDB casts string literals
    to timestamps (``WHERE timestamp >= '2025-01-06'``) and numbers to the column's type."""
    if value is None or column_type is None:
        return value
    kind = column_type.upper()
    if kind in ("TIMESTAMP", "TIMESTAMP_NS", "DATE") and isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo is None else parsed.astimezone(UTC).replace(tzinfo=None)
    if kind in ("DOUBLE", "FLOAT") and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
