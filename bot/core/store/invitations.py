"""Invitations: request, create, move through the lifecycle, expire; each change audited.

Transactions belong to the caller. Every function here takes a `Session`, flushes, and never
commits; wrap one user action in `with session_factory.begin() as session:` so the change and
its `AuditEvent` (and, typically, the decision record and message location) commit together
or not at all.

Optimistic concurrency: every change is an `UPDATE ... WHERE id = :id AND version = :version
AND state = :old_state`. When someone else changed the invitation first (two people clicking
at once), 0 rows match and `ConflictError` tells the loser the current state. Pass the
`version` the user was shown as `expected_version` to also refuse decisions made on a stale
message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from bot.core.store.access import can_act
from bot.core.store.clock import Clock, as_utc, utc_now
from bot.core.store.directory import is_provider_of
from bot.core.store.errors import ConflictError, NotAllowedError, StoreError, TransitionError
from bot.core.store.lifecycle import EXPIRABLE, InvitationState, check_transition
from bot.core.store.lookup import get_invitation
from bot.core.store.models import (
    AuditAction,
    AuditEvent,
    GdapParty,
    Invitation,
    InvitationSearchKey,
    LinkSource,
    Organization,
)
from bot.core.store.refs import unique_ref
from bot.core.store.search import search_keys
from policy.facts import Role

DEFAULT_EXPIRY = timedelta(days=30)
PROVIDER_ROLES = frozenset({Role.direct, Role.indirect_provider})


def _customer_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > 200:
        raise StoreError(
            "the customer name must be 1 to 200 characters", code="invalid_customer_name"
        )
    return cleaned


def _check_link(link: str) -> str:
    if not link.startswith("https://") or any(ch.isspace() for ch in link):
        raise StoreError(f"not an https link: {link[:80]!r}", code="invalid_link")
    return link


def _add_search_keys(session: Session, invitation: Invitation) -> None:
    session.add_all(
        InvitationSearchKey(key=key, invitation_id=invitation.id)
        for key in search_keys(invitation.customer_name, invitation.customer_domain)
    )


def _audit(
    session: Session,
    invitation: Invitation | tuple[int, InvitationState],
    *,
    at: datetime,
    action: AuditAction,
    old_state: InvitationState | None,
    user_id: str | None,
    team_id: str | None,
    decision_id: str | None,
    detail: dict[str, Any] | None,
) -> None:
    """`invitation`: the row, or (its id, its new state) when it was moved without reading it."""
    invitation_id, new_state = (
        invitation if isinstance(invitation, tuple) else (invitation.id, invitation.state)
    )
    session.add(
        AuditEvent(
            invitation_id=invitation_id,
            at=at,
            user_id=user_id,
            team_id=team_id,
            action=action,
            old_state=old_state,
            new_state=new_state,
            decision_id=decision_id,
            detail=dict(detail or {}),
        )
    )
    session.flush()


def _insert(
    session: Session,
    invitation: Invitation,
    action: AuditAction,
    user_id: str,
    team_id: str,
    *,
    detail: dict[str, Any] | None,
) -> Invitation:
    """Store a new invitation with its search keys and the audit event of its first state."""
    session.add(invitation)
    session.flush()
    _add_search_keys(session, invitation)
    _audit(
        session,
        invitation,
        at=invitation.created_at,
        action=action,
        old_state=None,
        user_id=user_id,
        team_id=team_id,
        decision_id=invitation.decision_id,
        detail=detail,
    )
    return invitation


def request_invitation(
    session: Session,
    *,
    reseller: Organization,
    provider: Organization,
    customer_name: str,
    requested_by_user: str,
    requested_by_team: str,
    customer_domain: str | None = None,
    delegated_admin: bool = False,
    decision_id: str | None = None,
    clock: Clock = utc_now,
) -> Invitation:
    """A reseller asks one of its indirect providers for an invitation (state `requested`)."""
    if reseller.role is not Role.indirect_reseller:
        raise NotAllowedError(f"{reseller.key} is not an indirect reseller", code="not_a_reseller")
    if not is_provider_of(session, provider, reseller):
        raise NotAllowedError(
            f"{provider.key} is not an indirect provider of {reseller.key}; "
            "add it to the reseller's providers in the partner directory",
            code="not_your_provider",
        )
    now = clock()
    invitation = Invitation(
        ref=unique_ref(session),
        provider_org_id=provider.id,
        reseller_org_id=reseller.id,
        customer_name=_customer_name(customer_name),
        customer_domain=customer_domain,
        delegated_admin=delegated_admin,
        state=InvitationState.requested,
        created_at=now,
        updated_at=now,
        requested_by_user=requested_by_user,
        requested_by_team=requested_by_team,
        decision_id=decision_id,
        version=1,
    )
    return _insert(
        session, invitation, AuditAction.request, requested_by_user, requested_by_team, detail=None
    )


def create_invitation(
    session: Session,
    *,
    provider: Organization,
    customer_name: str,
    link: str,
    link_source: LinkSource,
    created_by_user: str,
    created_by_team: str,
    reseller: Organization | None = None,
    customer_domain: str | None = None,
    customer_tenant_id: str | None = None,
    delegated_admin: bool = False,
    decision_id: str | None = None,
    expires_in: timedelta = DEFAULT_EXPIRY,
    clock: Clock = utc_now,
) -> Invitation:
    """A provider creates an invitation from scratch (state `created`), for its own customer
    or, with `reseller`, for one of its resellers' customers."""
    if provider.role not in PROVIDER_ROLES:
        raise NotAllowedError(
            f"{provider.key} is an indirect reseller: its provider creates invitations",
            code="not_a_provider",
        )
    if reseller is not None:
        if provider.role is Role.direct:
            raise NotAllowedError(
                f"{provider.key} is a direct-bill partner and has no resellers",
                code="direct_partner_has_no_resellers",
            )
        if not is_provider_of(session, provider, reseller):
            raise NotAllowedError(
                f"{reseller.key} does not buy through {provider.key}", code="not_your_provider"
            )
    now = clock()
    invitation = Invitation(
        ref=unique_ref(session),
        provider_org_id=provider.id,
        reseller_org_id=reseller.id if reseller is not None else None,
        customer_name=_customer_name(customer_name),
        customer_domain=customer_domain,
        customer_tenant_id=customer_tenant_id,
        delegated_admin=delegated_admin,
        link=_check_link(link),
        link_source=link_source,
        state=InvitationState.created,
        created_at=now,
        updated_at=now,
        expires_at=now + expires_in,
        created_by_user=created_by_user,
        created_by_team=created_by_team,
        decision_id=decision_id,
        version=1,
    )
    return _insert(
        session,
        invitation,
        AuditAction.create,
        created_by_user,
        created_by_team,
        detail={"link_source": link_source.value},
    )


