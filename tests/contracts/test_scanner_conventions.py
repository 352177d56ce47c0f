"""Real code's bus shapes read with no code change, the false positives of issue 12 (each a
regression test), and receivers whose type is known from assignment or annotation."""

import pytest

from contracts.registry import BusConventions
from contracts.scanner import scan
from tests.contracts.test_scanner import code, rules

# -- bus conventions ---------------------------------------------------------------------------


def test_decorator_subscriptions_are_sites_with_their_handlers_reads(tmp_path) -> None:
    result = scan(code(tmp_path, mod="""
        bus = object()

        @bus.subscribe("order_created")
        async def on_order(event):
            return event["order_id"]

        class Audit:
            @bus.on("order_created", role="audit")
            async def record(self, event):
                return event.get("qty")
    """), BusConventions(subscribe=("subscribe", "on")))
    assert [(s.topic, s.declared_component, s.role, s.handler, [k for k, _ in s.reads]) for s in result.subscribes] == [
        ("order_created", "module:mod", None, "on_order", ["order_id"]),
        ("order_created", "Audit", "audit", "record", ["qty"]),
    ]


def test_configured_method_names_and_positional_unawaited_calls(tmp_path) -> None:
    result = scan(code(tmp_path, mod="""
        async def on_fill(data):
            return data["fill_id"]

        class Engine:
            def wire(self, events):
                events.listen("fill", on_fill)
                events.emit("fill", {"fill_id": 1})
    """), BusConventions(publish=("emit",), subscribe=("listen",)))
    assert [(s.topic, s.declared_component, s.handler) for s in result.subscribes] == [
        ("fill", "module:mod", "on_fill")]
    assert [(p.topic, p.component, p.keys) for p in result.publishes] == [("fill", "Engine", ("fill_id",))]


@pytest.mark.parametrize(("body", "keys", "complete"), [
    ('await self.bus.publish("t", {**BASE, "b": 1})', ("a", "b"), True),
    ('await self.bus.publish("t", dict(BASE, b=1))', ("a", "b"), True),
    ('await self.bus.publish("t", {**self._common(), **extra})', ("c",), False),
    ('p = {**BASE}\np.update(self._common())\nawait self.bus.publish("t", p)', ("a", "c"), True),
    ('await self.bus.publish("t", self.builder.build())', ("k",), True),
])
def test_payload_shapes(tmp_path, body, keys, complete) -> None:
    lines = "\n".join("                " + line for line in body.splitlines())
    result = scan(code(tmp_path, mod=f"""
        BASE = {{"a": 0}}

        class Builder:
            def build(self):
                return {{"k": 1}}

        class P:
            def __init__(self, builder: Builder):
                self.builder = builder

            def _common(self):
                return {{"c": 1}}

            async def go(self, extra):
{lines}
    """))
    [site] = result.publishes
    assert (site.keys, site.keys_complete) == (keys, complete)


def test_handler_component_is_the_class_defining_the_handler(tmp_path) -> None:
    result = scan(code(tmp_path, mod="""
        class Risk:
            async def on_signal(self, data):
                return data["signal_id"]

        class Wiring:
            def __init__(self, risk: Risk):
                self.risk = risk

            async def start(self, bus):
                await bus.subscribe("signal", self.risk.on_signal)
    """))
    [site] = result.subscribes
    assert (site.component, site.declared_component, [k for k, _ in site.reads]) == ("Wiring", "Risk", ["signal_id"])


# -- false positives of issue 12 ---------------------------------------------------------------


def test_async_with_on_a_same_named_method_is_not_an_unawaited_call(tmp_path) -> None:
    result = scan(code(tmp_path, mod="""
        class Locks:
            async def acquire(self):
                pass

        class Repo:
            def __init__(self, pool):
                self.pool = pool

            async def load(self):
                async with self.pool.acquire() as conn:
                    return await conn.fetch("SELECT 1")

            async def load_later(self):
                ctx = self.pool.acquire()
                async with ctx as conn:
                    return conn
    """))
    assert rules(result) == []


