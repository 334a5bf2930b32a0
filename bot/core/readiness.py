"""Readiness: can this instance do its work? `GET /readyz` (bot/http/asgi.py) and `mcbot serve`'s
start-up ask here.

- The database accepts a write: `bot.core.store.db.accepts_write`, a write rolled back, with a
  short lock timeout (a write lock held elsewhere gives "not ready" at once, not a 5 s wait;
  a read-only SQLite file gives "not ready").
- Slack accepts the bot token (`auth.test`; the bot serves one workspace with one token);
  `mcbot serve` seeds it with its start-up check.
Answers are kept for a while (see Readiness): /readyz is unauthenticated, so asking it often
costs no more than asking it once per period.

`/healthz` stays a liveness check (the process answers); it does not ask here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine

from bot.core.store.db import accepts_write

log = logging.getLogger(__name__)
TOKEN_TTL = 60.0
FAILED_TTL = 5.0
DATABASE_TTL = 2.0  # seconds a database answer is kept
CHECK_TIMEOUT = 5.0  # seconds a check may take before it counts as failed
DATABASE_LOCK_TIMEOUT_MS = 200
# auth.test errors that say the token itself is refused (not that Slack is unreachable).
REFUSED = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "not_allowed_token_type",
        "no_permission",
    }
)


@dataclass(frozen=True)
class Check:
    """One readiness check: ok, or what is wrong and what to do."""

    ok: bool
    problem: str = ""
    fix: str = ""
    refused: bool = False  # the token check: Slack refused the token (not just unreachable)

    def as_json(self) -> dict[str, Any]:
        if self.ok:
            return {"ok": True}
        return {"ok": False, "problem": self.problem, "fix": self.fix}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


async def check_token(client: AsyncWebClient, timeout: float = CHECK_TIMEOUT) -> Check:
    """`auth.test` with the client's token."""
    try:
        await asyncio.wait_for(client.auth_test(), timeout)
    except SlackApiError as exc:
        error = str(exc.response.get("error", "")) if exc.response is not None else ""
        if error in REFUSED:
            return Check(
                ok=False,
                refused=True,
                problem=f"Slack refused the bot token (auth.test: {error})",
                fix="set SLACK_BOT_TOKEN to the app's Bot User OAuth Token (OAuth & "
                "Permissions, xoxb-...); reinstall the app if it was revoked",
            )
        return Check(
            ok=False,
            problem=f"Slack answered auth.test with an error ({error or exc})",
            fix="retry later; check https://slack-status.com and SLACK_API_URL",
        )
    except Exception as exc:  # unreachable, whatever the reason
        reason = "timed out" if isinstance(exc, TimeoutError) else _first_line(exc)
        return Check(
            ok=False,
            problem=f"Slack is unreachable at {client.base_url} ({reason})",
            fix="check the network, proxies and SLACK_API_URL",
        )
    return Check(ok=True)


def check_database(engine: Engine, lock_timeout_ms: int = DATABASE_LOCK_TIMEOUT_MS) -> Check:
    """Whether the database accepts a write now (blocking: run it in a thread)."""
    try:
        accepts_write(engine, lock_timeout_ms)
    except Exception as exc:  # any failure: not ready, and why
        problem = _first_line(exc)
        if "no such table" in problem or "does not exist" in problem:
            fix = "run: mcbot db upgrade (DATABASE_URL)"
        elif "locked" in problem or "lock timeout" in problem:
            fix = "another process holds the database's write lock; wait, or end it"
        elif "readonly" in problem or "read-only" in problem:
            fix = "make the database file and its folder writable by the bot (DATABASE_URL)"
        else:
            fix = "check DATABASE_URL and that the database server is up"
        return Check(ok=False, problem=f"the database refuses writes: {problem}", fix=fix)
    return Check(ok=True)


