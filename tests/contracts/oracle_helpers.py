"""A small registry that is not the trading one (a shop), for the derived runtime oracles.

The lineage, invariant and drop oracles must work for any registry; their unit tests use this
one, fed by hand (publishes and statements in the order a system would issue them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contracts.migrations import load_schema
from contracts.monitor import RuntimeMonitor
from contracts.registry import (
    Consumer,
    Entity,
    Field,
    Invariant,
    Lineage,
    Registry,
    StateMachine,
    Topic,
)
from contracts.schema import Schema

DDL = """
CREATE TABLE carts (
    cart_id SYMBOL,
    owner SYMBOL,
    status SYMBOL,
    total DOUBLE,
    discount DOUBLE,
    note STRING,
    created_at TIMESTAMP,
    opened_by STRING
) timestamp(created_at) PARTITION BY DAY WAL
DEDUP UPSERT KEYS(created_at, cart_id);
"""

PERSIST = Consumer("Store", "persistence")


def _topic(name: str, *fields: Field) -> Topic:
    return Topic(name, fields, producers=("Shop",), consumers=(PERSIST,), required_roles={"run": ("persistence",)})


TOPICS = (
    _topic("cart.opened", Field("cart_id", ("str",)), Field("owner", ("str",)), Field("total", ("float",)),
           Field("discount", ("float",)), Field("tags", ("dict",)), Field("at", ("float",))),
    _topic("cart.changed", Field("cart_id", ("str",)), Field("total", ("float",)), Field("discount", ("float",)),
           Field("status", ("str",))),
    _topic("cart.closed", Field("cart_id", ("str",)), Field("reason", ("str",))),
)

LINEAGE = (
    Lineage("cart.opened", "cart_id", "carts", "cart_id"),
    Lineage("cart.opened", "owner", "carts", "owner"),
    Lineage("cart.opened", "total", "carts", "total"),
    Lineage("cart.opened", "discount", "carts", "discount"),
    Lineage("cart.opened", "tags", "carts", "note"),
    Lineage("cart.opened", "at", "carts", "created_at"),
    Lineage.constant("cart.opened", "carts", "status", "OPEN"),
    Lineage("cart.changed", "cart_id", "carts", "cart_id"),
    Lineage("cart.changed", "total", "carts", "total"),
    Lineage("cart.changed", "discount", "carts", "discount"),
    Lineage("cart.changed", "status", "carts", "status"),
    Lineage("cart.closed", "cart_id", "carts", "cart_id"),
    Lineage.constant("cart.closed", "carts", "status", "CLOSED"),
    Lineage.derived("cart.closed", "carts", "note", lambda p: json.dumps({"why": p["reason"]}),
                    "json of {why: reason}"),
)

CART = Entity("cart", ("cart_id",), ("cart.opened", "cart.changed", "cart.closed"),
              StateMachine("status", initial=("OPEN",), transitions={"OPEN": ("OPEN", "CLOSED"), "CLOSED": ()},
                           topic_states={"cart.opened": "OPEN", "cart.closed": "CLOSED"}))

INVARIANTS = (
    Invariant("cart.discount-within-total", "0 <= discount <= total", ("discount", "total"),
              lambda v: 0 <= v["discount"] <= v["total"], topics=("cart.opened", "cart.changed"), tables=("carts",)),
    Invariant("cart.owner-named", "owner is not empty", ("owner",), lambda v: bool(v["owner"].strip()),
              topics=("cart.changed",)),
)

REGISTRY = Registry("shop", ("run",), {t.name: t for t in TOPICS}, lineage=LINEAGE,
                    outside_events={"carts": ("opened_by",)}, entities=(CART,), invariants=INVARIANTS)

INSERT_CART = ("INSERT INTO carts (cart_id, owner, status, total, discount, note, created_at)"
               " VALUES ($1, $2, $3, $4, $5, $6, $7)")
INSERT_CART_BY = ("INSERT INTO carts (cart_id, owner, status, total, discount, note, created_at, opened_by)"
                  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
UPDATE_CART = "UPDATE carts SET total = $1, discount = $2, status = $3 WHERE cart_id = $4"
CLOSE_CART = "UPDATE carts SET status = $1, note = $2 WHERE cart_id = $3"


def schema(tmp_path: Path) -> Schema:
    (tmp_path / "001_carts.sql").write_text(DDL)
    return load_schema(tmp_path)


class _Sub:
    """A live persistence subscriber, so publishes are not dead letters."""

    topic, component, role = "", "Store", "persistence"


SUBSCRIBERS = (_Sub(),)


def monitor(tmp_path: Path) -> RuntimeMonitor:
    return RuntimeMonitor(REGISTRY, schema(tmp_path), mode="run", location_hint=lambda: "t=1s")


def opened(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"cart_id": "c1", "owner": "ann", "total": 30.0, "discount": 5.0,
                               "tags": {"vip": True}, "at": 1_700_000_000.5}
    payload.update(changes)
    return payload


def insert_args(payload: dict[str, Any]) -> tuple[Any, ...]:
    """The arguments a correct writer passes for ``cart.opened``."""
    from datetime import datetime, timedelta

    stamp = datetime(1970, 1, 1) + timedelta(seconds=payload["at"])
    return (payload["cart_id"], payload["owner"], "OPEN", payload["total"], payload["discount"],
            json.dumps(payload["tags"]), stamp)


def rules(mon: RuntimeMonitor, prefix: str = "") -> list[str]:
    return sorted(v.rule for v in mon.violations() if v.rule.startswith(prefix))
