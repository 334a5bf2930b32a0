"""From a stored event to the right invitation, on SQLite and PostgreSQL: by tenant, by the
customer's domain or company name (Partner Center), GDAP by relationship id, DAP by tenant;
unique matches only; one transaction with the notifications it queues."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import event as sa_event
from sqlalchemy import select

from bot.core.outbox import claims, queue
from bot.core.outbox.inbox import RetryLater, process_event, process_events
from bot.core.outbox.notify import change_effects
from bot.core.outbox.options import NotifyOptions
from bot.core.partner_center.client import Customer
from bot.core.partner_center.errors import PartnerCenterError, PartnerCenterUnreachable
from bot.core.partner_center.events import parse_event
from bot.core.services import Services
from bot.core.snapshots import InvitationView
from bot.core.store import db
from bot.core.store.clock import utc_now
from bot.core.store.directory import import_directory, org_by_key
from bot.core.store.invitations import create_invitation, transition
from bot.core.store.lifecycle import InvitationState
from bot.core.store.lookup import get_invitation
from bot.core.store.messages import record_message
from bot.core.store.models import (
    AuditEvent,
    InboxEvent,
    LinkSource,
    MessagePurpose,
    OutboxEffect,
    OutboxMessage,
)
from bot.testkit import notify as tk

DIRECTORY = Path(__file__).resolve().parents[2] / "docs" / "partners.example.yaml"
TENANT = "4b2a6e33-8791-4386-bd2b-0d55baf25039"
OTHER = "0c0ffee0-0000-4000-8000-000000000001"
S = InvitationState


class FakePartnerCenter:
    """get_customer from a dict; or raising `error`."""

    def __init__(self, customers: dict[str, Customer], error: Exception | None = None) -> None:
        self.customers, self.error, self.calls = customers, error, 0

    async def get_customer(self, customer_id: str) -> Customer:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.customers[customer_id]


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    engine = db.make_engine(database_url)
    with db.make_session_factory(engine).begin() as session:
        import_directory(session, yaml.safe_load(DIRECTORY.read_text("utf-8")))
    yield Services(
        sessions=db.make_session_factory(engine),
        notify=NotifyOptions(partner_org_key="contoso-dist"),
    )
    engine.dispose()


def invite(
    services: Services,
    customer: str,
    *,
    tenant: str | None = None,
    domain: str | None = None,
    reseller: str | None = "fabrikam",
    message: bool = True,
) -> int:
    with services.sessions.begin() as session:
        provider = org_by_key(session, "contoso-dist")
        assert provider is not None
        inv = create_invitation(
            session,
            provider=provider,
            customer_name=customer,
            link=tk.LINK,
            link_source=LinkSource.documented_format,
            created_by_user="U0CREATOR1",
            created_by_team="T0PROVIDER",
            reseller=org_by_key(session, reseller) if reseller else None,
            customer_tenant_id=tenant,
            customer_domain=domain,
        )
        if message:
            record_message(session, inv.id, "C0PROVNOTIF", f"1.{inv.id}", MessagePurpose.provider)
        return inv.id


async def deliver(services: Services, payload: dict[str, Any], *, final: bool = False) -> str:
    event = parse_event(json.dumps(payload).encode())
    now = utc_now()
    with services.sessions.begin() as session:
        assert queue.record_event(session, event, now=now) is not None
    with services.sessions.begin() as session:
        claimed = claims.claim(
            session, InboxEvent, worker="t", now=now, lease=timedelta(seconds=30), limit=1
        )
    return await process_event(services, claimed[0], worker="t", now=utc_now, final=final)


def outbox(services: Services) -> list[OutboxMessage]:
    with services.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def state(services: Services, invitation_id: int) -> InvitationState:
    with services.sessions() as session:
        return get_invitation(session, invitation_id).state


async def test_by_tenant_accepts_and_queues_every_notification(services: Services) -> None:
    inv = invite(services, "Contoso Ltd", tenant=TENANT)
    assert await deliver(services, tk.acceptance(TENANT)) == "notified"
    assert state(services, inv) is S.accepted
    rows = {(r.effect.value, r.channel, r.thread_ts) for r in outbox(services)}
    assert rows == {
        ("update", "C0PROVNOTIF", None),
        ("reply", "C0PROVNOTIF", f"1.{inv}"),
        ("dm", "U0CREATOR1", None),
        ("post", "C0RESNOTIF", None),  # the reseller's channel
    }
    shown = {r.effect.value: json.dumps(r.payload) for r in outbox(services)}
    assert "inv_request_gdap" in shown["reply"]  # the next step, provider side
    assert "inv_request_gdap" in shown["dm"]
    # under the default edition (2026-11) each partner requests its own GDAP: the reseller's
    # button is for itself, the provider's for the provider (tests/notify/test_notify_gdap.py)
    assert "Request delegated admin (GDAP) for Fabrikam IT" in shown["post"]
    assert "Request delegated admin (GDAP) for Contoso Distribution" in shown["reply"]
    # the same event derived again, or another delivery of the same acceptance: nothing new
    with services.sessions.begin() as session:
        view = InvitationView.of(get_invitation(session, inv))
        assert queue.enqueue(session, change_effects(session, view, "accepted"), now=utc_now()) == 0
    later = tk.acceptance(TENANT, changed_at=utc_now())
    assert await deliver(services, later) == "already"
    assert len(outbox(services)) == 4


async def test_without_a_message_the_provider_channel_gets_a_post(services: Services) -> None:
    invite(services, "Contoso Ltd", tenant=TENANT, reseller=None, message=False)
    assert await deliver(services, tk.acceptance(TENANT)) == "notified"
    rows = {(r.effect.value, r.channel) for r in outbox(services)}
    assert rows == {("post", "C0PROVNOTIF"), ("dm", "U0CREATOR1")}


async def test_by_domain_then_by_company_name_through_partner_center(services: Services) -> None:
    by_domain = invite(services, "Something Else", domain="Contoso.COM")
    by_name = invite(services, "  Fabrikam   Widgets ", domain=None)
    invite(services, "Fabrikam Widgets", domain="other.example")  # another domain: not them
    invite(services, "Tied", tenant=OTHER, domain="tied.example")
    customers = {
        TENANT: Customer(id=TENANT, company_name="Contoso", domain="contoso.com"),
        OTHER.replace("1", "2"): Customer(
            id=OTHER.replace("1", "2"), company_name="FABRIKAM widgets", domain="fw.example"
        ),
        OTHER.replace("1", "3"): Customer(
            id=OTHER.replace("1", "3"), company_name="Tied", domain="tied.example"
        ),
    }
    services.partner_center = FakePartnerCenter(customers)  # type: ignore[assignment]
    assert await deliver(services, tk.acceptance(TENANT)) == "notified"
    assert state(services, by_domain) is S.accepted
    assert await deliver(services, tk.acceptance(OTHER.replace("1", "2"))) == "notified"
    assert state(services, by_name) is S.accepted
    with services.sessions() as session:
        assert get_invitation(session, by_name).customer_tenant_id == OTHER.replace("1", "2")
    # an invitation already tied to another tenant is never taken for this customer
    assert await deliver(services, tk.acceptance(OTHER.replace("1", "3"))) == "unmatched"


async def test_no_match_posts_the_select_to_the_partner_channel(services: Services) -> None:
    pending = [invite(services, f"Customer {n}") for n in range(3)]
    assert await deliver(services, tk.acceptance(TENANT)) == "unmatched"
    (row,) = outbox(services)
    assert (row.effect.value, row.channel) == ("post", "C0PROVNOTIF")
    blocks = row.payload["message"]["blocks"]
    select_ = next(b for b in blocks if b["type"] == "actions")["elements"][0]
    assert select_["action_id"] == "link_acceptance"
    values = [json.loads(o["value"]) for o in select_["options"]]
    assert [v["i"] for v in values] == sorted(pending, reverse=True)  # newest first
    assert {v["e"] for v in values} == {row.event_id}
    assert all(state(services, inv) is S.created for inv in pending)


async def test_a_name_two_invitations_share_is_not_a_match(services: Services) -> None:
    invite(services, "Twin")
    invite(services, "twin")
    customer = Customer(id=TENANT, company_name="TWIN", domain=None)
    services.partner_center = FakePartnerCenter({TENANT: customer})  # type: ignore[assignment]
    assert await deliver(services, tk.acceptance(TENANT)) == "unmatched"


async def test_partner_center_down_is_retried_then_left_unmatched(services: Services) -> None:
    invite(services, "Contoso")
    down = PartnerCenterUnreachable("https://pc", "connection refused")
    services.partner_center = FakePartnerCenter({}, error=down)  # type: ignore[assignment]
    with pytest.raises(RetryLater):
        await deliver(services, tk.acceptance(TENANT))
    with services.sessions() as session:  # rolled back: still pending, nothing queued
        (event,) = session.scalars(select(InboxEvent)).all()
        assert event.status.value == "pending" and event.outcome is None
    assert outbox(services) == []
    refused = PartnerCenterError(403, "forbidden", "no")
    services.partner_center = FakePartnerCenter({}, error=refused)  # type: ignore[assignment]
    other = tk.acceptance(OTHER)
    assert await deliver(services, other) == "unmatched"  # not transient: no retry


async def test_unknown_partner_and_no_channel(services: Services) -> None:
    services.notify = NotifyOptions(partner_org_key=None)  # 3 non-resellers: which one?
    assert await deliver(services, tk.acceptance(TENANT)) == "unmatched_nowhere"
    services.notify = NotifyOptions(partner_org_key="tailspin")  # a reseller without channel
    assert await deliver(services, tk.acceptance(OTHER)) == "unmatched_no_channel"
    assert outbox(services) == []


async def test_gdap_dap_and_ended_access(services: Services) -> None:
    gdap = invite(services, "Gdap Customer", tenant=TENANT)
    dap = invite(services, "Dap Customer", tenant=OTHER)
    with services.sessions.begin() as session:
        for inv in (gdap, dap):
            transition(
                session, inv, S.accepted, actor_user=None, actor_team=None, expected_version=None
            )
        transition(
            session,
            gdap,
            S.delegated_admin_requested,
            actor_user="U1",
            actor_team="T0PROVIDER",
            expected_version=None,
            gdap_relationship_id="rel-123",
        )
    assert await deliver(services, tk.gdap_event("unknown-rel")) == "no_invitation"
    assert await deliver(services, tk.gdap_event("rel-123")) == "notified"
    assert state(services, gdap) is S.delegated_admin_granted
    activated = tk.gdap_event("rel-123", name="granular-admin-relationship-activated")
    assert await deliver(services, activated) == "already"
    dap_payload = {**tk.acceptance(OTHER), "EventName": "dap-admin-relationship-approved"}
    assert await deliver(services, dap_payload) == "notified"
    assert state(services, dap) is S.delegated_admin_granted
    before = len(outbox(services))
    ended = tk.gdap_event("rel-123", name="granular-admin-relationship-terminated")
    assert await deliver(services, ended) == "notified"
    added = outbox(services)[before:]
    assert {r.effect.value for r in added} == {"reply", "dm", "post"}  # a notice, no update
    assert state(services, gdap) is S.delegated_admin_granted
    with services.sessions() as session:
        view = InvitationView.of(get_invitation(session, gdap))
    assert view.state is S.delegated_admin_granted


# ------------------------------------------------------------------------------ batches
def claim_all(services: Services, payloads: list[dict[str, Any]]) -> list[InboxEvent]:
    now = utc_now()
    with services.sessions.begin() as session:
        for payload in payloads:
            event = parse_event(json.dumps(payload).encode())
            assert queue.record_event(session, event, now=now) is not None
    with services.sessions.begin() as session:
        return claims.claim(
            session, InboxEvent, worker="t", now=now, lease=timedelta(seconds=30), limit=50
        )


async def test_a_batch_plans_in_one_read_and_applies_in_one_write(services: Services) -> None:
    tenants = [f"4b2a6e33-8791-4386-bd2b-0d55baf2{n:04d}" for n in range(4)]
    invs = [invite(services, f"Customer {n}", tenant=t) for n, t in enumerate(tenants)]
    events = claim_all(services, [tk.acceptance(t) for t in tenants])
    assert len(events) == 4
    transactions: list[str] = []

    async def read(fn: Any) -> Any:
        transactions.append("read")
        return await services.run(fn)

    statements: list[str] = []
    parameter_sets: list[int] = []  # per statement: how many rows it was given (executemany)

    async def run(fn: Any) -> Any:
        transactions.append("write")
        statements.append("-- write")
        parameter_sets.append(0)
        return await services.run(fn)

    engine = services.sessions.kw["bind"]

    def listen(*args: Any) -> None:
        statements.append(args[2])
        parameter_sets.append(len(args[3]) if args[5] else 1)

    sa_event.listen(engine, "before_cursor_execute", listen)
    try:
        results = await process_events(
            services, events, worker="t", now=utc_now, run=run, read=read
        )
    finally:
        sa_event.remove(engine, "before_cursor_execute", listen)
    assert results == ["notified"] * 4
    assert transactions == ["read", "write"]
    assert all(state(services, inv) is S.accepted for inv in invs)
    # the partner organization is looked up once for the batch, not once per event
    lookup = "SELECT organizations.id, organizations.key "  # self_org's; SQLite quotes "key"
    lookups = [s for s in statements if s.split("\n")[0].replace('"', "") == lookup]
    assert len(lookups) == 1
    # each organization's workspace language is read once for the batch (provider, reseller;
    # and at most one read of the creator's own choice), not once per event and side
    languages = [s for s in statements if "FROM language_preferences" in s]
    assert 1 <= len(languages) <= 3
    assert len({row.dedupe_key for row in outbox(services)}) == len(outbox(services)) == 4 * 4
    # the batch's invitations (and their messages) are read once for the batch, not per event
    planned = statements[: statements.index("-- write")]
    assert len([s for s in planned if "FROM invitation_messages" in s]) == 1
    # ... and matched by tenant from that read (no match statement per event), their
    # organizations' editions read once
    match = "SELECT invitations.id, invitations.customer_tenant_id, "  # match_acceptance's
    assert [s for s in planned if s.startswith(match)] == []
    assert len([s for s in planned if "workspace_editions" in s]) == 1
    # ... and their organizations' snapshots (teams, languages) in one statement, not a
    # read of each one's teams as the plan first meets it
    teams_of_one = "= organization_teams.org_id"  # the lazy load of one organization's teams
    assert [s for s in planned if teams_of_one in s.split("WHERE", 1)[-1]] == []
    # the write moves each invitation from the state and version the plan read (no
    # invitation, or its messages, read again), with one statement per table for the whole
    # batch: the events finished and the invitations moved in one executemany each (one
    # conditional UPDATE per row), the audit rows and the notifications in one INSERT each
    start = statements.index("-- write")
    written = list(zip(statements[start + 1 :], parameter_sets[start + 1 :], strict=True))
    assert [s for s, _ in written if s.startswith("SELECT") and "invitation" in s] == []
    tables = [s.split("SET")[0].split("(")[0].split()[-1] for s, _ in written]
    assert tables == ["webhook_inbox", "invitations", "audit_events", "outbox"]
    assert [n for _, n in written][:2] == [4, 4]  # 4 rows each, one statement each
    with services.sessions() as session:
        moves = session.scalars(
            select(AuditEvent).where(AuditEvent.new_state == S.accepted).order_by(AuditEvent.id)
        ).all()
        assert [(m.invitation_id, m.old_state) for m in moves] == [(i, S.created) for i in invs]
        assert all(m.detail["customer_tenant_id"] in tenants for m in moves)


async def test_a_batch_that_fails_is_handled_one_event_at_a_time(services: Services) -> None:
    """An invitation accepted by someone else between the batch's read and its write: the
    batch's write conflicts and nothing of it is written; then each event alone: the first
    notifies, the second finds its invitation already accepted, and a third whose lease was
    taken over loses only its own outcome."""
    third_tenant = "0c0ffee0-0000-4000-8000-000000000002"
    inv = invite(services, "Contoso Ltd", tenant=TENANT)
    other = invite(services, "Other Ltd", tenant=OTHER)
    third = invite(services, "Third Ltd", tenant=third_tenant)
    events = claim_all(services, [tk.acceptance(t) for t in (TENANT, OTHER, third_tenant)])
    assert len(events) == 3
    with services.sessions.begin() as session:  # another worker took the last one over
        stolen = session.get(InboxEvent, events[2].id)
        assert stolen is not None
        stolen.locked_by = "someone-else"
    writes: list[int] = []

    async def run(fn: Any) -> Any:
        if not writes:  # meanwhile, someone marks `other` accepted

            def accept(session: Any) -> None:
                transition(
                    session,
                    other,
                    S.accepted,
                    actor_user="U0SOMEONE1",
                    actor_team="T0PROVIDER",
                    expected_version=None,
                    customer_tenant_id=OTHER,
                )

            await services.run(accept)
        writes.append(1)
        return await services.run(fn)

    results = await process_events(services, events, worker="t", now=utc_now, run=run)
    assert results[:2] == ["notified", "already"]
    assert isinstance(results[2], queue.LeaseLost)
    assert len(writes) == 1 + 3  # the batch's, then one per event
    assert state(services, inv) is S.accepted and state(services, other) is S.accepted
    assert state(services, third) is S.created  # nothing of the stolen event was written
    keys = [row.dedupe_key for row in outbox(services)]
    assert len(keys) == len(set(keys)) == 4  # the first event's notifications, once each


async def test_each_event_thread_has_its_next_batch_claimed_while_it_works(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker claims two batches per event thread (SQLite one thread, PostgreSQL two):
    while a thread processes a batch, its next one is claimed and waiting, not claimed only
    after a batch finished."""
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.core.outbox import worker as worker_module

    tenants = [f"4b2a6e33-8791-4386-bd2b-0d55baf3{n:04d}" for n in range(80)]
    now = utc_now()
    with services.sessions.begin() as session:
        for tenant in tenants:
            event = parse_event(json.dumps(tk.acceptance(tenant)).encode())
            assert queue.record_event(session, event, now=now) is not None
    started: list[int] = []
    gate = asyncio.Event()

    async def held(services: Services, events: list[InboxEvent], **_: Any) -> list[str]:
        started.append(len(events))
        await gate.wait()
        return ["ignored"] * len(events)

    monkeypatch.setattr(worker_module, "process_events", held)
    worker = worker_module.OutboxWorker(services, AsyncWebClient(token="xoxb-test"))
    try:
        await worker._round()
        await asyncio.sleep(0.1)
        threads = 1 if services.sessions.kw["bind"].dialect.name == "sqlite" else 2
        batch = worker_module.EVENT_BATCH
        assert started == [batch] * (2 * threads)  # claimed in one round
        gate.set()
        await asyncio.gather(*list(worker._events))
        assert worker.stats["event_ignored"] == 2 * threads * batch
    finally:
        worker._control.shutdown()
        worker._pool.shutdown()


