"""What people do with notifications, end to end: link an acceptance that matched nothing
(the select), and "Request delegated admin for <reseller>" (GDAP through Graph, or the
instructions without it) up to the GDAP approval webhook."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.core.store.lookup import audit_trail, get_invitation
from bot.testkit import block_actions_payload
from bot.testkit import notify as tk
from bot.testkit.harness import BotHarness

from .conftest import seed_in
from .helpers import drained, fast_settings, wait_until

DIRECTORY = Path(__file__).resolve().parents[2] / "docs" / "partners.example.yaml"
TENANT = "4b2a6e33-8791-4386-bd2b-0d55baf25039"


# ------------------------------------------------------------------------------ linking
def test_an_unmatched_acceptance_is_linked_from_the_select(
    make_bot: Callable[..., BotHarness], mode: str
) -> None:
    bot = make_bot(
        settings=fast_settings(partner_org_key="bench-00"), distributed=mode == "distributed"
    )
    seeded = seed_in(bot, orgs=1, per_org=3)
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
    if bot.distributed:  # every post and update with the partner's own workspace's token
        (token,) = bot.slack.tokens_of("T0BENC000")
        sent = [c for c in bot.slack.calls() if c.method in ("chat.postMessage", "chat.update")]
        assert sent and all(c.headers["authorization"] == f"Bearer {token}" for c in sent)


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