def test_coroutines_handed_over_are_consumed(tmp_path) -> None:
    result = scan(code(tmp_path, mod="""
        import asyncio
        import inspect

        class Worker:
            async def step(self):
                pass

            def _spawn(self, coro):
                self._tasks.append(asyncio.ensure_future(coro))

            async def run(self, handler, data):
                task = asyncio.create_task(self.step())
                results = await asyncio.gather(self.step(), self.step())
                asyncio.ensure_future(self.step())
                self._spawn(self.step())
                pending = [self.step() for _ in range(3)]
                await asyncio.wait(pending)
                later = self.step()
                self._background = self.step()
                result = handler(data)
                if inspect.isawaitable(result):
                    await result
                maybe = self.step()
                if inspect.iscoroutine(maybe):
                    await maybe
                return task, results, later
    """))
    assert rules(result) == []


def test_a_coroutine_only_stored_and_tested_is_still_reported(tmp_path) -> None:
    result = scan(code(tmp_path, mod="""
        class Session:
            async def load(self):
                return 1

            async def run(self):
                state = self.load()
                if state:
                    print(state)
    """))
    assert [(v.rule, v.location) for v in result.violations] == [("static.unawaited-async", "mod.py:7")]


def test_a_reentrant_lock_taken_again_is_not_a_lock_order_problem(tmp_path) -> None:
    result = scan(code(tmp_path, mod="""
        import threading

        class Cache:
            def __init__(self):
                self._lock = threading.RLock()
                self._other = threading.Lock()

            def get(self):
                with self._lock:
                    return self._fill()

            def _fill(self):
                with self._lock:
                    return 1

            def bad(self):
                with self._other:
                    with self._other:
                        pass
    """))
    assert [v.message for v in result.violations if v.rule == "static.lock-order"] == [
        "Cache takes _other again while holding it"]


def test_a_utf8_byte_order_mark_is_not_a_syntax_error(tmp_path) -> None:
    (tmp_path / "bom.py").write_bytes(b'\xef\xbb\xbfasync def f(bus):\n    await bus.publish("t", {})\n')
    result = scan(tmp_path)
    assert rules(result) == [] and [s.topic for s in result.publishes] == ["t"]


# -- receivers whose type is known -------------------------------------------------------------


def test_calls_through_typed_locals_and_attributes_are_resolved(tmp_path) -> None:
    result = scan(code(tmp_path, mod="""
        import asyncpg

        class Manager:
            async def stop(self):
                pass

            def close(self):
                pass

        class Controller:
            pool: asyncpg.Pool

            def __init__(self, manager: Manager, pool: asyncpg.Pool):
                self.manager = manager
                self.pool = pool
                self.spare = Manager()

            async def shutdown(self, other: "Manager | None"):
                local = Manager()
                local.stop()
                m = self.manager
                m.stop()
                self.spare.stop()
                other.stop()
                local.close()
                self.pool.close()
                self.pool.stop()

        class Pool2:
            async def close(self):
                pass
    """))
    flagged = [(v.location, v.details["function"]) for v in result.violations]
    assert flagged == [("mod.py:21", "stop"), ("mod.py:23", "stop"), ("mod.py:24", "stop"), ("mod.py:25", "stop")]


# -- check-then-act across an await (lock narrowing) -------------------------------------------


ATOMIC = """
    import asyncio

    class Book:
        def __init__(self):
            self._lock = asyncio.Lock()
            self._positions = {}
            self._balance = 0.0

        async def _log(self, what):
            pass

        def _store(self, symbol, position):
            self._positions[symbol] = position

        async def _get(self, symbol):
            async with self._lock:
                return self._positions.get(symbol)

        async def open(self, symbol):
            <body>
"""


