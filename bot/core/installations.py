"""Which token speaks for which workspace.

Two modes, one code path (docs/slack-app.md):

- single workspace (`SLACK_BOT_TOKEN`): every workspace's token is that token;
- distributed (`SLACK_CLIENT_ID` + `SLACK_CLIENT_SECRET`): each workspace installed the app
  through Bolt's OAuth flow, and its token is in slack_sdk's SQLAlchemy installation store
  (bot/core/store/installations.py: encrypted at rest).

`AsyncInstallations` is the async face of that store, given to Bolt's OAuth flow and
authorization (AsyncOAuthSettings(installation_store=...)) and used by the work that happens
later (the outbox, Home tabs of other users, invitation copies for the other side, expiry) to
find the token of the workspace that owns the target. slack_sdk has an async SQLAlchemy store,
but it needs an async database driver (aiosqlite, asyncpg) and an engine of its own; the
project runs SQLAlchemy synchronously in worker threads (docs/architecture.md), so the sync
store runs in a thread here, on the project's engine and pool. Look-ups are cached for
`ttl` seconds (bounded): Bolt authorizes every request with them (bench/ack.py measures it).
A save or delete in this process drops the workspace's entries at once; other replicas see a
change within `ttl`.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.installation_store import InstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.sqlalchemy_utils import normalize_datetime_for_db
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.oauth.state_store.state_store import OAuthStateStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine, delete, func, select

log = logging.getLogger(__name__)
DEFAULT_TTL = 60.0
DEFAULT_CACHE_SIZE = 10_000


class _TTLCache:
    """At most `size` entries, each for `ttl` seconds (oldest evicted first)."""

    def __init__(self, ttl: float, size: int) -> None:
        self.ttl = ttl
        self.size = size
        self._items: OrderedDict[Any, tuple[float, Any]] = OrderedDict()

    def get(self, key: Any) -> tuple[bool, Any]:
        hit = self._items.get(key)
        if hit is None or hit[0] <= time.monotonic():
            return False, None
        return True, hit[1]

    def put(self, key: Any, value: Any) -> None:
        self._items[key] = (time.monotonic() + self.ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def drop_team(self, enterprise_id: str | None, team_id: str | None) -> None:
        """Every entry of the workspace (a team id belongs to one enterprise at most, so its
        entries looked up without the enterprise go too); an org-wide install by enterprise."""
        for key in [
            k for k in self._items if (k[2] == team_id if team_id else k[1] == enterprise_id)
        ]:
            del self._items[key]

    def clear(self) -> None:
        self._items.clear()


class AsyncInstallations(AsyncInstallationStore):
    """slack_sdk's (sync) installation store in worker threads, with a bounded TTL cache."""

    def __init__(
        self,
        store: InstallationStore,
        *,
        ttl: float = DEFAULT_TTL,
        size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self.store = store
        self.cache = _TTLCache(ttl, size)

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        await asyncio.to_thread(self.store.save, installation)
        self.cache.drop_team(installation.enterprise_id, installation.team_id)

    async def async_save_bot(self, bot: Bot) -> None:
        await asyncio.to_thread(self.store.save_bot, bot)
        self.cache.drop_team(bot.enterprise_id, bot.team_id)

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        key = ("bot", enterprise_id, team_id, bool(is_enterprise_install))
        hit, value = self.cache.get(key)
        if hit:
            return value  # type: ignore[no-any-return]
        bot = await asyncio.to_thread(
            lambda: self.store.find_bot(
                enterprise_id=enterprise_id,
                team_id=team_id,
                is_enterprise_install=is_enterprise_install,
            )
        )
        self.cache.put(key, bot)
        return bot

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        key = ("installation", enterprise_id, team_id, bool(is_enterprise_install), user_id)
        hit, value = self.cache.get(key)
        if hit:
            return value  # type: ignore[no-any-return]
        found = await asyncio.to_thread(
            lambda: self.store.find_installation(
                enterprise_id=enterprise_id,
                team_id=team_id,
                user_id=user_id,
                is_enterprise_install=is_enterprise_install,
            )
        )
        self.cache.put(key, found)
        return found

    async def async_enterprise_of(self, team_id: str) -> str | None:
        """The Enterprise Grid organization workspace `team_id` was installed in, as its latest
        installation recorded it (a Slack team id belongs to one enterprise at most); None
        outside Enterprise Grid or when it is not installed. Work done later (the outbox, Home
        tabs of other users) knows a target's team id, while slack_sdk's store finds a Grid
        workspace's installation only with its enterprise id too. Cached like the look-ups."""
        key = ("enterprise", None, team_id)
        hit, value = self.cache.get(key)
        if hit:
            return value  # type: ignore[no-any-return]
        store = self.store
        if not isinstance(store, SQLAlchemyInstallationStore):
            return None
        bots = store.bots

        def read() -> str | None:
            with store.engine.connect() as connection:
                return connection.execute(
                    select(bots.c.enterprise_id)
                    .where(
                        bots.c.client_id == store.client_id,
                        bots.c.team_id == team_id,
                        bots.c.enterprise_id.is_not(None),
                    )
                    .order_by(bots.c.installed_at.desc())
                    .limit(1)
                ).scalar()

        enterprise = await asyncio.to_thread(read)
        self.cache.put(key, enterprise)
        return enterprise

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(
            lambda: self.store.delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        )
        self.cache.drop_team(enterprise_id, team_id)

    async def async_delete_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
    ) -> None:
        await asyncio.to_thread(
            lambda: self.store.delete_installation(
                enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
            )
        )
        self.cache.drop_team(enterprise_id, team_id)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(
            lambda: self.store.delete_all(enterprise_id=enterprise_id, team_id=team_id)
        )
        self.cache.drop_team(enterprise_id, team_id)


