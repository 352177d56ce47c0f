"""End-of-run oracles: what must hold after every simulated session, whatever the schedule.

Each oracle is one small function over :class:`RunFacts` returning violations with a stable
rule id.  They judge the system from the outside (the events it published, the rows it wrote,
what its order manager says), so they keep working when the internals change.

Phases, as in TigerBeetle's VOPR: faults may delay or fail statements during the run
(*safety*: nothing may be lost or doubled); the runner then lets the database catch up
(*liveness*: the WAL applies) before these checks read the tables.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sim.harness.recorder import EventRecorder
from simwire.violation import Violation
from system import topics

ACTIONABLE_TYPES = {"Z1", "ZE1", "E1"}
OUTCOME_TOPICS = (topics.ORDER_CREATED, topics.ORDER_CANCELLED, topics.ORDER_REJECTED)
REL_TOLERANCE = 1e-6


@dataclass
class SessionFacts:
    """What the runner learned about one session once it stopped."""

    session_id: str
    mode: str
    state: str
    orders: list[dict[str, Any]]
    positions: list[dict[str, Any]]
    account: dict[str, float]
    expected_ticks: dict[str, list[float]]
    """Per symbol, the timestamps (epoch seconds) of the market data the session should see."""
    error: str = ""
    """Why the session failed, if it did."""


@dataclass
class RunFacts:
    sessions: list[SessionFacts]
    recorder: EventRecorder
    tables: dict[str, list[dict[str, Any]]]
    persistence_failures: list[Any] = field(default_factory=list)
    leftover_subscriptions: list[str] = field(default_factory=list)
    """``component:role -> topic`` of every subscription still live after the system stopped."""
    location: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


Oracle = Callable[[RunFacts], list[Violation]]


def is_actionable(signal: Mapping[str, Any]) -> bool:
    """The contract of docs/architecture.md: triggered Z1/ZE1/E1, or any CANCEL."""
    if not signal.get("triggered"):
        return False
    return signal.get("signal_type") in ACTIONABLE_TYPES or signal.get("action") == "CANCEL"


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int):
        return math.isclose(float(a), float(b), rel_tol=REL_TOLERANCE, abs_tol=1e-9)
    return a == b


def _sample(items: Iterable[Any], limit: int = 3) -> str:
    items = list(items)
    shown = ", ".join(str(i) for i in items[:limit])
    return f"{shown} (+{len(items) - limit} more)" if len(items) > limit else shown


def _rows(facts: RunFacts, table: str, session_id: str) -> list[dict[str, Any]]:
    return [r for r in facts.tables.get(table, []) if r.get("session_id") == session_id]


# --- the oracles ------------------------------------------------------------------------------


def signals_handled(facts: RunFacts) -> list[Violation]:
    """oracle.signal-unhandled: every actionable signal became an order, a cancel or a rejection.

    This is what catches an order manager that was never created or never started (seed
    defect 1): signals are published, nobody turns them into orders.
    """
    found = []
    for session in facts.sessions:
        signals = [s for s in facts.recorder.of(topics.SIGNAL_GENERATED, session.session_id) if is_actionable(s)]
        answered = {e.get("signal_id") for t in OUTCOME_TOPICS for e in facts.recorder.of(t, session.session_id)}
        missing = [s.get("signal_id") for s in signals if s.get("signal_id") not in answered]
        if missing:
            found.append(Violation(
                "oracle.signal-unhandled",
                f"{len(missing)} of {len(signals)} actionable signals of session {session.session_id} "
                "never became an order, a cancel or a rejection",
                location=f"session {session.session_id} ({session.mode}) {facts.location}",
                expected="order_created / order_cancelled / order_rejected carrying each signal's signal_id",
                seen=f"unanswered signal_ids: {_sample(missing)}",
            ))
    return found


def rows_persisted(facts: RunFacts) -> list[Violation]:
    """oracle.not-persisted / oracle.duplicate-row: every signal, order, fill and position is in
    the database exactly once, under its session."""
    found = []
    for session in facts.sessions:
        sid = session.session_id
        checks = (
            (topics.SIGNAL_GENERATED, "strategy_signals", "signal_id"),
            (topics.ORDER_CREATED, "orders", "order_id"),
            (topics.ORDER_REJECTED, "orders", "order_id"),
            (topics.POSITION_OPENED, "positions", "position_id"),
        )
        for topic, table, key in checks:
            events = facts.recorder.of(topic, sid)
            if not events:
                continue
            rows = _rows(facts, table, sid)
            counts = Counter(r.get(key) for r in rows)
            missing = [e.get(key) for e in events if counts[e.get(key)] == 0]
            doubled = sorted(str(k) for k, n in counts.items() if n > 1)
            if missing:
                found.append(Violation(
                    "oracle.not-persisted",
                    f"{len(missing)} of {len(events)} {topic} events of session {sid} have no row in {table}",
                    location=f"table {table} {facts.location}",
                    expected=f"a {table} row with session_id={sid!r} per {topic} event (matched on {key})",
                    seen=f"missing {key}s: {_sample(missing)}; rows of this session: {len(rows)}",
                ))
            if doubled:
                found.append(Violation(
                    "oracle.duplicate-row",
                    f"{len(doubled)} {key}s of session {sid} have more than one row in {table}",
                    location=f"table {table} {facts.location}",
                    expected=f"exactly one row per {key}",
                    seen=f"duplicated: {_sample(doubled)}",
                ))
        fills = {e.get("order_id"): e for e in facts.recorder.of(topics.ORDER_FILLED, sid)}
        by_id = {r.get("order_id"): r for r in _rows(facts, "orders", sid)}
        stale = [oid for oid, fill in fills.items()
                 if oid in by_id and (by_id[oid].get("status") != fill.get("status")
                                      or not _close(by_id[oid].get("filled_quantity"), fill.get("filled_quantity")))]
        if stale:
            found.append(Violation(
                "oracle.not-persisted",
                f"{len(stale)} fills of session {sid} are not reflected in the orders table",
                location=f"table orders {facts.location}",
                expected="status and filled_quantity of the order_filled event",
                seen=f"order_ids: {_sample(stale)}",
            ))
    return found


def ids_present(facts: RunFacts) -> list[Violation]:
    """oracle.null-id: no trading row lacks its signal_id or session_id (seed defects 2 and 3).

    With ``DEDUP UPSERT KEYS(timestamp, signal_id)`` NULL matches NULL, so signals without
    an id silently overwrite each other: this oracle sees the survivors.
    """
    found = []
    for table, columns in (("strategy_signals", ("signal_id", "session_id")),
                           ("orders", ("session_id",)), ("positions", ("session_id",))):
        rows = facts.tables.get(table, [])
        for column in columns:
            nulls = sum(1 for r in rows if r.get(column) in (None, ""))
            if nulls:
                found.append(Violation(
                    "oracle.null-id",
                    f"{nulls} of {len(rows)} rows of {table} have no {column}",
                    location=f"table {table}.{column} {facts.location}",
                    expected=f"every {table} row carries a non-null {column}",
                    seen=f"{nulls} NULL values",
                ))
    return found


def replay_exactly_once(facts: RunFacts) -> list[Violation]:
    """oracle.replay-exactly-once: each market-data row reached the bus once, in order (defect 6)."""
    found = []
    for session in facts.sessions:
        seen_ticks = facts.recorder.ticks.get(session.session_id, [])
        problems: list[str] = []
        per_symbol: defaultdict[str, list[tuple[int, float]]] = defaultdict(list)
        last_ts = -math.inf
        for symbol, seq, ts, *_ in seen_ticks:
            per_symbol[symbol].append((seq, ts))
            if ts < last_ts and not problems:
                problems.append(f"{symbol} tick at {ts} published after a tick at {last_ts}")
            last_ts = max(last_ts, ts)
        for symbol in sorted(set(session.expected_ticks) | set(per_symbol)):
            expected = session.expected_ticks.get(symbol, [])
            got = per_symbol.get(symbol, [])
            seqs = [s for s, _ in got]
            if seqs != list(range(len(expected))):
                dup = sorted(s for s, n in Counter(seqs).items() if n > 1)
                problems.append(
                    f"{symbol}: {len(got)} published for {len(expected)} rows"
                    + (f", duplicated seq {_sample(dup)}" if dup else "")
                    + ("" if dup or len(got) != len(expected) else ", out of order")
                )
            elif [ts for _, ts in got] != expected and any(  # equal lists (the usual case): all close
                    not _close(ts, want) for (_, ts), want in zip(got, expected, strict=True)):
                problems.append(f"{symbol}: published timestamps differ from the stored rows")
        if problems:
            found.append(Violation(
                "oracle.replay-exactly-once",
                f"market data of session {session.session_id} was not replayed exactly once in order",
                location=f"topic {topics.MARKET_PRICE_UPDATE} {facts.location}",
                expected="every stored row published once, per-symbol seq 0..n-1, timestamps non-decreasing",
                seen="; ".join(problems[:4]),
            ))
    return found


POSITION_FIELDS = ("symbol", "side", "status", "quantity", "entry_price", "realized_pnl")
ORDER_FIELDS = ("symbol", "side", "order_type", "status", "quantity", "price", "filled_quantity", "filled_price",
                "commission", "signal_id")


def _table_matches(facts: RunFacts, rule: str, table: str, key: str, fields: Sequence[str],
                   manager_rows: Callable[[SessionFacts], list[dict[str, Any]]]) -> list[Violation]:
    """The table's rows of each session equal the order manager's view, row by row, column by column."""
    found = []
    for session in facts.sessions:
        db = {r.get(key): r for r in _rows(facts, table, session.session_id)}
        om = {r.get(key): r for r in manager_rows(session)}
        diffs = []
        for rid in sorted(set(db) | set(om), key=str):
            if rid not in db or rid not in om:
                diffs.append(f"{rid}: {'only in the order manager' if rid in om else 'only in the database'}")
                continue
            diffs += [f"{rid}.{name}: db={db[rid].get(name)!r} om={om[rid][name]!r}"
                      for name in fields if name in om[rid] and not _close(db[rid].get(name), om[rid][name])]
        if diffs:
            found.append(Violation(
                rule,
                f"{len(diffs)} differences between the {table} table and the order manager "
                f"for session {session.session_id}",
                location=f"table {table} {facts.location}",
                expected=f"equal {', '.join(fields)} for every row",
                seen=_sample(diffs),
            ))
    return found


def positions_match(facts: RunFacts) -> list[Violation]:
    """oracle.positions-mismatch: the positions table equals the order manager's positions."""
    return _table_matches(facts, "oracle.positions-mismatch", "positions", "position_id", POSITION_FIELDS,
                          lambda session: session.positions)


