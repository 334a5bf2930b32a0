"""Who requests delegated admin (GDAP) for whom, by edition (policy Part B, row 8).

- Edition 2026-11 (DAP left reseller invitations on 2023-10-09): every partner requests its own
  GDAP relationship. The provider (or direct partner) is offered "Request delegated admin (GDAP)
  for <itself>" on its copies, the reseller the same for itself on its copies; neither
  relationship gives the other anything.
- Edition 2017-03 (the seed page): the direct partner (the provider) asks the customer to grant
  delegated admin to the reseller; the reseller is offered nothing.

The edition is the one in force in the workspace of whoever is offered (or clicks) the button.
What each party was granted is said only when Partner Center reports the approval of that
relationship id (bot/core/outbox/inbox.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.snapshots import InvitationView
from bot.core.store.invitations import GDAP_STATES
from bot.core.store.lifecycle import InvitationState
from bot.core.store.models import GdapParty, OrganizationTeam, WorkspaceEdition
from policy import EditionError, get_edition, resolve_edition


class GdapKind(StrEnum):
    """What a click on a GDAP button requests."""

    own = "own"  # the provider's (or direct partner's) own relationship (2026-11)
    for_reseller = "for_reseller"  # the provider asks the customer for its reseller (2017-03)
    reseller_own = "reseller_own"  # the reseller's own relationship (2026-11)

    @property
    def gdap_for(self) -> GdapParty | None:
        """What `Invitation.gdap_for` records (None: the reseller's own column is used)."""
        if self is GdapKind.own:
            return GdapParty.provider
        if self is GdapKind.for_reseller:
            return GdapParty.reseller
        return None


def partners_request_own_gdap(edition: str) -> bool:
    """Whether under `edition` each partner, resellers included, requests its own GDAP
    relationship: editions whose invitations no longer carry delegated admin (2026-11)."""
    return get_edition(edition).dap_ended_rule() is not None


def offer(view: InvitationView, side: str, edition: str) -> GdapKind | None:
    """The GDAP button `side` ("provider" | "reseller") is offered on the invitation now, under
    `edition` (the one in force in that side's workspace)."""
    own = partners_request_own_gdap(edition)
    if side == "provider":
        if view.state is not InvitationState.accepted:
            return None
        if own:
            return GdapKind.own
        return GdapKind.for_reseller if view.reseller is not None else None
    if not own or view.reseller is None or view.reseller_gdap_relationship_id:
        return None
    return GdapKind.reseller_own if view.state in GDAP_STATES else None


def editions_of(session: Session, org_ids: Iterable[int], default: str) -> dict[int, str]:
    """The dated edition in force in each organization's workspace (its teams' choice, the
    first team by id that made one), else `default` (the POLICY_EDITION setting). One query."""
    ids = list(dict.fromkeys(org_ids))
    fallback = resolve_edition(default)
    found = {org_id: fallback for org_id in ids}
    if not ids:
        return found
    rows = session.execute(
        select(OrganizationTeam.org_id, WorkspaceEdition.edition)
        .join(WorkspaceEdition, WorkspaceEdition.team_id == OrganizationTeam.team_id)
        .where(OrganizationTeam.org_id.in_(ids))
        .order_by(OrganizationTeam.team_id.desc())
    ).all()
    for org_id, chosen in rows:  # the first team by id is applied last: it wins
        try:
            found[org_id] = resolve_edition(chosen)
        except EditionError:
            continue  # an edition this version does not have any more: the setting's
    return found
