"""Invitations in Slack: create, request, forward, cancel — and keep every copy of an
invitation's message up to date. The service between the listeners and the store.

Each invitation has one message per side (the provider's, the reseller's), updated in place with
chat.update at every change. Storage runs in a worker thread (Services.run); Slack calls here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Literal

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.orm import Session

from bot.core.connections import clients_of
from bot.core.editions import invitation_delegated_admin
from bot.core.installations import NotInstalled, workspace_client
from bot.core.partner_center.errors import ConnectionExpired
from bot.core.services import Services
from bot.core.snapshots import InvitationView, OrgView, views_of
from bot.core.store import invitations as store
from bot.core.store.directory import is_provider_of, org_by_key, org_for_team, providers_of
from bot.core.store.errors import StoreError
from bot.core.store.lifecycle import InvitationState
from bot.core.store.lookup import get_invitation
from bot.core.store.messages import record_message
from bot.core.store.models import Invitation, LinkSource, MessagePurpose, Organization
from bot.core.ui import surfaces
from policy.links import indirect_reseller_link, reseller_relationship_link

log = logging.getLogger(__name__)

Action = Literal["fulfil", "decline", "send_to_reseller", "sent_to_customer", "cancel"]
_ACTION_STATE: dict[str, InvitationState] = {
    "decline": InvitationState.declined,
    "send_to_reseller": InvitationState.sent_to_reseller,
    "sent_to_customer": InvitationState.sent_to_customer,
    "cancel": InvitationState.cancelled,
}


class InvitationProblem(Exception):
    """Something the user can fix or should know; `code` selects the notice template."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


# ------------------------------------------------------------------------------ links
async def build_link(
    services: Services, provider: OrgView, reseller: OrgView | None, delegated_admin: bool
) -> tuple[str, LinkSource]:
    """Partner Center's own link through the provider's own connection (direct relationship);
    otherwise (no usable connection), and for an indirect reseller's link, the documented
    format."""
    clients = await clients_of(services, provider.id) if reseller is None else None
    client = clients.partner_center if clients is not None else None
    if client is not None:
        try:
            return await client.relationship_request_url(), LinkSource.api
        except ConnectionExpired:
            pass  # marked expired (the admins are told): the documented format meanwhile
    if reseller is None:
        link = reseller_relationship_link(provider.tenant_id, delegated_admin=delegated_admin)
    else:
        if not reseller.partner_id:
            raise InvitationProblem("reseller_without_partner_id", reseller=reseller.name)
        link = indirect_reseller_link(
            reseller.tenant_id,
            reseller.partner_id,
            provider.tenant_id,
            delegated_admin=delegated_admin,
        )
    return link, LinkSource.documented_format


async def _delegated_admin(services: Services, team_id: str, asked: bool) -> bool:
    """Whether an invitation made from `team_id` asks for delegated admin (DAP=true): only
    when asked and the workspace's edition in force still has DAP in invitations."""
    if not asked:
        return False
    edition = await services.editions.for_team(team_id)
    return invitation_delegated_admin(edition.name, asked)


# ------------------------------------------------------------------------------ posting
async def _post(client: AsyncWebClient, channel: str, message: dict[str, Any]) -> str:
    result = await client.chat_postMessage(
        channel=channel, text=message["text"], blocks=message["blocks"], unfurl_links=False
    )
    return str(result["ts"])


async def _post_somewhere(
    services: Services,
    client: AsyncWebClient,
    org: OrgView,
    message: dict[str, Any],
    channels: list[str | None],
    user: str | None,
) -> tuple[str, str]:
    """Post `org`'s copy to the first channel that takes it, each with the token of the
    workspace that reaches it (`OrgView.team_for`: a Slack Connect channel another workspace
    hosts goes out with that workspace's token), else DM `user` in `org`'s own workspace.
    Returns (channel, ts)."""
    for channel in channels:
        if not channel or channel.startswith("D"):
            continue
        try:
            channel_client = await client_for(services, client, org.team_for(channel))
            return channel, await _post(channel_client, channel, message)
        except NotInstalled as missing:
            log.info("cannot post in %s (%s), trying the next place", channel, missing)
        except SlackApiError as exc:
            log.info(
                "cannot post in %s (%s), trying the next place", channel, exc.response.get("error")
            )
    if not user:
        raise InvitationProblem("nowhere_to_post")
    own = await client_for(services, client, org.team_id)
    dm = await own.conversations_open(users=user)
    channel = dm["channel"]["id"]
    return channel, await _post(own, channel, message)


