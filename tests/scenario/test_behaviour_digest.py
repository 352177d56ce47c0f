"""bench/behaviour_digest.py: the same code gives the same digests, and a changed behaviour is
reported with the run and the part that differs (exit 1)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def digest(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "bench/behaviour_digest.py", "--seeds", "3", "--modes", "backtest",
               "--hours", "0.1", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=600)


def test_unchanged_code_compares_clean_and_a_changed_event_stream_is_named(tmp_path):
    before = tmp_path / "before.json"
    assert digest("--out", str(before)).returncode == 0
    runs = json.loads(before.read_text())
    assert list(runs) == ["backtest:3"] and runs["backtest:3"]["summary"]["ticks"] == 1080
    same = digest("--compare", str(before))
    assert same.returncode == 0 and "1 runs compared, 0 differences" in same.stdout
    runs["backtest:3"]["events"] = "0" * 64
    before.write_text(json.dumps(runs))
    changed = digest("--compare", str(before))
    assert changed.returncode == 1 and "backtest:3: events differs" in changed.stdout


def test_bad_arguments_are_usage_errors():
    result = digest("--modes", "replay")
    assert result.returncode == 2 and "--modes" in result.stderr
