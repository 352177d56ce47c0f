"""How the trio kernel orders runnable tasks: trio's private scheduling hook, put to work.

trio runs its scheduler in batches: everything runnable is taken off ``runq``, sorted by
creation (when ``_ALLOW_DETERMINISTIC_SCHEDULING`` is set), passed to the module-global
``_r.shuffle`` and run.  Our ``_r`` is a :class:`random.Random` whose ``shuffle`` decides:

* ``batch`` (policy ``shuffle``) permutes the batch by the choice source (draw 0 keeps
  creation order);
* ``walk`` (policy ``random``) and ``pct`` keep *one* task in the batch and put the others
  back on ``runq``: trio then runs that one task, goes round its loop (deadlines, a zero
  I/O poll) and calls ``shuffle`` again with the held-back tasks plus those made runnable
  meanwhile.  So each step is chosen among all runnable tasks, as on the asyncio kernel.

Tasks of the current generation (trio's batch) keep their place ahead of those made
runnable since, so all-zero draws (always the first) are the ``fifo`` order, and a shrunk
schedule converges to it.  trio pops tasks
from the *end* of the batch, hence the final reverse in ``batch`` mode.
"""

from __future__ import annotations

import random
from typing import Any

import trio._core._run as trio_run

from sim.kernel.choices import ChoiceSource
from sim.kernel.pct import PCTPriorities


class ChoiceScheduler(random.Random):
    """trio's ``_r`` for one run; ``mode`` is ``fifo``, ``batch``, ``walk`` or ``pct``."""

    def __init__(self, choices: ChoiceSource | None, *, mode: str, pct: PCTPriorities | None = None) -> None:
        super().__init__(0)
        self._choose = self._guarded(choices.choose) if choices is not None else None
        self.failure: BaseException | None = None
        """An error the choice source raised (e.g. Hypothesis ending an example): raised
        again by the runner once trio has finished, since inside trio's scheduler it
        would be a TrioInternalError; the rest of that run takes draw 0."""
        self._pct = pct
        self._current: list[Any] = []
        if mode == "fifo" or (self._choose is None and pct is None):
            self.shuffle = self._fifo  # type: ignore[method-assign]
        elif mode == "batch":
            self.shuffle = self._batch  # type: ignore[method-assign]
        elif mode == "walk":
            self.shuffle = self._walk  # type: ignore[method-assign]
        elif mode == "pct":
            if pct is None:
                raise ValueError("mode 'pct' needs PCT priorities")
            self.shuffle = self._pct_step  # type: ignore[method-assign]
        else:
            raise ValueError(f"unknown trio scheduling mode {mode!r}")

    def _guarded(self, choose: Any) -> Any:
        def guarded(n: int) -> int:
            if self.failure is not None:
                return 0
            try:
                return choose(n)
            except BaseException as error:  # re-raised after trio.run, see ``failure``
                self.failure = error
                return 0

        return guarded

    @staticmethod
    def _fifo(batch: list[Any]) -> None:
        batch.reverse()

    def _batch(self, batch: list[Any]) -> None:
        choose = self._choose
        assert choose is not None
        size = len(batch)
        for i in range(size - 1):
            j = choose(size - i)
            if j:
                batch[i], batch[i + j] = batch[i + j], batch[i]
        batch.reverse()

    def _runnable(self, batch: list[Any]) -> list[Any]:
        """The rest of the current generation first (in its order), then every task made
        runnable since it began (by creation).  A generation is what trio's own fifo would
        run as one batch, so all-zero draws are exactly that order."""
        current = self._current
        if not current:
            current = self._current = list(batch)
            return list(batch)
        waiting = set(current)
        return current + [task for task in batch if task not in waiting]

    def _keep_one(self, batch: list[Any], runnable: list[Any], index: int) -> None:
        chosen = runnable.pop(index)
        if index < len(self._current):
            del self._current[index]
        if runnable:
            trio_run.GLOBAL_RUN_CONTEXT.runner.runq.extend(runnable)
        batch[:] = [chosen]

    def _walk(self, batch: list[Any]) -> None:
        if not batch:
            return  # trio calls shuffle after every I/O wait, runnable tasks or not
        runnable = self._runnable(batch)
        choose = self._choose
        assert choose is not None
        self._keep_one(batch, runnable, choose(len(runnable)) if len(runnable) > 1 else 0)

    def _pct_step(self, batch: list[Any]) -> None:
        if not batch:
            return
        pct = self._pct
        assert pct is not None
        runnable = self._runnable(batch)
        best = 0
        if self.failure is not None:
            self._keep_one(batch, runnable, 0)
            return
        try:
            best = self._highest(pct, runnable)
        except BaseException as error:  # re-raised after trio.run, see ``failure``
            self.failure = error
            best = 0
        self._keep_one(batch, runnable, best)

    @staticmethod
    def _highest(pct: PCTPriorities, runnable: list[Any]) -> int:
        best = 0
        if len(runnable) > 1:
            of = pct.of
            top = of(runnable[0])
            for index in range(1, len(runnable)):
                priority = of(runnable[index])
                if priority > top:
                    best, top = index, priority
            pct.contended_step(runnable[best])
        elif runnable:
            pct.of(runnable[0])
        return best
