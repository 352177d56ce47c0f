"""Strategy configuration: declarative conditions and the four condition sets of a strategy.

A strategy watches each of its symbols through one cycle of signals:

- ``S1`` entry signal: all ``s1`` conditions hold (e.g. a volume surge while price moves);
  informational, it opens a window of ``signal_timeout`` seconds.
- ``Z1`` entry zone: all ``z1`` conditions hold within that window: BUY (LONG) or SELL
  (SHORT) ``quantity`` (or ``notional / price``).  No Z1 in time: a CANCEL (signal type
  S1, action CANCEL) withdraws the entry, so every entry attempt ends in a recorded outcome.
- ``E1`` emergency exit: the price moved ``stop_loss_pct`` against the position, or all
  ``e1`` conditions hold: CLOSE.  Checked before ZE1, so a crash is never taken for profit.
- ``ZE1`` exit zone: the price moved ``take_profit_pct`` in favour, or all ``ze1``
  conditions hold: CLOSE.

Conditions compare one value with a number or with another value: ``Condition("rsi_14",
"<", 70)``, ``Condition("price", ">", "vwap_300")``.  Values are the indicator names of
``indicator.updated`` plus ``price`` and, while in a position, ``pnl_pct`` (unrealised PnL
in % of the entry price, positive in the strategy's favour).  A value not yet available
(an indicator warming up) makes its condition false: no signal from half the data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Side = Literal["LONG", "SHORT"]
Op = Literal["<", "<=", ">", ">="]

OPS: tuple[str, ...] = ("<", "<=", ">", ">=")
SIDES: tuple[str, ...] = ("LONG", "SHORT")
BUILTIN_VALUES: tuple[str, ...] = ("price", "pnl_pct")


class StrategyConfigError(ValueError):
    """A strategy or condition that cannot work; the message names the strategy and the field."""


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True, slots=True)
class Condition:
    """``indicator op value``; ``value`` is a number or the name of another value."""

    indicator: str
    op: Op
    value: float | str

    def __post_init__(self) -> None:
        if not isinstance(self.indicator, str) or not self.indicator:
            raise StrategyConfigError(f"{self!r}: indicator must be a non-empty name")
        if self.op not in OPS:
            raise StrategyConfigError(f"{self!r}: op must be one of {OPS}")
        if not (_is_number(self.value) or (isinstance(self.value, str) and self.value)):
            raise StrategyConfigError(f"{self!r}: value must be a finite number or a value name")

    def describe(self) -> str:
        """The key of this condition in a signal's ``conditions_met``."""
        value = self.value if isinstance(self.value, str) else f"{self.value:g}"
        return f"{self.indicator} {self.op} {value}"

    def names(self) -> tuple[str, ...]:
        """Every value name this condition reads."""
        return (self.indicator, self.value) if isinstance(self.value, str) else (self.indicator,)