def orders_match(facts: RunFacts) -> list[Violation]:
    """oracle.orders-mismatch: the orders table equals the order manager's orders, column by column.

    Catches writes that reach the right row with the wrong values (swapped arguments, a
    column fed from the wrong event field)."""
    return _table_matches(facts, "oracle.orders-mismatch", "orders", "order_id", ORDER_FIELDS,
                          lambda session: session.orders)


def sessions_isolated(facts: RunFacts) -> list[Violation]:
    """oracle.session-isolation: sessions share nothing they should not.

    Every order answers a signal of its own session, and sessions run on the same spec and
    data (``--sessions N``) produce the same trading, as each would alone."""
    found = []
    signals_of = {s.session_id: {e.get("signal_id") for e in facts.recorder.of(topics.SIGNAL_GENERATED, s.session_id)}
                  for s in facts.sessions}
    for session in facts.sessions:
        foreign = [e.get("order_id") for t in OUTCOME_TOPICS for e in facts.recorder.of(t, session.session_id)
                   if e.get("signal_id") not in signals_of[session.session_id]]
        if foreign:
            found.append(Violation(
                "oracle.session-isolation",
                f"{len(foreign)} orders of session {session.session_id} answer signals of another session",
                location=f"session {session.session_id} {facts.location}",
                expected="every order's signal_id is a signal of the same session",
                seen=f"order_ids: {_sample(foreign)}",
            ))
    if len(facts.sessions) > 1:
        shapes = {s.session_id: _trading_shape(facts, s.session_id) for s in facts.sessions}
        first_id, first = next(iter(shapes.items()))
        for sid, shape in shapes.items():
            if shape != first:
                found.append(Violation(
                    "oracle.session-isolation",
                    f"sessions {first_id} and {sid} ran the same spec on the same data but traded differently",
                    location=f"session {sid} {facts.location}",
                    expected=f"the same counts as {first_id}: {first}", seen=str(shape),
                ))
    return found


