"""Streaming indicators against naive reference implementations, and the engine's contract."""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from system import topics
from system.bus import EventBus
from system.indicators import (
    IndicatorInputError,
    IndicatorSpec,
    IndicatorSpecError,
    StreamingIndicatorEngine,
    default_indicator_specs,
)
from system.indicators.spec import check_unique_names
from system.indicators.streaming import make_indicator, rsi_from_averages
from tests.system.bus_recorder import Recorder

Tick = tuple[float, float, float]  # timestamp, price, volume
EPOCH = 1_736_121_600.0  # 2025-01-06T00:00:00Z: realistic magnitudes for float rounding


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return request.param


# -- naive references: recompute from the whole history at every tick ------------------------


def ema_reference(ticks: list[Tick], period: int) -> float | None:
    prices = [price for _, price, _ in ticks]
    if len(prices) < period:
        return None
    value = sum(prices[:period]) / period
    for price in prices[period:]:
        value = value + 2.0 / (period + 1) * (price - value)
    return value


def rsi_reference(ticks: list[Tick], period: int) -> float | None:
    prices = [price for _, price, _ in ticks]
    changes = [b - a for a, b in pairwise(prices)]
    if len(changes) < period:
        return None
    gains = [max(c, 0.0) for c in changes]
    losses = [max(-c, 0.0) for c in changes]
    avg_gain, avg_loss = sum(gains[:period]) / period, sum(losses[:period]) / period
    for gain, loss in zip(gains[period:], losses[period:], strict=True):
        avg_gain = (avg_gain * (period - 1) + gain) / period
        avg_loss = (avg_loss * (period - 1) + loss) / period
    return rsi_from_averages(avg_gain, avg_loss)


def in_window(ticks: list[Tick], window: float) -> list[Tick]:
    horizon = ticks[-1][0] - window
    return [tick for tick in ticks if tick[0] > horizon]


def vwap_reference(ticks: list[Tick], window: float) -> float:
    recent = in_window(ticks, window)
    volume = sum(v for _, _, v in recent)
    return sum(p * v for _, p, v in recent) / volume if volume > 0 else ticks[-1][1]


def twap_reference(ticks: list[Tick], window: float) -> float:
    now = ticks[-1][0]
    start = max(ticks[0][0], now - window)
    area = 0.0
    for (t0, price, _), (t1, _, _) in pairwise(ticks):
        overlap = min(t1, now) - max(t0, start)
        if overlap > 0:
            area += price * overlap
    return area / (now - start) if now > start else ticks[-1][1]


def velocity_reference(ticks: list[Tick], window: float) -> float | None:
    now, price, _ = ticks[-1]
    older = [tick for tick in ticks if tick[0] <= now - window]
    if not older:
        return None
    then, reference, _ = older[-1]
    return (price / reference - 1.0) * 100.0 / (now - then)


def surge_reference(ticks: list[Tick], window: float, long_window: float) -> float | None:
    if ticks[-1][0] - ticks[0][0] < long_window:
        return None
    long_volume = sum(v for _, _, v in in_window(ticks, long_window))
    short_volume = sum(v for _, _, v in in_window(ticks, window))
    return short_volume * long_window / (window * long_volume) if long_volume > 0 else 0.0


# -- property tests --------------------------------------------------------------------------

tick_steps = st.lists(
    st.tuples(
        st.sampled_from([0.0, 0.25, 1.0, 1.0, 1.0, 3.0, 7.5, 40.0]),
        st.floats(1.0, 100_000.0),
        st.one_of(st.just(0.0), st.floats(0.01, 1_000.0)),
    ),
    min_size=1, max_size=80,
)


def as_ticks(steps: list[tuple[float, float, float]]) -> list[Tick]:
    ticks, now = [], EPOCH
    for dt, price, volume in steps:
        now += dt
        ticks.append((now, price, volume))
    return ticks


CASES: list[tuple[IndicatorSpec, Callable[[list[Tick]], float | None]]] = [
    (IndicatorSpec("ema", period=1), lambda t: ema_reference(t, 1)),
    (IndicatorSpec("ema", period=5), lambda t: ema_reference(t, 5)),
    (IndicatorSpec("rsi", period=3), lambda t: rsi_reference(t, 3)),
    (IndicatorSpec("rsi", period=14), lambda t: rsi_reference(t, 14)),
    (IndicatorSpec("vwap", window=5), lambda t: vwap_reference(t, 5)),
    (IndicatorSpec("vwap", window=60), lambda t: vwap_reference(t, 60)),
    (IndicatorSpec("twap", window=4), lambda t: twap_reference(t, 4)),
    (IndicatorSpec("twap", window=60), lambda t: twap_reference(t, 60)),
    (IndicatorSpec("velocity", window=3), lambda t: velocity_reference(t, 3)),
    (IndicatorSpec("velocity", window=30), lambda t: velocity_reference(t, 30)),
    (IndicatorSpec("volume_surge", window=2, long_window=10), lambda t: surge_reference(t, 2, 10)),
    (IndicatorSpec("volume_surge", window=30, long_window=120), lambda t: surge_reference(t, 30, 120)),
]


