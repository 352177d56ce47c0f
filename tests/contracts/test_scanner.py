"""The static scanner on small inline code bases: each pattern it must read, and each rule
that needs no registry, both ways."""

import re
import textwrap
from pathlib import Path

import pytest

from contracts.registry import BusConventions, Service
from contracts.scanner import scan


def code(tmp_path: Path, **files: str) -> Path:
    """Write ``name=source`` pairs (``pkg__mod`` becomes ``pkg/mod.py``) under ``tmp_path``."""
    for name, source in files.items():
        path = tmp_path / (name.replace("__", "/") + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return tmp_path


def fill(template: str, **parts: str) -> str:
    """``template`` dedented, each ``<name>`` line replaced by ``parts[name]`` at its indentation."""
    lines = []
    for line in textwrap.dedent(template).splitlines():
        marker = re.fullmatch(r"(\s*)<(\w+)>", line)
        if marker:
            lines.extend(textwrap.indent(parts[marker.group(2)], marker.group(1)).splitlines())
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def rules(result) -> list[str]:
    return [v.rule for v in result.violations]


TOPICS = BusConventions(topic_constants=("topics.py",))


# -- publish sites ---------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "keys", "complete"), [
    ('await self.bus.publish("t", {"a": 1, "b": 2})', ("a", "b"), True),
    ('p = {"a": 1}\np["b"] = 2\np.update(c=3)\nawait self.bus.publish("t", p)',
     ("a", "b", "c"), True),
    ('await self.bus.publish("t", dict(a=1, b=2))', ("a", "b"), True),
    ('await self.bus.publish("t", self._payload())', ("a", "z"), True),
    ('base = {"a": 1}\nawait self.bus.publish("t", {**base, "b": 2})', ("a", "b"), True),
    ('await self.bus.publish("t", {**self.extra, "b": 2})', ("b",), False),
])
def test_payload_keys_are_read_from_the_forms_code_uses(tmp_path, body, keys, complete) -> None:
    result = scan(code(tmp_path, mod=fill("""
        class Publisher:
            async def run(self):
                <body>

            def _payload(self):
                if self.flag:
                    return None
                return {"a": 1, "z": 2}
    """, body=body)))
    [site] = result.publishes
    assert (site.component, site.topic, site.keys, site.keys_complete) == ("Publisher", "t", keys, complete)


def test_unreadable_payload_and_topic_are_warnings_not_silence(tmp_path) -> None:
    result = scan(code(tmp_path, mod="""
        class Publisher:
            async def run(self, event):
                await self.bus.publish("t", event.as_dict())
                await self.bus.publish(self.topic, {})
    """))
    assert sorted(rules(result)) == ["static.unresolved-payload", "static.unresolved-topic"]
    assert {str(v.severity) for v in result.violations} == {"warning"}


def test_topics_resolve_through_constants_imports_and_the_topic_module(tmp_path) -> None:
    result = scan(code(tmp_path, topics='A = "topic.a"\nB = "topic.b"\n', pkg____init__="", pkg__mod="""
        from topics import B
        import topics
        LOCAL = "topic.c"

        async def publish_all(bus):
            await bus.publish(topics.A, {})
            await bus.publish(B, {})
            await bus.publish(LOCAL, {})
    """), TOPICS)
    assert sorted(s.topic for s in result.publishes) == ["topic.a", "topic.b", "topic.c"]
    assert {s.component for s in result.publishes} == {"module:pkg.mod"}


def test_event_tuples_relayed_by_a_loop_are_publish_sites_of_their_builders(tmp_path) -> None:
    result = scan(code(tmp_path, topics='ORDER = "order"\n', records="""
        import topics

        class Order:
            def created(self):
                return topics.ORDER, {"order_id": self.id}
    """, managers="""
        class Base:
            async def submit(self, order):
                await self._publish([order.created()])

            async def _publish(self, events):
                for topic, payload in events:
                    await self.bus.publish(topic, payload)

        class Paper(Base):
            pass

        class Backtest(Base):
            pass
    """), TOPICS)
    assert [(s.component, s.topic, s.keys) for s in result.publishes] == [
        ("Backtest", "order", ("order_id",)), ("Paper", "order", ("order_id",))]
    assert result.violations == ()