@pytest.mark.parametrize(("body", "expected"), [
    # narrowed: the check under the lock, the act after an await outside it
    ("async with self._lock:\n    position = self._positions.get(symbol)\nawait self._log(symbol)\n"
     "if position is None:\n    self._positions[symbol] = 1", ["mod.py:22"]),
    # lost update through a helper that writes the same state
    ("async with self._lock:\n    position = self._positions.get(symbol)\n"
     "if position is None:\n    await self._log(symbol)\n    self._store(symbol, 1)", ["mod.py:22"]),
    ("async with self._lock:\n    balance = self._balance\nawait self._log(symbol)\nself._balance = balance - 1",
     ["mod.py:22"]),
    # correct: read and act under one lock
    ("async with self._lock:\n    position = self._positions.get(symbol)\n    await self._log(symbol)\n"
     "    if position is None:\n        self._positions[symbol] = 1", []),
    # no await between release and act: nothing can interleave in asyncio
    ("async with self._lock:\n    position = self._positions.get(symbol)\n"
     "if position is None:\n    self._positions[symbol] = 1\nawait self._log(symbol)", []),
    # re-checked under the lock again after the await
    ("async with self._lock:\n    position = self._positions.get(symbol)\nawait self._log(symbol)\n"
     "async with self._lock:\n    if position is None and symbol not in self._positions:\n"
     "        self._positions[symbol] = 1", []),
    # the value is only reported, not acted on
    ("async with self._lock:\n    count = len(self._positions)\nawait self._log(count)", []),
    # read through a getter that takes the lock, acted on after an await
    ("position = await self._get(symbol)\nawait self._log(symbol)\nif position is None:\n"
     "    self._positions[symbol] = 1", ["mod.py:21"]),
    ("position = await self._get(symbol)\nif position is None:\n    self._positions[symbol] = 1", []),
    # taken, not checked: the drained state is no longer shared
    ("async with self._lock:\n    batch = self._positions\n    self._positions = {}\nawait self._log(batch)\n"
     "self._store(symbol, batch)", []),
])
def test_check_then_act_across_an_await(tmp_path, body, expected) -> None:
    from tests.contracts.test_scanner import fill

    result = scan(code(tmp_path, mod=fill(ATOMIC, body=body)))
    assert [v.location for v in result.violations if v.rule == "static.check-then-act"] == expected


def test_a_publish_wrapper_makes_its_callers_the_publish_sites(tmp_path) -> None:
    result = scan(code(tmp_path, mod="""
        class Events:
            def __init__(self, bus):
                self.bus = bus

            async def emit(self, event_type, data):
                await self.bus.publish(event_type, data)

        class Orders:
            def __init__(self, events: Events):
                self.events = events

            async def _publish_event(self, topic, payload):
                await self.events.bus.publish(topic, payload)

            async def place(self):
                await self._publish_event("order_created", {"order_id": 1})
                await self.events.emit("order_filled", {"order_id": 1, "price": 2.0})
    """))
    assert [(p.location, p.component, p.topic, p.keys) for p in result.publishes] == [
        ("mod.py:17", "Orders", "order_created", ("order_id",)),
        ("mod.py:18", "Orders", "order_filled", ("order_id", "price")),
    ]
    assert rules(result) == []


def test_receivers_built_by_a_library_are_not_judged_by_the_trees_names(tmp_path) -> None:
    result = scan(code(tmp_path, mod="""
        import httpx
        import asyncpg
        from app_local import Local

        class Session:
            async def close(self):
                pass

            async def acquire(self):
                pass

        class Client:
            def __init__(self, local: Local):
                self.http = httpx.Client()
                self.local = local

            async def start(self):
                self.pool = await asyncpg.create_pool("dsn")

            def stop(self):
                self.http.close()
                self.pool.acquire()
                self.local.close()
    """, app_local="class Local:\n    async def close(self):\n        pass\n"))
    assert [(v.location, v.details["function"]) for v in result.violations
            if v.rule == "static.unawaited-async"] == [("mod.py:24", "close")]


