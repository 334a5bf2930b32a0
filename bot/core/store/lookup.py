"""Reading invitations: by id, by the reference users quote, and their audit trail.
(Lists per organization are in `access.visible_invitations`.)"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.store.access import can_see
from bot.core.store.errors import NotFoundError
from bot.core.store.models import AuditEvent, Invitation, Organization
from bot.core.store.refs import normalize_ref


def get_invitation(
    session: Session, invitation_id: int, org: Organization | None = None
) -> Invitation:
    """The invitation as stored now (re-read even if the session holds it). With `org`,
    one that organization cannot see is reported as missing: `NotFoundError`."""
    invitation = session.get(Invitation, invitation_id, populate_existing=True)
    if invitation is None or (org is not None and not can_see(org, invitation)):
        raise NotFoundError(f"no invitation {invitation_id}", code="invitation_not_found")
    return invitation


def find_by_ref(session: Session, ref: str, org: Organization | None = None) -> Invitation | None:
    """The invitation a user quoted (`INV-7K3Q9`; case and prefix optional). With `org`,
    only if that organization may see it."""
    invitation = session.scalar(select(Invitation).where(Invitation.ref == normalize_ref(ref)))
    if invitation is None or (org is not None and not can_see(org, invitation)):
        return None
    return invitation


def audit_trail(session: Session, invitation_id: int) -> list[AuditEvent]:
    """The invitation's audit events, oldest first."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.invitation_id == invitation_id)
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    return list(session.scalars(query))
