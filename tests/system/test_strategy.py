"""StrategyManager: each signal type on crafted indicator paths, fields, and config checks."""

from __future__ import annotations

import pytest

from sim.world.ports import SeededIds, VirtualClock
from system import topics
from system.bus import EventBus
from system.indicators import default_indicator_specs
from system.strategy import (
    Condition,
    Phase,
    StrategyConfig,
    StrategyConfigError,
    StrategyManager,
    check_indicator_references,
    default_strategies,
)
from tests.system.bus_recorder import Recorder

T0 = 1_736_121_600.0
SIGNAL_FIELDS = {"signal_id", "session_id", "strategy_id", "symbol", "signal_type", "action", "triggered",
                 "price", "quantity", "conditions_met", "indicator_values", "metadata", "timestamp"}


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return request.param


def config(**overrides: object) -> StrategyConfig:
    values: dict = {
        "strategy_id": "surge_long", "symbols": ("BTC_USDT",), "side": "LONG", "quantity": 0.5,
        "stop_loss_pct": 1.0, "take_profit_pct": 2.0, "s1": (Condition("surge", ">", 2),),
        "z1": (Condition("price", ">", "ema"),), "signal_timeout": 10.0, "cooldown": 5.0,
    }
    values.update(overrides)
    return StrategyConfig(**values)


class Driver:
    """Feeds indicator.updated to a started StrategyManager and collects its signals."""

    def __init__(self, *strategies: StrategyConfig) -> None:
        self.bus = EventBus()
        self.manager = StrategyManager(self.bus, SeededIds(), VirtualClock(), session_id="s1",
                                       strategies=strategies)
        self.now = T0

    async def start(self) -> Driver:
        await self.manager.start()
        self.recorder = await Recorder().attach(self.bus, topics.SIGNAL_GENERATED)
        return self

    async def tick(self, price: float, *, dt: float = 1.0, symbol: str = "BTC_USDT", session_id: str = "s1",
                   **values: float) -> list[dict]:
        self.now += dt
        before = len(self.recorder.events)
        await self.bus.publish(topics.INDICATOR_UPDATED, {
            "session_id": session_id, "symbol": symbol, "timestamp": self.now, "price": price,
            "values": {"ema": 100.0, "surge": 1.0, **values},
        })
        return [payload for _, payload in self.recorder.events[before:]]

    def kinds(self) -> list[tuple[str, str]]:
        return [(s["signal_type"], s["action"]) for s in self.recorder.of(topics.SIGNAL_GENERATED)]


@pytest.mark.anyio
async def test_long_cycle_s1_z1_then_take_profit_ze1() -> None:
    drive = await Driver(config()).start()
    assert await drive.tick(99.0) == []
    [s1] = await drive.tick(99.0, surge=3.0)
    assert (s1["signal_type"], s1["action"], s1["quantity"]) == ("S1", "BUY", 0.5)
    assert s1["conditions_met"] == {"surge > 2": 3.0}
    assert await drive.tick(99.5) == [], "Z1 needs price > ema"
    [z1] = await drive.tick(101.0)
    assert (z1["signal_type"], z1["action"], z1["price"]) == ("Z1", "BUY", 101.0)
    assert z1["conditions_met"] == {"price > ema": 101.0}
    assert z1["metadata"]["s1_signal_id"] == s1["signal_id"]
    assert z1["metadata"]["stop_loss"] == pytest.approx(99.99)
    assert z1["metadata"]["take_profit"] == pytest.approx(103.02)
    assert drive.manager.phase("surge_long", "BTC_USDT") is Phase.IN_POSITION
    assert await drive.tick(102.5) == []
    [ze1] = await drive.tick(103.1)
    assert (ze1["signal_type"], ze1["action"], ze1["quantity"]) == ("ZE1", "CLOSE", 0.5)
    assert ze1["metadata"]["reason"] == "take_profit"
    assert drive.manager.phase("surge_long", "BTC_USDT") is Phase.IDLE
    assert dict(drive.manager.signal_counts) == {"S1": 1, "Z1": 1, "ZE1": 1}


@pytest.mark.anyio
async def test_stop_loss_is_an_e1_close() -> None:
    drive = await Driver(config()).start()
    await drive.tick(101.0, surge=3.0)
    await drive.tick(101.0)
    [e1] = await drive.tick(99.9)
    assert (e1["signal_type"], e1["action"], e1["metadata"]["reason"]) == ("E1", "CLOSE", "stop_loss")
    assert e1["conditions_met"]["pnl_pct <= -1"] == pytest.approx(-1.0891, abs=1e-4)


@pytest.mark.anyio
async def test_condition_exits_and_e1_wins_over_ze1() -> None:
    strategy = config(e1=(Condition("crash", ">", 0),), ze1=(Condition("pnl_pct", ">", 0.5),))
    drive = await Driver(strategy).start()
    await drive.tick(101.0, surge=3.0)
    await drive.tick(101.0)
    [exit_signal] = await drive.tick(101.6, crash=1.0)
    assert (exit_signal["signal_type"], exit_signal["metadata"]["reason"]) == ("E1", "e1_conditions")
    await drive.tick(101.0, dt=10.0, surge=3.0)
    await drive.tick(101.0)
    [exit_signal] = await drive.tick(101.6)
    assert (exit_signal["signal_type"], exit_signal["metadata"]["reason"]) == ("ZE1", "ze1_conditions")