def test_factories_type_their_results_by_return_annotation_without_looping(tmp_path) -> None:
    result = scan(code(tmp_path, mod="""
        class Manager:
            async def stop(self):
                pass

        class Container:
            def create_manager(self) -> "Manager":
                return Manager()

            async def create_other(self) -> Manager | None:
                return None

        class A:
            def __init__(self, container: Container):
                self.container = container
                self.a = self.b.make()
                self.b = self.a.make()

            async def run(self):
                manager = self.container.create_manager()
                manager.stop()
                other = await self.container.create_other()
                other.stop()
                self.a.stop()   # untyped (the two attributes chase each other): judged by name
    """))
    assert [(v.location, v.details["function"]) for v in result.violations] == [
        ("mod.py:21", "stop"), ("mod.py:23", "stop"), ("mod.py:24", "stop")]


def test_virtual_environments_and_hidden_directories_are_not_scanned(tmp_path) -> None:
    code(tmp_path, app__mod='async def f(bus):\n    await bus.publish("t", {})\n', env__lib__broken="def broken(:\n")
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    (tmp_path / ".hidden").mkdir(exist_ok=True)
    (tmp_path / ".hidden" / "broken.py").write_text("def broken(:\n")
    result = scan(tmp_path)
    assert (result.files, rules(result), [p.location for p in result.publishes]) == (1, [], ["app/mod.py:2"])


def test_a_coroutine_handed_over_as_data_is_still_unawaited(tmp_path) -> None:
    result = scan(code(tmp_path, mod="""
        import asyncio

        class Signals:
            async def build(self):
                return {"a": 1}

            def _remember(self, value):
                print("built", value)

            def _spawn(self, coro):
                return asyncio.ensure_future(coro)

            async def run(self, conn):
                await self.bus.publish("signal", self.build())
                await conn.execute("INSERT INTO t (a) VALUES ($1)", self.build())
                self._remember(self.build())
                self._spawn(self.build())
    """))
    assert [v.location for v in result.violations if v.rule == "static.unawaited-async"] == [
        "mod.py:15", "mod.py:16", "mod.py:17"]


def test_a_subscribe_wrapper_makes_its_callers_the_subscribe_sites(tmp_path) -> None:
    result = scan(code(tmp_path, mod="""
        class Base:
            async def _listen(self, topic, handler):
                await self.bus.subscribe(topic, handler)

        class Engine(Base):
            async def start(self):
                for topic, handler in (("a", self._on_a), ("b", self._on_b)):
                    await self._listen(topic, handler)
                await self._listen("c", self._on_a)

            async def _on_a(self, data):
                return data["x"]

            async def _on_b(self, data):
                return data["y"]
    """))
    assert [(s.location, s.component, s.topic, s.declared_component, [k for k, _ in s.reads])
            for s in result.subscribes] == [
        ("mod.py:8", "Engine", "a", "Engine", ["x"]), ("mod.py:8", "Engine", "b", "Engine", ["y"]),
        ("mod.py:10", "Engine", "c", "Engine", ["x"])]


def test_functions_of_an_imported_module_are_resolved(tmp_path) -> None:
    result = scan(code(tmp_path, pkg____init__="", pkg__helpers="""
        async def notify(bus):
            await bus.publish("done", {"ok": True})

        def payload(x):
            return {"x": x, "kind": "k"}
    """, pkg__main="""
        from pkg import helpers

        async def run(bus):
            helpers.notify(bus)
            await bus.publish("t", helpers.payload(1))
    """))
    assert [(v.rule, v.location) for v in result.violations] == [("static.unawaited-async", "pkg/main.py:5")]
    assert [(p.topic, p.keys) for p in result.publishes] == [("done", ("ok",)), ("t", ("kind", "x"))]


def test_a_package_module_named_like_the_standard_library_does_not_shadow_it(tmp_path) -> None:
    result = scan(code(tmp_path, pkg____init__="", pkg__socket="""
        class SocketType:
            async def bind(self, address):
                pass

        def socket() -> SocketType:
            return SocketType()
    """, pkg__server="""
        import socket

        from pkg import socket as tsocket

        async def serve():
            plain = socket.socket()
            plain.bind(("", 0))
            ours = tsocket.socket()
            ours.bind(("", 0))
    """), ports=("**",))
    assert [(v.rule, v.location) for v in result.violations] == [("static.unawaited-async", "pkg/server.py:10")]
