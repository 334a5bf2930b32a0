"""From a stored Partner Center event to the right invitation (run by the worker, never on
the request path).

- Reseller relationship accepted (direct or indirect): the pending (`created`/`sent`) invitation
  with the event's customer tenant; else, with Partner Center credentials, the customer's profile
  (`get_customer`) matched by domain, else by exact company name (case-insensitive). A unique match
  only; none (or several) → the partner's notification channel, with a select to link it.
- GDAP approved / activated → `delegated_admin_granted`, by `gdap_relationship_id`; or, for the
  reseller's own relationship (`reseller_gdap_relationship_id`, edition 2026-11), its approval
  is recorded (`reseller_gdap_granted_at`) and said; the invitation's state stays.
- DAP approved → `delegated_admin_granted`, by customer tenant.
- Access ended (DAP/GDAP terminated, GDAP expired) → a notice only.

Per event: first a reading step (match, decide, render the notifications from the invitation
as it will be), then ONE writing transaction: the event is marked done (conditional on our
lease), the invitation moves (audited, `actor_org=None`, conditional on the version read) and
the notifications are queued — all committed together or not at all. The worker hands over
the events it claimed together (`process_events`): one reading transaction plans them all and
one writing transaction applies them all (one event's failure: each is handled again alone).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session

from bot.core.connections import clients_of
from bot.core.gdap import editions_of
from bot.core.outbox import queue
from bot.core.outbox.notify import PENDING_STATES, change_effects, event_snapshot, unmatched_effects
from bot.core.partner_center.errors import ConnectionExpired, PartnerCenterError
from bot.core.partner_center.events import EventKind
from bot.core.services import Services
from bot.core.snapshots import InvitationView, OrgView, org_views
from bot.core.store.access import unindexed_state
from bot.core.store.clock import Clock
from bot.core.store.directory import self_org_id
from bot.core.store.invitations import PlannedMove, grant_reseller_gdap, transition_planned_many
from bot.core.store.lifecycle import InvitationState
from bot.core.store.lookup import get_invitation
from bot.core.store.models import InboxEvent, Invitation, Organization
from bot.core.store.search import exact_ids, normalize
from bot.core.ui.surfaces import NotificationChange
from policy import CURRENT

log = logging.getLogger(__name__)
Runner = Callable[[Callable[[Session], Any]], Awaitable[Any]]
S = InvitationState
ACCEPTANCES = frozenset({EventKind.RELATIONSHIP_ACCEPTED, EventKind.INDIRECT_RELATIONSHIP_ACCEPTED})
GDAP_GRANTS = frozenset({EventKind.GDAP_APPROVED, EventKind.GDAP_ACTIVATED})
ACCEPTED_STATES = (S.accepted, S.delegated_admin_requested, S.delegated_admin_granted)
GRANTABLE = (S.accepted, S.delegated_admin_requested)


class RetryLater(RuntimeError):
    """A transient failure (Partner Center unreachable): try the event again later."""


_normalized = normalize


def _scoped(query: Any, org_id: Any) -> Any:
    # `org_id`: an organization id, or a bound parameter standing for one
    # On expressions no index serves (`+ 0`): the tenant id or the search keys drive the match,
    # never an organization's whole history (a PostgreSQL without statistics chose that).
    if org_id is None:
        return query
    return query.where(
        or_(Invitation.provider_org_id + 0 == org_id, Invitation.reseller_org_id + 0 == org_id)
    )


def _in_states(states: Any) -> Any:
    return unindexed_state(states)


_MATCH_COLUMNS = (
    Invitation.id,
    Invitation.customer_tenant_id,
    Invitation.customer_domain,
    Invitation.customer_name,
)


def _pending(scope: Any) -> Any:
    return _scoped(select(*_MATCH_COLUMNS).where(_in_states(PENDING_STATES)), scope)


@cache
def _tenant_statements(scoped: bool) -> tuple[Any, Any]:
    """The pending invitations with a tenant id, and whether one is accepted already: built
    once (every acceptance asks), `tenant` and `scope` bound when they run."""
    scope: Any = bindparam("scope") if scoped else None
    tenant = Invitation.customer_tenant_id == bindparam("tenant")
    pending = _pending(scope).where(tenant)
    accepted = _scoped(select(Invitation.id).where(tenant, _in_states(ACCEPTED_STATES)), scope)
    return pending, accepted.limit(1)


def match_acceptance(
    session: Session,
    customer_id: str | None,
    profile: dict[str, Any] | None,
    scope: int | None,
    known: Mapping[str, list[Invitation]] | None = None,
) -> tuple[int | None, str]:
    """The pending invitation an acceptance answers, and how it was found ("tenant",
    "domain", "name"); else None and why ("already", "ambiguous", "unmatched"). `scope`: the
    id of the partner organization whose invitations are considered (None: all). `known`:
    the pending invitations of some tenants, read in this transaction (`_load_pending`): for
    those tenants the match by tenant reads nothing more."""
    if customer_id:
        by_tenant, accepted = _tenant_statements(scope is not None)
        params = {"tenant": customer_id, "scope": scope}
        found: list[Any]
        if known is not None and customer_id in known:
            found = [inv for inv in known[customer_id] if _in_scope(inv, scope)]
        else:
            found = list(session.execute(by_tenant, params).all())
        if len(found) == 1:
            return found[0].id, "tenant"
        if len(found) > 1:
            return None, "ambiguous"
        if session.scalar(accepted, params) is not None:
            return None, "already"
    if not profile:
        return None, "unmatched"
    domain = (profile.get("domain") or "").strip().lower()
    name = _normalized(profile.get("company"))
    if not domain and not name:
        return None, "unmatched"
    pending = _pending(scope)
    # Only the pending invitations with this domain or this whole name (an index read of
    # `invitation_search_keys`, bot/core/store/search.py); invitations already tied to another
    # tenant are not this customer's.
    candidates = session.execute(
        pending.where(
            Invitation.id.in_(exact_ids([k for k in (domain, name) if k])),
            # (coalesce: no index on the tenant id may drive; most rows have none)
            func.coalesce(Invitation.customer_tenant_id, "").in_(["", customer_id or ""]),
        )
    ).all()
    if domain:
        by_domain = [r for r in candidates if (r.customer_domain or "").lower() == domain]
        if len(by_domain) == 1:
            return by_domain[0].id, "domain"
        # A different domain on the invitation rules it out for a match by name.
        candidates = [r for r in candidates if not r.customer_domain or r in by_domain]
    if name:
        by_name = [r for r in candidates if _normalized(r.customer_name) == name]
        if len(by_name) == 1:
            return by_name[0].id, "name"
        if len(by_name) > 1:
            return None, "ambiguous"
    return None, "unmatched"


def _in_scope(invitation: Invitation, scope: int | None) -> bool:
    return scope is None or scope in (invitation.provider_org_id, invitation.reseller_org_id)


def event_scope(session: Session, event: InboxEvent, key: str | None) -> int | None:
    """The organization an event is for: the one whose URL it reached; for events stored
    before revision 0010 (no `org_id`), PARTNER_ORG_KEY's as before."""
    return event.org_id if event.org_id is not None else self_org_id(session, key)


