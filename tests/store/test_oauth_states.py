"""OAuth states (distributed mode): anyone can open /slack/install, and each visit issues a
state. Expired states are deleted as new ones are issued, oldest first, so unauthenticated
visits do not grow the table for ever; a state still valid is never deleted."""

from __future__ import annotations

import asyncio
from datetime import datetime

from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import func, select, update

from bot.core.installations import AsyncStateStore, prune_expired_states

from .conftest import Database


def _store(database: Database, seconds: int = 600) -> SQLAlchemyOAuthStateStore:
    return SQLAlchemyOAuthStateStore(
        expiration_seconds=seconds, engine=database.engine, table_name="slack_oauth_states"
    )


def _count(store: SQLAlchemyOAuthStateStore) -> int:
    with store.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(store.oauth_states)) or 0)


def test_issuing_a_state_deletes_expired_ones_oldest_first(store: Database) -> None:
    states = _store(store)
    old = [states.issue() for _ in range(150)]
    with store.engine.begin() as connection:  # as if issued long ago
        connection.execute(update(states.oauth_states).values(expire_at=datetime(2026, 1, 1)))
    assert _count(states) == 150

    issuer = AsyncStateStore(states)
    fresh = asyncio.run(issuer.async_issue())  # issues one, deletes 100 expired
    assert _count(states) == 51
    fresh2 = asyncio.run(issuer.async_issue())  # and the other 50
    assert _count(states) == 2
    assert states.consume(fresh) and states.consume(fresh2)  # valid states were kept
    assert not states.consume(old[-1])  # an expired one is gone (and was refused anyway)
    assert prune_expired_states(states) == 0
