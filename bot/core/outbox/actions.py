"""What people do with notifications: link an unmatched acceptance to an invitation, and ask
for delegated admin for the reseller (GDAP) after an acceptance. Each change and its
notifications commit together; the outbox worker sends them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from bot.core.invitations import InvitationProblem
from bot.core.language import team_language
from bot.core.outbox.inbox import self_org_id
from bot.core.outbox.notify import change_effects, event_snapshot
from bot.core.outbox.queue import Effect, enqueue
from bot.core.partner_center.errors import InvalidRequest, PartnerCenterError
from bot.core.partner_center.graph import approval_url
from bot.core.services import Services
from bot.core.snapshots import InvitationView, OrgView
from bot.core.store.clock import utc_now
from bot.core.store.directory import org_for_team
from bot.core.store.errors import ConflictError, NotAllowedError, TransitionError
from bot.core.store.invitations import transition
from bot.core.store.lifecycle import InvitationState
from bot.core.store.lookup import get_invitation
from bot.core.store.models import InboxEvent, Invitation, Organization, OutboxEffect
from bot.core.ui.metadata import LinkChoice
from bot.core.ui.surfaces import unmatched_message

log = logging.getLogger(__name__)
S = InvitationState


def _org(session: Session, team_id: str) -> Organization:
    org = org_for_team(session, team_id)
    if org is None:
        raise InvitationProblem("not_in_directory", team=team_id)
    return org


async def link_acceptance(
    services: Services,
    choice: LinkChoice,
    *,
    team_id: str,
    user_id: str,
    channel: str | None,
    message_ts: str | None,
) -> InvitationView:
    """Mark the chosen invitation accepted for the event's customer (audited, by the user),
    queue its notifications and turn the select message into "linked"."""

    def work(session: Session) -> InvitationView:
        org = _org(session, team_id)
        event = session.get(InboxEvent, choice.e)
        if event is None:
            raise InvitationProblem("link_stale")
        # The event was offered to one organization (plan_event: the partner this deployment
        # runs for); only its people may link it, whatever invitation they choose.
        if org.id != self_org_id(session, services.notify.partner_org_key):
            raise InvitationProblem("link_not_yours")
        claimed = cast(
            CursorResult[Any],
            session.execute(
                update(InboxEvent)
                .where(InboxEvent.id == event.id, InboxEvent.outcome == "unmatched")
                .values(outcome="linked", invitation_id=choice.i)
                .execution_options(synchronize_session=False)
            ),
        )
        if claimed.rowcount != 1:
            linked = session.get(Invitation, event.invitation_id) if event.invitation_id else None
            raise InvitationProblem("already_linked", ref=linked.ref if linked else "?")
        invitation = transition(
            session,
            choice.i,
            S.accepted,
            actor_user=user_id,
            actor_team=team_id,
            expected_version=None,
            actor_org=org,
            detail={"event": event.event_name, "webhook_event": event.id, "matched_by": "linked"},
            customer_tenant_id=event.customer_id,
            clock=services.clock,
        )
        now = utc_now()
        view = InvitationView.of(invitation)
        effects = change_effects(
            session,
            view,
            "accepted",
            event_id=event.id,
            event_name=event.event_name,
            linked_by=user_id,
        )
        if channel and message_ts:
            done = {"ref": invitation.ref, "user": user_id}
            lang = team_language(session, [team.team_id for team in org.teams])
            message = unmatched_message(
                event=event_snapshot(event), options=[], linked=done, lang=lang
            )
            payload = {"message": {"text": message["text"], "blocks": message["blocks"]}}
            effect = Effect(
                f"evt{event.id}.linked",
                OutboxEffect.update,
                channel,
                payload,
                event_id=event.id,
                ts=message_ts,
                team_id=min((team.team_id for team in org.teams), default=None),
            )
            effects.append(effect)
        enqueue(session, effects, now=now)
        return view

    view = await services.run(work)
    services.outbox_wakeup.set()
    log.info("event %s linked to invitation %s by %s", choice.e, view.ref, user_id)
    return view


@dataclass(frozen=True)
class GdapRequest:
    """What happened: `requested` through Microsoft Graph (with the approval link), or not
    (Graph is not configured: the user gets the instructions)."""

    view: InvitationView
    requested: bool
    approval_url: str | None = None


async def request_delegated_admin(
    services: Services,
    *,
    invitation_id: int,
    version: int,
    team_id: str,
    user_id: str,
) -> GdapRequest:
    """The provider asks the customer to grant delegated admin to the reseller: through
    Microsoft Graph when configured; otherwise nothing changes yet (`requested` False) and the
    provider creates the relationship in Partner Center, then records its id
    (`record_delegated_admin`)."""
    view = await _gdap_candidate(services, invitation_id, version, team_id)
    graph = services.graph
    if graph is None:
        return GdapRequest(view, requested=False)
    assert view.reseller is not None
    options = services.notify
    try:
        relationship = await graph.create_relationship(
            f"{view.ref} {view.reseller.name}"[:50],
            view.customer_tenant_id,
            options.gdap_role_ids,
            options.gdap_duration,
        )
        await graph.lock_for_approval(relationship.id)
    except (PartnerCenterError, InvalidRequest) as exc:
        raise InvitationProblem("gdap_error", reason=str(exc)[:300]) from exc
    try:
        return await _requested(services, view, version, team_id, user_id, relationship.id)
    except Exception:
        log.error("GDAP relationship %s created but not recorded on %s", relationship.id, view.ref)
        raise


async def record_delegated_admin(
    services: Services,
    *,
    invitation_id: int,
    version: int,
    team_id: str,
    user_id: str,
    relationship_id: str,
) -> GdapRequest:
    """The provider created the GDAP relationship in Partner Center by hand (no Graph here) and
    gives its id: recorded on the invitation, so the approval link goes to the thread and the
    approval webhook (`granular-admin-relationship-approved`) finds the invitation. A malformed
    id raises InvalidRequest."""
    relationship_id = relationship_id.strip()
    approval_url(relationship_id)  # validates (InvalidRequest) before anything is read
    view = await _gdap_candidate(services, invitation_id, version, team_id)
    return await _requested(services, view, version, team_id, user_id, relationship_id)


async def _gdap_candidate(
    services: Services, invitation_id: int, version: int, team_id: str
) -> InvitationView:
    """The invitation, if delegated admin may be requested for it now by this team."""

    def load(session: Session) -> tuple[OrgView, InvitationView]:
        org = _org(session, team_id)
        return OrgView.of(org), InvitationView.of(get_invitation(session, invitation_id, org))

    actor, view = await services.run(load)
    if view.reseller is None:
        raise InvitationProblem("no_reseller")
    if actor.id != view.provider.id:
        raise NotAllowedError(f"{actor.key} is not the provider of {view.ref}")
    if view.state is not S.accepted:
        raise TransitionError(view.state.value, S.delegated_admin_requested.value)
    if view.version != version:
        raise ConflictError(
            view.id,
            expected_version=version,
            current_state=view.state.value,
            current_version=view.version,
        )
    return view


async def _requested(
    services: Services,
    view: InvitationView,
    version: int,
    team_id: str,
    user_id: str,
    relationship_id: str,
) -> GdapRequest:
    """Record the relationship on the invitation (delegated_admin_requested) and queue the
    notifications that carry its approval link."""
    url = approval_url(relationship_id)

    def save(session: Session) -> InvitationView:
        org = _org(session, team_id)
        invitation = transition(
            session,
            view.id,
            S.delegated_admin_requested,
            actor_user=user_id,
            actor_team=team_id,
            expected_version=version,
            actor_org=org,
            detail={"relationship": relationship_id, "approval_url": url},
            gdap_relationship_id=relationship_id,
            clock=services.clock,
        )
        saved = InvitationView.of(invitation)
        effects = change_effects(session, saved, "delegated_admin_requested", approval_url=url)
        enqueue(session, effects, now=utc_now())
        return saved

    saved = await services.run(save)
    services.outbox_wakeup.set()
    log.info(
        "invitation %s: GDAP relationship %s requested by %s", saved.ref, relationship_id, user_id
    )
    return GdapRequest(saved, requested=True, approval_url=url)
