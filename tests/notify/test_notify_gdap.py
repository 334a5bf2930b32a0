"""Delegated admin (GDAP) by the right party, end to end on the Slack stand-in, the Microsoft
Graph stand-in (a real GraphGdapClient against a local HTTP server) and signed Partner Center
webhooks:

- edition 2026-11: the provider (or direct partner) requests GDAP for itself, through Graph when
  it is the organization whose Partner Center credentials the deployment holds
  (PARTNER_ORG_KEY), else by recording the relationship it created; the reseller records its
  own relationship (no Graph for it here);
- edition 2017-03: the provider asks the customer for delegated admin for its reseller;
- nobody is told of a grant before Partner Center reports that relationship's approval, and a
  click by the wrong organization (forged or stale) is refused without changing anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bot.core.partner_center.graph import GraphGdapClient
from bot.core.partner_center.settings import PartnerCenterSettings
from bot.core.snapshots import InvitationView
from bot.core.store.directory import import_directory, org_by_key
from bot.core.store.invitations import create_invitation
from bot.core.store.lookup import audit_trail, get_invitation
from bot.core.store.messages import record_message
from bot.core.store.models import LinkSource, MessagePurpose, WorkspaceEdition
from bot.core.ui import surfaces
from bot.testkit import block_actions_payload, text_input, view_submission_payload
from bot.testkit import notify as tk
from bot.testkit.harness import BotHarness, ack_json
from bot.testkit.partner_center import GraphStandIn

from .helpers import drained, fast_settings, wait_until

DIRECTORY = Path(__file__).resolve().parents[2] / "docs" / "partners.example.yaml"
CUSTOMER = "4b2a6e33-8791-4386-bd2b-0d55baf25039"
PROVIDER_REL = "5d027261-d21f-4aa9-b7db-7fa1f56fb163-8777b240-c6f0-4469-9e98-a3205431b836"
RESELLER_REL = "9a7c3e55-1d2b-4f6a-b8c9-0e1f2a3b4c5d-4b2a6e33-8791-4386-bd2b-0d55baf25039"
PROVIDER = ("U0PROVUSER", "T0PROVIDER", "C0PROVNOTIF")
RESELLER = ("U0RESUSER", "T0RESELLER", "C0RESNOTIF")
DIRECT = ("U0ADATUMUSR", "T0ADATUM", "C0ADATUMNOT")


# ------------------------------------------------------------------------------ stand-ins
@pytest.fixture(scope="module")
def graph_server() -> Iterator[GraphStandIn]:
    with GraphStandIn() as server:
        yield server


@pytest.fixture
def graph(graph_server: GraphStandIn) -> GraphStandIn:
    graph_server.reset()
    return graph_server


def graph_client(server: GraphStandIn) -> GraphGdapClient:
    """The bot's real Graph client, with the deployment's credentials, against the stand-in."""
    settings = PartnerCenterSettings(_env_file=None, **server.settings_overrides())
    return GraphGdapClient(settings, httpx.AsyncClient())


def created(server: GraphStandIn) -> list[dict[str, Any]]:
    return [call.body for call in server.made("POST")]


# ------------------------------------------------------------------------------ helpers
def set_editions(bot: BotHarness, **teams: str) -> None:
    with bot.services.sessions.begin() as session:
        for team, edition in teams.items():
            session.add(
                WorkspaceEdition(
                    team_id=team, edition=edition, updated_at=bot.services.clock(), updated_by="U0"
                )
            )


def invitation(bot: BotHarness, *, provider: str = "contoso-dist", reseller: bool = True) -> int:
    """An invitation for Woodgrove <Bank>, posted in each party's channel."""
    # the strict Slack stand-in creates nothing on first mention: the channels and people exist
    for user, team, channel in (PROVIDER, RESELLER, DIRECT):
        bot.slack.set_channel(channel, name=channel.lower())
        bot.slack.set_user(user, team_id=team)
    with bot.services.sessions.begin() as session:
        import_directory(session, yaml.safe_load(DIRECTORY.read_text("utf-8")))
        provider_org = org_by_key(session, provider)
        assert provider_org is not None
        inv = create_invitation(
            session,
            provider=provider_org,
            reseller=org_by_key(session, "fabrikam") if reseller else None,
            customer_name="Woodgrove <Bank>",
            link=tk.LINK,
            link_source=LinkSource.documented_format,
            created_by_user="U0PROVUSER",
            created_by_team=provider_org.teams[0].team_id,
            customer_tenant_id=CUSTOMER,
        )
        view = InvitationView.of(inv)
        places = [(provider_org.notification_channel, "provider")]
        if reseller:
            places.append(("C0RESNOTIF", "reseller"))
        for channel, side in places:
            assert channel is not None
            message = surfaces.invitation_message(view, side=side)
            posted = bot.slack.workspace.post(
                channel, {"text": message["text"], "blocks": message["blocks"]}
            )
            record_message(session, inv.id, channel, posted["ts"], MessagePurpose(side))
        return inv.id


