"""What people do with notifications: link an unmatched acceptance to an invitation, and ask
for delegated admin (GDAP) after an acceptance, by the party the edition says
(bot/core/gdap.py). Each change and its notifications commit together; the outbox worker sends
them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from bot.core.connections import clients_of
from bot.core.gdap import GdapKind, partners_request_own_gdap
from bot.core.invitations import InvitationProblem
from bot.core.language import team_language
from bot.core.outbox.inbox import event_scope
from bot.core.outbox.notify import change_effects, event_snapshot
from bot.core.outbox.queue import Effect, enqueue
from bot.core.partner_center.errors import ConnectionExpired, InvalidRequest, PartnerCenterError
from bot.core.partner_center.graph import approval_url
from bot.core.services import Services
from bot.core.snapshots import InvitationView, OrgView, channel_team
from bot.core.store.clock import utc_now
from bot.core.store.directory import org_for_team
from bot.core.store.errors import ConflictError, NotAllowedError, TransitionError
from bot.core.store.invitations import GDAP_STATES, record_reseller_gdap, transition
from bot.core.store.lifecycle import InvitationState
from bot.core.store.lookup import get_invitation
from bot.core.store.models import InboxEvent, Invitation, Organization, OutboxEffect
from bot.core.ui.metadata import LinkChoice
from bot.core.ui.surfaces import NotificationChange, unmatched_message

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
        # The event was offered to one organization (plan_event: the one whose URL it reached;
        # before revision 0010, the partner this deployment runs for); only its people may
        # link it, whatever invitation they choose.
        if org.id != event_scope(session, event, services.notify.partner_org_key):
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
                team_id=channel_team(org, channel),
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
    """What a GDAP click did: `requested` (recorded, with the approval link for the customer),
    or not yet (`requested` False: this organization has no Microsoft Graph connection, so it
    creates the relationship in its own Partner Center and records its id). `kind` says whose
    relationship it is; `by` requested it, for `holder` (organization names)."""

    view: InvitationView
    requested: bool
    kind: GdapKind
    by: str
    holder: str
    approval_url: str | None = None


@dataclass(frozen=True)
class _Plan:
    view: InvitationView
    kind: GdapKind
    by: OrgView
    holder: OrgView


async def request_delegated_admin(
    services: Services,
    *,
    invitation_id: int,
    version: int,
    team_id: str,
    user_id: str,
) -> GdapRequest:
    """A partner asks for delegated admin (GDAP) on an accepted invitation, as the edition in
    force in its workspace says (bot/core/gdap.py): under 2026-11 for itself (provider or
    reseller), under 2017-03 the provider for its reseller. Through Microsoft Graph with the
    ACTING organization's own Partner Center connection (bot/core/connections.py: a reseller's
    for its own, the provider's for itself or its reseller); without a usable one nothing
    changes yet (`requested` False) and the partner creates the relationship in its own
    Partner Center, then records its id (`record_delegated_admin`)."""
    plan = await _plan(services, invitation_id, version, team_id)
    clients = await clients_of(services, plan.by.id)
    graph = clients.graph if clients is not None else None
    manual = GdapRequest(
        plan.view, requested=False, kind=plan.kind, by=plan.by.name, holder=plan.holder.name
    )
    if graph is None:
        return manual
    options = services.notify
    try:
        relationship = await graph.create_relationship(
            f"{plan.view.ref} {plan.holder.name}"[:50],
            plan.view.customer_tenant_id,
            options.gdap_role_ids,
            options.gdap_duration,
        )
        await graph.lock_for_approval(relationship.id)
    except ConnectionExpired:
        return manual  # marked expired (its admins are told): the manual form meanwhile
    except (PartnerCenterError, InvalidRequest) as exc:
        raise InvitationProblem("gdap_error", reason=str(exc)[:300]) from exc
    try:
        return await _requested(services, plan, version, team_id, user_id, relationship.id)
    except Exception:
        log.error(
            "GDAP relationship %s created but not recorded on %s", relationship.id, plan.view.ref
        )
        raise


async def record_delegated_admin(
    services: Services,
    *,
    invitation_id: int,
    version: int,
    team_id: str,
    user_id: str,
    relationship_id: str,
    kind: str | None = None,
) -> GdapRequest:
    """The partner created the GDAP relationship in its own Partner Center (no Graph for it
    here) and gives its id: recorded on the invitation (whose it is, too), so the approval link
    goes to the requester's channel and the approval webhook
    (`granular-admin-relationship-approved`) finds it. `kind`: what the form was opened for (a
    different answer now, e.g. the workspace's edition changed meanwhile, is refused as stale).
    A malformed id raises InvalidRequest."""
    relationship_id = relationship_id.strip()
    approval_url(relationship_id)  # validates (InvalidRequest) before anything is read
    plan = await _plan(services, invitation_id, version, team_id)
    if kind is not None and kind != plan.kind.value:
        raise InvitationProblem("gdap_stale")
    if relationship_id in (plan.view.gdap_relationship_id, plan.view.reseller_gdap_relationship_id):
        raise InvitationProblem("gdap_same_relationship", ref=plan.view.ref)
    return await _requested(services, plan, version, team_id, user_id, relationship_id)


async def _plan(services: Services, invitation_id: int, version: int, team_id: str) -> _Plan:
    """What a GDAP click by `team_id` may request on this invitation now, or why not. An
    organization that cannot see the invitation gets NotFoundError (a forged click); the
    reseller under 2017-03 is told its provider asks for it."""
    edition = await services.editions.for_team(team_id)
    own = partners_request_own_gdap(edition.name)

    def load(session: Session) -> tuple[OrgView, InvitationView]:
        org = _org(session, team_id)
        invitation = get_invitation(session, invitation_id, org)
        return OrgView.of(org), InvitationView.of(invitation)

    actor, view = await services.run(load)
    if actor.id == view.provider.id:
        if own:
            kind, holder = GdapKind.own, actor
        elif view.reseller is None:
            raise InvitationProblem("no_reseller")
        else:
            kind, holder = GdapKind.for_reseller, view.reseller
        if view.state is not S.accepted:
            raise TransitionError(view.state.value, S.delegated_admin_requested.value)
        if view.version != version:
            raise ConflictError(
                view.id,
                expected_version=version,
                current_state=view.state.value,
                current_version=view.version,
            )
        return _Plan(view, kind, actor, holder)
    if view.reseller is None or actor.id != view.reseller.id:
        raise NotAllowedError(f"{actor.key} is neither party of {view.ref}")
    if not own:
        raise InvitationProblem(
            "gdap_by_provider", provider=view.provider.name, edition=edition.name
        )
    if view.state not in GDAP_STATES:
        raise TransitionError(view.state.value, S.delegated_admin_requested.value)
    if view.reseller_gdap_relationship_id:
        raise InvitationProblem("gdap_recorded_already", ref=view.ref)
    # The reseller's own relationship does not move the invitation: its clicks carry no
    # version to match (the provider's moves must not make the reseller's button stale).
    return _Plan(view, GdapKind.reseller_own, actor, actor)


async def _requested(
    services: Services,
    plan: _Plan,
    version: int,
    team_id: str,
    user_id: str,
    relationship_id: str,
) -> GdapRequest:
    """Record the relationship on the invitation (the provider's moves it to
    delegated_admin_requested; the reseller's own is kept beside it) and queue the
    notifications that carry its approval link."""
    url = approval_url(relationship_id)
    kind = plan.kind
    default = services.policy_edition
    detail = {
        "relationship": relationship_id,
        "approval_url": url,
        "requested_by": plan.by.key,
        "requested_for": plan.holder.key,
    }

    def save(session: Session) -> InvitationView:
        org = _org(session, team_id)
        if kind is GdapKind.reseller_own:
            invitation = record_reseller_gdap(
                session,
                plan.view.id,
                relationship_id,
                actor_org=org,
                actor_user=user_id,
                actor_team=team_id,
                detail=detail,
                clock=services.clock,
            )
            change: NotificationChange = "reseller_gdap_requested"
        else:
            invitation = transition(
                session,
                plan.view.id,
                S.delegated_admin_requested,
                actor_user=user_id,
                actor_team=team_id,
                expected_version=version,
                actor_org=org,
                detail=detail,
                gdap_relationship_id=relationship_id,
                gdap_for=kind.gdap_for,
                clock=services.clock,
            )
            change = "delegated_admin_requested"
        saved = InvitationView.of(invitation)
        effects = change_effects(session, saved, change, approval_url=url, default_edition=default)
        enqueue(session, effects, now=utc_now())
        return saved

    try:
        saved = await services.run(save)
    except ConflictError as exc:
        if kind is GdapKind.reseller_own:  # recorded meanwhile (another click, another person)
            raise InvitationProblem("gdap_recorded_already", ref=plan.view.ref) from exc
        raise
    services.outbox_wakeup.set()
    log.info(
        "invitation %s: GDAP relationship %s (%s) requested by %s of %s for %s",
        saved.ref,
        relationship_id,
        kind.value,
        user_id,
        plan.by.key,
        plan.holder.key,
    )
    return GdapRequest(
        saved, requested=True, kind=kind, by=plan.by.name, holder=plan.holder.name, approval_url=url
    )
