"""POST /partner-center/webhooks end to end: signed deliveries are stored once and turn into
Slack notifications; anything else is refused with nothing stored."""

from __future__ import annotations

import json
import time

from bot.core.store.lookup import audit_trail, get_invitation
from bot.testkit import notify as tk
from bot.testkit.harness import BotHarness
from bot.testkit.partner_center import CertRoute, CertVariant, WebhookSigner

from .conftest import seed_in
from .helpers import drained, stored_events, wait_until


def test_a_signed_acceptance_updates_the_message_replies_in_thread_and_dms(
    each_mode_bot: BotHarness,
) -> None:
    bot = each_mode_bot
    inv = seed_in(bot, orgs=1, per_org=1)[0]
    response = bot.webhook(tk.acceptance(inv.tenant))
    assert response.status_code == 200
    assert response.json()["status"] == "accepted"

    update = bot.slack.wait_for("chat.update", delivered=True)[0].params
    assert (update["channel"], update["ts"]) == (inv.channel, inv.ts)
    shown = bot.slack.message(inv.channel, inv.ts)
    assert shown is not None and "accepted by the customer" in shown["text"]
    posts = bot.slack.wait_for("chat.postMessage", count=2, delivered=True)
    reply = next(c.params for c in posts if c.params.get("thread_ts"))
    assert reply["channel"] == inv.channel and reply["thread_ts"] == inv.ts
    assert inv.ref in reply["text"] and "accepted" in reply["text"]
    dm = next(c for c in posts if not c.params.get("thread_ts"))
    assert dm.params["channel"] == inv.creator and dm.response["channel"].startswith("D")

    wait_until(lambda: drained(bot))
    with bot.services.sessions() as session:
        invitation = get_invitation(session, inv.id)
        assert invitation.state.value == "accepted"
        assert invitation.customer_tenant_id == inv.tenant
        last = audit_trail(session, inv.id)[-1]
        assert last.user_id is None and last.new_state.value == "accepted"
        assert last.detail["event"] == tk.ACCEPTED and last.detail["matched_by"] == "tenant"
    assert len(bot.slack.calls("chat.postMessage")) == 2  # nothing more
    assert bot.slack.stats.ratelimited == 0
    if bot.distributed:  # every notification with the organization's own workspace's token
        (token,) = bot.slack.tokens_of("T0BENC000")
        sent = bot.slack.calls("chat.postMessage") + bot.slack.calls("chat.update")
        assert all(c.headers["authorization"] == f"Bearer {token}" for c in sent)


def test_the_same_delivery_ten_times_notifies_once(each_mode_bot: BotHarness) -> None:
    bot = each_mode_bot
    inv = seed_in(bot, orgs=1, per_org=1)[0]
    payload = tk.acceptance(inv.tenant)
    answers = [bot.webhook(payload).json()["status"] for _ in range(10)]
    assert answers == ["accepted"] + ["duplicate"] * 9
    # Partner Center may also change property case between retries: same delivery
    lowered = {key[0].lower() + key[1:]: value for key, value in payload.items()}
    assert bot.webhook(lowered).json()["status"] == "duplicate"
    bot.slack.wait_for("chat.postMessage", count=2, delivered=True)
    wait_until(lambda: drained(bot))
    time.sleep(0.3)
    assert stored_events(bot) == 1
    assert len(bot.slack.calls("chat.postMessage")) == 2
    assert len(bot.slack.calls("chat.update")) == 1


def test_forged_unsigned_and_tampered_deliveries_are_refused_and_not_stored(
    bot: BotHarness, signer: WebhookSigner
) -> None:
    body = json.dumps(tk.acceptance("4b2a6e33-8791-4386-bd2b-0d55baf25039")).encode()
    forged = signer.headers(body, key=signer.pki.stranger_key)
    assert bot.webhook(body, headers=forged).status_code == 401
    assert bot.webhook(body, headers={}).status_code == 401
    tampered = signer.headers(body)
    assert bot.webhook(body.replace(b"reseller", b"Reseller"), headers=tampered).status_code == 401
    untrusted = signer.headers(body, variant=CertVariant.UNTRUSTED)
    assert bot.webhook(body, headers=untrusted).status_code == 401
    assert stored_events(bot) == 0
    assert bot.slack.calls() == []


