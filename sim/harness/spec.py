"""``ScenarioSpec``: the single header of a simulated run (TigerBeetle's VOPR keeps one too).

Everything that determines a run is a field here, validated in one place when the spec is
built — the command line, schedule files, explore, mutants and the pytest plugin all go through
this constructor, so a bad knob is refused once, with a message naming the field, before any
run starts (the CLI turns :class:`SpecError` into exit 2).  ``repro()`` is the command that
gets back to the run and covers every field; ``knobs_line()`` is what a run prints *before* it
starts, so even a run that hangs has said what it was.

Seeds: one ``seed`` drives the run.  Each consumer draws from its own salted stream
(:meth:`ScenarioSpec.sub_seed`), so adding draws in one place never shifts another:

* the scheduler uses ``scheduler_seed`` (``sub_seed("scheduler")``), given to ``sim.kernel.run``;
* the system's Random port uses ``sub_seed("random")``;
* the market data use ``data_seed`` (defaults to ``seed``, so old repro lines give the same
  data; a different ``data_seed`` explores other schedules over the same market, or the reverse);
* each fault site draws from ``FaultPlan.injector(site, seed)``, salted by the site's name.
"""

from __future__ import annotations

import hashlib
import math
import shlex
from dataclasses import dataclass, fields
from typing import Any

from sim.kernel import KERNELS, POLICIES, check_options
from sim.world.faults import FaultPlan

MODES = ("backtest", "paper", "live")
"""The trading target's session modes (another target declares its own in ``Target.modes``)."""
DEFAULT_SYMBOLS = ("BTC_USDT", "ETH_USDT", "SOL_USDT")
DEFAULT_TARGET = "trading"
"""The built-in target (``sim.harness.trading_target``); ``--target module:attr`` names another."""

MAX_HOURS = 24.0 * 7
"""A week of simulated market time: beyond that a run's data no longer fits in memory (a 24 h,
3-symbol backtest peaks near 240 MB)."""
MAX_TICKS = 2_000_000
"""Upper bound on generated rows (hours x 3600 / tick_seconds x symbols), for the same reason."""
MAX_SESSIONS = 64
MAX_PCT_DEPTH = 64


class SpecError(ValueError):
    """A scenario knob out of range or of the wrong kind; the message names the field."""


def parse_symbols(text: str) -> tuple[str, ...]:
    """``"BTC_USDT,ETH_USDT"`` -> a tuple; an empty item or a non-symbol is refused by position."""
    items = [item.strip() for item in text.split(",")]
    for index, item in enumerate(items, start=1):
        if not item:
            raise SpecError(f"symbols {text!r}: item {index} is empty (expected e.g. BTC_USDT,ETH_USDT)")
    return tuple(item.upper() for item in items)


def _check_symbol(symbol: object, index: int) -> None:
    if not isinstance(symbol, str) or not symbol:
        raise SpecError(f"symbols: item {index} is empty or not text: {symbol!r}")
    if not symbol.replace("_", "").isalnum():
        raise SpecError(f"symbols: item {index} {symbol!r} is not a symbol (expected e.g. BTC_USDT)")


