"""The wiring graph and its Mermaid rendering, on the fixture and on the real system."""

import json
import os
import subprocess
import sys

from contracts.registry import load_registry
from contracts.scanner import build_wiring, render_mermaid, scan
from tests.contracts.fixtures.defects import DEFECTS
from tests.contracts.helpers import CLEAN, REPO, fixture_registry, with_defect


def fixture_graph(root=CLEAN):
    registry = fixture_registry()
    return build_wiring(scan(root, registry.conventions), registry)


def test_graph_has_components_topics_edges_and_tables() -> None:
    graph = fixture_graph()
    assert graph.components == ("BacktestOrderManager", "OrderManager", "Persistence", "StrategyManager")
    assert graph.topics == ("order_created", "signal_generated")
    subscribers = {(e.topic, e.component, e.role) for e in graph.edges if e.kind == "subscribe"}
    assert ("signal_generated", "BacktestOrderManager", "order_execution") in subscribers
    assert ("order_created", "Persistence", "persistence") in subscribers
    assert dict(graph.tables_written) == {"Persistence": ("orders", "strategy_signals")}
    assert graph.missing == () and graph.unreachable == ()


def test_graph_json_is_stable_and_serialisable() -> None:
    first = json.dumps(fixture_graph().to_json(), sort_keys=True)
    assert first == json.dumps(fixture_graph().to_json(), sort_keys=True)
    assert json.loads(first)["edges"][0] == {
        "kind": "publish", "component": "BacktestOrderManager", "topic": "order_created", "role": "",
        "site": "orders.py:33"}


def test_mermaid_of_a_clean_system_has_no_red() -> None:
    diagram = render_mermaid(fixture_graph(), "backtest")
    assert diagram.startswith("%% simwire wiring, mode backtest\nflowchart LR\n")
    assert '  t_signal_generated -->|order_execution| c_BacktestOrderManager' in diagram
    assert '  c_Persistence -.->|writes| db_strategy_signals' in diagram
    assert ":::missing" not in diagram and "linkStyle" not in diagram


def test_missing_required_consumer_is_drawn_in_red_for_its_mode(tmp_path) -> None:
    [defect] = [d for d in DEFECTS if d.name == "required-role-missing"]
    graph = fixture_graph(with_defect(tmp_path, defect))
    diagram = render_mermaid(graph, "backtest")
    assert 'missing_signal_generated_order_execution["missing: order_execution"]:::missing' in diagram
    links = [line.strip() for line in diagram.splitlines() if "-->" in line or "-.->" in line]
    [styled] = [int(line.split()[1]) for line in diagram.splitlines() if line.startswith("  linkStyle")]
    assert links[styled] == "t_signal_generated -->|order_execution| missing_signal_generated_order_execution"
    assert 'c_BacktestOrderManager["BacktestOrderManager"]:::unreachable' in diagram
    assert [(m.mode, m.topic, m.role) for m in graph.for_mode("paper").missing] == [
        ("paper", "signal_generated", "order_execution")]


def wiring_text(graph, *, line_numbers: bool = True) -> str:
    """The graph as sorted readable lines, so a snapshot diff shows one line per change.
    Without ``line_numbers`` an edit elsewhere in a file does not churn the snapshot."""
    data = graph.to_json()
    edges = [f"{e['kind']:9} {e['component']} {e['topic']} {e['role']}".rstrip()
             + f"  @ {e['site'] if line_numbers else e['site'].rpartition(':')[0]}" for e in data["edges"]]
    lines = sorted(set(edges), key=edges.index)
    lines += [f"writes    {c} {', '.join(t)}" for c, t in data["tables_written"].items()]
    lines += [f"MISSING   {m['mode']} {m['topic']} {m['role']}" for m in data["missing_required_consumers"]]
    lines += [f"UNREACHABLE {c}" for c in data["unreachable_components"]]
    return "\n".join(lines) + "\n"


def test_fixture_wiring_snapshot(snapshot) -> None:
    assert wiring_text(fixture_graph()) == snapshot


def test_real_system_wiring_snapshot(snapshot) -> None:
    registry = load_registry()
    graph = build_wiring(scan(REPO / "system", registry.conventions), registry)
    assert wiring_text(graph, line_numbers=False) == snapshot


def test_wiring_json_does_not_depend_on_the_hash_seed() -> None:
    def run(seed: str) -> str:
        command = [sys.executable, "-m", "sim", "wiring", "--json", "--mode", "live"]
        env = {**os.environ, "PYTHONHASHSEED": seed}
        return subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, check=True).stdout

    first = run("1")
    assert json.loads(first)["topics"]
    assert run("2") == first


LIVE_ONLY = ("LiveOrderManager", "PositionSyncService", "LiveMarketDataSource")


def test_a_mode_graph_shows_only_the_components_of_that_mode() -> None:
    registry = load_registry()
    graph = build_wiring(scan(REPO / "system", registry.conventions), registry)
    backtest, live = render_mermaid(graph, "backtest"), render_mermaid(graph, "live")
    for component in LIVE_ONLY:
        assert f'c_{component}["' not in backtest and component not in graph.for_mode("backtest").components
        assert f'c_{component}["{component}"]' in live
    assert "position.sync_corrected" not in backtest and "position.sync_corrected" in live
    assert 'c_BacktestOrderManager["' in backtest and 'c_BacktestOrderManager["' not in live
    assert 'c_QuestDBHistoricalDataSource["' in backtest and 'c_OrderManager["' not in backtest
    assert ":::missing" not in backtest + live  # each mode's required consumers are its own components
    data = json.loads(subprocess.run([sys.executable, "-m", "sim", "wiring", "--json", "--mode", "backtest"],
                                     cwd=REPO, capture_output=True, text=True, check=True).stdout)
    assert not set(LIVE_ONLY) & set(data["components"])


def test_another_modes_consumer_does_not_satisfy_a_required_role() -> None:
    from dataclasses import replace

    registry = load_registry()
    result = scan(REPO / "system", registry.conventions)
    dropped = replace(result, subscribes=tuple(s for s in result.subscribes
                                               if not (s.component == "BacktestOrderManager"
                                                       and s.topic == "signal_generated")))
    graph = build_wiring(dropped, registry)
    assert [(m.topic, m.role) for m in graph.for_mode("backtest").missing] == [
        ("signal_generated", "order_execution")]
    assert graph.for_mode("paper").missing == () and graph.for_mode("live").missing == ()
