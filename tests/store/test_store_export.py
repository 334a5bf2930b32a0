"""export_invitations: CSV and JSON carry every invitation and every audit event."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.core.store.errors import StoreError
from bot.core.store.export import CSV_COLUMNS, export_invitations
from bot.core.store.invitations import create_invitation, transition
from bot.core.store.lifecycle import InvitationState
from bot.core.store.lookup import audit_trail, get_invitation
from bot.core.store.models import AuditEvent, Invitation, LinkSource
from bot.core.store.testing import Database, FakeClock

S = InvitationState
LINK = "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship&DAP=true"
FORMULA = '=HYPERLINK("http://evil.example")'


@pytest.fixture
def history(partners: Database, clock: FakeClock) -> list[int]:
    ids = []
    plan = [("fabrikam", "Café Ñandú, S.L."), (None, FORMULA), ("tailspin", "Wingtip")]
    for reseller, customer in plan:
        with partners.factory.begin() as session:
            invitation = create_invitation(
                session, provider=partners.orgs["contoso-dist"],
                reseller=partners.orgs[reseller] if reseller else None, customer_name=customer,
                link=LINK, link_source=LinkSource.api, created_by_user="U0PROVUSER",
                created_by_team="T0PROVIDER", delegated_admin=True, decision_id="dec-9",
                clock=clock,
            )  # fmt: skip
            ids.append(invitation.id)
    clock.advance(timedelta(hours=1))
    with partners.factory.begin() as session:
        transition(session, ids[0], S.sent_to_customer, actor_user="U0RESUSER",
                   actor_team="T0RESELLER", expected_version=1,
                   detail={"to": "customer", "note": "a,b\n\"c\""}, clock=clock)  # fmt: skip
        transition(session, ids[0], S.accepted, actor_user=None, actor_team=None,
                   expected_version=2, customer_tenant_id="4b2a6e33-8791-4386-bd2b-0d55baf25039",
                   clock=clock)  # fmt: skip
    return ids


def _stored(store: Database, ids: list[int]) -> dict[str, tuple[Invitation, list[AuditEvent]]]:
    with store.factory() as session:
        return {
            (inv := get_invitation(session, i)).ref: (inv, audit_trail(session, i)) for i in ids
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def test_json_round_trip(partners: Database, history: list[int]) -> None:
    with partners.factory() as session:
        data = json.loads(export_invitations(session, "json"))
    stored = _stored(partners, history)
    assert [record["ref"] for record in data["invitations"]] == list(stored)
    for record in data["invitations"]:
        invitation, events = stored[record["ref"]]
        assert record["provider"] == "contoso-dist"
        assert record["reseller"] == (invitation.reseller.key if invitation.reseller else None)
        assert record["customer_name"] == invitation.customer_name
        assert record["state"] == invitation.state.value
        assert record["version"] == invitation.version
        assert record["delegated_admin"] is True
        assert record["created_at"] == _iso(invitation.created_at)
        assert record["expires_at"] == _iso(invitation.expires_at)
        assert record["customer_tenant_id"] == invitation.customer_tenant_id
        assert record["audit"] == [
            {
                "at": _iso(event.at), "user_id": event.user_id, "team_id": event.team_id,
                "action": event.action.value,
                "old_state": event.old_state.value if event.old_state else None,
                "new_state": event.new_state.value, "decision_id": event.decision_id,
                "detail": event.detail,
            }
            for event in events
        ]  # fmt: skip


def test_csv_has_one_row_per_audit_event(partners: Database, history: list[int]) -> None:
    with partners.factory() as session:
        text = export_invitations(session, "csv")
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in reader:
        rows[row["ref"]].append(row)
    stored = _stored(partners, history)
    assert set(rows) == set(stored)
    for ref, (invitation, events) in stored.items():
        assert len(rows[ref]) == len(events)
        for row, event in zip(rows[ref], events, strict=True):
            assert row["state"] == invitation.state.value
            assert row["reseller"] == (invitation.reseller.key if invitation.reseller else "")
            assert row["event_at"] == _iso(event.at)
            assert row["event_user_id"] == (event.user_id or "")
            assert row["event_new_state"] == event.new_state.value
            assert json.loads(row["event_detail"]) == event.detail
            expected_name = invitation.customer_name
            if expected_name.startswith("="):
                expected_name = "'" + expected_name  # not run as a formula by spreadsheets
            assert row["customer_name"] == expected_name
    assert stored[next(iter(stored))][1][1].detail == {"to": "customer", "note": 'a,b\n"c"'}


def test_export_for_one_organization(partners: Database, history: list[int]) -> None:
    with partners.factory() as session:
        fabrikam = json.loads(export_invitations(session, "json", partners.orgs["fabrikam"]))
        adatum = json.loads(export_invitations(session, "json", partners.orgs["adatum"]))
    assert [record["customer_name"] for record in fabrikam["invitations"]] == ["Café Ñandú, S.L."]
    assert adatum == {"invitations": []}


def test_unknown_format(partners: Database) -> None:
    with partners.factory() as session, pytest.raises(StoreError) as caught:
        export_invitations(session, "xml")  # type: ignore[arg-type]
    assert caught.value.code == "unknown_format"