@dataclass(frozen=True, slots=True)
class StrategyConfig:
    """One strategy on some symbols; see the module docstring for the signal cycle.

    Exactly one of ``quantity`` (base units) and ``notional`` (quote currency, converted at
    the Z1 price) sizes the entry.  Percentages are percent (``1.5`` = 1.5 %); times are
    seconds of event time.  ``cooldown`` keeps a symbol quiet after an exit so one burst
    does not re-enter at once.
    """

    strategy_id: str
    symbols: tuple[str, ...]
    side: Side
    stop_loss_pct: float
    take_profit_pct: float
    s1: tuple[Condition, ...]
    z1: tuple[Condition, ...] = ()
    ze1: tuple[Condition, ...] = ()
    e1: tuple[Condition, ...] = ()
    quantity: float | None = None
    notional: float | None = None
    signal_timeout: float = 300.0
    cooldown: float = 0.0

    def __post_init__(self) -> None:
        for name in ("symbols", "s1", "z1", "ze1", "e1"):  # accept lists from config files
            object.__setattr__(self, name, tuple(getattr(self, name)))
        where = f"StrategyConfig {self.strategy_id!r}"
        if not isinstance(self.strategy_id, str) or not self.strategy_id:
            raise StrategyConfigError(f"{where}: strategy_id must be a non-empty string")
        if not self.symbols or not all(isinstance(s, str) and s for s in self.symbols):
            raise StrategyConfigError(f"{where}: symbols must be non-empty strings, got {self.symbols!r}")
        if self.side not in SIDES:
            raise StrategyConfigError(f"{where}: side must be one of {SIDES}, got {self.side!r}")
        sizes = [s for s in (self.quantity, self.notional) if s is not None]
        if len(sizes) != 1 or not (_is_number(sizes[0]) and sizes[0] > 0):
            raise StrategyConfigError(
                f"{where}: exactly one of quantity or notional must be a number > 0, "
                f"got quantity={self.quantity!r} notional={self.notional!r}"
            )
        for name in ("quantity", "notional"):  # events carry floats, whatever the config file held
            if getattr(self, name) is not None:
                object.__setattr__(self, name, float(getattr(self, name)))
        for name in ("stop_loss_pct", "take_profit_pct", "signal_timeout"):
            value = getattr(self, name)
            if not (_is_number(value) and value > 0):
                raise StrategyConfigError(f"{where}: {name} must be a number > 0, got {value!r}")
        if not (_is_number(self.cooldown) and self.cooldown >= 0):
            raise StrategyConfigError(f"{where}: cooldown must be a number >= 0, got {self.cooldown!r}")
        if not self.s1:
            raise StrategyConfigError(f"{where}: s1 needs at least one condition (what starts an entry?)")
        for name in ("s1", "z1", "ze1", "e1"):
            for condition in getattr(self, name):
                if not isinstance(condition, Condition):
                    raise StrategyConfigError(f"{where}: {name} holds {condition!r}, not a Condition")
                if "pnl_pct" in condition.names() and name in ("s1", "z1"):
                    raise StrategyConfigError(f"{where}: {name} reads pnl_pct, which exists only in a position")

    @property
    def entry_action(self) -> str:
        return "BUY" if self.side == "LONG" else "SELL"

    def referenced_indicators(self) -> tuple[str, ...]:
        """Indicator names the conditions read (``price`` and ``pnl_pct`` excluded), in order."""
        names: dict[str, None] = {}
        for conditions in (self.s1, self.z1, self.ze1, self.e1):
            for condition in conditions:
                names.update(dict.fromkeys(n for n in condition.names() if n not in BUILTIN_VALUES))
        return tuple(names)


def check_indicator_references(strategies: Iterable[StrategyConfig], indicator_names: Iterable[str]) -> None:
    """Refuse a strategy reading an indicator nobody computes: it would silently never fire."""
    known = set(indicator_names)
    for strategy in strategies:
        missing = [name for name in strategy.referenced_indicators() if name not in known]
        if missing:
            raise StrategyConfigError(
                f"StrategyConfig {strategy.strategy_id!r} reads indicators {missing} "
                f"that no IndicatorSpec computes (known: {sorted(known)})"
            )


def default_strategies(symbols: Iterable[str] = ("BTC_USDT", "ETH_USDT", "SOL_USDT")) -> tuple[StrategyConfig, ...]:
    """A momentum long and a breakdown short, reading ``default_indicator_specs()``.

    Tuned on the simulator's 1-second pump-and-dump, dump and bursty random-walk data: a
    volume burst with a fast move is the S1; the move carrying on past the short EMA, without
    an exhausted RSI, within a minute is the Z1, else the entry is cancelled.  On two hours of
    the three default symbols every signal type and a CANCEL occur for every seed tried.
    """
    symbols = tuple(symbols)
    return _momentum("momentum_long", "LONG", symbols), _momentum("breakdown_short", "SHORT", symbols)


def _momentum(strategy_id: str, side: Side, symbols: tuple[str, ...]) -> StrategyConfig:
    """Trade a volume burst in the direction of the move; LONG and SHORT mirror each other."""
    sign = 1.0 if side == "LONG" else -1.0
    ahead, behind = (">", "<") if side == "LONG" else ("<", ">")
    return StrategyConfig(
        strategy_id=strategy_id,
        symbols=symbols,
        side=side,
        notional=1_000.0,
        stop_loss_pct=1.5,
        take_profit_pct=3.0,
        s1=(Condition("volume_surge_30_600", ">", 2.0), Condition("velocity_30", ahead, 0.01 * sign)),
        z1=(Condition("price", ahead, "ema_20"), Condition("velocity_30", ahead, 0.015 * sign),
            Condition("rsi_14", behind, 50 + 25 * sign)),
        e1=(Condition("velocity_30", behind, -0.05 * sign),),
        signal_timeout=60.0,
        cooldown=300.0,
    )
