"""`mcbot serve` as real processes: killed with SIGKILL in the middle of draining, another one
finishes the work; two at once on one PostgreSQL database. Every notification goes out exactly
once (counted in the Slack stand-in)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.core.store import db
from bot.core.store.models import InboxEvent, JobStatus, OutboxMessage
from bot.testkit import SlackStandIn
from bot.testkit import notify as tk
from bot.testkit.partner_center import WebhookSigner

from .helpers import wait_until

SLOW = {  # slow enough to be killed mid-drain; leases short so the next process takes over
    "OUTBOX_CHANNEL_INTERVAL_SECONDS": "0.4",
    "OUTBOX_LEASE_SECONDS": "3",
    "OUTBOX_POLL_SECONDS": "0.3",
}


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        tk.install_history(standin)  # settles rows a killed process may have sent
        yield standin


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def seed(url: str, slack: SlackStandIn, orgs: int, per_org: int) -> list[tk.Seeded]:
    engine = db.make_engine(url)
    try:
        return tk.seed(db.make_session_factory(engine), slack, orgs=orgs, per_org=per_org)
    finally:
        engine.dispose()


def table_state(url: str) -> tuple[dict[str, int], int, set[str]]:
    """Outbox counts by status, events not done, and the workers that sent something."""
    engine = db.make_engine(url)
    try:
        with db.make_session_factory(engine)() as session:
            counts = dict(
                session.execute(
                    select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                ).all()
            )
            events = session.scalar(
                select(func.count())
                .select_from(InboxEvent)
                .where(InboxEvent.status != JobStatus.done)
            )
            workers = set(
                session.scalars(
                    select(OutboxMessage.locked_by).where(OutboxMessage.status == JobStatus.done)
                )
            )
        return (
            {str(getattr(k, "value", k)): v for k, v in counts.items()},
            int(events or 0),
            workers,
        )
    finally:
        engine.dispose()


def sent(slack: SlackStandIn) -> int:
    """Notifications delivered (not `mcbot serve`'s start-up auth.test)."""
    return sum(1 for call in slack.calls(delivered=True) if call.method != "auth.test")


def test_a_process_killed_mid_drain_loses_and_duplicates_nothing(
    database_url: str,
    slack: SlackStandIn,
    signer: WebhookSigner,
    processes: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    seeded = seed(database_url, slack, orgs=3, per_org=6)
    expected = 3 * len(seeded)
    first, port = tk.serve(database_url, slack, signer, log=tmp_path / "a.log", env=SLOW)
    processes.append(first)
    for inv in seeded:
        assert tk.post_event(port, signer, tk.acceptance(inv.tenant)).status_code == 200
    slack.wait_for("chat.postMessage", count=expected // 4, delivered=True, timeout=30)
    os.kill(first.pid, signal.SIGKILL)  # mid-drain: leased rows, maybe a send in flight
    first.wait(timeout=10)
    before = sent(slack)
    assert before < expected, "the first process finished before it was killed"

    second, _ = tk.serve(database_url, slack, signer, log=tmp_path / "b.log", env=SLOW)
    processes.append(second)
    counts: dict[str, int] = {}

    def all_done() -> bool:
        nonlocal counts
        counts, events_left, _ = table_state(database_url)
        return events_left == 0 and counts.get("done", 0) == expected

    wait_until(all_done, timeout=60)
    time.sleep(1.0)  # anything late would be a duplicate
    lost, duplicated = tk.lost_and_duplicated(tk.delivery_counts(slack, seeded), seeded)
    assert (lost, duplicated) == (0, 0)
    assert counts == {"done": expected}
    assert sent(slack) - before > 0  # the second process did the rest


def test_two_processes_on_one_postgresql_send_each_notification_once(
    postgres_url: str,
    slack: SlackStandIn,
    signer: WebhookSigner,
    processes: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    seeded = seed(postgres_url, slack, orgs=10, per_org=6)
    fast = {"OUTBOX_CHANNEL_INTERVAL_SECONDS": "0.05", "OUTBOX_POLL_SECONDS": "0.2"}
    ports = []
    for name in ("a", "b"):
        proc, port = tk.serve(postgres_url, slack, signer, log=tmp_path / f"{name}.log", env=fast)
        processes.append(proc)
        ports.append(port)
    for n, inv in enumerate(seeded):  # deliveries spread over both, some delivered to both
        payload = tk.acceptance(inv.tenant)
        assert tk.post_event(ports[n % 2], signer, payload).status_code == 200
        if n % 5 == 0:
            assert tk.post_event(ports[(n + 1) % 2], signer, payload).status_code == 200
    expected = 3 * len(seeded)
    slack.wait_for("chat.postMessage", count=2 * len(seeded), delivered=True, timeout=60)
    slack.wait_for("chat.update", count=len(seeded), delivered=True, timeout=60)
    wait_until(lambda: table_state(postgres_url)[0].get("done", 0) == expected, timeout=30)
    time.sleep(1.0)
    lost, duplicated = tk.lost_and_duplicated(tk.delivery_counts(slack, seeded), seeded)
    assert (lost, duplicated) == (0, 0)
    assert sent(slack) == expected
    counts, events_left, workers = table_state(postgres_url)
    assert counts == {"done": expected} and events_left == 0
    assert len(workers) == 2  # both processes sent notifications
