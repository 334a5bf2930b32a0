"""Two people click at once: exactly one change wins, the other is told (ConflictError)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import event

from bot.core.store.errors import ConflictError, TransitionError
from bot.core.store.invitations import create_invitation, transition
from bot.core.store.lifecycle import InvitationState
from bot.core.store.lookup import audit_trail, get_invitation
from bot.core.store.models import Invitation, LinkSource
from bot.core.store.testing import Database, FakeClock

S = InvitationState
LINK = "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship"


def _created(store: Database, clock: FakeClock) -> Invitation:
    with store.factory.begin() as session:
        return create_invitation(
            session, provider=store.orgs["contoso-dist"], customer_name="Litware",
            link=LINK, link_source=LinkSource.api, created_by_user="U0PROVUSER",
            created_by_team="T0PROVIDER", clock=clock,
        )  # fmt: skip


def test_two_sessions_same_expected_version(partners: Database, clock: FakeClock) -> None:
    invitation = _created(partners, clock)
    with partners.factory() as alice, partners.factory() as bob:
        # Both have the message showing version 1 ("created").
        assert get_invitation(alice, invitation.id).version == 1
        assert get_invitation(bob, invitation.id).version == 1
        transition(alice, invitation.id, S.cancelled, actor_user="U0ALICE",
                   actor_team="T0PROVIDER", expected_version=1)  # fmt: skip
        alice.commit()
        with pytest.raises(ConflictError) as caught:
            transition(bob, invitation.id, S.sent_to_customer, actor_user="U0BOB",
                       actor_team="T0PROVIDER", expected_version=1)  # fmt: skip
        bob.rollback()
    conflict = caught.value
    assert conflict.code == "conflict"
    assert (conflict.current_state, conflict.current_version) == ("cancelled", 2)
    with partners.factory() as session:
        trail = audit_trail(session, invitation.id)
    assert [(e.user_id, e.new_state) for e in trail] == [
        ("U0PROVUSER", S.created),
        ("U0ALICE", S.cancelled),
    ]


def test_stale_version_is_a_conflict_even_when_the_move_is_now_impossible(
    partners: Database, clock: FakeClock
) -> None:
    """The user acted on an old message: say "it changed", not "not allowed"."""
    invitation = _created(partners, clock)
    with partners.factory.begin() as session:
        transition(session, invitation.id, S.accepted, actor_user=None, actor_team=None,
                   expected_version=1)  # fmt: skip
    with partners.factory.begin() as session, pytest.raises(ConflictError) as caught:
        transition(session, invitation.id, S.cancelled, actor_user="U0BOB",
                   actor_team="T0PROVIDER", expected_version=1)  # fmt: skip
    assert caught.value.current_state == "accepted"
    with partners.factory.begin() as session, pytest.raises(TransitionError):
        transition(session, invitation.id, S.cancelled, actor_user="U0BOB",
                   actor_team="T0PROVIDER", expected_version=2)  # fmt: skip


@pytest.mark.parametrize("expected_version", [1, None])
def test_two_threads_race_and_exactly_one_wins(
    partners: Database, clock: FakeClock, expected_version: int | None
) -> None:
    """Both threads read version 1, then both reach their UPDATE together (a barrier holds
    each one just before it): the guarded UPDATE lets exactly one through."""
    invitation = _created(partners, clock)
    barrier = threading.Barrier(2, timeout=10)

    def hold_before_update(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE INVITATIONS"):
            barrier.wait()

    event.listen(partners.engine, "before_cursor_execute", hold_before_update)
    outcomes: dict[str, object] = {}

    def click(user: str, new: InvitationState) -> None:
        try:
            with partners.factory.begin() as session:
                transition(session, invitation.id, new, actor_user=user,
                           actor_team="T0PROVIDER", expected_version=expected_version)  # fmt: skip
            outcomes[user] = "won"
        except ConflictError as conflict:
            outcomes[user] = conflict

    threads = [
        threading.Thread(target=click, args=("U0ALICE", S.cancelled)),
        threading.Thread(target=click, args=("U0BOB", S.sent_to_customer)),
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
    finally:
        event.remove(partners.engine, "before_cursor_execute", hold_before_update)
    assert not any(thread.is_alive() for thread in threads)

    winners = [user for user, outcome in outcomes.items() if outcome == "won"]
    losers = [outcome for outcome in outcomes.values() if isinstance(outcome, ConflictError)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    with partners.factory() as session:
        final = get_invitation(session, invitation.id)
        trail = audit_trail(session, invitation.id)
    assert final.version == 2
    assert losers[0].current_state == final.state.value and losers[0].current_version == 2
    assert [e.user_id for e in trail] == ["U0PROVUSER", winners[0]]
