"""Each seed-report defect, as an edit of a clean miniature system, fires exactly its rules."""

import shutil

import pytest

from contracts.check import check
from contracts.registry import load_registry
from tests.contracts.fixtures.defects import DEFECTS
from tests.contracts.helpers import CLEAN, MIGRATIONS, REPO, fixture_registry, with_defect


def test_clean_fixture_has_no_findings_at_all() -> None:
    report = check(CLEAN, fixture_registry(), MIGRATIONS)
    assert [v.render() for v in report.violations] == []
    assert report.files == 6


@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: d.name)
def test_defect_fires_exactly_its_rules(tmp_path, defect) -> None:
    report = check(with_defect(tmp_path, defect), fixture_registry(), MIGRATIONS)
    fired = {v.rule for v in report.violations}
    assert fired == defect.rules, "\n".join(v.render() for v in report.violations)
    assert all(v.location and v.expected and v.seen for v in report.violations)


def test_every_static_defect_of_the_seed_report_has_a_fixture() -> None:
    # Defect 6 (the cursor race) is a runtime finding of the simulation, not a static one.
    assert {d.seed for d in DEFECTS if d.seed} == {1, 2, 3, 4, 5, 7, 8}


def test_messages_name_the_cause(tmp_path) -> None:
    by_name = {d.name: d for d in DEFECTS}
    report = check(with_defect(tmp_path, by_name["abba-locks"]), fixture_registry(), MIGRATIONS)
    [finding] = report.violations
    assert "OrderManagerBase._on_signal" in finding.seen and "OrderManagerBase.reset" in finding.seen
    assert finding.details["cycle"] == ["_lock", "_sequence_lock"]


def test_unreachable_consumer_names_the_dead_factory(tmp_path) -> None:
    by_name = {d.name: d for d in DEFECTS}
    report = check(with_defect(tmp_path, by_name["required-role-missing"]), fixture_registry(), MIGRATIONS)
    [missing] = [v for v in report.violations if v.rule == "static.missing-required-consumer"]
    assert "create_backtest_order_manager()" in missing.seen
    assert missing.details["modes"] == ["backtest", "paper"]


def test_broken_migration_statement_is_one_finding_and_the_rest_still_applies(tmp_path) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, migrations)
    (migrations / "002_broken.sql").write_text("CREATE TABLE t (ts TIMESTAMP) timestamp(missing);\n")
    report = check(CLEAN, fixture_registry(), migrations)
    [finding] = report.violations  # the clean code's SQL is still checked, against 001's tables
    assert finding.rule == "schema.migration-error"
    assert finding.location == f"{migrations / '002_broken.sql'}:1"


def test_seed_defect_1_on_a_copy_of_the_real_system(tmp_path) -> None:
    """The headline defect, reintroduced into the real code: backtests get the paper manager."""
    root = tmp_path / "copy_of_system"   # imports still say ``system.``: resolved all the same
    shutil.copytree(REPO / "system", root, ignore=shutil.ignore_patterns("__pycache__"))
    callers = [p for p in root.rglob("*.py") if ".create_backtest_order_manager(" in p.read_text()]
    assert callers, "system/ no longer calls create_backtest_order_manager: update this test"
    for path in callers:
        path.write_text(path.read_text().replace(".create_backtest_order_manager(", ".create_order_manager("))
    report = check(root, load_registry(), callers=(REPO / "sim",))
    never_called, no_executor = report.violations
    assert (never_called.rule, never_called.message) == (
        "static.factory-never-called", "factory Container.create_backtest_order_manager() is defined but never called")
    # the registry says which components run in backtest: the paper manager does not, so the
    # signal has no order executor there (the defect itself, named statically)
    assert no_executor.rule == "static.missing-required-consumer"
    assert "'order_execution' in backtest" in no_executor.message


def test_a_narrowed_lock_in_the_real_order_manager_is_check_then_act(tmp_path) -> None:
    """Issue 11's lock narrowing: the position is read under ``_lock``, the lock ends, the
    sequence lock is awaited, and the close is built from the stale position."""
    root = tmp_path / "copy_of_system"
    shutil.copytree(REPO / "system", root, ignore=shutil.ignore_patterns("__pycache__"))
    base = root / "orders" / "base.py"
    old = ('        async with self._lock:\n'
           '            position = self._open.get(signal["symbol"], {}).get(signal["strategy_id"])\n'
           '            async with self._order_sequence_lock:\n'
           '                order_id, sequence = self._next_order_id()\n')
    new = ('        async with self._lock:\n'
           '            position = self._open.get(signal["symbol"], {}).get(signal["strategy_id"])\n'
           '        async with self._order_sequence_lock:\n'
           '            order_id, sequence = self._next_order_id()\n'
           '        if True:\n')
    assert base.read_text().count(old) == 1, "system/orders/base.py changed: update this test"
    base.write_text(base.read_text().replace(old, new))
    read_line = base.read_text().splitlines().index(new.splitlines()[1]) + 1
    report = check(root, load_registry(), callers=(REPO / "sim",))
    assert [(v.rule, v.location, v.details["attribute"]) for v in report.violations] == [
        ("static.check-then-act", f"orders/base.py:{read_line}", "_open")]


def test_a_missing_await_through_a_typed_local_in_the_real_controller(tmp_path) -> None:
    """Issue 11: ``controller = self.session(id)`` is an ExecutionController by the method's
    return annotation, so ``controller.stop()`` without await is found statically."""
    root = tmp_path / "copy_of_system"
    shutil.copytree(REPO / "system", root, ignore=shutil.ignore_patterns("__pycache__"))
    unified = root / "controllers" / "unified.py"
    old = "        controller = self.session(session_id)\n        await controller.stop()\n"
    assert unified.read_text().count(old) == 1, "system/controllers/unified.py changed: update this test"
    unified.write_text(unified.read_text().replace(old, old.replace("await controller.stop()", "controller.stop()")))
    line = unified.read_text().splitlines().index("        controller.stop()") + 1
    report = check(root, load_registry(), callers=(REPO / "sim",))
    assert [(v.rule, v.location) for v in report.violations] == [
        ("static.unawaited-async", f"controllers/unified.py:{line}")]