@pytest.mark.anyio
async def test_s1_without_z1_in_time_is_cancelled() -> None:
    drive = await Driver(config()).start()
    [s1] = await drive.tick(99.0, surge=3.0)
    assert await drive.tick(99.0, dt=10.0) == [], "expiry is after signal_timeout, not at it"
    [cancel] = await drive.tick(101.0, dt=0.5)
    assert (cancel["signal_type"], cancel["action"]) == ("S1", "CANCEL")
    assert cancel["metadata"] == {"side": "LONG", "reason": "s1_expired", "s1_signal_id": s1["signal_id"]}
    assert drive.manager.phase("surge_long", "BTC_USDT") is Phase.IDLE


@pytest.mark.anyio
async def test_short_side_sells_and_profits_when_price_falls() -> None:
    drive = await Driver(config(side="SHORT", z1=(Condition("price", "<", "ema"),))).start()
    await drive.tick(100.0, surge=3.0)
    [z1] = await drive.tick(99.0)
    assert (z1["action"], z1["metadata"]["side"]) == ("SELL", "SHORT")
    assert z1["metadata"]["stop_loss"] > 99.0 > z1["metadata"]["take_profit"]
    [ze1] = await drive.tick(97.0)
    assert (ze1["signal_type"], ze1["metadata"]["reason"]) == ("ZE1", "take_profit")


@pytest.mark.anyio
async def test_notional_sizes_at_the_entry_price() -> None:
    drive = await Driver(config(quantity=None, notional=1_000.0)).start()
    [s1] = await drive.tick(125.0, surge=3.0)
    [z1] = await drive.tick(200.0)
    assert (s1["quantity"], z1["quantity"]) == (8.0, 5.0)


@pytest.mark.anyio
async def test_cooldown_keeps_the_symbol_quiet_after_an_exit() -> None:
    drive = await Driver(config()).start()
    await drive.tick(101.0, surge=3.0)
    await drive.tick(101.0)
    await drive.tick(90.0)  # E1 at T0+3
    assert await drive.tick(101.0, dt=4.0, surge=3.0) == []
    [s1] = await drive.tick(101.0, dt=1.0, surge=3.0)
    assert s1["signal_type"] == "S1"


@pytest.mark.anyio
async def test_warming_indicator_other_sessions_and_other_symbols_give_no_signal() -> None:
    drive = await Driver(config(s1=(Condition("rsi", "<", 30),))).start()
    assert await drive.tick(99.0) == [], "rsi absent (warming up) must not count as met"
    assert await drive.tick(99.0, rsi=10.0, session_id="s2") == []
    assert await drive.tick(99.0, rsi=10.0, symbol="ETH_USDT") == []
    assert len(await drive.tick(99.0, rsi=10.0)) == 1


@pytest.mark.anyio
async def test_every_signal_has_the_documented_fields_and_a_fresh_signal_id() -> None:
    drive = await Driver(config(), config(strategy_id="second", s1=(Condition("surge", ">", 1.5),))).start()
    await drive.tick(101.0, surge=3.0)
    await drive.tick(101.0)
    await drive.tick(105.0)
    signals = drive.recorder.of(topics.SIGNAL_GENERATED)
    assert len(signals) == 6
    assert all(set(s) == SIGNAL_FIELDS for s in signals)
    assert all(s["session_id"] == "s1" and s["triggered"] is True for s in signals)
    ids = [s["signal_id"] for s in signals]
    assert len(set(ids)) == 6 and all(i.startswith("sig_") for i in ids)
    assert [s["strategy_id"] for s in signals] == ["surge_long", "second"] * 3
    assert [s["indicator_values"] for s in signals[:2]] == [{"ema": 100.0, "surge": 3.0}] * 2


@pytest.mark.parametrize(("overrides", "message"), [
    ({"side": "FLAT"}, "side must be one of"),
    ({"quantity": None}, "exactly one of quantity or notional"),
    ({"notional": 100.0}, "exactly one of quantity or notional"),
    ({"quantity": -1}, "exactly one of quantity or notional"),
    ({"stop_loss_pct": 0}, "stop_loss_pct must be a number > 0"),
    ({"signal_timeout": float("inf")}, "signal_timeout must be a number > 0"),
    ({"cooldown": -1}, "cooldown must be a number >= 0"),
    ({"s1": ()}, "s1 needs at least one condition"),
    ({"symbols": ()}, "symbols must be non-empty strings"),
    ({"z1": (Condition("pnl_pct", ">", 1),)}, "z1 reads pnl_pct"),
    ({"e1": ("rsi > 3",)}, "not a Condition"),
])
def test_bad_strategy_configs_are_refused_naming_the_field(overrides: dict, message: str) -> None:
    with pytest.raises(StrategyConfigError, match=message) as caught:
        config(**overrides)
    assert "'surge_long'" in str(caught.value)


@pytest.mark.parametrize(("args", "message"), [
    (("", ">", 1), "indicator must be a non-empty name"),
    (("rsi", "==", 1), "op must be one of"),
    (("rsi", ">", float("nan")), "value must be a finite number or a value name"),
])
def test_bad_conditions_are_refused(args: tuple, message: str) -> None:
    with pytest.raises(StrategyConfigError, match=message):
        Condition(*args)


def test_duplicate_strategy_ids_are_refused() -> None:
    with pytest.raises(StrategyConfigError, match=r"used more than once: \['surge_long'\]"):
        StrategyManager(EventBus(), SeededIds(), VirtualClock(), session_id="s1", strategies=(config(), config()))


def test_references_to_unknown_indicators_are_refused() -> None:
    names = [spec.name for spec in default_indicator_specs()]
    check_indicator_references(default_strategies(), names)
    with pytest.raises(StrategyConfigError, match=r"reads indicators \['surge', 'ema'\]"):
        check_indicator_references((config(),), names)