async def client_for(
    services: Services, client: AsyncWebClient, team_id: str | None
) -> AsyncWebClient:
    """`client`, or one with the token of workspace `team_id` (bot/core/installations.py)."""
    return await workspace_client(services.tokens, client, team_id)


def _side_org(view: InvitationView, side: MessagePurpose) -> OrgView:
    return view.reseller if side is MessagePurpose.reseller and view.reseller else view.provider


def _side_lang(view: InvitationView, side: MessagePurpose) -> str:
    """Channel messages speak their workspace's default language."""
    org = view.reseller if side is MessagePurpose.reseller and view.reseller else view.provider
    return org.lang


def refresh_homes_later(services: Services, client: AsyncWebClient, view: InvitationView) -> None:
    """Republish the Home tabs that show this invitation, after the answer to the user."""
    from bot.core.home import refresh_homes

    services.spawn(refresh_homes(services, client, view), what=f"Home tabs for {view.ref}")


async def refresh_messages(
    client: AsyncWebClient,
    view: InvitationView,
    *,
    skip: set[tuple[str, str]] | None = None,
    services: Services | None = None,
) -> list[tuple[str, str]]:
    """Update every message showing the invitation in place (but those in `skip`, posted with
    the current content), each with the token of its side's workspace when `services` knows
    the tokens. Returns the copies that could not be updated: (organization, why)."""
    failed: list[tuple[str, str]] = []
    for loc in view.locations:
        if skip and (loc.channel, loc.ts) in skip:
            continue
        org = _side_org(view, loc.purpose)
        team = org.team_for(loc.channel)
        message = surfaces.invitation_message(
            view, side=loc.purpose.value, lang=_side_lang(view, loc.purpose)
        )
        try:
            side = client if services is None else await client_for(services, client, team)
            await side.chat_update(
                channel=loc.channel, ts=loc.ts, text=message["text"], blocks=message["blocks"]
            )
        except NotInstalled:
            failed.append((org.name, "not_installed"))
            log.warning(
                "invitation %s: its copy for %s cannot be updated: the app is not installed in "
                "workspace %s",
                view.ref,
                org.key,
                team,
            )
        except SlackApiError as exc:
            failed.append((org.name, str(exc.response.get("error") or "error")))
            log.warning(
                "invitation %s: could not update its message in %s: %s",
                view.ref,
                loc.channel,
                exc.response.get("error"),
            )
    return failed


async def _show(
    services: Services,
    client: AsyncWebClient,
    view: InvitationView,
    side: MessagePurpose,
    channels: list[str | None],
    user: str | None,
) -> InvitationView:
    """Post the invitation's message for `side` (or update it if it exists) and record it.

    Callers that move the invitation afterwards refresh every copy once (`refresh_messages`);
    an existing copy is left to that refresh, so that each click updates each copy once."""
    if any(loc.purpose is side for loc in view.locations):
        return view
    message = surfaces.invitation_message(view, side=side.value, lang=_side_lang(view, side))
    channel, ts = await _post_somewhere(
        services, client, _side_org(view, side), message, channels, user
    )

    def record(session: Session) -> InvitationView:
        record_message(session, view.id, channel, ts, side)
        return InvitationView.of(get_invitation(session, view.id))

    return await services.run(record)


