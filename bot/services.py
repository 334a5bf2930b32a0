"""The bot's dependencies, built in one place (bootstrap) and handed to listeners.

Storage is synchronous SQLAlchemy; the Slack app is asyncio. Every storage call goes through
`run()` (a worker thread), so a slow database never blocks the event loop that acknowledges
Slack within 3 seconds. Tests build Services on a real SQLite file or PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from bot.partner_center.client import PartnerCenterClient
from bot.store.clock import Clock, utc_now
from bot.store.db import make_engine, make_session_factory, upgrade
from bot.store.decisions import record_decision
from bot.store.directory import org_for_team
from policy import Decision, Role

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass
class Services:
    sessions: sessionmaker[Session]
    clock: Clock = utc_now
    partner_center: PartnerCenterClient | None = None
    invitation_expiry: timedelta = timedelta(days=30)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    @classmethod
    def from_url(cls, database_url: str, *, migrate: bool = True, **kwargs: Any) -> Services:
        """Open the database at `database_url` (migrating it to the latest schema first);
        `kwargs` are the other fields (clock, partner_center, invitation_expiry)."""
        if migrate:
            upgrade(database_url)
        return cls(sessions=make_session_factory(make_engine(database_url)), **kwargs)

    async def run(self, fn: Callable[[Session], T]) -> T:
        """Run `fn(session)` in one transaction, in a worker thread."""

        def work() -> T:
            with self.sessions.begin() as session:
                return fn(session)

        return await asyncio.to_thread(work)

    def spawn(self, coro: Coroutine[Any, Any, Any], *, what: str) -> None:
        """Run `coro` after the acknowledgement, off the request path. A failure is logged with
        `what` (the work is bookkeeping the user does not wait for, e.g. the decision log)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("background work failed: %s", what, exc_info=t.exception())

        task.add_done_callback(done)

    async def drain(self) -> None:
        """Wait for background work (tests; shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def role_for(self, team_id: str | None) -> Role | None:
        """The requester's role, from the partner directory (None when the team is unknown)."""
        if not team_id:
            return None

        def lookup(session: Session) -> Role | None:
            org = org_for_team(session, team_id)
            return Role(org.role) if org is not None else None

        return await self.run(lookup)

    async def log_decision(
        self, decision: Decision, *, user_id: str, team_id: str, customer: str | None
    ) -> None:
        """Append the decision to the decision log (who asked, the facts, the answer)."""

        def write(session: Session) -> None:
            org = org_for_team(session, team_id)
            record_decision(
                session,
                decision_id=decision.decision_id,
                user_id=user_id,
                team_id=team_id,
                org_id=org.id if org is not None else None,
                customer_name=customer,
                policy_edition=decision.policy_edition,
                outcome=decision.outcome.value,
                facts=decision.facts.model_dump(mode="json"),
                steps=decision.step_codes(),
                clock=self.clock,
            )

        await self.run(write)
