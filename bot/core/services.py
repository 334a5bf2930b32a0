"""The bot's dependencies, built in one place (bootstrap) and handed to listeners.

Storage is synchronous SQLAlchemy; the Slack app is asyncio. Every storage call goes through
`run()` (a worker thread), so a slow database never blocks the event loop that acknowledges
Slack within 3 seconds. Tests build Services on a real SQLite file or PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from bot.core.editions import EditionResolver
from bot.core.installations import Tokens
from bot.core.language import LanguageResolver
from bot.core.outbox.options import NotifyOptions
from bot.core.partner_center.client import PartnerCenterClient
from bot.core.partner_center.graph import GraphGdapClient
from bot.core.partner_center.settings import PartnerCenterSettings
from bot.core.store.clock import Clock, utc_now
from bot.core.store.db import make_engine, make_session_factory, upgrade
from bot.core.store.decision_log import DecisionLog
from bot.core.store.decisions import DecisionWriter
from bot.core.store.directory import org_for_team
from bot.core.store.secrets import TokenCipher
from policy import CURRENT, Decision, Role

T = TypeVar("T")
DIRECTORY_TTL = 60.0
DECISION_LOG_MAX_PENDING = 50_000  # decisions kept in memory while the database is down
DECISION_LOG_DRAIN_SECONDS = 30.0  # drain() waits this long for the decision log's writes
log = logging.getLogger(__name__)


@dataclass
class Services:
    sessions: sessionmaker[Session]
    clock: Clock = utc_now
    # The legacy single-partner settings' clients: the Partner Center connection of the
    # organization PARTNER_ORG_KEY names. Call sites get any organization's clients from
    # bot/core/connections.py (clients_of), never from here.
    partner_center: PartnerCenterClient | None = None
    invitation_expiry: timedelta = timedelta(days=30)
    graph: GraphGdapClient | None = None  # GDAP requests through Microsoft Graph
    # Endpoints and the deployment's app registration for every organization's connection
    partner_center_settings: PartnerCenterSettings | None = None
    connections: Any = None  # bot/core/connections.py's resolver, created on first use
    notify: NotifyOptions = field(default_factory=NotifyOptions)  # webhooks and GDAP
    # ENCRYPTION_KEYS: seals the secrets the bot writes (docs/secrets.md); None: plaintext
    cipher: TokenCipher | None = None
    # The bot token of each workspace (bot/core/installations.py): set by build_app; deferred
    # work (the outbox, Home tabs, invitation copies, expiry) sends with the target's token.
    tokens: Tokens | None = None
    # Set when notifications were queued, so this process's outbox worker sends them now.
    outbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _directory_cache: dict[str, tuple[float, Role | None, int | None]] = field(default_factory=dict)
    # the POLICY_EDITION setting: the edition of a workspace that chose none
    policy_edition: str = CURRENT
    # Home refreshes asked for within this many seconds are republished together, once per
    # viewer (bot/core/home.py: HomeRefresher; created there on first use).
    home_refresh_delay: float = 2.0
    home_refresher: Any = None
    language: LanguageResolver = field(init=False)
    editions: EditionResolver = field(init=False)
    decision_writer: DecisionWriter = field(init=False)
    decision_log: DecisionLog = field(init=False)  # its writer thread (decision_log.py)

    def __post_init__(self) -> None:
        self.language = LanguageResolver(self)
        self.editions = EditionResolver(self, self.policy_edition)
        self.decision_writer = DecisionWriter(self.sessions.kw["bind"])
        self.decision_log = DecisionLog(self.decision_writer, max_pending=DECISION_LOG_MAX_PENDING)

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
        """Wait for background work (tests; shutdown), and for the decision log's thread to
        write what is pending (up to DECISION_LOG_DRAIN_SECONDS; what it could not write by
        then, e.g. the database is down, is logged as lost)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if not await self.decision_log.flush(DECISION_LOG_DRAIN_SECONDS):
            lost = self.decision_log.give_up()
            log.error("decision log: %d decisions lost at shutdown", lost)

    async def membership(self, team_id: str | None) -> tuple[Role | None, int | None]:
        """(role, organization id) of a Slack team from the partner directory, (None, None)
        when unknown. Cached for DIRECTORY_TTL seconds: the directory changes rarely (an
        import), and this is on the path of every command (bench/ack.py)."""
        if not team_id:
            return None, None
        hit = self._directory_cache.get(team_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1], hit[2]

        def lookup(session: Session) -> tuple[Role | None, int | None]:
            org = org_for_team(session, team_id)
            return (Role(org.role), org.id) if org is not None else (None, None)

        role, org_id = await self.run(lookup)
        if len(self._directory_cache) > 10_000:
            self._directory_cache.clear()
        self._directory_cache[team_id] = (time.monotonic() + DIRECTORY_TTL, role, org_id)
        return role, org_id

    def forget_membership(self, team_id: str) -> None:
        """Drop the cached membership of a team whose organization just changed (set-up in
        Slack), so that this process sees it at once (other replicas within DIRECTORY_TTL)."""
        self._directory_cache.pop(team_id, None)

    async def role_for(self, team_id: str | None) -> Role | None:
        """The requester's role, from the partner directory (None when the team is unknown)."""
        return (await self.membership(team_id))[0]

    def log_decision(
        self,
        decision: Decision,
        *,
        user_id: str,
        team_id: str,
        customer: str | None,
        org_id: int | None = None,
        decision_id: str | None = None,
    ) -> None:
        """Append the decision to the decision log (who asked, the facts, the answer), off the
        request path: the row (the driver's parameters) is built now and written with the
        others of the moment by the decision log's thread (bot/core/store/decision_log.py).
        `org_id`: the requester's organization (`membership`); `decision_id` replaces the
        decision's own (for a shared decision from `policy.decide`). `drain()` writes what is
        pending."""
        self.decision_log.append(
            self.decision_writer.row(
                decision,
                decision_id=decision_id or decision.decision_id,
                at=self.clock(),
                user_id=user_id,
                team_id=team_id,
                org_id=org_id,
                customer=customer,
            )
        )
