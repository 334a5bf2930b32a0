"""The App Home tab: a dashboard per user, republished when something they can see changes.

Shows, with the same visibility rules as `/multichannel status`: requests waiting for the user's
organization (a provider's resellers' requests, with Create invitation / Decline), open
invitations with their state and age, invitations recently accepted, the user's recent
decisions, and buttons to assess a customer or create an invitation. Each list is capped so the
tab stays within Slack's 100 blocks; when there is more, the list says so (not how many: see
docs/architecture.md, "Flat with history") with a pointer to `/multichannel status`.

Flat with history: each list reads only the rows it shows plus one (in the order of an index
per organization; the extra row is how it knows there is more), and the organizations'
languages are read in one statement. Loading reads only: who opened the Home is remembered in
its own short transaction, and only once a day per user.

Refreshes are coalesced (`HomeRefresher`): a change asks for the Home tabs of its organizations
to be republished; everything asked within `Services.home_refresh_delay` seconds is republished
once per viewer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.core.installations import NotInstalled, workspace_client
from bot.core.joining import pending_providers
from bot.core.onboarding import SetupAccess, setup_access
from bot.core.org_admin import AdminView, admin_view
from bot.core.services import Services
from bot.core.snapshots import InvitationView, OrgView, org_views
from bot.core.store.access import unindexed_state, visibility_clause, visible_invitations
from bot.core.store.connections import connection_label, statuses
from bot.core.store.decisions import recent_decisions
from bot.core.store.directory import org_and_admin, self_org_id
from bot.core.store.lifecycle import InvitationState
from bot.core.store.models import HomeViewer, Invitation, Organization, OrganizationTeam
from bot.core.ui import surfaces
from policy.facts import Role

log = logging.getLogger(__name__)
S = InvitationState
OPEN = (S.created, S.sent, S.sent_to_reseller, S.sent_to_customer, S.delegated_admin_requested)
ACCEPTED = (S.accepted, S.delegated_admin_granted)
LIMITS = {"requests": 10, "open": 15, "accepted": 5, "decisions": 5}
RECENT = timedelta(days=14)
VIEWER_TTL = timedelta(days=30)
VIEWER_REMEMBERED = timedelta(days=1)  # opened_at is rewritten at most this often


@dataclass
class HomeData:
    org: OrgView | None = None
    requests: list[InvitationView] = field(default_factory=list)
    waiting: list[InvitationView] = field(default_factory=list)  # a reseller's own requests
    open: list[InvitationView] = field(default_factory=list)
    accepted: list[InvitationView] = field(default_factory=list)
    decisions: list[Any] = field(default_factory=list)
    more: set[str] = field(default_factory=set)  # the lists with more than they show
    # Distributed mode: partner organizations (its resellers, its providers) whose workspace
    # has no installation of the app (never installed, uninstalled, token revoked).
    unreachable: list[str] = field(default_factory=list)  # their names
    partners: list[tuple[str, str]] = field(default_factory=list)  # (name, team id)
    # A workspace not in the directory: may this viewer set up its organization, and who
    # installed the app there (bot/core/onboarding.py)
    setup: SetupAccess | None = None
    admin: bool = False  # the viewer is a directory admin of the organization
    # For admins: the organization's Partner Center connection (connected, expired,
    # environment, not connected) and why it expired
    pc: str | None = None
    pc_reason: str | None = None
    waiting_for: list[str] = field(default_factory=list)  # providers yet to approve a reseller
    # A directory admin's view of its organization (bot/core/org_admin.py)
    directory: AdminView | None = None
    team: str = ""  # the viewer's workspace


def _newest(session: Session, org: Organization, states: tuple[S, ...], limit: int) -> Any:
    return visible_invitations(session, org, states=states, limit=limit + 1)


def _recently_accepted(org: Organization, since: datetime) -> Any:
    """The ids of `org`'s invitations accepted since `since` (and still accepted or granted),
    for the (organization, accepted_at, id, state) index to serve in its order.

    The state is on an expression the (organization, state) indexes do not serve (a PostgreSQL
    without statistics otherwise picked one and read every accepted invitation of the
    organization), and is written as "none of the other states": the planner has no statistics
    on an expression and assumes each `<>` keeps almost every row, so it expects the first
    entries of the range to be the ones shown and walks the index backwards, stopping at the
    sixth. Written as `IN (accepted, granted)` it assumed 1 % kept, read every acceptance of
    the period and sorted them (a bitmap scan: 271 rows on a busy test organization)."""
    others = [state for state in S if state not in ACCEPTED]
    return select(Invitation.id).where(
        visibility_clause(org),
        Invitation.accepted_at >= since,
        ~unindexed_state(others),
    )


def load_home(services: Services, session: Session, user_id: str, team_id: str) -> HomeData:
    """What the user's Home tab shows. Reads only (see `remember_viewer`)."""
    now = services.clock()
    data = HomeData(
        decisions=recent_decisions(session, user_id, limit=LIMITS["decisions"]), team=team_id
    )
    found_org = org_and_admin(session, team_id, user_id)  # one statement for both
    if found_org is None:
        return data
    org, data.admin = found_org
    if data.admin:
        status, data.pc_reason = statuses(session, [org.id]).get(org.id, (None, None))
        legacy = services.partner_center is not None and org.id == self_org_id(
            session, services.notify.partner_org_key
        )
        data.pc = connection_label(status, legacy=legacy)
    requested = _newest(session, org, (S.requested,), LIMITS["requests"])
    opened = _newest(session, org, OPEN, LIMITS["open"])
    newest_first = (Invitation.accepted_at.desc(), Invitation.id.desc())
    # The ids first (the newest entries of one index range), then only those rows: ordering
    # the rows themselves let PostgreSQL read every acceptance of the period and sort them.
    accepted_ids = (
        _recently_accepted(org, now - RECENT).order_by(*newest_first).limit(LIMITS["accepted"] + 1)
    )
    accepted = list(
        session.scalars(
            select(Invitation).where(Invitation.id.in_(accepted_ids)).order_by(*newest_first)
        )
    )
    found = [*requested, *opened, *accepted]
    orgs = org_views(session, [org, *(o for i in found for o in (i.provider, i.reseller) if o)])
    data.org = orgs[org.id]
    if org.role is Role.indirect_reseller:
        data.waiting_for = pending_providers(session, org)
    if data.admin:
        data.directory = admin_view(session, org)
    views = [InvitationView.of(i, orgs) for i in found]
    n_req, n_open = len(requested), len(opened)
    requested_views, open_views = views[:n_req], views[n_req : n_req + n_open]
    accepted_views = views[n_req + n_open :]
    if org.role is Role.indirect_reseller:
        data.waiting = requested_views[: LIMITS["requests"]]
    else:
        data.requests = requested_views[: LIMITS["requests"]]
    data.open = open_views[: LIMITS["open"]]
    data.accepted = accepted_views[: LIMITS["accepted"]]
    # Each list read one row more than it shows: that row says there is more (not how many).
    for name, read in (("requests", n_req), ("open", n_open), ("accepted", len(accepted))):
        if read > LIMITS[name] and (name != "requests" or org.role is not Role.indirect_reseller):
            data.more.add(name)
    if services.tokens is not None and services.tokens.distributed:
        from bot.core.store.directory import providers_of, resellers_of

        ids = [o.id for o in (*resellers_of(session, org), *providers_of(session, org))]
        rows = session.execute(  # one query: each partner's name and the workspace that
            # reaches it: the host of its shared notification channel, else its (first) own
            select(
                Organization.name,
                Organization.notification_channel_team,
                func.min(OrganizationTeam.team_id),
            )
            .join(OrganizationTeam, OrganizationTeam.org_id == Organization.id)
            .where(Organization.id.in_(ids))
            .group_by(Organization.id, Organization.name, Organization.notification_channel_team)
            .order_by(Organization.name)
            .limit(50)
        )
        data.partners = [(name, host or team) for name, host, team in rows]
    return data