@pytest.mark.parametrize(("spec", "reference"), CASES, ids=[spec.name for spec, _ in CASES])
@settings(max_examples=60, deadline=None)
@given(steps=tick_steps)
def test_incremental_indicator_matches_naive_reference(
    spec: IndicatorSpec, reference: Callable[[list[Tick]], float | None], steps: list[tuple[float, float, float]]
) -> None:
    ticks = as_ticks(steps)
    indicator = make_indicator(spec)
    for index, tick in enumerate(ticks):
        got = indicator.update(*tick)
        expected = reference(ticks[: index + 1])
        if expected is None:
            assert got is None, f"{spec.name} tick {index}: warm too early ({got})"
        else:
            assert got is not None, f"{spec.name} tick {index}: still warming, expected {expected}"
            assert math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-6), (
                f"{spec.name} tick {index}: {got} != {expected}"
            )


def test_rsi_extremes_are_defined() -> None:
    rising, falling, flat = (make_indicator(IndicatorSpec("rsi", period=2)) for _ in range(3))
    for step in range(4):
        last_up = rising.update(EPOCH + step, 100.0 + step, 1.0)
        last_down = falling.update(EPOCH + step, 100.0 - step, 1.0)
        last_flat = flat.update(EPOCH + step, 100.0, 1.0)
    assert (last_up, last_down, last_flat) == (100.0, 0.0, 50.0)


@pytest.mark.parametrize(("spec", "first_warm"), [
    (IndicatorSpec("ema", period=4), 3),
    (IndicatorSpec("rsi", period=4), 4),
    (IndicatorSpec("velocity", window=3), 3),
    (IndicatorSpec("volume_surge", window=2, long_window=10), 10),
    (IndicatorSpec("vwap", window=5), 0),
    (IndicatorSpec("twap", window=5), 0),
])
def test_warm_up_ends_exactly_where_documented(spec: IndicatorSpec, first_warm: int) -> None:
    indicator = make_indicator(spec)
    warm = [indicator.update(EPOCH + second, 100.0 + second % 3, 1.0) is not None for second in range(12)]
    assert warm == [second >= first_warm for second in range(12)]


def test_rolling_volume_resets_to_exact_zero_when_the_window_empties() -> None:
    """Float drift from add/subtract must not turn "no volume" into a surge."""
    surge = make_indicator(IndicatorSpec("volume_surge", window=1, long_window=2))
    surge.update(EPOCH, 10.0, 0.1)
    surge.update(EPOCH + 0.5, 10.0, 0.2)
    for step in range(3, 12):
        value = surge.update(EPOCH + step, 10.0, 0.0)
    assert value == 0.0


# -- specs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kind": "ema", "period": 0}, "period must be an integer >= 1"),
    ({"kind": "rsi", "period": 2.5}, "period must be an integer >= 1"),
    ({"kind": "twap", "window": 0}, "window must be > 0"),
    ({"kind": "velocity", "window": float("nan")}, "window must be > 0"),
    ({"kind": "volume_surge", "window": 60, "long_window": 60}, "long_window must be > window"),
    ({"kind": "macd", "period": 3}, "kind must be one of"),
])
def test_bad_specs_are_refused_with_the_field_named(kwargs: dict, message: str) -> None:
    with pytest.raises(IndicatorSpecError, match=message):
        IndicatorSpec(**kwargs)


def test_names_default_from_kind_and_window_and_must_be_unique() -> None:
    assert [spec.name for spec in default_indicator_specs()] == [
        "ema_20", "ema_60", "rsi_14", "vwap_300", "twap_300", "velocity_30", "volume_surge_30_600",
    ]
    with pytest.raises(IndicatorSpecError, match="'ema_5' used twice"):
        check_unique_names((IndicatorSpec("ema", period=5), IndicatorSpec("twap", window=9, name="ema_5")))
    with pytest.raises(IndicatorSpecError, match="reserved"):
        check_unique_names((IndicatorSpec("ema", period=5, name="price"),))


# -- engine ----------------------------------------------------------------------------------


def price_update(symbol: str, timestamp: float, price: float, volume: float = 1.0, *,
                 session_id: str = "s1", seq: int = 0) -> dict:
    return {"session_id": session_id, "symbol": symbol, "price": price, "volume": volume,
            "quote_volume": price * volume, "timestamp": timestamp, "seq": seq, "source": "historical"}


