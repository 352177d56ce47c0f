"""The reference model (sim/harness/model): clean on the correct system's record, and each of
its rules fires when one recorded value is made wrong the way a realistic defect makes it.

The record comes from the real components (indicator engine, strategy manager, backtest order
manager) fed two hours of generated ticks on one bus, as ``bench/ceiling.py`` wires them; the
defects are then applied to a copy of the record, so each test changes exactly one thing.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from sim.harness.model import ModelSettings, StrategyReplay, check_model
from sim.harness.model.indicators import Ticks, twap, velocity, volume_surge, vwap
from sim.harness.recorder import EventRecorder
from sim.harness.scenario import DEFAULT_SYMBOLS, migrations_dir
from sim.world.market import generate
from sim.world.ports import DEFAULT_EPOCH, SeededIds, SeededRandom, VirtualClock
from sim.world.questdb import SimQuestDB
from system import topics
from system.config import SystemConfig
from system.container import Container

SESSION = "session_model"


async def _record(config: SystemConfig) -> tuple[EventRecorder, StrategyReplay]:
    clock = VirtualClock(DEFAULT_EPOCH)
    db = SimQuestDB(seed=0)
    await db.apply_migrations(migrations_dir())
    container = Container(config, clock=clock, ids=SeededIds(), random=SeededRandom(7), database=db)
    recorder, replay = EventRecorder(), StrategyReplay(config.strategies)
    container.event_bus.add_observer(recorder)
    container.event_bus.add_observer(replay)
    components = [container.create_indicator_engine(SESSION), container.create_strategy_manager(SESSION),
                  container.create_backtest_order_manager(SESSION)]
    for component in components:
        await component.start()
    for seq, tick in enumerate(generate(DEFAULT_SYMBOLS, start=DEFAULT_EPOCH, hours=2.0, tick_seconds=1.0, seed=7)):
        await container.event_bus.publish(topics.MARKET_PRICE_UPDATE, {
            "session_id": SESSION, "symbol": tick.symbol, "price": tick.price, "volume": tick.volume,
            "quote_volume": tick.quote_volume, "timestamp": tick.timestamp.timestamp(), "seq": seq,
            "source": "historical"})
    for component in reversed(components):
        await component.stop()
    return recorder, replay


@pytest.fixture(scope="module")
def recorded() -> tuple[EventRecorder, ModelSettings, StrategyReplay]:
    config = SystemConfig.default(symbols=DEFAULT_SYMBOLS)
    recorder, replay = asyncio.run(_record(config))
    assert recorder.counts[topics.ORDER_FILLED] and recorder.counts[topics.POSITION_UPDATED]
    return recorder, ModelSettings.from_config(config, "backtest"), replay


@pytest.fixture
def record(recorded: tuple[EventRecorder, ModelSettings, StrategyReplay]) -> tuple[EventRecorder, ModelSettings]:
    return recorded[0], recorded[1]


def _rules(recorder: EventRecorder, settings: ModelSettings) -> list[str]:
    return sorted(v.rule for v in check_model(recorder, settings, [SESSION]))


def _first(recorder: EventRecorder, topic: str, **match: Any) -> dict[str, Any]:
    """The first recorded event of ``topic`` whose fields (or metadata fields) match."""
    for event in recorder.of(topic):
        fields = {**event.get("metadata", {}), **event}
        if all(fields.get(k) == v for k, v in match.items()):
            return event  # type: ignore[return-value]
    raise AssertionError(f"no {topic} with {match}")


def test_the_correct_systems_record_is_clean(record: tuple[EventRecorder, ModelSettings]) -> None:
    recorder, settings = record
    assert check_model(recorder, settings, [SESSION]) == []


def test_the_replayed_strategies_expect_exactly_the_published_signals(
        recorded: tuple[EventRecorder, ModelSettings, StrategyReplay]) -> None:
    recorder, settings, replay = copy.deepcopy(recorded)
    assert len(replay.expected[SESSION]) == recorder.counts[topics.SIGNAL_GENERATED]
    assert check_model(recorder, settings, [SESSION], replay=replay) == []
    z1 = next(row for row in replay.expected[SESSION] if row[3] == "Z1")
    replay.expected[SESSION].insert(replay.expected[SESSION].index(z1), (z1[0] - 1.0, *z1[1:]))
    found = check_model(recorder, settings, [SESSION], replay=replay)
    assert [v.rule for v in found] == ["oracle.model-signals"] and "Z1" in found[0].expected


def test_a_strategy_that_never_enters_is_caught_by_the_replay(monkeypatch: pytest.MonkeyPatch) -> None:
    from system.strategy.manager import StrategyManager

    entry_zone = StrategyManager._entry_zone

    def only_expires(self: Any, strategy: Any, tests: Any, track: Any, update: Any) -> Any:
        return entry_zone(self, strategy, tests, track, update) if update["timestamp"] > track.expires_at else None

    monkeypatch.setattr(StrategyManager, "_entry_zone", only_expires)
    config = SystemConfig.default(symbols=DEFAULT_SYMBOLS)
    recorder, replay = asyncio.run(_record(config))
    assert recorder.counts[topics.ORDER_FILLED] == 0  # nothing traded: every other record is consistent
    rules = {v.rule for v in check_model(recorder, ModelSettings.from_config(config, "backtest"), [SESSION],
                                         replay=replay)}
    assert rules == {"oracle.model-signals"}


def test_an_indicator_value_off_by_one_sample_is_named(record: tuple[EventRecorder, ModelSettings]) -> None:
    recorder, settings = copy.deepcopy(record)
    signal = _first(recorder, topics.SIGNAL_GENERATED, signal_type="Z1")
    signal["indicator_values"]["vwap_300"] *= 1 + 2e-6
    found = check_model(recorder, settings, [SESSION])
    assert [v.rule for v in found] == ["oracle.model-indicator"]
    assert "vwap_300" in found[0].seen and signal["signal_id"] in found[0].location


def test_a_commission_on_the_quoted_price_is_a_fee_violation(record: tuple[EventRecorder, ModelSettings]) -> None:
    recorder, settings = copy.deepcopy(record)
    fill = recorder.of(topics.ORDER_FILLED)[0]
    quoted = _first(recorder, topics.ORDER_CREATED, order_id=fill["order_id"])["price"]
    fill["commission"] = quoted * fill["filled_quantity"] * settings.fee_rate
    assert _rules(recorder, settings) == ["oracle.model-fee"]


def test_a_fill_at_another_symbols_price_is_named(record: tuple[EventRecorder, ModelSettings]) -> None:
    recorder, settings = copy.deepcopy(record)
    fill = recorder.of(topics.ORDER_FILLED)[0]
    other = next(t for t in recorder.ticks[SESSION] if t[0] != fill["symbol"])
    fill["filled_price"] = other[3]
    fill["commission"] = other[3] * fill["filled_quantity"] * settings.fee_rate
    assert "oracle.model-fill-price" in _rules(recorder, settings)


def test_an_expiry_on_the_wrong_clock_breaks_the_signal_cycle(record: tuple[EventRecorder, ModelSettings]) -> None:
    recorder, settings = copy.deepcopy(record)
    s1 = _first(recorder, topics.SIGNAL_GENERATED, signal_type="S1", action="BUY")
    s1["metadata"]["expires_at"] = DEFAULT_EPOCH.timestamp() + 60.0
    found = check_model(recorder, settings, [SESSION])
    assert [v.rule for v in found] == ["oracle.model-signal-chain"] and "expires_at" in found[0].expected


def test_a_cancel_before_the_window_ends_breaks_the_signal_cycle(
        record: tuple[EventRecorder, ModelSettings]) -> None:
    recorder, settings = copy.deepcopy(record)
    cancel = _first(recorder, topics.SIGNAL_GENERATED, action="CANCEL")
    s1 = _first(recorder, topics.SIGNAL_GENERATED, signal_id=cancel["metadata"]["s1_signal_id"])
    cancel["timestamp"] = s1["timestamp"] + 1.0  # its indicator values now belong to another tick, too
    assert "oracle.model-signal-chain" in _rules(recorder, settings)


def test_a_signal_referring_to_another_symbols_s1_is_named(record: tuple[EventRecorder, ModelSettings]) -> None:
    recorder, settings = copy.deepcopy(record)
    z1 = _first(recorder, topics.SIGNAL_GENERATED, signal_type="Z1")
    foreign = next(s for s in recorder.of(topics.SIGNAL_GENERATED)
                   if s["signal_type"] == "S1" and s["symbol"] != z1["symbol"])
    z1["metadata"]["s1_signal_id"] = foreign["signal_id"]
    found = check_model(recorder, settings, [SESSION])
    assert "oracle.model-signal-chain" in [v.rule for v in found]


def test_a_position_with_another_quantity_than_its_fills_is_named(
        record: tuple[EventRecorder, ModelSettings]) -> None:
    recorder, settings = copy.deepcopy(record)
    opened = recorder.of(topics.POSITION_OPENED)[0]
    opened["quantity"] *= 2
    found = check_model(recorder, settings, [SESSION])
    assert found and found[0].rule == "oracle.model-position" and "quantity" in found[0].seen


def test_an_entry_reported_on_another_strategys_position_is_named(
        record: tuple[EventRecorder, ModelSettings]) -> None:
    recorder, settings = copy.deepcopy(record)
    opened = recorder.of(topics.POSITION_OPENED)[0]
    other = next(s.strategy_id for s in settings.strategies if s.strategy_id != opened["strategy_id"])
    opened["strategy_id"] = other
    assert "oracle.model-position" in _rules(recorder, settings)


def test_one_wrong_sign_in_short_marks_is_an_unrealized_pnl_violation(
        record: tuple[EventRecorder, ModelSettings]) -> None:
    recorder, settings = copy.deepcopy(record)
    shorts = {e["position_id"] for e in recorder.of(topics.POSITION_OPENED) if e["side"] == "SHORT"}
    marks = [e for e in recorder.of(topics.POSITION_UPDATED) if e["position_id"] in shorts and e["unrealized_pnl"]]
    assert marks, "the record has no mark-to-market of a SHORT position"
    for mark in marks:
        mark["unrealized_pnl"] = -mark["unrealized_pnl"]
    found = check_model(recorder, settings, [SESSION])
    assert [v.rule for v in found] == ["oracle.model-unrealized-pnl"] and "SHORT" in found[0].message


def test_a_balance_below_zero_is_named(record: tuple[EventRecorder, ModelSettings]) -> None:
    recorder, settings = copy.deepcopy(record)
    poor = ModelSettings(settings.strategies, settings.indicators, settings.fee_rate, settings.slippage, 0.01)
    assert _rules(recorder, poor) == ["oracle.model-balance"]


def _ticks(rows: list[tuple[float, float, float]]) -> Ticks:
    ticks = Ticks()
    for row in rows:
        ticks.append(*row)
    return ticks


def test_time_window_definitions_by_hand() -> None:
    ticks = _ticks([(0.0, 10.0, 1.0), (1.0, 12.0, 3.0), (3.0, 11.0, 0.0), (4.0, 14.0, 2.0)])
    assert vwap(ticks, 3, 3.5) == pytest.approx((12 * 3 + 14 * 2) / 5)  # (0.5, 4]
    assert vwap(ticks, 3, 3.0) == 14.0  # (1, 4]: the tick at 1 is out
    assert vwap(ticks, 2, 1.0) == 11.0  # (2, 3] traded nothing: the price itself
    assert twap(ticks, 3, 3.0) == pytest.approx((10 * 0 + 12 * 2 + 11 * 1) / 3)  # [1, 4]
    assert twap(ticks, 0, 3.0) == 10.0
    assert velocity(ticks, 3, 3.0) == pytest.approx((14 / 12 - 1) * 100 / 3)  # reference: the tick at 1
    assert velocity(ticks, 1, 3.0) is None
    assert volume_surge(ticks, 3, 1.0, 4.0) == pytest.approx((2 / 1) / (5 / 4))  # long (0, 4]: the tick at 0 is out
    assert volume_surge(ticks, 2, 1.0, 4.0) is None



def test_live_settings_allow_no_slippage() -> None:
    config = SystemConfig.default()
    assert ModelSettings.from_config(config, "live").slippage == 0.0
    assert ModelSettings.from_config(config, "paper").slippage == config.slippage_pct
