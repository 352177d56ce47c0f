"""Lock narrowing where the act takes the lock *again* but acts on the value read under the first
acquisition (issue 11, catalogue M40): a second ``async with`` is no re-check unless it reads the
state afresh."""

from __future__ import annotations

import pytest

from contracts.scanner import scan
from tests.contracts.test_scanner import code, fill
from tests.contracts.test_scanner_conventions import ATOMIC

REACQUIRED = ("async with self._lock:\n    position = self._positions.get(symbol)\nawait self._log(symbol)\n"
              "async with self._lock:\n")


@pytest.mark.parametrize(("act", "expected"), [
    # the stale value decides under the new acquisition: still check-then-act
    ("    if position is None:\n        self._positions[symbol] = 1", ["mod.py:22"]),
    ("    self._store(symbol, position)", ["mod.py:22"]),
    # re-read under the new acquisition: a re-check, not reported
    ("    if position is None and symbol not in self._positions:\n        self._positions[symbol] = 1", []),
    ("    position = self._positions.get(symbol)\n    if position is None:\n        self._positions[symbol] = 1", []),
])
def test_an_act_under_a_reacquired_lock_is_judged_by_whether_it_reads_the_state_again(tmp_path, act, expected):
    result = scan(code(tmp_path, mod=fill(ATOMIC, body=REACQUIRED + act)))
    assert [v.location for v in result.violations if v.rule == "static.check-then-act"] == expected
