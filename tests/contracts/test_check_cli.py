"""``simwire check`` and ``simwire wiring`` on the command line: output, exit codes 0/1/2."""

import json

import pytest

from sim.cli import main
from tests.contracts.fixtures.defects import DEFECTS
from tests.contracts.helpers import CLEAN, MIGRATIONS, REGISTRY_SPEC, with_defect

FIXTURE = ["--registry", REGISTRY_SPEC, "--migrations", str(MIGRATIONS)]


def test_clean_code_exits_0_and_says_so(capsys) -> None:
    assert main(["check", "--path", str(CLEAN), *FIXTURE]) == 0
    assert "0 error(s), 0 warning(s) in 6 files" in capsys.readouterr().out


def test_violations_exit_1_and_json_lists_them(tmp_path, capsys) -> None:
    [defect] = [d for d in DEFECTS if d.name == "transition-not-awaited"]
    assert main(["check", "--path", str(with_defect(tmp_path, defect)), *FIXTURE, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"version", "tool", "registry", "notes", "violations", "files", "seconds", "waived"}
    assert [(v["rule"], v["location"], v["severity"], v["symbol"]) for v in report["violations"]] == [
        ("static.unawaited-async", "controller.py:20", "error", "Controller.start_session")]
    assert report["violations"][0]["help_uri"].endswith("docs/rules.md#staticunawaited-async")
    assert len(report["violations"][0]["fingerprint"]) == 16
    assert report["files"] == 6
    assert report["registry"] == "fixture"


def test_warnings_alone_exit_0(tmp_path, capsys) -> None:
    registry = tmp_path / "empty_registry.py"
    registry.write_text("from contracts.registry import Registry\n"
                        "REGISTRY = Registry(name='empty', modes=('live',), topics={})\n")
    code = tmp_path / "code"
    code.mkdir()
    (code / "mod.py").write_text("async def f(conn, q):\n    await conn.fetch(q.text)\n")
    assert main(["check", "--path", str(code), "--registry", str(registry), "--migrations", str(MIGRATIONS)]) == 0
    out = capsys.readouterr().out
    assert "[static.sql-unresolved]" in out and "docs:     https://" in out and "rules.md#staticsql-unresolved" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["check", "--path", "/no/such/dir"], "--path /no/such/dir: not a directory"),
    (["check", "--path", str(CLEAN), "--registry", "no_such_module:REG"], "cannot import"),
    (["check", "--path", str(CLEAN), "--registry", REGISTRY_SPEC, "--migrations", "/no/such"], "not a directory"),
    (["check", "--path", str(CLEAN), *FIXTURE, "--callers", "/no/such"], "--callers /no/such"),
    (["wiring", "--path", "/no/such/dir"], "not a directory"),
])
def test_usage_errors_exit_2_with_a_message(capsys, argv, message) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["check", "--bogus"], ["wiring", "--mode", "sideways"]])
def test_bad_flags_exit_2(capsys, argv) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2


@pytest.mark.parametrize("command", ["check", "wiring"])
def test_help_works(capsys, command) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert "--registry" in capsys.readouterr().out


def test_wiring_prints_mermaid_or_json(capsys) -> None:
    assert main(["wiring", "--path", str(CLEAN), "--registry", REGISTRY_SPEC, "--mode", "paper"]) == 0
    assert capsys.readouterr().out.startswith("%% simwire wiring, mode paper\nflowchart LR\n")
    assert main(["wiring", "--path", str(CLEAN), "--registry", REGISTRY_SPEC, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["topics"] == ["order_created", "signal_generated"]


def test_the_real_system_is_clean_with_the_defaults(capsys) -> None:
    status = main(["check", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert [v["rule"] + " " + v["location"] + " " + v["message"] for v in report["violations"]] == []
    assert status == 0
    assert report["files"] > 20
