"""Alembic migrations for `bot.core.store` (run them with `mcbot db upgrade`)."""