async def started_engine(specs: tuple[IndicatorSpec, ...]) -> tuple[EventBus, StreamingIndicatorEngine, Recorder]:
    bus = EventBus()
    engine = StreamingIndicatorEngine(bus, session_id="s1", specs=specs)
    await engine.start()
    recorder = await Recorder().attach(bus, topics.INDICATOR_UPDATED)
    return bus, engine, recorder


@pytest.mark.anyio
async def test_engine_publishes_one_update_per_price_with_warm_values_only() -> None:
    bus, engine, recorder = await started_engine((IndicatorSpec("ema", period=3), IndicatorSpec("vwap", window=60)))
    for seq, price in enumerate([10.0, 11.0, 12.0, 13.0]):
        await bus.publish(topics.MARKET_PRICE_UPDATE, price_update("BTC_USDT", EPOCH + seq, price, seq=seq))
    await bus.publish(topics.MARKET_PRICE_UPDATE, price_update("BTC_USDT", EPOCH + 9, 99.0, session_id="other"))
    updates = recorder.of(topics.INDICATOR_UPDATED)
    assert len(updates) == 4 and engine.updates_published == 4
    assert all(set(u) == {"session_id", "symbol", "timestamp", "price", "values"} for u in updates)
    assert all(u["session_id"] == "s1" and u["symbol"] == "BTC_USDT" for u in updates)
    assert [sorted(u["values"]) for u in updates] == [["vwap_60"], ["vwap_60"], ["ema_3", "vwap_60"],
                                                      ["ema_3", "vwap_60"]]
    assert updates[2]["values"]["ema_3"] == pytest.approx(11.0)
    assert updates[3]["values"]["ema_3"] == pytest.approx(12.0)
    assert [u["timestamp"] for u in updates] == [EPOCH, EPOCH + 1, EPOCH + 2, EPOCH + 3]


@pytest.mark.anyio
async def test_symbols_are_independent() -> None:
    specs = (IndicatorSpec("ema", period=2), IndicatorSpec("twap", window=10))
    bus, _, recorder = await started_engine(specs)
    alone_bus, _, alone = await started_engine(specs)
    for step in range(6):
        await bus.publish(topics.MARKET_PRICE_UPDATE, price_update("BTC_USDT", EPOCH + step, 100.0 + step))
        await bus.publish(topics.MARKET_PRICE_UPDATE, price_update("ETH_USDT", EPOCH + step, 5.0 * step + 1))
        await alone_bus.publish(topics.MARKET_PRICE_UPDATE, price_update("BTC_USDT", EPOCH + step, 100.0 + step))
    btc = [u["values"] for u in recorder.of(topics.INDICATOR_UPDATED) if u["symbol"] == "BTC_USDT"]
    assert btc == [u["values"] for u in alone.of(topics.INDICATOR_UPDATED)]


@pytest.mark.anyio
@pytest.mark.parametrize(("bad", "message"), [
    ({"price": 0.0}, "price must be a finite number > 0, got 0.0"),
    ({"price": "101.5"}, "price must be a finite number > 0, got '101.5'"),
    ({"volume": float("nan")}, "volume must be a finite number >= 0"),
    ({"timestamp": EPOCH - 1}, "timestamp must be epoch seconds >= the previous"),
])
async def test_bad_price_updates_fail_loudly_naming_session_symbol_and_field(bad: dict, message: str) -> None:
    bus, _, recorder = await started_engine((IndicatorSpec("ema", period=2),))
    await bus.publish(topics.MARKET_PRICE_UPDATE, price_update("SOL_USDT", EPOCH, 100.0))
    await bus.publish(topics.MARKET_PRICE_UPDATE, {**price_update("SOL_USDT", EPOCH + 1, 100.0, seq=1), **bad})
    assert len(recorder.of(topics.INDICATOR_UPDATED)) == 1, "a bad update must not be published"
    [(subscriber, error)] = recorder.errors
    assert subscriber == "StreamingIndicatorEngine:indicators"
    assert isinstance(error, IndicatorInputError)
    assert "session=s1 symbol=SOL_USDT seq=1" in str(error) and message in str(error)


@pytest.mark.anyio
async def test_start_and_stop_are_idempotent() -> None:
    bus, engine, _ = await started_engine((IndicatorSpec("ema", period=2),))
    await engine.start()
    assert [s.name for s in bus.subscribers(topics.MARKET_PRICE_UPDATE)] == ["StreamingIndicatorEngine:indicators"]
    await engine.stop()
    await engine.stop()
    assert bus.subscribers(topics.MARKET_PRICE_UPDATE) == ()
