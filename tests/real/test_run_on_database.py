"""``simwire run --db DSN``: a backtest on a real PostgreSQL server, judged by the oracles."""

from __future__ import annotations

import json

import pytest

from sim.cli import main
from tests.real.postgres_server import _free_port


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["run", *args, "--json"])
    out, _ = capsys.readouterr()
    return code, json.loads(out) if out.strip() else {}


def test_a_backtest_on_postgres_migrates_once_and_runs_clean(pg_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, first = run_json(capsys, "--db", pg_dsn, "--hours", "0.5")
    assert code == 0, first["violations"]
    assert first["deterministic"] is False and first["dialect"] == "postgresql" and first["state"] == "STOPPED"
    assert first["created_tables"] == ["market_data", "orders", "positions", "sessions", "strategy_signals"]
    assert first["ticks"] == 3 * 1800 and first["rows"]["sessions"] == 1 and first["rows"]["strategy_signals"] > 0

    code, second = run_json(capsys, "--db", pg_dsn, "--hours", "0.5")
    assert code == 0 and second["created_tables"] == []
    assert second["session_id"] != first["session_id"]
    assert (second["ticks"], second["rows"]) == (first["ticks"], first["rows"]), "reloading the ticks deduplicated"


def test_the_output_says_it_is_a_real_and_non_deterministic_run(pg_dsn: str,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--db", pg_dsn.replace("postgres@", "postgres:secret@"), "--hours", "0.1"]) == 0
    out, err = capsys.readouterr()
    assert "REAL DATABASE RUN - not deterministic" in out and "NOT DETERMINISTIC" in err
    assert "secret" not in out + err and ":***@" in out


@pytest.mark.parametrize("args", [["--mode", "paper"], ["--sessions", "2"]])
def test_only_one_backtest_is_offered(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--db", "postgresql://nobody@127.0.0.1:1/none", *args]) == 2
    assert "--db runs one backtest session" in capsys.readouterr().err


def test_an_unreachable_server_is_reported_not_raised(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--db", f"postgresql://nobody@127.0.0.1:{_free_port()}/none", "--hours", "0.1"]) == 1
    assert "TransientDatabaseError" in capsys.readouterr().err
