"""signalbot: a small crypto signal bot (prices in, signals out, orders persisted to QuestDB)."""