def _trading_shape(facts: RunFacts, session_id: str) -> dict[str, Any]:
    shape: dict[str, Any] = {t: len(facts.recorder.of(t, session_id)) for t in (
        topics.SIGNAL_GENERATED, topics.ORDER_CREATED, topics.ORDER_FILLED, topics.ORDER_REJECTED,
        topics.POSITION_OPENED, topics.POSITION_CLOSED)}
    shape["realized_pnl"] = round(sum(c.get("realized_pnl", 0.0) for c in
                                      facts.recorder.of(topics.POSITION_CLOSED, session_id)), 6)
    return shape


def accounting_balances(facts: RunFacts) -> list[Violation]:
    """oracle.accounting: balance = initial + realized PnL - fees, and both sums match the events."""
    found = []
    restarted = bool(facts.extra.get("crashes"))
    for session in facts.sessions:
        acct = session.account
        fills = facts.recorder.of(topics.ORDER_FILLED, session.session_id)
        closes = facts.recorder.of(topics.POSITION_CLOSED, session.session_id)
        checks = [
            ("balance", acct.get("balance"),
             acct.get("initial_balance", 0.0) + acct.get("realized_pnl", 0.0) - acct.get("fees", 0.0)),
            ("fees in orders table", sum((r.get("commission") or 0.0) for r in
                                         _rows(facts, "orders", session.session_id)), acct.get("fees")),
        ]
        if restarted:  # the book came back from the tables: only the tables hold its whole life
            checks.append(("realized_pnl in positions table", sum(
                (r.get("realized_pnl") or 0.0) for r in _rows(facts, "positions", session.session_id)),
                acct.get("realized_pnl")))
        else:
            checks += [("fees", acct.get("fees"), sum(f.get("commission", 0.0) for f in fills)),
                       ("realized_pnl", acct.get("realized_pnl"), sum(c.get("realized_pnl", 0.0) for c in closes))]
        wrong = [f"{name}: {got!r} != {want!r}" for name, got, want in checks
                 if got is None or want is None or not _close(got, want)]
        wrong += (_row_pnl_errors if restarted else _position_pnl_errors)(facts, session.session_id)
        if wrong:
            found.append(Violation(
                "oracle.accounting",
                f"accounts of session {session.session_id} do not balance",
                location=f"session {session.session_id} {facts.location}",
                expected="balance == initial + realized_pnl - fees; fees == sum of fill commissions; "
                         "realized_pnl == sum over position_closed",
                seen="; ".join(wrong),
            ))
    return found


