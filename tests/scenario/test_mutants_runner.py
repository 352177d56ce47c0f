"""The mutation runner itself: stale patches, bad catalogue files, the CLI's contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.cli import main
from sim.harness import mutants

ROOT = Path(__file__).resolve().parents[2]

MUTANT = """
id = "X1"
description = "drop the fee"
expect = ["oracle.accounting"]

[[change]]
file = "system/orders/base.py"
find = '''{find}'''
replace = ""

[[probe]]
kind = "run"
args = ["--hours", "0.5", "--seed", "1"]
"""


def write_catalogue(tmp_path: Path, find: str) -> Path:
    directory = tmp_path / "catalogue"
    directory.mkdir()
    (directory / "catalogue.toml").write_text('code = "system"\n')
    (directory / "X1.toml").write_text(MUTANT.replace("{find}", find))
    return directory


def test_a_patch_that_no_longer_applies_is_stale_and_fails(tmp_path, capsys):
    directory = write_catalogue(tmp_path, "this text is not in the code")
    code = main(["mutants", "--catalog", str(directory), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["total"] == 1 and report["detected"] == 0
    assert report["mutants"][0]["status"] == "stale"


def test_a_detected_mutant_reports_rules_and_seeds(tmp_path, capsys):
    directory = write_catalogue(tmp_path, "        self._fees += order.commission\n")
    code = main(["mutants", "--catalog", str(directory), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    row = report["mutants"][0]
    assert set(row) >= {"id", "defect", "detected", "rules", "seeds", "seconds"}
    assert row["detected"] and "oracle.accounting" in row["rules"] and row["seeds"] == 1


def test_a_mutant_never_touches_the_working_tree(tmp_path):
    directory = write_catalogue(tmp_path, "        self._fees += order.commission\n")
    before = (ROOT / "system/orders/base.py").read_text()
    mutants.run_catalogue(mutants.load_catalogue(directory), ROOT)
    assert (ROOT / "system/orders/base.py").read_text() == before


@pytest.mark.parametrize(("content", "message"), [
    ("id = 1", "field 'id' must be str"),
    ("id = 'X'\ndescription = 'd'\nexpect = []\nchange = []\nprobe = []", "expect must list at least one rule"),
    ("not toml [", "not valid TOML"),
])
def test_malformed_catalogue_files_name_file_and_field(tmp_path, capsys, content, message):
    directory = tmp_path / "bad"
    directory.mkdir()
    (directory / "X.toml").write_text(content)
    assert main(["mutants", "--catalog", str(directory)]) == 2
    err = capsys.readouterr().err
    assert message in err and "X.toml" in err


def test_unknown_mutant_id_is_a_usage_error(capsys):
    assert main(["mutants", "--only", "NOPE"]) == 2
    assert "NOPE" in capsys.readouterr().err