# -- subscribe sites -------------------------------------------------------------------------


def test_handler_reads_include_get_in_and_one_helper_level(tmp_path) -> None:
    result = scan(code(tmp_path, mod="""
        class Consumer:
            async def start(self):
                await self.bus.subscribe("t", self._on, component="Consumer", role="r")

            async def _on(self, data):
                if "flag" in data:
                    self._apply(data["a"], data.get("b"))
                self._helper(1, data)

            def _helper(self, n, payload):
                return payload["c"]
    """))
    [site] = result.subscribes
    assert [key for key, _ in site.reads] == ["a", "b", "c", "flag"]
    assert (site.declared_component, site.role) == ("Consumer", "r")


def test_routing_tables_give_one_site_per_row_and_base_classes_one_per_subclass(tmp_path) -> None:
    result = scan(code(tmp_path, mod="""
        class Base:
            async def start(self):
                routes = (("a", self._on_a), ("b", self._on_b))
                for topic, handler in routes:
                    await self.bus.subscribe(topic, handler, component=type(self).__name__, role="r")

            async def _on_a(self, data):
                return data["x"]

            async def _on_b(self, data):
                return data["y"]

        class One(Base):
            pass

        class Two(Base):
            pass
    """))
    assert [(s.declared_component, s.topic, [k for k, _ in s.reads]) for s in result.subscribes] == [
        ("One", "a", ["x"]), ("One", "b", ["y"]), ("Two", "a", ["x"]), ("Two", "b", ["y"])]
    assert result.violations == ()


def test_subscriber_without_names_takes_the_handlers_class_and_no_role(tmp_path) -> None:
    result = scan(code(tmp_path, mod="""
        class Consumer:
            async def start(self):
                await self.bus.subscribe("t", self._on)
                self.bus.subscribe("u", self._on)

            async def _on(self, data):
                pass
    """))
    assert [(s.topic, s.declared_component, s.role) for s in result.subscribes] == [
        ("t", "Consumer", None), ("u", "Consumer", None)]
    assert "static.subscribe-unnamed" not in rules(result)


def test_subscriber_with_an_unreadable_role_is_flagged(tmp_path) -> None:
    result = scan(code(tmp_path, mod="""
        class Consumer:
            async def start(self):
                await self.bus.publish("t", {})
                await self.bus.subscribe("t", self._on, role=self.role_name)

            async def _on(self, data):
                pass
    """))
    assert rules(result) == ["static.subscribe-unnamed"]


# -- SQL sites -------------------------------------------------------------------------------


def test_sql_constants_are_found_with_their_argument_counts(tmp_path) -> None:
    result = scan(code(tmp_path, queries='SELECT_ONE = "SELECT a FROM t WHERE b = $1"\n', mod="""
        from queries import SELECT_ONE
        INSERT = "INSERT INTO t (a, b) VALUES ($1, $2)"

        class Store:
            async def run(self, conn, rows):
                await conn.execute(INSERT, 1, 2)
                await conn.executemany(INSERT, rows)
                await conn.fetchrow(SELECT_ONE, 1)
                local = "UPDATE t SET a = $1"
                await conn.execute(local, 1)
                await conn.fetch("SELECT a FROM t")
    """))
    assert [(s.method, s.arg_count, s.sql.split()[0]) for s in result.sql] == [
        ("execute", 2, "INSERT"), ("executemany", None, "INSERT"), ("fetchrow", 1, "SELECT"),
        ("execute", 1, "UPDATE"), ("fetch", 0, "SELECT")]
    assert result.violations == ()


