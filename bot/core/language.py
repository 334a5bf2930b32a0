"""Which language to answer a user in.

Order: the user's own choice (`/multichannel language es|en`), else the user's Slack locale
(`users.info` with `include_locale`, when it is a language we speak), else the workspace default
(`/multichannel language workspace es|en`, admins), else English. Resolved languages are cached
in memory for `ttl` seconds per user (another replica sees a change within that time).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol, TypeVar

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from bot.core.store.clock import Clock
from bot.core.store.models import LanguagePreference
from bot.core.ui.i18n import DEFAULT_LANGUAGE, normalize

log = logging.getLogger(__name__)
T = TypeVar("T")


class Storage(Protocol):
    """What the resolver needs of `bot.core.services.Services`: run storage work off the event
    loop, and the clock."""

    @property
    def clock(self) -> Clock: ...

    async def run(self, fn: Callable[[Session], T]) -> T: ...


USER, TEAM = "user", "team"


#: built once (read for every notification's organizations): only the values are bound per call
_PREFERENCES = select(LanguagePreference).where(
    ((LanguagePreference.scope == USER) & (LanguagePreference.subject_id == bindparam("user_id")))
    | (
        (LanguagePreference.scope == TEAM)
        & LanguagePreference.subject_id.in_(bindparam("team_ids", expanding=True))
    )
)


def preferences(session: Session, *, user_id: str | None, team_ids: list[str]) -> dict[str, str]:
    """{"user": lang, "team": lang} for what is set."""
    found: dict[str, str] = {}
    rows = session.scalars(_PREFERENCES, {"user_id": user_id or "", "team_ids": team_ids})
    for row in rows:
        found.setdefault(row.scope, row.lang)
    return found


def team_language(session: Session, team_ids: list[str]) -> str:
    return preferences(session, user_id=None, team_ids=team_ids).get(TEAM, DEFAULT_LANGUAGE)


class LanguageResolver:
    def __init__(self, services: Storage, *, ttl: float = 300.0, size: int = 10_000) -> None:
        self._services = services
        self._ttl = ttl
        self._size = size
        self._cache: OrderedDict[tuple[str, str], tuple[float, str]] = OrderedDict()

    async def for_user(
        self, client: AsyncWebClient, user_id: str | None, team_id: str | None
    ) -> str:
        if not user_id:
            return DEFAULT_LANGUAGE
        key = (user_id, team_id or "")
        hit = self._cache.get(key)
        if hit is not None and hit[0] > time.monotonic():
            self._cache.move_to_end(key)
            return hit[1]
        prefs = await self._services.run(
            lambda s: preferences(s, user_id=user_id, team_ids=[team_id] if team_id else [])
        )
        lang = await self._choose(client, user_id, prefs)
        self._cache[key] = (time.monotonic() + self._ttl, lang)
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return lang

    async def _choose(self, client: AsyncWebClient, user_id: str, prefs: dict[str, str]) -> str:
        lang = prefs.get(USER) or await self._slack_locale(client, user_id)
        return lang or prefs.get(TEAM) or DEFAULT_LANGUAGE

    async def would_be(
        self,
        client: AsyncWebClient,
        user_id: str,
        team_id: str,
        *,
        scope: str,
        lang: str | None,
    ) -> str:
        """The language `user_id` would be answered in once `scope`'s choice is `lang` (None:
        removed), without writing it: the answer to a change goes out before the change is
        saved, so that a write waiting for the database never holds up the answer."""
        prefs = await self._services.run(
            lambda s: preferences(s, user_id=user_id, team_ids=[team_id] if team_id else [])
        )
        prefs.pop(scope, None)
        if lang is not None:
            prefs[scope] = lang
        return await self._choose(client, user_id, prefs)

    async def _slack_locale(self, client: AsyncWebClient, user_id: str) -> str | None:
        try:
            info = await client.users_info(user=user_id, include_locale=True)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("users.info for %s failed, using the defaults: %s", user_id, exc)
            return None
        return normalize((info.get("user") or {}).get("locale"))

    async def set(self, scope: str, subject_id: str, lang: str | None, *, by: str) -> None:
        """Set (or with None, remove) a user's or a workspace's language."""

        def write(session: Session) -> None:
            session.execute(
                delete(LanguagePreference).where(
                    LanguagePreference.scope == scope, LanguagePreference.subject_id == subject_id
                )
            )
            if lang is not None:
                session.add(
                    LanguagePreference(
                        scope=scope,
                        subject_id=subject_id,
                        lang=lang,
                        updated_at=self._services.clock(),
                        updated_by=by,
                    )
                )

        await self._services.run(write)
        # forget what this replica resolved for the affected users
        for key in [k for k in self._cache if (k[0] if scope == USER else k[1]) == subject_id]:
            del self._cache[key]

    async def explain(
        self, client: AsyncWebClient, user_id: str, team_id: str
    ) -> dict[str, str | None]:
        """The pieces of the decision, for `/multichannel language`."""
        prefs = await self._services.run(
            lambda s: preferences(s, user_id=user_id, team_ids=[team_id])
        )
        return {
            "user": prefs.get(USER),
            "slack": await self._slack_locale(client, user_id),
            "team": prefs.get(TEAM),
            "current": await self.for_user(client, user_id, team_id),
        }
