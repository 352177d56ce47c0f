"""Sessions: what to run (SessionSpec), one session's life (ExecutionController), all of them
together (UnifiedTradingController)."""

from system.controllers.execution import ExecutionController
from system.controllers.session import ALLOWED_TRANSITIONS, MODES, ExecutionState, SessionSpec
from system.controllers.unified import UnifiedTradingController

__all__ = [
    "ALLOWED_TRANSITIONS",
    "MODES",
    "ExecutionController",
    "ExecutionState",
    "SessionSpec",
    "UnifiedTradingController",
]
