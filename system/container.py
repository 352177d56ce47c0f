"""Container: builds every component of the system from one config and the injected ports.

Error policy (the seed report's defect 8 was that some factories returned ``None`` on failure
and others raised, with nothing saying which):

- *Required* services - everything trading depends on: persistence, indicators, strategies,
  the order managers, the data sources, the controller - either return a working instance or
  raise :class:`~system.errors.ServiceUnavailable` naming the service, with the original
  error chained as ``__cause__``.  A session that cannot trade must not start.
- *Optional* services - only ``create_notification_service`` - return ``None`` when disabled
  or when they cannot be built, and log the reason (INFO when disabled by config, WARNING
  with the error when construction failed).  Callers must handle ``None``.

Factories only construct; the caller starts and stops what it gets (the ExecutionController
for per-session components, the UnifiedTradingController for shared ones).

Randomness per session: a session's order manager draws from its own generator
(:meth:`Container.session_random`), seeded from one draw of the Random port and the session's
spec, so a session's results do not depend on what other sessions run beside it (the oracle
"A alone == A beside B") while the whole run still follows the one injected seed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from system.adapters.random import StdRandom
from system.bus import EventBus
from system.config import SystemConfig
from system.data.historical import QuestDBHistoricalDataSource
from system.data.live import LiveMarketDataSource
from system.errors import ServiceUnavailable
from system.indicators.engine import StreamingIndicatorEngine
from system.notifications import NotificationService
from system.orders.backtest import BacktestOrderManager
from system.orders.live import LiveOrderManager
from system.orders.paper import OrderManager
from system.persistence.health import StorageHealthMonitor
from system.persistence.service import TradingPersistenceService
from system.ports import Clock, Database, FuturesExchange, Ids, MarketFeed, PrivateStream, Random
from system.strategy.manager import StrategyManager
from system.sync.service import PositionSyncService

if TYPE_CHECKING:
    from system.controllers.session import SessionSpec
    from system.controllers.unified import UnifiedTradingController

log = logging.getLogger(__name__)

T = TypeVar("T")


class Container:
    def __init__(self, config: SystemConfig, *, clock: Clock, ids: Ids, random: Random, database: Database,
                 market_feed: MarketFeed | None = None, exchange: FuturesExchange | None = None,
                 private_stream: PrivateStream | None = None) -> None:
        self.config = config
        self.clock = clock
        self.ids = ids
        self.random = random
        self.database = database
        self.market_feed = market_feed
        self.exchange = exchange
        self.private_stream = private_stream
        self.event_bus = EventBus()
        self._root_seed: float | None = None

    # -- required services ---------------------------------------------------------------------

    def create_trading_persistence_service(self) -> TradingPersistenceService:
        return _required("TradingPersistenceService", lambda: TradingPersistenceService(
            self.event_bus, self.database, self.clock, config=self.config.persistence))

    def create_storage_health_monitor(self) -> StorageHealthMonitor:
        return _required("StorageHealthMonitor", lambda: StorageHealthMonitor(
            self.event_bus, self.database, self.clock, interval=self.config.persistence.health_check_seconds))

    def create_indicator_engine(self, session_id: str) -> StreamingIndicatorEngine:
        return _required(f"StreamingIndicatorEngine({session_id})", lambda: StreamingIndicatorEngine(
            self.event_bus, session_id=session_id, specs=self.config.indicators))

    def create_strategy_manager(self, session_id: str) -> StrategyManager:
        return _required(f"StrategyManager({session_id})", lambda: StrategyManager(
            self.event_bus, self.ids, self.clock, session_id=session_id, strategies=self.config.strategies))

    def create_order_manager(self, session_id: str, *, initial_balance: float | None = None,
                             random: Random | None = None) -> OrderManager:
        """The paper-trading order manager (fills against the live-like feed)."""
        return self._order_manager(OrderManager, session_id, initial_balance, random)

    def create_backtest_order_manager(self, session_id: str, *, initial_balance: float | None = None,
                                      random: Random | None = None) -> BacktestOrderManager:
        return self._order_manager(BacktestOrderManager, session_id, initial_balance, random)

    def create_live_order_manager(self, session_id: str, *, initial_balance: float | None = None,
                                  random: Random | None = None) -> LiveOrderManager:
        exchange = self.exchange
        if exchange is None:
            raise ServiceUnavailable(f"LiveOrderManager({session_id})", "no exchange client configured")
        return self._order_manager(partial(LiveOrderManager, exchange=exchange), session_id, initial_balance, random,
                                   name="LiveOrderManager")

    def create_position_sync_service(self, session_id: str, orders: LiveOrderManager) -> PositionSyncService:
        """Live mode: the private push stream and the resynchronisation of ``orders`` with the exchange."""
        exchange, stream = self.exchange, self.private_stream
        if exchange is None or stream is None:
            raise ServiceUnavailable(f"PositionSyncService({session_id})",
                                     f"no {'exchange client' if exchange is None else 'private stream'} configured")
        return _required(f"PositionSyncService({session_id})", lambda: PositionSyncService(
            self.event_bus, exchange, stream, self.clock, session_id=session_id, orders=orders))

    def create_historical_data_source(self, session_id: str, spec: SessionSpec) -> QuestDBHistoricalDataSource:
        return _required(f"QuestDBHistoricalDataSource({session_id})", lambda: QuestDBHistoricalDataSource(
            self.event_bus, self.database, session_id=session_id, symbols=spec.symbols, start=spec.start,
            end=spec.end, batch_size=self.config.history_batch_size, prefetch=self.config.history_prefetch,
            clock=self.clock, retry=self.config.history_retry))

    def create_live_data_source(self, session_id: str, spec: SessionSpec) -> LiveMarketDataSource:
        feed = self.market_feed
        if feed is None:
            raise ServiceUnavailable(f"LiveMarketDataSource({session_id})", "no market feed configured")
        return _required(f"LiveMarketDataSource({session_id})", lambda: LiveMarketDataSource(
            self.event_bus, feed, self.clock, session_id=session_id, symbols=spec.symbols, source=spec.mode))

    def create_unified_trading_controller(self) -> UnifiedTradingController:
        from system.controllers.unified import UnifiedTradingController  # the controller builds on us

        return _required("UnifiedTradingController", lambda: UnifiedTradingController(self))

    def session_random(self, spec: SessionSpec) -> Random:
        """A generator of the session's own, the same for the same spec in any run of one seed."""
        if self._root_seed is None:
            self._root_seed = self.random.random()
        start, end = spec.start.isoformat(), spec.end.isoformat()
        return StdRandom(f"{self._root_seed!r}|{spec.mode}|{','.join(spec.symbols)}|{start}|{end}|"
                         f"{spec.initial_balance!r}")

    def _order_manager(self, cls: Callable[..., T], session_id: str, initial_balance: float | None,
                       random: Random | None, *, name: str = "") -> T:
        balance = self.config.initial_balance if initial_balance is None else initial_balance
        return _required(f"{name or getattr(cls, '__name__', cls)}({session_id})", lambda: cls(
            self.event_bus, self.ids, self.clock, random or self.random, session_id=session_id,
            initial_balance=balance, fee_rate=self.config.fee_rate, slippage_pct=self.config.slippage_pct))

    # -- optional services ---------------------------------------------------------------------

    def create_notification_service(self) -> NotificationService | None:
        if not self.config.notifications_enabled:
            log.info("container.optional_service_disabled service=NotificationService"
                     " reason=notifications_enabled is False")
            return None
        try:
            return NotificationService(self.event_bus)
        except Exception as error:  # optional by policy: trading goes on without it
            log.warning("container.optional_service_unavailable service=NotificationService reason=%r", error)
            return None


def _required(service: str, build: Callable[[], T]) -> T:
    """Build a required service or raise ServiceUnavailable with the cause chained."""
    try:
        return build()
    except Exception as error:
        raise ServiceUnavailable(service, f"{type(error).__name__}: {error}") from error