def fulfil_request(
    session: Session,
    invitation_id: int,
    *,
    provider: Organization,
    link: str,
    link_source: LinkSource,
    created_by_user: str,
    created_by_team: str,
    expected_version: int | None,
    decision_id: str | None = None,
    expires_in: timedelta = DEFAULT_EXPIRY,
    clock: Clock = utc_now,
    delegated_admin: bool | None = None,
) -> Invitation:
    """The provider creates the invitation a reseller requested (`requested` → `created`).
    `delegated_admin`: whether the link asks for it, when that is not what was requested (the
    provider's edition has no delegated admin in invitations)."""
    invitation = get_invitation(session, invitation_id, provider)
    now = clock()
    return _move(
        session,
        invitation,
        InvitationState.created,
        expected_version=expected_version,
        now=now,
        action=AuditAction.fulfil,
        user_id=created_by_user,
        team_id=created_by_team,
        decision_id=decision_id,
        detail={"link_source": link_source.value},
        values={
            "link": _check_link(link),
            "link_source": link_source,
            "created_by_user": created_by_user,
            "created_by_team": created_by_team,
            "expires_at": now + expires_in,
            **({"decision_id": decision_id} if decision_id is not None else {}),
            **({"delegated_admin": delegated_admin} if delegated_admin is not None else {}),
        },
        actor_org=provider,
    )


