"""Container policy (seed defect 8): required services raise ServiceUnavailable with the cause
chained; the optional one returns None and logs why.  And the config it is built from."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

import system.container
from sim.world.ports import SeededIds, SeededRandom, VirtualClock
from system.config import PersistenceConfig, RetryPolicy, SystemConfig
from system.container import Container
from system.controllers import SessionSpec, UnifiedTradingController
from system.data import LiveMarketDataSource, QuestDBHistoricalDataSource
from system.errors import ConfigError, ServiceUnavailable
from system.indicators import StreamingIndicatorEngine
from system.notifications import NotificationService
from system.orders import BacktestOrderManager, OrderManager, OrderManagerConfigError
from system.persistence import TradingPersistenceService
from system.strategy import StrategyManager
from tests.system.fake_database import FakeDatabase

EPOCH = datetime(2025, 1, 6, tzinfo=UTC)
SPEC = SessionSpec("backtest", ("BTC_USDT",), EPOCH, EPOCH + timedelta(hours=1))


def container(**changes: object) -> Container:
    options: dict[str, object] = {"clock": VirtualClock(EPOCH), "ids": SeededIds(), "random": SeededRandom(1),
                                  "database": FakeDatabase()}
    config = changes.pop("config", SystemConfig.default())
    options.update(changes)
    return Container(config, **options)  # type: ignore[arg-type]


class StubFeed:
    def stream(self, symbols: object) -> object:
        raise AssertionError("not consumed in these tests")


class StubExchange:
    pass


def test_factories_build_each_component_for_its_session() -> None:
    c = container(market_feed=StubFeed())
    assert isinstance(c.create_trading_persistence_service(), TradingPersistenceService)
    assert isinstance(c.create_indicator_engine("s1"), StreamingIndicatorEngine)
    assert isinstance(c.create_strategy_manager("s1"), StrategyManager)
    assert isinstance(c.create_unified_trading_controller(), UnifiedTradingController)
    backtest = c.create_backtest_order_manager("s1")
    paper = c.create_order_manager("s2", initial_balance=500.0)
    assert type(backtest) is BacktestOrderManager and backtest.session_id == "s1"
    assert type(paper) is OrderManager and paper.session_id == "s2"
    assert backtest.initial_balance == c.config.initial_balance and paper.initial_balance == 500.0
    historical = c.create_historical_data_source("s1", SPEC)
    assert isinstance(historical, QuestDBHistoricalDataSource) and historical.symbols == ("BTC_USDT",)
    live = c.create_live_data_source("s3", SessionSpec("paper", ("ETH_USDT",), EPOCH, EPOCH + timedelta(hours=1)))
    assert isinstance(live, LiveMarketDataSource) and live.source == "paper"


def test_required_service_without_its_port_raises_naming_it() -> None:
    c = container()
    with pytest.raises(ServiceUnavailable, match=r"LiveOrderManager\(s1\).*no exchange client"):
        c.create_live_order_manager("s1")
    with pytest.raises(ServiceUnavailable, match=r"LiveMarketDataSource\(s1\).*no market feed") as caught:
        c.create_live_data_source("s1", SPEC)
    assert caught.value.service == "LiveMarketDataSource(s1)"


def test_required_service_failure_chains_the_cause() -> None:
    c = container(exchange=StubExchange())
    with pytest.raises(ServiceUnavailable) as caught:
        c.create_live_order_manager("s1", initial_balance=-1.0)
    assert caught.value.service == "LiveOrderManager(s1)"
    assert isinstance(caught.value.__cause__, OrderManagerConfigError)
    assert "OrderManagerConfigError" in caught.value.reason


def test_every_required_factory_raises_rather_than_returning_none(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    for name in ("TradingPersistenceService", "StreamingIndicatorEngine", "StrategyManager", "OrderManager",
                 "BacktestOrderManager", "QuestDBHistoricalDataSource"):
        monkeypatch.setattr(system.container, name, broken)
    c = container()
    for factory in (c.create_trading_persistence_service, lambda: c.create_indicator_engine("s1"),
                    lambda: c.create_strategy_manager("s1"), lambda: c.create_order_manager("s1"),
                    lambda: c.create_backtest_order_manager("s1"),
                    lambda: c.create_historical_data_source("s1", SPEC)):
        with pytest.raises(ServiceUnavailable, match="boom") as caught:
            factory()
        assert isinstance(caught.value.__cause__, RuntimeError)


def test_optional_service_disabled_returns_none_and_logs_the_reason(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="system.container"):
        assert container().create_notification_service() is None
    assert "NotificationService" in caplog.text and "notifications_enabled is False" in caplog.text


def test_optional_service_enabled(caplog: pytest.LogCaptureFixture) -> None:
    c = container(config=SystemConfig.default(notifications_enabled=True))
    assert isinstance(c.create_notification_service(), NotificationService)


def test_optional_service_that_cannot_be_built_returns_none_with_a_warning(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: object) -> None:
        raise OSError("smtp unreachable")

    monkeypatch.setattr(system.container, "NotificationService", broken)
    c = container(config=SystemConfig.default(notifications_enabled=True))
    with caplog.at_level(logging.WARNING, logger="system.container"):
        assert c.create_notification_service() is None
    assert "smtp unreachable" in caplog.text


# -- configuration -----------------------------------------------------------------------------


def test_default_config_is_consistent() -> None:
    config = SystemConfig.default(symbols=("AAA_USDT", "BBB_USDT"))
    assert config.symbols == ("AAA_USDT", "BBB_USDT")
    assert all(strategy.symbols == config.symbols for strategy in config.strategies)
    assert config == SystemConfig.default(symbols=["AAA_USDT", "BBB_USDT"])


@pytest.mark.parametrize(("overrides", "field"), [
    ({"fee_rate": -0.1}, "SystemConfig.fee_rate"),
    ({"fee_rate": float("nan")}, "SystemConfig.fee_rate"),
    ({"slippage_pct": 1.5}, "SystemConfig.slippage_pct"),
    ({"initial_balance": 0}, "SystemConfig.initial_balance"),
    ({"history_batch_size": 0}, "SystemConfig.history_batch_size"),
    ({"history_prefetch": 1.5}, "SystemConfig.history_prefetch"),
    ({"symbols": ()}, "SystemConfig.symbols"),
    ({"symbols": ("A", "A")}, "SystemConfig.symbols"),
    ({"indicators": ()}, "SystemConfig.strategies"),  # strategies read indicators nobody computes
    ({"persistence": {"retry": 3}}, "SystemConfig.persistence"),
    ({"notifications_enabled": "yes"}, "SystemConfig.notifications_enabled"),
    ({"colour": "blue"}, "SystemConfig.colour"),
])
def test_invalid_config_names_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        SystemConfig.default(**overrides)
    assert caught.value.field == field
    assert str(caught.value).startswith(field)


def test_retry_policy_validation_and_delays() -> None:
    with pytest.raises(ConfigError, match=r"RetryPolicy\.attempts"):
        RetryPolicy(attempts=0)
    with pytest.raises(ConfigError, match=r"RetryPolicy\.max_backoff"):
        RetryPolicy(backoff=1.0, max_backoff=0.5)
    assert [RetryPolicy(backoff=0.1, max_backoff=0.3).delay(n) for n in (1, 2, 3, 4)] == [0.1, 0.2, 0.3, 0.3]
    assert PersistenceConfig().retry == RetryPolicy()


@pytest.mark.parametrize(("changes", "field"), [
    ({"mode": "replay"}, "SessionSpec.mode"),
    ({"symbols": ()}, "SessionSpec.symbols"),
    ({"start": datetime(2025, 1, 6)}, "SessionSpec.start"),
    ({"end": EPOCH}, "SessionSpec.end"),
    ({"initial_balance": -5.0}, "SessionSpec.initial_balance"),
])
def test_invalid_session_spec_names_the_field(changes: dict[str, object], field: str) -> None:
    values: dict[str, object] = {"mode": "backtest", "symbols": ("BTC_USDT",), "start": EPOCH,
                                 "end": EPOCH + timedelta(hours=1), **changes}
    with pytest.raises(ConfigError) as caught:
        SessionSpec(**values)  # type: ignore[arg-type]
    assert caught.value.field == field
