"""The partner directory's audit trail (`directory_events`) and `update_organization`: the one
path `mcbot partners import` and the Slack admin section both write through (SQLite and
PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.core.store.directory import (
    import_directory,
    org_by_key,
    slack_actor,
    update_organization,
)
from bot.core.store.errors import DirectoryError
from bot.core.store.invitations import create_invitation
from bot.core.store.models import DirectoryEvent, LinkSource
from bot.core.store.testing import Database, FakeClock
from policy.facts import Role

LINK = "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship"


def _events(store: Database) -> list[tuple[str, str, str, str | None, dict[str, Any]]]:
    with store.factory() as session:
        rows = session.scalars(select(DirectoryEvent).order_by(DirectoryEvent.id))
        return [(e.org_key, e.action.value, e.source, e.user_id, e.detail) for e in rows]


def test_an_import_records_each_created_and_changed_organization(
    partners: Database, example_directory: dict[str, Any], clock: FakeClock
) -> None:
    created = _events(partners)
    assert sorted(key for key, action, source, *_ in created if action == "create") == [
        "adatum", "contoso-dist", "fabrikam", "northwind-dist", "tailspin",
    ]  # fmt: skip
    assert {source for _, _, source, user, _ in created} == {"import"}
    adatum = next(e for e in created if e[0] == "adatum")
    assert adatum[4]["role"] == [None, "direct"]

    example_directory["organizations"][4]["name"] = "Adatum Cloud Ltd"
    with partners.factory.begin() as session:
        result = import_directory(session, example_directory, clock=clock)
    assert result.updated == ["adatum"]
    # unchanged organizations leave no row; the changed one says what changed
    assert _events(partners)[len(created) :] == [
        ("adatum", "update", "import", None, {"name": ["Adatum Cloud", "Adatum Cloud Ltd"]})
    ]


def test_a_slack_change_goes_through_the_import_checks_and_is_recorded_as_the_users(
    partners: Database, clock: FakeClock
) -> None:
    actor = slack_actor("U0ADATUM", "T0ADATUM")
    with partners.factory.begin() as session:
        adatum = org_by_key(session, "adatum")
        assert adatum is not None
        update_organization(session, adatum, actor=actor, clock=clock, partner_id="99887766")
    with partners.factory() as session:
        adatum = org_by_key(session, "adatum")
        assert adatum is not None and adatum.partner_id == "99887766"
    assert _events(partners)[-1] == (
        "adatum", "update", "slack", "U0ADATUM", {"partner_id": [None, "99887766"]},
    )  # fmt: skip

    before = _events(partners)
    contoso_tenant = "6f1d2c9e-8a4b-4c1e-9f3a-2b7d5e8c1a00"
    for changes, code in (
        ({"tenant_id": contoso_tenant}, "tenant_taken"),
        ({"tenant_id": "not-a-guid"}, "not_a_guid"),
        ({"partner_id": "12ab"}, "not_digits"),
        ({"name": ""}, "string_too_short"),
        ({"slack_teams": ["T0PROVIDER"]}, "team_taken"),
    ):
        with partners.factory.begin() as session:
            adatum = org_by_key(session, "adatum")
            assert adatum is not None
            with pytest.raises(DirectoryError) as refused:
                update_organization(session, adatum, actor=actor, clock=clock, **changes)
            assert code in {issue.code for issue in refused.value.issues}
            session.rollback()
    assert _events(partners) == before


@pytest.mark.parametrize(
    ("key", "role", "code"),
    [
        ("contoso-dist", Role.direct, "still_a_provider"),  # its resellers buy through it
        ("fabrikam", Role.direct, "providers_only_for_resellers"),  # it buys through providers
        ("adatum", Role.indirect_reseller, "reseller_needs_provider"),
    ],
)
def test_a_role_change_that_would_orphan_links_is_refused(
    partners: Database, clock: FakeClock, key: str, role: Role, code: str
) -> None:
    before = _events(partners)
    with partners.factory.begin() as session:
        org = org_by_key(session, key)
        assert org is not None
        with pytest.raises(DirectoryError) as refused:
            update_organization(
                session, org, actor=slack_actor("U1", "T1"), clock=clock, role=role.value
            )
        assert code in {issue.code for issue in refused.value.issues}
        session.rollback()
    with partners.factory() as session:
        org = org_by_key(session, key)
        assert org is not None and org.role is not role
    assert _events(partners) == before


def test_a_role_change_is_refused_once_invitations_name_the_organization(
    partners: Database, clock: FakeClock
) -> None:
    actor = slack_actor("U0ADATUM", "T0ADATUM")
    with partners.factory.begin() as session:  # no invitation yet: direct → provider is fine
        adatum = org_by_key(session, "adatum")
        assert adatum is not None
        update_organization(session, adatum, actor=actor, clock=clock, role="indirect_provider")
        update_organization(session, adatum, actor=actor, clock=clock, role="direct")
        create_invitation(
            session, provider=adatum, reseller=None, customer_name="Fourth Coffee",
            customer_domain="fourthcoffee.example", link=LINK, link_source=LinkSource.api,
            created_by_user="U1", created_by_team="T1", clock=clock,
        )  # fmt: skip
    with partners.factory.begin() as session:
        adatum = org_by_key(session, "adatum")
        assert adatum is not None
        with pytest.raises(DirectoryError) as refused:
            update_organization(session, adatum, actor=actor, clock=clock, role="indirect_provider")
        assert [i.code for i in refused.value.issues] == ["role_has_invitations"]
        session.rollback()
    # the same rule for `mcbot partners import`
    entry = {
        "key": "adatum", "name": "Adatum Cloud", "role": "indirect_provider",
        "tenant_id": "5c4b3a29-1807-4f6e-9d5c-4b3a29180f6e",
    }  # fmt: skip
    with partners.factory.begin() as session, pytest.raises(DirectoryError) as by_file:
        import_directory(session, {"organizations": [entry]}, clock=clock)
    assert "role_has_invitations" in {i.code for i in by_file.value.issues}