def _position_pnl_errors(facts: RunFacts, session_id: str) -> list[str]:
    """Recompute each closed position's realized PnL from its own events: (exit - entry) x qty,
    negated for SHORT, with entry and quantity as last reported before the close."""
    state: dict[Any, dict[str, Any]] = {}
    for topic in (topics.POSITION_OPENED, topics.POSITION_UPDATED):
        for event in facts.recorder.of(topic, session_id):
            known = state.setdefault(event.get("position_id"), {})
            if topic == topics.POSITION_OPENED:
                known["side"] = event.get("side")
            if known.get("at", -math.inf) <= event.get("timestamp", 0.0):
                known.update(at=event.get("timestamp", 0.0), entry=event.get("entry_price"),
                             quantity=event.get("quantity"))
    wrong = []
    for close in facts.recorder.of(topics.POSITION_CLOSED, session_id):
        known = state.get(close.get("position_id"), {})
        if not {"side", "entry", "quantity"} <= known.keys():
            wrong.append(f"position {close.get('position_id')} closed but never opened")
            continue
        want = _price_pnl(known["side"], known["entry"], close.get("current_price", 0.0), known["quantity"])
        if not _close(close.get("realized_pnl"), want):
            wrong.append(f"position {close.get('position_id')} ({known['side']}) realized_pnl "
                         f"{close.get('realized_pnl')!r} != (exit - entry) x qty = {want!r}")
    return wrong


