"""The catalogue's measuring probes: the project's own tests and behaviour snapshots on a mutant.

The ``pytest`` probe must run the tests against the *mutated copy* (not the working tree), and
report which failed beside simwire's rules, never as a detection; the ``snapshot`` probe detects
a mutant whose behaviour differs from the committed snapshot and says so (``detected_by``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.cli import main
from sim.harness import mutants

FEE_TEST = "tests/system/test_orders.py::test_close_realizes_pnl_and_the_account_balances"
UNRELATED_TEST = "tests/system/test_indicators.py"

ENTRY = """
id = "X1"
family = "accounting"
description = "drop the fee"
expect = ["{expect}"]

[[change]]
file = "system/orders/base.py"
find = '''{find}'''
replace = '''{replace}'''
{probes}
"""
DROP_FEE = ("        self._fees += order.commission\n", "")
FEE_ON_QUOTE = ("order.commission = price * order.quantity", "order.commission = order.price * order.quantity")


def catalogue(tmp_path: Path, probes: str, *, expect: str = "oracle.accounting",
              change: tuple[str, str] = DROP_FEE) -> Path:
    directory = tmp_path / "catalogue"
    directory.mkdir()
    (directory / "catalogue.toml").write_text('code = "system"\n')
    text = ENTRY.replace("{expect}", expect).replace("{probes}", probes)
    (directory / "X1.toml").write_text(text.replace("{find}", change[0]).replace("{replace}", change[1]))
    return directory


def probe(kind: str, *args: str, file: str = "") -> str:
    text = f'\n[[probe]]\nkind = "{kind}"\nargs = [{", ".join(json.dumps(a) for a in args)}]\n'
    return text + (f'file = "{file}"\n' if file else "")


def run(directory: Path, capsys) -> tuple[int, dict]:
    code = main(["mutants", "--catalog", str(directory), "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_the_test_suite_probe_runs_on_the_mutated_copy_and_is_reported_beside_the_rules(tmp_path, capsys):
    directory = catalogue(tmp_path, probe("pytest", FEE_TEST, UNRELATED_TEST)
                          + probe("run", "--hours", "0.5", "--seed", "1"))
    code, report = run(directory, capsys)
    row = report["mutants"][0]
    assert row["tests"] == {"caught": True, "failed": [f"{FEE_TEST}[asyncio]", f"{FEE_TEST}[trio]"],
                            "ran": [FEE_TEST, UNRELATED_TEST]}
    assert row["detected"] and row["detected_by"] == "rule" and "oracle.accounting" in row["rules"]
    assert code == 0 and report["control"]["clean"], report["control"]


def test_tests_that_fail_are_never_a_detection_by_themselves(tmp_path, capsys):
    directory = catalogue(tmp_path, probe("pytest", FEE_TEST), expect="oracle.crash")
    code, report = run(directory, capsys)
    row = report["mutants"][0]
    assert row["tests"]["caught"] and not row["detected"] and row["status"] == "missed"
    assert code == 1


def test_a_behaviour_different_from_the_committed_snapshot_detects_the_mutant(tmp_path, capsys):
    args = ("--mode", "backtest", "--seed", "1", "--hours", "0.5")
    directory = catalogue(tmp_path, probe("snapshot", *args, file="snapshots/bt.txt"), expect="oracle.crash",
                          change=FEE_ON_QUOTE)  # consistent everywhere, so no rule fires: only the snapshot sees it
    assert main(["run", *args, "--write-snapshot", str(directory / "snapshots/bt.txt")]) == 0
    capsys.readouterr()
    code, report = run(directory, capsys)
    row = report["mutants"][0]
    assert row["detected"] and row["detected_by"] == "snapshot" and row["snapshot"] == "differs", row
    assert report["control"]["clean"], report["control"]  # the unmutated code matches its snapshot
    assert code == 0


def test_a_stale_committed_snapshot_makes_the_control_fail(tmp_path, capsys):
    directory = catalogue(tmp_path, probe("snapshot", "--seed", "1", "--hours", "0.5", file="s.txt"))
    assert main(["run", "--seed", "2", "--hours", "0.5", "--write-snapshot", str(directory / "s.txt")]) == 0
    capsys.readouterr()
    code, report = run(directory, capsys)
    assert code == 1 and not report["control"]["clean"]
    assert any("differs from s.txt" in error for error in report["control"]["errors"])


@pytest.mark.parametrize("probes, message", [
    ('\n[[probe]]\nkind = "snapshot"\nargs = ["--seed", "1"]\n', "needs file"),
    ('\n[[probe]]\nkind = "pytest"\n', "needs args"),
])
def test_measuring_probes_without_what_they_measure_name_the_field(tmp_path, probes, message):
    with pytest.raises(mutants.CatalogueError, match=message) as error:
        mutants.load_catalogue(catalogue(tmp_path, probes))
    assert "X1.toml" in str(error.value)