def accept(bot: BotHarness, *, posts: int) -> dict[str, dict[str, Any]]:
    """Partner Center reports the acceptance: the notifications, by channel (the provider's
    thread reply under "thread")."""
    assert bot.webhook(tk.acceptance(CUSTOMER, name=tk.INDIRECT_ACCEPTED)).status_code == 200
    calls = bot.slack.wait_for("chat.postMessage", count=posts, delivered=True)
    wait_until(lambda: drained(bot))
    found = {}
    for call in calls:
        key = "thread" if call.params.get("thread_ts") else call.params["channel"]
        found[key] = call.params
    bot.slack.reset()
    return found


def gdap_buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        element
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == "inv_request_gdap"
    ]


def click(bot: BotHarness, value: str, who: tuple[str, str, str]) -> None:
    user, team, channel = who
    payload = block_actions_payload(
        "inv_request_gdap",
        value,
        user_id=user,
        team_id=team,
        channel_id=channel,
        response_url=bot.slack.response_url(),
    )
    assert bot.interact(payload).status_code == 200


def submit(bot: BotHarness, opened: Any, typed: str, who: tuple[str, str, str]) -> Any:
    user, team, _ = who
    values = {"relationship": {"relationship": text_input(typed)}}
    payload = view_submission_payload(
        "gdap_modal",
        values,
        opened.params["view"]["private_metadata"],
        user_id=user,
        team_id=team,
        view_id=opened.response["view"]["id"],
    )
    response = bot.interact(payload)
    assert response.status_code == 200
    return ack_json(response)


def copies(bot: BotHarness) -> dict[str, dict[str, Any]]:
    """The invitation's messages as they stand now, by channel."""
    return {
        m["channel"]: m
        for m in bot.slack.messages()
        if any(b.get("block_id") == "inv_title" for b in m["blocks"])
    }


def texts(calls: list[Any]) -> str:
    return "\n".join(call.params["text"] for call in calls)


def row(bot: BotHarness, invitation_id: int) -> Any:
    with bot.services.sessions() as session:
        return get_invitation(session, invitation_id)


def approved(bot: BotHarness, relationship_id: str, posts: int) -> list[Any]:
    assert bot.webhook(tk.gdap_event(relationship_id)).status_code == 200
    calls = bot.slack.wait_for("chat.postMessage", count=posts, delivered=True)
    wait_until(lambda: drained(bot))
    return calls