def _needs_profile(session: Session, event: InboxEvent, key: str | None) -> int | None:
    """The organization the event is for, when its customer's profile could match it."""
    scope = event_scope(session, event, key)
    found, why = match_acceptance(session, event.customer_id, None, scope)
    return scope if found is None and why == "unmatched" else None


async def _can_ask(services: Services, org_id: int) -> bool:
    clients = await clients_of(services, org_id)
    return clients is not None and clients.partner_center is not None


async def _profile(
    services: Services, event: InboxEvent, final: bool, read: Runner
) -> dict[str, Any] | None:
    """The customer's company name and domain from Partner Center, when it can help: through
    the Partner Center connection of the organization the event is for."""
    if event.kind not in ACCEPTANCES or not event.customer_id:
        return None
    if services.partner_center is None and services.cipher is None:
        return None  # no connection anywhere: nothing to read
    if event.org_id is not None and not await _can_ask(services, event.org_id):
        return None  # its organization has no connection: no read for the match either
    key = services.notify.partner_org_key
    scope = await read(lambda session: _needs_profile(session, event, key))
    clients = await clients_of(services, scope)
    client = clients.partner_center if clients is not None else None
    if client is None:
        return None
    try:
        customer = await client.get_customer(event.customer_id)
    except ConnectionExpired:
        return None
    except PartnerCenterError as exc:
        transient = exc.status in (0, 429) or exc.status >= 500
        if transient and not final:
            raise RetryLater(f"Partner Center: {exc}") from exc
        log.warning("event %s: no customer profile (%s); it stays unmatched", event.id, exc)
        return {"error": str(exc)[:300]}
    return {"company": customer.company_name, "domain": customer.domain}


