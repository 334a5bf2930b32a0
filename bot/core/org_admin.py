"""A directory admin manages its organization's notification channel and admins in Slack
(the Home tab's Admin section and a modal): the same columns and rows `mcbot partners import`
writes (`organizations.notification_channel`, `organization_admins`)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.core.store.directory import is_admin, org_for_team
from bot.core.store.models import Organization, OrganizationAdmin

log = logging.getLogger(__name__)
ADMINS_MAX = 20


class AdminRefused(Exception):
    """`code`: a notice code (not a directory admin of the organization)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class OrgSettings:
    name: str
    notification_channel: str | None
    admins: tuple[str, ...]


def admin_org(session: Session, team_id: str, user_id: str) -> Organization:
    """The organization `user_id` of `team_id` is a directory admin of; AdminRefused
    (`org_admins_only`) otherwise."""
    org = org_for_team(session, team_id)
    if org is None or not is_admin(session, org, user_id):
        raise AdminRefused("org_admins_only")
    return org


def current_settings(session: Session, *, team_id: str, user_id: str) -> OrgSettings:
    org = admin_org(session, team_id, user_id)
    admins = session.scalars(
        select(OrganizationAdmin.user_id)
        .where(OrganizationAdmin.org_id == org.id)
        .order_by(OrganizationAdmin.user_id)
        .limit(ADMINS_MAX)
    )
    return OrgSettings(org.name, org.notification_channel, tuple(admins))


def save_settings(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    channel: str | None,
    admins: tuple[str, ...],
) -> OrgSettings:
    """Replace the channel and the admins (checked again: the submitter must still be an
    admin). `admins` were validated by the form (ids of this workspace's people, 1 to
    ADMINS_MAX)."""
    org = admin_org(session, team_id, user_id)
    org.notification_channel = channel
    org.notification_channel_team = None  # chosen and checked in its own workspace
    session.execute(delete(OrganizationAdmin).where(OrganizationAdmin.org_id == org.id))
    session.add_all(OrganizationAdmin(user_id=u, org_id=org.id) for u in sorted(set(admins)))
    session.flush()
    log.info(
        "organization %s: channel and %d admin(s) set in Slack by %s of %s",
        org.key,
        len(set(admins)),
        user_id,
        team_id,
    )
    return OrgSettings(org.name, channel, tuple(sorted(set(admins))))


async def people_outside(client: AsyncWebClient, team_id: str, users: tuple[str, ...]) -> list[str]:
    """Which of `users` are not active people of workspace `team_id` (unknown to it, of another
    workspace, bots, deactivated). At most ADMINS_MAX `users.info` calls, made concurrently."""

    async def outside(user_id: str) -> bool:
        try:
            info = await client.users_info(user=user_id)
        except SlackApiError:
            return True
        user: dict[str, Any] = info.get("user") or {}
        return bool(
            user.get("team_id") not in (None, team_id) or user.get("is_bot") or user.get("deleted")
        )

    found = await asyncio.gather(*(outside(u) for u in users[:ADMINS_MAX]))
    return [u for u, out in zip(users, found, strict=False) if out]
