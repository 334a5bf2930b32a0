"""Webhooks per organization: two providers, each with its own callback URL
(`/partner-center/webhooks/{token}`), signed deliveries through a real server on loopback.
A delivery notifies only the people of the organization whose URL it reached; one that does not
belong there is refused with nothing stored; the legacy URL is PARTNER_ORG_KEY's."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import select

from bot.core.outbox.routing import org_webhook_path
from bot.core.partner_center.client import PartnerCenterClient
from bot.core.partner_center.settings import PartnerCenterSettings
from bot.core.store.lookup import get_invitation
from bot.core.store.models import InboxEvent, Organization
from bot.testkit import notify as tk
from bot.testkit.harness import BotHarness
from bot.testkit.partner_center import GraphStandIn, WebhookSigner

from .conftest import seed_in
from .helpers import drained, fast_settings, stored_events, wait_until

A, B = "bench-00", "bench-01"


def url_of(bot: BotHarness, key: str) -> str:
    with bot.services.sessions() as session:
        token = session.scalar(select(Organization.webhook_token).where(Organization.key == key))
    assert token is not None and len(token) == 32
    return org_webhook_path(token)


def two_providers(
    make_bot: Callable[..., BotHarness], **kwargs: object
) -> tuple[BotHarness, tk.Seeded, tk.Seeded]:
    bot = make_bot(settings=fast_settings(partner_org_key=A), **kwargs)
    a, b = seed_in(bot, orgs=2, per_org=1)
    assert (a.org_key, b.org_key) == (A, B)
    return bot, a, b


def texts_in(bot: BotHarness, channel: str) -> list[str]:
    return [
        str(c.params.get("text", ""))
        for c in bot.slack.calls()
        if c.delivered and c.params.get("channel") == channel
    ]


def event_orgs(bot: BotHarness) -> list[str | None]:
    with bot.services.sessions() as session:
        rows = session.execute(
            select(Organization.key)
            .select_from(InboxEvent)
            .outerjoin(Organization, Organization.id == InboxEvent.org_id)
            .order_by(InboxEvent.id)
        ).all()
    return [row.key for row in rows]


def test_each_providers_delivery_at_its_own_url_notifies_only_its_people(
    make_bot: Callable[..., BotHarness], mode: str
) -> None:
    bot, a, b = two_providers(make_bot, distributed=mode == "distributed")
    assert url_of(bot, A) != url_of(bot, B)
    first = bot.webhook(tk.acceptance(a.tenant), path=url_of(bot, A))
    second = bot.webhook(tk.acceptance(b.tenant), path=url_of(bot, B))
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["status"] == second.json()["status"] == "accepted"
    bot.slack.wait_for("chat.postMessage", count=4, delivered=True)
    bot.slack.wait_for("chat.update", count=2, delivered=True)
    wait_until(lambda: drained(bot))
    assert event_orgs(bot) == [A, B]
    for mine, theirs in ((a, b), (b, a)):
        said = texts_in(bot, mine.channel)
        assert any(mine.ref in text for text in said)
        assert not any(theirs.ref in text for text in said)
        dms = texts_in(bot, mine.creator)  # the DM is addressed to the creator's user id
        assert not any(theirs.ref in text for text in dms)
    with bot.services.sessions() as session:
        assert get_invitation(session, a.id).state.value == "accepted"
        assert get_invitation(session, b.id).state.value == "accepted"
    if bot.distributed:  # each provider's notifications with its own workspace's token
        for mine, team in ((a, "T0BENC000"), (b, "T0BENC001")):
            (token,) = bot.slack.tokens_of(team)
            to_mine = [c for c in bot.slack.calls() if c.params.get("channel") == mine.channel]
            assert to_mine and all(c.headers["authorization"] == f"Bearer {token}" for c in to_mine)


def test_a_delivery_at_the_wrong_organizations_url_is_refused_and_nothing_stored(
    make_bot: Callable[..., BotHarness], signer: WebhookSigner
) -> None:
    bot, a, b = two_providers(make_bot)
    refused = bot.webhook(tk.acceptance(a.tenant), path=url_of(bot, B))
    assert refused.status_code == 403 and "others" in refused.text
    # the legacy URL is A's (PARTNER_ORG_KEY): B's customer is refused there too
    assert bot.webhook(tk.acceptance(b.tenant)).status_code == 403
    # a GDAP event for a relationship only A's invitation records, at B's URL
    with bot.services.sessions.begin() as session:
        get_invitation(session, a.id).gdap_relationship_id = "rel-of-a"
    assert bot.webhook(tk.gdap_event("rel-of-a"), path=url_of(bot, B)).status_code == 403
    assert stored_events(bot) == 0
    assert bot.slack.calls() == []
    with bot.services.sessions() as session:
        assert get_invitation(session, a.id).state.value == "created"  # unmoved


def test_authentication_comes_before_the_url_is_looked_up(
    make_bot: Callable[..., BotHarness],
) -> None:
    bot, a, _ = two_providers(make_bot)
    payload = tk.acceptance(a.tenant)
    unknown = org_webhook_path("x" * 32)
    assert bot.webhook(payload, path=unknown, headers={}).status_code == 401  # unsigned first
    assert bot.webhook(payload, path=unknown).status_code == 404  # signed, no such URL
    assert bot.webhook(payload, path="/partner-center/webhooks/short").status_code == 404
    assert bot.webhook(payload, path="/partner-center/webhooksX").status_code == 404
    assert bot.webhook(payload, path=url_of(bot, A), headers={}).status_code == 401
    assert stored_events(bot) == 0


def test_the_legacy_url_still_works_as_partner_org_keys_url(
    make_bot: Callable[..., BotHarness],
) -> None:
    bot, a, b = two_providers(make_bot)
    response = bot.webhook(tk.acceptance(a.tenant))
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    # the same delivery at A's own URL is the same delivery: stored once
    again = bot.webhook(tk.acceptance(a.tenant), path=url_of(bot, A))
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    bot.slack.wait_for("chat.postMessage", count=2, delivered=True)
    wait_until(lambda: drained(bot))
    assert event_orgs(bot) == [A]
    assert not any(a.ref in text for text in texts_in(bot, b.channel))


def test_an_unmatched_acceptance_is_offered_only_where_it_arrived(
    make_bot: Callable[..., BotHarness],
) -> None:
    bot, a, b = two_providers(make_bot)
    stranger = str(uuid.uuid4())  # a customer no invitation knows
    response = bot.webhook(tk.acceptance(stranger), path=url_of(bot, B))
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    posts = bot.slack.wait_for("chat.postMessage", count=1, delivered=True)
    wait_until(lambda: drained(bot))
    assert [c.params["channel"] for c in posts] == [b.channel]  # B's, not PARTNER_ORG_KEY's
    assert texts_in(bot, a.channel) == []
    with bot.services.sessions() as session:
        event = session.scalars(select(InboxEvent)).one()
        assert event.outcome == "unmatched"


@pytest.fixture
def partner_center() -> Iterator[GraphStandIn]:
    with GraphStandIn() as server:
        yield server


def test_with_a_partner_center_connection_an_unknown_customer_is_asked_about(
    make_bot: Callable[..., BotHarness], partner_center: GraphStandIn
) -> None:
    """A (PARTNER_ORG_KEY) has the deployment's Partner Center client: a customer none of its
    invitations names belongs to it only if its Partner Center knows the customer."""
    settings = PartnerCenterSettings(_env_file=None, **partner_center.partner_center_overrides())
    client = PartnerCenterClient(settings, httpx.AsyncClient())
    bot, _, _ = two_providers(make_bot, services_options={"partner_center": client})
    stranger = str(uuid.uuid4())
    refused = bot.webhook(tk.acceptance(stranger), path=url_of(bot, A))
    assert refused.status_code == 403 and "not_its_customer" in refused.text
    assert stored_events(bot) == 0
    partner_center.add_customer(stranger, "Woodgrove Bank", "woodgrove.example")
    assert bot.webhook(tk.acceptance(stranger), path=url_of(bot, A)).status_code == 200
    asked = [c for c in partner_center.calls if c.path == f"/pc/v1/customers/{stranger}"]
    assert len(asked) >= 2
    # B has no connection: the deployment's client is never used for B's deliveries
    before = len(partner_center.calls)
    other = str(uuid.uuid4())
    assert bot.webhook(tk.acceptance(other), path=url_of(bot, B)).status_code == 200
    wait_until(lambda: drained(bot))
    assert not [c for c in partner_center.calls[before:] if other in c.path]


def test_only_the_organization_it_arrived_at_may_link_an_unmatched_acceptance(
    make_bot: Callable[..., BotHarness],
) -> None:
    """Offered to B (its URL), not to A although A is PARTNER_ORG_KEY: A's people are refused,
    B's link it to B's invitation."""
    from bot.core.ui.metadata import LinkChoice
    from bot.testkit import block_actions_payload

    bot, a, b = two_providers(make_bot)
    stranger = str(uuid.uuid4())
    assert bot.webhook(tk.acceptance(stranger), path=url_of(bot, B)).status_code == 200
    posted = bot.slack.wait_for("chat.postMessage", delivered=True)[0]
    assert posted.params["channel"] == b.channel
    with bot.services.sessions() as session:
        event_id = session.scalars(select(InboxEvent.id)).one()
    bot.slack.reset()

    def pick(invitation: int, user: str, team: str, channel: str) -> None:
        payload = block_actions_payload(
            "link_acceptance",
            LinkChoice(e=event_id, i=invitation).dump(),
            user_id=user,
            team_id=team,
            channel_id=channel,
            block_id="unm_link",
            action_type="static_select",
            response_url=bot.slack.response_url(),
        )
        assert bot.interact(payload).status_code == 200

    pick(a.id, "U0BENCC000", "T0BENC000", a.channel)  # A: PARTNER_ORG_KEY, not addressed
    notice = bot.slack.wait_for("response_url")[0].params
    assert "sent to another organization" in notice["text"]
    with bot.services.sessions() as session:
        assert get_invitation(session, a.id).state.value == "created"
    pick(b.id, "U0BENCC001", "T0BENC001", b.channel)

    def linked() -> bool:
        with bot.services.sessions() as session:
            return get_invitation(session, b.id).state.value == "accepted"

    wait_until(linked)
    with bot.services.sessions() as session:
        assert get_invitation(session, b.id).customer_tenant_id == stranger