def remember_viewer(session: Session, user_id: str, team_id: str, now: datetime) -> bool:
    """Remember that the user opened the Home tab (so it is republished when what it shows
    changes). Writes only when the user is new, moved team, or was remembered more than
    VIEWER_REMEMBERED ago; returns whether it wrote."""
    row = session.execute(
        select(HomeViewer.team_id, HomeViewer.opened_at).where(HomeViewer.user_id == user_id)
    ).first()
    if row is not None and row.team_id == team_id and row.opened_at > now - VIEWER_REMEMBERED:
        return False
    session.merge(HomeViewer(user_id=user_id, team_id=team_id, opened_at=now))
    return True


async def publish_home(
    services: Services,
    client: AsyncWebClient,
    user_id: str,
    team_id: str,
    *,
    opened: bool = True,
) -> None:
    """Publish the user's Home tab. `opened`: the user opened it (remember them as a viewer);
    False for a refresh."""
    if opened:
        now = services.clock()
        await services.run(lambda s: remember_viewer(s, user_id, team_id, now))
    lang = await services.language.for_user(client, user_id, team_id)
    data = await services.run(lambda s: load_home(services, s, user_id, team_id))
    if data.org is None:
        data.setup = await setup_access(services, client, team_id, user_id)
    for name, partner_team in data.partners:  # look-ups cached (bot/core/installations.py)
        try:
            await workspace_client(services.tokens, client, partner_team)
        except NotInstalled:
            data.unreachable.append(name)
    await client.views_publish(user_id=user_id, view=surfaces.home_view(lang=lang, home=data))


