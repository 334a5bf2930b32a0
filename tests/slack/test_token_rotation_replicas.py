"""Token rotation with several replicas on one database: a workspace's refresh token works
once (Slack answers `invalid_refresh_token` to a used one), so two replicas refreshing the same
expiring token at once must not both send it. `RefreshLock` (bot/core/installations.py) makes
the second wait, read the installation again, and use the first one's new token."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from bot.core.installations import RefreshLock, Workspace
from bot.core.store import db
from bot.core.store.models import SLACK_BOTS, SLACK_INSTALLATIONS
from bot.core.store.testing import fresh_postgres_database, postgres_unavailable
from bot.testkit.harness import CLIENT_ID, CLIENT_SECRET, BotHarness
from bot.testkit.slack_api import SlackStandIn

TEAM, USER = "T0PROVIDER", "U0PROVIUSR"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "replicas.sqlite3"
        db.upgrade(f"sqlite:///{path}")
        yield f"sqlite:///{path}"
        return
    reason = postgres_unavailable()
    if reason is not None:
        pytest.skip(reason)
    with fresh_postgres_database() as url:
        db.upgrade(url)
        yield url


@pytest.fixture
def replicas(database_url: str) -> Iterator[tuple[SlackStandIn, BotHarness, BotHarness]]:
    """Two replicas of the bot (each its own Services, app, caches) on one database."""
    with SlackStandIn() as slack:
        slack.add_team(TEAM, name="Contoso").set_user(USER, team_id=TEAM)
        slack.token_rotation = True
        first = BotHarness(database_url=database_url, slack=slack, distributed=True).start()
        second = BotHarness(database_url=database_url, slack=slack, distributed=True).start()
        try:
            yield slack, first, second
        finally:
            second.stop()
            first.stop()


def _expire_soon(bot: BotHarness) -> None:
    """An hour left: within the 2 hours before expiry in which a use refreshes the token."""
    soon = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)
    with bot.services.sessions.begin() as session:
        for table in (SLACK_INSTALLATIONS, SLACK_BOTS):
            session.execute(update(table).values(bot_token_expires_at=soon))


def _refreshes(slack: SlackStandIn) -> list[dict[str, object]]:
    return [
        c.response
        for c in slack.calls("oauth.v2.access")
        if c.params.get("grant_type") == "refresh_token"
    ]


def test_the_stand_in_refuses_a_used_refresh_token_like_slack(
    replicas: tuple[SlackStandIn, BotHarness, BotHarness],
) -> None:
    slack, first, _ = replicas
    assert first.install(TEAM, USER).status_code == 200
    refresh = slack.last("oauth.v2.access").response["refresh_token"]
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    used = httpx.post(f"{slack.base_url}oauth.v2.access", data=form).json()
    assert used["ok"] is True
    again = httpx.post(f"{slack.base_url}oauth.v2.access", data=form).json()
    assert again == {"ok": False, "error": "invalid_refresh_token"}


def test_two_replicas_refresh_a_workspace_token_once_and_share_it(
    replicas: tuple[SlackStandIn, BotHarness, BotHarness],
) -> None:
    slack, first, second = replicas
    assert first.install(TEAM, USER).status_code == 200
    (old,) = slack.tokens_of(TEAM)
    _expire_soon(first)
    for bot in (first, second):
        bot.services.tokens.installations.cache.clear()
    slack.clear()

    async def both() -> list[str]:
        # deferred work (the outbox, copies for the other side) in each replica, at once
        return list(
            await asyncio.gather(
                first.services.tokens.bot_token(Workspace(TEAM)),
                second.services.tokens.bot_token(Workspace(TEAM)),
            )
        )

    tokens = asyncio.run(both())
    refreshes = _refreshes(slack)
    assert len(refreshes) == 1 and refreshes[0]["ok"] is True, refreshes
    assert tokens[0] == tokens[1] == refreshes[0]["access_token"] != old


def test_requests_to_two_replicas_at_once_refresh_once(
    replicas: tuple[SlackStandIn, BotHarness, BotHarness],
) -> None:
    """Bolt's authorization refreshes through the same locked rotator."""
    slack, first, second = replicas
    assert first.install(TEAM, USER).status_code == 200
    _expire_soon(first)
    for bot in (first, second):
        bot.services.tokens.installations.cache.clear()
    slack.clear()
    answers: list[int] = []
    start = threading.Barrier(2)

    def ask(bot: BotHarness) -> None:
        start.wait()
        answers.append(bot.command("help", team_id=TEAM, user_id=USER).status_code)

    threads = [threading.Thread(target=ask, args=(bot,)) for bot in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert answers == [200, 200]
    refreshes = _refreshes(slack)
    assert len(refreshes) == 1 and refreshes[0]["ok"] is True, refreshes
    fresh = refreshes[0]["access_token"]
    info = slack.calls("users.info")
    assert info and all(c.headers["authorization"] == f"Bearer {fresh}" for c in info)


def test_the_lock_excludes_a_second_holder_until_the_first_releases(
    database_url: str,
) -> None:
    """Two RefreshLocks (two replicas) on one database: the second waits for the first."""
    from sqlalchemy import create_engine

    engines = [create_engine(database_url), create_engine(database_url)]
    order: list[str] = []

    async def hold(lock: RefreshLock, name: str, entered: asyncio.Event | None) -> None:
        async with lock.hold(None, TEAM):
            order.append(f"{name} in")
            if entered is not None:
                entered.set()
                await asyncio.sleep(0.3)
            order.append(f"{name} out")

    async def run() -> None:
        entered = asyncio.Event()
        first = asyncio.create_task(hold(RefreshLock(engines[0]), "first", entered))
        await entered.wait()
        await hold(RefreshLock(engines[1]), "second", None)
        await first

    try:
        asyncio.run(run())
    finally:
        for engine in engines:
            engine.dispose()
    assert order == ["first in", "first out", "second in", "second out"]