def test_statements_through_retry_helpers_are_counted_where_the_values_are_passed(tmp_path) -> None:
    result = scan(code(tmp_path, mod="""
        INSERT = "INSERT INTO t (a, b) VALUES ($1, $2)"

        class Store:
            async def varargs(self):
                await self._execute(INSERT, 1, 2)

            async def thunk(self):
                await self._write("t", INSERT, lambda: (1, 2, 3))

            async def _execute(self, query, *args):
                async with self.pool.acquire() as conn:
                    await conn.execute(query, *args)

            async def _write(self, table, query, build):
                args = build()

                async def attempt():
                    await self.conn.execute(query, *args)

                await attempt()

        class Adapter:  # implements the port: its callers are the db-method sites themselves
            async def execute(self, query, *args):
                return await self._connection.execute(query, *args)

        async def run_sql(conn, query, *args):
            return await conn.fetch(query, *args)

        async def use(conn):
            await run_sql(conn, INSERT, 1)
            await logged(INSERT, 1, 2, 3)

        async def logged(query, *args):
            return await run_sql(None, query, *args)
    """))
    assert [(s.method, s.arg_count) for s in result.sql] == [
        ("_execute", 2), ("_write", 3), ("run_sql", 1), ("logged", 3)]
    assert result.violations == ()


@pytest.mark.parametrize(("expr", "how"), [
    ('f"SELECT * FROM t WHERE id = {oid}"', "f-string"),
    ('"SELECT * FROM t WHERE id = %s" % oid', "% formatting"),
    ('"SELECT * FROM t WHERE id = " + oid', "+ concatenation"),
    ('"SELECT * FROM t WHERE id = {}".format(oid)', ".format()"),
])
def test_sql_built_by_formatting_is_flagged(tmp_path, expr, how) -> None:
    result = scan(code(tmp_path, mod=f"""
        async def load(conn, oid):
            query = {expr}
            return await conn.fetch(query)
    """))
    [finding] = result.violations
    assert (finding.rule, how in finding.message) == ("static.sql-built-by-formatting", True)


def test_constant_concatenation_is_not_formatting_and_unknown_sql_is_a_warning(tmp_path) -> None:
    result = scan(code(tmp_path, mod="""
        HEAD = "SELECT a "
        QUERY = HEAD + "FROM t"

        async def load(conn, kind):
            await conn.fetch(QUERY)
            await conn.fetch(kind.query)
    """))
    assert [s.sql for s in result.sql] == ["SELECT a FROM t"]
    assert rules(result) == ["static.sql-unresolved"]


# -- factories -------------------------------------------------------------------------------


def test_factory_never_called_and_the_ways_a_factory_counts_as_used(tmp_path) -> None:
    result = scan(code(tmp_path, mod="""
        class Container:
            def create_called(self): ...
            def create_by_reference(self): ...
            def create_by_name(self): ...
            def create_dead(self): ...

        def wire(container):
            container.create_called()
            builders = [container.create_by_reference]
            return builders, getattr(container, "create_by_name")()
    """))
    assert [v.message for v in result.violations] == [
        "factory Container.create_dead() is defined but never called"]


SERVICES = (Service("Optional", "Container.create_optional", optional=True),
            Service("Required", "Container.create_required", optional=False))


@pytest.mark.parametrize(("optional_body", "required_body", "expected"), [
    ("try:\n    return Thing()\nexcept OSError as e:\n    log.warning('off: %s', e)\n    return None",
     "return Thing()", []),
    ("raise RuntimeError('no')", "return Thing()", ["static.optional-factory-raises",
                                                      "static.optional-factory-silent"]),
    ("try:\n    return Thing()\nexcept OSError:\n    return None",
     "return Thing()", ["static.optional-factory-silent"]),
    ("log.info('off')\nreturn None", "if not self.ok:\n    return None\nreturn Thing()",
     ["static.required-factory-returns-none"]),
])
def test_service_factory_error_policy(tmp_path, optional_body, required_body, expected) -> None:
    result = scan(code(tmp_path, mod=fill("""
        class Thing: ...

        class Container:
            def create_optional(self):
                <optional>

            def create_required(self):
                <required>

        def wire(c):
            return c.create_optional(), c.create_required()
    """, optional=optional_body, required=required_body)), services=SERVICES)
    assert sorted(rules(result)) == expected