# ------------------------------------------------------------------------------ flows
async def create(
    services: Services,
    client: AsyncWebClient,
    *,
    team_id: str,
    user_id: str,
    customer: str,
    customer_domain: str | None,
    customer_tenant_id: str | None,
    reseller_key: str | None,
    delegated_admin: bool,
    decision_id: str | None,
    origin_channel: str | None,
) -> InvitationView:
    """A direct partner or indirect provider creates an invitation (optionally for a reseller).
    Under its workspace's edition in force, delegated admin is asked in the link only where
    invitations still carry it (never under 2026-11: GDAP is a separate step)."""
    delegated_admin = await _delegated_admin(services, team_id, delegated_admin)

    def load(session: Session) -> tuple[OrgView, OrgView | None]:
        org = _org_or_problem(session, team_id)
        reseller = None
        if reseller_key:
            found = org_by_key(session, reseller_key)
            if found is None or not is_provider_of(session, org, found):
                raise InvitationProblem("not_your_reseller", reseller=reseller_key)
            reseller = OrgView.of(found)
        return OrgView.of(org), reseller

    provider, reseller = await services.run(load)
    link, source = await build_link(services, provider, reseller, delegated_admin)

    def save(session: Session) -> InvitationView:
        org = _org_or_problem(session, team_id)
        inv = store.create_invitation(
            session,
            provider=org,
            customer_name=customer,
            link=link,
            link_source=source,
            created_by_user=user_id,
            created_by_team=team_id,
            reseller=org_by_key(session, reseller.key) if reseller else None,
            customer_domain=customer_domain,
            customer_tenant_id=customer_tenant_id,
            delegated_admin=delegated_admin,
            decision_id=decision_id,
            expires_in=services.invitation_expiry,
            clock=services.clock,
        )
        return InvitationView.of(inv)

    view = await services.run(save)
    view = await _show(
        services,
        client,
        view,
        MessagePurpose.provider,
        [origin_channel, provider.notification_channel],
        user_id,
    )
    refresh_homes_later(services, client, view)
    return view


async def request(
    services: Services,
    client: AsyncWebClient,
    *,
    team_id: str,
    user_id: str,
    provider_key: str,
    customer: str,
    customer_domain: str | None,
    delegated_admin: bool,
    decision_id: str | None,
    origin_channel: str | None,
) -> InvitationView:
    """An indirect reseller asks its provider: the request appears in the provider's channel
    (Create invitation / Decline) and, for the reseller, where it asked."""
    delegated_admin = await _delegated_admin(services, team_id, delegated_admin)

    def save(session: Session) -> InvitationView:
        reseller = _org_or_problem(session, team_id)
        provider = org_by_key(session, provider_key)
        if provider is None:
            raise InvitationProblem("not_your_provider", provider=provider_key)
        if not provider.notification_channel:
            raise InvitationProblem("provider_without_channel", provider=provider.name)
        inv = store.request_invitation(
            session,
            reseller=reseller,
            provider=provider,
            customer_name=customer,
            requested_by_user=user_id,
            requested_by_team=team_id,
            customer_domain=customer_domain,
            delegated_admin=delegated_admin,
            decision_id=decision_id,
            clock=services.clock,
        )
        return InvitationView.of(inv)

    view = await services.run(save)
    reseller = view.reseller
    assert reseller is not None
    view = await _show(
        services, client, view, MessagePurpose.provider, [view.provider.notification_channel], None
    )
    view = await _show(
        services,
        client,
        view,
        MessagePurpose.reseller,
        [origin_channel, reseller.notification_channel],
        user_id,
    )
    refresh_homes_later(services, client, view)
    return view