def transition(
    session: Session,
    invitation_id: int,
    new_state: InvitationState,
    *,
    actor_user: str | None,
    actor_team: str | None,
    expected_version: int | None,
    actor_org: Organization | None = None,
    detail: dict[str, Any] | None = None,
    decision_id: str | None = None,
    customer_tenant_id: str | None = None,
    gdap_relationship_id: str | None = None,
    gdap_for: GdapParty | None = None,
    clock: Clock = utc_now,
) -> Invitation:
    """Move an invitation to `new_state`, audited.

    `actor_org` is the organization of the Slack user acting: it must see the invitation
    (else `NotFoundError`) and be allowed the move (`access.can_act`, else `NotAllowedError`).
    Leave it None for the bot's own moves (Partner Center webhooks). `customer_tenant_id` and
    `gdap_relationship_id` (with `gdap_for`, whose it is), when given, are stored too (e.g. on
    `accepted`)."""
    if new_state is InvitationState.created:
        raise StoreError(
            "a requested invitation becomes created with its link: use fulfil_request",
            code="link_required",
        )
    invitation = get_invitation(session, invitation_id, actor_org)
    values: dict[str, Any] = {}
    if customer_tenant_id is not None:
        values["customer_tenant_id"] = customer_tenant_id.strip().lower()
    if gdap_relationship_id is not None:
        values["gdap_relationship_id"] = gdap_relationship_id
    if gdap_for is not None:
        values["gdap_for"] = gdap_for
    return _move(
        session,
        invitation,
        new_state,
        expected_version=expected_version,
        now=clock(),
        action=AuditAction.transition,
        user_id=actor_user,
        team_id=actor_team,
        decision_id=decision_id,
        detail={**(detail or {}), **values},
        values=values,
        actor_org=actor_org,
    )


def _move(
    session: Session,
    invitation: Invitation,
    new_state: InvitationState,
    *,
    expected_version: int | None,
    now: datetime,
    action: AuditAction,
    user_id: str | None,
    team_id: str | None,
    decision_id: str | None,
    detail: dict[str, Any],
    values: dict[str, Any],
    actor_org: Organization | None = None,
) -> Invitation:
    old_state, old_version = invitation.state, invitation.version
    if expected_version is not None and expected_version != old_version:
        raise ConflictError(
            invitation.id,
            expected_version=expected_version,
            current_state=old_state.value,
            current_version=old_version,
        )
    check_transition(old_state, new_state)
    if actor_org is not None and not can_act(actor_org, invitation, new_state):
        raise NotAllowedError(
            f"{actor_org.key} may not move {invitation.ref} from {old_state.value} "
            f"to {new_state.value}; its provider can"
        )
    _update(session, invitation.id, old_state, old_version, new_state, now, values)
    _audit(
        session,
        invitation,
        at=now,
        action=action,
        old_state=old_state,
        user_id=user_id,
        team_id=team_id,
        decision_id=decision_id,
        detail=detail,
    )
    return invitation


def _update(
    session: Session,
    invitation_id: int,
    old_state: InvitationState,
    old_version: int,
    new_state: InvitationState,
    now: datetime,
    values: dict[str, Any],
) -> None:
    """The move itself: one UPDATE conditional on the state and version read (changed
    meanwhile: `ConflictError`), also applied to the row the session holds."""
    if new_state is InvitationState.accepted:
        values = {**values, "accepted_at": now}
    statement = (
        update(Invitation)
        .where(
            Invitation.id == invitation_id,
            Invitation.version == old_version,
            Invitation.state == old_state,
        )
        .values(state=new_state, version=old_version + 1, updated_at=now, **values)
        .execution_options(synchronize_session="evaluate")  # updates the row held too
    )
    result = cast(CursorResult[Any], session.execute(statement))
    if result.rowcount != 1:
        current = session.get(Invitation, invitation_id, populate_existing=True)
        assert current is not None  # invitations are never deleted
        raise ConflictError(
            invitation_id,
            expected_version=old_version,
            current_state=current.state.value,
            current_version=current.version,
        )