def _price_pnl(side: Any, entry: float, exit_price: float, quantity: float) -> float:
    """(exit - entry) x quantity, negated for SHORT: a closed position's realized PnL before fees."""
    return (-1.0 if side == "SHORT" else 1.0) * (exit_price - entry) * quantity


def _row_pnl_errors(facts: RunFacts, session_id: str) -> list[str]:
    """Each CLOSED position row's realized PnL from the row itself: (exit - entry) x qty, negated
    for SHORT (after a restart, where the events of the process that opened it are gone)."""
    wrong = []
    for row in _rows(facts, "positions", session_id):
        if row.get("status") != "CLOSED":
            continue
        want = _price_pnl(row.get("side"), row.get("entry_price") or 0.0, row.get("current_price") or 0.0,
                          row.get("quantity") or 0.0)
        if not _close(row.get("realized_pnl"), want):
            wrong.append(f"position {row.get('position_id')} ({row.get('side')}) realized_pnl "
                         f"{row.get('realized_pnl')!r} != (exit - entry) x qty = {want!r}")
    return wrong


def terminal_state(facts: RunFacts) -> list[Violation]:
    """oracle.session-not-stopped: every session ended in STOPPED."""
    return [
        Violation(
            "oracle.session-not-stopped",
            f"session {s.session_id} ended in {s.state}, not STOPPED",
            location=f"session {s.session_id} {facts.location}",
            expected="STOPPED", seen=f"{s.state}: {s.error}" if s.error else s.state,
        )
        for s in facts.sessions if s.state != "STOPPED"
    ]


FINISHED_STATES = ("STOPPED", "FAILED", "INTERRUPTED")


def sessions_finished(session_rows: Iterable[Mapping[str, Any]], *, location: str = "") -> list[Violation]:
    """oracle.session-left-running: once the system stopped, no ``sessions`` row says a session
    still runs (after a crash: the recovery settled every session the dead process left open)."""
    open_rows = [f"{row.get('session_id')}: {row.get('status')}" for row in session_rows
                 if row.get("status") not in FINISHED_STATES]
    if not open_rows:
        return []
    return [Violation(
        "oracle.session-left-running", f"{len(open_rows)} sessions are recorded as unfinished after the run",
        location=f"table sessions {location}", expected=f"status one of {', '.join(FINISHED_STATES)}",
        seen=_sample(open_rows))]


def no_subscription_left(facts: RunFacts) -> list[Violation]:
    """oracle.subscription-leak: once the system has stopped, nobody is subscribed any more.

    A handler left subscribed after its component stopped keeps acting on events of later
    sessions (or of nobody), and keeps its component alive."""
    if not facts.leftover_subscriptions:
        return []
    return [Violation(
        "oracle.subscription-leak",
        f"{len(facts.leftover_subscriptions)} subscription(s) still live after the system stopped",
        location=f"event bus {facts.location}",
        expected="every component's stop() unsubscribes what its start() subscribed",
        seen=_sample(facts.leftover_subscriptions, 6),
    )]


def nothing_lost(facts: RunFacts) -> list[Violation]:
    """oracle.persistence-failure: the persistence service gave up on a write (and said so)."""
    by_reason: Counter[tuple[str, str]] = Counter(
        (f"{f.table} {f.topic}", str(f.reason)) for f in facts.persistence_failures
    )
    return [
        Violation(
            "oracle.persistence-failure",
            f"{n} write(s) for {what} failed and were not stored",
            location=f"{what} {facts.location}",
            expected="every event of the trading record stored (transient errors retried)", seen=reason,
        )
        for (what, reason), n in sorted(by_reason.items())
    ]


def handler_errors(facts: RunFacts) -> list[Violation]:
    """oracle.handler-error: a subscriber raised (the bus isolated it, but work was lost)."""
    by_site: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for topic, name, error in facts.recorder.handler_errors:
        by_site[(topic, name, type(error).__name__)].append(str(error))
    return [
        Violation(
            "oracle.handler-error",
            f"{name} raised {kind} while handling {topic} ({len(messages)} times)",
            location=f"topic {topic} {facts.location}",
            expected="handlers complete", seen=f"first: {messages[0]}",
        )
        for (topic, name, kind), messages in sorted(by_site.items())
    ]


