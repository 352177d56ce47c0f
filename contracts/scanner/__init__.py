"""Static scanner: reads a code base's source (never imports it) and finds its wiring.

``scan(root, conventions)`` collects publish, subscribe and SQL sites, factories, unawaited
coroutines and lock-order cycles; ``registry_violations`` compares the sites with a registry;
``build_wiring`` and ``render_mermaid`` turn them into a graph and a diagram per mode.
"""

from contracts.scanner.crosscheck import (
    MissingConsumer,
    missing_consumers,
    registry_free_violations,
    registry_violations,
    resolve_roles,
)
from contracts.scanner.mermaid import render_mermaid
from contracts.scanner.model import FactorySite, PublishSite, ScanResult, SqlSite, SubscribeSite
from contracts.scanner.scan import scan
from contracts.scanner.wiring import Edge, WiringGraph, build_wiring

__all__ = [
    "Edge",
    "FactorySite",
    "MissingConsumer",
    "PublishSite",
    "ScanResult",
    "SqlSite",
    "SubscribeSite",
    "WiringGraph",
    "build_wiring",
    "missing_consumers",
    "registry_free_violations",
    "registry_violations",
    "render_mermaid",
    "resolve_roles",
    "scan",
]
