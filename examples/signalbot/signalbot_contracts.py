"""signalbot's event contract for simwire (drafted from the code's publish/subscribe sites)."""

from contracts.registry import Consumer, Field, Registry, Topic


def fields(**types: str) -> tuple[Field, ...]:
    return tuple(Field(name, (kind,)) for name, kind in types.items())


PRICE = fields(symbol="str", price="float", timestamp="float")

REGISTRY = Registry(
    name="signalbot",
    modes=("live",),
    topics={
        "price_updated": Topic("price_updated", PRICE, producers=("MarketFeed",), consumers=(), required_roles={}),
        "price_update": Topic("price_update", PRICE, producers=(), consumers=(Consumer("SignalEngine", "signals"),),
                              required_roles={"live": ("signals",)}),
        "signal_generated": Topic(
            "signal_generated", fields(signal_id="str", symbol="str", side="str", price="float", generated_at="str"),
            producers=("SignalEngine",), consumers=(Consumer("OrderManager", "order_execution"),),
            required_roles={"live": ("order_execution",)}),
        "order_created": Topic(
            "order_created", fields(order_id="str", signal_id="str", symbol="str", side="str", quantity="float",
                                    price="float", created_at="str"),
            producers=("OrderManager",), consumers=(Consumer("PersistenceService", "persistence"),),
            required_roles={"live": ("persistence",)}),
    },
)