# --- live mode: the exchange's books against the system's ------------------------------------
#
# ``facts.extra["exchange"]`` (``sim.world.exchange.LiveVenue.facts()``): ``orders`` (the exchange's
# order views, every order it accepted, plus ``dealQuantity`` in base units), ``positions``
# ((symbol, LONG/SHORT) -> (quantity in base units, average price)), ``secrets`` (the run's
# API key pair).

_FILLED_ON_EXCHANGE = 3  # order state "completed"


def _exchange(facts: RunFacts) -> dict[str, Any] | None:
    return facts.extra.get("exchange")


def _local_orders(facts: RunFacts) -> dict[str, dict[str, Any]]:
    """Every order sent (or meant) for the exchange, by external oid, across sessions."""
    return {o["metadata"]["external_oid"]: o for s in facts.sessions for o in s.orders
            if o.get("metadata", {}).get("external_oid") and o.get("status") != "REJECTED"}


def live_no_duplicate_orders(facts: RunFacts) -> list[Violation]:
    """oracle.live-duplicate-order: the exchange holds at most one order per client order id
    (``externalOid``), and none the system does not know, whatever the faults did to replies."""
    exchange = _exchange(facts)
    if exchange is None:
        return []
    counts = Counter(order["externalOid"] for order in exchange["orders"])
    doubled = sorted(oid for oid, n in counts.items() if n > 1)
    local = _local_orders(facts)
    unknown = sorted(oid for oid in counts if oid not in local)
    found = []
    if doubled:
        found.append(Violation(
            "oracle.live-duplicate-order",
            f"{len(doubled)} client order ids were placed more than once on the exchange",
            location=f"exchange orders {facts.location}", expected="one exchange order per externalOid",
            seen=f"externalOids: {_sample(doubled)} ({sum(counts[o] for o in doubled)} orders)"))
    if unknown:
        found.append(Violation(
            "oracle.live-duplicate-order", f"{len(unknown)} exchange orders belong to no order of the system",
            location=f"exchange orders {facts.location}", expected="every exchange order answers a local order",
            seen=f"externalOids: {_sample(unknown)}"))
    return found


def live_orders_settled(facts: RunFacts) -> list[Violation]:
    """oracle.live-order-lost: each order has the same fate on the exchange and in the system:
    filled there (completed) exactly when FILLED here, with the same quantity and average price."""
    exchange = _exchange(facts)
    if exchange is None:
        return []
    latest = {order["externalOid"]: order for order in exchange["orders"]}
    problems = []
    for oid, order in _local_orders(facts).items():
        there = latest.get(oid)
        filled_there = there is not None and there["state"] == _FILLED_ON_EXCHANGE
        if filled_there != (order["status"] == "FILLED"):
            problems.append(f"{order['order_id']} ({oid}): {order['status']} here, "
                            f"{'absent' if there is None else 'state ' + str(there['state'])} on the exchange")
        elif filled_there and not (_close(order["filled_quantity"], there["dealQuantity"])
                                   and _close(order["filled_price"], there["dealAvgPrice"])):
            problems.append(f"{order['order_id']} ({oid}): filled {order['filled_quantity']} @ "
                            f"{order['filled_price']} here, {there['dealQuantity']} @ {there['dealAvgPrice']} there")
    if not problems:
        return []
    return [Violation(
        "oracle.live-order-lost", f"{len(problems)} orders ended differently on the exchange and in the system",
        location=f"exchange orders {facts.location}",
        expected="FILLED locally exactly when completed on the exchange", seen=_sample(problems))]


def _book(positions: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], tuple[float, float]]:
    """OPEN positions summed by (symbol, side): (quantity, quantity-weighted entry price)."""
    held: dict[tuple[str, str], list[float]] = {}
    for p in positions:
        if p.get("status") == "OPEN":
            total = held.setdefault((p["symbol"], p["side"]), [0.0, 0.0])
            total[0] += p["quantity"]
            total[1] += p["quantity"] * p["entry_price"]
    return {key: (qty, value / qty if qty else 0.0) for key, (qty, value) in held.items()}