@dataclass
class Plan:
    """What an event does, decided by reading only: the outcome, the move (from `version`),
    and the notifications, rendered."""

    outcome: str
    invitation_id: int | None = None
    version: int | None = None
    state: InvitationState | None = None
    from_state: InvitationState | None = None  # the state read, moved from (with `version`)
    how: str | None = None
    effects: list[queue.Effect] = field(default_factory=list)
    reseller_grant: str | None = None  # the reseller's own GDAP relationship id, approved


@dataclass
class Batch:
    """What a batch's reading transaction read once for all its events: organization
    snapshots (filled as they are read), the pending invitations of the acceptances' tenants
    (`_load_pending`) and their organizations' editions."""

    orgs: dict[int, OrgView] = field(default_factory=dict)
    pending: dict[str, list[Invitation]] = field(default_factory=dict)
    editions: dict[int, str] = field(default_factory=dict)


async def process_event(
    services: Services,
    event: InboxEvent,
    *,
    worker: str,
    now: Callable[[], datetime],
    final: bool = False,
    run: Runner | None = None,
    read: Runner | None = None,
) -> str:
    """Handle one claimed event; returns its outcome. Reads and renders first (`read`), then
    writes everything in one transaction (`run`). Raises RetryLater, queue.LeaseLost or a store
    error such as ConflictError (nothing is then written; the worker retries later)."""
    run = run if run is not None else services.run
    read = read if read is not None else services.run
    profile = await _profile(services, event, final, read)
    return await _process_one(services, event, profile, worker=worker, now=now, run=run, read=read)


async def _process_one(
    services: Services,
    event: InboxEvent,
    profile: dict[str, Any] | None,
    *,
    worker: str,
    now: Callable[[], datetime],
    run: Runner,
    read: Runner,
) -> str:
    key = services.notify.partner_org_key
    default = services.policy_edition

    def decide(session: Session) -> Plan:
        scope = event_scope(session, event, key)
        return plan_event(session, event, profile, scope, services.clock, default_edition=default)

    plan = await read(decide)

    def apply(session: Session) -> str:
        return _apply(session, event, plan, profile, worker=worker, now=now(), clock=services.clock)

    outcome: str = await run(apply)
    _logged(event, outcome)
    return outcome


def _logged(event: InboxEvent, outcome: str) -> None:
    log.info(
        "partner center event %s (%s, %s): %s", event.id, event.event_name, event.pace_key, outcome
    )