def _viewers(session: Session, orgs: Collection[int], since: datetime) -> list[tuple[str, str]]:
    rows = session.execute(
        select(HomeViewer.user_id, HomeViewer.team_id)
        .join(OrganizationTeam, OrganizationTeam.team_id == HomeViewer.team_id)
        .where(OrganizationTeam.org_id.in_(sorted(orgs)), HomeViewer.opened_at >= since)
        .order_by(HomeViewer.user_id)
    )
    return [(u, t) for u, t in rows]


async def republish(services: Services, client: AsyncWebClient, orgs: Collection[int]) -> int:
    """Republish now the Home tab of everyone who opened it in one of `orgs`; how many."""
    since = services.clock() - VIEWER_TTL
    viewers = await services.run(lambda s: _viewers(s, orgs, since))
    for user_id, team_id in viewers:
        try:
            # each viewer's Home tab with its own workspace's token (distributed mode)
            own = await workspace_client(services.tokens, client, team_id)
            await publish_home(services, own, user_id, team_id, opened=False)
        except NotInstalled:
            log.info(
                "Home tab of %s not refreshed: the app is not installed in %s", user_id, team_id
            )
        except SlackApiError as exc:
            log.warning(
                "could not refresh the Home tab of %s: %s", user_id, exc.response.get("error")
            )
    return len(viewers)


class HomeRefresher:
    """Coalesces Home refreshes: the organizations asked for within `delay` seconds are
    republished together, each viewer once. While a republish runs, new requests wait for the
    next one (at least `delay` later), so a viewer's Home is published at most once per
    `delay` seconds however many changes happen."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._pending: dict[int, tuple[AsyncWebClient, set[int]]] = {}
        self._scheduled = False

    def request(self, client: AsyncWebClient, orgs: Collection[int]) -> None:
        entry = self._pending.setdefault(id(client), (client, set()))
        entry[1].update(orgs)
        if not self._scheduled:
            self._scheduled = True
            self._services.spawn(self._run(), what="Home tab refresh")

    async def _run(self) -> None:
        try:
            while True:
                await asyncio.sleep(self._services.home_refresh_delay)
                pending, self._pending = self._pending, {}
                for client, orgs in pending.values():
                    await republish(self._services, client, orgs)
                if not self._pending:
                    return
        finally:
            self._scheduled = False


def refresher(services: Services) -> HomeRefresher:
    if services.home_refresher is None:
        services.home_refresher = HomeRefresher(services)
    return services.home_refresher  # type: ignore[no-any-return]


async def refresh_homes(services: Services, client: AsyncWebClient, view: InvitationView) -> None:
    """Republish (coalesced, within `Services.home_refresh_delay`) the Home tab of everyone who
    opened it and can see `view`."""
    orgs = [view.provider.id] + ([view.reseller.id] if view.reseller else [])
    refresher(services).request(client, orgs)
