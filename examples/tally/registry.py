"""tally's event contract, declared apart from its code: what simwire's runtime monitor checks."""

from __future__ import annotations

from contracts.registry import Consumer, Field, Registry, Topic

MODES = ("backtest",)
"""tally has one way to run; simwire's default mode name is used for it."""
STORE = Consumer("Store", "persistence")

TOPICS = (
    Topic("reading", fields=(Field("reading_id", ("str",)), Field("meter", ("str",)), Field("value", ("float",)),
                             Field("at", ("float",))),
          producers=("Meter",), consumers=(Consumer("Aggregator", "aggregate"), STORE),
          required_roles={"backtest": ("aggregate", "persistence")}),
    Topic("total", fields=(Field("meter", ("str",)), Field("count", ("int",)), Field("total", ("float",)),
                           Field("at", ("float",))),
          producers=("Aggregator",), consumers=(STORE,), required_roles={"backtest": ("persistence",)}),
)

REGISTRY = Registry(name="tally", modes=MODES, topics={topic.name: topic for topic in TOPICS})