class AsyncStateStore(AsyncOAuthStateStore):
    """slack_sdk's (sync) SQLAlchemy OAuth state store in worker threads: a state is issued
    once and consumed once (the row is deleted), so a replayed or forged `state` is refused."""

    def __init__(self, store: OAuthStateStore) -> None:
        self.store = store

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return await asyncio.to_thread(self._issue)

    def _issue(self) -> str:
        state = self.store.issue()
        if isinstance(self.store, SQLAlchemyOAuthStateStore):
            prune_expired_states(self.store)
        return state

    async def async_consume(self, state: str) -> bool:
        return await asyncio.to_thread(self.store.consume, state)


#: expired OAuth states deleted at each new one: more than one, so a backlog drains
STATE_PRUNE_BATCH = 100


def prune_expired_states(store: SQLAlchemyOAuthStateStore, batch: int = STATE_PRUNE_BATCH) -> int:
    """Delete up to `batch` expired OAuth states, oldest first. Anyone can open /slack/install,
    and each visit issues a state: without this, unauthenticated visits would grow the table
    for ever. States expire in issue order, so the oldest ids are the expired ones and the
    primary key serves the look-up; the table holds about the states of the last expiry
    period."""
    table = store.oauth_states
    now = normalize_datetime_for_db(datetime.now(UTC))  # naive UTC, as slack_sdk stores it
    oldest = (
        select(table.c.id)
        .where(table.c.expire_at < now)
        .order_by(table.c.id)
        .limit(batch)
        .scalar_subquery()
    )
    with store.engine.begin() as connection:
        return connection.execute(delete(table).where(table.c.id.in_(oldest))).rowcount


@dataclass(frozen=True)
class Workspace:
    """Where a target lives: a Slack team (and its enterprise, in Enterprise Grid)."""

    team_id: str | None
    enterprise_id: str | None = None


class NotInstalled(Exception):
    """No token for a workspace: the app is not (or no longer) installed there."""

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(f"the app is not installed in Slack workspace {workspace.team_id}")
        self.workspace = workspace


