"""IndicatorSpec: what to compute, declared in config and validated once at start-up.

A spec names one indicator instance.  Its ``name`` is the key under which the value appears
in ``indicator.updated``'s ``values`` and the name strategy conditions refer to, so it is
derived from kind and window by default (``ema_20``, ``velocity_30``,
``volume_surge_60_600``) and only needs spelling out when two specs would collide.

Windows come in two units, because the indicators come from two traditions:
``ema`` and ``rsi`` count *updates* (``period``), the others span *seconds of event time*
(``window``; ``volume_surge`` also ``long_window``), so they mean the same thing whatever
the tick rate of the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

IndicatorKind = Literal["ema", "rsi", "vwap", "twap", "velocity", "volume_surge"]

COUNT_KINDS: tuple[str, ...] = ("ema", "rsi")
TIME_KINDS: tuple[str, ...] = ("vwap", "twap", "velocity", "volume_surge")


class IndicatorSpecError(ValueError):
    """A spec that cannot be computed; the message names the spec and the field."""


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    """One indicator per symbol.

    ``period``: updates, for ``ema`` and ``rsi`` (an integer >= 1).
    ``window``: seconds, for ``vwap``, ``twap``, ``velocity`` and the short window of
    ``volume_surge``.  ``long_window``: seconds, the baseline of ``volume_surge``; it must be
    longer than ``window``.
    """

    kind: IndicatorKind
    period: int = 0
    window: float = 0.0
    long_window: float = 0.0
    name: str = ""

    def __post_init__(self) -> None:
        where = f"IndicatorSpec(kind={self.kind!r}, name={self.name!r})"
        if self.kind in COUNT_KINDS:
            if isinstance(self.period, bool) or not isinstance(self.period, int) or self.period < 1:
                raise IndicatorSpecError(f"{where}: period must be an integer >= 1, got {self.period!r}")
        elif self.kind in TIME_KINDS:
            if not _positive(self.window):
                raise IndicatorSpecError(f"{where}: window must be > 0 seconds, got {self.window!r}")
            long_ok = _positive(self.long_window) and self.long_window > self.window
            if self.kind == "volume_surge" and not long_ok:
                raise IndicatorSpecError(
                    f"{where}: long_window must be > window ({self.window!r}), got {self.long_window!r}"
                )
        else:
            raise IndicatorSpecError(f"{where}: kind must be one of {COUNT_KINDS + TIME_KINDS}")
        if not self.name:
            object.__setattr__(self, "name", self._default_name())

    def _default_name(self) -> str:
        if self.kind in COUNT_KINDS:
            return f"{self.kind}_{self.period}"
        if self.kind == "volume_surge":
            return f"{self.kind}_{self.window:g}_{self.long_window:g}"
        return f"{self.kind}_{self.window:g}"


def _positive(value: object) -> bool:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return is_number and math.isfinite(value) and value > 0


def check_unique_names(specs: tuple[IndicatorSpec, ...]) -> None:
    """Two specs with one name would overwrite each other's value silently; refuse them."""
    seen: dict[str, IndicatorSpec] = {}
    for spec in specs:
        if spec.name in seen:
            raise IndicatorSpecError(
                f"indicator name {spec.name!r} used twice: {seen[spec.name]!r} and {spec!r}"
            )
        if spec.name == "price":
            raise IndicatorSpecError(f"{spec!r}: 'price' is reserved for the update's own price")
        seen[spec.name] = spec


def default_indicator_specs() -> tuple[IndicatorSpec, ...]:
    """The indicators ``default_strategies()`` read; tuned for 1-second ticks."""
    return (
        IndicatorSpec("ema", period=20),
        IndicatorSpec("ema", period=60),
        IndicatorSpec("rsi", period=14),
        IndicatorSpec("vwap", window=300),
        IndicatorSpec("twap", window=300),
        IndicatorSpec("velocity", window=30),
        IndicatorSpec("volume_surge", window=30, long_window=600),
    )