def test_required_factory_annotated_optional_and_missing_factory(tmp_path) -> None:
    result = scan(code(tmp_path, mod="""
        class Container:
            def create_required(self) -> int | None:
                return 1

        def wire(c):
            return c.create_required()
    """), services=SERVICES)
    assert sorted(rules(result)) == ["static.required-factory-returns-none", "static.service-factory-missing"]


# -- unawaited coroutines --------------------------------------------------------------------


def test_unawaited_coroutines_are_flagged_and_consumed_ones_are_not(tmp_path) -> None:
    result = scan(code(tmp_path, mod="""
        import asyncio
        from contextlib import asynccontextmanager

        async def helper():
            pass

        @asynccontextmanager
        async def managed():
            yield

        class Session:
            async def _transition(self, state):
                self.state = state

            def sync_step(self):
                pass

            async def run(self, tg, other):
                self._transition("A")
                pending = self._transition("B")
                helper()
                self.other.publish_event()
                await self._transition("C")
                tg.start_soon(self._transition, "D")
                asyncio.create_task(self._transition("E"))
                await asyncio.gather(*[helper() for _ in range(2)])
                self.sync_step()
                other.publish_event()   # unknown receiver: judged only on self and self.x
                self._items.clear()     # a builtin method name, even if some class has async clear()
                async with managed():
                    pass
                async for _ in self.stream():
                    pass
                return bool(pending)   # only tested, never awaited

            async def stream(self):
                yield 1

            def later(self):
                return self._transition("F")

        class Other:
            async def publish_event(self):
                pass

            async def clear(self):
                pass
    """))
    flagged = [(v.location, v.details["function"]) for v in result.violations]
    assert flagged == [("mod.py:20", "_transition"), ("mod.py:21", "_transition"), ("mod.py:22", "helper"),
                       ("mod.py:23", "publish_event")]


# -- lock order ------------------------------------------------------------------------------


LOCKS = """
    import anyio

    class Manager:
        def __init__(self):
            self._a = anyio.Lock()
            self._b = anyio.Lock()

        async def one(self):
            async with self._a:
                await self._take_b()

        async def _take_b(self):
            async with self._b:
                pass

        async def two(self):
            <two>
"""


@pytest.mark.parametrize(("two", "expected"), [
    ("async with self._a, self._b:\n    pass", []),
    ("async with self._b:\n    async with self._a:\n        pass", ["static.lock-order"]),
    ("async with self._b, self._a:\n    pass", ["static.lock-order"]),
    ("async with self._a:\n    async with self._a:\n        pass", ["static.lock-order"]),
])
def test_lock_order_cycles(tmp_path, two, expected) -> None:
    result = scan(code(tmp_path, mod=fill(LOCKS, two=two)))
    assert rules(result) == expected


# -- robustness and determinism --------------------------------------------------------------


def test_a_file_that_does_not_parse_is_reported_and_the_rest_still_scanned(tmp_path) -> None:
    result = scan(code(tmp_path, broken="def broken(:\n", good='async def f(bus):\n    await bus.publish("t", {})\n'))
    assert rules(result) == ["static.syntax-error"]
    assert result.violations[0].location == "broken.py:1"
    assert [s.topic for s in result.publishes] == ["t"]
    assert result.files == 2


def test_scan_is_deterministic_and_sorted(tmp_path) -> None:
    files = {f"m{i}": f'async def f(bus):\n    await bus.publish("t{9 - i}", {{"k": {i}}})\n' for i in range(10)}
    first = scan(code(tmp_path, **files))
    second = scan(tmp_path)
    assert first == second
    assert [s.location for s in first.publishes] == sorted(s.location for s in first.publishes)


def test_scan_root_must_be_a_directory(tmp_path) -> None:
    with pytest.raises(NotADirectoryError, match="scan root is not a directory"):
        scan(tmp_path / "missing")