# ------------------------------------------------------------------------------ 2026-11
def test_2026_the_provider_requests_its_own_gdap_through_graph(
    make_bot: Callable[..., BotHarness], graph: GraphStandIn
) -> None:
    bot = make_bot(
        settings=fast_settings(partner_org_key="contoso-dist"),
        services_options={"graph": graph_client(graph)},
    )
    invitation_id = invitation(bot)
    ref = row(bot, invitation_id).ref
    posted = accept(bot, posts=3)

    (own,) = gdap_buttons(posted["thread"]["blocks"])
    assert own["text"]["text"] == "Request delegated admin (GDAP) for Contoso Distribution"
    (theirs,) = gdap_buttons(posted["C0RESNOTIF"]["blocks"])
    assert theirs["text"]["text"] == "Request delegated admin (GDAP) for Fabrikam IT"
    assert "request your own GDAP relationship" in posted["C0RESNOTIF"]["text"]
    assert "can now ask the customer to grant you" not in posted["C0RESNOTIF"]["text"]
    assert [b["text"]["text"] for b in gdap_buttons(copies(bot)["C0RESNOTIF"]["blocks"])] == [
        "Request delegated admin (GDAP) for Fabrikam IT"
    ]

    click(bot, own["value"], PROVIDER)
    notice = bot.slack.wait_for("response_url")[0].params["text"]
    ((rel, made),) = graph.relationships.items()  # created in the deployment's partner tenant
    assert (made["displayName"], made["customer"]) == (
        f"{ref} Contoso Distribution",
        {"tenantId": CUSTOMER},
    )
    assert made["status"] == "approvalPending"  # locked for the customer's approval
    assert notice.startswith(
        f"Contoso Distribution requested a GDAP relationship for Contoso Distribution ({ref}); "
        "the customer's admin must approve it: "
    )
    assert f"granularAdminRelationships/{rel}" in notice

    calls = bot.slack.wait_for("chat.postMessage", count=3, delivered=True)
    wait_until(lambda: drained(bot))
    said = texts(calls)
    assert "Contoso Distribution requested a GDAP relationship for Contoso Distribution" in said
    assert "granted" not in said and "approved" not in said
    reseller_note = next(c.params for c in calls if c.params["channel"] == "C0RESNOTIF")
    assert "It gives you no access: you request your own." in reseller_note["text"]
    assert rel not in json.dumps(reseller_note["blocks"])  # the link is the provider's to send
    thread = next(c.params for c in calls if c.params.get("thread_ts"))
    assert f"granularAdminRelationships/{rel}" in json.dumps(thread["blocks"])
    stored = row(bot, invitation_id)
    assert (stored.state.value, stored.gdap_relationship_id, stored.gdap_for.value) == (
        "delegated_admin_requested",
        rel,
        "provider",
    )
    assert stored.reseller_gdap_relationship_id is None
    last = audit_trail(bot.services.sessions(), invitation_id)[-1]
    assert last.detail["requested_by"] == last.detail["requested_for"] == "contoso-dist"

    # the old button again: refused, nothing more created in Graph
    click(bot, own["value"], PROVIDER)
    assert (
        "delegated admin requested" in bot.slack.wait_for("response_url", count=2)[1].params["text"]
    )
    assert len(created(graph)) == 1

    bot.slack.reset()
    graph.approve(rel)
    said = texts(approved(bot, rel, posts=3))
    assert (
        "approved the GDAP relationship Contoso Distribution requested for Contoso Distribution"
        in said
    )
    assert "granted you" not in said
    assert row(bot, invitation_id).state.value == "delegated_admin_granted"