async def test_rows_waiting_for_their_turn_do_not_take_a_send_slot(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`concurrency` bounds the Slack calls in flight, not the rows claimed: one round claims
    a row in each of six channels with two slots, and never more than two calls run at once
    (counted as in flight, rows waiting for their channel's pace starved 600 channels)."""
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.core.outbox import worker as worker_module
    from bot.core.outbox.options import WorkerOptions
    from bot.core.outbox.sender import Sent

    message = {"message": {"text": "t", "blocks": []}}
    with services.sessions.begin() as session:
        effects = [
            queue.Effect(f"slot{n}", OutboxEffect.post, f"C0SLOT{n:04d}", message) for n in range(6)
        ]
        assert queue.enqueue(session, effects, now=utc_now()) == 6
    options = WorkerOptions(concurrency=2, event_concurrency=0)
    worker = worker_module.OutboxWorker(services, AsyncWebClient(token="x"), options)
    calls: list[int] = []
    running = 0
    most = 0
    gate = asyncio.Event()

    async def deliver(row: OutboxMessage, _message: dict[str, Any]) -> Sent:
        nonlocal running, most
        running += 1
        most = max(most, running)
        calls.append(row.id)
        await gate.wait()
        running -= 1
        return Sent(f"1.{row.id}")

    monkeypatch.setattr(worker.sender, "deliver", deliver)
    try:
        await worker._round()
        assert len(worker._sends) == 6  # all claimed in one round
        for _ in range(100):  # let every send task run up to its slot
            await asyncio.sleep(0)
        assert len(calls) == 2  # the others wait for a slot, claimed
        gate.set()
        await asyncio.gather(*list(worker._sends))
        assert len(calls) == 6 and most == 2
    finally:
        worker._control.shutdown()
        worker._pool.shutdown()
