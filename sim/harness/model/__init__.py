"""The reference model: an independent, deliberately naive account of what the trading
system should have done, fed the ticks, signals, orders, fills and position events the run
recorded (the differential oracle of FoundationDB's workloads and Jepsen's checkers).

The other oracles check that the system agrees with itself (events, tables, order manager,
exchange); a value that is wrong *consistently* everywhere passes them.  The model knows the
documented semantics instead and recomputes them the obvious way, without the system's code:

- ``indicators``: every indicator value a signal reports, and a sample of the
  ``indicator.updated`` stream, equal the definitions recomputed from the recorded ticks
  (``oracle.model-indicator``);
- ``signals``: every (strategy, symbol) follows its signal cycle in event time
  (``oracle.model-signal-chain``);
- ``replay``: the signals that should have fired, the documented cycle run over every
  published ``indicator.updated`` by a bus observer, are the ones that did
  (``oracle.model-signals``: a strategy that silently never enters is caught too);
- ``trading``: fill prices within the symbol's own market and the declared slippage
  (``oracle.model-fill-price``), commissions from the fee schedule (``oracle.model-fee``), positions per
  (strategy, symbol) rebuilt from fills (``oracle.model-position``), unrealized PnL of every
  position update (``oracle.model-unrealized-pnl``), a balance never below zero (``oracle.model-balance``).

Entry point: :func:`check_model`, one call after the run with the recorder and the system's
configuration.  Each rule reports the first value that differs and the event it came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sim.harness.model.findings import Findings, describe
from sim.harness.model.indicators import SymbolModel, Ticks, differences
from sim.harness.model.replay import StrategyReplay, check_replayed
from sim.harness.model.signals import check_signals
from sim.harness.model.trading import TradingModel
from simwire.violation import Violation
from system import topics

__all__ = ["ModelSettings", "StrategyReplay", "check_model"]


@dataclass(frozen=True)
class ModelSettings:
    """What the model knows of the system: its declared configuration, nothing else."""

    strategies: tuple[Any, ...]
    indicators: tuple[Any, ...]
    fee_rate: float
    slippage: float
    """The largest price move a fill may add against the order (a fraction)."""
    initial_balance: float

    @classmethod
    def from_config(cls, config: Any, mode: str) -> ModelSettings:
        """From a ``SystemConfig``.  In live mode the exchange's deals set fill prices and the
        order manager adds no slippage (``system/orders/live.py``), so none is allowed."""
        return cls(tuple(config.strategies), tuple(config.indicators), float(config.fee_rate),
                   0.0 if mode == "live" else float(config.slippage_pct), float(config.initial_balance))


def check_model(recorder: Any, settings: ModelSettings, session_ids: Iterable[str], *,
                replay: StrategyReplay | None = None, location: str = "") -> list[Violation]:
    """Every difference between the recorded run and the reference model, per session.
    ``replay``: the :class:`StrategyReplay` that observed the run's bus, if one did."""
    found: list[Violation] = []
    for session_id in session_ids:
        findings = Findings(session_id, location)
        ticks = _ticks(recorder.ticks.get(session_id, []))
        _check_indicators(recorder, session_id, settings, ticks, findings)
        signals = recorder.of(topics.SIGNAL_GENERATED, session_id)
        check_signals(signals, settings.strategies, ticks, findings)
        if replay is not None:
            check_replayed(replay.expected.get(session_id, []), signals, findings)
        TradingModel(ticks, findings, fee_rate=settings.fee_rate, slippage=settings.slippage,
                     initial_balance=settings.initial_balance).run(
            [(topic, event) for topic, event in recorder.timeline if event.get("session_id") == session_id])
        found += findings.violations()
    return found


def _ticks(recorded: Sequence[tuple[Any, ...]]) -> dict[str, Ticks]:
    """Per symbol, in publish order (``(symbol, seq, timestamp, price, volume)`` rows)."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for row in recorded:
        rows.setdefault(row[0], []).append(row)
    return {symbol: Ticks([r[2] for r in mine], [r[3] for r in mine], [r[4] for r in mine])
            for symbol, mine in rows.items()}


def _check_indicators(recorder: Any, session_id: str, settings: ModelSettings, ticks: Mapping[str, Ticks],
                      findings: Findings) -> None:
    """The indicator values reported by signals and by the sampled updates, against the model."""
    models = {symbol: SymbolModel(symbol_ticks, settings.indicators) for symbol, symbol_ticks in ticks.items()}
    reported = [(topics.SIGNAL_GENERATED, s, s.get("indicator_values") or {})
                for s in recorder.of(topics.SIGNAL_GENERATED, session_id)]
    reported += [(topics.INDICATOR_UPDATED, u, u.get("values") or {})
                 for u in recorder.indicator_samples if u.get("session_id") == session_id]
    for topic, event, values in sorted(reported, key=lambda r: (r[1].get("timestamp", 0.0), r[0])):
        model = models.get(event.get("symbol", ""))
        at = model.ticks.index_at(event.get("timestamp", 0.0)) if model else -1
        if model is None or at < 0:
            findings.add("oracle.model-indicator", "indicator values for a symbol with no tick at or before them",
                         event=describe(topic, event), expected="a market.price_update first", seen=dict(values))
            continue
        wrong = differences(model.values_at(at), values, rel=1e-9)
        if wrong:
            findings.add("oracle.model-indicator", f"indicator values of {event.get('symbol')} differ from their "
                         f"definitions recomputed over {at + 1} recorded ticks", event=describe(topic, event),
                         expected="the documented definitions (system/indicators/streaming.py)",
                         seen="; ".join(wrong[:3]))
