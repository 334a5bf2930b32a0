"""The invitation lifecycle as data: states, allowed transitions, and what a reseller may do.

Pure: no I/O, no database. The service layer (`bot.core.store.invitations`) checks every change
against these tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from bot.core.store.errors import TransitionError


class InvitationState(StrEnum):
    requested = "requested"  # a reseller asked its provider for an invitation
    declined = "declined"  # the provider refused the request
    created = "created"  # the link exists
    sent = "sent"  # sent (to whom was not recorded: invitations from before 0007 only)
    sent_to_reseller = "sent_to_reseller"  # the provider delivered it to its reseller
    sent_to_customer = "sent_to_customer"  # the customer has the link
    accepted = "accepted"  # the customer accepted the reseller relationship
    delegated_admin_requested = "delegated_admin_requested"  # GDAP relationship sent
    delegated_admin_granted = "delegated_admin_granted"  # GDAP approved
    cancelled = "cancelled"
    expired = "expired"


S = InvitationState

TRANSITIONS: Final[Mapping[InvitationState, frozenset[InvitationState]]] = MappingProxyType(
    {
        S.requested: frozenset({S.created, S.declined, S.cancelled}),
        S.created: frozenset(
            {S.sent_to_reseller, S.sent_to_customer, S.accepted, S.cancelled, S.expired}
        ),
        S.sent_to_reseller: frozenset({S.sent_to_customer, S.accepted, S.cancelled, S.expired}),
        S.sent_to_customer: frozenset({S.accepted, S.cancelled, S.expired}),
        S.sent: frozenset({S.sent_to_customer, S.accepted, S.cancelled, S.expired}),
        S.accepted: frozenset({S.delegated_admin_requested, S.delegated_admin_granted}),
        S.delegated_admin_requested: frozenset({S.delegated_admin_granted}),
        S.declined: frozenset(),
        S.cancelled: frozenset(),
        S.expired: frozenset(),
        S.delegated_admin_granted: frozenset(),
    }
)

TERMINAL: Final[frozenset[InvitationState]] = frozenset(
    state for state, following in TRANSITIONS.items() if not following
)

EXPIRABLE: Final[frozenset[InvitationState]] = frozenset(
    {S.created, S.sent, S.sent_to_reseller, S.sent_to_customer}
)
"""States whose link can run out: `expire_due` moves them to `expired`."""

RESELLER_MOVES: Final[frozenset[tuple[InvitationState, InvitationState]]] = frozenset(
    {
        (S.created, S.sent_to_customer),  # "I sent it to the customer"
        (S.sent_to_reseller, S.sent_to_customer),
        (S.sent, S.sent_to_customer),
        (S.requested, S.cancelled),  # withdraw my own request
    }
)
"""The only moves a reseller may make on an invitation where it is the reseller. The provider
may make every allowed move on its own invitations."""


def allowed_next(state: InvitationState) -> frozenset[InvitationState]:
    return TRANSITIONS[state]


def is_terminal(state: InvitationState) -> bool:
    return state in TERMINAL


def check_transition(old: InvitationState, new: InvitationState) -> None:
    """Raise `TransitionError` (code `invalid_transition`) unless `old` → `new` is allowed."""
    if new not in TRANSITIONS[old]:
        raise TransitionError(old.value, new.value)
