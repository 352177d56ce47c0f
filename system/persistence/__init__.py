"""Writing the trading record to QuestDB: statements, retry, timestamp conversion, the service."""

from system.persistence.service import TradingPersistenceService

__all__ = ["TradingPersistenceService"]
