"""Which GDAP button each side is offered (bot/core/gdap.py), by edition and state, and the
edition in force per organization read in one query."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import event

from bot.core.gdap import GdapKind, editions_of, offer, partners_request_own_gdap
from bot.core.store import db
from bot.core.store.clock import utc_now
from bot.core.store.directory import import_directory, org_by_key
from bot.core.store.lifecycle import InvitationState as S
from bot.core.store.models import WorkspaceEdition

from .test_notify_templates import view

DIRECTORY = Path(__file__).resolve().parents[2] / "docs" / "partners.example.yaml"


def test_the_editions_say_who_requests() -> None:
    assert partners_request_own_gdap("2026-11")
    assert not partners_request_own_gdap("2017-03")


@pytest.mark.parametrize("state", list(S))
def test_offers_by_edition_side_and_state(state: S) -> None:
    with_reseller = view("C", reseller="Fabrikam", state=state.value)
    direct = view("C", reseller=None, state=state.value)
    accepted = state is S.accepted
    customer_there = state in (S.accepted, S.delegated_admin_requested, S.delegated_admin_granted)

    assert offer(with_reseller, "provider", "2026-11") == (GdapKind.own if accepted else None)
    assert offer(direct, "provider", "2026-11") == (GdapKind.own if accepted else None)
    assert offer(with_reseller, "provider", "2017-03") == (
        GdapKind.for_reseller if accepted else None
    )
    assert offer(direct, "provider", "2017-03") is None
    assert offer(with_reseller, "reseller", "2026-11") == (
        GdapKind.reseller_own if customer_there else None
    )
    assert offer(with_reseller, "reseller", "2017-03") is None
    assert offer(direct, "reseller", "2026-11") is None
    recorded = dataclasses.replace(with_reseller, reseller_gdap_relationship_id="rel-1")
    assert offer(recorded, "reseller", "2026-11") is None  # recorded: no second button


def test_editions_of_reads_every_organization_in_one_query(database_url: str) -> None:
    engine = db.make_engine(database_url)
    sessions = db.make_session_factory(engine)
    with sessions.begin() as session:
        import_directory(session, yaml.safe_load(DIRECTORY.read_text("utf-8")))
        session.add(
            WorkspaceEdition(
                team_id="T0RESELLER", edition="2017-03", updated_at=utc_now(), updated_by="U"
            )
        )
    statements: list[str] = []

    def listen(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", listen)
    try:
        with sessions() as session:
            ids = [org_by_key(session, key).id for key in ("contoso-dist", "fabrikam")]  # type: ignore[union-attr]
            statements.clear()
            found = editions_of(session, ids, "current")
            assert len(statements) == 1
            assert found == {ids[0]: "2026-11", ids[1]: "2017-03"}
            assert editions_of(session, ids, "2017-03")[ids[0]] == "2017-03"  # the setting
            assert editions_of(session, [], "current") == {}
    finally:
        event.remove(engine, "before_cursor_execute", listen)
        engine.dispose()