def test_locks_are_known_by_type_or_by_name_and_a_clock_is_not_a_lock(tmp_path) -> None:
    result = scan(code(tmp_path, mod="""
        import anyio

        class Replay:
            def __init__(self, clock, lock):
                self._clock = clock
                self._guard = anyio.Semaphore(1)
                self._state_lock = lock

            async def one(self):
                async with self._guard, self._state_lock, self._clock:
                    pass

            async def two(self):
                async with self._clock, self._state_lock:
                    pass

            async def three(self):
                async with self._state_lock, self._guard:
                    pass
    """))
    [finding] = result.violations
    assert finding.details["cycle"] == ["_guard", "_state_lock"]


def test_callers_outside_the_tree_count_by_call_not_by_mention(tmp_path) -> None:
    app = code(tmp_path / "app", container="""
        class Container:
            def create_root(self): ...
            def create_described(self): ...
    """)
    entry = code(tmp_path / "entry", main="""
        def main(container):
            print("see create_described in the docs")
            return container.create_root()
    """)
    assert [f.name for f in scan(app).factories if not f.references] == ["create_root", "create_described"]
    result = scan(app, callers=(entry,))
    assert [v.message for v in result.violations] == [
        "factory Container.create_described() is defined but never called"]
    assert [f.references for f in result.factories if f.name == "create_root"] == [("entry/main.py:4",)]


@pytest.mark.parametrize(("source", "what"), [
    ("import time\n\ndef f():\n    return time.time()\n", "time.time"),
    ("from time import sleep as pause\n\ndef f():\n    pause(1)\n", "time.sleep"),
    ("from datetime import datetime, UTC\n\ndef f():\n    return datetime.now(UTC)\n", "datetime.datetime.now"),
    ("import datetime as dt\n\ndef f():\n    return dt.date.today()\n", "datetime.date.today"),
    ("import uuid\n\nclass Strategy:\n    def sid(self):\n        return str(uuid.uuid4())\n", "uuid.uuid4"),
    ("import random\n\ndef f(xs):\n    random.shuffle(xs)\n", "random.shuffle"),
    ("import random\n\nRNG = random.Random()\n", "random.Random"),
    ("import threading\n", "import threading"),
    ("from concurrent.futures import ThreadPoolExecutor\n", "import concurrent.futures"),
    ("import asyncio\n\nasync def f(loop):\n    await loop.run_in_executor(None, print)\n", "loop.run_in_executor"),
    ("import asyncio\n\nasync def f():\n    await asyncio.open_connection('h', 1)\n", "asyncio.open_connection"),
    ("import httpx\n\ndef f():\n    return httpx.AsyncClient(base_url='https://x')\n", "httpx.AsyncClient"),
])
def test_direct_clock_entropy_thread_and_socket_use_is_flagged(tmp_path, source, what) -> None:
    result = scan(code(tmp_path, pkg__component=source))
    found = [v for v in result.violations if v.rule == "static.nondeterminism-source"]
    assert len(found) == 1, result.violations
    assert found[0].location.startswith("pkg/component.py:") and f"uses {what}," in found[0].message


def test_ports_seeded_generators_and_adapters_are_not_nondeterminism(tmp_path) -> None:
    root = code(
        tmp_path,
        pkg__component="""
            import random
            import httpx
            from datetime import datetime, timedelta

            class Component:
                def __init__(self, clock, ids, seed, transport):
                    self.rng = random.Random(seed)
                    self.http = httpx.AsyncClient(transport=transport)
                    self.started = clock.now() + timedelta(seconds=1)
                    self.sid = ids.new_id("sig")
                    self.parsed = datetime.fromisoformat("2026-01-01T00:00:00+00:00")
                    time = self.started   # a local that shadows nothing imported
            """,
        pkg__adapters__clock="""
            import time
            from datetime import UTC, datetime

            class SystemClock:
                def now(self):
                    return datetime.now(UTC)

                def monotonic(self):
                    return time.monotonic()
            """,
    )
    assert "static.nondeterminism-source" not in rules(scan(root))
    flagged = scan(root, ports=())
    assert [v.location for v in flagged.violations if v.rule == "static.nondeterminism-source"] == [
        "pkg/adapters/clock.py:7", "pkg/adapters/clock.py:10"]