def _check_int(name: str, value: object, low: int, high: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise SpecError(f"{name} must be a whole number, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"within {low}..{high}"
        raise SpecError(f"{name} must be {bound}, got {value}")


def _check_number(name: str, value: object, low: float, high: float) -> None:
    """``low < value <= high`` and finite (``--hours inf`` and ``nan`` are refused too)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise SpecError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or not low < value <= high:
        raise SpecError(f"{name} must be > {low:g} and <= {high:g}, got {value!r}")


PERTURB_RATE = 0.05
"""Share of a perturbed run's scheduling draws that deviate from its seed's (``ScenarioSpec.perturb``)."""


@dataclass(frozen=True)
class ScenarioSpec:
    """Everything that determines a run.  Two equal specs give the same trace hash."""

    mode: str = "backtest"
    seed: int = 0
    kernel: str = "asyncio"
    policy: str = "fifo"
    faults: str = "none"
    symbols: tuple[str, ...] = DEFAULT_SYMBOLS
    hours: float = 2.0
    tick_seconds: float = 1.0
    sessions: int = 1
    sequential: bool = False
    """With several sessions: run them one after the other instead of side by side."""
    pct_depth: int = 3
    monitor: bool = True
    data_seed: int | None = None
    """Seed of the market data; None means ``seed`` (so every older repro line keeps its data)."""
    target: str = DEFAULT_TARGET
    """``trading`` or a ``module:attr`` naming a :class:`sim.harness.targets.Target`."""
    perturb: int = 0
    """0, or which neighbour of the seed's schedule to run: the seed's scheduling draws, each
    replaced with probability ``PERTURB_RATE`` by one of this perturbation's stream
    (``sim.kernel.PerturbedChoices``; ``explore --steer`` runs them)."""
    virtualize: bool = True
    """Virtualize the stdlib's clocks, ``random``, ``uuid``, ``os.urandom`` and ``secrets`` inside
    the run (:mod:`sim.kernel.virtual_stdlib`); off, code without ports reads the real ones."""

    def __post_init__(self) -> None:
        self._check_choices()
        _check_int("seed", self.seed, 0)
        if self.data_seed is not None:
            _check_int("data_seed", self.data_seed, 0)
        self._check_symbols()
        self._check_horizon()
        if isinstance(self.sessions, int) and not isinstance(self.sessions, bool) and self.sessions < 1:
            raise SpecError(f"sessions must be >= 1, got {self.sessions}")
        _check_int("sessions", self.sessions, 1, MAX_SESSIONS)
        _check_int("pct_depth", self.pct_depth, 1, MAX_PCT_DEPTH)
        _check_int("perturb", self.perturb, 0)
        if self.perturb and self.policy == "fifo":
            raise SpecError("perturb needs a policy that draws (random, shuffle, pct): fifo makes no choice to perturb")
        if not isinstance(self.sequential, bool) or not isinstance(self.monitor, bool):
            raise SpecError(f"sequential and monitor must be true or false, got {self.sequential!r}, {self.monitor!r}")
        if not isinstance(self.virtualize, bool):
            raise SpecError(f"virtualize must be true or false, got {self.virtualize!r}")
        try:
            FaultPlan.from_spec(self.faults)  # a bad plan is the caller's error, not a crash of the run
        except ValueError as error:
            raise SpecError(str(error)) from None

    def _check_choices(self) -> None:
        """Target, mode, kernel, policy — and the pair, as the kernel itself declares it."""
        if not isinstance(self.target, str) or not self.target:
            raise SpecError(f"target must be 'trading' or 'module:attr', got {self.target!r}")
        if self.target == DEFAULT_TARGET and self.mode not in MODES:
            raise SpecError(f"unknown mode {self.mode!r}; choose one of {', '.join(MODES)}")
        if not (isinstance(self.mode, str) and self.mode.isidentifier()):  # another target checks its own
            raise SpecError(f"mode must be a name, got {self.mode!r}")
        for name, value, allowed in (("kernel", self.kernel, KERNELS), ("policy", self.policy, POLICIES)):
            if value not in allowed:
                raise SpecError(f"unknown {name} {value!r}; choose one of {', '.join(allowed)}")
        try:
            check_options(self.kernel, self.policy)  # the kernel's own declaration of what it supports
        except ValueError as error:
            raise SpecError(str(error)) from None

    def _check_symbols(self) -> None:
        if isinstance(self.symbols, str) or not isinstance(self.symbols, tuple):
            raise SpecError(f"symbols must be a tuple of symbols, got {self.symbols!r}")
        if not self.symbols:
            raise SpecError("symbols: at least one symbol is required")
        for index, symbol in enumerate(self.symbols, start=1):
            _check_symbol(symbol, index)
        duplicated = sorted({s for s in self.symbols if self.symbols.count(s) > 1})
        if duplicated:
            raise SpecError(f"symbols: {', '.join(duplicated)} given more than once")

    def _check_horizon(self) -> None:
        """Finite, positive, and small enough that the run's market data fits in memory."""
        _check_number("hours", self.hours, 0.0, MAX_HOURS)
        _check_number("tick_seconds", self.tick_seconds, 0.0, 3600.0)
        ticks = self.hours * 3600 / self.tick_seconds * len(self.symbols)
        if ticks > MAX_TICKS:
            raise SpecError(f"hours={self.hours:g} x {len(self.symbols)} symbol(s) at tick_seconds="
                            f"{self.tick_seconds:g} is {ticks:,.0f} rows of market data; the bound is {MAX_TICKS:,}")

    # -- seeds ------------------------------------------------------------------------------

    @property
    def market_seed(self) -> int:
        """The seed of the market data (``data_seed``, else ``seed``)."""
        return self.seed if self.data_seed is None else self.data_seed

    @property
    def scheduler_seed(self) -> int:
        """The seed of the kernel's scheduling choices (random and pct policies)."""
        return self.sub_seed("scheduler")

    def sub_seed(self, consumer: str) -> int:
        """An independent seed for ``consumer`` (e.g. ``"random"``), stable across processes and
        ``PYTHONHASHSEED`` (sha256, not ``hash()``)."""
        digest = hashlib.sha256(f"simwire:{self.seed}:{consumer}".encode()).digest()
        return int.from_bytes(digest[:8], "big")

    def fault_plan(self) -> FaultPlan:
        return FaultPlan.from_spec(self.faults)

    # -- printing ---------------------------------------------------------------------------

    def repro(self) -> str:
        """The one command that reproduces this run: every field that differs from the default."""
        default = ScenarioSpec()
        parts = ["simwire", "run"]
        if self.target != default.target:
            parts += ["--target", self.target]
        parts += ["--mode", self.mode, "--seed", str(self.seed), "--kernel", self.kernel, "--policy", self.policy]
        flags = {"faults": "--faults", "hours": "--hours", "tick_seconds": "--tick-seconds",
                 "sessions": "--sessions", "pct_depth": "--pct-depth", "data_seed": "--data-seed",
                 "perturb": "--perturb"}
        for name, flag in flags.items():
            value = getattr(self, name)
            if value != getattr(default, name):
                parts += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
        if self.symbols != default.symbols:
            parts += ["--symbols", ",".join(self.symbols)]
        if self.sequential:
            parts += ["--sequential"]
        if not self.monitor:
            parts += ["--no-monitor"]
        if not self.virtualize:
            parts += ["--no-virtualize"]
        return shlex.join(parts)

    def knobs_line(self) -> str:
        """Every knob of the run on one line, printed before it starts (a hang still shows it)."""
        knobs = [f"SEED={self.seed}", f"target={self.target}", f"mode={self.mode}", f"kernel={self.kernel}",
                 f"policy={self.policy}"]
        if self.policy == "pct":
            knobs.append(f"pct_depth={self.pct_depth}")
        if self.perturb:
            knobs.append(f"perturb={self.perturb}")
        knobs += [f"faults={self.fault_plan().describe()}", f"symbols={','.join(self.symbols)}",
                  f"hours={self.hours:g}", f"tick_seconds={self.tick_seconds:g}", f"sessions={self.sessions}"
                  + (" sequential" if self.sequential else ""), f"data_seed={self.market_seed}",
                  f"monitor={'on' if self.monitor else 'off'}", f"virtualize={'on' if self.virtualize else 'off'}"]
        return " ".join(knobs)

    # -- (de)serialisation, for schedule files ----------------------------------------------

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["symbols"] = list(self.symbols)
        if not self.perturb:  # files and results of unperturbed runs read as they always did
            del data["perturb"]
        return data

    def choices(self) -> Any:
        """The kernel's choice source for this spec: None (the seed's own draws) unless perturbed."""
        if not self.perturb:
            return None
        from sim.kernel import PerturbedChoices

        return PerturbedChoices(self.scheduler_seed, self.perturb, PERTURB_RATE)

    @classmethod
    def from_json(cls, data: object, where: str) -> ScenarioSpec:
        """A spec from a schedule file's ``spec`` object; errors name ``where`` and the field."""
        if not isinstance(data, dict):
            raise SpecError(f"{where}: field 'spec' must be an object of ScenarioSpec fields, got {data!r}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SpecError(f"{where}: unknown spec field(s) {', '.join(unknown)}")
        values = dict(data)
        if "symbols" in values:
            if not isinstance(values["symbols"], list):
                raise SpecError(f"{where}: spec field 'symbols' must be a list, got {values['symbols']!r}")
            values["symbols"] = tuple(values["symbols"])
        try:
            return cls(**values)
        except SpecError as error:
            raise SpecError(f"{where}: {error}") from None
