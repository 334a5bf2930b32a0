"""Benchmark: Partner Center acceptances → Slack notifications, against Slack's rate limit.

    python bench/notify.py [--events 1000] [--channels 20] [--postgres | --database-url URL]
                           [--concurrency 8] [--strict]

Starts, on 127.0.0.1: a SlackStandIn enforcing ONE message per second per channel with HTTP 429s
(`rate_limit(..., per_channel_per_second=1.0, burst=1)` on chat.postMessage and chat.update), a
Partner Center signing stand-in (WebhookSigner), and `mcbot serve` as a subprocess on a fresh
database (SQLite by default) holding `--channels` partner organizations, each with its own
notification channel and `events / channels` invitations whose messages exist in the stand-in.
Then it posts one signed acceptance per invitation (`--concurrency` at a time) and waits until
every notification is delivered: per acceptance, the invitation's message updated (chat.update),
a reply in its thread and a DM to its creator (chat.postMessage).

Prints the time to drain (first delivery posted → last notification delivered) against the
rate-limit bound (the most messages one channel must take / 1 msg/s; target ≤ 1.1×), the 429s
received, lost and duplicated notifications (targets 0 and 0), the webhook answer times and
the outbox's final counts. Exit status 1 when anything was lost or duplicated (--strict: also
when the drain misses 1.1× the bound).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

# bench/ holds policy.py, named like the package: keep this folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import aiohttp  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from bot.core.outbox.queue import counts as queue_counts  # noqa: E402
from bot.core.store import db  # noqa: E402
from bot.core.store.models import InboxEvent, OutboxMessage  # noqa: E402
from bot.core.store.testing import fresh_postgres_database  # noqa: E402
from bot.testkit import SlackStandIn  # noqa: E402
from bot.testkit import notify as tk  # noqa: E402
from bot.testkit.partner_center import WebhookSigner  # noqa: E402

RATE = 1.0  # messages per second per channel, as Slack allows chat.postMessage
TARGET_RATIO = 1.1
METHODS = ("chat.postMessage", "chat.update")


@contextlib.contextmanager
def database(args: argparse.Namespace) -> Iterator[str]:
    if args.database_url:
        yield args.database_url
    elif args.postgres:
        with fresh_postgres_database() as url:
            yield url
    else:
        folder = tempfile.mkdtemp(prefix="bench-notify-")
        try:
            yield f"sqlite:///{folder}/bench.sqlite3"
        finally:
            shutil.rmtree(folder, ignore_errors=True)


async def post_all(
    port: int, signed: list[tuple[bytes, dict[str, str]]], concurrency: int
) -> list[float]:
    """Post every signed delivery, `concurrency` at a time over keep-alive connections. The
    client is aiohttp's (as in bench/ack.py): it shares the 2 cores with the server measured,
    and httpx's client took about 2 ms of CPU per delivery here, aiohttp's about a quarter of
    that (docs/architecture.md, "Session 9")."""
    url = f"http://127.0.0.1:{port}/partner-center/webhooks"
    timings: list[float] = []
    queue: asyncio.Queue[tuple[bytes, dict[str, str]]] = asyncio.Queue()
    for item in signed:
        queue.put_nowait(item)

    async def sender(client: aiohttp.ClientSession) -> None:
        while not queue.empty():
            body, headers = queue.get_nowait()
            started = time.perf_counter()
            async with client.post(url, data=body, headers=headers) as response:
                text = await response.read()
            timings.append(time.perf_counter() - started)
            if response.status != 200:
                raise SystemExit(f"webhook answered {response.status}: {text[:300]!r}")

    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency),
        timeout=aiohttp.ClientTimeout(total=30),
    ) as client:
        await asyncio.gather(*(sender(client) for _ in range(concurrency)))
    return timings


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux), 0 when unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000, help="acceptances (default 1000)")
    parser.add_argument("--channels", type=int, default=20, help="organizations/channels (20)")
    parser.add_argument("--concurrency", type=int, default=8, help="webhooks in flight (8)")
    parser.add_argument("--postgres", action="store_true", help="a fresh local PostgreSQL database")
    parser.add_argument("--database-url", help="an empty database to use instead")
    parser.add_argument("--strict", action="store_true", help="exit 1 when 1.1x is missed")
    args = parser.parse_args()
    if args.events < args.channels or args.channels < 1:
        parser.error("need --events >= --channels >= 1")
    per_channel = args.events // args.channels
    log = Path(tempfile.gettempdir()) / "bench-notify-serve.log"
    with SlackStandIn() as slack, WebhookSigner() as signer, database(args) as url:
        for method in METHODS:
            slack.rate_limit(method, per_channel_per_second=RATE, burst=1)
        tk.install_history(slack)
        db.upgrade(url)
        engine = db.make_engine(url)
        factory = db.make_session_factory(engine)
        seeded = tk.seed(factory, slack, orgs=args.channels, per_org=per_channel)
        print(
            f"{len(seeded)} acceptances, {args.channels} channels, {per_channel} per channel; "
            f"database {engine.dialect.name}; Slack: {RATE:g} msg/s per channel, burst 1; "
            f"mcbot serve log: {log}"
        )
        log.unlink(missing_ok=True)
        proc, port = tk.serve(url, slack, signer, log=log)
        cpu = own_cpu = 0.0
        try:
            bodies = [json.dumps(tk.acceptance(inv.tenant)).encode() for inv in seeded]
            # signed before the clock starts: Partner Center signs on its own machines, and
            # on a 2-core box 5,000 RSA signatures here would compete with the server measured
            signed = [
                (body, {"Content-Type": "application/json", **signer.headers(body)})
                for body in bodies
            ]
            started, wall_start = time.monotonic(), time.time()
            own_cpu = time.process_time()
            timings = asyncio.run(post_all(port, signed, args.concurrency))
            posted = time.monotonic()
            expected = {"chat.postMessage": 2 * len(seeded), "chat.update": len(seeded)}
            deadline = posted + 3 * per_channel / RATE + 120
            while time.monotonic() < deadline:
                if all(len(slack.calls(m, delivered=True)) >= n for m, n in expected.items()):
                    break
                time.sleep(0.5)
            time.sleep(2.0)  # anything late would be a duplicate: give it a chance to show
            cpu = cpu_seconds(proc.pid)
            own_cpu = time.process_time() - own_cpu
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        lost, duplicated, ratio = report(
            slack,
            seeded,
            factory,
            started=started,
            posted=posted,
            wall_start=wall_start,
            timings=timings,
        )
        print(
            f"mcbot serve used {cpu:.1f} s of CPU (user + system) until drained "
            f"({cpu / len(seeded) * 1e3:.1f} ms per event); this process (webhook client, "
            f"Slack stand-in) {own_cpu:.1f} s; load average "
            + " ".join(f"{x:.2f}" for x in os.getloadavg())
        )
        engine.dispose()
    if lost or duplicated:
        return 1
    return 1 if args.strict and ratio > TARGET_RATIO else 0


def report(
    slack: SlackStandIn,
    seeded: list[tk.Seeded],
    factory: sessionmaker[Session],
    *,
    started: float,
    posted: float,
    wall_start: float,
    timings: list[float],
) -> tuple[int, int, float]:
    """Print the figures; returns (lost, duplicated, drain / bound)."""
    delivered = [c for c in slack.calls() if c.delivered and c.method in METHODS]
    per_key = Counter((c.method, str(c.params.get("channel"))) for c in delivered)
    most = max(per_key.values()) if per_key else 0
    bound = most / RATE
    drain = max(c.at for c in delivered) - started if delivered else float("inf")
    ratio = drain / bound if bound else float("inf")
    lost, duplicated = tk.lost_and_duplicated(tk.delivery_counts(slack, seeded), seeded)
    with factory() as session:
        outbox = queue_counts(session, OutboxMessage)
        processed = session.scalar(select(func.max(InboxEvent.processed_at)))
        first_sent = session.scalar(select(func.min(OutboxMessage.sent_at)))
    stats = slack.stats
    updates = sum(1 for c in delivered if c.method == "chat.update")
    p50, p99 = percentile(timings, 0.5) * 1e3, percentile(timings, 0.99) * 1e3
    lines = [
        f"webhooks: {len(timings)} answered 200 in {posted - started:.1f} s; "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(timings) * 1e3:.1f} ms",
        f"delivered: {len(delivered)} Slack calls ({updates} chat.update, "
        f"{len(delivered) - updates} chat.postMessage) over {len(per_key)} (method, channel) pairs",
        f"drain time: {drain:.1f} s; rate-limit bound {bound:.1f} s "
        f"({most} messages in one channel at {RATE:g}/s); "
        f"ratio {ratio:.3f} (target <= {TARGET_RATIO})",
        f"429s received: {stats.ratelimited}; 5xx: {stats.server_errors}; "
        f"other errors: {stats.api_errors}",
        f"lost: {lost}; duplicated: {duplicated}; outbox: {outbox}",
    ]
    if processed is not None and first_sent is not None:
        lines.insert(
            1,
            f"events: first notification sent {first_sent.timestamp() - wall_start:.2f} s after "
            f"the first delivery, every event processed after "
            f"{processed.timestamp() - wall_start:.1f} s",
        )
    print("\n".join(lines))
    return lost, duplicated, ratio


if __name__ == "__main__":
    raise SystemExit(main())
