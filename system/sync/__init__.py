"""Position synchronisation with the exchange (live mode)."""

from system.sync.corrections import correction
from system.sync.service import PositionSyncService

__all__ = ["PositionSyncService", "correction"]
