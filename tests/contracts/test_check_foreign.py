"""A code base of the seed report's shape, written as such code is (not for simwire), checked
with configuration only: exactly its planted defects are found, none of issue 12's false
positives come back."""

import json

from sim.cli import main
from tests.contracts.test_check_config import write

BOT = {
    "bot/__init__.py": "",
    "bot/core/__init__.py": "",
    "bot/core/event_bus.py": """
        import inspect
        import threading
        from collections import defaultdict


        class EventBus:
            def __init__(self):
                self._handlers = defaultdict(list)
                self._lock = threading.RLock()

            async def subscribe(self, topic, handler):
                with self._lock:
                    self._handlers[topic].append(handler)

            async def publish(self, topic, data):
                with self._lock:
                    handlers = list(self._handlers[topic])
                    self._count()
                for handler in handlers:
                    result = handler(data)
                    if inspect.isawaitable(result):
                        await result

            def _count(self):
                with self._lock:
                    return len(self._handlers)
    """,
    "bot/core/rate_limit.py": """
        import asyncio


        class RateLimiter:
            def __init__(self):
                self._sem = asyncio.Semaphore(5)

            async def acquire(self):
                await self._sem.acquire()

            def release(self):
                self._sem.release()
    """,
    "bot/core/container.py": """
        from bot.orders import OrderManager
        from bot.persistence import Persistence
        from bot.strategy import StrategyManager


        class Container:
            def __init__(self, bus, pool):
                self.bus = bus
                self.pool = pool

            def create_order_manager(self):
                return OrderManager(self.bus)

            def create_persistence(self):
                return Persistence(self.bus, self.pool)

            def create_strategy_manager(self):
                return StrategyManager(self.bus)
    """,
    "bot/main.py": """
        import asyncio

        from bot.core.container import Container
        from bot.core.event_bus import EventBus


        async def main(pool):
            container = Container(EventBus(), pool)
            managers = [container.create_order_manager(), container.create_persistence(),
                        container.create_strategy_manager()]
            await asyncio.gather(*(m.start() for m in managers))
    """,
    "bot/strategy.py": """
        import uuid
        from datetime import datetime


        class StrategyManager:
            def __init__(self, event_bus):
                self.event_bus = event_bus

            async def start(self):
                await self.event_bus.subscribe("market.price_update", self._on_price)

            async def _on_price(self, data):
                signal = {"signal_id": str(uuid.uuid4()), "symbol": data["symbol"], "price": data["price"]}
                signal["timestamp"] = datetime.now().isoformat()
                await self.event_bus.publish("signal_generated", signal)
    """,
    "bot/orders.py": """
        import asyncio


        class OrderManager:
            def __init__(self, event_bus):
                self.event_bus = event_bus
                self._lock = asyncio.Lock()
                self._open = {}

            async def start(self):
                self.event_bus.subscribe("signal_generated", self._on_signal)   # PLANTED: not awaited

            async def _on_signal(self, signal):
                async with self._lock:
                    if signal["symbol"] in self._open:
                        return
                    self._open[signal["symbol"]] = signal["signal_id"]
                    order = {"order_id": signal["signal_id"] + "-1", "symbol": signal["symbol"],
                             "side": signal["side"]}   # PLANTED: 'side' is never published
                await self.event_bus.publish("order_created", {**order, "price": signal["price"]})
    """,
    "bot/persistence.py": """
        from bot.core.rate_limit import RateLimiter

        INSERT_ORDER = "INSERT INTO orders (order_id, symbol, side, price, ts) VALUES ($1, $2, $3, $4, now())"


        class Persistence:
            def __init__(self, event_bus, db_pool):
                self.event_bus = event_bus
                self.db_pool = db_pool
                self.limiter = RateLimiter()

            async def start(self):
                await self.event_bus.subscribe("order_created", self._on_order)
                await self.event_bus.subscribe("order_filled", self._on_fill)   # PLANTED: nobody publishes it

            async def _on_order(self, data):
                await self.limiter.acquire()
                try:
                    async with self.db_pool.acquire() as conn:
                        await conn.execute(INSERT_ORDER, data["order_id"], data["symbol"], data["side"],
                                           data["price"])
                finally:
                    self.limiter.release()

            async def _on_fill(self, data):
                return data["order_id"]
    """,
    "bot/adapters/__init__.py": "",
    "bot/adapters/feed.py": """
        import time


        class Feed:
            def __init__(self, event_bus):
                self.event_bus = event_bus

            async def tick(self, symbol, price):
                await self.event_bus.publish("market.price_update",
                                             {"symbol": symbol, "price": price, "ts": time.time()})
    """,
}

CONFIG = """
[tool.simwire]
paths = ["bot"]
ports = ["bot/adapters/**", "bot/strategy.py"]   # the strategy stamps ids and time itself: accepted

[tool.simwire.per-path-ignores]
"bot/core/event_bus.py" = ["static.nondeterminism-source"]   # its RLock guards registration from threads
"""


def test_a_seed_shaped_code_base_gives_exactly_its_planted_defects(tmp_path, capsys) -> None:
    root = write(tmp_path / "bot_project", BOT)
    (root / "bot" / "bom.py").write_bytes(b"\xef\xbb\xbfVALUE = 1\n")   # saved by an editor with a BOM
    (root / "pyproject.toml").write_text(CONFIG)
    assert main(["check", "--path", str(root / "bot"), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(v["rule"], v["location"], v["symbol"]) for v in report["violations"]] == [
        ("static.unawaited-async", "bot/orders.py:11", "OrderManager.start"),
        ("static.handler-reads-unpublished", "bot/orders.py:19", "OrderManager._on_signal"),
        ("static.topic-never-published", "bot/persistence.py:14", "Persistence.start"),
        # a port may read the wall clock, but a naive datetime.now() stamps the host's local time (issue 11)
        ("static.nondeterminism-source", "bot/strategy.py:14", "StrategyManager._on_price"),
    ]
    assert report["registry"] is None and report["files"] == 12
