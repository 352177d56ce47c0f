"""Where scheduling decisions come from.

Every nondeterministic decision a kernel makes (which ready task runs next, where PCT puts
a new task, where its change points fall) is one call ``choose(n) -> int in [0, n)``.  The
source decides *where* the numbers come from; the policy decides *what they mean*.  Zero
always means "what fifo would do", so:

* one seed determines a run (:class:`SeededChoices`);
* a recorded list replays it exactly (:class:`ReplayChoices`), and a shortened or zeroed
  list is still a valid schedule, which is what makes shrinking towards fifo possible;
* Hypothesis can drive the kernel (:class:`HypothesisChoices`) and shrinks towards zeros,
  that is towards fifo, with its own engine.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, Protocol


class ChoiceSource(Protocol):
    """Anything that answers ``choose(n)`` with an int in ``[0, n)``; ``n >= 2``."""

    def choose(self, n: int) -> int: ...


class SeededChoices:
    """Uniform choices from one integer seed (``random.Random``: stable across processes)."""

    __slots__ = ("_random",)

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed).random

    def choose(self, n: int) -> int:
        # int(random() * n) is several times cheaper than randrange(n) and just as
        # reproducible; the tiny bias is irrelevant for scheduling.
        return int(self._random() * n)


class PerturbedChoices:
    """The draws of :class:`SeededChoices` for ``seed``, each replaced, with probability ``rate``,
    by a draw of the perturbation's own stream: a *neighbour* of that seed's schedule, which
    makes the same decisions wherever it does not deviate (the base stream is consumed draw for
    draw, so a deviation does not shift the draws after it).  Coverage-steered exploration
    (``simwire explore --steer``) runs neighbours of the seeds that reached new interleavings."""

    __slots__ = ("_base", "_deviate", "_rate")

    def __init__(self, seed: int, perturbation: int, rate: float) -> None:
        if not 0.0 < rate <= 1.0:
            raise ValueError(f"perturbation rate must be within (0, 1], got {rate!r}")
        self._base = random.Random(seed).random
        self._deviate = random.Random(f"simwire-perturb:{seed}:{perturbation}").random
        self._rate = rate

    def choose(self, n: int) -> int:
        value = int(self._base() * n)
        return int(self._deviate() * n) if self._deviate() < self._rate else value


class ReplayChoices:
    """Replays a recorded list; once exhausted, every answer is 0 (fifo).

    A recorded value that no longer fits (``value >= n``, possible after shrinking changed
    the run) is reduced modulo ``n`` rather than rejected, so every list is a schedule.
    """

    __slots__ = ("_choices", "_next")

    def __init__(self, choices: Sequence[int]) -> None:
        for index, value in enumerate(choices):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"schedule choice #{index} must be a non-negative int, got {value!r}")
        self._choices = list(choices)
        self._next = 0

    def choose(self, n: int) -> int:
        index = self._next
        if index >= len(self._choices):
            return 0
        self._next = index + 1
        return self._choices[index] % n


class HypothesisChoices:
    """Lets Hypothesis pick the schedule: ``choose(n)`` is ``data.draw(integers(0, n - 1))``.

    Use inside ``@given(st.data())``; Hypothesis then explores interleavings and, on
    failure, shrinks every draw towards 0, i.e. towards the fifo schedule.
    """

    __slots__ = ("_data", "_integers")

    def __init__(self, data: Any) -> None:
        from hypothesis import strategies

        self._data = data
        self._integers = strategies.integers

    def choose(self, n: int) -> int:
        return self._data.draw(self._integers(0, n - 1))


class RecordingChoices:
    """Wraps a source and keeps every answer: the run's replayable ``schedule``.

    ``choose`` is built once per run as a closure: the kernel calls it for nearly every
    handle of a shuffled batch, so a seeded source is fused into it (one Python call per
    choice instead of two, no range check for answers that are in range by construction).
    ``shuffle_draws(size)`` answers a whole Fisher-Yates shuffle of ``size`` items in one
    call, for the same reason: ``choose(size), choose(size - 1), ..., choose(2)``, recorded
    in that order.
    """

    __slots__ = ("choose", "record", "seeded_draw", "shuffle_draws")

    def __init__(self, source: ChoiceSource) -> None:
        self.record: list[int] = []
        append = self.record.append
        extend = self.record.extend
        self.seeded_draw = None
        """For a seeded source, its ``random()``: the walk inlines ``int(draw() * n)`` plus
        ``record.append`` per step instead of calling ``choose`` (same values, same record)."""
        if isinstance(source, SeededChoices):
            draw = source._random
            self.seeded_draw = draw

            def choose(n: int) -> int:
                value = int(draw() * n)
                append(value)
                return value

            def shuffle_draws(size: int) -> list[int]:
                values = [int(draw() * n) for n in range(size, 1, -1)]
                extend(values)
                return values
        else:
            source_choose = source.choose

            def choose(n: int) -> int:
                value = source_choose(n)
                if value >= n or value < 0:
                    raise ValueError(f"choice source {source!r} answered {value} to choose({n})")
                append(value)
                return value

            def shuffle_draws(size: int) -> list[int]:
                return [choose(n) for n in range(size, 1, -1)]

        self.choose = choose
        self.shuffle_draws = shuffle_draws
