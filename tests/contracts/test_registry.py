"""The registry model validates itself; load_registry finds registries by module or by file."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.registry import (
    BusConventions,
    Consumer,
    Field,
    Lineage,
    Registry,
    RegistryError,
    Service,
    Topic,
    load_registry,
    trading,
)

REPO = Path(__file__).resolve().parents[2]


def topic(name: str = "t", *, required: dict | None = None) -> Topic:
    return Topic(name, (Field("a", ("str",)),), producers=("P",), consumers=(Consumer("C", "worker"),),
                 required_roles=required or {})


def test_field_types_must_come_from_the_known_set():
    with pytest.raises(RegistryError, match=r"field 'x'.*'decimal'"):
        Field("x", ("decimal",))
    with pytest.raises(RegistryError, match="non-empty"):
        Field("x", ())


def test_topic_rejects_duplicate_fields_and_roles_no_consumer_has():
    with pytest.raises(RegistryError, match=r"duplicate fields \['a'\]"):
        Topic("t", (Field("a", ("str",)), Field("a", ("int",))), (), (), {})
    with pytest.raises(RegistryError, match="requires roles \\['order_execution'\\]"):
        topic(required={"backtest": ("order_execution",)})


def test_registry_rejects_unknown_modes_bad_lineage_and_duplicate_services():
    with pytest.raises(RegistryError, match="unknown modes \\['paper'\\]"):
        Registry("r", ("backtest",), {"t": topic(required={"paper": ("worker",)})})
    with pytest.raises(RegistryError, match="no field 'b' on topic 't'"):
        Registry("r", ("backtest",), {"t": topic()}, lineage=(Lineage("t", "b", "table", "b"),))
    with pytest.raises(RegistryError, match="keyed 'u' is named 't'"):
        Registry("r", ("backtest",), {"u": topic()})
    with pytest.raises(RegistryError, match="services declared twice"):
        Registry("r", ("backtest",), {}, services=(Service("A", "create_a", False), Service("B", "create_a", True)))


def test_required_roles_per_mode():
    registry = Registry("r", ("backtest", "live"), {"t": topic(required={"backtest": ("worker",)})})
    assert registry.required_roles("t", "backtest") == ("worker",)
    assert registry.required_roles("t", "live") == ()
    assert registry.required_roles("unknown", "backtest") == ()


def test_default_registry_is_the_trading_systems():
    assert load_registry() is trading.REGISTRY
    assert load_registry("contracts.registry.trading:REGISTRY") is trading.REGISTRY


def test_the_trading_registry_answers_the_seed_report():
    registry = trading.REGISTRY
    for mode in registry.modes:
        assert registry.required_roles("market.price_update", mode) == ("indicators",)
        assert registry.required_roles("indicator.updated", mode) == ("strategy",)
        assert set(registry.required_roles("signal_generated", mode)) == {"order_execution", "persistence"}
        for name in registry.topics:
            if name.startswith(("order_", "position_")):
                assert registry.required_roles(name, mode) == ("persistence",), name
    for name, declared in registry.topics.items():
        if name.startswith("storage."):  # about the shared database, not one session's trading
            continue
        session_id = declared.field_named("session_id")
        assert session_id is not None and session_id.required and session_id.types == ("str",), name
    for name in ("signal_generated", "order_created", "order_filled", "order_rejected", "order_cancelled"):
        assert registry.topics[name].field_named("signal_id").required, name
    assert {"signal_id", "session_id"} <= set(registry.required_columns["strategy_signals"])
    assert [s.factory for s in registry.services if s.optional] == ["create_notification_service"]
    assert "create_backtest_order_manager" in {s.factory for s in registry.services}
    assert registry.conventions == BusConventions(topic_constants=("system/topics.py",))


def test_the_trading_registry_names_exactly_the_topics_of_system_topics():
    namespace: dict[str, object] = {}
    exec((REPO / "system" / "topics.py").read_text(), namespace)  # read as a file: contracts never imports system
    constants = {value for key, value in namespace.items() if key.isupper() and isinstance(value, str)}
    assert constants == set(trading.REGISTRY.topics)


def test_load_registry_from_a_file_with_default_and_explicit_names(tmp_path):
    source = tmp_path / "my_registry.py"
    source.write_text(
        "from contracts.registry import Registry\n"
        "REGISTRY = Registry('mine', ('live',), {})\n"
        "OTHER = Registry('other', ('live',), {})\n"
    )
    assert load_registry(str(source)).name == "mine"
    assert load_registry(f"{source}:OTHER").name == "other"


@pytest.mark.parametrize(("spec", "message"), [
    ("no_such_module_xyz:REGISTRY", "cannot import 'no_such_module_xyz'"),
    ("contracts.registry.trading:NOPE", "define NOPE as a contracts.registry.Registry, seen NoneType"),
    ("contracts.registry.trading:MODES", "seen tuple"),
    ("does/not/exist.py", "no such file"),
])
def test_load_registry_errors_name_the_spec(spec, message):
    with pytest.raises(RegistryError, match="registry spec") as caught:
        load_registry(spec)
    assert message in str(caught.value)
