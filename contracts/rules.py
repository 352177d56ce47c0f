"""The catalogue of rule ids: every finding simwire can report, in one place.

Each entry says what the rule catches, why it matters and the smallest code that trips it.
``docs/rules.md`` is generated from this module (``python -m contracts.rules > docs/rules.md``)
and a test keeps the two equal, and checks that every rule id used anywhere in the code is
listed here.  Rule ids are stable: tools, CI filters and people grep for them.

Build findings with :func:`violation`, which takes the severity from the catalogue, so a rule
id that is not catalogued fails loudly the first time it is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simwire.violation import Severity, Violation

E, W = Severity.ERROR, Severity.WARNING


@dataclass(frozen=True)
class Rule:
    """One rule.  ``reporter`` names the tool that raises it; ``example`` is minimal code or
    a minimal situation that triggers it."""

    id: str
    severity: Severity
    reporter: str
    summary: str
    why: str
    example: str


_STATIC = "static scanner (`simwire check`)"
_CROSS = "registry cross-check (`simwire check`)"
_SQL = "SQL checker (`simwire check`, runtime monitor)"
_SCHEMA = "schema model (`simwire check`)"
_MONITOR = "runtime monitor (`simwire run`, pytest plugin)"
_KERNEL = "simulation kernel (`simwire run`)"
_ORACLE = "end-of-run oracle (`simwire run`)"
_MODEL = "reference model (`simwire run`)"
_LIVE = "live schema check (`simwire run --db`, tests/real)"

RULES: tuple[Rule, ...] = (
    # -- static scanner: registry-free -----------------------------------------------------
    Rule("static.syntax-error", E, _STATIC, "A scanned file does not parse.",
         "Nothing in an unparsable file can be checked; skipping it silently would hide every rule.",
         "def broken(:"),
    Rule("static.unawaited-async", E, _STATIC,
         "An `async def` is called and its coroutine neither awaited nor spawned.",
         "The body never runs (seed defect 4: a state transition made async but called plainly).",
         "self._transition_to(State.STOPPING)   # missing await"),
    Rule("static.nondeterminism-source", E, _STATIC,
         "Code outside the adapters reads the wall clock, OS entropy or the global random generator, "
         "or starts threads or network connections, instead of going through an injected port.",
         "The same seed no longer gives the same run, so no failure replays; the kernel's run-time "
         "guard cannot see names bound at import (`from time import sleep`), the scan can.",
         "signal_id = str(uuid.uuid4())   # instead of self._ids.new_id(\"sig\")"),
    Rule("static.lock-order", E, _STATIC,
         "Two locks of one class are taken in opposite orders on two paths (or one lock re-taken).",
         "Two tasks each holding one lock and waiting for the other deadlock (seed defect 5, ABBA).",
         "async with self._a:\n    async with self._b: ...\n# elsewhere\n"
         "async with self._b:\n    async with self._a: ..."),
    Rule("static.check-then-act", E, _STATIC,
         "State read under a lock is acted on after the lock was released across an `await` (lock narrowed).",
         "Another task can change the state at the `await`: both tasks see \"no position\" and both open one, "
         "or the second write overwrites the first (a lost update).",
         "async with self._lock:\n    position = self._positions.get(symbol)\nawait self._log(symbol)\n"
         "if position is None:\n    self._positions[symbol] = new_position"),
    Rule("static.factory-never-called", E, _STATIC,
         "A `create_*` factory method is defined but referenced nowhere in the tree.",
         "What it builds never runs: seed defect 1, `create_backtest_order_manager` was never called "
         "so backtests produced signals and no orders.",
         "class Container:\n    def create_backtest_order_manager(self): ...   # no caller"),
    Rule("static.sql-built-by-formatting", E, _STATIC,
         "A statement reaching the database is assembled by f-string, `%`, `+` or `.format()`.",
         "Injection risk, and the statement cannot be checked against the schema before it runs.",
         "await conn.execute(f\"SELECT * FROM orders WHERE id = '{order_id}'\")"),
    Rule("static.sql-unresolved", W, _STATIC,
         "A statement passed to a database method is not a readable string constant.",
         "The SQL checker cannot judge what it cannot read; the site is named so nothing is skipped silently.",
         "await conn.execute(self.query_for(kind), *args)"),
    Rule("static.unresolved-topic", W, _STATIC,
         "A publish or subscribe topic is not a literal or a known constant.",
         "The site cannot be matched to the registry, so its payload and consumers go unchecked.",
         "await self.bus.publish(self.topic_name, payload)"),
    Rule("static.unresolved-payload", W, _STATIC,
         "A published payload is not a dict literal, a local bound to one, or a helper returning one.",
         "Its keys cannot be compared with the topic's fields.",
         "await self.bus.publish(topics.ORDER_CREATED, order.as_event())"),
    Rule("static.subscribe-unnamed", E, _STATIC,
         "A subscribe call passes `component=` or `role=` as something the scanner cannot read.",
         "Required consumers are matched by role; a subscriber whose name cannot be read can never satisfy "
         "one. (Passing neither is fine: the component is the handler's class and the role comes from "
         "the registry's consumer entry.)",
         "await self.bus.subscribe(topics.SIGNAL_GENERATED, self._on_signal, role=self.role_name)"),
    Rule("static.topic-never-published", E, _STATIC,
         "A topic is subscribed to, and no scanned code publishes it.",
         "The handler never runs: an engine that never receives prices looks idle, not broken. Judged "
         "only when every publish site's topic could be read.",
         "await bus.subscribe(\"price_update\", self._on_price)   # publishers send \"price_updated\""),
    Rule("static.service-factory-missing", E, _CROSS,
         "A registry service names a factory that is not defined in the tree.",
         "The service's error policy cannot be checked, and the registry is out of date.",
         "Service(\"Notifier\", \"create_notifier\", optional=True)   # no def create_notifier"),
    Rule("static.optional-factory-raises", E, _CROSS,
         "An optional service's factory raises.",
         "Optional services may be absent; callers expect None, not an exception (seed defect 8).",
         "def create_notification_service(self):\n    raise RuntimeError(\"no smtp\")"),
    Rule("static.optional-factory-silent", E, _CROSS,
         "An optional service's factory does not both log a reason and return None.",
         "A silently missing service is a mystery in production; the log line is the diagnosis.",
         "def create_notification_service(self):\n    try: return Notifier()\n    except OSError: pass"),
    Rule("static.required-factory-returns-none", E, _CROSS,
         "A required service's factory can return None (or is annotated Optional).",
         "The None travels until something dereferences it, far from the cause (seed defect 8).",
         "def create_order_manager(self) -> OrderManager | None:\n    ...\n    return None"),
    # -- registry cross-checks ------------------------------------------------------------
    Rule("static.unknown-topic", E, _CROSS, "A topic is published or subscribed but not in the registry.",
         "Nothing declares its payload or consumers, so nothing checks them.",
         "await self.bus.publish(\"order_creatd\", payload)"),
    Rule("static.payload-missing-field", E, _CROSS,
         "A publish site's payload lacks a field the topic requires.",
         "Subscribers and tables need it: seed defects 2 and 3 (signal without `signal_id`, "
         "events without `session_id`).",
         "await self.bus.publish(topics.ORDER_CREATED, {\"order_id\": oid})   # no session_id"),
    Rule("static.payload-unknown-field", E, _CROSS,
         "A publish site's payload has a key the topic does not declare.",
         "Usually one side renamed a field (seed defect 7); the subscriber reads the old name.",
         "{\"strategy_name\": name}   # registry says strategy_id"),
    Rule("static.handler-reads-unpublished", E, _CROSS,
         "A subscriber's handler reads a key that the topic does not declare or no publisher sends.",
         "The read is always missing at run time (seed defect 7, a field renamed on one side).",
         "def _on_order(self, data):\n    data[\"strategy_name\"]   # publishers send strategy_id"),
    Rule("static.undeclared-producer", E, _CROSS,
         "A component publishes a topic the registry does not list it as producing.",
         "The registry is the contract; an unlisted producer is either a bug or a stale registry.",
         "class Persistence:\n    ...publish(topics.ORDER_FILLED, ...)"),
    Rule("static.undeclared-consumer", E, _CROSS,
         "A subscribe site's component:role is not a consumer the registry declares for the topic.",
         "Roles are how required consumers are matched; a typo in a role is a missing consumer.",
         "subscribe(topics.SIGNAL_GENERATED, h, component=\"OrderManager\", role=\"order_exec\")"),
    Rule("static.missing-required-consumer", E, _CROSS,
         "A role the registry requires for a topic in some mode has no reachable subscribe site.",
         "Events published in that mode reach nobody who acts on them (seed defect 1).",
         "registry: backtest requires signal_generated -> order_execution; the only subscriber "
         "is created by a factory nobody calls"),
    # -- SQL checker (contracts/sqlcheck.py), static and at run time ------------------------
    Rule("sql.syntax", E, _SQL, "A statement does not parse.",
         "QuestDB would reject it at run time, on the first execution of that path.",
         "INSERT INTO orders (a, b VALUES ($1, $2)"),
    Rule("sql.multiple-statements", E, _SQL, "One string passed to the database holds several statements.",
         "asyncpg's extended protocol runs one statement; the rest is an error or, worse, ignored.",
         "UPDATE orders SET a = $1; DELETE FROM orders"),
    Rule("sql.unsupported", E, _SQL, "A statement uses SQL that QuestDB's PG wire rejects.",
         "QuestDB has no OFFSET, ON CONFLICT or DELETE; the statement fails in production only.",
         "SELECT * FROM market_data LIMIT 10 OFFSET 20"),
    Rule("sql.unchecked", W, _SQL, "A statement kind or QuestDB extension the checker does not model.",
         "Said out loud so nobody assumes it was checked.",
         "SELECT avg(price) FROM market_data SAMPLE BY 1m"),
    Rule("sql.placeholder-style", E, _SQL, "A statement uses `?` placeholders.",
         "asyncpg takes `$1, $2, ...`; `?` is a syntax error on the server.",
         "SELECT * FROM orders WHERE order_id = ?"),
    Rule("sql.placeholder-count", E, _SQL,
         "Placeholders are not `$1..$n` without gaps, or their number differs from the arguments passed.",
         "asyncpg raises on the count; a gap means a value was dropped or swapped.",
         "await conn.execute(\"INSERT INTO t (a, b) VALUES ($1, $2)\", a)"),
    Rule("sql.unknown-table", E, _SQL, "A statement names a table the migrations do not create.",
         "Typo or missing migration: the statement fails on the server.",
         "INSERT INTO order (order_id) VALUES ($1)"),
    Rule("sql.unknown-column", E, _SQL, "A statement names a column its table does not have.",
         "QuestDB answers `Invalid column`; renamed columns are a classic migration slip.",
         "UPDATE orders SET filled_qty = $1 WHERE order_id = $2"),
    Rule("sql.insert-arity", E, _SQL, "An INSERT row has a different number of values than columns.",
         "QuestDB rejects it: `row value count does not match column count`.",
         "INSERT INTO t (a, b) VALUES ($1)"),
    Rule("sql.designated-timestamp-missing", E, _SQL, "An INSERT does not write the designated timestamp.",
         "QuestDB rejects a NULL designated timestamp.",
         "INSERT INTO orders (order_id) VALUES ($1)   -- no timestamp"),
    Rule("sql.dedup-key-missing", E, _SQL, "An INSERT into a DEDUP table does not write every upsert key.",
         "NULL matches NULL in QuestDB's dedup: rows silently overwrite each other (seed defect 2).",
         "INSERT INTO strategy_signals (strategy_id, timestamp) VALUES ($1, $2)   -- no signal_id"),
    Rule("sql.required-column-missing", E, _SQL, "An INSERT does not write a column the registry requires.",
         "Rows without session_id cannot be attributed to a session (seed defect 3).",
         "INSERT INTO orders (order_id, timestamp) VALUES ($1, $2)   -- no session_id"),
    Rule("sql.update-designated-timestamp", E, _SQL, "An UPDATE sets the designated timestamp.",
         "QuestDB refuses: `Designated timestamp column cannot be updated`.",
         "UPDATE orders SET timestamp = $1 WHERE order_id = $2"),
    Rule("sql.null-key", E, _MONITOR, "A statement executed with NULL for a dedup key or required column.",
         "The static check sees the column written; only the run sees the value was None.",
         "a run: INSERT INTO strategy_signals (..., signal_id, ...) with signal_id=None"),
    Rule("sql.param-type", E, _MONITOR, "A statement executed with an argument of the wrong type for its column.",
         "asyncpg rejects floats for TIMESTAMP and dicts for STRING; `::timestamp` on a float corrupts silently.",
         "a run: timestamp column passed 1704164645.5 instead of a naive datetime"),
    Rule("sql.runtime-error", E, _MONITOR, "A statement failed when executed in the simulation.",
         "The simulated QuestDB is as strict as the real one; the error is what production would see.",
         "a run: table does not exist [table=order]"),
    # -- schema and registry consistency (contracts/schema.py, contracts/sqlcheck.py) ------
    Rule("contract.lineage-unknown-column", E, _SCHEMA, "A lineage entry points at a table or column "
         "the migrations do not create.", "Lineage documents where each event field is stored; a dangling "
         "entry means the storage was renamed or never built.",
         "Lineage(\"signal_generated\", \"signal_id\", \"strategy_signals\", \"sig_id\")"),
    Rule("contract.lineage-type", E, _SCHEMA, "A lineage field's type cannot be stored in its column.",
         "The writer would need a silent conversion (or fail) on every row.",
         "Lineage(\"order_created\", \"metadata\", \"orders\", \"quantity\")   # dict into DOUBLE"),
    Rule("contract.required-column-unknown", E, _SCHEMA,
         "The registry requires a column that the migrations do not create.",
         "The requirement can never be met; the registry and migrations disagree.",
         "required_columns={\"orders\": (\"sesion_id\",)}"),
    # -- runtime monitor (contracts/monitor.py) --------------------------------------------
    Rule("contract.unknown-topic", E, _MONITOR, "A topic published or subscribed at run time is not in the registry.",
         "Nothing declares its payload or consumers.", "a run: publish('order_creatd', {...})"),
    Rule("contract.payload-missing-field", E, _MONITOR, "A published payload lacks a required field.",
         "The runtime twin of static.payload-missing-field, for payloads the scanner cannot read.",
         "a run: order_created without session_id"),
    Rule("contract.payload-unknown-field", E, _MONITOR, "A published payload has an undeclared field.",
         "Usually a rename on one side (seed defect 7).", "a run: signal_generated with strategy_name"),
    Rule("contract.payload-null", E, _MONITOR, "A payload field is None where the registry does not allow it.",
         "None travels into NOT-NULL-by-convention columns and dedup keys.", "a run: signal_id=None"),
    Rule("contract.payload-type", E, _MONITOR, "A payload field has a type the registry does not allow.",
         "A string price or a float timestamp breaks consumers far from the publisher.",
         "a run: price='101.5'"),
    Rule("contract.payload-choice", E, _MONITOR, "A payload field's value is not one of its declared choices.",
         "An enumeration typo (`BUYY`) is ignored by every consumer's branches.",
         "a run: signal_type='Z2'"),
    Rule("contract.undeclared-consumer", W, _MONITOR,
         "A subscriber's component:role is not declared for the topic in the registry.",
         "Either the registry is stale or a role is misspelt and a required role goes unfilled.",
         "a run: subscribe(..., component='OrderManager', role='order_exec')"),
    Rule("contract.required-role-missing", E, _MONITOR,
         "A topic was published in a mode without a live subscriber of a required role.",
         "The event reached nobody who acts on it (seed defect 1, observed at run time).",
         "a run: backtest publishes signal_generated with no order_execution subscriber"),
    Rule("contract.dead-letter", W, _MONITOR, "A topic was published with nobody subscribed.",
         "The work that produced it was wasted, or a subscriber is missing.", "a run: publish with 0 subscribers"),
    Rule("contract.handler-error", E, _MONITOR, "A subscriber's handler raised.",
         "The bus isolates it so others still run, but that handler's work was lost.",
         "a run: KeyError('signal_id') in TradingPersistenceService._on_signal_generated"),
    Rule("contract.lineage-missing", E, _SQL,
         "A statement writes a column of a lineage-mapped table that no lineage entry feeds.",
         "Nobody can say which event a value comes from, so no oracle can tell a right row from a wrong one.",
         "UPDATE positions SET fees = $1 ...   # no Lineage(..., 'positions', 'fees') in the registry"),
    Rule("contract.lineage-mismatch", E, _MONITOR,
         "A written row differs, column by column, from the event its lineage says it comes from.",
         "Checked as it is written, so a later overwrite cannot hide it: two same-typed INSERT "
         "arguments swapped, a row stamped with write time instead of event time, a value taken from "
         "the wrong field.",
         "a run: INSERT INTO positions (..., entry_price, current_price) VALUES (..., $9, $8)"),
    Rule("contract.lineage-no-event", E, _MONITOR,
         "A row is written with no preceding event whose lineage feeds it (by the row's key).",
         "A write nobody asked for, or a row key written from the wrong value.",
         "a run: INSERT INTO orders with order_id and signal_id arguments swapped"),
    Rule("contract.invariant", E, _MONITOR,
         "A property the registry declares over a payload (its entity's merged events) or a row does not hold.",
         "Values can agree everywhere and still be wrong; a declared invariant says what right is "
         "(brackets around the entry, unrealized PnL from the prices, fees >= 0, filled <= quantity).",
         "a run: position_updated of a SHORT with unrealized_pnl = (current - entry) x quantity"),
    Rule("contract.state-transition", E, _MONITOR,
         "An entity's state (order, position, session) moves along a transition its state machine "
         "does not declare.",
         "A filled order cancelled, a closed position marked to market, a session stopped twice: "
         "the record says something impossible happened.",
         "a run: order_cancelled published for an order whose last event was FILLED"),
    # -- simulation kernels (sim/kernel/) ---------------------------------------------------
    Rule("kernel.deadlock", E, _KERNEL, "Nothing is ready, no timer is pending, and tasks are still waiting.",
         "The run can never finish; the report shows the wait-for graph and each task's stack.",
         "a run: two tasks each holding one lock and waiting for the other"),
    Rule("kernel.leaked-task", E, _KERNEL, "A task is still alive when the run ends.",
         "Work outlives its owner's stop(): it keeps writing after shutdown or hides a hang.",
         "a run: a prefetch worker not cancelled by stop()"),
    Rule("kernel.unawaited", E, _KERNEL, "A coroutine was created and never awaited (with its creation site).",
         "The runtime twin of static.unawaited-async, for calls the scanner cannot resolve.",
         "a run: self.controller.stop_session(sid)   # no await"),
    Rule("kernel.unretrieved-exception", E, _KERNEL, "A task failed and nobody retrieved its exception.",
         "The error vanished; the system carries on in a broken state.",
         "a run: asyncio.ensure_future(job()) where job raises"),
    Rule("kernel.lock-order", E, _KERNEL,
         "Locks were taken in an order that forms a cycle somewhere in the run (lockdep).",
         "A deadlock waiting for the right interleaving, found even when it did not happen.",
         "a run: path 1 holds A then takes B; path 2 holds B then takes A"),
    Rule("kernel.livelock", E, _KERNEL, "The run hit its bound on steps or virtual time (tasks still looping, named).",
         "A loop that never ends would run until killed; the report names the tasks that kept stepping.",
         "a run: while True: await sleep(60) in a task the task group waits for"),
    Rule("kernel.nondeterminism", E, _KERNEL, "The same seed gave two different trace hashes.",
         "Something escaped the injected ports (wall clock, hash order, real I/O); no failure can be replayed.",
         "a run: iterating a set of strings with PYTHONHASHSEED varying"),
    # -- end-of-run oracles (sim/harness/oracles.py, sim/harness/scenario.py) -------------------------------
    Rule("oracle.crash", E, _ORACLE, "The run itself raised.", "The session could not complete at all.",
         "a run: ServiceUnavailable raised from start_session"),
    Rule("oracle.signal-unhandled", E, _ORACLE,
         "An actionable signal became neither an order, a cancel nor a rejection.",
         "Catches an order manager never created or never started (seed defect 1) from its effect.",
         "a run: Z1 BUY signal with no order_* event carrying its signal_id"),
    Rule("oracle.not-persisted", E, _ORACLE, "A signal, order, fill or position is missing from the database.",
         "The trading record is incomplete; audits and restarts depend on it.",
         "a run: order_created published, no orders row"),
    Rule("oracle.duplicate-row", E, _ORACLE, "An entity has more than one row under its session.",
         "Double writes (replays, retries without dedup) inflate positions and PnL.",
         "a run: two orders rows with the same order_id"),
    Rule("oracle.null-id", E, _ORACLE, "A trading row lacks its signal_id or session_id.",
         "NULL dedup keys overwrite each other; rows without a session belong to nobody (defects 2, 3).",
         "a run: strategy_signals row with signal_id NULL"),
    Rule("oracle.replay-exactly-once", E, _ORACLE, "A market-data row was replayed twice, skipped or out of order.",
         "The backtest saw a different market than the one stored (seed defect 6, the cursor race).",
         "a run: seq 41 published twice for BTC_USDT"),
    Rule("oracle.orders-mismatch", E, _ORACLE, "The orders table differs from the order manager's orders.",
         "Right row, wrong values: swapped arguments or a stale UPDATE.",
         "a run: filled_price in the table differs from the manager's"),
    Rule("oracle.positions-mismatch", E, _ORACLE, "The positions table differs from the order manager's positions.",
         "The persisted book is not the book that traded.", "a run: a position OPEN in the table, CLOSED in memory"),
    Rule("oracle.accounting", E, _ORACLE, "Balance is not initial + realized PnL - fees, or sums disagree with events.",
         "Money appeared or vanished.", "a run: fees charged twice on one fill"),
    Rule("oracle.session-isolation", E, _ORACLE, "A session's results depend on another session running beside it.",
         "Per-session components must ignore other sessions' events.",
         "a run: session A alone != session A run beside B"),
    Rule("oracle.session-not-stopped", E, _ORACLE, "A session did not end in STOPPED.",
         "A session stuck in RUNNING or FAILED leaks tasks and subscriptions.", "a run: final state FAILED"),
    Rule("oracle.session-left-running", E, _ORACLE,
         "A sessions row still says a session runs after the system stopped.",
         "After a crash the restarted system must settle every session the dead process left open (resume or "
         "close it); a row left RUNNING is a session nobody runs and every dashboard believes in.",
         "a run with --faults crash: recovery skips the sessions table"),
    Rule("oracle.subscription-leak", E, _ORACLE, "Subscriptions are still live after the system stopped.",
         "A handler left subscribed keeps acting on later sessions' events and keeps its component alive.",
         "a run: stop() forgot to unsubscribe mark_to_market"),
    Rule("oracle.persistence-failure", E, _ORACLE, "The persistence service gave up on a write after its retries.",
         "The service logged and recorded it, but the trading record is missing that event.",
         "a run: strategy_signals write still failing after 3 transient errors"),
    Rule("oracle.silent-drop", E, _MONITOR,
         "A write failed on its last attempt, was never retried to success, and no failure was recorded.",
         "The row is lost without a trace; a later write to the same row can make the final tables "
         "look right, so only the statement log shows it.",
         "a run: a retry loop that logs and returns after its last attempt instead of recording a failure"),
    Rule("oracle.uninjected-refusal", E, _ORACLE,
         "The exchange or the database refused a request that the fault plan did not refuse.",
         "The simulators know what they injected; any other refusal is the system sending something "
         "wrong (a broken signature, an invalid order), even when the run otherwise ends clean.",
         "a run: a signing change makes the exchange answer 602 to every order"),
    Rule("oracle.wal-suspended", E, _ORACLE,
         "A WAL table is still suspended when the run ends: acknowledged writes are invisible.",
         "QuestDB acknowledged them and then failed to apply one; without a health check that resumes the "
         "table, every later row is lost from every reader's view and no statement ever errored.",
         "a run with db_suspend_rate: nobody reads wal_tables() or issues ALTER TABLE t RESUME WAL"),
    Rule("oracle.entry-while-suspended", E, _ORACLE,
         "An entry order was created while a table of the trading record was suspended.",
         "The position it opens cannot be recorded where anyone can read it until the table resumes.",
         "a run: the order manager ignores storage.table_suspended"),
    Rule("oracle.handler-error", E, _ORACLE, "A subscriber raised during the run.",
         "The bus isolated it, but the work that handler should have done was lost.",
         "a run: KeyError in a persistence handler"),
    Rule("oracle.live-duplicate-order", E, _ORACLE,
         "The exchange holds two orders with one client order id, or an order the system does not know.",
         "A retry after a lost acknowledgement placed the order twice: double the position, double the risk.",
         "a run: submit times out after the exchange accepted it; the retry submits again without a lookup"),
    Rule("oracle.live-order-lost", E, _ORACLE,
         "An order filled on the exchange is not FILLED in the system, or the other way round.",
         "A fill the system never heard of is a position it does not manage (a lost push, no resync).",
         "a run: the deal push dropped, nobody queried the order afterwards"),
    Rule("oracle.live-positions-mismatch", E, _ORACLE,
         "Exchange positions, the order managers' open positions and the OPEN rows of the positions table differ.",
         "The system trades on a book that is not the exchange's: exits of the wrong size, unmanaged risk.",
         "a run: a partial fill taken for the whole order; entry price differs from the exchange's"),
    Rule("oracle.secret-leaked", E, _ORACLE, "An API key or secret appears in an event payload or a table row.",
         "Events and rows are copied to logs, traces and backups; a leaked key pair trades the account.",
         "a run: an exchange error message carrying the signed headers stored as a cancel reason"),
    # -- the liveness phase (sim/harness/liveness.py) -----------------------------------------
    Rule("oracle.liveness-task-ended", E, _ORACLE,
         "A task running when the sessions started (listener, sync loop, feed) ended before the sessions stopped.",
         "A component that silently stopped works no more, even if the final resync repairs the end state.",
         "a run: the private stream listener returns on a dropped connection instead of reconnecting"),
    Rule("oracle.liveness-order-unknown", E, _ORACLE,
         "An order the exchange completed is not FILLED locally the resync interval plus slack later, "
         "with faults off.",
         "The system trades on a book without that fill: its exit is never placed, its risk is unmanaged.",
         "a run: the periodic resync loop returns after its first pass and a deal push was lost"),
    Rule("oracle.liveness-order-stuck", E, _ORACLE,
         "A local order is still working the liveness bound after faults were switched off.",
         "A market order that never settles blocks its strategy (close_pending) for the rest of the session.",
         "a run: a submission whose reply was lost, never looked up again"),
    Rule("oracle.liveness-wal", E, _ORACLE,
         "The simulated database's WAL was not applied within its bound after the system stopped.",
         "Acknowledged writes that never become visible are lost writes.",
         "a run: a WAL lag longer than the bound"),
    # -- the reference model (sim/harness/model/) ----------------------------------------------
    Rule("oracle.model-indicator", E, _MODEL,
         "An indicator value a signal or an indicator.updated reports differs from its documented definition "
         "recomputed naively over the recorded ticks.",
         "Events, tables and order manager all agree on a wrong value, so only an independent model sees it.",
         "a run: the VWAP window keeps one tick too many (`<` instead of `<=` when expiring)"),
    Rule("oracle.model-signal-chain", E, _MODEL,
         "A signal breaks its (strategy, symbol) cycle: S1, then Z1 within signal_timeout of event time or a "
         "CANCEL at the first update after it, then E1/ZE1, each referring to its own S1; conditions, size, "
         "exit reasons and cooldown as configured.",
         "State shared across symbols or strategies, or an expiry on the wrong clock, trades (or never trades) "
         "while every record stays consistent.",
         "a run: expires_at from the wall clock, so every S1 of a backtest is cancelled at its next tick"),
    Rule("oracle.model-signals", E, _MODEL,
         "The published signals of a (strategy, symbol) differ from its documented cycle replayed over every "
         "reported indicator update (a signal missing, extra, of another type or at another time).",
         "A strategy that silently never enters, or cancels every entry, leaves nothing wrong to look at: only "
         "what should have happened shows it.",
         "a run: the take-profit exit compares against twice the configured level, so it fires late or never"),
    Rule("oracle.model-fill-price", E, _MODEL,
         "A fill price lies outside the symbol's own market prices between the order and the fill, moved by the "
         "declared slippage.",
         "The PnL is fiction: a fill at another symbol's price or a stale price books money that never existed.",
         "a run: a paper order filled at the last price of another symbol"),
    Rule("oracle.model-fee", E, _MODEL, "A commission is not filled_price x filled_quantity x fee_rate.",
         "Fees on the quoted price (or double fees) skew every balance, consistently everywhere.",
         "a run: commission = order.price * quantity * fee_rate"),
    Rule("oracle.model-position", E, _MODEL,
         "A position event differs from the book rebuilt from fills, one position per (strategy, symbol).",
         "An entry merged into another strategy's position, or a fill that changed nothing, corrupts exits.",
         "a run: strategy B's entry added to strategy A's open position on the same symbol"),
    Rule("oracle.model-unrealized-pnl", E, _MODEL,
         "A position update's unrealized PnL is not side x (market price - entry) x quantity.",
         "Risk and dashboards read it mid-session; the end state hides it once positions close.",
         "a run: SHORT marks computed as (price - entry) x quantity"),
    Rule("oracle.model-balance", E, _MODEL, "The balance (initial + realized PnL - fees) went below zero.",
         "The system records no margin events, so nothing may take the account below zero.",
         "a run: fills at another symbol's price lose 13,000 on a 10,000 balance"),
    Rule("schema.migration-error", E, _SCHEMA, "A migration file or statement cannot be parsed or applied.",
         "Every schema and SQL rule depends on the schema model; a broken migration breaks the database too. "
         "The statement is skipped and the rest still applies, so one bad statement hides nothing else.",
         "CREATE TABLE t (ts TIMESTAMP) timestamp(missing);"),
    Rule("schema.refused-statement", E, _SCHEMA, "A migration statement QuestDB refuses; the finding names "
         "the form it accepts.", "The migration fails on the real server at that statement, and every later "
         "one with it.", "CREATE INDEX orders_symbol ON orders (symbol);   -- ALTER TABLE ... ADD INDEX"),
    Rule("schema.not-modelled", W, _SCHEMA, "A migration statement the server accepts that the schema model "
         "does not follow (a view, COPY).", "Queries on what it created are reported as unchecked, "
         "not judged against a guess.", "CREATE MATERIALIZED VIEW prices_1h AS (SELECT ...) SAMPLE BY 1h;"),
    Rule("schema.empty-migration", W, _SCHEMA, "A migration file holds no statement.",
         "Usually a file committed before its content, or a statement lost in a merge.",
         "007_add_index.sql containing only a comment"),
    Rule("schema.migration-gap", W, _SCHEMA, "Migration numbers skip a value.",
         "A migration was deleted or not committed yet: the order on disk may not be the server's.",
         "001_create.sql, 003_add_column.sql"),
    # -- live schema: a real server compared with the schema model ---------------------------
    Rule("schema.live-table-missing", E, _LIVE, "A table of the migrations is not on the server.",
         "The system's first write to it fails in production; the migrations were not applied, or were "
         "applied to another database.",
         "a run with --db against a server migrated up to 018 (no orders.signal_id table layout)"),
    Rule("schema.live-column-missing", E, _LIVE, "A column of the migrations is not on the server.",
         "Every INSERT naming it is rejected: a migration was skipped or failed half-way.",
         "a run with --db where ALTER TABLE orders ADD COLUMN signal_id never ran"),
    Rule("schema.live-column-type", E, _LIVE, "A column has another type on the server than in the migrations.",
         "The driver encodes parameters by the server's type: a STRING where the model says TIMESTAMP "
         "takes text the checks believe is a time.",
         "a run with --db where orders.timestamp is VARCHAR on the server"),
    Rule("schema.live-column-unexpected", E, _LIVE, "A server table has a column the migrations do not create.",
         "The server drifted from the migrations (a hand-made ALTER): the checks judge a schema that is not "
         "the one in production.",
         "a run with --db after ALTER TABLE orders ADD COLUMN note STRING by hand"),
    Rule("schema.live-semantics", E, _LIVE,
         "The designated timestamp or the dedup keys on the server differ from the migrations.",
         "Last-write-wins upserts and time ordering are what the oracles rely on; without the dedup keys a "
         "retried INSERT duplicates a row.",
         "a run with --db against a table created without DEDUP UPSERT KEYS"),
)

_BY_ID = {rule.id: rule for rule in RULES}

RULES_DOC_URL = "https://github.com/simwire/simwire/blob/main/docs/rules.md"
"""Where docs/rules.md is published; every finding links its rule's section there (SARIF helpUri)."""