async def act(
    services: Services,
    client: AsyncWebClient,
    *,
    action: Action,
    invitation_id: int,
    version: int,
    team_id: str,
    user_id: str,
) -> InvitationView:
    """A button on an invitation message. Raises StoreError (conflict, not allowed...) or
    InvitationProblem for the listener to word; on success every copy is updated."""

    def load(session: Session) -> tuple[OrgView, InvitationView]:
        org = _org_or_problem(session, team_id)
        return OrgView.of(org), InvitationView.of(get_invitation(session, invitation_id, org))

    actor, current = await services.run(load)
    link: tuple[str, LinkSource] | None = None
    asked = current.delegated_admin
    if action == "fulfil":  # the provider's edition in force decides whether DAP is asked
        asked = await _delegated_admin(services, team_id, current.delegated_admin)
        link = await build_link(services, current.provider, current.reseller, asked)

    def move(session: Session) -> InvitationView:
        org = _org_or_problem(session, team_id)
        if action == "fulfil":
            assert link is not None
            store.fulfil_request(
                session,
                invitation_id,
                provider=org,
                link=link[0],
                link_source=link[1],
                created_by_user=user_id,
                created_by_team=team_id,
                expected_version=version,
                expires_in=services.invitation_expiry,
                clock=services.clock,
                delegated_admin=asked if asked != current.delegated_admin else None,
            )
            # delivered to the reseller in the same step
            inv = store.transition(
                session,
                invitation_id,
                InvitationState.sent_to_reseller,
                actor_user=user_id,
                actor_team=team_id,
                expected_version=version + 1,
                actor_org=org,
                detail={"to": "reseller"},
                clock=services.clock,
            )
        else:
            detail = {"to": "reseller"} if action == "send_to_reseller" else None
            if action == "sent_to_customer":
                detail = {"to": "customer"}
            inv = store.transition(
                session,
                invitation_id,
                _ACTION_STATE[action],
                actor_user=user_id,
                actor_team=team_id,
                expected_version=version,
                actor_org=org,
                detail=detail,
                clock=services.clock,
            )
        return InvitationView.of(inv)

    if action == "send_to_reseller" and (current.reseller is None):
        raise InvitationProblem("no_reseller")
    posted: set[tuple[str, str]] = set()
    early: tuple[str, str] | None = None
    reseller = current.reseller
    if action in ("fulfil", "send_to_reseller") and reseller is not None:
        # Its copy must reach the reseller before the invitation says it was sent to it.
        try:
            reseller_client = await client_for(
                services, client, reseller.team_for(reseller.notification_channel)
            )
        except NotInstalled:
            raise InvitationProblem(
                "copy_not_delivered",
                org=reseller.name,
                why="not_installed",
                state=current.state.value,
            ) from None
        has_copy = any(loc.purpose is MessagePurpose.reseller for loc in current.locations)
        if action == "send_to_reseller" and not has_copy:
            early = await _post_reseller_copy_first(
                services, reseller_client, current, version, reseller
            )
    view = await services.run(move)
    if early is not None:
        record = early

        def remember(session: Session) -> InvitationView:
            record_message(session, view.id, record[0], record[1], MessagePurpose.reseller)
            return InvitationView.of(get_invitation(session, view.id))

        view = await services.run(remember)
        posted.add(early)
    elif action in ("fulfil", "send_to_reseller") and view.reseller is not None:
        before = {(loc.channel, loc.ts) for loc in view.locations}
        view = await _show(
            services,
            client,
            view,
            MessagePurpose.reseller,
            [view.reseller.notification_channel],
            view.requested_by_user,
        )
        posted = {(loc.channel, loc.ts) for loc in view.locations} - before
    failed = await refresh_messages(client, view, skip=posted, services=services)
    refresh_homes_later(services, client, view)
    if failed:
        org, why = failed[0]
        raise InvitationProblem(
            "copy_not_updated", org=org, why=why, state=view.state.value, moved=True
        )
    log.info("invitation %s: %s by %s (%s) → %s", view.ref, action, user_id, actor.key, view.state)
    return view


async def _post_reseller_copy_first(
    services: Services,
    reseller_client: AsyncWebClient,
    current: InvitationView,
    version: int,
    reseller: OrgView,
) -> tuple[str, str]:
    """Post the reseller's copy as it will read once sent (state, version), before the move;
    a copy Slack refuses stops the move. Returns (channel, ts)."""
    after = replace(
        current,
        state=InvitationState.sent_to_reseller,
        version=version + 1,
        updated_at=services.clock(),
    )
    message = surfaces.invitation_message(
        after, side=MessagePurpose.reseller.value, lang=reseller.lang
    )
    channel = reseller.notification_channel
    if not channel:
        raise InvitationProblem(
            "copy_not_delivered", org=reseller.name, why="no_channel", state=current.state.value
        )
    try:
        return channel, await _post(reseller_client, channel, message)
    except SlackApiError as exc:
        raise InvitationProblem(
            "copy_not_delivered",
            org=reseller.name,
            why=str(exc.response.get("error") or "error"),
            state=current.state.value,
        ) from None


async def expire(services: Services, client: AsyncWebClient) -> int:
    """Expire invitations past their date and update their messages. Returns how many."""

    def run(session: Session) -> list[InvitationView]:
        return views_of(session, store.expire_due(session, services.clock()))

    expired = await services.run(run)
    for view in expired:
        await refresh_messages(client, view, services=services)
        refresh_homes_later(services, client, view)
    return len(expired)


