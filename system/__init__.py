"""The trading system under test: event bus, controllers, data sources, indicators,
strategies, order managers and persistence, in backtest, paper and live modes.

Production code: it knows nothing of ``sim`` or ``contracts``.  Every source of
nondeterminism (time, ids, randomness, database, market data, exchange) comes in through
the ports of :mod:`system.ports`.
"""
