"""Streaming indicators: specs, O(1) incremental indicators, and the engine that publishes them."""

from system.indicators.engine import IndicatorInputError, StreamingIndicatorEngine
from system.indicators.spec import IndicatorSpec, IndicatorSpecError, default_indicator_specs

__all__ = [
    "IndicatorInputError",
    "IndicatorSpec",
    "IndicatorSpecError",
    "StreamingIndicatorEngine",
    "default_indicator_specs",
]