def _own(org: Organization, views: list[InvitationView]) -> OrgView:
    """`org`'s snapshot among the invitations' (taken with them, no more statements)."""
    for view in views:
        for side in (view.provider, view.reseller):
            if side is not None and side.id == org.id:
                return side
    return OrgView.of(org)


def _org_or_problem(session: Session, team_id: str) -> Organization:
    org = org_for_team(session, team_id)
    if org is None:
        raise InvitationProblem("not_in_directory", team=team_id)
    return org


async def providers_for(services: Services, team_id: str) -> list[OrgView]:
    def load(session: Session) -> list[OrgView]:
        org = _org_or_problem(session, team_id)
        return [OrgView.of(p) for p in providers_of(session, org)]

    return await services.run(load)


@dataclass(frozen=True)
class Who:
    """The requester's organization and its neighbours in the directory."""

    org: OrgView
    providers: list[OrgView]
    resellers: list[OrgView]


async def whoami(services: Services, team_id: str | None) -> Who | None:
    from bot.core.store.directory import resellers_of

    if not team_id:
        return None

    def load(session: Session) -> Who | None:
        org = org_for_team(session, team_id)
        if org is None:
            return None
        return Who(
            OrgView.of(org),
            [OrgView.of(p) for p in providers_of(session, org)],
            [OrgView.of(r) for r in resellers_of(session, org)],
        )

    return await services.run(load)


async def status(
    services: Services, team_id: str, customer: str | None, limit: int = 41
) -> tuple[OrgView, list[InvitationView]]:
    from bot.core.store.access import visible_invitations

    def load(session: Session) -> tuple[OrgView, list[InvitationView]]:
        org = _org_or_problem(session, team_id)
        found = visible_invitations(session, org, customer=customer, limit=limit)
        views = views_of(session, found, orgs=[org])
        return _own(org, views), views

    return await services.run(load)


async def admin_overview(services: Services, team_id: str, user_id: str) -> dict[str, Any]:
    """What `/multichannel admin` shows; InvitationProblem("admins_only") for non-admins."""
    from sqlalchemy import func, select

    from bot.core.store.directory import is_admin, resellers_of
    from bot.core.store.models import OrganizationAdmin, OrganizationTeam

    def load(session: Session) -> dict[str, Any]:
        org = _org_or_problem(session, team_id)
        admins = list(
            session.scalars(
                select(OrganizationAdmin.user_id).where(OrganizationAdmin.org_id == org.id)
            )
        )
        if not is_admin(session, org, user_id):
            raise InvitationProblem(
                "admins_only", admins=", ".join(f"<@{a}>" for a in admins) or "—"
            )
        counts = dict(
            session.execute(
                select(Invitation.state, func.count())
                .where(Invitation.provider_org_id == org.id)
                .group_by(Invitation.state)
            ).all()
        )
        return {
            "org": OrgView.of(org),
            "teams": list(
                session.scalars(
                    select(OrganizationTeam.team_id).where(OrganizationTeam.org_id == org.id)
                )
            ),
            "admins": admins,
            "providers": [OrgView.of(p) for p in providers_of(session, org)],
            "resellers": [OrgView.of(r) for r in resellers_of(session, org)],
            "counts": {str(k.value if hasattr(k, "value") else k): v for k, v in counts.items()},
        }

    return await services.run(load)


async def maintenance_loop(services: Services, client: AsyncWebClient, interval: float) -> None:
    """Expire old invitations (and forget old modals) every `interval` seconds, for as long as
    the server runs."""
    import asyncio

    from bot.core.modals import prune

    while True:
        try:
            count = await expire(services, client)
            if count:
                log.info("expired %d invitation(s)", count)
            await services.run(partial(prune, now=services.clock()))
        except (SlackApiError, OSError, StoreError) as exc:
            log.warning("invitation maintenance failed, will retry: %s", exc)
        await asyncio.sleep(interval)


class Maintenance:
    """A lifespan job for `mcbot serve`: runs `maintenance_loop` until shutdown."""

    def __init__(self, services: Services, client: AsyncWebClient, interval: float) -> None:
        self._args = (services, client, interval)
        self._task: Any = None

    async def start(self) -> None:
        import asyncio

        self._task = asyncio.get_running_loop().create_task(maintenance_loop(*self._args))

    async def stop(self) -> None:
        import asyncio
        import contextlib

        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
