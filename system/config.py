"""SystemConfig: every knob of the trading system, validated once when it is built.

Frozen dataclasses, so a running session can never see its configuration change under it,
and so a config can be compared, hashed and written into the ``sessions`` row as the record
of what a session ran with.  Every validation error is a :class:`~system.errors.ConfigError`
whose ``field`` names the offending value (``SystemConfig.fee_rate``), because a bad config
is found at start-up or not at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from system.errors import ConfigError
from system.indicators.spec import IndicatorSpec, check_unique_names, default_indicator_specs
from system.strategy.config import StrategyConfig, check_indicator_references, default_strategies


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a statement that failed with ``TransientDatabaseError`` is tried again.

    ``attempts`` counts every try (the first included), so 1 means "never retry".  The wait
    before retry *n* is ``backoff * 2**(n-1)`` seconds on the Clock, capped at ``max_backoff``;
    choose ``backoff`` near the database's typical recovery time (tens of milliseconds for a
    QuestDB restart of a WAL apply job) and keep ``attempts`` small: a handler that retries
    stalls the session's event pipeline behind it, which is what keeps writes in order.
    """

    attempts: int = 5
    backoff: float = 0.05
    max_backoff: float = 2.0

    def __post_init__(self) -> None:
        _check_int("RetryPolicy.attempts", self.attempts, minimum=1)
        _check_number("RetryPolicy.backoff", self.backoff, minimum=0.0)
        _check_number("RetryPolicy.max_backoff", self.max_backoff, minimum=self.backoff)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        return min(self.backoff * 2 ** (attempt - 1), self.max_backoff)


@dataclass(frozen=True, slots=True)
class PersistenceConfig:
    """Settings of TradingPersistenceService and the StorageHealthMonitor.

    ``health_check_seconds``: how often the WAL state of the tables is read while a session
    runs (entries are checked before they are placed whatever this says).  QuestDB suspends a
    table on an apply error and stays quiet about it; half a minute bounds how long a paper
    or live session can keep writing rows nobody can read."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    health_check_seconds: float = 30.0

    def __post_init__(self) -> None:
        _check_type("PersistenceConfig.retry", self.retry, RetryPolicy)
        if not (isinstance(self.health_check_seconds, int | float) and self.health_check_seconds > 0):
            raise ValueError(f"PersistenceConfig.health_check_seconds must be > 0, got {self.health_check_seconds!r}")


@dataclass(frozen=True, slots=True)
class SystemConfig:
    """The whole system's configuration.  Build it with :meth:`default` and override fields.

    ``slippage_pct`` is a fraction of the price (0.0005 = 5 basis points) like ``fee_rate``.
    ``history_batch_size`` rows are fetched per market-data query and ``history_prefetch``
    queries per symbol may be in flight at once; the replay holds at most
    ``(history_prefetch + 1) * history_batch_size`` rows per symbol in memory.
    ``notifications_enabled`` turns on the optional NotificationService.
    """

    symbols: tuple[str, ...]
    initial_balance: float
    fee_rate: float
    slippage_pct: float
    history_batch_size: int
    history_prefetch: int
    persistence: PersistenceConfig
    indicators: tuple[IndicatorSpec, ...]
    strategies: tuple[StrategyConfig, ...]
    history_retry: RetryPolicy = field(default_factory=RetryPolicy)
    notifications_enabled: bool = False

    @classmethod
    def default(cls, **overrides: Any) -> SystemConfig:
        """The defaults, with any field replaced: ``SystemConfig.default(symbols=("BTC_USDT",))``."""
        known = {f.name for f in fields(cls)}
        for name in overrides:
            if name not in known:
                raise ConfigError(f"SystemConfig.{name}", f"unknown field; known fields: {sorted(known)}")
        symbols = tuple(overrides.get("symbols", ("BTC_USDT", "ETH_USDT")))
        _check_symbols("SystemConfig.symbols", symbols)  # before the default strategies read them
        values: dict[str, Any] = {
            "symbols": symbols,
            "initial_balance": 10_000.0,
            "fee_rate": 0.0004,
            "slippage_pct": 0.0005,
            "history_batch_size": 1_000,
            "history_prefetch": 2,
            "persistence": PersistenceConfig(),
            "indicators": default_indicator_specs(),
            "strategies": default_strategies(symbols),
        }
        values.update(overrides)
        return cls(**values)

    def __post_init__(self) -> None:
        for name in ("symbols", "indicators", "strategies"):
            value = getattr(self, name)
            if isinstance(value, list):  # accept lists from callers, keep the config hashable
                object.__setattr__(self, name, tuple(value))
        _check_symbols("SystemConfig.symbols", self.symbols)
        _check_number("SystemConfig.initial_balance", self.initial_balance, minimum=0.0, exclusive=True)
        _check_number("SystemConfig.fee_rate", self.fee_rate, minimum=0.0, below=1.0)
        _check_number("SystemConfig.slippage_pct", self.slippage_pct, minimum=0.0, below=1.0)
        _check_int("SystemConfig.history_batch_size", self.history_batch_size, minimum=1)
        _check_int("SystemConfig.history_prefetch", self.history_prefetch, minimum=1)
        _check_type("SystemConfig.persistence", self.persistence, PersistenceConfig)
        _check_type("SystemConfig.history_retry", self.history_retry, RetryPolicy)
        _check_items("SystemConfig.indicators", self.indicators, IndicatorSpec)
        _check_items("SystemConfig.strategies", self.strategies, StrategyConfig)
        _check_type("SystemConfig.notifications_enabled", self.notifications_enabled, bool)
        try:
            check_unique_names(self.indicators)
        except ValueError as error:
            raise ConfigError("SystemConfig.indicators", str(error)) from error
        try:
            check_indicator_references(self.strategies, (spec.name for spec in self.indicators))
        except ValueError as error:
            raise ConfigError("SystemConfig.strategies", str(error)) from error


def _check_symbols(name: str, symbols: object) -> None:
    if not isinstance(symbols, tuple) or not symbols:
        raise ConfigError(name, f"must be a non-empty tuple of symbol names, got {symbols!r}")
    for symbol in symbols:
        if not isinstance(symbol, str) or not symbol:
            raise ConfigError(name, f"every symbol must be a non-empty string, got {symbol!r}")
    if len(set(symbols)) != len(symbols):
        raise ConfigError(name, f"symbols must be unique, got {symbols!r}")


def _check_number(name: str, value: object, *, minimum: float, exclusive: bool = False,
                  below: float | None = None) -> None:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if not is_number or not math.isfinite(value):
        raise ConfigError(name, f"must be a finite number, got {value!r}")
    if value < minimum or (exclusive and value == minimum):
        raise ConfigError(name, f"must be {'>' if exclusive else '>='} {minimum}, got {value!r}")
    if below is not None and value >= below:
        raise ConfigError(name, f"must be < {below}, got {value!r}")


def _check_int(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(name, f"must be an integer >= {minimum}, got {value!r}")


def _check_type(name: str, value: object, expected: type) -> None:
    if not isinstance(value, expected):
        raise ConfigError(name, f"must be a {expected.__name__}, got {type(value).__name__}")


def _check_items(name: str, values: object, expected: type) -> None:
    if not isinstance(values, tuple):
        raise ConfigError(name, f"must be a tuple of {expected.__name__}, got {type(values).__name__}")
    for index, value in enumerate(values):
        _check_type(f"{name}[{index}]", value, expected)
