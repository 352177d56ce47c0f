"""relay: receives webhook messages, routes them to channels, keeps an archive in PostgreSQL."""