def test_2026_the_reseller_records_its_own_relationship(
    make_bot: Callable[..., BotHarness], graph: GraphStandIn
) -> None:
    """Graph is configured for the provider (PARTNER_ORG_KEY): the reseller still gets the
    manual form, and nothing reaches Graph on its behalf."""
    bot = make_bot(
        settings=fast_settings(partner_org_key="contoso-dist"),
        services_options={"graph": graph_client(graph)},
    )
    invitation_id = invitation(bot)
    ref = row(bot, invitation_id).ref
    posted = accept(bot, posts=3)
    (theirs,) = gdap_buttons(posted["C0RESNOTIF"]["blocks"])
    version = row(bot, invitation_id).version

    click(bot, theirs["value"], RESELLER)
    opened = bot.slack.wait_for("views.open")[0]
    shown = json.dumps(opened.params["view"]["blocks"])
    assert "Fabrikam IT's own Partner Center" in shown and "&lt;Bank&gt;" in shown
    assert "in your notification channel" in shown
    assert graph.calls == []

    assert submit(bot, opened, f" {RESELLER_REL} ", RESELLER) == {}
    told = bot.slack.wait_for("chat.postEphemeral")[0].params
    assert (told["user"], told["channel"]) == ("U0RESUSER", "C0RESNOTIF")
    assert f"Fabrikam IT requested a GDAP relationship for Fabrikam IT ({ref})" in told["text"]
    calls = bot.slack.wait_for("chat.postMessage", count=2, delivered=True)
    wait_until(lambda: drained(bot))
    assert not [c for c in calls if c.params["channel"] == "U0PROVUSER"]  # no DM about it
    reseller_post = next(c.params for c in calls if c.params["channel"] == "C0RESNOTIF")
    thread = next(c.params for c in calls if c.params.get("thread_ts"))
    for said in (reseller_post["text"], thread["text"]):
        assert "Fabrikam IT requested a GDAP relationship for Fabrikam IT" in said
        assert "granted" not in said and "approved" not in said
    assert f"granularAdminRelationships/{RESELLER_REL}" in json.dumps(reseller_post["blocks"])
    assert RESELLER_REL not in json.dumps(thread["blocks"])
    stored = row(bot, invitation_id)
    assert (stored.state.value, stored.version) == ("accepted", version)  # the provider's stays
    assert (stored.reseller_gdap_relationship_id, stored.gdap_relationship_id) == (
        RESELLER_REL,
        None,
    )
    last = audit_trail(bot.services.sessions(), invitation_id)[-1]
    assert (last.user_id, last.detail["gdap_for"]) == ("U0RESUSER", "reseller")
    now = copies(bot)
    assert gdap_buttons(now["C0RESNOTIF"]["blocks"]) == []  # its button is gone
    assert "Fabrikam IT for Fabrikam IT: waiting for the customer's approval" in json.dumps(
        now["C0RESNOTIF"]["blocks"]
    )
    assert len(gdap_buttons(now["C0PROVNOTIF"]["blocks"])) == 1  # the provider's is still there

    click(bot, theirs["value"], RESELLER)  # again: recorded already, nothing changes
    notice = bot.slack.wait_for("response_url")[0].params["text"]
    assert "recorded already" in notice

    # the provider's own button still works (the reseller's record left the version alone)
    (own,) = gdap_buttons(posted["thread"]["blocks"])
    click(bot, own["value"], PROVIDER)
    wait_until(lambda: row(bot, invitation_id).state.value == "delegated_admin_requested")
    wait_until(lambda: drained(bot))
    assert [body["displayName"] for body in created(graph)] == [f"{ref} Contoso Distribution"]

    bot.slack.reset()
    said = texts(approved(bot, RESELLER_REL, posts=2))
    assert "approved the GDAP relationship Fabrikam IT requested for Fabrikam IT" in said
    assert "granted you" not in said
    stored = row(bot, invitation_id)
    assert stored.reseller_gdap_granted_at is not None
    assert stored.state.value == "delegated_admin_requested"  # the provider's: not approved
    assert "Fabrikam IT for Fabrikam IT: approved" in json.dumps(
        copies(bot)["C0RESNOTIF"]["blocks"]
    )

    bot.slack.reset()  # Partner Center delivers it again: said once only
    assert bot.webhook(tk.gdap_event(RESELLER_REL)).status_code == 200
    wait_until(lambda: drained(bot))
    assert bot.slack.calls("chat.postMessage") == []