class RefreshLock:
    """One refresh of a workspace's token at a time, across every replica on one database.

    With token rotation, Slack's refresh token works once: two replicas refreshing the same
    workspace at once would each send it, and the second would get `invalid_refresh_token`
    and lose the workspace's token until it is installed again. Held around refresh-and-save
    (`LockedTokenRotator`):

    - PostgreSQL: `pg_advisory_xact_lock` on the workspace's key, on a connection of its own,
      released when that connection's transaction ends (a crashed holder releases it too);
    - SQLite in a file: an exclusive `flock` on `<database>.token-refresh.lock` (every process
      on that host, the only ones that can share the file);
    - anything else (SQLite in memory: one process): a lock of this process.
    """

    _process_lock = threading.Lock()

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._file: Path | None = None
        if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            self._file = Path(f"{engine.url.database}.token-refresh.lock")

    @staticmethod
    def key(enterprise_id: str | None, team_id: str | None) -> int:
        """A signed 64-bit advisory lock key for the workspace."""
        digest = hashlib.blake2b(
            f"slack-token-refresh:{enterprise_id or ''}:{team_id or ''}".encode(), digest_size=8
        ).digest()
        return int.from_bytes(digest, "big", signed=True)

    @asynccontextmanager
    async def hold(self, enterprise_id: str | None, team_id: str | None) -> AsyncIterator[None]:
        release = await asyncio.to_thread(self._acquire, self.key(enterprise_id, team_id))
        try:
            yield
        finally:
            await asyncio.to_thread(release)

    def _acquire(self, key: int) -> Callable[[], None]:
        if self.engine.dialect.name == "postgresql":
            connection = self.engine.connect()
            try:
                connection.begin()
                connection.execute(select(func.pg_advisory_xact_lock(key)))
            except BaseException:
                connection.close()
                raise
            return connection.close  # rolls the transaction back: the lock goes with it
        if self._file is not None:
            handle = self._file.open("a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX)
            except BaseException:
                handle.close()
                raise
            return handle.close  # closing the file releases its lock
        self._process_lock.acquire()
        return self._process_lock.release


class LockedTokenRotator(AsyncTokenRotator):
    """slack_sdk's token rotator, made safe for several replicas (`RefreshLock`): an expiring
    token is refreshed under the workspace's lock, after reading the installation again from
    the database (not the cache), and saved before the lock is released. A replica that waited
    while another refreshed finds the new token and uses it instead of refreshing again.

    Bolt's authorization (bot/slack/oauth.py) and `Tokens` (deferred work) both use it; Bolt
    saves what it returns once more, which rewrites the same row."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        client: AsyncWebClient,
        installations: AsyncInstallations,
        lock: RefreshLock,
    ) -> None:
        super().__init__(client_id=client_id, client_secret=client_secret, client=client)
        self.installations = installations
        self.lock = lock

    async def perform_token_rotation(
        self,
        *,
        installation: Installation,
        minutes_before_expiration: int = 120,
    ) -> Installation | None:
        if not _expiring(installation, minutes_before_expiration):
            return None  # the common case: no lock, no query
        enterprise_id, team_id = installation.enterprise_id, installation.team_id
        async with self.lock.hold(enterprise_id, team_id):
            current = await asyncio.to_thread(
                lambda: self.installations.store.find_installation(
                    enterprise_id=enterprise_id, team_id=team_id
                )
            )
            if current is None:  # uninstalled meanwhile
                return None
            refreshed = await super().perform_token_rotation(
                installation=current, minutes_before_expiration=minutes_before_expiration
            )
            if refreshed is None:  # another replica refreshed it while this one waited
                self.installations.cache.drop_team(enterprise_id, team_id)
                return current if current.bot_token != installation.bot_token else None
            await self.installations.async_save(refreshed)
            log.info("refreshed the bot token of Slack workspace %s", team_id)
            return refreshed


def _expiring(installation: Installation, minutes: int) -> bool:
    soon = time.time() + minutes * 60
    pairs = (
        (installation.bot_refresh_token, installation.bot_token_expires_at),
        (installation.user_refresh_token, installation.user_token_expires_at),
    )
    return any(token and at is not None and at <= soon for token, at in pairs)


class Tokens:
    """The bot token for a workspace. Single-workspace mode: the configured token for every
    workspace. Distributed mode: the installation store's (cached, see AsyncInstallations)."""

    def __init__(
        self,
        *,
        token: str | None = None,
        installations: AsyncInstallations | None = None,
        rotator: LockedTokenRotator | None = None,
        rotate_minutes: int = 120,
    ) -> None:
        """`rotator` (distributed mode with token rotation): a token expiring within
        `rotate_minutes` is refreshed and saved (under the workspace's lock) before it is used,
        as Bolt's authorization does for requests."""
        if (token is None) == (installations is None):
            raise ValueError("give either the single workspace's token or the installations")
        self._token = token
        self.installations = installations
        self.rotator = rotator
        self.rotate_minutes = rotate_minutes

    @property
    def distributed(self) -> bool:
        return self.installations is not None

    async def bot_token(self, workspace: Workspace) -> str:
        """The workspace's bot token; NotInstalled when there is none."""
        if self._token is not None:
            return self._token
        assert self.installations is not None
        if not workspace.team_id and not workspace.enterprise_id:
            raise NotInstalled(workspace)
        found = await self.installations.async_find_installation(
            enterprise_id=workspace.enterprise_id, team_id=workspace.team_id
        )
        if found is None and workspace.enterprise_id is None and workspace.team_id:
            # a workspace of an Enterprise Grid organization, known here by its team id only
            enterprise = await self.installations.async_enterprise_of(workspace.team_id)
            if enterprise is not None:
                workspace = Workspace(workspace.team_id, enterprise)
                found = await self.installations.async_find_installation(
                    enterprise_id=enterprise, team_id=workspace.team_id
                )
        if found is not None and found.bot_refresh_token and self.rotator is not None:
            refreshed = await self.rotator.perform_token_rotation(
                installation=found, minutes_before_expiration=self.rotate_minutes
            )
            if refreshed is not None:  # saved by the rotator
                found = refreshed
        token = found.bot_token if found is not None else None
        if token is None:
            bot = await self.installations.async_find_bot(
                enterprise_id=workspace.enterprise_id, team_id=workspace.team_id
            )
            token = bot.bot_token if bot is not None else None
        if token is None:
            raise NotInstalled(workspace)
        return token


async def workspace_client(
    tokens: Tokens | None, client: AsyncWebClient, team_id: str | None
) -> AsyncWebClient:
    """The client that speaks for workspace `team_id`: `client` itself with one workspace's
    token (or when the team is unknown), else one with that workspace's own token, the same
    base URL, timeout and retry handlers (raises NotInstalled when the app is not installed
    there)."""
    if tokens is None or not tokens.distributed or not team_id:
        return client
    token = await tokens.bot_token(Workspace(team_id))
    if token == client.token:
        return client
    return AsyncWebClient(
        token=token,
        base_url=client.base_url,
        timeout=client.timeout,
        retry_handlers=client.retry_handlers,
    )
