"""What people do with notifications, end to end: link an acceptance that matched nothing
(the select), and "Request delegated admin for <reseller>" (GDAP through Graph, or the
instructions without it) up to the GDAP approval webhook."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from bot.core.partner_center.graph import Relationship, RelationshipRequest
from bot.core.snapshots import InvitationView
from bot.core.store.directory import import_directory, org_by_key
from bot.core.store.invitations import create_invitation
from bot.core.store.lookup import audit_trail, get_invitation
from bot.core.store.messages import record_message
from bot.core.store.models import LinkSource, MessagePurpose
from bot.core.ui import surfaces
from bot.testkit import block_actions_payload, text_input, view_submission_payload
from bot.testkit import notify as tk
from bot.testkit.harness import BotHarness, ack_json

from .helpers import drained, fast_settings, wait_until

DIRECTORY = Path(__file__).resolve().parents[2] / "docs" / "partners.example.yaml"
TENANT = "4b2a6e33-8791-4386-bd2b-0d55baf25039"


class FakeGraph:
    def __init__(self) -> None:
        self.created: list[tuple[str, str | None, tuple[str, ...], str]] = []
        self.locked: list[str] = []

    async def create_relationship(
        self, name: str, tenant: str | None, roles: Sequence[str], duration: str = "P730D"
    ) -> Relationship:
        self.created.append((name, tenant, tuple(roles), duration))
        return Relationship(id=f"rel-{len(self.created)}", status="created", display_name=name)

    async def lock_for_approval(self, relationship_id: str) -> RelationshipRequest:
        self.locked.append(relationship_id)
        return RelationshipRequest(id="req-1", action="lockForApproval", status="succeeded")


# ------------------------------------------------------------------------------ linking
def test_an_unmatched_acceptance_is_linked_from_the_select(
    make_bot: Callable[..., BotHarness],
) -> None:
    bot = make_bot(settings=fast_settings(partner_org_key="bench-00"))
    seeded = tk.seed(bot.services.sessions, bot.slack, orgs=1, per_org=3)
    assert bot.webhook(tk.acceptance(TENANT)).status_code == 200
    posted = bot.slack.wait_for("chat.postMessage", delivered=True)[0]
    assert posted.params["channel"] == "C0BENC000" and TENANT in posted.params["text"]
    picker = next(b for b in posted.params["blocks"] if b["type"] == "actions")["elements"][0]
    options = {json.loads(o["value"])["i"]: o for o in picker["options"]}
    assert set(options) == {inv.id for inv in seeded}
    chosen = seeded[1]
    bot.slack.reset()

    def pick(option: dict[str, Any], user: str) -> None:
        payload = block_actions_payload(
            "link_acceptance",
            option["value"],
            user_id=user,
            team_id="T0BENC000",
            channel_id="C0BENC000",
            message_ts=posted.response["ts"],
            block_id="unm_link",
            action_type="static_select",
            response_url=bot.slack.response_url(),
        )
        assert bot.interact(payload).status_code == 200

    pick(options[chosen.id], "U0LINKER1")
    updates = bot.slack.wait_for("chat.update", count=2, delivered=True)
    by_ts = {c.params["ts"]: c.params for c in updates}
    assert "accepted by the customer" in by_ts[chosen.ts]["text"]
    linked = json.dumps(by_ts[posted.response["ts"]]["blocks"])
    assert chosen.ref in linked and "<@U0LINKER1>" in linked and "link_acceptance" not in linked
    posts = bot.slack.wait_for("chat.postMessage", count=2, delivered=True)
    reply = next(c.params for c in posts if c.params.get("thread_ts") == chosen.ts)
    assert "Linked to this invitation by <@U0LINKER1>" in json.dumps(reply["blocks"])
    wait_until(lambda: drained(bot))
    with bot.services.sessions() as session:
        invitation = get_invitation(session, chosen.id)
        assert invitation.state.value == "accepted" and invitation.customer_tenant_id == TENANT
        last = audit_trail(session, chosen.id)[-1]
        assert last.user_id == "U0LINKER1" and last.detail["matched_by"] == "linked"

    pick(options[seeded[0].id], "U0LATE0001")  # someone else, too late
    notice = bot.slack.wait_for("response_url")[0].params
    assert "already linked" in notice["text"] and chosen.ref in notice["text"]
    with bot.services.sessions() as session:
        assert get_invitation(session, seeded[0].id).state.value == "created"


# ------------------------------------------------------------------------------ GDAP
def reseller_invitation(bot: BotHarness) -> tuple[int, str]:
    """Contoso Distribution's invitation for Fabrikam IT's customer, with both messages."""
    for channel in ("C0PROVNOTIF", "C0RESNOTIF"):  # nothing exists on first mention
        bot.slack.set_channel(channel, name=channel.lower())
    bot.slack.set_user("U0PROVUSER", team_id="T0PROVIDER")
    with bot.services.sessions.begin() as session:
        import_directory(session, yaml.safe_load(DIRECTORY.read_text("utf-8")))
        inv = create_invitation(
            session,
            provider=org_by_key(session, "contoso-dist"),  # type: ignore[arg-type]
            reseller=org_by_key(session, "fabrikam"),
            customer_name="Woodgrove <Bank>",
            link=tk.LINK,
            link_source=LinkSource.documented_format,
            created_by_user="U0PROVUSER",
            created_by_team="T0PROVIDER",
            customer_tenant_id=TENANT,
        )
        view = InvitationView.of(inv)
        for channel, side in (("C0PROVNOTIF", "provider"), ("C0RESNOTIF", "reseller")):
            message = surfaces.invitation_message(view, side=side)
            ts = bot.slack.workspace.post(
                channel, {"text": message["text"], "blocks": message["blocks"]}
            )["ts"]
            record_message(session, inv.id, channel, ts, MessagePurpose(side))
        return inv.id, inv.ref


def accept(bot: BotHarness) -> tuple[int, str, dict[str, Any]]:
    invitation_id, ref = reseller_invitation(bot)
    bot.webhook(tk.acceptance(TENANT, name=tk.INDIRECT_ACCEPTED))
    posts = bot.slack.wait_for("chat.postMessage", count=3, delivered=True)
    bot.slack.wait_for("chat.update", count=2, delivered=True)
    wait_until(lambda: drained(bot))
    reply = next(c.params for c in posts if c.params.get("thread_ts"))
    reseller = next(c.params for c in posts if c.params["channel"] == "C0RESNOTIF")
    assert "inv_request_gdap" not in json.dumps(reseller["blocks"])
    bot.slack.reset()
    return invitation_id, ref, reply


def click_request(bot: BotHarness, blocks: list[dict[str, Any]]) -> None:
    actions = next(b for b in blocks if b["type"] == "actions")
    button = next(e for e in actions["elements"] if e["action_id"] == "inv_request_gdap")
    assert button["text"]["text"] == "Request delegated admin for Fabrikam IT"
    payload = block_actions_payload(
        "inv_request_gdap",
        button["value"],
        user_id="U0PROVUSER",
        team_id="T0PROVIDER",
        channel_id="C0PROVNOTIF",
        response_url=bot.slack.response_url(),
    )
    assert bot.interact(payload).status_code == 200


def submit_relationship(bot: BotHarness, metadata: str, typed: str, view_id: str) -> Any:
    values = {"relationship": {"relationship": text_input(typed)}}
    payload = view_submission_payload(
        "gdap_modal", values, metadata, user_id="U0PROVUSER", team_id="T0PROVIDER", view_id=view_id
    )
    response = bot.interact(payload)
    assert response.status_code == 200
    return ack_json(response)


def test_without_graph_the_provider_records_the_relationship_it_created(
    bot: BotHarness,
) -> None:
    invitation_id, ref, reply = accept(bot)
    click_request(bot, reply["blocks"])
    opened = bot.slack.wait_for("views.open")[0]
    modal, view_id = opened.params["view"], opened.response["view"]["id"]
    assert modal["callback_id"] == "gdap_modal"
    shown = json.dumps(modal["blocks"])
    assert "request a granular admin relationship (GDAP)" in shown
    assert "Fabrikam IT" in shown and "&lt;Bank&gt;" in shown and ref in shown
    with bot.services.sessions() as session:
        assert get_invitation(session, invitation_id).state.value == "accepted"  # not yet

    for typed in ("", "rel id with spaces", "<!channel>", "x" * 101):
        answer = submit_relationship(bot, modal["private_metadata"], typed, view_id)
        assert answer["response_action"] == "errors"
        assert "letters, digits and '-'" in answer["errors"]["relationship"]
    # a view the bot never opened has no context, whatever metadata it carries
    assert (
        submit_relationship(bot, modal["private_metadata"], "rel-1", "V0NEVER")["response_action"]
        == "errors"
    )
    with bot.services.sessions() as session:
        assert get_invitation(session, invitation_id).state.value == "accepted"

    relationship = "0f6b3f4a-2c1d-4e5f-9a8b-7c6d5e4f3a2b-1e2d3c4b-5a69-4788-9900-aabbccddeeff"
    assert submit_relationship(bot, modal["private_metadata"], f" {relationship} ", view_id) == {}
    posts = bot.slack.wait_for("chat.postMessage", count=3, delivered=True)
    thread = next(c.params for c in posts if c.params.get("thread_ts"))
    assert f"granularAdminRelationships/{relationship}" in json.dumps(thread["blocks"])
    wait_until(lambda: drained(bot))
    with bot.services.sessions() as session:
        invitation = get_invitation(session, invitation_id)
        assert invitation.state.value == "delegated_admin_requested"
        assert invitation.gdap_relationship_id == relationship
        last = audit_trail(session, invitation_id)[-1]
        assert (last.new_state.value, last.user_id) == ("delegated_admin_requested", "U0PROVUSER")
        assert last.detail["relationship"] == relationship
    told = bot.slack.wait_for("chat.postEphemeral")[0].params
    assert told["user"] == "U0PROVUSER" and told["channel"] == "C0PROVNOTIF"
    assert "Delegated admin requested for Fabrikam IT" in told["text"]

    # the same modal submitted again: acted on once already, nothing changes
    assert submit_relationship(bot, modal["private_metadata"], "rel-2", view_id) == {}
    told = bot.slack.wait_for("chat.postEphemeral", count=2)[1].params
    assert "submitted already" in told["text"]
    with bot.services.sessions() as session:
        assert get_invitation(session, invitation_id).gdap_relationship_id == relationship

    # the customer approves: Partner Center's webhook finds the invitation by that id
    bot.slack.reset()
    assert bot.webhook(tk.gdap_event(relationship)).status_code == 200
    posts = bot.slack.wait_for("chat.postMessage", count=3, delivered=True)
    assert any("granted" in c.params["text"] for c in posts)
    wait_until(lambda: drained(bot))
    with bot.services.sessions() as session:
        assert get_invitation(session, invitation_id).state.value == "delegated_admin_granted"


def test_with_graph_the_relationship_is_requested_then_approved(
    make_bot: Callable[..., BotHarness],
) -> None:
    graph = FakeGraph()
    bot = make_bot(services_options={"graph": graph})
    invitation_id, ref, reply = accept(bot)
    provider_message = bot.slack.messages("C0PROVNOTIF")[0]
    assert "inv_request_gdap" in json.dumps(provider_message["blocks"])  # on the message too
    click_request(bot, reply["blocks"])
    notice = bot.slack.wait_for("response_url")[0].params
    assert "Delegated admin requested for Fabrikam IT" in notice["text"]
    assert graph.created == [
        (f"{ref} Fabrikam IT", TENANT, tuple(bot.services.notify.gdap_role_ids), "P730D")
    ]
    assert graph.locked == ["rel-1"]
    posts = bot.slack.wait_for("chat.postMessage", count=3, delivered=True)
    thread = next(c.params for c in posts if c.params.get("thread_ts"))
    assert "granularAdminRelationships/rel-1" in json.dumps(thread["blocks"])
    wait_until(lambda: drained(bot))
    with bot.services.sessions() as session:
        invitation = get_invitation(session, invitation_id)
        assert invitation.state.value == "delegated_admin_requested"
        assert invitation.gdap_relationship_id == "rel-1"

    click_request(bot, reply["blocks"])  # the old button again: refused, nothing created
    assert (
        "delegated admin requested" in bot.slack.wait_for("response_url", count=2)[1].params["text"]
    )
    assert len(graph.created) == 1

    bot.slack.reset()
    assert bot.webhook(tk.gdap_event("rel-1")).status_code == 200
    posts = bot.slack.wait_for("chat.postMessage", count=3, delivered=True)
    assert any("granted" in c.params["text"] for c in posts)
    wait_until(lambda: drained(bot))
    with bot.services.sessions() as session:
        assert get_invitation(session, invitation_id).state.value == "delegated_admin_granted"


def test_another_organization_cannot_take_an_unmatched_acceptance(
    make_bot: Callable[..., BotHarness],
) -> None:
    """The select is offered to the partner the event was addressed to (PARTNER_ORG_KEY); a
    provider of another team that sends the same action with its own invitation is refused,
    and the rightful link still works afterwards."""
    from bot.core.store.models import InboxEvent
    from bot.core.ui.metadata import LinkChoice

    bot = make_bot(settings=fast_settings(partner_org_key="bench-00"))
    seeded = tk.seed(bot.services.sessions, bot.slack, orgs=2, per_org=2)
    assert bot.webhook(tk.acceptance(TENANT)).status_code == 200
    posted = bot.slack.wait_for("chat.postMessage", delivered=True)[0]
    picker = next(b for b in posted.params["blocks"] if b["type"] == "actions")["elements"][0]
    event_id = json.loads(picker["options"][0]["value"])["e"]
    with bot.services.sessions() as session:
        own = {
            inv.id for inv in seeded if get_invitation(session, inv.id).provider.key == "bench-00"
        }
    theirs = next(inv for inv in seeded if inv.id not in own)
    bot.slack.reset()

    def pick(value: str, user: str, team: str, channel: str) -> None:
        payload = block_actions_payload(
            "link_acceptance",
            value,
            user_id=user,
            team_id=team,
            channel_id=channel,
            block_id="unm_link",
            action_type="static_select",
            response_url=bot.slack.response_url(),
        )
        assert bot.interact(payload).status_code == 200

    pick(LinkChoice(e=event_id, i=theirs.id).dump(), "U0OTHER001", "T0BENC001", "C0BENC001")
    notice = bot.slack.wait_for("response_url")[0].params
    assert "sent to another organization" in notice["text"]
    with bot.services.sessions() as session:
        assert get_invitation(session, theirs.id).state.value == "created"
        assert session.get(InboxEvent, event_id).outcome == "unmatched"  # type: ignore[union-attr]

    rightful = next(iter(own))
    pick(LinkChoice(e=event_id, i=rightful).dump(), "U0LINKER1", "T0BENC000", "C0BENC000")

    def accepted() -> bool:
        with bot.services.sessions() as session:
            return get_invitation(session, rightful).state.value == "accepted"

    wait_until(accepted)
