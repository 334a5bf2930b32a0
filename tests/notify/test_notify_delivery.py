"""The outbox against a misbehaving Slack: 429s honoured (Retry-After) with nothing lost or
duplicated, 5xx retried with backoff, permanent errors parked and visible in `mcbot outbox`,
then queued again."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import select

from bot.cli.main import main
from bot.core.outbox import queue
from bot.core.store.clock import utc_now
from bot.core.store.models import JobStatus, OutboxEffect, OutboxMessage
from bot.testkit import Call
from bot.testkit import notify as tk
from bot.testkit.harness import BotHarness

from .helpers import drained, fast_settings, wait_until


def delivered_by_ref(calls: list[Call], refs: list[str]) -> Counter[str]:
    """How many delivered messages mention each invitation reference."""
    counts: Counter[str] = Counter()
    for call in calls:
        if call.delivered:
            text = str(call.params.get("text", ""))
            counts.update(ref for ref in refs if ref in text)
    return counts


def rows(bot: BotHarness) -> list[OutboxMessage]:
    with bot.services.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_forced_429s_are_retried_after_retry_after(bot: BotHarness) -> None:
    inv = tk.seed(bot.services.sessions, bot.slack, orgs=1, per_org=1)[0]
    bot.slack.force_429("chat.postMessage", retry_after=1, times=3)
    assert bot.webhook(tk.acceptance(inv.tenant)).status_code == 200
    posts = bot.slack.wait_for("chat.postMessage", count=2, delivered=True, timeout=15)
    wait_until(lambda: drained(bot))
    calls = bot.slack.calls("chat.postMessage")
    assert sum(c.ratelimited for c in calls) == 3
    assert len([c for c in calls if c.delivered]) == 2  # the reply and the DM, once each
    first_429 = min(c.at for c in calls if c.ratelimited)
    assert min(c.at for c in posts) - first_429 >= 0.9  # Retry-After: 1 was honoured
    assert sum(r.ratelimited for r in rows(bot)) == 3
    assert all(r.status is JobStatus.done for r in rows(bot))


def test_a_burst_against_one_message_per_second_loses_and_duplicates_nothing(
    make_bot: Callable[..., BotHarness],
) -> None:
    """No pacing of our own (interval 0): Slack's limit answers 429s, rows are rescheduled."""
    bot = make_bot(settings=fast_settings(outbox_channel_interval_seconds=0.0))
    seeded = tk.seed(bot.services.sessions, bot.slack, orgs=1, per_org=4)
    for method in ("chat.postMessage", "chat.update"):
        bot.slack.rate_limit(method, per_channel_per_second=1.0, burst=1)
    for inv in seeded:
        assert bot.webhook(tk.acceptance(inv.tenant)).status_code == 200
    bot.slack.wait_for("chat.postMessage", count=8, delivered=True, timeout=30)
    bot.slack.wait_for("chat.update", count=4, delivered=True, timeout=30)
    wait_until(lambda: drained(bot), timeout=30)
    refs = [inv.ref for inv in seeded]
    posts = delivered_by_ref(bot.slack.calls("chat.postMessage"), refs)
    assert posts == Counter({ref: 2 for ref in refs})  # a reply and a DM each, never twice
    updates = [c for c in bot.slack.calls("chat.update") if c.delivered]
    assert sorted(c.params["ts"] for c in updates) == sorted(inv.ts for inv in seeded)
    assert bot.slack.stats.ratelimited > 0


def test_the_worker_paces_itself_so_slack_has_nothing_to_refuse(
    make_bot: Callable[..., BotHarness],
) -> None:
    bot = make_bot(settings=fast_settings(outbox_channel_interval_seconds=1.05))
    seeded = tk.seed(bot.services.sessions, bot.slack, orgs=1, per_org=3)
    bot.slack.rate_limit("chat.postMessage", per_channel_per_second=1.0, burst=1)
    for inv in seeded:
        bot.webhook(tk.acceptance(inv.tenant))
    bot.slack.wait_for("chat.postMessage", count=6, delivered=True, timeout=30)
    assert bot.slack.stats.ratelimited == 0
    replies = [c.at for c in bot.slack.calls("chat.postMessage") if c.params.get("thread_ts")]
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(replies))


def test_server_errors_are_retried_with_backoff(bot: BotHarness) -> None:
    inv = tk.seed(bot.services.sessions, bot.slack, orgs=1, per_org=1)[0]
    bot.slack.fail_next("chat.update", status=500, times=2)
    bot.slack.fail_next("chat.postMessage", status=503, times=1)
    bot.webhook(tk.acceptance(inv.tenant))
    bot.slack.wait_for("chat.update", count=1, delivered=True, timeout=15)
    wait_until(lambda: drained(bot))
    update = next(r for r in rows(bot) if r.effect is OutboxEffect.update)
    assert update.attempts == 3 and update.status is JobStatus.done
    assert len([c for c in bot.slack.calls("chat.postMessage") if c.delivered]) == 2


