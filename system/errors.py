"""Typed errors of the trading system, so callers can tell *what* failed without parsing text.

Each error names the thing that failed and where (the service, the config field, the session,
the table and entity), because a message such as "creation failed" is the kind of thing the
seed report's defect 8 was about: a reader should never have to guess which factory or which
row is meant.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration or session value is invalid; ``field`` is its dotted path."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class ServiceUnavailable(RuntimeError):
    """A *required* service could not be created.  The cause is chained (``raise ... from``)."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"required service {service} is unavailable: {reason}")
        self.service = service
        self.reason = reason


class InvalidTransition(RuntimeError):
    """A session was asked to move between two states the state machine does not connect."""

    def __init__(self, session_id: str, old: str, new: str) -> None:
        super().__init__(f"session {session_id}: invalid transition {old} -> {new}")
        self.session_id = session_id
        self.old = old
        self.new = new


class SessionError(RuntimeError):
    """A session operation cannot proceed (unknown id, wrong state, failed start)."""

    def __init__(self, session_id: str, message: str) -> None:
        super().__init__(f"session {session_id}: {message}")
        self.session_id = session_id


class HistoricalDataError(RuntimeError):
    """The market-data replay cannot continue (bad row, short batch, retries exhausted)."""

    def __init__(self, symbol: str, message: str) -> None:
        super().__init__(f"market_data replay of {symbol}: {message}")
        self.symbol = symbol


class PersistenceFailure(RuntimeError):
    """A row could not be written: retries exhausted, a rejected statement or a bad payload.

    Recorded in ``TradingPersistenceService.failures`` and logged; never silently dropped.
    """

    def __init__(self, topic: str, table: str, entity_id: str, attempts: int, reason: str) -> None:
        super().__init__(
            f"{table} write for {topic} {entity_id!r} failed after {attempts} attempt(s): {reason}"
        )
        self.topic = topic
        self.table = table
        self.entity_id = entity_id
        self.attempts = attempts
        self.reason = reason


class MarketFeedError(RuntimeError):
    """The live market-data feed cannot be used (dropped too often, tick for an unknown symbol)."""

    def __init__(self, session_id: str, message: str) -> None:
        super().__init__(f"market feed of session {session_id}: {message}")
        self.session_id = session_id
