"""Payload checks compiled once per topic: one plain Python function per topic of the registry.

The runtime monitor validates every payload the bus carries (two per market tick), so its
common case must be cheap: a payload with every declared field, nothing else, each value of
an exact declared type and, where the field enumerates choices, an allowed value.  Walking
the field list generically costs a loop, a tuple per field and several lookups per event;
the function generated here for one topic is straight-line code — one dict lookup and one
type test per field, constants bound at compile time — that answers only "clean" (True) or
"look closer" (False).  False never means a violation: the monitor then takes its generic
walk, which decides and names the problems.  So the generated code only has to be *sound*
(True implies the generic walk would find nothing), never complete.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

PayloadCheck = Callable[[Mapping[str, Any]], bool]


def compile_payload_check(fields: Sequence[tuple[str, frozenset[type], frozenset[Any]]]) -> PayloadCheck:
    """The fast check of one topic from its ``(name, exact types, allowed values)`` per declared
    field (empty allowed values: any value).  Field names and constants never become source
    text: names are written with ``repr`` and the type and choice sets are bound as
    arguments, so any registry content compiles to the same safe shape."""
    constants: dict[str, Any] = {"_len": len, "_type": type}
    lines = ["def check(payload):", f"    if _len(payload) != {len(fields)}:", "        return False", "    try:"]
    for index, (name, types, choices) in enumerate(fields):
        lines.append(f"        value = payload[{name!r}]")
        if len(types) == 1:
            constants[f"_t{index}"] = next(iter(types))
            lines.append(f"        if _type(value) is not _t{index}:")
        else:
            constants[f"_t{index}"] = types
            lines.append(f"        if _type(value) not in _t{index}:")
        lines.append("            return False")
        if choices:
            constants[f"_c{index}"] = choices
            lines += [f"        if value not in _c{index}:", "            return False"]
    lines += ["    except (KeyError, TypeError):", "        return False", "    return True"]
    # len() equal to the number of declared fields and every declared field present: the keys
    # are exactly the declared ones (TypeError: an unhashable value tested against choices).
    namespace = dict(constants)
    exec(compile("\n".join(lines), "<simwire payload check>", "exec"), namespace)
    check: PayloadCheck = namespace["check"]
    return check
