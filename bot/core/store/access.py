"""Who sees which invitation, and who may move it.

- A reseller sees only invitations where it is the reseller.
- A provider (direct partner or indirect provider) sees the invitations it created or was
  asked for, which include those for its resellers.
- Nobody sees another organization's invitations.

A reseller may only make the moves in `lifecycle.RESELLER_MOVES` (mark sent, withdraw its
own request); the provider may make every allowed move on its own invitations.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, String, literal, select, type_coerce, union, union_all
from sqlalchemy.orm import Session

from bot.core.store.lifecycle import RESELLER_MOVES, InvitationState, allowed_next
from bot.core.store.models import Invitation, Organization
from bot.core.store.search import matching_ids
from policy.facts import Role

DEFAULT_LIMIT = 50


def unindexed_state(states: Collection[InvitationState]) -> ColumnElement[bool]:
    """`state IN (...)` on an expression no index serves (`state || ''`): for queries another
    index must drive (a PostgreSQL without statistics preferred the state indexes and read an
    organization's whole history in those states)."""
    text = type_coerce(Invitation.state, String()) + literal("", String())
    return text.in_([state.value for state in states])


def visibility_clause(org: Organization) -> ColumnElement[bool]:
    """A WHERE clause selecting exactly the invitations `org` may see."""
    if org.role is Role.indirect_reseller:
        return Invitation.reseller_org_id == org.id
    return Invitation.provider_org_id == org.id


def can_see(org: Organization, invitation: Invitation) -> bool:
    if org.role is Role.indirect_reseller:
        return invitation.reseller_org_id == org.id
    return invitation.provider_org_id == org.id


def can_act(org: Organization, invitation: Invitation, action: InvitationState) -> bool:
    """Whether `org` may move `invitation` to the state `action` now: the lifecycle allows
    the move from its current state, and the organization is allowed to make it."""
    if action not in allowed_next(invitation.state) or not can_see(org, invitation):
        return False
    if invitation.provider_org_id == org.id:
        return True
    return (invitation.state, action) in RESELLER_MOVES


def visible_invitations(
    session: Session,
    org: Organization,
    *,
    customer: str | None = None,
    states: Collection[InvitationState] | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[Invitation]:
    """`org`'s invitations, newest first (read in the order of an index per organization).
    `customer` matches the start of any word of the customer's name (and what follows it) or
    the start of its domain, case-insensitive (`search.matching_ids`: an index range), or its
    exact tenant id; `states` keeps only those states."""
    searching = customer is not None and customer.strip() != ""
    query = select(Invitation).where(visibility_clause(org))
    if customer is not None and searching:
        term = customer.strip().lower()
        # The matching ids first (index ranges of the search keys and the tenant id), then
        # only those rows. Visibility is checked on an expression (`+ 0`) that no index
        # serves, so neither database walks the organization's history by its own index.
        found = union(
            matching_ids(term), select(Invitation.id).where(Invitation.customer_tenant_id == term)
        )
        column = (
            Invitation.reseller_org_id
            if org.role is Role.indirect_reseller
            else Invitation.provider_org_id
        )
        query = select(Invitation).where(Invitation.id.in_(found), column + 0 == org.id)
        if states is not None:
            query = query.where(Invitation.state.in_(list(states)))
    if states is not None and len(states) > 1 and not searching:
        # The newest `limit` of each state (one index range each, read from the index alone),
        # merged, and the newest `limit` of those: sorting every invitation in these states
        # would grow with them. The outer query names only the ids picked (visibility is
        # inside each part), so the planner reads just those rows.
        tops = union_all(
            *(
                select(Invitation.id, Invitation.created_at)
                .where(visibility_clause(org), Invitation.state == state)
                .order_by(Invitation.created_at.desc(), Invitation.id.desc())
                .limit(limit)
                .subquery()
                .select()
                for state in sorted(states)
            )
        ).subquery()
        picked = select(tops.c.id).order_by(tops.c.created_at.desc(), tops.c.id.desc()).limit(limit)
        query = select(Invitation).where(Invitation.id.in_(picked))
    elif states is not None and not searching:
        query = query.where(Invitation.state.in_(list(states)))
    query = query.order_by(Invitation.created_at.desc(), Invitation.id.desc()).limit(limit)
    return list(session.scalars(query))
