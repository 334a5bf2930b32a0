"""Alembic migrations for `bot.store` (run them with `mcbot db upgrade`)."""
