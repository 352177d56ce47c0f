"""Silent drops (a write lost without a record) and refusals nobody injected."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.refusals import Refusal, uninjected_refusals
from system.ports import TransientDatabaseError
from tests.contracts.oracle_helpers import INSERT_CART, UPDATE_CART, insert_args, monitor, opened

LOST = TransientDatabaseError("injected fault: connection reset by peer")


@dataclass
class Failure:
    """Shaped like the trading system's PersistenceFailure."""

    table: str
    entity_id: str


def test_a_write_retried_to_success_is_not_a_drop(tmp_path):
    mon = monitor(tmp_path)
    mon.on_statement(UPDATE_CART, (3.0, 1.0, "OPEN", "c1"), LOST)
    mon.on_statement(UPDATE_CART, (3.0, 1.0, "OPEN", "c1"), LOST)
    mon.on_statement(UPDATE_CART, (3.0, 1.0, "OPEN", "c1"), None)
    assert mon.silent_drops() == []


def test_a_dropped_write_is_caught_although_a_later_write_overwrote_the_row(tmp_path):
    mon = monitor(tmp_path)
    mon.on_statement(INSERT_CART, insert_args(opened()), None)
    mon.on_statement(UPDATE_CART, (3.0, 1.0, "OPEN", "c1"), LOST)  # last attempt, then given up
    mon.on_statement(UPDATE_CART, (4.0, 1.0, "OPEN", "c1"), None)  # the next change: the final row looks right
    mon.on_statement(UPDATE_CART, (3.0, 1.0, "OPEN", "c2"), LOST)  # another row, same statement
    [drop] = mon.silent_drops()
    assert drop.rule == "oracle.silent-drop"
    assert drop.details["count"] == 2
    assert drop.details["keys"] == [{"cart_id": "c1"}, {"cart_id": "c2"}]
    assert drop.details["key"] == {"cart_id": "c1"}
    assert drop.details["sql"].startswith("UPDATE carts SET total = $1")
    assert "TransientDatabaseError" in drop.seen


def test_a_recorded_failure_for_the_row_excuses_the_drop(tmp_path):
    mon = monitor(tmp_path)
    mon.on_statement(INSERT_CART, insert_args(opened()), LOST)
    assert [v.rule for v in mon.silent_drops([Failure("carts", "c2")])] == ["oracle.silent-drop"]
    assert mon.silent_drops([Failure("carts", "c1")]) == []
    assert [v.rule for v in mon.silent_drops([Failure("orders", "c1")])] == ["oracle.silent-drop"]
    assert mon.silent_drops([("carts", "c1")]) == []


def test_reads_are_never_drops(tmp_path):
    mon = monitor(tmp_path)
    mon.on_statement("SELECT total FROM carts WHERE cart_id = $1", ("c1",), LOST)
    assert mon.silent_drops() == []


def test_refusals_are_grouped_per_request_and_code_with_the_first_message():
    found = uninjected_refusals([
        Refusal("exchange", "POST /order/submit", "602", "signature verification failed", at="t=1.000"),
        Refusal("exchange", "POST /order/submit", "602", "signature verification failed", at="t=2.000"),
        Refusal("exchange", "POST /order/submit", "600", "vol 0.0001 outside [1, 1000000]"),
    ])
    assert [(v.rule, v.details["code"], v.details["count"]) for v in found] == [
        ("oracle.uninjected-refusal", "602", 2), ("oracle.uninjected-refusal", "600", 1)]
    assert found[0].location == "exchange POST /order/submit at t=1.000"
    assert uninjected_refusals([]) == []


def test_full_system_a_persistence_retry_that_gives_up_silently_is_caught(monkeypatch):
    from sim.harness.scenario import ScenarioSpec, run_scenario
    from system.persistence.service import TradingPersistenceService

    spec = ScenarioSpec(mode="paper", seed=0, policy="random", faults="db-flaky,db_error_rate=0.35")
    honest = run_scenario(spec).violations
    assert "oracle.persistence-failure" in {v.rule for v in honest}  # the control records what it lost
    assert "oracle.silent-drop" not in {v.rule for v in honest}
    monkeypatch.setattr(TradingPersistenceService, "_fail", lambda self, *args: None)  # log nothing, record nothing
    assert "oracle.silent-drop" in {v.rule for v in run_scenario(spec).violations}


def test_full_system_a_signing_change_that_makes_the_exchange_refuse_every_request_is_caught(monkeypatch):
    from sim.harness.scenario import ScenarioSpec, run_scenario
    from system.exchange import client, signing

    def signed_headers(**kwargs):
        kwargs["parameters"] = kwargs["parameters"].replace(" ", "")  # "normalised" before signing
        headers = signing.signed_headers(**kwargs)
        headers["Signature"] = headers["Signature"][::-1]
        return headers

    spec = ScenarioSpec(mode="live", hours=0.5)
    assert "oracle.uninjected-refusal" not in {v.rule for v in run_scenario(spec).violations}
    monkeypatch.setattr(client, "signed_headers", signed_headers)
    found = [v for v in run_scenario(spec).violations if v.rule == "oracle.uninjected-refusal"]
    assert found and {v.details["code"] for v in found} == {"602"}


def _exchange_client(secret: str, plan: str = "none"):
    import httpx

    from sim.world.exchange.api import ExchangeApi
    from sim.world.exchange.transport import SimExchangeTransport
    from sim.world.exchange.venue import Account, SimulatedMexcExchange
    from sim.world.faults import FaultPlan
    from system.exchange import MexcFuturesClient
    from system.exchange.config import ApiCredentials
    from tests.live.helpers import CREDENTIALS, NOW, FixedClock

    key = CREDENTIALS.access_key
    api = ExchangeApi(SimulatedMexcExchange({key: Account(10_000.0)}), {key: CREDENTIALS.secret_key},
                      now=NOW.timestamp)
    transport = SimExchangeTransport(api, FaultPlan.from_spec(plan).injector("exchange", 0))
    http = httpx.AsyncClient(transport=transport, base_url="https://contract.mexc.com")
    return MexcFuturesClient(http, ApiCredentials(key, secret), FixedClock()), api


SOL_ORDER = {"symbol": "SOL_USDT", "side": 4, "type": 5, "vol": 1, "price": 100.0, "leverage": 1,
             "externalOid": "x", "openType": 1}


def test_the_simulated_exchange_records_its_own_refusals_and_not_its_answers():
    import anyio

    from system.exchange import ExchangeError
    from tests.live.helpers import CREDENTIALS

    async def main():
        client, api = _exchange_client(CREDENTIALS.secret_key)
        assert await client.order_by_external_oid("SOL_USDT", "never-placed") is None  # an answer
        for call in (lambda: client.submit_order(SOL_ORDER),   # close of a position not held: 2008
                     lambda: client.cancel_order("424242")):    # an id the exchange never issued: 2009
            try:
                await call()
            except ExchangeError:
                pass
        assert [(r.request, r.code) for r in api.refusals] == [
            ("POST /api/v1/private/order/submit", "2008"), ("POST /api/v1/private/order/cancel", "2009")]
        forged, api = _exchange_client("not-the-secret")
        try:
            await forged.open_positions()
        except ExchangeError:
            pass
        assert [r.code for r in api.refusals] == ["602"]
        injected, api = _exchange_client(CREDENTIALS.secret_key, "exchange_reject_rate=1")
        try:
            await injected.submit_order(SOL_ORDER)
        except ExchangeError:
            pass
        assert api.refusals == []  # the fault plan's refusal is answered by the transport

    anyio.run(main)
