"""The notification surfaces render and validate with edge-case data (empty, long, unicode,
markup) in every language: notification.json.j2, unmatched.json.j2, and the "Request delegated
admin" button of invitation.json.j2."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.core.snapshots import InvitationView, OrgView
from bot.core.store.lifecycle import InvitationState
from bot.core.store.messages import MessageLocation
from bot.core.store.models import MessagePurpose
from bot.core.ui import surfaces
from bot.core.ui.blockkit import BUTTON_TEXT_MAX, OPTION_TEXT_MAX, OPTION_VALUE_MAX
from bot.core.ui.i18n import LANGUAGES
from bot.core.ui.metadata import LinkChoice
from policy import Role

NASTY = [
    "W",
    "<!channel> & <@U123> <https://evil.example|click here> *bold* _it_ `code`",
    "Ñandú Ünïcödé 日本語 🎉👩‍👩‍👧‍👦 " * 6,
    "x" * 200,
    '"quotes" \\backslash\\ {{ jinja }} {% raw %} 100% %(name)s',
]
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CHANGES = [
    "accepted",
    "delegated_admin_requested",
    "delegated_admin_granted",
    "reseller_gdap_requested",
    "reseller_gdap_granted",
    "access_ended",
]
OFFERS = [None, "own", "for_reseller", "reseller_own"]
REL = "5d027261-d21f-4aa9-b7db-7fa1f56fb163-8777b240-c6f0-4469-9e98-a3205431b836"
AUDIENCES = ["provider", "dm", "reseller"]


def org(name: str, role: Role, channel: str | None) -> OrgView:
    return OrgView(3, "org", name, role, "6f1d2c9e-8a4b-4c1e-9f3a-2b7d5e8c1a00", "1234567", channel)


def view(
    customer: str, *, reseller: str | None, state: str = "accepted", **gdap: Any
) -> InvitationView:
    return InvitationView(
        id=2_147_483_000,
        ref="INV-7K3Q9",
        state=InvitationState(state),
        version=99_999,
        customer_name=customer,
        customer_domain="contoso.onmicrosoft.com",
        customer_tenant_id="4b2a6e33-8791-4386-bd2b-0d55baf25039",
        delegated_admin=False,
        link="https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship",
        link_source="format",
        created_at=NOW,
        updated_at=NOW,
        expires_at=None,
        created_by_user="U0CREATOR1",
        requested_by_user=None,
        decision_id=None,
        provider=org("Contoso <Distribution> & Co", Role.indirect_provider, "C0PROV"),
        reseller=org(reseller, Role.indirect_reseller, "C0RES") if reseller is not None else None,
        locations=(MessageLocation("C0PROV", "1.2", MessagePurpose.provider),),
        **gdap,
    )


def shown_text(message: dict[str, Any]) -> str:
    """Everything a reader sees outside buttons (button values are opaque JSON)."""
    return json.dumps([b for b in message["blocks"] if b["type"] != "actions"]) + message["text"]


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


#: whose GDAP relationships the invitation records: none; the provider's own (2026-11); one
#: the provider asked for its reseller (2017-03); both parties' own (2026-11)
RECORDS: list[dict[str, Any]] = [
    {},
    {"gdap_relationship_id": REL, "gdap_for": "provider"},
    {"gdap_relationship_id": REL, "gdap_for": "reseller"},
    {
        "gdap_relationship_id": REL,
        "gdap_for": "provider",
        "reseller_gdap_relationship_id": REL + "0",
        "reseller_gdap_granted": True,
    },
]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.parametrize("customer", NASTY)
def test_notifications_validate_and_escape(lang: str, change: Any, customer: str) -> None:
    for reseller in (None, "Fabrikam <IT> " + "I" * 90):
        for records in RECORDS:
            for audience in AUDIENCES:
                for gdap in OFFERS:
                    url = "https://admin.microsoft.com/x" if gdap else None
                    message = surfaces.notification_message(
                        view(customer, reseller=reseller, **records),
                        change=change,
                        audience=audience,  # type: ignore[arg-type]
                        event_name=customer or None,
                        linked_by="U0LINKER1" if gdap else None,
                        approval_url=url,
                        gdap=gdap,
                        lang=lang,
                    )
                    shown = shown_text(message)
                    assert "<!channel>" not in shown and "<@U123>" not in shown
                    assert "<https://evil" not in shown
                    assert "granted you" not in shown  # never a grant to the reader
                    offered = buttons(message)
                    wanted = gdap == "own" or (gdap is not None and reseller is not None)
                    assert bool(offered) == wanted, (gdap, reseller)
                    for button in offered:
                        assert button["action_id"] == "inv_request_gdap"
                        assert len(button["text"]["text"]) <= BUTTON_TEXT_MAX


def test_the_requested_and_approved_notices_say_who_requested_what_for_whom() -> None:
    def said(change: Any, audience: Any, **records: Any) -> str:
        return surfaces.notification_message(
            view("Woodgrove", reseller="Fabrikam IT", **records), change=change, audience=audience
        )["text"]

    own = {"gdap_relationship_id": REL, "gdap_for": "provider"}
    asked = {"gdap_relationship_id": REL, "gdap_for": "reseller"}
    theirs = {"reseller_gdap_relationship_id": REL}
    provider = "Contoso &lt;Distribution&gt; &amp; Co"
    assert said("delegated_admin_requested", "provider", **own).startswith(
        f":hourglass: {provider} requested a GDAP relationship for {provider} with *Woodgrove*"
    )
    assert "It gives you no access" in said("delegated_admin_requested", "reseller", **own)
    assert said("delegated_admin_granted", "reseller", **own).startswith(
        f":white_check_mark: *Woodgrove* approved the GDAP relationship {provider} requested for"
        f" {provider}"
    )
    assert f"{provider} asked *Woodgrove* for delegated admin for Fabrikam IT" in said(
        "delegated_admin_requested", "provider", **asked
    )
    granted = said("delegated_admin_granted", "reseller", **asked)
    assert f"approved the delegated admin relationship {provider} asked for you" in granted
    assert f"It is {provider}'s relationship" in granted
    for audience in AUDIENCES:
        assert "Fabrikam IT requested a GDAP relationship for Fabrikam IT" in said(
            "reseller_gdap_requested", audience, **theirs
        )
        assert "approved the GDAP relationship Fabrikam IT requested for Fabrikam IT" in said(
            "reseller_gdap_granted", audience, **theirs
        )
    spanish = surfaces.notification_message(
        view("Woodgrove", reseller="Fabrikam IT", **theirs),
        change="reseller_gdap_requested",
        audience="reseller",
        lang="es",
    )["text"]
    assert "Fabrikam IT solicitó una relación GDAP para Fabrikam IT con *Woodgrove*" in spanish
    # a DAP approval (no GDAP relationship recorded) names no holder it cannot know
    assert "approved the delegated admin privileges (DAP) asked in the invitation" in said(
        "delegated_admin_granted", "reseller"
    )


def test_the_button_carries_the_invitation_and_its_version() -> None:
    labels = {
        "for_reseller": "Request delegated admin for Fabrikam IT",
        "own": "Request delegated admin (GDAP) for Contoso <Distribution> & Co",
        "reseller_own": "Request delegated admin (GDAP) for Fabrikam IT",
    }
    for gdap, label in labels.items():
        message = surfaces.notification_message(
            view("Contoso", reseller="Fabrikam IT"), change="accepted", audience="dm", gdap=gdap
        )
        (button,) = buttons(message)
        assert button["text"]["text"] == label
        assert json.loads(button["value"]) == {"i": 2_147_483_000, "v": 99_999}
        assert "<#C0PROV>" in json.dumps(message["blocks"])  # a DM says where the message is


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("customer", NASTY)
def test_the_invitation_message_offers_delegated_admin_after_acceptance(
    lang: str, customer: str
) -> None:
    for reseller in (None, "Fabrikam " + "I" * 90):
        for records in RECORDS:
            accepted = view(customer, reseller=reseller, **records)
            for side in ("provider", "reseller"):
                for gdap in OFFERS:
                    message = surfaces.invitation_message(accepted, side=side, lang=lang, gdap=gdap)
                    offered = [b for b in buttons(message) if b["action_id"] == "inv_request_gdap"]
                    wanted = gdap == "own" or (gdap is not None and reseller is not None)
                    assert len(offered) == (1 if wanted else 0)
                    for button in offered:
                        assert len(button["text"]["text"]) <= BUTTON_TEXT_MAX
                    if records and reseller:
                        assert "Delegated admin (GDAP)" in shown_text(message) or lang != "en"
    created = dataclasses.replace(view("C", reseller="F"), state=InvitationState.created)
    assert "inv_request_gdap" not in json.dumps(
        surfaces.invitation_message(created, side="provider")
    )


def options(n: int, name: str) -> list[dict[str, str]]:
    big = 2_147_483_647
    return [
        {
            "text": f"INV-{i:05d} · {name} (contoso.onmicrosoft.com)",
            "value": LinkChoice(e=big, i=big - i).dump(),
        }
        for i in range(n)
    ]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", NASTY)
def test_unmatched_acceptances_validate_with_0_1_or_100_options(lang: str, name: str) -> None:
    for count, more in ((0, 0), (1, 0), (100, 2345)):
        for changed_at in (None, NOW):
            event = {
                "id": 2_147_483_647,
                "name": name,
                "customer_id": None if count == 1 else "4b2a6e33-8791-4386-bd2b-0d55baf25039",
                "company": name or None,
                "domain": name[:253] or None,
                "changed_at": changed_at,
            }
            message = surfaces.unmatched_message(
                event=event, options=options(count, name), more=more, lang=lang
            )
            shown = shown_text(message)
            assert "<!channel>" not in shown and "<https://evil" not in shown
            selects = buttons(message)
            assert len(selects) == (1 if count else 0)
            for select in selects:
                assert select["action_id"] == "link_acceptance"
                assert len(select["options"]) == count
                for option in select["options"]:
                    assert len(option["text"]["text"]) <= OPTION_TEXT_MAX
                    assert len(option["value"]) <= OPTION_VALUE_MAX
            if more:
                assert "2345" in shown
            linked = surfaces.unmatched_message(
                event=event, options=[], linked={"ref": "INV-7K3Q9", "user": "U0LINK"}, lang=lang
            )
            assert buttons(linked) == [] and "<@U0LINK>" in shown_text(linked)