class Readiness:
    """The checks of `GET /readyz`. `slack`: the bot's Web API client (None: no token check).

    /readyz is unauthenticated: each answer is kept (the token's TOKEN_TTL seconds when it
    succeeded, FAILED_TTL when not; the database's DATABASE_TTL), so however often it is asked,
    it costs at most one rolled-back write and one `auth.test` per period (docs/security.md)."""

    def __init__(
        self, engine: Engine, slack: AsyncWebClient | None, *, installations: bool = False
    ) -> None:
        """`installations`: distributed mode, where there is no one token to check but the
        installation store (slack_sdk's tables in our database) must answer."""
        self.engine = engine
        self.slack = slack
        self.installations = installations
        self._answers: dict[str, tuple[float, Check]] = {}  # name → (expires, answer)
        self._locks = {
            "database": asyncio.Lock(),
            "slack_token": asyncio.Lock(),
            "installation_store": asyncio.Lock(),
        }

    def record_token(self, check: Check) -> None:
        """Keep a token check made elsewhere (`mcbot serve`'s start-up)."""
        ttl = TOKEN_TTL if check.ok else FAILED_TTL
        self._answers["slack_token"] = (time.monotonic() + ttl, check)

    async def _kept(
        self, name: str, ttls: tuple[float, float], run: Callable[[], Awaitable[Check]]
    ) -> Check:
        """The kept answer of check `name`, or a new one (`ttls`: kept when ok, when not);
        concurrent probes share one run."""
        async with self._locks[name]:
            kept = self._answers.get(name)
            if kept is None or kept[0] <= time.monotonic():
                check = await run()
                if not check.ok:
                    log.warning("not ready: %s; %s", check.problem, check.fix)
                ttl = ttls[0] if check.ok else ttls[1]
                kept = self._answers[name] = (time.monotonic() + ttl, check)
            return kept[1]

    async def token(self) -> Check:
        """The kept `auth.test` answer, refreshed when it is stale."""
        slack = self.slack
        assert slack is not None
        return await self._kept("slack_token", (TOKEN_TTL, FAILED_TTL), lambda: check_token(slack))

    async def database(self) -> Check:
        return await self._kept("database", (DATABASE_TTL, DATABASE_TTL), self._database)

    async def _database(self) -> Check:
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(check_database, self.engine), CHECK_TIMEOUT
            )
        except TimeoutError:
            return Check(
                ok=False,
                problem=f"the database did not answer within {CHECK_TIMEOUT:.0f} s",
                fix="check DATABASE_URL and that the database server is up",
            )

    async def installation_store(self) -> Check:
        return await self._kept(
            "installation_store", (DATABASE_TTL, DATABASE_TTL), self._installation_store
        )

    async def _installation_store(self) -> Check:
        def read() -> Check:
            from sqlalchemy import select

            from bot.core.store.models import SLACK_INSTALLATIONS

            try:
                with self.engine.connect() as connection:
                    connection.execute(select(SLACK_INSTALLATIONS.c.id).limit(1)).all()
            except Exception as exc:  # any failure: not ready, and why
                return Check(
                    ok=False,
                    problem=f"the installation store does not answer: {_first_line(exc)}",
                    fix="run: mcbot db upgrade (DATABASE_URL); check that the database is up",
                )
            return Check(ok=True)

        try:
            return await asyncio.wait_for(asyncio.to_thread(read), CHECK_TIMEOUT)
        except TimeoutError:
            return Check(
                ok=False,
                problem=f"the installation store did not answer within {CHECK_TIMEOUT:.0f} s",
                fix="check DATABASE_URL and that the database server is up",
            )

    async def check(self) -> tuple[bool, dict[str, Any]]:
        """(ready, the JSON body of /readyz)."""
        checks = {"database": await self.database()}
        if self.slack is not None:
            checks["slack_token"] = await self.token()
        if self.installations:
            checks["installation_store"] = await self.installation_store()
        ready = all(c.ok for c in checks.values())
        body = {
            "status": "ready" if ready else "not ready",
            "checks": {name: c.as_json() for name, c in checks.items()},
        }
        return ready, body