def test_failures_are_parked_shown_by_mcbot_outbox_and_queued_again(
    make_bot: Callable[..., BotHarness], capsys: pytest.CaptureFixture[str]
) -> None:
    bot = make_bot(settings=fast_settings(outbox_max_attempts=2))
    inv = tk.seed(bot.services.sessions, bot.slack, orgs=1, per_org=1)[0]
    bot.slack.set_channel(inv.channel, is_archived=True)  # permanent: is_archived
    bot.slack.fail_next("chat.update", status=500, times=5)  # keeps failing: 2 tries
    bot.webhook(tk.acceptance(inv.tenant))
    wait_until(lambda: len(parked(bot)) == 2, timeout=15)
    by_effect = {r.effect: r for r in parked(bot)}
    assert by_effect[OutboxEffect.reply].last_error == "is_archived"
    assert by_effect[OutboxEffect.reply].attempts == 1
    assert by_effect[OutboxEffect.update].attempts == 2
    assert "internal_error" in (by_effect[OutboxEffect.update].last_error or "")
    bot.slack.wait_for("chat.postMessage", count=1, delivered=True)  # the DM went out

    assert main(["outbox", "--database-url", bot.database_url, "--parked"]) == 0
    shown = capsys.readouterr().out
    assert "0 pending, 2 parked, 1 done" in shown
    assert "is_archived" in shown and inv.channel in shown

    bot.slack.set_channel(inv.channel, is_archived=False)
    bot.slack.reset()
    ids = [str(r.id) for r in parked(bot)]
    code = main(
        ["outbox", "--database-url", bot.database_url, "--retry", ids[0], "--retry", ids[1]]
    )
    assert code == 0 and "Queued again" in capsys.readouterr().out
    bot.slack.wait_for("chat.update", count=1, delivered=True, timeout=10)
    bot.slack.wait_for("chat.postMessage", count=1, delivered=True, timeout=10)
    wait_until(lambda: drained(bot))
    assert main(["outbox", "--database-url", bot.database_url, "--retry", ids[0]]) == 2
    assert "Not queued again" in capsys.readouterr().out


def parked(bot: BotHarness) -> list[OutboxMessage]:
    return [r for r in rows(bot) if r.status is JobStatus.parked]


def test_every_send_shares_the_worker_s_connection_pool(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """slack_sdk opens an aiohttp session (and a connection) per call unless given one: the
    worker gives its client one for its lifetime, so sends open no session of their own."""
    import aiohttp

    opened: list[object] = []
    init = aiohttp.ClientSession.__init__

    def counting(self: aiohttp.ClientSession, *args: object, **kwargs: object) -> None:
        opened.append(self)
        init(self, *args, **kwargs)  # type: ignore[arg-type]

    session = bot.worker.sender.client.session
    assert isinstance(session, aiohttp.ClientSession) and not session.closed
    monkeypatch.setattr(aiohttp.ClientSession, "__init__", counting)
    seeded = tk.seed(bot.services.sessions, bot.slack, orgs=1, per_org=3)
    for inv in seeded:
        assert bot.webhook(tk.acceptance(inv.tenant)).status_code == 200
    bot.slack.wait_for("chat.postMessage", count=6, delivered=True, timeout=15)
    bot.slack.wait_for("chat.update", count=3, delivered=True, timeout=15)
    assert opened == []
    assert bot.worker.sender.client.session is session
    bot.stop()
    assert session.closed and bot.worker.sender.client.session is None


def test_an_update_superseded_by_a_newer_one_is_not_sent(bot: BotHarness) -> None:
    """Two updates of one message queued together: only the newer goes out; the older is done
    without a call (found superseded when it was claimed)."""
    inv = tk.seed(bot.services.sessions, bot.slack, orgs=1, per_org=1)[0]

    def update(n: int) -> queue.Effect:
        block = {"type": "section", "text": {"type": "mrkdwn", "text": f"state {n}"}}
        message = {"text": f"state {n}", "blocks": [block]}
        return queue.Effect(
            f"superseded-{n}", OutboxEffect.update, inv.channel, {"message": message}, ts=inv.ts
        )

    with bot.services.sessions.begin() as session:
        queue.enqueue(session, [update(1), update(2)], now=utc_now())
    wait_until(lambda: drained(bot))
    sent = [c.params["text"] for c in bot.slack.calls("chat.update") if c.delivered]
    assert sent == ["state 2"]
    assert [r.status for r in rows(bot)] == [JobStatus.done, JobStatus.done]
    assert bot.worker.stats["superseded"] == 1 and bot.worker.stats["sent"] == 1