async def process_events(
    services: Services,
    events: list[InboxEvent],
    *,
    worker: str,
    now: Callable[[], datetime],
    final: Callable[[InboxEvent], bool] = lambda event: False,
    run: Runner | None = None,
    read: Runner | None = None,
) -> list[str | Exception]:
    """Handle claimed events together: ONE reading transaction plans them all (the partner
    organization looked up once), ONE writing transaction applies them all. Returns, per
    event in order, its outcome or the exception it raised (RetryLater, queue.LeaseLost,
    ConflictError...; nothing of that event is then written).

    When the batch's reading or writing fails (an event's lease lost, an invitation changed
    meanwhile — two events of one batch for the same invitation, say), nothing of the batch is
    written and each event is handled again on its own (`process_event`'s path), so one
    event's failure never costs another its outcome."""
    run = run if run is not None else services.run
    read = read if read is not None else services.run
    results: dict[int, str | Exception] = {}
    profiles: dict[int, dict[str, Any] | None] = {}
    for event in events:
        try:
            profiles[event.id] = await _profile(services, event, final(event), read)
        except Exception as exc:  # Partner Center unreachable: this event only
            results[event.id] = exc
    todo = [event for event in events if event.id not in results]
    key = services.notify.partner_org_key
    default = services.policy_edition
    clock = services.clock

    def decide(session: Session) -> list[Plan]:
        # each event is for the organization whose URL it reached (event_scope); events stored
        # before revision 0010 for PARTNER_ORG_KEY's, looked up once per batch
        fallback = self_org_id(session, key)
        batch = _load_pending(session, todo, default)
        return [
            plan_event(
                session,
                e,
                profiles[e.id],
                e.org_id if e.org_id is not None else fallback,
                clock,
                default_edition=default,
                batch=batch,
            )
            for e in todo
        ]

    try:
        plans = await read(decide) if todo else []

        def apply(session: Session) -> list[str]:
            return _apply_batch(
                session, todo, plans, profiles, worker=worker, now=now(), clock=clock
            )

        outcomes = await run(apply) if todo else []
    except Exception as exc:
        if len(todo) > 1:
            log.info("a batch of %s events failed (%s): one at a time", len(todo), exc)
        for event in todo:
            try:
                results[event.id] = await _process_one(
                    services, event, profiles[event.id], worker=worker, now=now, run=run, read=read
                )
            except Exception as one:
                results[event.id] = one
    else:
        for event, outcome in zip(todo, outcomes, strict=True):
            _logged(event, outcome)
            results[event.id] = outcome
    return [results[event.id] for event in events]


def _load_pending(session: Session, events: list[InboxEvent], default_edition: str) -> Batch:
    """The pending invitations the batch's acceptances name by tenant, with their
    organizations and messages, and those organizations' editions: one statement each for the
    batch (invitations, messages, editions), so planning each event matches by tenant and
    finds its invitation (`_invitation`) and the GDAP editions without a round trip."""
    batch = Batch()
    tenants = {e.customer_id for e in events if e.customer_id and _kind(e.kind) in ACCEPTANCES}
    if not tenants:
        return batch
    query = select(Invitation).where(
        Invitation.customer_tenant_id.in_(sorted(tenants)), _in_states(PENDING_STATES)
    )
    batch.pending = {tenant: [] for tenant in tenants}
    for invitation in session.scalars(query):  # held: the session keeps weak references
        if invitation.customer_tenant_id in batch.pending:
            batch.pending[invitation.customer_tenant_id].append(invitation)
    orgs = [
        org
        for invs in batch.pending.values()
        for inv in invs
        for org in (inv.provider, inv.reseller)
        if org is not None
    ]
    if orgs:
        # The organizations' snapshots (their teams and languages) in one statement, where
        # `_view` would read each one's teams, then its language, as it first meets it.
        batch.orgs.update(org_views(session, orgs))
        batch.editions = editions_of(session, sorted(batch.orgs), default_edition)
    return batch


def _invitation(session: Session, invitation_id: int) -> Invitation:
    """The invitation as this transaction read it (`_load_pending`), else read now. Its
    version is what the move is conditional on: a change since is a ConflictError."""
    invitation = session.get(Invitation, invitation_id)
    return invitation if invitation is not None else get_invitation(session, invitation_id)


def _apply_batch(
    session: Session,
    events: list[InboxEvent],
    plans: list[Plan],
    profiles: dict[int, dict[str, Any] | None],
    *,
    worker: str,
    now: datetime,
    clock: Clock,
) -> list[str]:
    """`_apply` for a batch, with a number of statements that does not grow with it: the
    events finished in one executemany (our leases checked, SQLite's write lock taken), the
    moves in one executemany and their audit rows in one INSERT, the notifications in one
    INSERT. Any event's lease lost or invitation changed meanwhile raises, and the caller
    rolls the whole batch back."""
    queue.finish_events(
        session,
        [
            (e.id, plan.outcome, plan.invitation_id, {**(e.detail or {}), **(profiles[e.id] or {})})
            for e, plan in zip(events, plans, strict=True)
        ],
        worker=worker,
        now=now,
    )
    transition_planned_many(
        session,
        [_move(e, plan) for e, plan in zip(events, plans, strict=True) if plan.state is not None],
        clock=clock,
    )
    outcomes: list[str] = []
    effects: list[queue.Effect] = []
    for event, plan in zip(events, plans, strict=True):
        if not _grant(session, event, plan, clock):
            outcomes.append("already")  # approved meanwhile (its notifications are queued)
            continue
        outcomes.append(plan.outcome)
        effects.extend(plan.effects)
    queue.enqueue(session, effects, now=now)
    return outcomes