def help_uri(rule_id: str) -> str:
    """The documentation of ``rule_id``: its section of docs/rules.md."""
    return f"{RULES_DOC_URL}#{_anchor(rule(rule_id).id)}"


def rule(rule_id: str) -> Rule:
    try:
        return _BY_ID[rule_id]
    except KeyError:
        raise KeyError(f"rule {rule_id!r} is not in contracts/rules.py; add it there (and regenerate "
                       f"docs/rules.md)") from None


def violation(rule_id: str, message: str, *, location: str = "", expected: str = "", seen: str = "",
              **details: Any) -> Violation:
    """A :class:`Violation` of a catalogued rule, with the catalogue's severity."""
    return Violation(rule_id, message, location, expected, seen, rule(rule_id).severity,
                     details=details)


def render_markdown() -> str:
    """``docs/rules.md``: every rule, grouped by id prefix, in catalogue order."""
    lines = [
        "# Rules",
        "",
        "Every finding simwire reports carries one of these rule ids.  Generated from",
        "`contracts/rules.py` by `python -m contracts.rules > docs/rules.md`; do not edit by hand.",
        "How to run the same rules over another code base: [contracts-generic.md](contracts-generic.md).",
        "",
        "| rule | severity | reported by | catches |",
        "|---|---|---|---|",
    ]
    lines.extend(f"| [`{r.id}`](#{_anchor(r.id)}) | {r.severity} | {r.reporter} | {r.summary} |" for r in RULES)
    for entry in RULES:
        lines += ["", f"## {entry.id}", "", f"{entry.summary} *({entry.severity}; {entry.reporter})*", "",
                  f"**Why it matters.** {entry.why}", "", f"```{_fence(entry.example)}", entry.example, "```"]
    return "\n".join(lines) + "\n"


def _anchor(rule_id: str) -> str:
    return rule_id.replace(".", "").lower()


def _fence(example: str) -> str:
    """Code-block language: examples are Python, SQL, or a described situation (text)."""
    if example.startswith(("a run", "registry")):
        return "text"
    if example.startswith(("CREATE", "INSERT", "SELECT", "UPDATE")):
        return "sql"
    return "python"


if __name__ == "__main__":
    print(render_markdown(), end="")
