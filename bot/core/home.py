"""The App Home tab: a dashboard per user, republished when something they can see changes.

Shows, with the same visibility rules as `/multichannel status`: requests waiting for the user's
organization (a provider's resellers' requests, with Create invitation / Decline), open
invitations with their state and age, invitations recently accepted, the user's recent
decisions, and buttons to assess a customer or create an invitation. Each list is capped so the
tab stays within Slack's 100 blocks; what does not fit is counted with a pointer to
`/multichannel status`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.installations import NotInstalled, workspace_client
from bot.core.services import Services
from bot.core.snapshots import InvitationView, OrgView
from bot.core.store.access import visible_invitations
from bot.core.store.decisions import recent_decisions
from bot.core.store.directory import org_for_team
from bot.core.store.lifecycle import InvitationState
from bot.core.store.models import HomeViewer, OrganizationTeam
from bot.core.ui import surfaces

log = logging.getLogger(__name__)
S = InvitationState
OPEN = (S.created, S.sent, S.sent_to_reseller, S.sent_to_customer, S.delegated_admin_requested)
ACCEPTED = (S.accepted, S.delegated_admin_granted)
LIMITS = {"requests": 10, "open": 15, "accepted": 5, "decisions": 5}
RECENT = timedelta(days=14)
VIEWER_TTL = timedelta(days=30)


@dataclass
class HomeData:
    org: OrgView | None = None
    requests: list[InvitationView] = field(default_factory=list)
    waiting: list[InvitationView] = field(default_factory=list)  # a reseller's own requests
    open: list[InvitationView] = field(default_factory=list)
    accepted: list[InvitationView] = field(default_factory=list)
    decisions: list[Any] = field(default_factory=list)
    more: dict[str, int] = field(default_factory=dict)
    # Distributed mode: partner organizations (its resellers, its providers) whose workspace
    # has no installation of the app (never installed, uninstalled, token revoked).
    unreachable: list[str] = field(default_factory=list)  # their names
    partners: list[tuple[str, str]] = field(default_factory=list)  # (name, team id)


def _capped(data: HomeData, name: str, views: list[InvitationView]) -> list[InvitationView]:
    limit = LIMITS[name]
    if len(views) > limit:
        data.more[name] = len(views) - limit
    return views[:limit]


def load_home(services: Services, session: Session, user_id: str, team_id: str) -> HomeData:
    now = services.clock()
    session.merge(HomeViewer(user_id=user_id, team_id=team_id, opened_at=now))
    data = HomeData(decisions=recent_decisions(session, user_id, limit=LIMITS["decisions"]))
    org = org_for_team(session, team_id)
    if org is None:
        return data
    data.org = OrgView.of(org)
    if services.tokens is not None and services.tokens.distributed:
        from sqlalchemy import func

        from bot.core.store.directory import providers_of, resellers_of
        from bot.core.store.models import Organization

        ids = [o.id for o in (*resellers_of(session, org), *providers_of(session, org))]
        rows = session.execute(  # one query: each partner's name and (first) workspace
            select(Organization.name, func.min(OrganizationTeam.team_id))
            .join(OrganizationTeam, OrganizationTeam.org_id == Organization.id)
            .where(Organization.id.in_(ids))
            .group_by(Organization.id, Organization.name)
            .order_by(Organization.name)
            .limit(50)
        )
        data.partners = [(name, team) for name, team in rows]
    fetch = 200

    def views(states: tuple[S, ...]) -> list[InvitationView]:
        found = visible_invitations(session, org, states=states, limit=fetch)
        return [InvitationView.of(i) for i in found]

    requested = views((S.requested,))
    mine = [v for v in requested if v.provider.id == org.id]
    data.requests = _capped(data, "requests", mine)
    data.waiting = [v for v in requested if v.provider.id != org.id][: LIMITS["requests"]]
    data.open = _capped(data, "open", views(OPEN))
    recent = [v for v in views(ACCEPTED) if v.updated_at >= now - RECENT]
    data.accepted = _capped(data, "accepted", recent)
    return data


async def publish_home(
    services: Services, client: AsyncWebClient, user_id: str, team_id: str
) -> None:
    lang = await services.language.for_user(client, user_id, team_id)
    data = await services.run(lambda s: load_home(services, s, user_id, team_id))
    for name, partner_team in data.partners:  # look-ups cached (bot/core/installations.py)
        try:
            await workspace_client(services.tokens, client, partner_team)
        except NotInstalled:
            data.unreachable.append(name)
    await client.views_publish(user_id=user_id, view=surfaces.home_view(lang=lang, home=data))


async def refresh_homes(services: Services, client: AsyncWebClient, view: InvitationView) -> None:
    """Republish the Home tab of everyone who opened it and can see `view`."""
    orgs = [view.provider.id] + ([view.reseller.id] if view.reseller else [])

    def viewers(session: Session) -> list[tuple[str, str]]:
        since = services.clock() - VIEWER_TTL
        rows = session.execute(
            select(HomeViewer.user_id, HomeViewer.team_id)
            .join(OrganizationTeam, OrganizationTeam.team_id == HomeViewer.team_id)
            .where(OrganizationTeam.org_id.in_(orgs), HomeViewer.opened_at >= since)
        )
        return [(u, t) for u, t in rows]

    for user_id, team_id in await services.run(viewers):
        try:
            # each viewer's Home tab with its own workspace's token (distributed mode)
            own = await workspace_client(services.tokens, client, team_id)
            await publish_home(services, own, user_id, team_id)
        except NotInstalled:
            log.info(
                "Home tab of %s not refreshed: the app is not installed in %s", user_id, team_id
            )
        except SlackApiError as exc:
            log.warning(
                "could not refresh the Home tab of %s: %s", user_id, exc.response.get("error")
            )