def test_2026_a_direct_partners_own_customer_gets_the_button(
    make_bot: Callable[..., BotHarness],
) -> None:
    bot = make_bot()
    invitation_id = invitation(bot, provider="adatum", reseller=False)
    ref = row(bot, invitation_id).ref
    posted = accept(bot, posts=2)
    (own,) = gdap_buttons(posted["thread"]["blocks"])
    assert own["text"]["text"] == "Request delegated admin (GDAP) for Adatum Cloud"

    click(bot, own["value"], DIRECT)  # no Graph here: the form
    opened = bot.slack.wait_for("views.open")[0]
    assert "Adatum Cloud's own Partner Center" in json.dumps(opened.params["view"]["blocks"])
    assert submit(bot, opened, PROVIDER_REL, DIRECT) == {}
    told = bot.slack.wait_for("chat.postEphemeral")[0].params["text"]
    assert f"Adatum Cloud requested a GDAP relationship for Adatum Cloud ({ref})" in told
    wait_until(lambda: drained(bot))
    stored = row(bot, invitation_id)
    assert (stored.gdap_relationship_id, stored.gdap_for.value) == (PROVIDER_REL, "provider")


def test_2017_a_direct_partners_own_customer_gets_no_button(
    make_bot: Callable[..., BotHarness],
) -> None:
    bot = make_bot()
    set_editions(bot, T0ADATUM="2017-03")
    invitation(bot, provider="adatum", reseller=False)
    posted = accept(bot, posts=2)
    assert gdap_buttons(posted["thread"]["blocks"]) == []


# ------------------------------------------------------------------------------ 2017-03
@pytest.mark.parametrize("with_graph", [False, True])
def test_2017_the_provider_asks_the_customer_for_its_reseller(
    make_bot: Callable[..., BotHarness], graph: GraphStandIn, with_graph: bool
) -> None:
    options = {"graph": graph_client(graph)} if with_graph else {}
    bot = make_bot(settings=fast_settings(partner_org_key="contoso-dist"), services_options=options)
    set_editions(bot, T0PROVIDER="2017-03", T0RESELLER="2017-03")
    invitation_id = invitation(bot)
    ref = row(bot, invitation_id).ref
    posted = accept(bot, posts=3)
    assert gdap_buttons(posted["C0RESNOTIF"]["blocks"]) == []
    assert "can now ask the customer to grant you" in posted["C0RESNOTIF"]["text"]
    (button,) = gdap_buttons(posted["thread"]["blocks"])
    assert button["text"]["text"] == "Request delegated admin for Fabrikam IT"

    if with_graph:
        click(bot, button["value"], PROVIDER)
        told = bot.slack.wait_for("response_url")[0].params["text"]
        ((rel, made),) = graph.relationships.items()
        assert made["displayName"] == f"{ref} Fabrikam IT"  # still in the provider's tenant
        graph.approve(rel)
    else:
        click(bot, button["value"], PROVIDER)
        opened = bot.slack.wait_for("views.open")[0]
        shown = json.dumps(opened.params["view"]["blocks"])
        assert "request a granular admin relationship (GDAP)" in shown
        assert "the roles Fabrikam IT needs" in shown
        for typed in ("", "rel id with spaces", "<!channel>", "x" * 101):
            answer = submit(bot, opened, typed, PROVIDER)
            assert answer["response_action"] == "errors"
            assert "letters, digits and '-'" in answer["errors"]["relationship"]
        assert row(bot, invitation_id).state.value == "accepted"
        assert submit(bot, opened, PROVIDER_REL, PROVIDER) == {}
        told = bot.slack.wait_for("chat.postEphemeral")[0].params["text"]
        assert graph.calls == []
        rel = PROVIDER_REL
    assert told.startswith(
        f"Contoso Distribution asked the customer for delegated admin for Fabrikam IT ({ref}); "
        "the customer's admin must approve it: "
    )
    calls = bot.slack.wait_for("chat.postMessage", count=3, delivered=True)
    wait_until(lambda: drained(bot))
    reseller_note = next(c.params for c in calls if c.params["channel"] == "C0RESNOTIF")
    assert "asked *Woodgrove &lt;Bank&gt;* for delegated admin for you" in reseller_note["text"]
    assert "Nothing is granted until the customer's admin approves" in reseller_note["text"]
    stored = row(bot, invitation_id)
    assert (stored.state.value, stored.gdap_for.value) == ("delegated_admin_requested", "reseller")

    bot.slack.reset()
    calls = approved(bot, rel, posts=3)
    said = texts(calls)
    assert "granted you" not in said
    reseller_note = next(c.params for c in calls if c.params["channel"] == "C0RESNOTIF")
    assert (
        "approved the delegated admin relationship Contoso Distribution asked for you"
        in (reseller_note["text"])
    )
    assert "It is Contoso Distribution's relationship" in reseller_note["text"]
    thread = next(c.params for c in calls if c.params.get("thread_ts"))
    assert (
        "approved the delegated admin relationship Contoso Distribution asked for Fabrikam IT"
        in thread["text"]
    )
    assert row(bot, invitation_id).state.value == "delegated_admin_granted"


