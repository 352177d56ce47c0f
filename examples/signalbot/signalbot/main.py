"""Entry point: build the container, start every component, run the feed."""

import asyncio
import json
import sys
from typing import Any

from signalbot.container import Container


async def run(config: dict[str, Any], exchange: Any, pool: Any) -> None:
    container = Container(config, exchange, pool)
    engine = container.create_signal_engine()
    orders = container.create_order_manager()
    persistence = container.create_persistence()
    for component in (engine, orders, persistence):
        await component.start()
    await container.create_feed().run()


def main() -> None:  # pragma: no cover - needs an exchange and a database
    import asyncpg
    import ccxt.async_support as ccxt

    with open(sys.argv[1]) as handle:
        config = json.load(handle)

    async def start() -> None:
        pool = await asyncpg.create_pool(config["dsn"])
        await run(config, ccxt.binance(), pool)

    asyncio.run(start())