@cache
def _unsynced_move(columns: tuple[str, ...]) -> Any:
    """The planned moves' UPDATE (no row held), built once per set of extra `columns`:
    every value is bound when it runs (a statement built per move cost more CPU than
    running it)."""
    return (
        update(Invitation)
        .where(
            Invitation.id == bindparam("invitation_id"),
            Invitation.version == bindparam("old_version"),
            Invitation.state == bindparam("old_state"),
        )
        .values(
            state=bindparam("new_state"),
            version=bindparam("new_version"),
            updated_at=bindparam("new_updated_at"),
            **{column: bindparam(f"new_{column}") for column in columns},
        )
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class PlannedMove:
    """A move of an invitation from the state and version read in an earlier transaction."""

    invitation_id: int
    old_state: InvitationState
    old_version: int
    new_state: InvitationState
    detail: dict[str, Any] | None = None
    customer_tenant_id: str | None = None


def transition_planned_many(
    session: Session, moves: Sequence[PlannedMove], *, clock: Clock = utc_now
) -> None:
    """Move invitations from the state and version read in an earlier transaction (the
    inbox's plan), without reading them again (a move `check_transition` refuses:
    `TransitionError`; the same rows as `transition`), several at once (the inbox's batch): the
    conditional UPDATEs as one executemany per shape of values, the audit rows as one INSERT,
    whatever their number. When any of them matches no row (changed meanwhile, or moved twice
    in `moves`): `ConflictError` for the first such invitation, and the caller's transaction
    must be rolled back (the others may have been written)."""
    if not moves:
        return
    now = clock()
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    audits: list[dict[str, Any]] = []
    for move in moves:
        check_transition(move.old_state, move.new_state)
        values: dict[str, Any] = {}
        if move.customer_tenant_id is not None:
            values["customer_tenant_id"] = move.customer_tenant_id.strip().lower()
        audited = {**(move.detail or {}), **values}
        if move.new_state is InvitationState.accepted:
            values["accepted_at"] = now
        shapes.setdefault(tuple(sorted(values)), []).append(
            {
                "invitation_id": move.invitation_id,
                "old_version": move.old_version,
                "old_state": move.old_state,
                "new_state": move.new_state,
                "new_version": move.old_version + 1,
                "new_updated_at": now,
                **{f"new_{column}": value for column, value in values.items()},
            }
        )
        audits.append(
            {
                "invitation_id": move.invitation_id,
                "at": now,
                "user_id": None,
                "team_id": None,
                "action": AuditAction.transition,
                "old_state": move.old_state,
                "new_state": move.new_state,
                "decision_id": None,
                "detail": audited,
            }
        )
    for columns, params in shapes.items():
        statement = _unsynced_move(columns)
        result = cast(CursorResult[Any], session.connection().execute(statement, params))
        if result.rowcount != len(params):
            _conflict(session, moves)
    session.connection().execute(_AUDIT_INSERT, audits)


_AUDIT_INSERT = insert(cast(Table, AuditEvent.__table__))  # Core: one INSERT, no ORM flush


def _conflict(session: Session, moves: Sequence[PlannedMove]) -> None:
    """Raise ConflictError for the first move whose invitation is not (or no longer) in the
    state and version it was planned from."""
    ids = [move.invitation_id for move in moves]
    current = {
        row.id: row
        for row in session.execute(
            select(Invitation.id, Invitation.state, Invitation.version).where(
                Invitation.id.in_(ids)
            )
        )
    }
    seen: set[int] = set()
    for move in moves:
        row = current[move.invitation_id]
        moved = (row.state, row.version) == (move.new_state, move.old_version + 1)
        if move.invitation_id in seen or not moved:
            raise ConflictError(
                move.invitation_id,
                expected_version=move.old_version,
                current_state=row.state.value,
                current_version=row.version,
            )
        seen.add(move.invitation_id)
    first = current[ids[0]]  # not reached: an UPDATE that matched no row left one unmoved
    raise ConflictError(
        ids[0],
        expected_version=moves[0].old_version,
        current_state=first.state.value,
        current_version=first.version,
    )


def expire_due(session: Session, now: datetime) -> list[Invitation]:
    """Move `created`/`sent` invitations whose `expires_at` is at or before `now` to
    `expired` (audited, no user). Returns them so their Slack messages can be updated.
    Invitations changed concurrently are skipped (the next run sees them again)."""
    now = as_utc(now)
    due = session.scalars(
        select(Invitation)
        .where(Invitation.state.in_(list(EXPIRABLE)), Invitation.expires_at <= now)
        # by due date, as ix_invitations_state_expires reads them: `ORDER BY id` alone had
        # SQLite scan the whole table in id order (no sort) instead (bench/scale.py)
        .order_by(Invitation.expires_at, Invitation.id)
    ).all()
    expired = []
    for invitation in due:
        try:
            _move(
                session,
                invitation,
                InvitationState.expired,
                expected_version=None,
                now=now,
                action=AuditAction.expire,
                user_id=None,
                team_id=None,
                decision_id=None,
                detail={
                    "expires_at": invitation.expires_at.isoformat()
                    if invitation.expires_at
                    else None
                },
                values={},
            )
        except ConflictError:
            continue  # someone acted on it meanwhile; their change stands
        expired.append(invitation)
    return expired


# ------------------------------------------------------------------ the reseller's own GDAP
GDAP_STATES = frozenset(
    {
        InvitationState.accepted,
        InvitationState.delegated_admin_requested,
        InvitationState.delegated_admin_granted,
    }
)
"""States in which the customer relationship exists, so a GDAP relationship makes sense."""


def record_reseller_gdap(
    session: Session,
    invitation_id: int,
    relationship_id: str,
    *,
    actor_org: Organization,
    actor_user: str,
    actor_team: str,
    detail: dict[str, Any] | None = None,
    clock: Clock = utc_now,
) -> Invitation:
    """The invitation's reseller records the GDAP relationship it created for itself in its own
    Partner Center (edition 2026-11). Its state does not move (that is the provider's
    relationship) and its version stays, so nobody's buttons go stale; the update is
    conditional on no relationship being recorded yet (else `ConflictError`). Audited."""
    invitation = get_invitation(session, invitation_id, actor_org)
    if invitation.reseller_org_id != actor_org.id:
        raise NotAllowedError(f"{actor_org.key} is not the reseller of {invitation.ref}")
    if invitation.state not in GDAP_STATES:
        raise TransitionError(
            invitation.state.value, InvitationState.delegated_admin_requested.value
        )
    now = clock()
    statement = (
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.reseller_gdap_relationship_id.is_(None))
        .values(reseller_gdap_relationship_id=relationship_id, updated_at=now)
        .execution_options(synchronize_session="evaluate")
    )
    if cast(CursorResult[Any], session.execute(statement)).rowcount != 1:
        raise ConflictError(
            invitation.id,
            expected_version=invitation.version,
            current_state=invitation.state.value,
            current_version=invitation.version,
        )
    _audit(
        session,
        invitation,
        at=now,
        action=AuditAction.transition,
        old_state=invitation.state,
        user_id=actor_user,
        team_id=actor_team,
        decision_id=None,
        detail={**(detail or {}), "gdap_for": "reseller", "relationship": relationship_id},
    )
    return invitation


def grant_reseller_gdap(
    session: Session,
    invitation_id: int,
    relationship_id: str,
    *,
    detail: dict[str, Any] | None = None,
    clock: Clock = utc_now,
) -> bool:
    """Partner Center says the customer approved the reseller's own relationship: remember
    when (audited, by the bot). False when it was known already (nothing written)."""
    now = clock()
    statement = (
        update(Invitation)
        .where(
            Invitation.id == invitation_id,
            Invitation.reseller_gdap_relationship_id == relationship_id,
            Invitation.reseller_gdap_granted_at.is_(None),
        )
        .values(reseller_gdap_granted_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], session.execute(statement)).rowcount != 1:
        return False
    invitation = get_invitation(session, invitation_id)
    _audit(
        session,
        invitation,
        at=now,
        action=AuditAction.transition,
        old_state=invitation.state,
        user_id=None,
        team_id=None,
        decision_id=None,
        detail={**(detail or {}), "gdap_for": "reseller", "relationship": relationship_id},
    )
    return True
