"""Strategies: declarative configuration and the manager that turns indicators into signals."""

from system.strategy.config import (
    Condition,
    StrategyConfig,
    StrategyConfigError,
    check_indicator_references,
    default_strategies,
)
from system.strategy.manager import Phase, StrategyManager

__all__ = [
    "Condition",
    "Phase",
    "StrategyConfig",
    "StrategyConfigError",
    "StrategyManager",
    "check_indicator_references",
    "default_strategies",
]