def test_a_certificate_we_cannot_download_is_a_503_so_partner_center_retries(
    bot: BotHarness, signer: WebhookSigner
) -> None:
    body = json.dumps(tk.acceptance("4b2a6e33-8791-4386-bd2b-0d55baf25039")).encode()
    headers = signer.headers(body, route=CertRoute.MISSING)
    assert bot.webhook(body, headers=headers).status_code == 503
    assert stored_events(bot) == 0


def test_size_limit_malformed_unknown_and_test_events(
    bot: BotHarness, signer: WebhookSigner
) -> None:
    huge = b'{"EventName": "' + b"x" * (70 * 1024) + b'"}'
    assert bot.webhook(huge, headers=signer.headers(huge)).status_code == 413
    for bad in (b"{not json", b"[1, 2]", b'{"ResourceUri": "x"}'):
        assert bot.webhook(bad, headers=signer.headers(bad)).status_code == 400
    unknown = {"EventName": "customer-created", "ResourceUri": None}
    response = bot.webhook(unknown)
    assert (response.status_code, response.json()["status"]) == (200, "ignored")
    test = {"EventName": "test-created", "ResourceUri": "https://api.partnercenter.microsoft.com/x"}
    response = bot.webhook(test)
    assert (response.status_code, response.json()["status"]) == (200, "test")
    assert stored_events(bot) == 0


def test_the_signing_certificate_is_fetched_once_then_cached(bot: BotHarness) -> None:
    # counted, not timed: the deliveries after the first fetch no certificate
    seeded = tk.seed(bot.services.sessions, bot.slack, orgs=2, per_org=10)
    assert bot.signer is not None
    bot.webhook(tk.acceptance(seeded[0].tenant))
    fetched = bot.signer.fetch_count()
    for inv in seeded[1:]:
        assert bot.webhook(tk.acceptance(inv.tenant)).status_code == 200
    assert bot.signer.fetch_count() == fetched
    assert stored_events(bot) == len(seeded)


def _send_chunked(url: str, path: str, total: int, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST `total` bytes chunked (no Content-Length) on a raw socket, stopping as soon as the
    server answers or hangs up: how many bytes went out, and the start of the answer."""
    import select
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sock.sendall(head.encode())
    chunk = b"x" * 65536
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent = 0
    answer = b""
    try:
        while sent < total:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            sock.sendall(frame)
            sent += len(chunk)
        answer = sock.recv(200)
    except OSError:
        pass
    finally:
        sock.close()
    return sent, answer


def test_an_unauthenticated_chunked_body_is_refused_at_the_limit(bot: BotHarness) -> None:
    """No Content-Length to refuse it early: the server stops reading at PC_WEBHOOK_MAX_BODY
    (64 KiB by default) instead of buffering 64 MB."""
    sent, answer = _send_chunked(
        bot.url, "/partner-center/webhooks", 64 * 1024 * 1024, {"Content-Type": "application/json"}
    )
    assert answer.startswith(b"HTTP/1.1 413")
    assert sent < 16 * 1024 * 1024  # socket buffers hold a few MB at most; 64 MB were offered
    assert stored_events(bot) == 0


def test_a_delivery_its_organization_knows_is_routed_and_stored_in_one_transaction(
    bot: BotHarness,
) -> None:
    """The addressee, what it knows of the customer and the stored event: one transaction
    on the request path (they were two, then three), so a burst of acceptances costs one
    BEGIN/COMMIT each. (The notification worker's own threads, named outbox-*, claim in the
    background and are not counted.)"""
    import threading

    from sqlalchemy import event

    inv = seed_in(bot, orgs=1, per_org=1)[0]
    engine = bot.services.sessions.kw["bind"]
    commits: list[str] = []
    statements: list[str] = []

    def committed(*_: object) -> None:
        if not threading.current_thread().name.startswith("outbox-"):
            commits.append(threading.current_thread().name)

    def seen(*args: object) -> None:
        if not threading.current_thread().name.startswith("outbox-"):
            statements.append(str(args[2]))

    event.listen(engine, "commit", committed)
    event.listen(engine, "before_cursor_execute", seen)
    try:
        response = bot.webhook(tk.acceptance(inv.tenant))
    finally:
        event.remove(engine, "commit", committed)
        event.remove(engine, "before_cursor_execute", seen)
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    assert len(commits) == 1, commits
    assert sum(s.lstrip().startswith("INSERT INTO webhook_inbox") for s in statements) == 1