def _move(event: InboxEvent, plan: Plan) -> PlannedMove:
    """The plan's move of its invitation, from the state and version it read (no re-read:
    changed meanwhile is a ConflictError, and the event is planned again)."""
    assert plan.state is not None and plan.invitation_id is not None
    assert plan.from_state is not None and plan.version is not None  # set with `state`
    detail: dict[str, Any] = {
        "event": event.event_name,
        "webhook_event": event.id,
        "matched_by": plan.how,
    }
    if event.changed_at is not None:
        detail["changed_at"] = event.changed_at.isoformat()
    return PlannedMove(
        plan.invitation_id,
        plan.from_state,
        plan.version,
        plan.state,
        detail=detail,
        customer_tenant_id=event.customer_id if plan.state is S.accepted else None,
    )


def _grant(session: Session, event: InboxEvent, plan: Plan, clock: Clock) -> bool:
    """The reseller's own GDAP approval the plan records; False when it was recorded
    meanwhile."""
    if plan.reseller_grant is None or plan.invitation_id is None:
        return True
    detail = {"event": event.event_name, "webhook_event": event.id, "matched_by": plan.how}
    return grant_reseller_gdap(
        session, plan.invitation_id, plan.reseller_grant, detail=detail, clock=clock
    )


def _apply(
    session: Session,
    event: InboxEvent,
    plan: Plan,
    profile: dict[str, Any] | None,
    *,
    worker: str,
    now: datetime,
    clock: Clock,
) -> str:
    """One event's writes (`_apply_batch` of one)."""
    batch = _apply_batch(
        session, [event], [plan], {event.id: profile}, worker=worker, now=now, clock=clock
    )
    return batch[0]


def plan_event(
    session: Session,
    event: InboxEvent,
    profile: dict[str, Any] | None,
    scope: int | None,
    clock: Clock,
    *,
    default_edition: str = CURRENT,
    batch: Batch | None = None,
) -> Plan:
    """What `event` does. `scope`: the organization the event is for (`event_scope`); `batch`:
    what this transaction read once for several events (organization snapshots, filled as
    they are read: a batch reads each organization's workspace and language once; the
    pending invitations of its tenants, their editions)."""
    kind = _kind(event.kind)
    batch = batch if batch is not None else Batch()
    if kind in ACCEPTANCES:
        detail = {**(event.detail or {}), **(profile or {})}
        found, how = match_acceptance(session, event.customer_id, detail, scope, batch.pending)
        if found is not None:
            invitation = _invitation(session, found)
            return _change(
                session, event, invitation, S.accepted, how, clock, default_edition, batch
            )
        if how == "already":
            return Plan("already")
        org = session.get(Organization, scope) if scope is not None else None
        if org is None:
            log.warning("event %s matches no invitation and no partner org is known", event.id)
            return Plan("unmatched_nowhere")
        effects = unmatched_effects(session, event_snapshot(event, profile), org)
        return Plan("unmatched" if effects else "unmatched_no_channel", effects=effects)
    if kind in GDAP_GRANTS or kind is EventKind.DAP_APPROVED:
        if kind is EventKind.DAP_APPROVED:
            query = _scoped(select(Invitation), scope).where(
                Invitation.customer_tenant_id == event.customer_id,
                Invitation.state.in_(ACCEPTED_STATES),
            )
        else:
            query = select(Invitation).where(_has_relationship(event.relationship_id))
            if event.org_id is not None:  # only the invitations of the URL's organization
                query = _scoped(query, event.org_id)
        grants = list(session.scalars(query)) if event.customer_id or event.relationship_id else []
        if len(grants) != 1:
            return Plan("no_invitation" if not grants else "ambiguous")
        invitation = grants[0]
        mine = event.relationship_id is not None and kind in GDAP_GRANTS
        if mine and invitation.gdap_relationship_id != event.relationship_id:
            return _reseller_grant(session, event, invitation, clock, default_edition, batch)
        if invitation.state is S.delegated_admin_granted:
            return Plan("already", invitation.id)
        if invitation.state not in GRANTABLE:
            return Plan("invalid_state", invitation.id)
        how = "relationship" if kind in GDAP_GRANTS else "tenant"
        state = S.delegated_admin_granted
        return _change(session, event, invitation, state, how, clock, default_edition, batch)
    if kind is EventKind.ACCESS_ENDED:
        if event.relationship_id:
            query = select(Invitation).where(_has_relationship(event.relationship_id))
            if event.org_id is not None:
                query = _scoped(query, event.org_id)
        else:
            query = _scoped(select(Invitation), scope).where(
                Invitation.customer_tenant_id == event.customer_id,
                Invitation.state.in_(ACCEPTED_STATES),
            )
        ended = list(session.scalars(query)) if event.customer_id or event.relationship_id else []
        if len(ended) != 1:
            return Plan("no_invitation" if not ended else "ambiguous")
        view = _view(ended[0], batch.orgs)
        effects = change_effects(
            session, view, "access_ended", event_id=event.id, event_name=event.event_name
        )
        return Plan("notified", view.id, effects=effects)
    return Plan("ignored")