_WORKING_ON_EXCHANGE = (1, 2)  # uninformed, uncompleted
_OPENS = {1: "LONG", 3: "SHORT"}
_CLOSES = {4: "LONG", 2: "SHORT"}


def _settled_exchange_book(exchange: Mapping[str, Any]) -> dict[tuple[str, str], tuple[float, float]]:
    """The exchange's positions without the deals of orders still working when the market
    ended: the system books an order when it is complete, so those deals are not its yet."""
    book = {key: [qty, qty * price] for key, (qty, price) in exchange["positions"].items()}
    for order in exchange["orders"]:
        if order["state"] not in _WORKING_ON_EXCHANGE or not order["dealVol"]:
            continue
        side = order["side"]
        key = (order["symbol"], _OPENS.get(side) or _CLOSES[side])
        qty, value = book.setdefault(key, [0.0, 0.0])
        if side in _OPENS:
            book[key] = [qty - order["dealQuantity"], value - order["dealQuantity"] * order["dealAvgPrice"]]
        else:  # a partial close left the average price as it was
            average = value / qty if qty else 0.0
            book[key] = [qty + order["dealQuantity"], (qty + order["dealQuantity"]) * average]
    return {key: (qty, value / qty) for key, (qty, value) in book.items() if qty > 1e-12}


def live_positions_match(facts: RunFacts) -> list[Violation]:
    """oracle.live-positions-mismatch: after the run, exchange positions == the order managers'
    open positions == the positions table's OPEN rows (quantity and average entry price).
    Orders still partially filled when the market ended are set aside (see
    :func:`_settled_exchange_book`); ``live_orders_settled`` checks their local order is NEW."""
    exchange = _exchange(facts)
    if exchange is None:
        return []
    books = {
        "exchange": _settled_exchange_book(exchange),
        "local": _book(p for s in facts.sessions for p in s.positions),
        "database": _book(r for r in facts.tables.get("positions", [])
                          if r.get("session_id") in {s.session_id for s in facts.sessions}),
    }
    diffs = []
    for key in sorted(set().union(*books.values())):
        seen = {name: book.get(key, (0.0, 0.0)) for name, book in books.items()}
        if not all(_close(v[0], seen["exchange"][0]) and (not v[0] or _close(v[1], seen["exchange"][1]))
                   for v in seen.values()):
            diffs.append(f"{key[0]} {key[1]}: " + ", ".join(f"{name} {q:g} @ {p:g}" for name, (q, p) in seen.items()))
    if not diffs:
        return []
    return [Violation(
        "oracle.live-positions-mismatch",
        f"{len(diffs)} positions differ between exchange, order managers and database",
        location=f"positions {facts.location}", expected="equal quantity and entry price in all three",
        seen=_sample(diffs))]


def no_secret_leaked(facts: RunFacts) -> list[Violation]:
    """oracle.secret-leaked: the API key pair appears in no event payload and no table row."""
    exchange = _exchange(facts)
    if exchange is None:
        return []
    places = [(f"event {topic}", payload) for topic, payloads in facts.recorder.events.items() for payload in payloads]
    places += [(f"table {table}", row) for table, rows in facts.tables.items() for row in rows]
    leaks = sorted({where for where, item in places for secret in exchange["secrets"] if secret in repr(item)})
    if not leaks:
        return []
    return [Violation(
        "oracle.secret-leaked", f"API credentials were written into {len(leaks)} kinds of record",
        location=f"{leaks[0]} {facts.location}", expected="credentials only in the signed request headers",
        seen=_sample(leaks, 6))]


ORACLES: Sequence[Oracle] = (
    signals_handled, rows_persisted, ids_present, replay_exactly_once,
    positions_match, orders_match, sessions_isolated, accounting_balances, terminal_state, handler_errors,
    nothing_lost, no_subscription_left,
    live_no_duplicate_orders, live_orders_settled, live_positions_match, no_secret_leaked,
)


def check_all(facts: RunFacts) -> list[Violation]:
    return [v for oracle in ORACLES for v in oracle(facts)]