# ------------------------------------------------------------------------------ refused
def test_clicks_by_the_wrong_organization_are_refused(
    make_bot: Callable[..., BotHarness], graph: GraphStandIn
) -> None:
    bot = make_bot(
        settings=fast_settings(partner_org_key="contoso-dist"),
        services_options={"graph": graph_client(graph)},
    )
    invitation_id = invitation(bot)
    posted = accept(bot, posts=3)
    (own,) = gdap_buttons(posted["thread"]["blocks"])
    before = row(bot, invitation_id)

    # another provider of the same reseller, and another reseller: they cannot see it
    click(bot, own["value"], ("U0NWUSER", "T0NORTHWIND", "C0NWNOTIF"))
    click(bot, own["value"], ("U0TSUSER", "T0TAILSPIN", "C0TSNOTIF"))
    notices = bot.slack.wait_for("response_url", count=2)
    for notice in notices:
        assert "granted" not in notice.params["text"]
    assert notices[0].params["text"] == notices[1].params["text"]
    # a workspace in no organization
    click(bot, own["value"], ("U0STRANGER", "T0STRANGER", "C0STRANGER"))
    assert "directory" in bot.slack.wait_for("response_url", count=3)[2].params["text"]

    # under 2017-03 the reseller has no button: a forged click is told who asks for it
    set_editions(bot, T0RESELLER="2017-03")
    click(bot, own["value"], RESELLER)
    told = bot.slack.wait_for("response_url", count=4)[3].params["text"]
    assert "Contoso Distribution asks the customer for delegated admin for you" in told

    assert bot.slack.calls("views.open") == []
    after = row(bot, invitation_id)
    assert (after.state, after.version, after.gdap_relationship_id) == (
        before.state,
        before.version,
        None,
    )
    assert after.reseller_gdap_relationship_id is None
    assert graph.calls == []


def test_a_modal_opened_by_the_reseller_cannot_be_submitted_by_the_provider(
    make_bot: Callable[..., BotHarness],
) -> None:
    bot = make_bot()
    invitation_id = invitation(bot)
    posted = accept(bot, posts=3)
    (theirs,) = gdap_buttons(posted["C0RESNOTIF"]["blocks"])
    click(bot, theirs["value"], RESELLER)
    opened = bot.slack.wait_for("views.open")[0]
    answer = submit(bot, opened, RESELLER_REL, PROVIDER)  # same view id, another workspace
    assert answer["response_action"] == "errors"
    stored = row(bot, invitation_id)
    assert (stored.reseller_gdap_relationship_id, stored.gdap_relationship_id) == (None, None)

    # the reseller cannot record the provider's relationship id as its own
    with bot.services.sessions.begin() as session:
        get_invitation(session, invitation_id).gdap_relationship_id = PROVIDER_REL
    assert submit(bot, opened, PROVIDER_REL, RESELLER) == {}
    told = bot.slack.wait_for("chat.postEphemeral")[0].params["text"]
    assert "already recorded" in told
    assert row(bot, invitation_id).reseller_gdap_relationship_id is None