def _change(
    session: Session,
    event: InboxEvent,
    invitation: Invitation,
    state: InvitationState,
    how: str,
    clock: Clock,
    default_edition: str = CURRENT,
    batch: Batch | None = None,
) -> Plan:
    """The move and its notifications, rendered from the invitation as it will be after it."""
    batch = batch if batch is not None else Batch()
    now = _view(invitation, batch.orgs)
    after = replace(
        now,
        state=state,
        version=now.version + 1,
        updated_at=clock(),
        customer_tenant_id=(event.customer_id or now.customer_tenant_id)
        if state is S.accepted
        else now.customer_tenant_id,
    )
    change: NotificationChange = "accepted" if state is S.accepted else "delegated_admin_granted"
    effects = change_effects(
        session,
        after,
        change,
        event_id=event.id,
        event_name=event.event_name,
        default_edition=default_edition,
        editions=batch.editions,
    )
    return Plan("notified", now.id, now.version, state, now.state, how, effects)


def _view(invitation: Invitation, orgs: dict[int, OrgView]) -> InvitationView:
    """The invitation's snapshot, its organizations' taken once per transaction (`orgs`)."""
    for org in (invitation.provider, invitation.reseller):
        if org is not None and org.id not in orgs:
            orgs[org.id] = OrgView.of(org)
    return InvitationView.of(invitation, orgs)


def _has_relationship(relationship_id: str | None) -> Any:
    """Invitations recording this GDAP relationship: the provider's (or the one it asked for
    its reseller) or the reseller's own."""
    return or_(
        Invitation.gdap_relationship_id == relationship_id,
        Invitation.reseller_gdap_relationship_id == relationship_id,
    )


def _reseller_grant(
    session: Session,
    event: InboxEvent,
    invitation: Invitation,
    clock: Clock,
    default: str,
    batch: Batch,
) -> Plan:
    """The customer approved the reseller's own relationship: the invitation's state stays
    (it follows the provider's); the approval is recorded and said, to both sides."""
    if invitation.reseller_gdap_granted_at is not None:
        return Plan("already", invitation.id)
    after = replace(_view(invitation, batch.orgs), reseller_gdap_granted=True, updated_at=clock())
    effects = change_effects(
        session,
        after,
        "reseller_gdap_granted",
        event_id=event.id,
        event_name=event.event_name,
        default_edition=default,
        editions=batch.editions,
    )
    relationship = event.relationship_id
    return Plan(
        "notified", invitation.id, how="relationship", effects=effects, reseller_grant=relationship
    )


def _kind(value: str) -> EventKind | None:
    try:
        return EventKind(value)
    except ValueError:
        return None
